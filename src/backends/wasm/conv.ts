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
 * Weights are packed at load by wasm kernels (assembly/pack.ts), the BN scale folded in on the way.
 *   gemm      everything else (assembly/gemm.ts conv2d_nhwc): 1x1 stride-1 unpadded convs read the
 *             activations as the GEMM's A directly; other convs go through blocked im2col; each
 *             group runs its own GEMM on its part of the shared im2col rows (ResNeXt pays no
 *             padding between groups).
 */
import type { FusedConv } from '../fuse.js';
import type { KernelExports } from './kernels.js';
import type { ParallelKernel } from './threads.js';
import { PANEL_DTYPE, packedConvFloats, packedPanelBytes, panelDType, type NarrowPanels, type PanelDType } from './pack.js';

export type { NarrowPanels } from './pack.js';

export type ConvMethod = 'gemm' | 'winograd' | 'winograd-s2' | 'grouped' | 'stem';

/** The geometry a conv kernel is chosen by (a FusedConv satisfies it). */
export type ConvGeometry = Pick<FusedConv, 'inChannels' | 'outChannels' | 'kernel' | 'stride' | 'dilation' | 'groups'>;

/** The kernel for a conv; `winograd: false` gives what runs while a Winograd conv's sets are not made yet. */
export function convMethod(c: ConvGeometry, winograd = true): ConvMethod {
  const is3x3 = c.kernel[0] === 3 && c.kernel[1] === 3;
  const plain = c.dilation[0] === 1 && c.dilation[1] === 1 && c.groups === 1;
  if (winograd && is3x3 && plain && c.inChannels % 4 === 0 && c.outChannels % 4 === 0) {
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
export function isWinograd(method: ConvMethod): boolean {
  return method === 'winograd' || method === 'winograd-s2';
}

/** Floats of the packed weights of a conv for its method. */
export function convPackedFloats(c: ConvGeometry, method: ConvMethod = convMethod(c)): number {
  // Both Winograd kernels run 36 GEMMs of depth cin, each with its own weight set.
  if (isWinograd(method)) return 36 * packedConvFloats(c.outChannels, c.inChannels, 1, 1, 1);
  return packedConvFloats(c.outChannels, c.inChannels / c.groups, c.kernel[0], c.kernel[1], c.groups);
}

/** Whether a conv's method can keep narrow panels: the im2col / direct GEMM (the stem and grouped kernels read f32 panels, Winograd sets are f32). */
export function takesNarrow(method: ConvMethod): boolean {
  return method === 'gemm';
}

/** Bytes of the packed weights of a conv for its method: narrow panels when `narrow` is given (the method must take them). */
export function convPackedBytes(c: ConvGeometry, method: ConvMethod, narrow?: NarrowPanels): number {
  if (narrow) return packedPanelBytes(narrow, c.outChannels, c.inChannels / c.groups, c.kernel[0], c.kernel[1], c.groups);
  return convPackedFloats(c, method) * 4;
}

/** Where a conv's raw weights lie in wasm memory for packing (byte addresses; 0: none). */
export interface RawConvWeights {
  /**
   * OIHW [outChannels, inChannels / groups, kh, kw], stored as `src` says (stageWeight); packing
   * output channels [from, to), channel `from`'s filters first.
   */
  readonly weight: number;
  /** The weight's dtype code (PANEL_DTYPE); default float32. */
  readonly src?: PanelDType;
  /** An int8 weight's scales, channel `from`'s first; 0 or absent: none. */
  readonly wscale?: number;
  /** [outChannels], multiplied into the weights (a folded BN); 0: none. */
  readonly scale: number;
  /** [outChannels]; 0: zeros. Winograd sets carry no bias (the output transform adds it; see runConv). */
  readonly bias: number;
}

/**
 * Packs a conv's raw weights (scale folded in) for its method into dst (convPackedBytes(c, method,
 * narrow) bytes), in wasm: GEMM panels from weights staged as stored (float32, int8 or fp16; see
 * stageWeight) into float32 panels, or narrow ones when `narrow` is given; Winograd sets from
 * float32 weights only (stage them widened). Only output channels [from, to) are packed (default:
 * all; a piece of whole panels, or of whole groups, as stagingChunks cuts them), into their place
 * in dst; `sets` as pack_winograd_weights takes it. With `threads` (the pool's call, and the
 * scratch its parts use), each thread packs its own panels (pack_winograd_part, pack_gemm_part:
 * the same bytes); GEMM panels so only for one group, into float32.
 */
export function packConv(
  k: KernelExports, c: ConvGeometry, dst: number, raw: RawConvWeights, method: ConvMethod = convMethod(c), narrow?: NarrowPanels, from = 0, to = c.outChannels, sets = 0,
  threads?: { readonly call: KernelCall; readonly scratch: number },
): void {
  if (isWinograd(method)) {
    if ((raw.src ?? PANEL_DTYPE.float32) !== PANEL_DTYPE.float32) throw new Error(`wasm backend: the Winograd weights of a conv must be staged as float32, found dtype code ${raw.src}`);
    const args = [c.stride[0], c.outChannels, c.inChannels, from, to, raw.weight, raw.scale, dst, sets] as const;
    if (threads) threads.call('pack_winograd_part', [...args, threads.scratch]);
    else k.pack_winograd_weights(...args);
    return;
  }
  const [kh, kw] = c.kernel;
  const cinG = c.inChannels / c.groups;
  const coutG = c.outChannels / c.groups;
  const grouped = c.groups > 1;
  // The panels before channel `from`: whole groups, or whole panels of one group.
  const offset = from === 0 ? 0 : packedPanelBytes(narrow, from, cinG, kh, kw, grouped ? from / coutG : 1);
  const perChannel = (p: number) => (p === 0 ? 0 : p + from * 4);
  // The stem kernel reads its depth in the order (kx, ky, ci): its weights go with the kernel's axes swapped.
  const swap = method === 'stem' ? 1 : 0;
  const src = raw.src ?? PANEL_DTYPE.float32;
  if (threads) {
    if (grouped || narrow) throw new Error(`wasm backend: GEMM panels are packed on threads for one group into float32 only (groups ${c.groups}, panels ${narrow ?? 'float32'})`);
    threads.call('pack_gemm_part', [to - from, cinG, kh, kw, swap, src, raw.weight, raw.wscale ?? 0, perChannel(raw.scale), perChannel(raw.bias), dst + offset]);
    return;
  }
  k.pack_gemm_panels(to - from, cinG, kh, kw, grouped ? (to - from) / coutG : 1, swap, src, raw.weight, raw.wscale ?? 0, perChannel(raw.scale), perChannel(raw.bias), dst + offset, panelDType(narrow));
}

/**
 * Scratch bytes the conv needs for this kernel set and an output of NCHW shape `outShape`: the
 * im2col block and its packed GEMM rows, the Winograd V/M block, or the stem's row buffer.
 */
export function convScratchBytes(
  k: KernelExports,
  c: ConvGeometry & Pick<FusedConv, 'pads'>,
  outShape: readonly number[],
  method: ConvMethod = convMethod(c),
): number {
  const [b, , oh, ow] = outShape;
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
  /** 0: f32 panels; else the panels are narrow and this is the GEMM's widening scratch. */
  readonly wide: number;
  /** 1: the narrow panels are fp16; 0: int8. */
  readonly half: number;
  /** Winograd: bytes from one weight set to the next (0 or absent: the whole conv's layout). */
  readonly sets?: number;
}

/** Runs a threaded kernel with its arguments (the wasm backend's pool, or the whole kernel here). */
export type KernelCall = (name: ParallelKernel, args: readonly number[]) => void;

/**
 * Runs one conv on NHWC buffers. inShape / outShape are the NCHW shapes of input and output.
 * pads are [top, left, ...] (src/shape.ts); the output size already accounts for the bottom/right.
 * `call` runs the kernel (default: whole, on this thread).
 */
export function runConv(
  k: KernelExports,
  c: ConvGeometry & Pick<FusedConv, 'pads' | 'relu'>,
  inShape: readonly number[],
  outShape: readonly number[],
  buf: ConvBuffers,
  method: ConvMethod = convMethod(c),
  call: KernelCall = (name, args) => (k[name] as (...a: number[]) => void)(...args),
): void {
  const [n, cin, h, w] = inShape;
  const [, cout, oh, ow] = outShape;
  const relu = c.relu ? 1 : 0;
  if (isWinograd(method)) {
    call('winograd_nhwc', [c.stride[0], n, h, w, cin, oh, ow, cout, c.pads[0], c.pads[1], buf.input, buf.packed, buf.bias, buf.output, buf.residual, relu, buf.scratch, buf.sets ?? 0]);
    return;
  }
  if (method === 'stem') {
    call('conv7x7s2c3_nhwc', [n, h, w, oh, ow, cout, c.pads[0], c.pads[1], buf.input, buf.packed, buf.output, buf.residual, relu, buf.scratch]);
    return;
  }
  const geometry = [
    n, h, w, cin, oh, ow, cout,
    c.kernel[0], c.kernel[1], c.stride[0], c.stride[1], c.pads[0], c.pads[1], c.dilation[0], c.dilation[1], c.groups,
  ] as const;
  if (method === 'grouped') {
    call('grouped_conv_nhwc', [...geometry, buf.input, buf.packed, buf.output, buf.residual, relu]);
  } else {
    call('conv2d_nhwc', [...geometry, buf.input, buf.packed, buf.output, buf.residual, relu, buf.scratch, buf.wide, buf.half]);
  }
}
