/**
 * The network as data: a list of nodes in execution (topological) order over named values.
 * The model builder (src/models/resnet.ts) emits it; every backend compiles it; `summary` reads it.
 *
 * Node names are module paths and equal the source library's state-dict prefixes, and each node's
 * `params` maps a role (weight, bias, mean, var) to the full state-dict key it reads. Backends look
 * weights up by those keys and never build names themselves.
 *
 * All values are NCHW float32 except after `flatten` / `linear`, which are [N, F].
 */
import { conv2dInfo, pool2dInfo, type Pads4, type Pair } from './shape.js';
import { shapeToString } from './tensor.js';

interface NodeBase {
  /** Module path (state-dict prefix), e.g. `layer1.0.conv1`; unique in the graph. */
  readonly name: string;
  readonly output: string;
}

export interface ConvNode extends NodeBase {
  readonly op: 'conv';
  readonly input: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly pads: Pads4;
  readonly dilation: Pair;
  readonly groups: number;
  /** weight: OIHW [outChannels, inChannels / groups, kh, kw]; bias (optional): [outChannels]. */
  readonly params: { readonly weight: string; readonly bias?: string };
}

/** Inference BatchNorm: y = (x - mean) / sqrt(var + eps) * weight + bias. */
export interface BatchNormNode extends NodeBase {
  readonly op: 'batchnorm';
  readonly input: string;
  readonly channels: number;
  readonly eps: number;
  readonly params: { readonly weight: string; readonly bias: string; readonly mean: string; readonly var: string };
}

export interface ReluNode extends NodeBase {
  readonly op: 'relu';
  readonly input: string;
}

/** Elementwise a + b of equal shapes (the residual add). */
export interface AddNode extends NodeBase {
  readonly op: 'add';
  readonly inputs: readonly [string, string];
}

export interface MaxPoolNode extends NodeBase {
  readonly op: 'maxpool';
  readonly input: string;
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly pads: Pads4;
  /** Defaults to [1, 1]; ResNets never dilate, ONNX conformance cases do. */
  readonly dilation?: Pair;
  readonly ceilMode: boolean;
}

export interface AvgPoolNode extends NodeBase {
  readonly op: 'avgpool';
  readonly input: string;
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly pads: Pads4;
  /** Defaults to [1, 1]. */
  readonly dilation?: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
}

/** Mean over H and W: [N, C, H, W] -> [N, C]. (Adaptive avg pool to 1x1, then flatten.) */
export interface GlobalAvgPoolNode extends NodeBase {
  readonly op: 'globalavgpool';
  readonly input: string;
}

/**
 * y = x W^T + b with x [N, inFeatures]. `weightLayout` 'oi' is torch's [out, in];
 * 'io' is Paddle's [in, out] (its Linear stores the transpose).
 */
export interface LinearNode extends NodeBase {
  readonly op: 'linear';
  readonly input: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weightLayout: 'oi' | 'io';
  readonly params: { readonly weight: string; readonly bias?: string };
}

/**
 * The CIFAR "option A" shortcut (He et al. 2015, sec. 4.2; akamaster's LambdaLayer):
 * `F.pad(x[:, :, ::stride, ::stride], (0, 0, 0, 0, padChannels, padChannels))`, no parameters.
 */
export interface ShortcutANode extends NodeBase {
  readonly op: 'shortcutA';
  readonly input: string;
  readonly stride: number;
  readonly padChannels: number;
}

export type GraphNode =
  | ConvNode
  | BatchNormNode
  | ReluNode
  | AddNode
  | MaxPoolNode
  | AvgPoolNode
  | GlobalAvgPoolNode
  | LinearNode
  | ShortcutANode;

export type OpName = GraphNode['op'];

/**
 * The output of one module of the source library, as a PyTorch forward hook (or Paddle's
 * `register_forward_post_hook`) on `named_modules()` sees it: what `dump` writes and `verify` reads.
 */
export interface ModuleOutput {
  /** Module path: `conv1`, `layer2.1`, `layer3`, `avgpool`, `fc`; Paddle's `stem.0`, `blocks.3`, `avg_pool`. */
  readonly path: string;
  /** The graph value holding it. */
  readonly value: string;
  /** The hook sees [N, C] pooled features as [N, C, 1, 1] (AdaptiveAvgPool2d before the flatten). */
  readonly keepDims?: boolean;
}

export interface Graph {
  /** The model name it was built for. */
  readonly name: string;
  /** Name of the single graph input value, NCHW [N, inChannels, H, W]. */
  readonly input: string;
  readonly inChannels: number;
  readonly nodes: readonly GraphNode[];
  /**
   * Named outputs: `logits` ([N, classes]) or, features-only, `features` ([N, C] pooled);
   * `stem`, `stage1`.. feature maps when requested. Backends return every listed output.
   */
  readonly outputs: Readonly<Record<string, string>>;
  /** The primary output returned by `forward` (a key of `outputs`). */
  readonly primaryOutput: string;
  /**
   * The source library's modules whose outputs a forward hook sees, in the order the hooks fire
   * (a Sequential's after its children): the stem's parts, each block, each stage, the pooling and
   * the head. Not every graph value is one (a block's inner convs are left out; see golden.ts).
   */
  readonly modules?: readonly ModuleOutput[];
}

/** The state-dict entries a graph reads, in node order, with the shape each must have. */
export function graphParams(g: Graph): { key: string; shape: number[]; kind: 'param' | 'buffer'; node: string }[] {
  const out: { key: string; shape: number[]; kind: 'param' | 'buffer'; node: string }[] = [];
  for (const n of g.nodes) {
    if (n.op === 'conv') {
      out.push({ key: n.params.weight, shape: [n.outChannels, n.inChannels / n.groups, n.kernel[0], n.kernel[1]], kind: 'param', node: n.name });
      if (n.params.bias) out.push({ key: n.params.bias, shape: [n.outChannels], kind: 'param', node: n.name });
    } else if (n.op === 'batchnorm') {
      out.push({ key: n.params.weight, shape: [n.channels], kind: 'param', node: n.name });
      out.push({ key: n.params.bias, shape: [n.channels], kind: 'param', node: n.name });
      out.push({ key: n.params.mean, shape: [n.channels], kind: 'buffer', node: n.name });
      out.push({ key: n.params.var, shape: [n.channels], kind: 'buffer', node: n.name });
    } else if (n.op === 'linear') {
      const w = n.weightLayout === 'oi' ? [n.outFeatures, n.inFeatures] : [n.inFeatures, n.outFeatures];
      out.push({ key: n.params.weight, shape: w, kind: 'param', node: n.name });
      if (n.params.bias) out.push({ key: n.params.bias, shape: [n.outFeatures], kind: 'param', node: n.name });
    }
  }
  return out;
}

/** The values a node reads. */
export function nodeInputs(n: GraphNode): readonly string[] {
  return n.op === 'add' ? n.inputs : [n.input];
}

/**
 * Shape of every value for a given input shape. Validates the input first, with messages that
 * say what was expected (rank 4 NCHW, channel count) and what was found, and recognises NHWC.
 */
export function inferShapes(g: Graph, inputShape: readonly number[]): Map<string, number[]> {
  validateInputShape(g, inputShape);
  const shapes = new Map<string, number[]>([[g.input, [...inputShape]]]);
  const get = (v: string): number[] => {
    const s = shapes.get(v);
    if (!s) throw new Error(`graph ${g.name}: value '${v}' is used before it is computed`);
    return s;
  };
  for (const n of g.nodes) {
    let out: number[];
    switch (n.op) {
      case 'conv': {
        const wShape = [n.outChannels, n.inChannels / n.groups, n.kernel[0], n.kernel[1]];
        out = conv2dInfo(get(n.input), wShape, n).outShape;
        break;
      }
      case 'batchnorm':
      case 'relu':
        out = get(n.input);
        break;
      case 'add': {
        const [a, b] = n.inputs.map(get);
        if (a.join() !== b.join()) throw new RangeError(`${n.name}: cannot add ${shapeToString(a)} and ${shapeToString(b)}`);
        out = a;
        break;
      }
      case 'maxpool':
      case 'avgpool':
        out = pool2dInfo(get(n.input), n).outShape;
        break;
      case 'globalavgpool': {
        const [b, c] = get(n.input);
        out = [b, c];
        break;
      }
      case 'linear': {
        const s = get(n.input);
        if (s.length !== 2 || s[1] !== n.inFeatures) {
          throw new RangeError(`${n.name}: linear expects [N, ${n.inFeatures}], got ${shapeToString(s)}`);
        }
        out = [s[0], n.outFeatures];
        break;
      }
      case 'shortcutA': {
        const [b, c, h, w] = get(n.input);
        out = [b, c + 2 * n.padChannels, Math.ceil(h / n.stride), Math.ceil(w / n.stride)];
        break;
      }
    }
    shapes.set(n.output, out);
  }
  return shapes;
}

/** Checks an input shape against what the graph takes; the messages name expected and found. */
export function validateInputShape(g: Graph, shape: readonly number[]): void {
  const c = g.inChannels;
  if (shape.length !== 4) {
    throw new RangeError(`${g.name} expects an NCHW input [N, ${c}, H, W] (rank 4), got rank ${shape.length}: ${shapeToString(shape)}`);
  }
  const [n, ch, h, w] = shape;
  if (!(n >= 1)) throw new RangeError(`${g.name}: batch size must be >= 1, got ${shapeToString(shape)}`);
  if (ch !== c) {
    if (w === c) {
      throw new RangeError(
        `${g.name} expects NCHW [N, ${c}, H, W] but got ${shapeToString(shape)}, which looks like NHWC (channels last); ` +
          `transpose it to [${n}, ${c}, ${ch}, ${h}]`,
      );
    }
    throw new RangeError(`${g.name} expects ${c} input channels (NCHW [N, ${c}, H, W]), got ${ch} in ${shapeToString(shape)}`);
  }
  if (!(h >= 1 && w >= 1)) throw new RangeError(`${g.name}: empty spatial size in ${shapeToString(shape)}`);
}
