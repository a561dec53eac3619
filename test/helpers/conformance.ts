/**
 * The ONNX conformance vectors (`shared/conformance`, Apache-2.0, see its README/NOTICE) as test
 * cases that any backend can run.
 *
 *   const cases = conformanceCases();                  // all 94, in index.json order
 *   for (const c of cases.filter((c) => c.toGraph))    // the ones our IR can express
 *     const r = await runCaseOn(wasmBackend, c);       // compile(graph, weights).run(input)
 *     expect(r.failures, r.message).toBe(0);
 *
 * `toGraph()` turns a case into `{ graph, weights, input }` of our IR (src/graph.ts): Conv,
 * BatchNormalization, Relu, MaxPool, AveragePool, GlobalAveragePool, Add of equal shapes, and
 * Gemm / 2-D MatMul where they are a `linear` layer. Everything else (Softmax, Flatten, broadcast
 * Add, GlobalMaxPool, Gemm with alpha/beta/transA or a matrix bias, Transpose, Constant and the
 * multi-node cases) runs through `runCaseOnReferenceOps`: the reference ops plus small glue here.
 *
 * The comparison is ONNX's runner rule with each case's stored tolerance:
 * |got - expected| <= atol + rtol * |expected|, element by element; NaN never passes.
 *
 * The data directory is found at $RESNET_CONFORMANCE_DIR, <repo>/shared/conformance or
 * <repo>/../shared/conformance (`findConformanceDir`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ndarray from 'ndarray';
import { it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  flatten,
  globalAvgPool,
  linear,
  maxPool2d,
  relu,
  softmax,
  transpose2d,
} from '../../src/backends/reference/index.js';
import type { Graph, GraphNode } from '../../src/graph.js';
import { autoPadding, type AutoPad, type Pads4, type Pair } from '../../src/shape.js';
import { sameShape, shapeToString, sizeOf, Tensor } from '../../src/tensor.js';

// ---------------------------------------------------------------------------------------------
// The case format (shared/conformance/README.md)
// ---------------------------------------------------------------------------------------------

export type Suite = 'onnx-node' | 'onnx-pytorch-converted' | 'onnx-pytorch-operator';

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/** An inline tensor of a `Constant` node. */
export interface ConstantValue {
  readonly tensor: { readonly dims: number[]; readonly dtype: string; readonly values: number[] };
}

export type AttrValue = number | string | number[] | ConstantValue;

/** One ONNX node as case.json stores it; `attributes_resolved` has the spec defaults filled in. */
export interface OnnxNode {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, AttrValue>>;
  readonly attributes_resolved: Readonly<Record<string, AttrValue>>;
}

interface CaseJsonTensor {
  name: string;
  shape: number[];
  dtype: string;
  file: string;
  role?: 'input' | 'initializer';
}

interface CaseJson {
  case: string;
  opset: number;
  tolerance: Tolerance;
  op: string | null;
  ops?: string[];
  nodes: OnnxNode[];
  inputs: CaseJsonTensor[];
  outputs: CaseJsonTensor[];
}

/**
 * What `toGraph` gives: enough to run the case on any backend. The tensors are shared with the
 * loaded case (and between runs): backends must not write into `input` or `weights`.
 */
export interface GraphCase {
  readonly graph: Graph;
  /** State-dict-style keys (`conv.weight`, `bn.running_var`, ...) as the graph's params name them. */
  readonly weights: Map<string, Tensor>;
  /** The graph input, NCHW. */
  readonly input: Tensor;
  /**
   * The ONNX shape of the expected output. The graph's primary output has the same elements in
   * the same order; it differs only in rank (GlobalAveragePool gives [N, C], ONNX [N, C, 1, 1];
   * Relu/Add on rank < 4 run as 4-D). `runCaseOn` reshapes to this.
   */
  readonly outputShape: readonly number[];
  /** How the case was mapped onto the IR, when that is not one node for one node. */
  readonly note?: string;
}

/** What `runCaseOn` needs: the ONNX cases and the hand-checked cases (hand-cases.ts) both have it. */
export interface GraphTestCase {
  readonly id: string;
  readonly tolerance: Tolerance;
  readonly expected: Tensor;
  readonly toGraph?: () => GraphCase;
}

export interface ConformanceCase extends GraphTestCase {
  readonly suite: Suite;
  /** The ONNX test name, e.g. `test_conv_with_strides_padding`. */
  readonly name: string;
  /** `suite/name`, unique across suites. */
  readonly id: string;
  /** The single op, or null for a multi-node graph (then see `ops`). */
  readonly op: string | null;
  readonly ops: readonly string[];
  /** Default-domain opset: semantics depend on it (Softmax < 13 coerces to 2-D, Gemm 6 `broadcast`). */
  readonly opset: number;
  readonly tolerance: Tolerance;
  readonly nodes: readonly OnnxNode[];
  /** Graph inputs, then initializers, by ONNX tensor name, in case.json order. */
  readonly inputs: ReadonlyMap<string, Tensor>;
  /** Every case in the set has exactly one output. */
  readonly outputName: string;
  readonly expected: Tensor;
  /** Present when the case can run as a graph of our IR (see the module comment). */
  readonly toGraph?: () => GraphCase;
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The conformance data directory, or undefined when it is not on this machine. */
export function findConformanceDir(): string | undefined {
  const candidates = [
    process.env.RESNET_CONFORMANCE_DIR,
    join(repoRoot, 'shared', 'conformance'),
    join(repoRoot, '..', 'shared', 'conformance'),
  ];
  return candidates.find((d): d is string => d !== undefined && existsSync(join(d, 'index.json')));
}

/**
 * The conformance folder for a test file. When it is missing, registers one test that fails under
 * CI and, on a developer's machine, warns that the cases on `where` were skipped.
 */
export function conformanceDirForTests(where: string): string | undefined {
  const dir = findConformanceDir();
  if (!dir) {
    it('conformance data is present', () => {
      const reason = 'shared/conformance not found (set RESNET_CONFORMANCE_DIR)';
      if (process.env.CI) throw new Error(reason);
      console.warn(`skipping the ONNX conformance cases on ${where}: ${reason}`);
    });
  }
  return dir;
}

/** Reads a raw little-endian float32 file and checks its size against the shape. */
function readTensor(dir: string, t: CaseJsonTensor): Tensor {
  if (t.dtype !== 'float32') throw new Error(`${dir}/${t.file}: dtype ${t.dtype}, only float32 is supported`);
  const buf = readFileSync(join(dir, t.file));
  const expected = sizeOf(t.shape) * 4;
  if (buf.byteLength !== expected) {
    throw new Error(`${dir}/${t.file}: ${buf.byteLength} bytes, shape ${shapeToString(t.shape)} needs ${expected}`);
  }
  // Copy: a Node Buffer may sit at an offset that is not a multiple of 4 in a shared pool.
  // Float32Array reads the platform's byte order; every JS engine we target is little-endian.
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return new Tensor(data, t.shape);
}

let cached: { dir: string; cases: ConformanceCase[] } | undefined;

/**
 * Every case of `index.json`, loaded (11 MB in all) and size-checked, in index order.
 * Throws when the data directory is missing; check `findConformanceDir()` first.
 */
export function conformanceCases(dir = findConformanceDir()): ConformanceCase[] {
  if (!dir) throw new Error('conformance data not found: set RESNET_CONFORMANCE_DIR or provide shared/conformance');
  if (cached?.dir === dir) return cached.cases;
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    suites: Record<Suite, { case: string; op: string | null; opset: number }[]>;
  };
  const cases: ConformanceCase[] = [];
  for (const [suite, entries] of Object.entries(index.suites) as [Suite, { case: string }[]][]) {
    for (const entry of entries) cases.push(loadCase(join(dir, suite, entry.case), suite));
  }
  cached = { dir, cases };
  return cases;
}

function loadCase(dir: string, suite: Suite): ConformanceCase {
  const json = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as CaseJson;
  const inputs = new Map(json.inputs.map((t) => [t.name, readTensor(dir, t)] as const));
  if (json.outputs.length !== 1) throw new Error(`${dir}: ${json.outputs.length} outputs, the loader handles 1`);
  const c: ConformanceCase = {
    suite,
    name: json.case,
    id: `${suite}/${json.case}`,
    op: json.op,
    ops: json.ops ?? json.nodes.map((n) => n.op),
    opset: json.opset,
    tolerance: json.tolerance,
    nodes: json.nodes,
    inputs,
    outputName: json.outputs[0].name,
    expected: readTensor(dir, json.outputs[0]),
  };
  const toGraph = graphMapping(c);
  return toGraph ? { ...c, toGraph } : c;
}

// ---------------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------------

export interface Comparison {
  /** Elements outside atol + rtol * |expected| (NaN counts as outside). */
  readonly failures: number;
  readonly maxAbsError: number;
  /** The element with the largest |got - expected| / (atol + rtol * |expected|). */
  readonly worst: { readonly index: number; readonly got: number; readonly expected: number; readonly ratio: number };
  /** One line for an assertion message or a summary table. */
  readonly message: string;
}

/** ONNX's rule, element by element: |got - expected| <= atol + rtol * |expected|. */
export function compareTensors(got: Tensor, expected: Tensor, tol: Tolerance, label = ''): Comparison {
  if (!sameShape(got.shape, expected.shape)) {
    const message = `${label}: shape ${shapeToString(got.shape)}, expected ${shapeToString(expected.shape)}`;
    return { failures: expected.size, maxAbsError: Infinity, worst: { index: -1, got: NaN, expected: NaN, ratio: Infinity }, message };
  }
  let failures = 0;
  let maxAbsError = 0;
  let worst = { index: -1, got: NaN, expected: NaN, ratio: 0 };
  for (let i = 0; i < expected.size; i++) {
    const g = got.data[i];
    const e = expected.data[i];
    const diff = Math.abs(g - e);
    const bound = tol.atol + tol.rtol * Math.abs(e);
    if (!(diff <= bound)) failures++;
    const ratio = Number.isNaN(diff) ? Infinity : diff / bound;
    if (Number.isNaN(diff) || diff > maxAbsError) maxAbsError = Number.isNaN(diff) ? Infinity : diff;
    if (worst.index < 0 || ratio > worst.ratio) worst = { index: i, got: g, expected: e, ratio };
  }
  const where = `worst at [${worst.index}] got ${worst.got} expected ${worst.expected} (${worst.ratio.toFixed(3)} of the bound)`;
  const message =
    `${label}: ${failures}/${expected.size} outside atol=${tol.atol} rtol=${tol.rtol}; ` +
    `max |diff| ${maxAbsError.toExponential(2)}${worst.index >= 0 ? `; ${where}` : ''}`;
  return { failures, maxAbsError, worst, message };
}

export interface CaseResult extends Comparison {
  readonly got: Tensor;
}

/**
 * Runs an IR-expressible case on `backend` (compile, run, dispose) and compares the primary output
 * with the expected tensor under the case's tolerance.
 */
export async function runCaseOn(backend: Backend, c: GraphTestCase): Promise<CaseResult> {
  if (!c.toGraph) throw new Error(`${c.id} is not expressible in the graph IR; filter on c.toGraph`);
  const { graph, weights, input, outputShape } = c.toGraph();
  const exe = await backend.compile(graph, weights);
  let out: Tensor;
  try {
    const outputs = await exe.run(input);
    out = outputs[graph.primaryOutput];
  } finally {
    exe.dispose();
  }
  if (!out) throw new Error(`${c.id}: ${backend.name} returned no '${graph.primaryOutput}' output`);
  if (out.size !== sizeOf(outputShape)) {
    throw new Error(`${c.id}: ${backend.name} output ${shapeToString(out.shape)} cannot be ONNX's ${shapeToString(outputShape)}`);
  }
  const got = new Tensor(out.data, outputShape); // same elements, ONNX's rank (see GraphCase.outputShape)
  return { got, ...compareTensors(got, c.expected, c.tolerance, `${c.id} on ${backend.name}`) };
}

/** Runs any case (all 94) with the reference ops and the ONNX glue below, node by node. */
export function runCaseOnReferenceOps(c: ConformanceCase): CaseResult {
  const values = new Map(c.inputs);
  for (const node of c.nodes) {
    const args = node.inputs.map((name) => {
      const t = values.get(name);
      if (!t) throw new Error(`${c.id}: ${node.op} reads '${name}', which is neither an input nor computed before`);
      return t;
    });
    values.set(node.outputs[0], onnxOp(c, node, args));
  }
  const got = values.get(c.outputName);
  if (!got) throw new Error(`${c.id}: no node computes the output '${c.outputName}'`);
  return { got, ...compareTensors(got, c.expected, c.tolerance, `${c.id} on reference ops`) };
}

// ---------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------

function attr(node: OnnxNode, key: string): AttrValue | undefined {
  return node.attributes_resolved[key];
}

/** A number attribute (ONNX ints and floats alike). */
function numAttr(node: OnnxNode, key: string, fallback: number): number {
  const v = attr(node, key) ?? fallback;
  if (typeof v !== 'number') throw new Error(`${node.op}: attribute ${key} should be a number, got ${JSON.stringify(v)}`);
  return v;
}

function intsAttr(node: OnnxNode, key: string, fallback: number[]): number[] {
  const v = attr(node, key) ?? fallback;
  if (!Array.isArray(v)) throw new Error(`${node.op}: attribute ${key} should be a list, got ${JSON.stringify(v)}`);
  return v;
}

function pair(node: OnnxNode, key: string, fallback: number): Pair {
  const v = intsAttr(node, key, [fallback, fallback]);
  if (v.length !== 2) throw new Error(`${node.op}: ${key} ${JSON.stringify(v)} is not 2-D`);
  return [v[0], v[1]];
}

/** Stride, padding and dilation of a 2-D Conv/Pool node for an NCHW input; `auto_pad` resolved. */
function onnxWindow(node: OnnxNode, inShape: readonly number[], kernel: Pair): { stride: Pair; pads: Pads4; dilation: Pair } {
  if (inShape.length !== 4) throw new Error(`${node.op}: only 2-D (NCHW) inputs are handled, got ${shapeToString(inShape)}`);
  const stride = pair(node, 'strides', 1);
  const dilation = pair(node, 'dilations', 1);
  const autoPad = (attr(node, 'auto_pad') ?? 'NOTSET') as AutoPad;
  let pads: Pads4;
  if (autoPad === 'NOTSET') {
    // ONNX pads are [h_begin, w_begin, h_end, w_end]: the same order as our [top, left, bottom, right].
    const p = intsAttr(node, 'pads', [0, 0, 0, 0]);
    pads = [p[0], p[1], p[2], p[3]];
  } else {
    const [top, bottom] = autoPadding(inShape[2], kernel[0], stride[0], dilation[0], autoPad);
    const [left, right] = autoPadding(inShape[3], kernel[1], stride[1], dilation[1], autoPad);
    pads = [top, left, bottom, right];
  }
  return { stride, pads, dilation };
}

function poolKernel(node: OnnxNode): Pair {
  return pair(node, 'kernel_shape', 0);
}

function avgCountIncludePad(node: OnnxNode, opset: number): boolean {
  // count_include_pad arrived in opset 7; before it AveragePool always excluded the padding.
  return opset >= 7 && numAttr(node, 'count_include_pad', 0) === 1;
}

// ---------------------------------------------------------------------------------------------
// Mapping a case onto the graph IR
// ---------------------------------------------------------------------------------------------

/** [d...] of rank <= 4 as NCHW by prepending 1s: [3, 4, 5] -> [1, 3, 4, 5] (same C-order data). */
function as4d(shape: readonly number[]): [number, number, number, number] | undefined {
  if (shape.length > 4) return undefined;
  const s = [...Array(4 - shape.length).fill(1), ...shape];
  return [s[0], s[1], s[2], s[3]];
}

function graphOf(c: ConformanceCase, inChannels: number, nodes: GraphNode[]): Graph {
  return { name: `conformance:${c.id}`, input: 'x', inChannels, nodes, outputs: { y: nodes[nodes.length - 1].output }, primaryOutput: 'y' };
}

/** The bias of a Gemm as a per-output-column vector [N], when C is constant down the rows. */
function gemmBiasVector(c: ConformanceCase, node: OnnxNode, C: Tensor, M: number, N: number): Tensor | undefined {
  // Opset 6 broadcasts C only with broadcast=1; from opset 7 C always broadcasts (numpy rules).
  const broadcasts = c.opset >= 7 || numAttr(node, 'broadcast', 0) === 1;
  // Drop leading 1s: [], [1], [N], [1, 1] and [1, N] all leave at most one axis, of size N.
  const firstNonOne = C.shape.findIndex((d) => d !== 1);
  const s = firstNonOne < 0 ? [] : C.shape.slice(firstNonOne);
  const vectorLike = s.length === 0 || (s.length === 1 && (s[0] === 1 || s[0] === N));
  // Without broadcasting, C must already be [M, N], a row vector only when M = 1.
  const perColumn = broadcasts ? vectorLike && C.shape.length <= 2 : M === 1 && sameShape(C.shape, [1, N]);
  if (!perColumn) return undefined;
  const v = new Float32Array(N);
  for (let j = 0; j < N; j++) v[j] = C.data[C.size === 1 ? 0 : j];
  return new Tensor(v, [N]);
}

/**
 * The graph form of a case, or undefined when our IR cannot express it. Every graph reads one
 * NCHW input `x`; weights get state-dict-style keys so backends exercise their by-key lookup.
 */
function graphMapping(c: ConformanceCase): (() => GraphCase) | undefined {
  if (c.op === null) return undefined; // multi-node cases run on the reference ops
  const node = c.nodes[0];
  const arg = (i: number): Tensor | undefined => (node.inputs[i] ? c.inputs.get(node.inputs[i]) : undefined);
  const x = arg(0)!;
  const outputShape = c.expected.shape;
  const windowed = c.op === 'Conv' || c.op === 'MaxPool' || c.op === 'AveragePool';
  if (windowed && x.shape.length !== 4) return undefined; // 1-D / 3-D windows: not in the IR (nor in this set)
  switch (c.op) {
    case 'Conv': {
      const w = arg(1)!;
      const b = arg(2);
      const kernel: Pair = [w.shape[2], w.shape[3]];
      const window = onnxWindow(node, x.shape, kernel);
      const groups = numAttr(node, 'group', 1);
      return () => ({
        graph: graphOf(c, x.shape[1], [
          {
            op: 'conv', name: 'conv', input: 'x', output: 'y', inChannels: x.shape[1], outChannels: w.shape[0],
            kernel, ...window, groups, params: b ? { weight: 'conv.weight', bias: 'conv.bias' } : { weight: 'conv.weight' },
          },
        ]),
        weights: new Map(b ? [['conv.weight', w], ['conv.bias', b]] : [['conv.weight', w]]),
        input: x,
        outputShape,
      });
    }
    case 'BatchNormalization': {
      if (x.shape.length !== 4 || numAttr(node, 'training_mode', 0) !== 0) return undefined;
      const [scale, bias, mean, variance] = [arg(1)!, arg(2)!, arg(3)!, arg(4)!];
      const eps = numAttr(node, 'epsilon', 1e-5); // opset 6 `is_test` and `momentum` do not matter at inference
      return () => ({
        graph: graphOf(c, x.shape[1], [
          {
            op: 'batchnorm', name: 'bn', input: 'x', output: 'y', channels: x.shape[1], eps,
            params: { weight: 'bn.weight', bias: 'bn.bias', mean: 'bn.running_mean', var: 'bn.running_var' },
          },
        ]),
        weights: new Map([['bn.weight', scale], ['bn.bias', bias], ['bn.running_mean', mean], ['bn.running_var', variance]]),
        input: x,
        outputShape,
      });
    }
    case 'Relu': {
      const s = as4d(x.shape);
      if (!s) return undefined;
      return () => ({
        graph: graphOf(c, s[1], [{ op: 'relu', name: 'relu', input: 'x', output: 'y' }]),
        weights: new Map(),
        input: x.reshape(s),
        outputShape,
        note: x.shape.length < 4 ? `rank-${x.shape.length} input run as ${shapeToString(s)}` : undefined,
      });
    }
    case 'MaxPool':
    case 'AveragePool': {
      const kernel = poolKernel(node);
      const window = onnxWindow(node, x.shape, kernel);
      const ceilMode = numAttr(node, 'ceil_mode', 0) === 1;
      const common = { name: 'pool', input: 'x', output: 'y', kernel, ...window, ceilMode } as const;
      const pool: GraphNode =
        c.op === 'MaxPool'
          ? { op: 'maxpool', ...common }
          : { op: 'avgpool', ...common, countIncludePad: avgCountIncludePad(node, c.opset) };
      return () => ({ graph: graphOf(c, x.shape[1], [pool]), weights: new Map(), input: x, outputShape });
    }
    case 'GlobalAveragePool':
      if (x.shape.length !== 4) return undefined;
      return () => ({
        graph: graphOf(c, x.shape[1], [{ op: 'globalavgpool', name: 'pool', input: 'x', output: 'y' }]),
        weights: new Map(),
        input: x,
        outputShape,
        note: 'IR gives [N, C], ONNX keeps [N, C, 1, 1]',
      });
    case 'Add':
      return addMapping(c, x, arg(1)!);
    case 'Gemm':
    case 'MatMul':
      return linearMapping(c, node, x, arg(1)!, arg(2));
    default:
      return undefined;
  }
}

/**
 * Add of two equal-shape inputs. Our graphs have one input, so both addends travel stacked on the
 * channel axis, x4 = [N, 2C, H, W] = [a; b], and two 1x1 convs whose weights are 0/1 selection
 * matrices pick them apart before the add (a * 1 + zeros is exact in any summation order).
 */
function addMapping(c: ConformanceCase, a: Tensor, b: Tensor): (() => GraphCase) | undefined {
  const s = as4d(a.shape);
  if (!s || !sameShape(a.shape, b.shape)) return undefined; // broadcast Add runs on the reference ops
  return () => {
    const [n, ch, h, w] = s;
    const plane = ch * h * w;
    // Stacking: batch item i of x4 is a's item i (C planes) followed by b's item i (C planes).
    const stacked = new Float32Array(2 * a.size);
    for (let i = 0; i < n; i++) {
      stacked.set(a.data.subarray(i * plane, (i + 1) * plane), 2 * i * plane);
      stacked.set(b.data.subarray(i * plane, (i + 1) * plane), (2 * i + 1) * plane);
    }
    // OIHW [C, 2C, 1, 1]: output channel o reads input channel o (first) or C + o (second).
    const select = (offset: number): Tensor => {
      const wt = new Float32Array(ch * 2 * ch);
      for (let o = 0; o < ch; o++) wt[o * 2 * ch + offset + o] = 1;
      return new Tensor(wt, [ch, 2 * ch, 1, 1]);
    };
    const pick = (name: string, output: string): GraphNode => ({
      op: 'conv', name, input: 'x', output, inChannels: 2 * ch, outChannels: ch, kernel: [1, 1], stride: [1, 1],
      pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, params: { weight: `${name}.weight` },
    });
    return {
      graph: graphOf(c, 2 * ch, [pick('first', 'a'), pick('second', 'b'), { op: 'add', name: 'add', inputs: ['a', 'b'], output: 'y' }]),
      weights: new Map([['first.weight', select(0)], ['second.weight', select(ch)]]),
      input: new Tensor(stacked, [n, 2 * ch, h, w]),
      outputShape: c.expected.shape,
      note: `addends stacked as ${shapeToString([n, 2 * ch, h, w])}, picked apart by 0/1 1x1 convs`,
    };
  };
}

/**
 * Gemm (alpha = beta = 1, no transA, bias constant down the rows) and 2-D MatMul as a `linear`
 * layer. The [M, K] input travels as NCHW [M, K, 1, 1] and a global average pool over the 1x1
 * plane (exact) flattens it to [M, K], as in a ResNet head. B is [K, N] ('io' layout) or, with
 * transB, [N, K] ('oi', torch's).
 */
function linearMapping(c: ConformanceCase, node: OnnxNode, A: Tensor, B: Tensor, C: Tensor | undefined): (() => GraphCase) | undefined {
  if (A.shape.length !== 2 || B.shape.length !== 2) return undefined;
  const isGemm = node.op === 'Gemm';
  if (isGemm && (numAttr(node, 'alpha', 1) !== 1 || numAttr(node, 'transA', 0) !== 0)) return undefined;
  const transB = isGemm && numAttr(node, 'transB', 0) === 1;
  const [M, K] = A.shape;
  const N = transB ? B.shape[0] : B.shape[1];
  let bias: Tensor | undefined;
  if (C && numAttr(node, 'beta', 1) !== 0) {
    if (numAttr(node, 'beta', 1) !== 1) return undefined;
    bias = gemmBiasVector(c, node, C, M, N);
    if (!bias) return undefined;
  }
  return () => ({
    graph: graphOf(c, K, [
      { op: 'globalavgpool', name: 'flatten', input: 'x', output: 'features' },
      {
        op: 'linear', name: 'fc', input: 'features', output: 'y', inFeatures: K, outFeatures: N, weightLayout: transB ? 'oi' : 'io',
        params: bias ? { weight: 'fc.weight', bias: 'fc.bias' } : { weight: 'fc.weight' },
      },
    ]),
    weights: new Map(bias ? [['fc.weight', B], ['fc.bias', bias]] : [['fc.weight', B]]),
    input: A.reshape([M, K, 1, 1]),
    outputShape: c.expected.shape,
    note: `[M, K] input as [M, K, 1, 1] + global average pool; weight layout ${transB ? 'oi' : 'io'}`,
  });
}

// ---------------------------------------------------------------------------------------------
// ONNX ops on the reference ops (glue for what the IR cannot express)
// ---------------------------------------------------------------------------------------------

/** Copies an ndarray view (any strides, including 0 for broadcast axes) into a C-order Tensor. */
function materialize(view: ndarray.NdArray<Float32Array>): Tensor {
  const out = new Float32Array(view.size);
  const index = new Array<number>(view.dimension).fill(0);
  for (let i = 0; i < out.length; i++) {
    out[i] = view.get(...index);
    for (let d = view.dimension - 1; d >= 0; d--) {
      if (++index[d] < view.shape[d]) break;
      index[d] = 0;
    }
  }
  return new Tensor(out, view.shape);
}

/** C-order ndarray view of a tensor. */
function nd(t: Tensor): ndarray.NdArray<Float32Array> {
  return ndarray(t.data, [...t.shape]);
}

/** Numpy (unidirectional) broadcast of `t` to `shape`: axes right-aligned, size-1 axes repeat. */
function broadcastTo(t: Tensor, shape: readonly number[]): Tensor {
  const view = nd(t);
  const offset = shape.length - t.shape.length;
  if (offset < 0) throw new Error(`cannot broadcast ${shapeToString(t.shape)} to ${shapeToString(shape)}`);
  const strides = shape.map((d, i) => {
    const src = i - offset;
    if (src < 0) return 0; // a new leading axis
    if (t.shape[src] === d) return view.stride[src];
    if (t.shape[src] === 1) return 0; // a repeated size-1 axis
    throw new Error(`cannot broadcast ${shapeToString(t.shape)} to ${shapeToString(shape)}`);
  });
  return materialize(ndarray(t.data, [...shape], strides));
}

function onnxOp(c: ConformanceCase, node: OnnxNode, args: Tensor[]): Tensor {
  switch (node.op) {
    case 'Conv': {
      const [x, w, b] = args;
      const window = onnxWindow(node, x.shape, [w.shape[2], w.shape[3]]);
      return conv2d(x, w, b, { ...window, groups: numAttr(node, 'group', 1) });
    }
    case 'BatchNormalization':
      return batchNorm(args[0], args[1], args[2], args[3], args[4], numAttr(node, 'epsilon', 1e-5));
    case 'Relu':
      return relu(args[0]);
    case 'MaxPool': {
      const kernel = poolKernel(node);
      return maxPool2d(args[0], { kernel, ...onnxWindow(node, args[0].shape, kernel), ceilMode: numAttr(node, 'ceil_mode', 0) === 1 });
    }
    case 'AveragePool': {
      const kernel = poolKernel(node);
      return avgPool2d(args[0], {
        kernel,
        ...onnxWindow(node, args[0].shape, kernel),
        ceilMode: numAttr(node, 'ceil_mode', 0) === 1,
        countIncludePad: avgCountIncludePad(node, c.opset),
      });
    }
    case 'GlobalAveragePool': {
      const [n, ch] = args[0].shape;
      return globalAvgPool(args[0]).reshape([n, ch, 1, 1]); // [N, C] -> ONNX's [N, C, 1, 1]
    }
    case 'GlobalMaxPool': {
      // One window covering the whole plane: [N, C, H, W] -> [N, C, 1, 1].
      const [, , h, w] = args[0].shape;
      return maxPool2d(args[0], { kernel: [h, w], stride: [1, 1] });
    }
    case 'Add': {
      const [a, b] = args;
      return add(a, sameShape(a.shape, b.shape) ? b : broadcastTo(b, a.shape));
    }
    case 'Flatten':
      return flatten(args[0], numAttr(node, 'axis', 1));
    case 'Softmax': {
      const x = args[0];
      const axis = numAttr(node, 'axis', c.opset >= 13 ? -1 : 1);
      if (c.opset >= 13) return softmax(x, axis);
      // Opset < 13: coerce to 2-D [prod(d[:axis]), prod(d[axis:])], softmax each row, restore.
      return softmax(flatten(x, axis), 1).reshape(x.shape);
    }
    case 'Gemm':
      return gemm(c, node, args[0], args[1], args[2]);
    case 'MatMul': {
      const [a, b] = args;
      if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error(`${c.id}: only 2-D MatMul is handled`);
      return linear(a, transpose2d(b)); // a @ b = linear(a, W = b^T)
    }
    case 'Transpose': {
      const perm = intsAttr(node, 'perm', args[0].shape.map((_, i) => args[0].shape.length - 1 - i));
      return materialize(nd(args[0]).transpose(...perm));
    }
    case 'Constant': {
      const value = attr(node, 'value') as ConstantValue | undefined;
      if (!value?.tensor || value.tensor.dtype !== 'float32') throw new Error(`${c.id}: Constant needs a float32 tensor value`);
      return new Tensor(Float32Array.from(value.tensor.values), value.tensor.dims);
    }
    default:
      throw new Error(`${c.id}: no reference glue for ONNX op ${node.op}`);
  }
}

/** Y = alpha * A' B' + beta * C, A' = transA ? A^T : A, B' = transB ? B^T : B, C broadcast to [M, N]. */
function gemm(c: ConformanceCase, node: OnnxNode, A: Tensor, B: Tensor, C: Tensor | undefined): Tensor {
  const alpha = numAttr(node, 'alpha', 1);
  const beta = numAttr(node, 'beta', 1);
  const a = numAttr(node, 'transA', 0) === 1 ? transpose2d(A) : A;
  const w = numAttr(node, 'transB', 0) === 1 ? B : transpose2d(B); // linear takes [N, K]
  const ab = linear(a, w); // [M, N]
  if (C && c.opset < 7 && numAttr(node, 'broadcast', 0) !== 1 && !sameShape(C.shape, ab.shape)) {
    throw new Error(`${c.id}: Gemm-${c.opset} without broadcast=1 needs C ${shapeToString(ab.shape)}, got ${shapeToString(C.shape)}`);
  }
  const bias = C ? broadcastTo(C, ab.shape) : undefined;
  const y = new Float32Array(ab.size);
  for (let i = 0; i < y.length; i++) y[i] = alpha * ab.data[i] + (bias ? beta * bias.data[i] : 0);
  return new Tensor(y, ab.shape);
}
