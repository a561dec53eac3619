// The bench driver behind run.mjs: peak probe, per-layer table, whole models, peers side by side;
// writes bench/results/wasm-<stamp>.json and .md (and wasm-latest.*). See run.mjs for the options.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { wasmFeatures } from '../src/backends/wasm/kernels.ts';
import { layerTableMarkdown } from '../src/bench/report.ts';
import { benchModel } from '../src/bench/run.ts';
import { layerChartSvg } from '../src/bench/svg.ts';
import { runLayers } from './layers.mjs';
import { machine, peakProbe } from './lib.mjs';
import { modelSetup, runModelRounds } from './models.mjs';

const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      suites: { type: 'string', default: 'layers,profile,models,peers' },
      models: { type: 'string', default: 'resnet18,resnet50,resnext50_32x4d' },
      'layer-models': { type: 'string', default: 'resnet50,resnext50_32x4d' },
      batches: { type: 'string', default: '1,8' },
      size: { type: 'string', default: '224' },
      runs: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      'layer-time': { type: 'string', default: '300' },
      builds: { type: 'string', default: 'simd,relaxed' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results' },
    },
  });
  const quick = values.quick;
  const suites = new Set(list(values.suites));
  const models = list(values.models);
  const batches = quick ? [1] : list(values.batches).map(Number);
  const size = Number(values.size);
  const runs = quick ? 3 : Number(values.runs);
  const warmup = quick ? 1 : Number(values.warmup);
  const layerTime = quick ? 100 : Number(values['layer-time']);
  const buildNames = list(values.builds);
  for (const b of buildNames) if (b !== 'simd' && b !== 'relaxed') throw new Error(`--builds: expected simd and/or relaxed, got '${b}'`);
  const skipped = [];
  if (buildNames.includes('relaxed')) {
    // Node 20 validates relaxed SIMD only behind this V8 flag (Node 22+ and current browsers have it on);
    // the peers' wasm builds use plain SIMD either way. Set before the first wasmFeatures(), which
    // caches what it finds.
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (!wasmFeatures().relaxedSimd) skipped.push('relaxed (this engine does not validate relaxed SIMD)');
  }
  const builds = buildNames
    .filter((b) => b === 'simd' || wasmFeatures().relaxedSimd)
    .map((b) => ({ relaxed: b === 'relaxed' }));
  if (builds.length === 0) throw new Error(`--builds ${values.builds}: none of these kernel builds runs here (${skipped.join('; ')})`);

  const started = new Date();
  const report = { started: started.toISOString(), machine: machine(), options: { suites: [...suites], models, batches, size, runs, warmup, layerTime, quick, builds: buildNames } };
  if (skipped.length) report.skippedBuilds = skipped;
  console.log(`bench on ${report.machine.cpu} (${report.machine.cores} cores), node ${report.machine.node}`);

  report.peaks = [];
  for (const kernelOptions of builds) {
    const peak = await peakProbe(kernelOptions);
    report.peaks.push(peak);
    console.log(`wasm f32x4 peak (${peak.variant}): ${peak.gflops.toFixed(1)} GFLOP/s`);
  }

  if (suites.has('layers')) {
    console.log(`\nper-layer convs at ${size}x${size}, batch 1`);
    report.layers = [];
    for (const kernelOptions of builds) {
      report.layers.push(...(await runLayers({ models: list(values['layer-models']), batch: 1, time: layerTime, kernelOptions })));
    }
  }

  const charts = [];
  if (suites.has('profile')) {
    // The shipped per-layer table (resnet bench --layers): instrumented forwards of each whole model.
    console.log(`\nper-layer time within the whole forward (instrumented runs) at ${size}x${size}, batch 1`);
    report.profiles = [];
    for (const model of models) {
      for (const kernelOptions of builds) {
        const r = await benchModel({ model, kernels: kernelOptions, inputSize: [size, size], runs, warmup, layers: true });
        const t = r.layers;
        report.profiles.push({ model, build: r.peak.variant, p50Ms: r.p50Ms, peak: r.peak, layers: t });
        console.log(`${model.padEnd(16)} ${r.peak.variant.padEnd(12)} ${t.totalMs.toFixed(1).padStart(7)} ms = layers ${t.layersMs.toFixed(1)} + other ${t.otherMs.toFixed(1)}; ` +
          `slowest ${[...t.rows].sort((a, b) => b.ms - a.ms).slice(0, 3).map((row) => `${row.layer} ${row.ms.toFixed(1)}`).join(', ')}`);
        const title = `${model} 1x3x${size}x${size}, wasm ${r.peak.variant}: ${t.totalMs.toFixed(2)} ms per forward, by layer`;
        charts.push({ name: `layers-${model}-${r.peak.variant}`, svg: layerChartSvg(t, title, `mean of ${t.runs} instrumented forwards (npm run bench)`) });
      }
    }
  }

  if (suites.has('models') || suites.has('peers')) {
    let peers;
    if (suites.has('peers')) {
      try {
        peers = await import('./peers/index.mjs');
      } catch (e) {
        report.peersError = `bench/peers/index.mjs could not be loaded: ${e instanceof Error ? e.message : e}`;
        console.warn(report.peersError);
      }
    }
    report.models = [];
    console.log('\nwhole models, engines interleaved round by round (ms: median wall / median CPU)');
    for (const model of models) {
      for (const batch of batches) {
        const setup = modelSetup(model, batch, size);
        const row = { model, batch, size };
        const show = (e) =>
          console.log(`${model.padEnd(16)} b${batch}  ${(e.variant ? `${e.engine} (${e.variant})` : e.engine).padEnd(30)} ` +
            (e.wallMedianMs === undefined ? e.note : `${e.wallMedianMs.toFixed(1).padStart(7)} / ${e.cpuMedianMs.toFixed(1).padStart(7)} ms  p90 ${e.wallP90Ms.toFixed(1)}  ${e.imagesPerSecond.toFixed(2)} img/s`));
        row.engines = await runModelRounds(setup, { peers, runs, warmup, builds, withOurs: suites.has('models') });
        row.engines.forEach(show);
        report.models.push(row);
      }
    }
  }

  report.finished = new Date().toISOString();
  report.loadAverageAtEnd = os.loadavg();
  await mkdir(values.out, { recursive: true });
  const stamp = started.toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  const json = JSON.stringify(report, null, 2);
  const md = toMarkdown(report);
  for (const name of [`wasm-${stamp}`, 'wasm-latest']) {
    await writeFile(join(values.out, `${name}.json`), json);
    await writeFile(join(values.out, `${name}.md`), md);
  }
  for (const c of charts) {
    for (const name of [`${c.name}-${stamp}`, `${c.name}-latest`]) await writeFile(join(values.out, `${name}.svg`), c.svg);
  }
  console.log(`\nwrote ${join(values.out, `wasm-${stamp}.{json,md}`)} and wasm-latest.{json,md}${charts.length ? `, ${charts.length} per-layer charts (layers-<model>-<build>-${stamp}.svg, -latest.svg)` : ''}`);
}

const f = (x, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));

function toMarkdown(r) {
  const load = (l) => l.map((x) => x.toFixed(1)).join(' ');
  const lines = [
    `# wasm backend bench, ${r.started}`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node} (V8 ${r.machine.v8})${r.machine.flags.length ? `, flags ${r.machine.flags.join(' ')}` : ''}.`,
    `Load average at start ${load(r.machine.loadAverage)}${r.loadAverageAtEnd ? `, at end ${load(r.loadAverageAtEnd)}` : ''}: on a shared machine, CPU time (this process's user + system time) is what an engine spends; wall time also counts waiting for a core.`,
    `One thread. Measured f32x4 peak (register-only multiply-add probe, CPU time): ${r.peaks.map((p) => `**${f(p.gflops)} GFLOP/s** (${p.variant})`).join(', ')}.`,
    'The plain build multiplies and adds (two instructions), the relaxed build fuses them (relaxed_madd); current browsers and Node 22+ run relaxed SIMD, Node 20 only behind --experimental-wasm-relaxed-simd, which this bench sets for itself.',
    ...(r.skippedBuilds ? [`Not measured: ${r.skippedBuilds.join('; ')}.`] : []),
    '',
  ];
  if (r.layers) {
    lines.push(
      '## Convolutions, batch 1 at 224x224',
      '',
      'GFLOP/s is 2 x the direct convolution\'s MACs over the median CPU time, so Winograd rows show an effective rate (they can pass 100% of peak).',
      'The peak of each row is the probe run again just before it (the host\'s speed drifts over minutes).',
      'Each row runs the conv alone with the epilogue (bias, residual, ReLU) it has in the model; "x" is how often the shape occurs.',
      '',
      '| build | model | first layer | shape (Cin x H x W -> Cout) | kernel | x | MFLOP | CPU ms | wall ms | GFLOP/s | peak GFLOP/s | % of peak |',
      '|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const l of r.layers) {
      lines.push(`| ${l.build} | ${l.model} | ${l.layer} | ${l.shape} | ${l.method} | ${l.count} | ${f(l.mflop, 0)} | ${f(l.cpuMs, 3)} | ${f(l.wallMs, 3)} | ${f(l.gflops)} | ${f(l.peakGflops)} | ${f(l.peakPct, 0)}% |`);
    }
    lines.push('');
  }
  if (r.profiles) {
    lines.push(
      '## Per layer within the whole forward, batch 1',
      '',
      'What `resnet bench --layers` prints: the mean of instrumented forwards of the whole model, each fused node timed (wall clock); the rows and "other" (layout transposes, copies) add up to the mean forward. % of peak is of the probe run for that build in the same model\'s run. Charts: `layers-<model>-<build>-latest.svg`.',
      '',
    );
    for (const p of r.profiles) {
      lines.push(`### ${p.model}, ${p.build} (peak ${f(p.peak.gflops)} GFLOP/s on ${p.peak.clock} time; p50 of plain forwards ${f(p.p50Ms)} ms)`, '', ...layerTableMarkdown(p.layers), '');
    }
  }
  if (r.models) {
    lines.push(
      '## Whole models (seeded random weights)',
      '',
      '| model | batch | engine | wall median ms | wall p90 ms | CPU median ms | CPU p90 ms | images/s (wall) | note |',
      '|---|---:|---|---:|---:|---:|---:|---:|---|',
    );
    const ratios = [];
    for (const m of r.models) {
      for (const e of m.engines) {
        const name = e.variant ? `**${e.engine}** (${e.variant})` : e.engine;
        const note = e.memory
          ? `peak memory ${(e.memory.peak / 2 ** 20).toFixed(0)} MiB (weights ${(e.memory.weights / 2 ** 20).toFixed(0)}, activations ${(e.memory.activations / 2 ** 20).toFixed(1)})`
          : e.note;
        lines.push(`| ${m.model} | ${m.batch} | ${name} | ${f(e.wallMedianMs)} | ${f(e.wallP90Ms)} | ${f(e.cpuMedianMs)} | ${f(e.cpuP90Ms)} | ${f(e.imagesPerSecond, 2)} | ${note} |`);
      }
      for (const ours of m.engines.filter((e) => e.variant)) {
        for (const e of m.engines) {
          if (e.variant || !e.cpuMedianMs) continue;
          ratios.push(`| ${m.model} | ${m.batch} | ${ours.variant} | ${e.engine} | ${f(ours.wallMedianMs / e.wallMedianMs, 2)} | ${f(ours.cpuMedianMs / e.cpuMedianMs, 2)} |`);
        }
      }
    }
    lines.push('');
    if (ratios.length) {
      lines.push(
        '## Ratio (ours / peer, median)',
        '',
        'Targets for resnet50 batch 1: <= 0.6 x tfjs-wasm and <= 0.45 x onnxruntime-web.',
        '',
        '| model | batch | our build | peer | wall | CPU |',
        '|---|---:|---|---|---:|---:|',
        ...ratios,
        '',
      );
    }
  }
  if (r.peersError) lines.push(`Peers: ${r.peersError}`, '');
  return lines.join('\n');
}
