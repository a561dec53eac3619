/**
 * The benchmark peers (bench/peers/) compute the same function as our reference backend:
 * small graphs exported to ONNX and run by onnxruntime (web and node), and rebuilt with tfjs ops
 * on its wasm backend. Besides keeping the peer benchmarks honest, this cross-checks the reference
 * ops against independent implementations (asymmetric pads, dilation, groups, ceil-mode pools
 * with and without count_include_pad, option-A shortcuts, both linear layouts).
 */
import { describe, expect, it } from 'vitest';
import { createPeer, PEERS, runPeers, type PeerName } from '../bench/peers/index.mjs';
import { exportOnnx } from '../bench/peers/onnx-export.mjs';
import { referenceBackend } from '../src/backends/reference/index.js';
import { graphParams, type Graph, type GraphNode } from '../src/graph.js';
import type { Pads4 } from '../src/shape.js';
import { Tensor } from '../src/tensor.js';

type Plain = { data: Float32Array; shape: number[] };

function conv(name: string, input: string, output: string, ci: number, co: number, k: number, s: number, pads: Pads4, opts: { groups?: number; dilation?: number; bias?: boolean } = {}): GraphNode {
  const d = opts.dilation ?? 1;
  return {
    op: 'conv', name, input, output, inChannels: ci, outChannels: co, kernel: [k, k], stride: [s, s], pads, dilation: [d, d], groups: opts.groups ?? 1,
    params: opts.bias ? { weight: `${name}.weight`, bias: `${name}.bias` } : { weight: `${name}.weight` },
  };
}
function bn(name: string, input: string, output: string, channels: number): GraphNode {
  return { op: 'batchnorm', name, input, output, channels, eps: 1e-5, params: { weight: `${name}.weight`, bias: `${name}.bias`, mean: `${name}.running_mean`, var: `${name}.running_var` } };
}
const relu = (name: string, input: string, output: string): GraphNode => ({ op: 'relu', name, input, output });
const p1: Pads4 = [1, 1, 1, 1];
const p0: Pads4 = [0, 0, 0, 0];

/** A torchvision-style net: stem, max pool, a basic block with a grouped conv, a ResNet-D downsampling block. */
const tinyResnet: Graph = {
  name: 'tiny-resnet', input: 'x', inChannels: 3, primaryOutput: 'logits',
  outputs: { logits: 'fc', stage1: 'layer1' },
  nodes: [
    conv('conv1', 'x', 'conv1', 3, 8, 3, 2, p1), bn('bn1', 'conv1', 'bn1', 8), relu('relu', 'bn1', 'stem'),
    { op: 'maxpool', name: 'maxpool', input: 'stem', output: 'maxpool', kernel: [3, 3], stride: [2, 2], pads: p1, ceilMode: false },
    conv('layer1.0.conv1', 'maxpool', 'l1c1', 8, 8, 3, 1, p1), bn('layer1.0.bn1', 'l1c1', 'l1b1', 8), relu('layer1.0.relu1', 'l1b1', 'l1r1'),
    conv('layer1.0.conv2', 'l1r1', 'l1c2', 8, 8, 3, 1, p1, { groups: 2 }), bn('layer1.0.bn2', 'l1c2', 'l1b2', 8),
    { op: 'add', name: 'layer1.0.add', inputs: ['l1b2', 'maxpool'], output: 'l1sum' }, relu('layer1.0.relu2', 'l1sum', 'layer1'),
    conv('layer2.0.conv1', 'layer1', 'l2c1', 8, 16, 3, 2, p1), bn('layer2.0.bn1', 'l2c1', 'l2b1', 16), relu('layer2.0.relu1', 'l2b1', 'l2r1'),
    conv('layer2.0.conv2', 'l2r1', 'l2c2', 16, 16, 1, 1, p0, { bias: true }), bn('layer2.0.bn2', 'l2c2', 'l2b2', 16),
    { op: 'avgpool', name: 'layer2.0.downsample.0', input: 'layer1', output: 'l2ap', kernel: [2, 2], stride: [2, 2], pads: p0, ceilMode: true, countIncludePad: false },
    conv('layer2.0.downsample.1', 'l2ap', 'l2d', 8, 16, 1, 1, p0), bn('layer2.0.downsample.2', 'l2d', 'l2db', 16),
    { op: 'add', name: 'layer2.0.add', inputs: ['l2b2', 'l2db'], output: 'l2sum' }, relu('layer2.0.relu2', 'l2sum', 'layer2'),
    { op: 'globalavgpool', name: 'global_pool', input: 'layer2', output: 'pooled' },
    { op: 'linear', name: 'fc', input: 'pooled', output: 'fc', inFeatures: 16, outFeatures: 5, weightLayout: 'oi', params: { weight: 'fc.weight', bias: 'fc.bias' } },
  ],
};

/** Edge cases: asymmetric pads with dilation, ceil-mode pools with overhang, option-A shortcut, Paddle's [in, out] linear. */
const tinyEdges: Graph = {
  name: 'tiny-edges', input: 'image', inChannels: 3, primaryOutput: 'logits',
  outputs: { logits: 'out', pooled: 'avg' },
  nodes: [
    conv('stem', 'image', 'stem', 3, 4, 3, 1, p1, { bias: true }),
    conv('dilated', 'stem', 'dilated', 4, 4, 3, 1, [2, 0, 1, 3], { dilation: 2 }), bn('dilated_bn', 'dilated', 'dbn', 4), relu('dilated_relu', 'dbn', 'd'),
    { op: 'avgpool', name: 'avg', input: 'd', output: 'avg', kernel: [3, 3], stride: [2, 2], pads: p1, ceilMode: true, countIncludePad: true },
    { op: 'maxpool', name: 'max', input: 'avg', output: 'max', kernel: [2, 2], stride: [2, 2], pads: p0, ceilMode: true },
    conv('block.conv1', 'max', 'bc1', 4, 8, 3, 2, p1), bn('block.bn1', 'bc1', 'bb1', 8), relu('block.relu1', 'bb1', 'br1'),
    conv('block.conv2', 'br1', 'bc2', 8, 8, 3, 1, p1), bn('block.bn2', 'bc2', 'bb2', 8),
    { op: 'shortcutA', name: 'block.shortcut', input: 'max', output: 'short', stride: 2, padChannels: 2 },
    { op: 'add', name: 'block.add', inputs: ['bb2', 'short'], output: 'bsum' }, relu('block.relu2', 'bsum', 'block'),
    { op: 'batchnorm', name: 'head_bn', input: 'block', output: 'hbn', channels: 8, eps: 1e-3, params: { weight: 'head_bn.w', bias: 'head_bn.b', mean: 'head_bn.m', var: 'head_bn.v' } },
    { op: 'globalavgpool', name: 'gap', input: 'hbn', output: 'gap' },
    { op: 'linear', name: 'out', input: 'gap', output: 'out', inFeatures: 8, outFeatures: 3, weightLayout: 'io', params: { weight: 'out.weight' } },
  ],
};

/** Deterministic weights in a range that keeps activations O(1); BN variances positive. */
function randomWeights(g: Graph, seed: number): Map<string, Tensor> {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32);
  const w = new Map<string, Tensor>();
  for (const p of graphParams(g)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const isVar = /var|\.v$/.test(p.key);
    const scale = p.shape.length > 1 ? 2 / Math.sqrt(n / p.shape[0]) : 1;
    w.set(p.key, new Tensor(Float32Array.from({ length: n }, () => (isVar ? 0.5 + next() : (next() - 0.5) * scale)), p.shape));
  }
  return w;
}

function input(shape: number[], seed: number): Tensor {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 22695477) + 1) >>> 0), s / 2 ** 32);
  return new Tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1), shape);
}

/** max |a - b| / max |b|, after checking the shapes agree. */
function relErr(got: Plain, want: Tensor): number {
  expect(got.shape).toEqual(want.shape);
  let diff = 0;
  let mag = 0;
  for (let i = 0; i < want.data.length; i++) {
    diff = Math.max(diff, Math.abs(got.data[i] - want.data[i]));
    mag = Math.max(mag, Math.abs(want.data[i]));
  }
  expect(mag).toBeGreaterThan(0);
  return diff / mag;
}

/** Errors of a package that is not installed, or of a native binary that cannot load here. */
const MISSING_CODES = ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_DLOPEN_FAILED'];

/** Loads a peer; a missing devDependency fails in CI and is skipped with a reason elsewhere. */
async function loadPeer(peer: PeerName, g: Graph, w: Map<string, Tensor>, shape?: number[]) {
  try {
    return await createPeer(peer, g, w, shape);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (!MISSING_CODES.includes(code) || process.env.CI) throw e;
    console.warn(`peers test: skipping ${peer}, not installed (${(e as Error).message})`);
    return undefined;
  }
}

const cases: { graph: Graph; shape: number[] }[] = [
  { graph: tinyResnet, shape: [2, 3, 27, 27] },
  { graph: tinyEdges, shape: [1, 3, 13, 11] },
];

describe.each(cases)('$graph.name $shape matches the reference backend', ({ graph, shape }) => {
  const weights = randomWeights(graph, 7);
  const x = input(shape, 3);
  const reference = referenceBackend.compile(graph, weights).then((exe) => exe.run(x));

  it.each([...PEERS])('%s', async (name) => {
    const peer = await loadPeer(name, graph, weights);
    if (!peer) return;
    try {
      const want = await reference;
      const got = await peer.run(x);
      expect(Object.keys(got).sort()).toEqual(Object.keys(graph.outputs).sort());
      for (const key of Object.keys(graph.outputs)) {
        expect(relErr(got[key], want[key]), `${name} output '${key}'`).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      await peer.dispose();
    }
  });
});

describe('onnx export', () => {
  it('writes a ModelProto: magic-free protobuf starting with ir_version, then the producer name', () => {
    const bytes: Uint8Array = exportOnnx(tinyResnet, randomWeights(tinyResnet, 1));
    // field 1 (ir_version), varint 8; field 2 (producer_name), length 9, "resnet-ts"
    expect([...bytes.slice(0, 4)]).toEqual([0x08, 8, 0x12, 9]);
    expect(new TextDecoder().decode(bytes.slice(4, 13))).toBe('resnet-ts');
  });

  it('names the key and both shapes when a weight has the wrong shape', () => {
    const w = randomWeights(tinyResnet, 1);
    w.set('layer1.0.conv2.weight', Tensor.zeros([8, 8, 3, 3]));
    expect(() => exportOnnx(tinyResnet, w)).toThrow(/layer1\.0\.conv2\.weight' has shape \[8, 8, 3, 3\], expected \[8, 4, 3, 3\]/);
    w.set('layer1.0.conv2.weight', Tensor.zeros([8, 4, 3, 3]));
    w.delete('fc.bias');
    expect(() => exportOnnx(tinyResnet, w)).toThrow(/missing weight 'fc\.bias'/);
  });
});

describe('runPeers', () => {
  it('times every peer on the same input and reports median, p90, min and images/s', async () => {
    const results = await runPeers({ graph: tinyEdges, weights: randomWeights(tinyEdges, 2), inputShape: [1, 3, 13, 11], runs: 3, warmup: 1 });
    expect(results.map((r) => r.peer)).toEqual([...PEERS]);
    for (const r of results) {
      if (r.medianMs === null && !process.env.CI && /Cannot find (module|package)|cannot open shared object/.test(r.note)) {
        console.warn(`peers test: ${r.peer} ${r.note}`);
        continue;
      }
      const median = r.medianMs ?? NaN;
      expect(median, `${r.peer}: ${r.note}`).toBeGreaterThan(0);
      expect(r.p90Ms).toBeGreaterThanOrEqual(median);
      expect(r.minMs).toBeLessThanOrEqual(median);
      expect(r.imagesPerSecond).toBeCloseTo(1000 / median, 6);
      expect(r.note).toMatch(/1 (intra-op|thread)/);
    }
  });
});
