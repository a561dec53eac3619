/**
 * Graph cases that the ONNX conformance set lacks (its README, "Not covered") and that every
 * ResNet needs: 1x1 convs, the 7x7/2 pad-3 stem, begin != end conv padding, ResNeXt's groups=32,
 * the ResNet-D shortcut pool (ceil_mode, count_include_pad=False) on odd sizes, the CIFAR option-A
 * shortcut on odd sizes, and whole residual blocks with real state-dict keys.
 *
 * Each case is a `GraphTestCase`, so `runCaseOn(backend, c)` runs it on any backend. Expected values
 * are literals worked out by hand, or closed-form formulas written out here, except the two
 * bottleneck blocks with random weights, whose expected output is the torchvision forward spelled
 * out with the reference ops (there the reference backend checks its graph interpreter and the
 * other backends check themselves against the oracle).
 */
import {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  relu,
} from '../../src/backends/reference/index.js';
import type { BatchNormNode, ConvNode, Graph, GraphNode } from '../../src/graph.js';
import type { Pads4 } from '../../src/shape.js';
import { Tensor } from '../../src/tensor.js';
import type { GraphCase, GraphTestCase, Tolerance } from './conformance.js';

/** Exact-arithmetic cases still go through float32 sums in other orders on fast backends. */
const TIGHT: Tolerance = { rtol: 1e-5, atol: 1e-6 };
/** Random-weight blocks: float32 accumulation order differs between backends. */
const LOOSE: Tolerance = { rtol: 1e-4, atol: 1e-5 };

export function tensor(shape: number[], values: ArrayLike<number>): Tensor {
  return new Tensor(Float32Array.from(values), shape);
}

/** 0, 1, 2, ... in C order. */
export function arange(shape: number[]): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  return tensor(shape, Array.from({ length: size }, (_, i) => i));
}

/** Deterministic uniform values in [lo, hi) (mulberry32), so every backend sees the same data. */
export function seeded(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const size = shape.reduce((p, d) => p * d, 1);
  return tensor(shape, Array.from({ length: size }, () => lo + (hi - lo) * next()));
}

function graph(name: string, inChannels: number, nodes: GraphNode[]): Graph {
  return { name, input: 'x', inChannels, nodes, outputs: { y: nodes[nodes.length - 1].output }, primaryOutput: 'y' };
}

function convNode(
  name: string,
  input: string,
  output: string,
  w: Tensor,
  opts: { stride?: number; pads?: Pads4; groups?: number; bias?: boolean } = {},
): ConvNode {
  const [outChannels, inPerGroup, kh, kw] = w.shape;
  const groups = opts.groups ?? 1;
  const s = opts.stride ?? 1;
  return {
    op: 'conv', name, input, output, inChannels: inPerGroup * groups, outChannels, kernel: [kh, kw], stride: [s, s],
    pads: opts.pads ?? [0, 0, 0, 0], dilation: [1, 1], groups,
    params: opts.bias ? { weight: `${name}.weight`, bias: `${name}.bias` } : { weight: `${name}.weight` },
  };
}

function bnNode(name: string, input: string, output: string, channels: number): BatchNormNode {
  return {
    op: 'batchnorm', name, input, output, channels, eps: 1e-5,
    params: { weight: `${name}.weight`, bias: `${name}.bias`, mean: `${name}.running_mean`, var: `${name}.running_var` },
  };
}

interface Bn {
  weight: Tensor;
  bias: Tensor;
  mean: Tensor;
  var: Tensor;
}

function seededBn(channels: number, seed: number): Bn {
  return {
    weight: seeded([channels], seed, 0.5, 1.5),
    bias: seeded([channels], seed + 1, -0.2, 0.2),
    mean: seeded([channels], seed + 2, -0.2, 0.2),
    var: seeded([channels], seed + 3, 0.5, 2),
  };
}

function bnWeights(name: string, bn: Bn): [string, Tensor][] {
  return [
    [`${name}.weight`, bn.weight],
    [`${name}.bias`, bn.bias],
    [`${name}.running_mean`, bn.mean],
    [`${name}.running_var`, bn.var],
  ];
}

const applyBn = (x: Tensor, bn: Bn): Tensor => batchNorm(x, bn.weight, bn.bias, bn.mean, bn.var, 1e-5);

/** A case whose graph is a single node reading `x`. */
function single(
  id: string,
  node: GraphNode,
  inChannels: number,
  weights: [string, Tensor][],
  input: Tensor,
  expected: Tensor,
): GraphTestCase {
  const toGraph = (): GraphCase => ({
    graph: graph(id, inChannels, [node]),
    weights: new Map(weights),
    input,
    outputShape: expected.shape,
  });
  return { id, tolerance: TIGHT, expected, toGraph };
}

export function handCheckedCases(): GraphTestCase[] {
  return [
    conv1x1Bias(),
    conv1x1Stride2(),
    stemConv7x7(),
    convBeginNeEnd(),
    groupedConv32(),
    resnetDPool5x5(),
    avgPoolCeilIncludePad(),
    shortcutA5x5(),
    basicBlockIdentity(),
    bottleneck('bottleneck_downsample_conv1x1_s2_7x7', false),
    bottleneck('bottleneck_d_avgdown_s2_7x7', true),
  ];
}

/** 1x1 conv as a per-pixel channel mix: y0 = x0, y1 = x1 + 0.5, y2 = x0 - x1 + 100. */
function conv1x1Bias(): GraphTestCase {
  const x = tensor([1, 2, 2, 2], [1, 2, 3, 4, 10, 20, 30, 40]);
  const w = tensor([3, 2, 1, 1], [1, 0, 0, 1, 1, -1]);
  const b = tensor([3], [0, 0.5, 100]);
  const y = tensor([1, 3, 2, 2], [1, 2, 3, 4, 10.5, 20.5, 30.5, 40.5, 91, 82, 73, 64]);
  const node = convNode('conv', 'x', 'y', w, { bias: true });
  return single('conv1x1_s1_bias_2to3', node, 2, [['conv.weight', w], ['conv.bias', b]], x, y);
}

/** The torchvision downsample conv: 1x1 stride 2 on an odd 3x3 keeps rows/cols 0 and 2. */
function conv1x1Stride2(): GraphTestCase {
  const x = tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const w = tensor([1, 1, 1, 1], [2]);
  const y = tensor([1, 1, 2, 2], [2, 6, 14, 18]);
  return single('conv1x1_s2_3x3', convNode('conv', 'x', 'y', w, { stride: 2 }), 1, [['conv.weight', w]], x, y);
}

/**
 * The ResNet stem conv (7x7, stride 2, pad 3) on ones with ones weights: each output counts the
 * window taps inside the input. For H = W = 8 the windows along an axis start at -3, -1, 1, 3 and
 * cover 4, 6, 7, 5 input rows, so y[o, i, j] = 3 channels * r[i] * r[j].
 */
function stemConv7x7(): GraphTestCase {
  const x = tensor([1, 3, 8, 8], new Array(3 * 64).fill(1));
  const w = tensor([2, 3, 7, 7], new Array(2 * 3 * 49).fill(1));
  const r = [4, 6, 7, 5];
  const y: number[] = [];
  for (let o = 0; o < 2; o++) for (const ri of r) for (const rj of r) y.push(3 * ri * rj);
  const node = convNode('conv1', 'x', 'y', w, { stride: 2, pads: [3, 3, 3, 3] });
  return single('conv7x7_s2_p3_stem_8x8', node, 3, [['conv1.weight', w]], x, tensor([1, 2, 4, 4], y));
}

/**
 * Begin != end padding, [top 1, left 0, bottom 0, right 1], 2x2 kernel on [[1, 2], [3, 4]]:
 * the padded input is [[0, 0, 0], [1, 2, 0], [3, 4, 0]], and with w = [[1, 10], [100, 1000]]
 * each output digit shows which tap read what.
 */
function convBeginNeEnd(): GraphTestCase {
  const x = tensor([1, 1, 2, 2], [1, 2, 3, 4]);
  const w = tensor([1, 1, 2, 2], [1, 10, 100, 1000]);
  const y = tensor([1, 1, 2, 2], [2100, 200, 4321, 402]);
  const node = convNode('conv', 'x', 'y', w, { pads: [1, 0, 0, 1] });
  return single('conv2x2_pads_t1l0b0r1', node, 1, [['conv.weight', w]], x, y);
}

/**
 * ResNeXt's grouped 3x3 (groups 32, 4 channels per group, as in resnext50_32x4d's first stage).
 * Only the centre tap is set: w[o, i, 1, 1] = (o + 1) * 10^i, so with digits as inputs
 * y[o] = (o + 1) * (x[4g] + 10 x[4g+1] + 100 x[4g+2] + 1000 x[4g+3]), g = floor(o / 4): the digits
 * spell which input channels the group read. Exact in float32.
 */
function groupedConv32(): GraphTestCase {
  const c = 128;
  const per = 4;
  const x = new Float32Array(c * 9);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < 9; p++) x[ch * 9 + p] = (ch * 7 + p * 3) % 10;
  const w = new Float32Array(c * per * 9);
  for (let o = 0; o < c; o++) for (let i = 0; i < per; i++) w[(o * per + i) * 9 + 4] = (o + 1) * 10 ** i;
  const y = new Float32Array(c * 9);
  for (let o = 0; o < c; o++) {
    const g = Math.floor(o / per);
    for (let p = 0; p < 9; p++) {
      let digits = 0;
      for (let i = 0; i < per; i++) digits += 10 ** i * x[(g * per + i) * 9 + p];
      y[o * 9 + p] = (o + 1) * digits;
    }
  }
  const weight = new Tensor(w, [c, per, 3, 3]);
  const node = convNode('conv2', 'x', 'y', weight, { pads: [1, 1, 1, 1], groups: 32 });
  return single('conv3x3_g32_c128_p1', node, c, [['conv2.weight', weight]], new Tensor(x, [1, c, 3, 3]), new Tensor(y, [1, c, 3, 3]));
}

/**
 * The ResNet-D shortcut pool, AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False), on an odd
 * 5x5 arange: the last row and column of windows overhang and average only their valid taps,
 * e.g. y[0, 2] = (4 + 9) / 2, y[2, 2] = 24 / 1.
 */
function resnetDPool5x5(): GraphTestCase {
  const node: GraphNode = {
    op: 'avgpool', name: 'downsample.0', input: 'x', output: 'y', kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0],
    ceilMode: true, countIncludePad: false,
  };
  const y = tensor([1, 1, 3, 3], [3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24]);
  return single('avgpool2x2_s2_ceil_excludepad_5x5', node, 1, [], arange([1, 1, 5, 5]), y);
}

/**
 * count_include_pad=True with ceil mode: 3x3/2 pad 1 on ones 4x4. Along an axis the windows cover
 * taps {-1,0,1}, {1,2,3}, {3,4,5}: valid 2, 3, 1; counted 3, 3, 2 (tap 4 is padding and counts,
 * tap 5 is the ceil overhang and does not: PyTorch's rule). y[i, j] = valid_i valid_j / (counted_i counted_j).
 */
function avgPoolCeilIncludePad(): GraphTestCase {
  const valid = [2, 3, 1];
  const counted = [3, 3, 2];
  const y: number[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) y.push((valid[i] * valid[j]) / (counted[i] * counted[j]));
  const node: GraphNode = {
    op: 'avgpool', name: 'pool', input: 'x', output: 'y', kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1],
    ceilMode: true, countIncludePad: true,
  };
  return single('avgpool3x3_s2_p1_ceil_includepad_4x4', node, 1, [], tensor([1, 1, 4, 4], new Array(16).fill(1)), tensor([1, 1, 3, 3], y));
}

/** CIFAR option A on odd 5x5: x[:, :, ::2, ::2] keeps rows/cols 0, 2, 4; one zero channel each side. */
function shortcutA5x5(): GraphTestCase {
  const sub = [0, 2, 4, 10, 12, 14, 20, 22, 24];
  const zeros = new Array(9).fill(0);
  const y = tensor([1, 4, 3, 3], [...zeros, ...sub, ...sub.map((v) => v + 25), ...zeros]);
  const node: GraphNode = { op: 'shortcutA', name: 'layer2.0.shortcut', input: 'x', output: 'y', stride: 2, padChannels: 1 };
  return single('shortcutA_s2_pad1_5x5', node, 2, [], arange([1, 2, 5, 5]), y);
}

/**
 * A torchvision BasicBlock with an identity shortcut (layer1.0 of resnet18) whose convs are
 * identities (centre tap 1 on the diagonal), so the block is, per element with BN folded by hand,
 *   y = relu(a2 * relu(a1 * x + c1) + c2 + x),  a = weight / sqrt(var + eps), c = bias - mean * a.
 */
function basicBlockIdentity(): GraphTestCase {
  const c = 3;
  const x = seeded([2, c, 5, 4], 11, -2, 2);
  const eye = new Float32Array(c * c * 9);
  for (let o = 0; o < c; o++) eye[(o * c + o) * 9 + 4] = 1;
  const w = new Tensor(eye, [c, c, 3, 3]);
  const bn1 = seededBn(c, 20);
  const bn2 = seededBn(c, 30);
  const affine = (bn: Bn, ch: number): [number, number] => {
    const a = bn.weight.data[ch] / Math.sqrt(bn.var.data[ch] + 1e-5);
    return [a, bn.bias.data[ch] - bn.mean.data[ch] * a];
  };
  const y = new Float32Array(x.size);
  const plane = 5 * 4;
  for (let i = 0; i < x.size; i++) {
    const ch = Math.floor(i / plane) % c;
    const [a1, c1] = affine(bn1, ch);
    const [a2, c2] = affine(bn2, ch);
    y[i] = Math.max(0, a2 * Math.max(0, a1 * x.data[i] + c1) + c2 + x.data[i]);
  }
  const p = 'layer1.0';
  const nodes: GraphNode[] = [
    convNode(`${p}.conv1`, 'x', 'c1', w, { pads: [1, 1, 1, 1] }),
    bnNode(`${p}.bn1`, 'c1', 'b1', c),
    { op: 'relu', name: `${p}.relu`, input: 'b1', output: 'r1' },
    convNode(`${p}.conv2`, 'r1', 'c2', w, { pads: [1, 1, 1, 1] }),
    bnNode(`${p}.bn2`, 'c2', 'b2', c),
    { op: 'add', name: `${p}.add`, inputs: ['b2', 'x'], output: 's' },
    { op: 'relu', name: `${p}.relu_out`, input: 's', output: 'y' },
  ];
  const weights: [string, Tensor][] = [
    [`${p}.conv1.weight`, w],
    [`${p}.conv2.weight`, w],
    ...bnWeights(`${p}.bn1`, bn1),
    ...bnWeights(`${p}.bn2`, bn2),
  ];
  return {
    id: 'basicblock_identity_shortcut',
    tolerance: TIGHT,
    expected: new Tensor(y, x.shape),
    toGraph: () => ({ graph: graph('basicblock', c, nodes), weights: new Map(weights), input: x, outputShape: x.shape }),
  };
}

/**
 * A downsampling Bottleneck (layer2.0: 8 -> 4 -> 16 channels, stride 2 on the 3x3, odd 7x7 input)
 * with random weights. The shortcut is torchvision's `downsample = [conv1x1 s2, BN]`, or with
 * `avgDown` timm's ResNet-D `[AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False), conv1x1, BN]`
 * (keys downsample.1 / downsample.2; the pool has none).
 */
function bottleneck(id: string, avgDown: boolean): GraphTestCase {
  const [cin, width, cout] = [8, 4, 16];
  const x = seeded([2, cin, 7, 7], 100, -1, 1);
  const w1 = seeded([width, cin, 1, 1], 101, -0.5, 0.5);
  const w2 = seeded([width, width, 3, 3], 102, -0.3, 0.3);
  const w3 = seeded([cout, width, 1, 1], 103, -0.5, 0.5);
  const wd = seeded([cout, cin, 1, 1], 104, -0.5, 0.5);
  const [bn1, bn2, bn3, bnd] = [seededBn(width, 110), seededBn(width, 120), seededBn(cout, 130), seededBn(cout, 140)];

  // The torchvision forward, top to bottom.
  let out = relu(applyBn(conv2d(x, w1, undefined), bn1));
  out = relu(applyBn(conv2d(out, w2, undefined, { stride: [2, 2], pads: [1, 1, 1, 1] }), bn2));
  out = applyBn(conv2d(out, w3, undefined), bn3);
  const identity = avgDown
    ? applyBn(conv2d(avgPool2d(x, { kernel: [2, 2], stride: [2, 2], ceilMode: true, countIncludePad: false }), wd, undefined), bnd)
    : applyBn(conv2d(x, wd, undefined, { stride: [2, 2] }), bnd);
  const expected = relu(add(out, identity));

  const p = 'layer2.0';
  const [dConv, dBn] = avgDown ? [`${p}.downsample.1`, `${p}.downsample.2`] : [`${p}.downsample.0`, `${p}.downsample.1`];
  const shortcut: GraphNode[] = avgDown
    ? [
        {
          op: 'avgpool', name: `${p}.downsample.0`, input: 'x', output: 'd0',
          kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceilMode: true, countIncludePad: false,
        },
        convNode(dConv, 'd0', 'd1', wd),
        bnNode(dBn, 'd1', 'd', cout),
      ]
    : [convNode(dConv, 'x', 'd1', wd, { stride: 2 }), bnNode(dBn, 'd1', 'd', cout)];
  const nodes: GraphNode[] = [
    convNode(`${p}.conv1`, 'x', 'c1', w1),
    bnNode(`${p}.bn1`, 'c1', 'b1', width),
    { op: 'relu', name: `${p}.relu1`, input: 'b1', output: 'r1' },
    convNode(`${p}.conv2`, 'r1', 'c2', w2, { stride: 2, pads: [1, 1, 1, 1] }),
    bnNode(`${p}.bn2`, 'c2', 'b2', width),
    { op: 'relu', name: `${p}.relu2`, input: 'b2', output: 'r2' },
    convNode(`${p}.conv3`, 'r2', 'c3', w3),
    bnNode(`${p}.bn3`, 'c3', 'b3', cout),
    ...shortcut,
    { op: 'add', name: `${p}.add`, inputs: ['b3', 'd'], output: 's' },
    { op: 'relu', name: `${p}.relu3`, input: 's', output: 'y' },
  ];
  const weights: [string, Tensor][] = [
    [`${p}.conv1.weight`, w1], [`${p}.conv2.weight`, w2], [`${p}.conv3.weight`, w3], [`${dConv}.weight`, wd],
    ...bnWeights(`${p}.bn1`, bn1), ...bnWeights(`${p}.bn2`, bn2), ...bnWeights(`${p}.bn3`, bn3), ...bnWeights(dBn, bnd),
  ];
  return {
    id,
    tolerance: LOOSE,
    expected,
    toGraph: () => ({ graph: graph(id, cin, nodes), weights: new Map(weights), input: x, outputShape: expected.shape }),
  };
}
