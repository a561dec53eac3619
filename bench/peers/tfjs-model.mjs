/**
 * Our Graph rebuilt with TensorFlow.js ops, for running the same network on tfjs backends
 * (the wasm backend in the benchmarks). tfjs is channels-last: activations are NHWC and conv
 * filters HWIO; the input arrives NCHW and 4-D outputs leave NCHW.
 *
 * Like tfjs-converter's graph optimisation, a BatchNorm right after a conv is folded into the
 * conv's filter and bias, and a ReLU after that is fused, so each conv is one `tf.fused.conv2d`.
 * see: tfjs-converter/python/tensorflowjs/converters/fold_batch_norms.py, fuse_prelu / fused conv
 *
 * Pools follow PyTorch's rules (src/shape.ts): floor/ceil output sizes, padding never counted by
 * max pooling, and for average pooling the divisor counts the explicit padding only when
 * count_include_pad is set, never the ceil-mode overhang. tfjs' average pool divides by the taps
 * inside its input, so count_include_pad is emulated by zero-padding the input first.
 */

function shapeStr(shape) {
  return `[${shape.join(', ')}]`;
}

function weightOf(weights, key, shape, node) {
  const t = weights.get(key);
  if (!t) throw new Error(`tfjs model: ${node}: missing weight '${key}' (expected shape ${shapeStr(shape)})`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new RangeError(`tfjs model: ${node}: weight '${key}' has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)}`);
  }
  return t.data;
}

/**
 * Output size of one window axis, PyTorch/ONNX rules; mirrors `windowOutputSize` in src/shape.ts
 * (this module runs without the TypeScript build, so it cannot import it).
 */
function windowOut(inSize, kernel, stride, padBegin, padEnd, dilation, ceilMode) {
  const room = inSize + padBegin + padEnd - ((kernel - 1) * dilation + 1);
  if (room < 0) throw new RangeError(`window of ${kernel} does not fit an input of ${inSize} with padding ${padBegin}+${padEnd}`);
  let out = (ceilMode ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= inSize + padBegin) out -= 1;
  return out;
}

/** Extra end padding that makes a floor-mode window op produce `out` outputs (the ceil-mode overhang). */
function overhang(inSize, kernel, stride, padBegin, padEnd, out) {
  return Math.max(0, (out - 1) * stride + kernel - (inSize + padBegin + padEnd));
}

/** OIHW -> HWIO for output channels [o0, o1). */
function oihwToHwio(w, [o, i, kh, kw], o0 = 0, o1 = o) {
  const oc = o1 - o0;
  const out = new Float32Array(kh * kw * i * oc);
  for (let oo = 0; oo < oc; oo++) {
    for (let ii = 0; ii < i; ii++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + ii) * oc + oo] = w[(((o0 + oo) * i + ii) * kh + y) * kw + x];
      }
    }
  }
  return out;
}

/**
 * Builds the network (types: tfjs-model.d.mts). `tf` is the tfjs-core module with its backend set.
 * Weights are folded and uploaded once here; `run` only computes.
 */
export function buildTfjsModel(tf, graph, weights) {
  // A value's readers; graph outputs count, so they are never fused away.
  const readers = new Map();
  const bump = (v) => readers.set(v, (readers.get(v) ?? 0) + 1);
  for (const n of graph.nodes) (n.op === 'add' ? n.inputs : [n.input]).forEach(bump);
  Object.values(graph.outputs).forEach(bump);
  const soleReader = (value, i) => {
    const next = graph.nodes[i];
    if (!next || readers.get(value) !== 1) return undefined;
    return (next.op === 'add' ? next.inputs : [next.input]).includes(value) ? next : undefined;
  };

  const held = []; // weight tensors, released by dispose()
  const keep = (t) => (held.push(t), t);
  /** Steps of the forward pass; each reads and writes `env` (value name -> NHWC tf tensor). */
  const steps = [];

  for (let i = 0; i < graph.nodes.length; i++) {
    const n = graph.nodes[i];
    switch (n.op) {
      case 'conv': {
        const wShape = [n.outChannels, n.inChannels / n.groups, ...n.kernel];
        const w = Float32Array.from(weightOf(weights, n.params.weight, wShape, n.name));
        const bias = new Float32Array(n.outChannels);
        if (n.params.bias) bias.set(weightOf(weights, n.params.bias, [n.outChannels], n.name));
        let output = n.output;
        const bn = soleReader(output, i + 1);
        if (bn?.op === 'batchnorm') {
          // Fold: w' = w * s, b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps).
          const c = [bn.channels];
          const gamma = weightOf(weights, bn.params.weight, c, bn.name);
          const beta = weightOf(weights, bn.params.bias, c, bn.name);
          const mean = weightOf(weights, bn.params.mean, c, bn.name);
          const variance = weightOf(weights, bn.params.var, c, bn.name);
          const per = w.length / n.outChannels;
          for (let o = 0; o < n.outChannels; o++) {
            const s = gamma[o] / Math.sqrt(variance[o] + bn.eps);
            for (let k = 0; k < per; k++) w[o * per + k] *= s;
            bias[o] = (bias[o] - mean[o]) * s + beta[o];
          }
          output = bn.output;
          i++;
        }
        const relu = soleReader(output, i + 1)?.op === 'relu';
        if (relu) output = graph.nodes[++i].output;
        steps.push(convStep(tf, n, w, wShape, keep(tf.tensor1d(bias)), relu ? 'relu' : 'linear', output, keep));
        break;
      }
      case 'batchnorm': {
        const c = [n.channels];
        const [gamma, beta, mean, variance] = [n.params.weight, n.params.bias, n.params.mean, n.params.var].map((k) =>
          keep(tf.tensor1d(weightOf(weights, k, c, n.name))),
        );
        steps.push((env) => env.set(n.output, tf.batchNorm(env.get(n.input), mean, variance, beta, gamma, n.eps)));
        break;
      }
      case 'relu':
        steps.push((env) => env.set(n.output, tf.relu(env.get(n.input))));
        break;
      case 'add':
        steps.push((env) => env.set(n.output, tf.add(env.get(n.inputs[0]), env.get(n.inputs[1]))));
        break;
      case 'maxpool':
      case 'avgpool':
        steps.push(poolStep(tf, n));
        break;
      case 'globalavgpool':
        steps.push((env) => env.set(n.output, tf.mean(env.get(n.input), [1, 2])));
        break;
      case 'linear': {
        const oi = n.weightLayout === 'oi';
        const w = weightOf(weights, n.params.weight, oi ? [n.outFeatures, n.inFeatures] : [n.inFeatures, n.outFeatures], n.name);
        // Stored as [in, out] so the product is a plain x @ W.
        let wio = keep(tf.tensor2d(w, oi ? [n.outFeatures, n.inFeatures] : [n.inFeatures, n.outFeatures]));
        if (oi) wio = keep(tf.transpose(wio));
        const bias = n.params.bias ? keep(tf.tensor1d(weightOf(weights, n.params.bias, [n.outFeatures], n.name))) : undefined;
        steps.push((env) => env.set(n.output, tf.fused.matMul({ a: env.get(n.input), b: wio, bias })));
        break;
      }
      case 'shortcutA':
        steps.push((env) => {
          const x = env.get(n.input);
          const [b, h, w, c] = x.shape;
          const strided = tf.stridedSlice(x, [0, 0, 0, 0], [b, h, w, c], [1, n.stride, n.stride, 1]);
          env.set(n.output, tf.pad(strided, [[0, 0], [0, 0], [0, 0], [n.padChannels, n.padChannels]]));
        });
        break;
      default:
        throw new Error(`tfjs model: node '${n.name}' has op '${n.op}', which the builder does not know`);
    }
  }

  const forward = (input) =>
    tf.tidy(() => {
      const env = new Map([[graph.input, tf.transpose(tf.tensor4d(input.data, input.shape), [0, 2, 3, 1])]]);
      for (const step of steps) step(env);
      const out = {};
      for (const [key, value] of Object.entries(graph.outputs)) {
        const t = env.get(value);
        out[key] = t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
      }
      return out;
    });

  return {
    async run(input) {
      if (input.shape.length !== 4 || input.shape[1] !== graph.inChannels) {
        throw new RangeError(`tfjs model ${graph.name}: expects NCHW [N, ${graph.inChannels}, H, W], got ${shapeStr(input.shape)}`);
      }
      const tensors = forward(input);
      const result = {};
      for (const [key, t] of Object.entries(tensors)) {
        result[key] = { data: await t.data(), shape: t.shape };
        t.dispose();
      }
      return result;
    },
    dispose() {
      for (const t of held) t.dispose();
      held.length = 0;
    },
  };
}

/** One (possibly grouped) conv with folded bias and fused activation; NHWC in and out. */
function convStep(tf, n, w, wShape, bias, activation, output, keep) {
  const [pt, pl, pb, pr] = n.pads;
  const pad = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
  const common = { strides: [...n.stride], pad, dilations: [...n.dilation], dataFormat: 'NHWC' };
  if (n.groups === 1) {
    const filter = keep(tf.tensor4d(oihwToHwio(w, wShape), [n.kernel[0], n.kernel[1], n.inChannels, n.outChannels]));
    return (env) => env.set(output, tf.fused.conv2d({ x: env.get(n.input), filter, bias, activation, ...common }));
  }
  if (n.groups === n.inChannels && n.outChannels === n.inChannels) {
    // Depthwise: the filter is [kh, kw, C, 1].
    const filter = keep(tf.tensor4d(oihwToHwio(w, wShape), [n.kernel[0], n.kernel[1], n.inChannels, 1]));
    return (env) => env.set(output, tf.fused.depthwiseConv2d({ x: env.get(n.input), filter, bias, activation, ...common }));
  }
  // tfjs has no grouped conv: one conv per group on its channel slice, then concatenate.
  const og = n.outChannels / n.groups;
  const ig = n.inChannels / n.groups;
  const filters = [];
  for (let g = 0; g < n.groups; g++) {
    filters.push(keep(tf.tensor4d(oihwToHwio(w, wShape, g * og, (g + 1) * og), [n.kernel[0], n.kernel[1], ig, og])));
  }
  return (env) => {
    const parts = tf.split(env.get(n.input), n.groups, 3);
    const y = tf.concat(parts.map((x, g) => tf.conv2d(x, filters[g], common.strides, pad, 'NHWC', common.dilations)), 3);
    const z = tf.add(y, bias);
    env.set(output, activation === 'relu' ? tf.relu(z) : z);
  };
}

/** Max or average pool with PyTorch's size and divisor rules (see the file comment). */
function poolStep(tf, n) {
  const [dh, dw] = n.dilation ?? [1, 1];
  if (dh !== 1 || dw !== 1) throw new Error(`tfjs model: ${n.name}: dilated pooling (${dh}x${dw}) is not supported by tfjs`);
  const [kh, kw] = n.kernel;
  const [sh, sw] = n.stride;
  const [pt, pl, pb, pr] = n.pads;
  return (env) => {
    const x = env.get(n.input);
    const [, h, w] = x.shape;
    const oh = windowOut(h, kh, sh, pt, pb, 1, n.ceilMode);
    const ow = windowOut(w, kw, sw, pl, pr, 1, n.ceilMode);
    const eh = overhang(h, kh, sh, pt, pb, oh);
    const ew = overhang(w, kw, sw, pl, pr, ow);
    let y;
    if (n.op === 'maxpool') {
      y = tf.maxPool(x, [kh, kw], [sh, sw], [[0, 0], [pt, pb + eh], [pl, pr + ew], [0, 0]]);
    } else if (n.countIncludePad) {
      // The explicit padding counts in the divisor: make it real zeros; the overhang does not.
      const padded = tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]]);
      y = tf.avgPool(padded, [kh, kw], [sh, sw], [[0, 0], [0, eh], [0, ew], [0, 0]]);
    } else {
      y = tf.avgPool(x, [kh, kw], [sh, sw], [[0, 0], [pt, pb + eh], [pl, pr + ew], [0, 0]]);
    }
    if (y.shape[1] !== oh || y.shape[2] !== ow) {
      throw new Error(`tfjs model: ${n.name}: pool gave ${y.shape[1]}x${y.shape[2]}, expected ${oh}x${ow}`);
    }
    env.set(n.output, y);
  };
}
