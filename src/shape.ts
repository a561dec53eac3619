/**
 * Shape math for convolution and pooling: output sizes, padding and pool divisors.
 * This is the only place that derives them; every backend calls these functions (see tfjs
 * `backend_util.computeConv2DInfo`). Semantics follow PyTorch, which the ONNX spec matches:
 *
 *   out = floor((in + padBegin + padEnd - ((k - 1) * d + 1)) / s) + 1            (floor mode)
 *   out = ceil (...) + 1, minus 1 if the last window starts in the end padding     (ceil mode)
 *
 * see: torch/csrc/.../Pool.h pooling_output_shape; onnx/docs/Operators.md#MaxPool
 */
import { shapeToString } from './tensor.js';

/** Padding of a 2-D window op: [top, left, bottom, right] (begin then end per axis, like ONNX `pads`). */
export type Pads4 = readonly [top: number, left: number, bottom: number, right: number];
export type Pair = readonly [h: number, w: number];

export type AutoPad = 'NOTSET' | 'VALID' | 'SAME_UPPER' | 'SAME_LOWER';

/** One spatial axis of a window op (conv or pool). */
export interface WindowAxis {
  readonly inSize: number;
  readonly outSize: number;
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  readonly padBegin: number;
  readonly padEnd: number;
}

/** Output size of one axis; throws when the window does not fit. */
export function windowOutputSize(
  inSize: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation = 1,
  ceilMode = false,
): number {
  const span = (kernel - 1) * dilation + 1;
  const room = inSize + padBegin + padEnd - span;
  if (room < 0) {
    throw new RangeError(
      `window of ${kernel} (dilation ${dilation}) does not fit an input of ${inSize} with padding ${padBegin}+${padEnd}`,
    );
  }
  let out = (ceilMode ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  // PyTorch and ONNX: in ceil mode, drop a last window that would start inside the end padding.
  if (ceilMode && (out - 1) * stride >= inSize + padBegin) out -= 1;
  return out;
}

/** Begin/end padding that `auto_pad` SAME_UPPER / SAME_LOWER / VALID implies (ONNX semantics). */
export function autoPadding(inSize: number, kernel: number, stride: number, dilation: number, mode: AutoPad): [number, number] {
  if (mode === 'VALID' || mode === 'NOTSET') return [0, 0];
  const out = Math.ceil(inSize / stride);
  const total = Math.max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - inSize);
  const small = Math.floor(total / 2);
  // SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the beginning.
  return mode === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
}

/** Everything a 2-D window op needs to index its input. */
export interface Window2d {
  readonly h: WindowAxis;
  readonly w: WindowAxis;
}

export interface WindowParams {
  readonly kernel: Pair;
  readonly stride?: Pair;
  readonly pads?: Pads4;
  readonly dilation?: Pair;
  readonly ceilMode?: boolean;
}

export function window2d(inH: number, inW: number, p: WindowParams): Window2d {
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride ?? [1, 1];
  const [dh, dw] = p.dilation ?? [1, 1];
  const [pt, pl, pb, pr] = p.pads ?? [0, 0, 0, 0];
  for (const v of [kh, kw, sh, sw, dh, dw]) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`kernel, stride and dilation must be positive integers, got ${v}`);
  }
  for (const v of [pt, pl, pb, pr]) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`padding must be non-negative integers, got ${v}`);
  }
  const ceil = p.ceilMode ?? false;
  return {
    h: { inSize: inH, outSize: windowOutputSize(inH, kh, sh, pt, pb, dh, ceil), kernel: kh, stride: sh, dilation: dh, padBegin: pt, padEnd: pb },
    w: { inSize: inW, outSize: windowOutputSize(inW, kw, sw, pl, pr, dw, ceil), kernel: kw, stride: sw, dilation: dw, padBegin: pl, padEnd: pr },
  };
}

export interface Conv2dParams extends WindowParams {
  readonly groups?: number;
}

export interface Conv2dInfo extends Window2d {
  readonly batch: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly groups: number;
  /** Output shape [N, Cout, Hout, Wout]. */
  readonly outShape: [number, number, number, number];
}

/**
 * Validates an NCHW input and an OIHW weight (I = Cin / groups) and returns the conv geometry.
 * Errors name what was expected and what was found.
 */
export function conv2dInfo(inShape: readonly number[], weightShape: readonly number[], p: Conv2dParams): Conv2dInfo {
  if (inShape.length !== 4) throw new RangeError(`conv2d expects an NCHW input of rank 4, got ${shapeToString(inShape)}`);
  if (weightShape.length !== 4) throw new RangeError(`conv2d expects an OIHW weight of rank 4, got ${shapeToString(weightShape)}`);
  const [n, c, h, w] = inShape;
  const [o, i, kh, kw] = weightShape;
  const groups = p.groups ?? 1;
  if (c % groups !== 0 || o % groups !== 0) {
    throw new RangeError(`conv2d groups=${groups} must divide input channels ${c} and output channels ${o}`);
  }
  if (i * groups !== c) {
    throw new RangeError(
      `conv2d weight ${shapeToString(weightShape)} expects ${i * groups} input channels (groups=${groups}), input ${shapeToString(inShape)} has ${c}`,
    );
  }
  if (p.kernel[0] !== kh || p.kernel[1] !== kw) {
    throw new RangeError(`conv2d kernel ${p.kernel.join('x')} does not match weight ${shapeToString(weightShape)}`);
  }
  const win = window2d(h, w, { ...p, ceilMode: false });
  return { ...win, batch: n, inChannels: c, outChannels: o, groups, outShape: [n, o, win.h.outSize, win.w.outSize] };
}

export interface Pool2dInfo extends Window2d {
  readonly outShape: [number, number, number, number];
}

export function pool2dInfo(inShape: readonly number[], p: WindowParams): Pool2dInfo {
  if (inShape.length !== 4) throw new RangeError(`pooling expects an NCHW input of rank 4, got ${shapeToString(inShape)}`);
  const [n, c, h, w] = inShape;
  const win = window2d(h, w, p);
  return { ...win, outShape: [n, c, win.h.outSize, win.w.outSize] };
}

/**
 * Per output position of one axis, how many window taps an average pool divides by.
 * `valid` counts taps inside the input; `padded` counts taps inside the input plus its explicit
 * padding but not the ceil-mode overhang beyond it (PyTorch's count_include_pad rule:
 * `hend = min(hstart + k, in + padEnd)`). The divisor of a 2-D window is the product over its axes.
 * see: aten/src/ATen/native/cpu/AvgPoolKernel.cpp
 */
export function poolTapCounts(axis: WindowAxis): { valid: Int32Array; padded: Int32Array } {
  const valid = new Int32Array(axis.outSize);
  const padded = new Int32Array(axis.outSize);
  for (let o = 0; o < axis.outSize; o++) {
    const start = o * axis.stride - axis.padBegin;
    for (let k = 0; k < axis.kernel; k++) {
      const x = start + k * axis.dilation;
      if (x >= 0 && x < axis.inSize) valid[o]++;
      if (x >= -axis.padBegin && x < axis.inSize + axis.padEnd) padded[o]++;
    }
  }
  return { valid, padded };
}
