/** `resnet bench` reports as text (a terminal) and markdown (`--md`). */
import type { LayerRow, LayerTable } from './layers.js';
import type { BenchReport } from './run.js';

const MiB = 2 ** 20;
const ms = (x: number | undefined) => `${(x ?? 0).toFixed(1)} ms`;
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const opt = (x: number | null, d: number) => (x === null ? '-' : x.toFixed(d));

/** What ran, in one line. */
export function describeRun(r: BenchReport): string {
  return `${r.model} ${r.batch}x3x${r.inputSize[0]}x${r.inputSize[1]} on ${r.backend}${r.backend === 'wasm' ? `, ${threadsText(r)}` : ''}`;
}

function threadsText(r: BenchReport): string {
  return `${r.threads} thread${r.threads === 1 ? '' : 's'}${r.threadsNote ? ` (${r.threadsNote})` : ''}`;
}

function coldStartLines(r: BenchReport): string[] {
  const c = r.coldStart;
  const stages = Object.entries(c.compileStages ?? {}).map(([name, t]) => `${name} ${ms(t)}`).join(', ');
  return [
    `  createModel ${ms(c.createMs)}: build ${ms(c.build)}, read ${ms(c.read)}, bind ${ms(c.bind)}, backend ${ms(c.backend)}`,
    `  first forward ${ms(c.firstForwardMs)}: compile ${ms(c.compile)}${stages ? ` (${stages})` : ''}, first run ${ms(c.firstRun)}`,
    `  to first logits ${ms(c.totalMs)} = ${c.totalOverWarm.toFixed(2)}x the warm median`,
  ];
}

function memoryLine(r: BenchReport): string {
  const m = r.memory;
  const parts = [];
  if (m.planned) parts.push(`planned peak ${mib(m.planned.peak)} (weights ${mib(m.planned.weights)}, activations ${mib(m.planned.activations)})`);
  if (m.wasmMemoryBytes !== undefined) parts.push(`wasm memory ${mib(m.wasmMemoryBytes)}`);
  parts.push(`process peak RSS ${mib(m.peakRssBytes)}`);
  return parts.join(', ');
}

/** Output shape without the batch, e.g. 64x56x56. */
const shape = (s: readonly number[]) => s.slice(1).join('x');
const mmacs = (m: number) => (m === 0 ? '-' : (m / 1e6).toFixed(1));

/** The per-layer table as aligned text columns. */
export function formatLayerTable(t: LayerTable): string {
  const head = ['layer', 'output', 'MMACs', 'kernel', 'ms', '% time', 'GFLOP/s', '% peak'];
  const cells = (r: LayerRow) => [r.layer, shape(r.outputShape), mmacs(r.macs), r.kernel, r.ms.toFixed(3), ((100 * r.ms) / t.totalMs).toFixed(1), opt(r.gflops, 1), opt(r.peakPercent, 0)];
  const body = t.rows.map(cells);
  body.push(['other (layout, copies)', '', '', '', t.otherMs.toFixed(3), ((100 * t.otherMs) / t.totalMs).toFixed(1), '', '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 || i === 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [
    line(head),
    ...body.map(line),
    `total ${t.totalMs.toFixed(3)} ms = layers ${t.layersMs.toFixed(3)} + other ${t.otherMs.toFixed(3)} (mean of ${t.runs} instrumented forwards); ` +
      `peak ${t.peakGflops.toFixed(1)} GFLOP/s`,
  ].join('\n');
}

/** The report for a terminal. */
export function formatText(r: BenchReport): string {
  const lines = [
    `p50 ${r.p50Ms.toFixed(2)} ms  p90 ${r.p90Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  (${r.runs} runs)  ` +
      `${r.imagesPerSecond.toFixed(2)} images/s at batch ${r.batch}  ${r.gflops.toFixed(2)} GFLOP/s effective`,
    `median ${r.medianMs.toFixed(2)} ms on ${threadsText(r)}`,
    `memory: ${memoryLine(r)}`,
    'cold start (this process, module already imported):',
    ...coldStartLines(r),
  ];
  if (r.layers && r.peak) {
    lines.push('', `per layer (${r.peak.variant} kernels, f32x4 peak ${r.peak.gflops.toFixed(1)} GFLOP/s probed in this run, best of 7 on ${r.peak.clock} time):`, formatLayerTable(r.layers));
  }
  return lines.join('\n') + '\n';
}

/** The per-layer table as markdown rows, with other and the total. */
export function layerTableMarkdown(t: LayerTable): string[] {
  const pct = (x: number) => ((100 * x) / t.totalMs).toFixed(1);
  return [
    '| layer | output | MMACs | kernel | ms | % time | GFLOP/s | % peak |',
    '|---|---|---:|---|---:|---:|---:|---:|',
    ...t.rows.map((row) => `| ${row.layer} | ${shape(row.outputShape)} | ${mmacs(row.macs)} | ${row.kernel} | ${row.ms.toFixed(3)} | ${pct(row.ms)} | ${opt(row.gflops, 1)} | ${opt(row.peakPercent, 0)} |`),
    `| other (layout, copies) | | | | ${t.otherMs.toFixed(3)} | ${pct(t.otherMs)} | | |`,
    `| **total** | | ${mmacs(t.rows.reduce((a, r) => a + r.macs, 0))} | | **${t.totalMs.toFixed(3)}** | 100.0 | | |`,
  ];
}

/** The report as a markdown document. */
export function formatMarkdown(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    `# resnet bench: ${describeRun(r)}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, node ${m.node} (V8 ${m.v8}), ${m.platform}; load average ${m.loadAverage.map((x) => x.toFixed(1)).join(' ')}. ${threadsText(r)[0].toUpperCase()}${threadsText(r).slice(1)}, seeded weights and input.`,
    '',
    '## Whole model',
    '',
    `${r.warmup} warm-up and ${r.runs} timed forwards (tinybench), wall clock; CPU time is this process's user + system time.`,
    '',
    '| p50 ms | p90 ms | p99 ms | min ms | CPU p50 ms | images/s | batch | GFLOP/s (effective) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${r.p50Ms.toFixed(2)} | ${r.p90Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.minMs.toFixed(2)} | ${r.cpuMedianMs.toFixed(2)} | ${r.imagesPerSecond.toFixed(2)} | ${r.batch} | ${r.gflops.toFixed(2)} |`,
    '',
    `Memory: ${memoryLine(r)}.`,
    '',
    '## Cold start (this process, module already imported)',
    '',
    ...coldStartLines(r).map((l) => `- ${l.trim()}`),
    '',
  ];
  const t = r.layers;
  if (t && r.peak) {
    lines.push(
      '## Per layer',
      '',
      `Mean of ${t.runs} instrumented forwards of the whole model, each of the backend's nodes timed (a conv with its BN, residual add and ReLU fused in is one row). ` +
        `GFLOP/s is 2 x MACs / ms, so Winograd rows show an effective rate; % of peak is of the f32x4 multiply-add peak probed in this run (best of 7 on ${r.peak.clock} time): **${r.peak.gflops.toFixed(1)} GFLOP/s** (${r.peak.variant}). ` +
        `The rows and "other" add up to the mean forward, ${t.totalMs.toFixed(3)} ms.`,
      '',
      ...layerTableMarkdown(t),
      '',
    );
  }
  return lines.join('\n');
}
