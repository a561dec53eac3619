/**
 * The table math of `resnet bench` (src/bench/): percentiles of the whole-model runs, and the
 * per-layer table averaged from instrumented forwards: MACs by module path, GFLOP/s, % of peak, and
 * rows plus "other" adding up to the mean forward.
 */
import { describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import type { ForwardProfile } from '../src/backends/backend.js';
import { gflopsOf, layerTable, macsByLayer } from '../src/bench/layers.js';
import { nearestRank, summarize } from '../src/bench/timing.js';

const profile = (ms: number[], totalMs: number): ForwardProfile => ({
  nodes: [
    { name: 'conv1', op: 'conv', kernel: 'stem', outputShape: [1, 64, 112, 112], ms: ms[0] },
    { name: 'maxpool', op: 'maxpool', kernel: 'maxpool', outputShape: [1, 64, 56, 56], ms: ms[1] },
    { name: 'fc', op: 'linear', kernel: 'linear', outputShape: [1, 1000], ms: ms[2] },
  ],
  totalMs,
});
const MACS = macsByLayer([
  { name: 'conv1', macs: 118_013_952 },
  { name: 'bn1', macs: 0 },
  { name: 'maxpool', macs: 0 },
  { name: 'fc', macs: 512_000 },
]);

describe('summarize: median, nearest-rank p90 and p99', () => {
  it('takes the middle of an odd count and the mean of the two middles of an even count', () => {
    expect(summarize([5, 1, 3])).toMatchObject({ median: 3, min: 1, mean: 3, runs: 3 });
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
  });

  it('p90 and p99 are samples, the smallest with at least that share at or below it', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(summarize(hundred)).toMatchObject({ p90: 90, p99: 99, median: 50.5 });
    expect(summarize([7, 9, 8])).toMatchObject({ p90: 9, p99: 9 });
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9)).toBe(10);
  });

  it('refuses no samples with a message', () => {
    expect(() => summarize([])).toThrow(/expected at least one sample, got none/);
  });
});

describe('layerTable: instrumented forwards averaged node by node', () => {
  const profiles = [profile([2, 0.5, 0.1], 3.0), profile([4, 0.5, 0.3], 5.2)];
  const t = layerTable(profiles, MACS, 50);

  it('averages each node and the forward, and the rows plus other add up to the total', () => {
    expect(t.runs).toBe(2);
    expect(t.rows.map((r) => r.ms)).toEqual([3, 0.5, 0.2].map((x) => expect.closeTo(x, 12)));
    expect(t.totalMs).toBeCloseTo(4.1, 12);
    expect(t.layersMs).toBeCloseTo(3.7, 12);
    expect(t.otherMs).toBeCloseTo(0.4, 12);
    expect(t.rows.reduce((a, r) => a + r.ms, 0) + t.otherMs).toBeCloseTo(t.totalMs, 12);
  });

  it('rates each layer with MACs: 2 x MACs / ms, and % of the peak; none for layers without MACs', () => {
    const [conv, pool, fc] = t.rows;
    expect(conv).toMatchObject({ layer: 'conv1', kernel: 'stem', macs: 118_013_952, outputShape: [1, 64, 112, 112] });
    expect(conv.gflops).toBeCloseTo((2 * 118_013_952) / 3e-3 / 1e9, 9); // 78.68 GFLOP/s
    expect(conv.peakPercent).toBeCloseTo((100 * conv.gflops!) / 50, 9);
    expect(pool).toMatchObject({ macs: 0, gflops: null, peakPercent: null });
    expect(fc.gflops).toBeCloseTo(gflopsOf(512_000, 0.2), 12);
    expect(gflopsOf(1e9, 1000)).toBe(2);
  });

  it('refuses profiles that disagree about the nodes, no profiles, or no peak, naming what differs', () => {
    const other = { ...profile([1, 1, 1], 3), nodes: profile([1, 1, 1], 3).nodes.slice(0, 2) };
    expect(() => layerTable([profiles[0], other], MACS, 50)).toThrow(/profile 1 has 2 nodes, expected 3/);
    const renamed = { ...profiles[0], nodes: profiles[0].nodes.map((n, i) => (i === 1 ? { ...n, name: 'pool' } : n)) };
    expect(() => layerTable([profiles[0], renamed], MACS, 50)).toThrow(/profile 1 node 1 is 'pool', expected 'maxpool'/);
    expect(() => layerTable([], MACS, 50)).toThrow(/at least one profiled forward/);
    expect(() => layerTable(profiles, MACS, 0)).toThrow(/positive peak/);
  });
});

describe('model.profile: one forward, each fused node timed', () => {
  it('on wasm lists the fused nodes in graph order with their kernels and shapes, inside the total', async () => {
    const model = await createModel('resnet20');
    const input = { data: new Float32Array(2 * 3 * 32 * 32).fill(0.5), shape: [2, 3, 32, 32] };
    await model.settle();
    const p = await model.profile(input);
    expect(p.nodes).toHaveLength(23); // 19 convs (BN, add, ReLU fused in), 2 option-A shortcuts, pool, classifier
    expect(p.nodes[0]).toMatchObject({ name: 'conv1', op: 'conv', outputShape: [2, 16, 32, 32] });
    expect(p.nodes.find((n) => n.name === 'layer2.0.conv1')).toMatchObject({ kernel: 'winograd-s2', outputShape: [2, 32, 16, 16] });
    expect(p.nodes.at(-1)).toMatchObject({ name: 'linear', op: 'linear', kernel: 'linear', outputShape: [2, 10] });
    const sum = p.nodes.reduce((a, n) => a + n.ms, 0);
    expect(sum).toBeLessThanOrEqual(p.totalMs);
    expect(p.memoryBytes).toBeGreaterThan(model.summary({ inputSize: 32, batch: 2 }).backendMemory!.weights);
    model.dispose();
    await expect(model.profile(input)).rejects.toThrow(/model resnet20 was disposed/);
  });

  it('on a backend that does not time its nodes, says so and names the one that does', async () => {
    const model = await createModel('resnet20', { backend: 'reference' });
    await expect(model.profile({ data: new Float32Array(3 * 32 * 32), shape: [1, 3, 32, 32] })).rejects.toThrow(
      /profile: the reference backend does not time its layers; expected the wasm backend/,
    );
  });
});
