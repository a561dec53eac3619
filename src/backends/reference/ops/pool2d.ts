/**
 * 2-D max and average pooling on NCHW input, and the global average pool of a ResNet head.
 * Output sizes (floor and ceil mode) and the average-pool divisors come from shape.ts
 * (`pool2dInfo`, `poolTapCounts`); these loops only visit the taps.
 * see: aten/src/ATen/native/cpu/MaxPoolKernel.cpp and AvgPoolKernel.cpp for PyTorch's rules,
 *      onnx Operators.md#MaxPool / #AveragePool (dilations, ceil_mode, count_include_pad).
 */
import { pool2dInfo, poolTapCounts, type Pads4, type Pair, type Pool2dInfo, type WindowAxis } from '../../../shape.js';
import { Tensor } from '../../../tensor.js';
import { expectRank } from './check.js';

export interface Pool2dOptions {
  readonly kernel: Pair;
  /** Default: the kernel (PyTorch's default), pass [1, 1] explicitly for ONNX's default. */
  readonly stride?: Pair;
  /** [top, left, bottom, right]; padded taps are ignored by max and, unless countIncludePad, by avg. */
  readonly pads?: Pads4;
  readonly dilation?: Pair;
  readonly ceilMode?: boolean;
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /**
   * Divide by the taps inside input + explicit padding (true) or inside the input only (false).
   * Taps of the ceil-mode overhang beyond the padding are never counted (PyTorch's rule).
   * Default false (ONNX's default; PyTorch's nn.AvgPool2d defaults to true).
   */
  readonly countIncludePad?: boolean;
}

function poolInfo(op: string, x: Tensor, opts: Pool2dOptions): Pool2dInfo {
  expectRank(op, 'input', x, 4, 'NCHW');
  const info = pool2dInfo(x.shape, { ...opts, stride: opts.stride ?? opts.kernel });
  // A window with no tap inside the input has no max and no average: refuse it rather than emit
  // -Infinity or NaN. (PyTorch forbids it up front with pad <= kernel / 2.)
  for (const [name, axis] of [['height', info.h], ['width', info.w]] as const) {
    const empty = poolTapCounts(axis).valid.indexOf(0);
    if (empty >= 0) {
      throw new RangeError(
        `${op}: output ${name} position ${empty} covers only padding (input ${axis.inSize}, kernel ${axis.kernel}, ` +
          `stride ${axis.stride}, dilation ${axis.dilation}, pads ${axis.padBegin}+${axis.padEnd})`,
      );
    }
  }
  return info;
}

/** Input index of tap k of output position o along one axis (may fall in the padding). */
function tapIndex(axis: WindowAxis, o: number, k: number): number {
  return o * axis.stride - axis.padBegin + k * axis.dilation;
}

/** Max over each window's taps inside the input; padding never wins. NaN propagates. */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const info = poolInfo('maxPool2d', x, opts);
  const [batch, channels, outH, outW] = info.outShape;
  const { h, w } = info;
  const xd = x.data;
  const y = new Float32Array(batch * channels * outH * outW);
  // NCHW: each (n, c) plane is contiguous, so plane p starts at p * H * W in x and p * OH * OW in y.
  for (let p = 0; p < batch * channels; p++) {
    const xPlane = p * h.inSize * w.inSize;
    const yPlane = p * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let m = -Infinity;
        for (let kh = 0; kh < h.kernel; kh++) {
          const ih = tapIndex(h, oh, kh);
          if (ih < 0 || ih >= h.inSize) continue;
          for (let kw = 0; kw < w.kernel; kw++) {
            const iw = tapIndex(w, ow, kw);
            if (iw < 0 || iw >= w.inSize) continue;
            const v = xd[xPlane + ih * w.inSize + iw];
            if (v > m || Number.isNaN(v)) m = v; // once NaN, m stays NaN
          }
        }
        y[yPlane + oh * outW + ow] = m;
      }
    }
  }
  return new Tensor(y, info.outShape);
}

/** Mean of each window; the divisor follows `countIncludePad` (see AvgPool2dOptions). */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const info = poolInfo('avgPool2d', x, opts);
  const [batch, channels, outH, outW] = info.outShape;
  const { h, w } = info;
  // Divisor of window (oh, ow) = taps along H times taps along W (a window is a product set).
  const countsH = poolTapCounts(h);
  const countsW = poolTapCounts(w);
  const divH = opts.countIncludePad ? countsH.padded : countsH.valid;
  const divW = opts.countIncludePad ? countsW.padded : countsW.valid;
  const xd = x.data;
  const y = new Float32Array(batch * channels * outH * outW);
  for (let p = 0; p < batch * channels; p++) {
    const xPlane = p * h.inSize * w.inSize;
    const yPlane = p * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let sum = 0; // float64 accumulator
        for (let kh = 0; kh < h.kernel; kh++) {
          const ih = tapIndex(h, oh, kh);
          if (ih < 0 || ih >= h.inSize) continue;
          for (let kw = 0; kw < w.kernel; kw++) {
            const iw = tapIndex(w, ow, kw);
            if (iw < 0 || iw >= w.inSize) continue;
            sum += xd[xPlane + ih * w.inSize + iw];
          }
        }
        y[yPlane + oh * outW + ow] = sum / (divH[oh] * divW[ow]);
      }
    }
  }
  return new Tensor(y, info.outShape);
}

/** Mean over H and W: NCHW [N, C, H, W] -> [N, C] (adaptive average pool to 1x1, then flatten). */
export function globalAvgPool(x: Tensor): Tensor {
  expectRank('globalAvgPool', 'input', x, 4, 'NCHW');
  const [batch, channels, height, width] = x.shape;
  const plane = height * width;
  if (plane === 0) throw new RangeError(`globalAvgPool: empty spatial size in [${x.shape.join(', ')}]`);
  const y = new Float32Array(batch * channels);
  // NCHW: plane p = n * C + c is contiguous; y is [N, C], so y[p] is its mean.
  for (let p = 0; p < batch * channels; p++) {
    let sum = 0; // float64 accumulator
    for (let i = 0; i < plane; i++) sum += x.data[p * plane + i];
    y[p] = sum / plane;
  }
  return new Tensor(y, [batch, channels]);
}
