/**
 * The reference ops and backend on small hand-checked cases that the ONNX set lacks, plus the
 * error messages for bad shapes. The graph cases live in helpers/hand-cases.ts so that every
 * backend can run them with `runCaseOn`.
 */
import { describe, expect, it } from 'vitest';
import {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  flatten,
  globalAvgPool,
  linear,
  maxPool2d,
  referenceBackend,
  relu,
  shortcutA,
  softmax,
  transpose2d,
} from '../src/backends/reference/index.js';
import type { Graph } from '../src/graph.js';
import { Tensor } from '../src/tensor.js';
import { runCaseOn } from './helpers/conformance.js';
import { arange, handCheckedCases, seeded, tensor } from './helpers/hand-cases.js';

const values = (t: Tensor): number[] => Array.from(t.data);

describe('hand-checked graph cases on the reference backend', () => {
  for (const c of handCheckedCases()) {
    it(c.id, async () => {
      const r = await runCaseOn(referenceBackend, c);
      expect(r.failures, r.message).toBe(0);
    });
  }
});

describe('conv2d', () => {
  it('is a cross-correlation: an impulse reproduces the kernel rotated by 180 degrees', () => {
    const x = new Float32Array(25);
    x[2 * 5 + 2] = 1; // impulse at the centre of a 5x5
    const w = tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const y = conv2d(new Tensor(x, [1, 1, 5, 5]), w, undefined, { pads: [1, 1, 1, 1] });
    // y[oh, ow] = w[3 - oh, 3 - ow] around the impulse, zero elsewhere.
    const window = [1, 2, 3].flatMap((oh) => [1, 2, 3].map((ow) => y.data[oh * 5 + ow]));
    expect(window).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(values(y).reduce((a, b) => a + b, 0)).toBe(45);
  });

  it('pads begin and end independently (equals conv of the explicitly zero-padded input)', () => {
    const x = seeded([1, 2, 5, 6], 1);
    const w = seeded([3, 2, 3, 3], 2);
    const pads = [2, 0, 1, 3] as const; // top, left, bottom, right
    const padded = new Float32Array(2 * 8 * 9);
    for (let c = 0; c < 2; c++) {
      for (let h = 0; h < 5; h++) for (let ww = 0; ww < 6; ww++) padded[(c * 8 + h + 2) * 9 + ww] = x.data[(c * 5 + h) * 6 + ww];
    }
    const direct = conv2d(x, w, undefined, { pads, stride: [2, 1] });
    const viaPadding = conv2d(new Tensor(padded, [1, 2, 8, 9]), w, undefined, { stride: [2, 1] });
    expect(direct.shape).toEqual([1, 3, 3, 7]);
    expect(values(direct)).toEqual(values(viaPadding));
  });

  it('splits channels into groups: groups=2 equals two convs on the channel halves', () => {
    const x = seeded([1, 4, 4, 4], 3);
    const w = seeded([6, 2, 3, 3], 4);
    const y = conv2d(x, w, undefined, { groups: 2 });
    // NCHW: group g of x is channels 2g..2g+1 (2 planes of 16); OIHW: group g of w is filters 3g..3g+2 (3 * 18 values).
    const xg = (g: number): Tensor => new Tensor(x.data.slice(g * 32, (g + 1) * 32), [1, 2, 4, 4]);
    const wg = (g: number): Tensor => new Tensor(w.data.slice(g * 54, (g + 1) * 54), [3, 2, 3, 3]);
    const y0 = conv2d(xg(0), wg(0), undefined);
    const y1 = conv2d(xg(1), wg(1), undefined);
    expect(values(y)).toEqual([...values(y0), ...values(y1)]);
  });
});

describe('pooling', () => {
  it('maxPool2d ignores padding even when every value is negative', () => {
    const x = tensor([1, 1, 2, 2], [-5, -6, -7, -8]);
    const y = maxPool2d(x, { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1] });
    expect(values(y)).toEqual([-5, -5, -5, -5]);
  });

  it('maxPool2d propagates NaN as PyTorch does', () => {
    const y = maxPool2d(tensor([1, 1, 2, 2], [1, NaN, 3, 4]), { kernel: [2, 2] });
    expect(Number.isNaN(y.data[0])).toBe(true);
  });

  it('avgPool2d defaults the stride to the kernel (PyTorch) and divides by valid taps', () => {
    const y = avgPool2d(arange([1, 1, 4, 4]), { kernel: [2, 2] });
    expect(values(y)).toEqual([2.5, 4.5, 10.5, 12.5]);
    const padded = avgPool2d(tensor([1, 1, 2, 2], [4, 4, 4, 4]), { kernel: [2, 2], stride: [1, 1], pads: [1, 1, 1, 1] });
    expect(values(padded)).toEqual(new Array(9).fill(4));
    const included = avgPool2d(tensor([1, 1, 2, 2], [4, 4, 4, 4]), { kernel: [2, 2], stride: [1, 1], pads: [1, 1, 1, 1], countIncludePad: true });
    expect(values(included)).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
  });

  it('globalAvgPool gives [N, C]', () => {
    const y = globalAvgPool(arange([2, 3, 2, 2]));
    expect(y.shape).toEqual([2, 3]);
    expect(values(y)).toEqual([1.5, 5.5, 9.5, 13.5, 17.5, 21.5]);
  });
});

describe('other ops', () => {
  it('batchNorm uses the running statistics per channel', () => {
    const x = tensor([1, 2, 1, 2], [1, 3, 10, 20]);
    const y = batchNorm(x, tensor([2], [2, 1]), tensor([2], [1, 0]), tensor([2], [1, 10]), tensor([2], [4, 100]), 0);
    expect(values(y)).toEqual([1, 3, 0, 1]); // (1-1)/2*2+1, (3-1)/2*2+1, (10-10)/10, (20-10)/10
  });

  it('relu and add', () => {
    expect(values(relu(tensor([4], [-1, 0, 2, -0.5])))).toEqual([0, 0, 2, 0]);
    expect(values(add(tensor([2], [1, 2]), tensor([2], [10, 20])))).toEqual([11, 22]);
  });

  it('linear is x W^T + b with W [out, in]; transpose2d maps [in, out] to it', () => {
    const x = tensor([2, 3], [1, 2, 3, 4, 5, 6]);
    const w = tensor([2, 3], [1, 0, 0, 1, 1, 1]);
    const y = linear(x, w, tensor([2], [0.5, -1]));
    expect(values(y)).toEqual([1.5, 5, 4.5, 14]);
    expect(values(linear(x, transpose2d(transpose2d(w))))).toEqual([1, 6, 4, 15]);
    expect(transpose2d(w).shape).toEqual([3, 2]);
  });

  it('softmax is stable for large inputs and sums to 1 along the axis', () => {
    const y = softmax(tensor([2, 3], [10000, 10001, 10002, -10000, -10001, -10002]), -1);
    expect(values(y).every(Number.isFinite)).toBe(true);
    expect(y.data[0] + y.data[1] + y.data[2]).toBeCloseTo(1, 6);
    expect(y.data[2]).toBeCloseTo(Math.exp(2) / (1 + Math.exp(1) + Math.exp(2)), 6);
    const cols = softmax(tensor([2, 2], [0, 5, 0, 5]), 0);
    expect(values(cols)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('flatten follows ONNX axis semantics and shares data', () => {
    const x = arange([2, 3, 4]);
    expect(flatten(x, 0).shape).toEqual([1, 24]);
    expect(flatten(x).shape).toEqual([2, 12]);
    expect(flatten(x, -1).shape).toEqual([6, 4]);
    expect(flatten(x, 3).shape).toEqual([24, 1]);
    expect(flatten(x, 2).data).toBe(x.data);
  });

  it('shortcutA keeps every stride-th pixel and zero-pads channels on both sides', () => {
    const y = shortcutA(arange([1, 1, 3, 3]), 2, 2);
    expect(y.shape).toEqual([1, 5, 2, 2]);
    expect(values(y)).toEqual([...new Array(8).fill(0), 0, 2, 6, 8, ...new Array(8).fill(0)]);
  });
});

describe('reference backend', () => {
  const g: Graph = {
    name: 'tiny',
    input: 'x',
    inChannels: 2,
    nodes: [
      {
        op: 'conv', name: 'stem', input: 'x', output: 's', inChannels: 2, outChannels: 3,
        kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, params: { weight: 'stem.weight' },
      },
      { op: 'globalavgpool', name: 'pool', input: 's', output: 'p' },
      {
        op: 'linear', name: 'fc', input: 'p', output: 'logits', inFeatures: 3, outFeatures: 2,
        weightLayout: 'io', params: { weight: 'fc.weight', bias: 'fc.bias' },
      },
    ],
    outputs: { logits: 'logits', stem: 's' },
    primaryOutput: 'logits',
  };
  const weights = new Map([
    ['stem.weight', tensor([3, 2, 1, 1], [1, 0, 0, 1, 1, 1])],
    ['fc.weight', tensor([3, 2], [1, 0, 0, 1, 1, 1])], // Paddle's [in, out]
    ['fc.bias', tensor([2], [0, 100])],
  ]);
  const x = tensor([1, 2, 1, 2], [1, 3, 10, 30]); // channel means 2 and 20

  it('returns every named output and reads Paddle [in, out] linear weights', async () => {
    const exe = await referenceBackend.compile(g, weights);
    const out = await exe.run(x);
    expect(Object.keys(out).sort()).toEqual(['logits', 'stem']);
    expect(values(out.stem)).toEqual([1, 3, 10, 30, 11, 33]);
    // pooled [2, 20, 22]; logits = [2 + 22, 20 + 22 + 100]
    expect(values(out.logits)).toEqual([24, 142]);
    const mem = exe.memoryBytes!([1, 2, 1, 2]);
    expect(mem.weights).toBe(4 * (6 + 6 + 2));
    expect(mem.peak).toBeGreaterThan(mem.weights);
    exe.dispose();
    await expect(exe.run(x)).rejects.toThrow(/disposed/);
  });

  it('names the key, the node and both shapes when a weight is missing or misshapen', async () => {
    const bad = new Map(weights);
    bad.delete('fc.bias');
    bad.set('stem.weight', tensor([3, 2], [1, 0, 0, 1, 1, 1]));
    const err = await referenceBackend.compile(g, bad).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/'stem\.weight' \(node stem\) has shape \[3, 2\], expected \[3, 2, 1, 1\]/);
    expect(err).toMatch(/missing 'fc\.bias' \(node fc\), expected shape \[2\]/);
  });

  it('rejects an NHWC input with a hint', async () => {
    const exe = await referenceBackend.compile(g, weights);
    await expect(exe.run(tensor([1, 1, 2, 2], [1, 2, 3, 4]))).rejects.toThrow(/NHWC/);
  });
});

describe('error messages for bad shapes', () => {
  const x = seeded([1, 4, 5, 5], 9);
  it.each([
    ['conv2d rank', () => conv2d(seeded([4, 5, 5], 1), seeded([2, 4, 3, 3], 2), undefined), /conv2d: input must be NCHW \(rank 4\), got rank 3: \[4, 5, 5\]/],
    ['conv2d channels', () => conv2d(x, seeded([2, 3, 3, 3], 2), undefined), /weight \[2, 3, 3, 3\] expects 3 input channels \(groups=1\), input \[1, 4, 5, 5\] has 4/],
    ['conv2d groups', () => conv2d(x, seeded([3, 2, 3, 3], 2), undefined, { groups: 2 }), /groups=2 must divide input channels 4 and output channels 3/],
    ['conv2d weight vs groups', () => conv2d(x, seeded([4, 4, 3, 3], 2), undefined, { groups: 2 }), /expects 8 input channels \(groups=2\)/],
    ['conv2d bias', () => conv2d(x, seeded([2, 4, 3, 3], 2), tensor([3], [0, 0, 0])), /conv2d: bias must have shape \[2\], got \[3\]/],
    ['conv2d window', () => conv2d(x, seeded([2, 4, 7, 7], 2), undefined), /window of 7 .* does not fit an input of 5/],
    ['pool over padding only', () => maxPool2d(x, { kernel: [1, 1], stride: [1, 1], pads: [1, 0, 0, 0] }), /maxPool2d: output height position 0 covers only padding/],
    ['pool rank', () => avgPool2d(seeded([5, 5], 1), { kernel: [2, 2] }), /avgPool2d: input must be NCHW \(rank 4\), got rank 2/],
    ['batchNorm vectors', () => batchNorm(x, tensor([3], [1, 1, 1]), x, x, x), /batchNorm: weight must have shape \[4\], got \[3\]/],
    ['linear features', () => linear(seeded([2, 3], 1), seeded([4, 5], 2)), /linear: weight \[4, 5\] takes 5 input features, input \[2, 3\] has 3/],
    ['add shapes', () => add(seeded([2, 3], 1), seeded([3], 2)), /add: operands must have equal shapes, got \[2, 3\] and \[3\]/],
    ['softmax axis', () => softmax(seeded([2, 3], 1), 2), /softmax: axis must be an integer in \[-2, 1\]/],
    ['flatten axis', () => flatten(seeded([2, 3], 1), -3), /flatten: axis must be an integer in \[-2, 2\]/],
    ['globalAvgPool rank', () => globalAvgPool(seeded([2, 3], 1)), /globalAvgPool: input must be NCHW \(rank 4\)/],
    ['shortcutA stride', () => shortcutA(x, 0, 1), /shortcutA: stride must be a positive integer, got 0/],
  ] as const)('%s', (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});
