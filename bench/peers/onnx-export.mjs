/**
 * Our Graph + state-dict weights -> an ONNX ModelProto (bytes), written in JS with our own
 * protobuf writer, so the onnxruntime peers need no Python at bench time.
 *
 * The graph is exported as written (BatchNorm not folded): onnxruntime folds and fuses it
 * itself, which is what a user exporting from PyTorch would get.
 * see: onnx/onnx.proto (field numbers), onnx/docs/Operators.md (op semantics)
 *
 * Mapping:
 *   conv          -> Conv (pads [t, l, b, r]: ONNX orders pads as all begins then all ends, which
 *                    for (H, W) is [t, l, b, r], the same order as our Pads4)
 *   batchnorm     -> BatchNormalization (inference)
 *   relu, add     -> Relu, Add
 *   maxpool       -> MaxPool (ceil_mode, dilations)
 *   avgpool       -> AveragePool (ceil_mode, count_include_pad; dilations need opset 19)
 *   globalavgpool -> GlobalAveragePool + Flatten(axis=1)
 *   linear        -> Gemm (transB=1 for torch's [out, in], transB=0 for Paddle's [in, out])
 *   shortcutA     -> Slice (steps on H, W) + Pad (channels, constant 0)
 * Graph outputs are named by their keys in `graph.outputs` (`logits`, `features`, `stage1`...).
 */
import { Message } from './protobuf.mjs';

// see: onnx.proto enums
const FLOAT = 1;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

const DEFAULT_OPSET = 17;
const IR_VERSION = 8; // the IR version that goes with opset 17..18; 9 for 19+

function shapeStr(shape) {
  return `[${shape.join(', ')}]`;
}

/** Fetches a weight by full key and checks its shape; errors name the key and both shapes. */
function weightOf(weights, key, shape, node) {
  const t = weights.get(key);
  if (!t) throw new Error(`onnx export: ${node}: missing weight '${key}' (expected shape ${shapeStr(shape)})`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new RangeError(`onnx export: ${node}: weight '${key}' has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)}`);
  }
  return t;
}

function tensorProto(name, dims, dataType, raw) {
  // raw_data is little-endian; typed arrays are host-endian, and every JS engine we run on is LE.
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  return new Message().ints(1, dims).int(2, dataType).string(8, name).bytes(9, bytes);
}

/** An attribute: an integer list -> INTS, an integer -> INT, `{ float: x }` -> FLOAT. */
function attribute(name, value) {
  const a = new Message().string(1, name);
  if (Array.isArray(value)) return a.int(20, ATTR_INTS).ints(8, value);
  if (typeof value === 'object') return a.int(20, ATTR_FLOAT).float(2, value.float);
  return a.int(20, ATTR_INT).int(3, value);
}

/** A float tensor's ValueInfo; a dim is a number (fixed), a string (symbolic) or null (unknown). */
function valueInfo(name, shape) {
  const dims = new Message();
  for (const d of shape) {
    const dim = new Message();
    if (typeof d === 'number') dim.int(1, d);
    else if (typeof d === 'string') dim.string(2, d);
    dims.message(1, dim);
  }
  const tensorType = new Message().int(1, FLOAT).message(2, dims);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

/**
 * Serializes the graph and its weights (types: onnx-export.d.mts). `options.inputShape` fixes the
 * NCHW input shape; by default N, H and W are symbolic.
 */
export function exportOnnx(graph, weights, options = {}) {
  const nodes = [];
  const initializers = new Map();
  let opset = DEFAULT_OPSET;

  const addNode = (opType, name, inputs, outputs, attrs = {}) => {
    const n = new Message();
    for (const i of inputs) n.string(1, i);
    for (const o of outputs) n.string(2, o);
    n.string(3, name).string(4, opType);
    for (const [k, v] of Object.entries(attrs)) n.message(5, attribute(k, v));
    nodes.push(n);
  };
  const addFloat = (key, shape, node) => {
    if (!initializers.has(key)) initializers.set(key, tensorProto(key, shape, FLOAT, weightOf(weights, key, shape, node).data));
    return key;
  };
  const addInt64 = (key, values) => {
    initializers.set(key, tensorProto(key, [values.length], INT64, BigInt64Array.from(values.map(BigInt))));
    return key;
  };

  for (const n of graph.nodes) {
    switch (n.op) {
      case 'conv': {
        const inputs = [n.input, addFloat(n.params.weight, [n.outChannels, n.inChannels / n.groups, ...n.kernel], n.name)];
        if (n.params.bias) inputs.push(addFloat(n.params.bias, [n.outChannels], n.name));
        addNode('Conv', n.name, inputs, [n.output], {
          kernel_shape: [...n.kernel],
          strides: [...n.stride],
          pads: [...n.pads],
          dilations: [...n.dilation],
          group: n.groups,
        });
        break;
      }
      case 'batchnorm': {
        const c = [n.channels];
        const { weight, bias, mean, var: variance } = n.params;
        const inputs = [n.input, addFloat(weight, c, n.name), addFloat(bias, c, n.name), addFloat(mean, c, n.name), addFloat(variance, c, n.name)];
        addNode('BatchNormalization', n.name, inputs, [n.output], { epsilon: { float: n.eps } });
        break;
      }
      case 'relu':
        addNode('Relu', n.name, [n.input], [n.output]);
        break;
      case 'add':
        addNode('Add', n.name, [...n.inputs], [n.output]);
        break;
      case 'maxpool':
        addNode('MaxPool', n.name, [n.input], [n.output], {
          kernel_shape: [...n.kernel],
          strides: [...n.stride],
          pads: [...n.pads],
          dilations: [...(n.dilation ?? [1, 1])],
          ceil_mode: n.ceilMode ? 1 : 0,
        });
        break;
      case 'avgpool': {
        const attrs = {
          kernel_shape: [...n.kernel],
          strides: [...n.stride],
          pads: [...n.pads],
          ceil_mode: n.ceilMode ? 1 : 0,
          count_include_pad: n.countIncludePad ? 1 : 0,
        };
        if (n.dilation && (n.dilation[0] !== 1 || n.dilation[1] !== 1)) {
          attrs.dilations = [...n.dilation]; // AveragePool-19
          opset = Math.max(opset, 19);
        }
        addNode('AveragePool', n.name, [n.input], [n.output], attrs);
        break;
      }
      case 'globalavgpool':
        addNode('GlobalAveragePool', n.name, [n.input], [`${n.output}:nchw11`]);
        addNode('Flatten', `${n.name}:flatten`, [`${n.output}:nchw11`], [n.output], { axis: 1 });
        break;
      case 'linear': {
        const oi = n.weightLayout === 'oi';
        const inputs = [n.input, addFloat(n.params.weight, oi ? [n.outFeatures, n.inFeatures] : [n.inFeatures, n.outFeatures], n.name)];
        if (n.params.bias) inputs.push(addFloat(n.params.bias, [n.outFeatures], n.name));
        addNode('Gemm', n.name, inputs, [n.output], { transB: oi ? 1 : 0 });
        break;
      }
      case 'shortcutA': {
        // x[:, :, ::s, ::s], then zero channels on both sides (akamaster's LambdaLayer).
        const sliced = `${n.output}:strided`;
        const big = Number.MAX_SAFE_INTEGER; // "to the end"; ONNX clamps ends to the dimension
        addNode(
          'Slice',
          `${n.name}:slice`,
          [n.input, addInt64(`${n.name}:starts`, [0, 0]), addInt64(`${n.name}:ends`, [big, big]), addInt64(`${n.name}:axes`, [2, 3]), addInt64(`${n.name}:steps`, [n.stride, n.stride])],
          [sliced],
        );
        const p = n.padChannels;
        addNode('Pad', `${n.name}:pad`, [sliced, addInt64(`${n.name}:pads`, [0, p, 0, 0, 0, p, 0, 0])], [n.output], {});
        break;
      }
      default:
        throw new Error(`onnx export: node '${n.name}' has op '${n.op}', which the exporter does not know`);
    }
  }

  // Graph outputs are named by their keys; an Identity renames a value when the names differ.
  // Their dims are left unknown, but the rank is given: [N, F] after pooling/linear, else NCHW.
  const rank2 = new Set(graph.nodes.filter((n) => n.op === 'globalavgpool' || n.op === 'linear').map((n) => n.output));
  const outputs = [];
  for (const [key, value] of Object.entries(graph.outputs)) {
    if (key !== value) {
      if (graph.nodes.some((n) => n.output === key) || key === graph.input) {
        throw new Error(`onnx export: output key '${key}' is also the name of another value in graph ${graph.name}`);
      }
      addNode('Identity', `output:${key}`, [value], [key]);
    }
    outputs.push(valueInfo(key, rank2.has(value) ? [null, null] : [null, null, null, null]));
  }
  for (const n of graph.nodes) {
    if (initializers.has(n.output)) throw new Error(`onnx export: value '${n.output}' has the same name as a weight`);
  }

  const inputShape = options.inputShape ?? ['N', graph.inChannels, 'H', 'W'];
  const g = new Message();
  for (const n of nodes) g.message(1, n);
  g.string(2, graph.name);
  for (const t of initializers.values()) g.message(5, t);
  g.message(11, valueInfo(graph.input, inputShape));
  for (const o of outputs) g.message(12, o);

  return new Message()
    .int(1, opset >= 19 ? 9 : IR_VERSION)
    .string(2, 'resnet-ts')
    .message(7, g)
    .message(8, new Message().string(1, '').int(2, opset))
    .finish();
}
