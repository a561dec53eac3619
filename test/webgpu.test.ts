/**
 * The WebGPU backend against the reference backend: the host-side planning (no GPU needed), small
 * hand-built graphs that reach every kernel and dispatch branch, the ONNX conformance cases, and
 * whole models at 64x64 (batch 1 and 4) within max |webgpu - reference| <= 1e-3 * max |reference|.
 *
 * Needs a WebGPU adapter: under CI (`process.env.CI`) a missing one is a failure; elsewhere each
 * GPU test prints why it returns early. SwiftShader (scripts/ci-webgpu-setup.sh) is enough.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import type { Backend, WeightMap } from '../src/backends/backend.js';
import { fuseGraph, type FusedNode } from '../src/backends/fuse.js';
import { selectBackend } from '../src/backends/index.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import { createWebGPUBackend, webgpuAvailability, type WebGPUBackend } from '../src/backends/webgpu/index.js';
import { CONV_TK, convTile, fusedInputs, gridFor, planMemory, splitK, SPLIT_K_MIN_STEPS } from '../src/backends/webgpu/plan.js';
import type { Graph, GraphNode } from '../src/graph.js';
import { graphParams, inferShapes } from '../src/graph.js';
import { mulberry32 } from '../src/models/init.js';
import { Tensor, sizeOf } from '../src/tensor.js';
import { conformanceCases, conformanceDirForTests, runCaseOn } from './helpers/conformance.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

let backendPromise: Promise<WebGPUBackend | undefined> | undefined;

/** The shared WebGPU backend, or undefined (with a printed reason) when there is none off CI. */
async function webgpu(what: string): Promise<WebGPUBackend | undefined> {
  backendPromise ??= (async () => {
    const a = await webgpuAvailability();
    if (!a.ok) {
      if (process.env.CI) throw new Error(`WebGPU is required under CI but unavailable: ${a.reason}`);
      console.warn(`no WebGPU adapter: ${a.reason}`);
      return undefined;
    }
    const b = await createWebGPUBackend();
    console.log(`WebGPU adapter: ${b.adapter} (via ${a.reason})`);
    return b;
  })();
  const b = await backendPromise;
  if (!b) console.warn(`skipping ${what}: no WebGPU adapter (scripts/ci-webgpu-setup.sh installs SwiftShader)`);
  return b;
}

function randomTensor(shape: number[], rand: () => number, lo = -1, hi = 1): Tensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rand();
  return new Tensor(data, shape);
}

/** Random weights for every key the graph reads; BN variances positive. */
function randomWeights(g: Graph, seed: number): Map<string, Tensor> {
  const rand = mulberry32(seed);
  const w = new Map<string, Tensor>();
  for (const p of graphParams(g)) {
    const isVar = /var$/.test(p.key);
    w.set(p.key, randomTensor(p.shape, rand, isVar ? 0.5 : -1, isVar ? 1.5 : 1));
  }
  return w;
}

/** max |a - b| and max |b|; NaN makes the error infinite. */
function maxErrors(got: Float32Array, expected: Float32Array): { maxAbs: number; maxRef: number } {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(got[i] - expected[i]);
    maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return { maxAbs, maxRef };
}

/** Runs a graph on both backends; every output must agree within `rel` of its max |reference|. */
async function compareWithReference(gpu: Backend, g: Graph, weights: WeightMap, input: Tensor, rel: number) {
  const ref = await (await referenceBackend.compile(g, weights)).run(input);
  const exe = await gpu.compile(g, weights);
  try {
    const got = await exe.run(input);
    const errors: Record<string, { maxAbs: number; maxRef: number }> = {};
    for (const name of Object.keys(g.outputs)) {
      expect(got[name].shape, name).toEqual(ref[name].shape);
      const e = maxErrors(got[name].data, ref[name].data);
      expect(e.maxRef, `${name}: the reference output is all zeros, the case tests nothing`).toBeGreaterThan(0);
      expect(e.maxAbs, `${name}: max |diff| ${e.maxAbs} vs max |ref| ${e.maxRef}`).toBeLessThanOrEqual(rel * e.maxRef);
      errors[name] = e;
    }
    return errors;
  } finally {
    exe.dispose();
  }
}

// Small graph builders; names and keys follow torch's conventions.
type Pads = readonly [number, number, number, number];
const conv = (name: string, input: string, cin: number, cout: number, k: number, o: { stride?: number; pads?: Pads; dilation?: number; groups?: number; bias?: boolean } = {}): GraphNode => ({
  op: 'conv',
  name,
  input,
  output: name,
  inChannels: cin,
  outChannels: cout,
  kernel: [k, k],
  stride: [o.stride ?? 1, o.stride ?? 1],
  pads: o.pads ?? [0, 0, 0, 0],
  dilation: [o.dilation ?? 1, o.dilation ?? 1],
  groups: o.groups ?? 1,
  params: o.bias ? { weight: `${name}.weight`, bias: `${name}.bias` } : { weight: `${name}.weight` },
});
const bn = (name: string, input: string, channels: number): GraphNode => ({
  op: 'batchnorm',
  name,
  input,
  output: name,
  channels,
  eps: 1e-5,
  params: { weight: `${name}.weight`, bias: `${name}.bias`, mean: `${name}.running_mean`, var: `${name}.running_var` },
});
const relu = (name: string, input: string): GraphNode => ({ op: 'relu', name, input, output: name });
const add = (name: string, a: string, b: string): GraphNode => ({ op: 'add', name, inputs: [a, b], output: name });
const graph = (name: string, inChannels: number, nodes: GraphNode[], outputs?: Record<string, string>): Graph => {
  const outs = outputs ?? { out: nodes[nodes.length - 1].output };
  return { name, input: 'x', inChannels, nodes, outputs: outs, primaryOutput: Object.keys(outs)[0] };
};

// ---------------------------------------------------------------------------------------------
// Planning (no GPU needed)
// ---------------------------------------------------------------------------------------------

describe('webgpu planning', () => {
  const node = (output: string, input: string): FusedNode => ({ op: 'relu', name: output, input, output });

  it('reuses a released buffer and never aliases a node input with its output', () => {
    // x -> a -> b -> c -> d: 100 bytes each except c (400).
    const nodes = [node('a', 'x'), node('b', 'a'), node('c', 'b'), node('d', 'c')];
    const bytes: Record<string, number> = { x: 100, a: 100, b: 100, c: 400, d: 100 };
    const plan = planMemory('x', nodes, ['d'], (v) => bytes[v]);
    for (const n of nodes) expect(plan.slotOf.get(n.output)).not.toBe(plan.slotOf.get((n as { input: string }).input));
    // A chain needs only two buffers, the second grown to the largest value it holds.
    expect(plan.slotBytes).toHaveLength(2);
    expect(Math.max(...plan.slotBytes)).toBe(400);
  });

  it('keeps a residual live until the conv that reads it, and graph outputs to the end', () => {
    const w = new Float32Array(1);
    const convNode = (output: string, input: string, residual?: string): FusedNode => ({
      op: 'conv', name: output, input, output, residual, relu: true, inChannels: 1, outChannels: 1, kernel: [1, 1], stride: [1, 1],
      pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, weight: w, bias: w,
    });
    const nodes = [convNode('a', 'x'), convNode('b', 'a'), convNode('c', 'b', 'a'), convNode('d', 'c'), convNode('e', 'd')];
    const plan = planMemory('x', nodes, ['e', 'b'], () => 64);
    const slot = (v: string) => plan.slotOf.get(v);
    expect(slot('c')).not.toBe(slot('a')); // a is read by c as its residual
    expect(slot('c')).not.toBe(slot('b'));
    for (const v of ['c', 'd', 'e']) expect(slot(v)).not.toBe(slot('b')); // b is an output
    expect(slot('d')).not.toBe(slot('e'));
  });

  it('plans ResNet-50 at 224x224 into a few shared buffers', async () => {
    const model = await createModel('resnet50', { seed: 1, backend: 'reference' });
    const fused = fuseGraph(model.graph, model.weights);
    const shapes = inferShapes(model.graph, [2, 3, 224, 224]);
    const bytes = (v: string) => 4 * sizeOf(shapes.get(v)!);
    const plan = planMemory(fused.input, fused.nodes, Object.values(fused.outputs), bytes);
    const values = [fused.input, ...fused.nodes.map((n) => n.output)];
    const everything = values.reduce((s, v) => s + bytes(v), 0);
    const largest = Math.max(...values.map(bytes));
    const planned = plan.slotBytes.reduce((s, b) => s + b, 0);
    // A bottleneck block holds its input (the residual) and two more values at once: three buffers
    // of the largest size are the least possible (19.3 MB here, against 92 MB for all values).
    expect(plan.slotBytes.length).toBeLessThanOrEqual(5);
    expect(planned).toBeLessThanOrEqual(3 * largest);
    expect(planned).toBeLessThan(everything / 4);
    for (const n of fused.nodes) {
      for (const v of fusedInputs(n)) expect(plan.slotOf.get(v), `${n.name} reads ${v}`).not.toBe(plan.slotOf.get(n.output));
    }
  });

  it('splits large 1-D grids over two dimensions', () => {
    expect(gridFor(100, 64)).toEqual([2, 1, 1]);
    expect(gridFor(0, 64)).toEqual([1, 1, 1]);
    const [x, y] = gridFor(64 * 70000, 64);
    expect(x).toBe(65535);
    expect(x * y).toBeGreaterThanOrEqual(70000);
    expect(() => gridFor(64 * 65535 * 65536, 64)).toThrow(/workgroups/);
  });

  it('sizes conv tiles to the problem within 256 threads and 16 KiB of workgroup memory', () => {
    expect(convTile(100000, 256)).toEqual({ wgM: 16, wgN: 16 });
    expect(convTile(4, 2048)).toEqual({ wgM: 1, wgN: 32 }); // last stage at batch 1, or linear
    expect(convTile(100000, 4)).toEqual({ wgM: 32, wgN: 1 }); // a ResNeXt group of 4 channels
    for (const m of [1, 3, 17, 64, 1000, 99999]) {
      for (const n of [1, 4, 7, 32, 100, 2048]) {
        const t = convTile(m, n);
        expect(t.wgM * t.wgN).toBeLessThanOrEqual(256);
        expect(4 * 16 * 4 * (t.wgM + t.wgN)).toBeLessThanOrEqual(16384);
      }
    }
  });

  it('slices K only where the tiles are too few, each slice a whole number of k steps covering K once', () => {
    expect(splitK(8, 4608)).toEqual({ slices: 32, sliceK: 144 }); // ResNet-50 layer4 3x3 at batch 1
    expect(splitK(8, 2048)).toEqual({ slices: 16, sliceK: 128 }); // the linear layer at batch 1
    expect(splitK(49, 576)).toEqual({ slices: 4, sliceK: 144 }); // layer1 3x3 at batch 1
    expect(splitK(300, 4608).slices).toBe(1); // enough tiles
    expect(splitK(1, 135).slices).toBe(1); // too little K to share
    for (const wg of [1, 3, 8, 50, 127]) {
      for (const k of [100, 256, 511, 900, 1152, 4608, 18432]) {
        const { slices, sliceK } = splitK(wg, k);
        if (slices === 1) {
          expect(sliceK).toBe(k);
          continue;
        }
        expect(sliceK % CONV_TK).toBe(0);
        expect(sliceK / CONV_TK).toBeGreaterThanOrEqual(SPLIT_K_MIN_STEPS);
        expect((slices - 1) * sliceK).toBeLessThan(k); // the last slice is not empty
        expect(slices * sliceK).toBeGreaterThanOrEqual(k);
      }
    }
  });
});

describe('webgpu availability', () => {
  it("reports the adapter, and 'auto' takes it or says why not", async () => {
    const a = await webgpuAvailability();
    if (!a.ok) {
      if (process.env.CI) throw new Error(`WebGPU is required under CI but unavailable: ${a.reason}`);
      console.warn(`no WebGPU adapter: ${a.reason}`);
      return;
    }
    expect(a.adapter).toMatch(/\w/);
    expect(a.reason).toMatch(/navigator\.gpu|webgpu/);
    expect(a.software).toBe(/swiftshader|llvmpipe|lavapipe|warp/i.test(a.adapter!));
    // 'auto' takes this adapter, or (a software one only) says why it passed it over.
    const choice = await selectBackend('auto');
    if (choice.backend.name === 'webgpu') {
      expect(choice.reason).toContain(a.adapter!);
    } else {
      expect(a.software).toBe(true);
      expect(choice.passedOver.find((p) => p.name === 'webgpu')?.reason).toMatch(/\w/);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-built graphs: every kernel and dispatch branch, odd sizes, batch > 1
// ---------------------------------------------------------------------------------------------

interface HandCase {
  readonly name: string;
  readonly graph: Graph;
  readonly inputShape: number[];
}

const handCases: HandCase[] = [
  {
    name: 'conv3x3 s1 p1 + bn + relu (folded, fused), 3->5 on 9x7, batch 2',
    graph: graph('conv-bn-relu', 3, [conv('c', 'x', 3, 5, 3, { pads: [1, 1, 1, 1] }), bn('bn', 'c', 5), relu('r', 'bn')]),
    inputShape: [2, 3, 9, 7],
  },
  {
    name: 'basic block: conv-bn-relu, conv-bn + identity residual + relu, 8ch 6x6, batch 3',
    graph: graph('basic-block', 8, [
      conv('c1', 'x', 8, 8, 3, { pads: [1, 1, 1, 1] }), bn('b1', 'c1', 8), relu('r1', 'b1'),
      conv('c2', 'r1', 8, 8, 3, { pads: [1, 1, 1, 1] }), bn('b2', 'c2', 8), add('add', 'b2', 'x'), relu('out', 'add'),
    ]),
    inputShape: [3, 8, 6, 6],
  },
  {
    name: 'grouped conv3x3 s2 p1, groups 4, 8->12, bias, on 11x10',
    graph: graph('grouped', 8, [conv('c', 'x', 8, 12, 3, { stride: 2, pads: [1, 1, 1, 1], groups: 4, bias: true })]),
    inputShape: [2, 8, 11, 10],
  },
  {
    name: 'ResNeXt-like grouped conv, 32 groups of 4 channels, 128->128 on 5x5',
    graph: graph('resnext-group', 128, [conv('c', 'x', 128, 128, 3, { pads: [1, 1, 1, 1], groups: 32 }), bn('bn', 'c', 128), relu('r', 'bn')]),
    inputShape: [1, 128, 5, 5],
  },
  {
    name: 'dilated conv3x3 d2 with asymmetric pads [1, 0, 2, 1], 4->6',
    graph: graph('dilated', 4, [conv('c', 'x', 4, 6, 3, { dilation: 2, pads: [1, 0, 2, 1], bias: true })]),
    inputShape: [1, 4, 9, 8],
  },
  {
    name: 'multi-tile GEMM with a K tail: conv3x3 15->80 on 20x20, batch 2 (K = 135, M = 800)',
    graph: graph('big-gemm', 15, [conv('c', 'x', 15, 80, 3, { pads: [1, 1, 1, 1], bias: true }), relu('r', 'c')]),
    inputShape: [2, 15, 20, 20],
  },
  {
    name: '1x1 conv s2 (the downsample branch) + bn, 6->10',
    graph: graph('1x1-s2', 6, [conv('c', 'x', 6, 10, 1, { stride: 2 }), bn('bn', 'c', 10)]),
    inputShape: [2, 6, 7, 7],
  },
  {
    name: 'stem: conv7x7 s2 p3 + bn + relu, maxpool3x3 s2 p1, outputs stem and pooled',
    graph: graph(
      'stem',
      3,
      [
        conv('conv1', 'x', 3, 8, 7, { stride: 2, pads: [3, 3, 3, 3] }), bn('bn1', 'conv1', 8), relu('relu', 'bn1'),
        { op: 'maxpool', name: 'maxpool', input: 'relu', output: 'maxpool', kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], ceilMode: false },
      ],
      { pooled: 'maxpool', stem: 'relu' },
    ),
    inputShape: [2, 3, 17, 15],
  },
  {
    name: 'maxpool3x3 s2 ceil_mode on 8x8; avgpool3x3 s2 p1 ceil_mode count_include_pad on it',
    graph: graph('pools-ceil', 4, [
      { op: 'maxpool', name: 'mp', input: 'x', output: 'mp', kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceilMode: true },
      { op: 'avgpool', name: 'ap', input: 'mp', output: 'ap', kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], ceilMode: true, countIncludePad: true },
    ], { ap: 'ap', mp: 'mp' }),
    inputShape: [2, 4, 8, 8],
  },
  {
    name: "'d' downsample: avgpool2x2 s2 ceil_mode, count_include_pad=false on 7x7, then 1x1 conv + bn",
    graph: graph('avg-down', 4, [
      { op: 'avgpool', name: 'pool', input: 'x', output: 'pool', kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceilMode: true, countIncludePad: false },
      conv('c', 'pool', 4, 6, 1), bn('bn', 'c', 6),
    ], { out: 'bn', pool: 'pool' }),
    inputShape: [3, 4, 7, 7],
  },
  {
    name: 'avgpool3x3 s1 p1 without count_include_pad on 5x6',
    graph: graph('avg-exclude-pad', 3, [
      { op: 'avgpool', name: 'ap', input: 'x', output: 'ap', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], ceilMode: false, countIncludePad: false },
    ]),
    inputShape: [1, 3, 5, 6],
  },
  {
    name: 'standalone bn + relu (affine), add + relu of two branches, standalone relu',
    graph: graph('affine-add', 5, [
      bn('bn', 'x', 5), relu('r', 'bn'),
      { op: 'maxpool', name: 'mp', input: 'x', output: 'mp', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], ceilMode: false },
      add('add', 'r', 'mp'), relu('r2', 'add'),
      add('add2', 'r2', 'x'), relu('r3', 'add2'),
    ], { out: 'r3', sum: 'add2' }),
    inputShape: [2, 5, 6, 4],
  },
  {
    name: "globalavgpool + linear ('oi' with bias) and linear ('io', Paddle's layout, no bias), batch 3",
    graph: graph('head', 37, [
      { op: 'globalavgpool', name: 'gap', input: 'x', output: 'gap' },
      { op: 'linear', name: 'fc', input: 'gap', output: 'fc', inFeatures: 37, outFeatures: 70, weightLayout: 'oi', params: { weight: 'fc.weight', bias: 'fc.bias' } },
      { op: 'linear', name: 'out', input: 'fc', output: 'out', inFeatures: 70, outFeatures: 11, weightLayout: 'io', params: { weight: 'out.weight' } },
    ], { logits: 'out', features: 'gap' }),
    inputShape: [3, 37, 3, 5],
  },
  {
    // With the 'tiled' kernel: 1 tile, K = 900 in 7 slices of 144 (the last 36), then the sum of
    // the slices with bias, residual and ReLU.
    name: 'split K: deep-K conv3x3 100->24 on 5x4 + bn + a 1x1 conv residual + relu',
    graph: graph('split-k', 100, [
      conv('c0', 'x', 100, 24, 1), conv('c', 'x', 100, 24, 3, { pads: [1, 1, 1, 1] }), bn('bn', 'c', 24), add('add', 'bn', 'c0'), relu('out', 'add'),
    ]),
    inputShape: [1, 100, 5, 4],
  },
  {
    // With the 'tiled' kernel: 4 groups of 1 tile each, K = 576 in 4 slices (grid z = group x slice).
    name: 'split K, grouped: conv3x3 groups 4, 256->32 on 3x3, batch 2, bias',
    graph: graph('split-k-grouped', 256, [conv('c', 'x', 256, 32, 3, { pads: [1, 1, 1, 1], groups: 4, bias: true })]),
    inputShape: [2, 256, 3, 3],
  },
  {
    // With the 'tiled' kernel: K = 2048 in 16 slices, as ResNet-50's fc at batch 1.
    name: 'split K: linear 2048->10 at batch 2 after globalavgpool',
    graph: graph('split-k-linear', 2048, [
      { op: 'globalavgpool', name: 'gap', input: 'x', output: 'gap' },
      { op: 'linear', name: 'fc', input: 'gap', output: 'fc', inFeatures: 2048, outFeatures: 10, weightLayout: 'oi', params: { weight: 'fc.weight', bias: 'fc.bias' } },
    ]),
    inputShape: [2, 2048, 2, 2],
  },
  {
    name: 'CIFAR option A shortcut: stride 2, 4 zero channels each side, into a conv residual',
    graph: graph('shortcut-a', 4, [
      conv('c1', 'x', 4, 12, 3, { stride: 2, pads: [1, 1, 1, 1] }), bn('b1', 'c1', 12),
      { op: 'shortcutA', name: 'short', input: 'x', output: 'short', stride: 2, padChannels: 4 },
      add('add', 'b1', 'short'), relu('out', 'add'),
    ], { out: 'out', short: 'short' }),
    inputShape: [2, 4, 9, 9],
  },
];

describe('webgpu vs reference on hand-built graphs', () => {
  handCases.forEach((c, i) => {
    it(c.name, async () => {
      const gpu = await webgpu(c.name);
      if (!gpu) return;
      const weights = randomWeights(c.graph, 100 + i);
      const input = randomTensor(c.inputShape, mulberry32(i));
      await compareWithReference(gpu, c.graph, weights, input, 1e-5);
    });
  });

  // The workgroup-tiled GEMM is the conv branch for GPUs; a CPU adapter takes the register-tiled
  // one by default, so the tiled branch is forced here to keep it tested on SwiftShader too.
  const convCases = handCases.filter((c) => c.graph.nodes.some((n) => n.op === 'conv' || n.op === 'linear'));
  let tiled: Promise<WebGPUBackend> | undefined;
  convCases.forEach((c) => {
    it(`${c.name} [conv kernel 'tiled']`, async () => {
      if (!(await webgpu(c.name))) return;
      tiled ??= createWebGPUBackend({ convKernel: 'tiled' });
      const gpu = await tiled;
      expect(gpu.convKernel).toBe('tiled');
      await compareWithReference(gpu, c.graph, randomWeights(c.graph, 100 + handCases.indexOf(c)), randomTensor(c.inputShape, mulberry32(handCases.indexOf(c))), 1e-5);
    });
  });

  it("counts the split-K scratch in the planned memory (conv kernel 'tiled')", async () => {
    const gpu = await webgpu('split-K scratch');
    if (!gpu) return;
    tiled ??= createWebGPUBackend({ convKernel: 'tiled' });
    const c = handCases.find((h) => h.graph.name === 'split-k')!;
    const weights = randomWeights(c.graph, 3);
    const withSplit = await (await tiled).compile(c.graph, weights);
    const registers = await (gpu.convKernel === 'registers' ? gpu : createWebGPUBackend({ convKernel: 'registers' }));
    const without = await registers.compile(c.graph, weights);
    try {
      // 7 slices of K, each a whole [1, 24, 5, 4] of partial sums; the register-tiled kernel needs none.
      expect(withSplit.memoryBytes!(c.inputShape).activations - without.memoryBytes!(c.inputShape).activations).toBe(4 * 7 * 24 * 5 * 4);
    } finally {
      withSplit.dispose();
      without.dispose();
      if (registers !== gpu) (registers.device as { destroy(): void }).destroy();
    }
  });

  it('runs a second input shape on the same executable, and repeated runs agree exactly', async () => {
    const gpu = await webgpu('shape changes');
    if (!gpu) return;
    const c = handCases[1];
    const weights = randomWeights(c.graph, 7);
    const ref = await referenceBackend.compile(c.graph, weights);
    const exe = await gpu.compile(c.graph, weights);
    try {
      for (const shape of [[1, 8, 5, 7], [4, 8, 3, 3], [1, 8, 5, 7]]) {
        const input = randomTensor(shape, mulberry32(shape[0]));
        const want = (await ref.run(input)).out;
        const got = (await exe.run(input)).out;
        const again = (await exe.run(input)).out;
        expect(got.shape).toEqual(want.shape);
        const e = maxErrors(got.data, want.data);
        expect(e.maxAbs).toBeLessThanOrEqual(1e-5 * e.maxRef);
        expect(again.data).toEqual(got.data);
      }
      const mem = exe.memoryBytes!([2, 8, 6, 6]);
      expect(mem.weights).toBe(4 * (2 * (8 * 8 * 9) + 2 * 8)); // two folded convs: weights + bias
      expect(mem.activations).toBeGreaterThanOrEqual(3 * 4 * 2 * 8 * 6 * 6);
    } finally {
      exe.dispose();
    }
  });

  it('rejects a wrong input with the expected and found shapes, and any run after dispose', async () => {
    const gpu = await webgpu('input errors');
    if (!gpu) return;
    const c = handCases[0];
    const exe = await gpu.compile(c.graph, randomWeights(c.graph, 1));
    await expect(exe.run(Tensor.zeros([1, 4, 9, 7]))).rejects.toThrow(/expects 3 input channels.*\[1, 4, 9, 7\]/);
    await expect(exe.run(Tensor.zeros([1, 9, 7, 3]))).rejects.toThrow(/NHWC/);
    exe.dispose();
    await expect(exe.run(Tensor.zeros([1, 3, 9, 7]))).rejects.toThrow(/disposed/);
  });

  it('names the missing weight at compile time', async () => {
    const gpu = await webgpu('missing weights');
    if (!gpu) return;
    const c = handCases[0];
    const weights = randomWeights(c.graph, 1);
    weights.delete('bn.running_var');
    await expect(gpu.compile(c.graph, weights)).rejects.toThrow(/bn\.running_var/);
  });
});

// ---------------------------------------------------------------------------------------------
// ONNX conformance cases (shared/conformance) through the WebGPU backend
// ---------------------------------------------------------------------------------------------

describe('webgpu on the ONNX conformance cases', () => {
  const dir = conformanceDirForTests('webgpu');
  if (!dir) return;
  const cases = conformanceCases(dir).filter((c) => c.toGraph);
  it('has graph-expressible cases to run', () => {
    expect(cases.length).toBeGreaterThan(40);
  });
  for (const c of cases) {
    it(`${c.id} [${c.ops.join(' -> ')}, opset ${c.opset}]`, async () => {
      const gpu = await webgpu(c.id);
      if (!gpu) return;
      const r = await runCaseOn(gpu, c);
      expect(r.failures, r.message).toBe(0);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Whole models with seeded weights: max |webgpu - reference| <= 1e-3 * max |reference|
// ---------------------------------------------------------------------------------------------

describe('webgpu vs reference on whole models', () => {
  const measured: string[] = [];
  const models: { name: string; size: number }[] = [
    { name: 'resnet20', size: 32 },
    { name: 'resnet18', size: 64 },
    { name: 'resnet50d', size: 64 },
    { name: 'resnext50_32x4d', size: 64 },
  ];
  for (const m of models) {
    it(`${m.name} at ${m.size}x${m.size}, batch 1 and 4`, { timeout: 300_000 }, async () => {
      const gpu = await webgpu(m.name);
      if (!gpu) return;
      const model = await createModel(m.name, { seed: 1, backend: 'reference' });
      const out = model.graph.primaryOutput;
      // One reference run at batch 4; the batch-1 input is its first image, whose reference output
      // is row 0 (inference treats the images of a batch independently).
      const input4 = randomTensor([4, 3, m.size, m.size], mulberry32(4));
      const input1 = new Tensor(input4.data.slice(0, input4.size / 4), [1, 3, m.size, m.size]);
      let t = performance.now();
      const want4 = (await (await referenceBackend.compile(model.graph, model.weights)).run(input4))[out];
      const refMs = performance.now() - t;
      const want1 = new Tensor(want4.data.slice(0, want4.size / 4), [1, ...want4.shape.slice(1)]);
      const exe = await gpu.compile(model.graph, model.weights);
      try {
        for (const [input, want] of [[input1, want1], [input4, want4]]) {
          t = performance.now();
          const got = (await exe.run(input))[out];
          const gpuMs = performance.now() - t;
          expect(got.shape).toEqual(want.shape);
          const e = maxErrors(got.data, want.data);
          measured.push(
            `${m.name} ${m.size}x${m.size} batch ${input.shape[0]}: max|diff| ${e.maxAbs.toExponential(2)} = ${(e.maxAbs / e.maxRef).toExponential(2)} of max|ref| ${e.maxRef.toFixed(3)}; ` +
              `webgpu ${gpuMs.toFixed(0)} ms (first run: plan + pipelines)` + (input === input4 ? `, reference ${refMs.toFixed(0)} ms` : ''),
          );
          expect(e.maxRef).toBeGreaterThan(0);
          expect(e.maxAbs, `${m.name} batch ${input.shape[0]}`).toBeLessThanOrEqual(1e-3 * e.maxRef);
        }
      } finally {
        exe.dispose();
      }
    });
  }
  afterAll(() => {
    if (measured.length) console.log(`webgpu vs reference:\n  ${measured.join('\n  ')}`);
  });
});
