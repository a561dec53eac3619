/**
 * Convolution dispatch for the wasm backend: which kernel runs a conv, how its weights are packed
 * (once, at load) and how much scratch it needs. The branches, in order:
 *   winograd  3x3, stride 1, dilation 1, groups 1, channels multiples of 4:
 *             Winograd F(4x4, 3x3) (assembly/winograd.ts; Lavin & Gray 2015).
 *   winograd-s2  the same with stride 2: the input split by row and column parity, F(4x4, 2x2) on
 *             the even taps and plain products on the others, 81 multiplies per 16 outputs
 *             instead of 144 (assembly/winograd.ts; Huang et al. 2020).
 *   grouped   groups > 1 with 4 or 8 output channels per group and input channels per group a
 *             multiple of 4 (ResNeXt 32x4d stages 1-2): a direct conv (assembly/grouped.ts) that
 *             reads the GEMM's packed weights, with no im2col and no packed copy of the input.
 *   stem      7x7, stride 2, 3 input channels, dilation 1, groups 1 (ResNet's stem): the GEMM
 *             microkernel reads its rows from a per-output-row buffer of the input's columns, with
 *             no im2col and no packing (assembly/gemm.ts conv7x7s2c3_nhwc); its weights are
 *             packed with the kernel's two axes swapped, the depth order that buffer gives.
 *   gemm      everything else (assembly/gemm.ts conv2d_nhwc): 1x1 stride-1 unpadded convs read the
 *             activations as the GEMM's A directly; other convs go through blocked im2col; each
 *             group runs its own GEMM on its part of the shared im2col rows (ResNeXt pays no
 *             padding between groups).
 */
import type { FusedConv } from '../fuse.js';
import type { KernelExports } from './kernels.js';
import { packConvWeights, packedConvFloats } from './pack.js';

export type ConvMethod = 'gemm' | 'winograd' | 'winograd-s2' | 'grouped' | 'stem';

/** The geometry a conv kernel is chosen by (a FusedConv satisfies it). */
export type ConvGeometry = Pick<FusedConv, 'inChannels' | 'outChannels' | 'kernel' | 'stride' | 'dilation' | 'groups'>;

export function convMethod(c: ConvGeometry): ConvMethod {
  const is3x3 = c.kernel[0] === 3 && c.kernel[1] === 3;
  const plain = c.dilation[0] === 1 && c.dilation[1] === 1 && c.groups === 1;
  if (is3x3 && plain && c.inChannels % 4 === 0 && c.outChannels % 4 === 0) {
    if (c.stride[0] === 1 && c.stride[1] === 1) return 'winograd';
    if (c.stride[0] === 2 && c.stride[1] === 2) return 'winograd-s2';
  }
  const is7x7s2 = c.kernel[0] === 7 && c.kernel[1] === 7 && c.stride[0] === 2 && c.stride[1] === 2;
  if (is7x7s2 && plain && c.inChannels === 3) return 'stem';
  const cinG = c.inChannels / c.groups;
  const coutG = c.outChannels / c.groups;
  if (c.groups > 1 && (coutG === 4 || coutG === 8) && cinG % 4 === 0) return 'grouped';
  return 'gemm';
}

/** Whether the method is one of the two Winograd kernels (assembly/winograd.ts winograd_nhwc, one per stride). */
function isWinograd(method: ConvMethod): boolean {
  return method === 'winograd' || method === 'winograd-s2';
}

/** Floats of the packed weights of a conv for its method. */
export function convPackedFloats(c: ConvGeometry): number {
  // Both Winograd kernels run 36 GEMMs of depth cin, each with its own weight set.
  if (isWinograd(convMethod(c))) return 36 * packedConvFloats(c.outChannels, c.inChannels, 1, 1, 1);
  return packedConvFloats(c.outChannels, c.inChannels / c.groups, c.kernel[0], c.kernel[1], c.groups);
}

/**
 * Packs OIHW weights + bias for the conv's method into dst (convPackedFloats(c) floats).
 * Winograd weights carry no bias (the output transform adds it; see runConv).
 */
export function packConv(dst: Float32Array, c: ConvGeometry, weight: Float32Array, bias: Float32Array): void {
  const cinG = c.inChannels / c.groups;
  const method = convMethod(c);
  if (method === 'stem') {
    packConvWeights(dst, swapKernelAxes(weight, c.outChannels * cinG, c.kernel[0], c.kernel[1]), bias, c.outChannels, cinG, c.kernel[1], c.kernel[0], 1);
    return;
  }
  if (!isWinograd(method)) {
    packConvWeights(dst, weight, bias, c.outChannels, cinG, c.kernel[0], c.kernel[1], c.groups);
    return;
  }
  const u = method === 'winograd' ? winogradWeights(weight, c.outChannels, c.inChannels) : winogradS2Weights(weight, c.outChannels, c.inChannels);
  const per = packedConvFloats(c.outChannels, c.inChannels, 1, 1, 1);
  const zeros = new Float32Array(c.outChannels);
  for (let xi = 0; xi < 36; xi++) {
    packConvWeights(dst.subarray(xi * per, (xi + 1) * per), u[xi], zeros, c.outChannels, c.inChannels, 1, 1, 1);
  }
}

/** The kernels of [planes, kh, kw] weights with their two axes swapped: [planes, kw, kh]. */
function swapKernelAxes(weight: Float32Array, planes: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(weight.length);
  for (let p = 0; p < planes; p++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) out[(p * kw + kx) * kh + ky] = weight[(p * kh + ky) * kw + kx];
    }
  }
  return out;
}

/** G of F(4x4, 3x3) (points 0, ±1, ±2, ∞): U = G g G^T. see: Lavin & Gray 2015. */
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];

/** The 36 transformed weight matrices U[xi] as [cout, cin] (xi = 6 * row + col), computed in float64. */
export function winogradWeights(weight: Float32Array, cout: number, cin: number): Float32Array[] {
  const u = Array.from({ length: 36 }, () => new Float32Array(cout * cin));
  const gg = new Float64Array(18); // G g, 6x3
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      const g = (o * cin + i) * 9;
      for (let r = 0; r < 6; r++) {
        for (let x = 0; x < 3; x++) gg[r * 3 + x] = G[r][0] * weight[g + x] + G[r][1] * weight[g + 3 + x] + G[r][2] * weight[g + 6 + x];
      }
      for (let r = 0; r < 6; r++) {
        for (let s = 0; s < 6; s++) {
          u[r * 6 + s][o * cin + i] = gg[r * 3] * G[s][0] + gg[r * 3 + 1] * G[s][1] + gg[r * 3 + 2] * G[s][2];
        }
      }
    }
  }
  return u;
}

/** G of F(4, 2) (points 0, 1, -1, 2, ∞), for the even taps of a stride-2 3x3 conv (assembly/winograd.ts). */
const G2 = [
  [1 / 2, 0],
  [-1 / 2, -1 / 2],
  [-1 / 6, 1 / 6],
  [1 / 6, 1 / 3],
  [0, 1],
];

/**
 * The 36 weight matrices [cout, cin] of the stride-2 kernel, in its slice order, computed in float64:
 * 25 EE sets G (g[0|2][0|2]) G^T (5 * row + column), 5 EO sets G (g[0][1], g[2][1]) by row,
 * 5 OE sets G (g[1][0], g[1][2]) by column, and g[1][1].
 */
export function winogradS2Weights(weight: Float32Array, cout: number, cin: number): Float32Array[] {
  const u = Array.from({ length: 36 }, () => new Float32Array(cout * cin));
  for (let at = 0; at < cout * cin; at++) {
    const p = at * 9;
    const g00 = weight[p], g01 = weight[p + 1], g02 = weight[p + 2];
    const g10 = weight[p + 3], g11 = weight[p + 4], g12 = weight[p + 5];
    const g20 = weight[p + 6], g21 = weight[p + 7], g22 = weight[p + 8];
    for (let r = 0; r < 5; r++) {
      const a = G2[r][0];
      const b = G2[r][1];
      // Row r of G (g[0|2][0|2]), then G^T along the columns.
      const e0 = a * g00 + b * g20;
      const e2 = a * g02 + b * g22;
      for (let s = 0; s < 5; s++) u[r * 5 + s][at] = G2[s][0] * e0 + G2[s][1] * e2;
      u[25 + r][at] = a * g01 + b * g21;
      u[30 + r][at] = a * g10 + b * g12;
    }
    u[35][at] = g11;
  }
  return u;
}

/**
 * Scratch bytes the conv needs for this kernel set and an output of NCHW shape `outShape`: the
 * im2col block and its packed GEMM rows, the Winograd V/M block, or the stem's row buffer.
 */
export function convScratchBytes(k: KernelExports, c: ConvGeometry & Pick<FusedConv, 'pads'>, outShape: readonly number[]): number {
  const [b, , oh, ow] = outShape;
  const method = convMethod(c);
  if (isWinograd(method)) return k.winograd_scratch_bytes(c.inChannels, c.outChannels, c.stride[0]);
  if (method === 'grouped') return 0;
  if (method === 'stem') return k.stem_scratch_bytes(ow);
  return k.conv_scratch_bytes(b * oh * ow, c.kernel[0], c.kernel[1], c.stride[0], c.stride[1], c.pads[0], c.pads[1], c.inChannels, c.groups);
}

/** Where a conv's tensors live (byte addresses in wasm memory; residual 0 when none). */
export interface ConvBuffers {
  readonly input: number;
  readonly packed: number;
  readonly bias: number;
  readonly output: number;
  readonly residual: number;
  readonly scratch: number;
}

/**
 * Runs one conv on NHWC buffers. inShape / outShape are the NCHW shapes of input and output.
 * pads are [top, left, ...] (src/shape.ts); the output size already accounts for the bottom/right.
 */
export function runConv(
  k: KernelExports,
  c: ConvGeometry & Pick<FusedConv, 'pads' | 'relu'>,
  inShape: readonly number[],
  outShape: readonly number[],
  buf: ConvBuffers,
): void {
  const [n, cin, h, w] = inShape;
  const [, cout, oh, ow] = outShape;
  const relu = c.relu ? 1 : 0;
  const method = convMethod(c);
  if (isWinograd(method)) {
    k.winograd_nhwc(c.stride[0], n, h, w, cin, oh, ow, cout, c.pads[0], c.pads[1], buf.input, buf.packed, buf.bias, buf.output, buf.residual, relu, buf.scratch);
    return;
  }
  if (method === 'stem') {
    k.conv7x7s2c3_nhwc(n, h, w, oh, ow, cout, c.pads[0], c.pads[1], buf.input, buf.packed, buf.output, buf.residual, relu, buf.scratch);
    return;
  }
  const geometry = [
    n, h, w, cin, oh, ow, cout,
    c.kernel[0], c.kernel[1], c.stride[0], c.stride[1], c.pads[0], c.pads[1], c.dilation[0], c.dilation[1], c.groups,
  ] as const;
  if (method === 'grouped') {
    k.grouped_conv_nhwc(...geometry, buf.input, buf.packed, buf.output, buf.residual, relu);
  } else {
    k.conv2d_nhwc(...geometry, buf.input, buf.packed, buf.output, buf.residual, relu, buf.scratch);
  }
}
