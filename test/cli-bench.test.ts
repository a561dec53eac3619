/**
 * `resnet bench` from the built CLI: the per-layer table (--layers) adds up and covers every MAC of
 * the model, --md and --svg, the usage errors, and the progress bar only on a terminal. Small runs
 * (resnet20 at 32x32, 2 runs): nothing here asserts a speed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resnet, ROOT } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'resnet-bench-'));
const KERNELS = ['gemm', 'winograd', 'winograd-s2', 'grouped', 'stem'];

describe('resnet bench --layers', () => {
  const r = resnet(['bench', '--model', 'resnet20', '--layers', '--runs', '2', '--warmup', '1', '--json']);
  const b = JSON.parse(r.stdout);

  it('gives a row per fused node of the whole forward, and the rows plus other add up to the total', () => {
    expect(r.code, r.stderr).toBe(0);
    const t = b.layers;
    expect(t.runs).toBe(2);
    // resnet20 (akamaster's names): the stem conv, 18 block convs, 2 option-A shortcuts (no convs), pool, classifier.
    expect(t.rows.filter((row: { op: string }) => row.op === 'conv')).toHaveLength(19);
    expect(t.rows.map((row: { layer: string }) => row.layer)).toEqual(expect.arrayContaining(['conv1', 'layer1.0.conv1', 'layer2.0.shortcut', 'layer3.2.conv2', 'linear']));
    expect(t.rows).toHaveLength(23);
    const sum = t.rows.reduce((a: number, row: { ms: number }) => a + row.ms, 0);
    expect(sum).toBeCloseTo(t.layersMs, 9);
    expect(t.layersMs + t.otherMs).toBeCloseTo(t.totalMs, 9);
    expect(t.otherMs).toBeGreaterThanOrEqual(0);
    for (const row of t.rows) expect(row.ms, row.layer).toBeGreaterThan(0);
  });

  it('names each conv\'s kernel, and rates every layer with MACs against the peak probed in the run', () => {
    const t = b.layers;
    expect(b.peak.gflops).toBeGreaterThan(0);
    expect(b.peak.variant).toMatch(/^(simd|relaxed-simd)$/);
    expect(t.peakGflops).toBe(b.peak.gflops);
    for (const row of t.rows) {
      if (row.op === 'conv') expect(KERNELS, row.layer).toContain(row.kernel);
      if (row.macs > 0) {
        expect(row.gflops, row.layer).toBeCloseTo((2 * row.macs) / row.ms / 1e6, 6);
        expect(row.peakPercent, row.layer).toBeCloseTo((100 * row.gflops) / b.peak.gflops, 6);
      } else {
        expect(row.gflops, row.layer).toBeNull();
      }
    }
    // The layers' MACs are the model's: none lost to fusion or naming.
    expect(t.rows.reduce((a: number, row: { macs: number }) => a + row.macs, 0)).toBe(b.macs);
    expect(t.rows.find((row: { layer: string }) => row.layer === 'layer1.0.conv1').outputShape).toEqual([1, 16, 32, 32]);
  });

  it('reports p50 <= p90 <= p99, images/s, and memory planned and measured', () => {
    expect(b.p50Ms).toBe(b.medianMs);
    expect(b.p50Ms).toBeLessThanOrEqual(b.p90Ms);
    expect(b.p90Ms).toBeLessThanOrEqual(b.p99Ms);
    expect(b.imagesPerSecond).toBeCloseTo(1000 / b.medianMs, 9);
    expect(b.memory.planned.peak).toBeGreaterThan(b.memory.planned.weights);
    expect(b.memory.wasmMemoryBytes).toBeGreaterThan(b.memory.planned.weights + b.memory.planned.activations);
    expect(b.memory.peakRssBytes).toBeGreaterThan(b.memory.wasmMemoryBytes);
  });
});

describe('resnet bench reports', () => {
  it('--md prints a markdown report with the whole-model and per-layer tables; --svg writes the chart', () => {
    const svg = join(tmp, 'layers.svg');
    const r = resnet(['bench', '--model', 'resnet20', '--svg', svg, '--runs', '2', '--warmup', '0', '--md']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# resnet bench: resnet20 1x3x32x32 on wasm, \d+ threads?\n/);
    expect(r.stdout).toMatch(/\| p50 ms \| p90 ms \| p99 ms \|/);
    expect(r.stdout).toMatch(/\| layer \| output \| MMACs \| kernel \| ms \| % time \| GFLOP\/s \| % peak \|/);
    expect(r.stdout).toMatch(/\| layer2\.0\.conv1 \| 32x16x16 \| [\d.]+ \| (gemm|winograd-s2) \|/);
    expect(r.stdout).toMatch(/\| \*\*total\*\* \|/);
    const text = readFileSync(svg, 'utf8');
    expect(text).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(text.match(/<g class="bar"/g)?.length).toBeGreaterThanOrEqual(22);
  });

  it('the text report has the per-layer table and its total line', () => {
    const r = resnet(['bench', '--model', 'resnet20', '--layers', '--runs', '2', '--warmup', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/p50 [\d.]+ ms {2}p90 [\d.]+ ms {2}p99 [\d.]+ ms/);
    expect(r.stdout).toMatch(/\nlayer +output +MMACs +kernel +ms +% time +GFLOP\/s +% peak\n/);
    expect(r.stdout).toMatch(/\ntotal [\d.]+ ms = layers [\d.]+ \+ other [\d.]+ \(mean of 2 instrumented forwards\)/);
  });

  it('refuses --layers off wasm, --json with --md, and an --svg it cannot write, before any model loads', () => {
    const cases: [string[], RegExp][] = [
      [['--layers', '--backend', 'reference'], /--layers times the wasm backend's layers; expected --backend wasm \(or none\), got 'reference'/],
      [['--svg', join(tmp, 'x.svg'), '--backend', 'webgpu'], /--layers\/--svg times the wasm backend's layers/],
      [['--json', '--md'], /--json and --md both choose the output; give one/],
      [['--svg', join(tmp, 'no-such-folder', 'x.svg')], /folder '.*no-such-folder' does not exist/],
      [['--svg', join(tmp, 'chart.png')], /--svg must name an \.svg file, got/],
    ];
    for (const [args, message] of cases) {
      const r = resnet(['bench', '--model', 'resnet20', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(existsSync(join(tmp, 'x.svg'))).toBe(false);
  });
});

describe('resnet bench progress', () => {
  it('draws a bar on a terminal (under script(1)) and prints nothing of it into a pipe', () => {
    const piped = resnet(['bench', '--model', 'resnet20', '--runs', '3', '--warmup', '1']);
    expect(piped.code).toBe(0);
    expect(piped.stderr).not.toMatch(/forwards|\r|\[#/);
    // script(1) gives the CLI a pseudo-terminal for stdout and stderr.
    const cmd = [process.execPath, join(ROOT, 'dist/cli/main.js'), 'bench', '--model', 'resnet20', '--runs', '3', '--warmup', '1'].map((a) => `'${a}'`).join(' ');
    const tty = execFileSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
    expect(tty).toMatch(/\r\[#+\.*\] \d+\/4 forwards/);
    expect(tty).toMatch(/\[#{30}\] 4\/4 forwards 100%/);
  });
});
