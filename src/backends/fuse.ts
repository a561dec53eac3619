/**
 * Load-time rewriting for the fast backends (wasm, webgpu): BatchNorm folded into the conv before
 * it, and the residual add and ReLU after it fused into the conv's epilogue, so that one kernel does
 * `relu(conv(x) * 1 + bias + residual)`. The reference backend never uses this: it runs the graph
 * as written. see: XNNPACK's packed weights ("bias first") and onnxruntime's ConvAddRelu fusion.
 */
import type { ConvNode, Graph, GraphNode } from '../graph.js';
import { nodeInputs } from '../graph.js';
import { shapeToString } from '../tensor.js';
import { floatTensor, NarrowTensor, type WeightTensor } from '../weights/narrow.js';
import type { WeightMap } from './backend.js';

/**
 * A conv or linear weight as bound: float32, or a lean checkpoint's NarrowTensor (int8 with a scale
 * per output channel, or fp16), which the wasm packer reads as it is and other consumers widen
 * (`widenWeight`). Both have `length` (elements).
 */
export type FusedWeight = Float32Array | NarrowTensor;

/** The fused weight of a bound one: a narrow tensor as it is, a float32 one's values. */
function fusedWeight(t: WeightTensor): FusedWeight {
  return t instanceof NarrowTensor ? t : t.data;
}

/** The float32 values of a fused weight: itself, or a narrow one widened into a new array. */
export function widenWeight(w: FusedWeight): Float32Array {
  return w instanceof NarrowTensor ? w.widen() : w;
}

/**
 * conv + folded BN + optional residual add + optional ReLU: the conv's geometry, weights made
 * concrete. The folded weight is `weight[o, ...] * scale[o]`: backends fold it while they pack (the
 * wasm backend in its packing kernels, webgpu in its packing loop), so no folded copy is made here.
 */
export interface FusedConv extends Omit<ConvNode, 'params'> {
  /** A value of the conv's output shape added before the ReLU. */
  readonly residual?: string;
  readonly relu: boolean;
  /** OIHW [outChannels, inChannels / groups, kh, kw] as bound (the checkpoint's tensor itself, never written; narrow as stored). */
  readonly weight: FusedWeight;
  /** [outChannels]: the folded BN's scale per output channel; undefined when no BN followed. */
  readonly scale?: Float32Array;
  /** [outChannels], BN folded in; zeros when the conv had no bias and no BN followed. */
  readonly bias: Float32Array;
}

/** A BatchNorm with no conv to fold into: y = x * scale[c] + shift[c], then optional ReLU. */
export interface FusedAffine {
  readonly op: 'affine';
  readonly name: string;
  readonly input: string;
  readonly output: string;
  readonly relu: boolean;
  readonly scale: Float32Array;
  readonly shift: Float32Array;
}

export interface FusedAdd {
  readonly op: 'add';
  readonly name: string;
  readonly inputs: readonly [string, string];
  readonly output: string;
  readonly relu: boolean;
}

/**
 * Linear with the weight normalised to torch's [out, in] layout and a bias (zeros if none); both may
 * be the bound tensors themselves, never written (a narrow weight in [out, in] stays narrow; one in
 * [in, out] is widened to be transposed, its scales being per row of that layout).
 */
export interface FusedLinear {
  readonly op: 'linear';
  readonly name: string;
  readonly input: string;
  readonly output: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: FusedWeight;
  readonly bias: Float32Array;
}

export type FusedNode =
  | FusedConv
  | FusedAffine
  | FusedAdd
  | FusedLinear
  | Extract<GraphNode, { op: 'relu' | 'maxpool' | 'avgpool' | 'globalavgpool' | 'shortcutA' }>;

export interface FusedGraph {
  readonly name: string;
  readonly input: string;
  readonly inChannels: number;
  readonly nodes: readonly FusedNode[];
  readonly outputs: Readonly<Record<string, string>>;
  readonly primaryOutput: string;
}

function weight(weights: WeightMap, key: string, shape: readonly number[]): WeightTensor {
  const t = weights.get(key);
  if (!t) throw new Error(`missing weight '${key}' (expected shape ${shapeToString(shape)})`);
  if (t.shape.join() !== shape.join()) {
    throw new RangeError(`weight '${key}' has shape ${shapeToString(t.shape)}, expected ${shapeToString(shape)}`);
  }
  return t;
}

/** An inference BatchNorm's parameters, float32 [channels] each. */
export interface BnParams {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly eps: number;
}

/**
 * Folds a BatchNorm, in float64: s = gamma / sqrt(var + eps), t = beta - mean * s. Returns
 * scale = f32(s) and shift = f32(bias * s + t) when a conv's `bias` is given (zeros for a conv
 * without one), else f32(t). The wasm backend runs the same arithmetic in its kernels (bn_fold_f32).
 */
export type BnFold = (bn: BnParams, bias?: Float32Array) => { scale: Float32Array; shift: Float32Array };

export const foldBatchNorm: BnFold = ({ gamma, beta, mean, variance, eps }, bias) => {
  const c = gamma.length;
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = gamma[i] / Math.sqrt(variance[i] + eps);
    const t = beta[i] - mean[i] * s;
    scale[i] = s;
    shift[i] = bias ? bias[i] * s + t : t;
  }
  return { scale, shift };
};

function bnParams(n: Extract<GraphNode, { op: 'batchnorm' }>, weights: WeightMap): BnParams {
  const c = [n.channels];
  return {
    gamma: floatTensor(weight(weights, n.params.weight, c)).data,
    beta: floatTensor(weight(weights, n.params.bias, c)).data,
    mean: floatTensor(weight(weights, n.params.mean, c)).data,
    variance: floatTensor(weight(weights, n.params.var, c)).data,
    eps: n.eps,
  };
}

/** Folds BN into convs (with `fold`) and fuses residual adds and ReLUs; see the file comment. */
export function fuseGraph(g: Graph, weights: WeightMap, fold: BnFold = foldBatchNorm): FusedGraph {
  // How many times each value is read; graph outputs count as a read so they are never fused away.
  const readers = new Map<string, number>();
  const bump = (v: string) => readers.set(v, (readers.get(v) ?? 0) + 1);
  for (const n of g.nodes) nodeInputs(n).forEach(bump);
  Object.values(g.outputs).forEach(bump);
  const onlyReader = (v: string, i: number): GraphNode | undefined => {
    const next = g.nodes[i];
    return next && readers.get(v) === 1 && nodeInputs(next).includes(v) ? next : undefined;
  };
  const defined = new Set<string>([g.input]);
  const out: FusedNode[] = [];

  for (let i = 0; i < g.nodes.length; i++) {
    const n = g.nodes[i];
    if (n.op === 'conv') {
      const wShape = [n.outChannels, n.inChannels / n.groups, n.kernel[0], n.kernel[1]];
      const w = fusedWeight(weight(weights, n.params.weight, wShape));
      let bias: Float32Array = new Float32Array(n.outChannels);
      if (n.params.bias) bias.set(floatTensor(weight(weights, n.params.bias, [n.outChannels])).data);
      let foldScale: Float32Array | undefined;
      let value = n.output;
      let j = i + 1;
      const bn = onlyReader(value, j);
      if (bn?.op === 'batchnorm') {
        ({ scale: foldScale, shift: bias } = fold(bnParams(bn, weights), bias));
        value = bn.output;
        j++;
      }
      let residual: string | undefined;
      const add = onlyReader(value, j);
      if (add?.op === 'add') {
        const other = add.inputs[0] === value ? add.inputs[1] : add.inputs[0];
        if (other !== value && defined.has(other)) {
          residual = other;
          value = add.output;
          j++;
        }
      }
      const relu = onlyReader(value, j)?.op === 'relu';
      if (relu) {
        value = g.nodes[j].output;
        j++;
      }
      const { params: _p, ...geometry } = n;
      out.push({ ...geometry, output: value, residual, relu, weight: w, scale: foldScale, bias });
      defined.add(value);
      i = j - 1;
      continue;
    }
    if (n.op === 'batchnorm' || n.op === 'add') {
      const relu = onlyReader(n.output, i + 1)?.op === 'relu';
      const output = relu ? g.nodes[i + 1].output : n.output;
      if (n.op === 'batchnorm') {
        const { scale, shift } = fold(bnParams(n, weights));
        out.push({ op: 'affine', name: n.name, input: n.input, output, relu, scale, shift });
      } else {
        out.push({ op: 'add', name: n.name, inputs: n.inputs, output, relu });
      }
      defined.add(output);
      if (relu) i++;
      continue;
    }
    if (n.op === 'linear') {
      const t = weight(weights, n.params.weight, n.weightLayout === 'oi' ? [n.outFeatures, n.inFeatures] : [n.inFeatures, n.outFeatures]);
      let w = fusedWeight(t);
      if (n.weightLayout === 'io') {
        const src = floatTensor(t).data;
        w = new Float32Array(src.length);
        for (let r = 0; r < n.inFeatures; r++) for (let c = 0; c < n.outFeatures; c++) w[c * n.inFeatures + r] = src[r * n.outFeatures + c];
      }
      const bias = n.params.bias ? floatTensor(weight(weights, n.params.bias, [n.outFeatures])).data : new Float32Array(n.outFeatures);
      out.push({ op: 'linear', name: n.name, input: n.input, output: n.output, inFeatures: n.inFeatures, outFeatures: n.outFeatures, weight: w, bias });
      defined.add(n.output);
      continue;
    }
    out.push(n);
    defined.add(n.output);
  }
  return { name: g.name, input: g.input, inChannels: g.inChannels, nodes: out, outputs: g.outputs, primaryOutput: g.primaryOutput };
}
