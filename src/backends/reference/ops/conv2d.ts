/**
 * 2-D convolution (cross-correlation, as in PyTorch and ONNX) on NCHW input with an OIHW weight,
 * groups, dilation and asymmetric padding. Deliberately naive: one multiply-add per loop
 * iteration, float64 accumulator, float32 store. It is the oracle the fast backends are checked
 * against, so it is never optimised.
 * see: tfjs-backend-cpu/src/kernels/Conv2D.ts (the model for the loop nest and named strides);
 *      torch.nn.Conv2d docs for the grouped-channel layout.
 */
import { conv2dInfo, type Pads4, type Pair } from '../../../shape.js';
import { Tensor } from '../../../tensor.js';
import { expectRank, expectVector } from './check.js';

export interface Conv2dOptions {
  /** [strideH, strideW]; default [1, 1]. */
  readonly stride?: Pair;
  /** [top, left, bottom, right] zero padding; default none. Begin and end may differ. */
  readonly pads?: Pads4;
  /** [dilationH, dilationW]; default [1, 1]. */
  readonly dilation?: Pair;
  /** Input and output channels split into this many independent groups; default 1. */
  readonly groups?: number;
}

/**
 * y[n, o, oh, ow] = bias[o] + sum over (i, kh, kw) of
 *   x[n, g * Ig + i, oh * sh - padTop + kh * dh, ow * sw - padLeft + kw * dw] * w[o, i, kh, kw]
 * where g = floor(o / Og) is the group of output channel o, Ig = Cin / groups, Og = Cout / groups,
 * and taps that fall in the padding read zero.
 *
 * x: NCHW [N, Cin, H, W]; w: OIHW [Cout, Cin / groups, KH, KW]; bias: [Cout] or undefined.
 */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | undefined, opts: Conv2dOptions = {}): Tensor {
  expectRank('conv2d', 'input', x, 4, 'NCHW');
  expectRank('conv2d', 'weight', w, 4, 'OIHW [Cout, Cin / groups, KH, KW]');
  // Output size, padding and the channel/group checks all come from shape.ts.
  const info = conv2dInfo(x.shape, w.shape, {
    kernel: [w.shape[2], w.shape[3]],
    stride: opts.stride,
    pads: opts.pads,
    dilation: opts.dilation,
    groups: opts.groups,
  });
  if (bias) expectVector('conv2d', 'bias', bias, info.outChannels);

  const { batch, inChannels, outChannels, groups } = info;
  const { h, w: wa } = info;
  const inPerGroup = inChannels / groups;
  const outPerGroup = outChannels / groups;

  // NCHW strides of x and y, OIHW strides of w.
  const xStrideC = h.inSize * wa.inSize;
  const xStrideN = inChannels * xStrideC;
  const xStrideH = wa.inSize;
  const yStrideC = h.outSize * wa.outSize;
  const yStrideN = outChannels * yStrideC;
  const yStrideH = wa.outSize;
  const wStrideI = h.kernel * wa.kernel;
  const wStrideO = inPerGroup * wStrideI;
  const wStrideKH = wa.kernel;

  const xd = x.data;
  const wd = w.data;
  const y = new Float32Array(batch * yStrideN);

  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outChannels; o++) {
      const g = Math.floor(o / outPerGroup);
      const firstInChannel = g * inPerGroup;
      for (let oh = 0; oh < h.outSize; oh++) {
        const ihStart = oh * h.stride - h.padBegin;
        for (let ow = 0; ow < wa.outSize; ow++) {
          const iwStart = ow * wa.stride - wa.padBegin;
          let acc = bias ? bias.data[o] : 0; // float64 accumulator
          for (let i = 0; i < inPerGroup; i++) {
            const xChannel = n * xStrideN + (firstInChannel + i) * xStrideC;
            const wChannel = o * wStrideO + i * wStrideI;
            for (let kh = 0; kh < h.kernel; kh++) {
              const ih = ihStart + kh * h.dilation;
              if (ih < 0 || ih >= h.inSize) continue; // zero padding
              for (let kw = 0; kw < wa.kernel; kw++) {
                const iw = iwStart + kw * wa.dilation;
                if (iw < 0 || iw >= wa.inSize) continue; // zero padding
                acc += xd[xChannel + ih * xStrideH + iw] * wd[wChannel + kh * wStrideKH + kw];
              }
            }
          }
          y[n * yStrideN + o * yStrideC + oh * yStrideH + ow] = acc;
        }
      }
    }
  }
  return new Tensor(y, info.outShape);
}
