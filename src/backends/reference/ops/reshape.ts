/** Ops that only move data: flatten and the CIFAR option-A shortcut. */
import { Tensor } from '../../../tensor.js';
import { expectRank } from './check.js';

/**
 * ONNX Flatten: [d0, ..., d(r-1)] -> [d0 * ... * d(axis-1), d(axis) * ... * d(r-1)], axis in
 * [-r, r] (0 gives [1, total]). C order makes this a pure reshape: the data is shared, not copied.
 */
export function flatten(x: Tensor, axis = 1): Tensor {
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis > rank) {
    throw new RangeError(`flatten: axis must be an integer in [${-rank}, ${rank}] for a rank-${rank} input, got ${axis}`);
  }
  const a = axis < 0 ? axis + rank : axis;
  const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = x.shape.slice(a).reduce((p, d) => p * d, 1);
  return x.reshape([outer, inner]);
}

/**
 * CIFAR ResNet "option A" shortcut (He et al. 2015, sec. 4.2; akamaster's LambdaLayer):
 *   F.pad(x[:, :, ::stride, ::stride], (0, 0, 0, 0, padChannels, padChannels))
 * NCHW [N, C, H, W] -> [N, C + 2 * padChannels, ceil(H / stride), ceil(W / stride)]; input channel
 * c lands on output channel c + padChannels, the padChannels channels on each side are zero.
 */
export function shortcutA(x: Tensor, stride: number, padChannels: number): Tensor {
  expectRank('shortcutA', 'input', x, 4, 'NCHW');
  if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`shortcutA: stride must be a positive integer, got ${stride}`);
  if (!Number.isInteger(padChannels) || padChannels < 0) {
    throw new RangeError(`shortcutA: padChannels must be a non-negative integer, got ${padChannels}`);
  }
  const [batch, channels, height, width] = x.shape;
  const outC = channels + 2 * padChannels;
  const outH = Math.ceil(height / stride); // rows 0, s, 2s, ... < H
  const outW = Math.ceil(width / stride);
  const y = new Float32Array(batch * outC * outH * outW);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const xPlane = (n * channels + c) * height * width;
      const yPlane = (n * outC + c + padChannels) * outH * outW;
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) y[yPlane + oh * outW + ow] = x.data[xPlane + oh * stride * width + ow * stride];
      }
    }
  }
  return new Tensor(y, [batch, outC, outH, outW]);
}
