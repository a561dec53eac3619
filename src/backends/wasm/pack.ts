/**
 * The packed weight layout of the GEMM microkernels (assembly/gemm.ts; packed once at load by
 * assembly/pack.ts).
 * Per group, the output channels are cut into panels of NR = 8; a panel is 8 bias floats, then
 * for each k in patch order (ky, kx, ci) the 8 weights of its columns (zeros past the group's end).
 * see: XNNPACK src/packing.c (xnn_pack_f32_gemm_goi_w, "bias first").
 */
import { writeFloat32 } from '../../weights/narrow.js';
import type { FusedWeight } from '../fuse.js';
import { ALIGN, alignUp } from './plan.js';

/** Columns per packed panel; equals NR in assembly/gemm.ts. */
export const PANEL = 8;

/** Floats of the packed weights of a conv (or a linear: 1x1, groups 1). */
export function packedConvFloats(outChannels: number, inPerGroup: number, kh: number, kw: number, groups: number): number {
  const k = kh * kw * inPerGroup;
  const panels = Math.ceil(outChannels / groups / PANEL);
  return groups * panels * (PANEL + PANEL * k);
}

/** Bytes of the fp16 packed weights of a conv (or linear): per panel NR bias floats, then NR binary16 weights per depth step. */
export function packedConvBytesF16(outChannels: number, inPerGroup: number, kh: number, kw: number, groups: number): number {
  const k = kh * kw * inPerGroup;
  const panels = Math.ceil(outChannels / groups / PANEL);
  return groups * panels * (PANEL * 4 + PANEL * 2 * k);
}

/**
 * Bytes of the int8 packed weights of a conv (or linear): per panel NR bias floats, NR scale
 * floats (one per column: symmetric per output channel) and NR int8 weights per depth step
 * (assembly/pack.ts pack_gemm_weights_q8), widened to f32 panels a chunk at a time by the GEMM.
 */
export function packedConvBytesQ8(outChannels: number, inPerGroup: number, kh: number, kw: number, groups: number): number {
  const k = kh * kw * inPerGroup;
  const panels = Math.ceil(outChannels / groups / PANEL);
  return groups * panels * (PANEL * 8 + PANEL * k);
}

/** Dtype codes of assembly/pack.ts pack_gemm_panels: of the source weights and of the panels. */
export const PANEL_DTYPE = { float32: 0, int8: 1, fp16: 2 } as const;
export type PanelDType = (typeof PANEL_DTYPE)[keyof typeof PANEL_DTYPE];

/** Narrow GEMM panels: int8 (with a scale per column) or fp16, widened inside the GEMM. */
export type NarrowPanels = 'int8' | 'fp16';

/** The dtype code of panels: float32, or the narrow kind given. */
export function panelDType(narrow: NarrowPanels | undefined): PanelDType {
  return narrow ? PANEL_DTYPE[narrow] : PANEL_DTYPE.float32;
}

/** Bytes of the GEMM panels of a conv (or a linear: 1x1, groups 1): float32, or the narrow kind given. */
export function packedPanelBytes(narrow: NarrowPanels | undefined, outChannels: number, inPerGroup: number, kh: number, kw: number, groups: number): number {
  if (narrow === 'int8') return packedConvBytesQ8(outChannels, inPerGroup, kh, kw, groups);
  if (narrow === 'fp16') return packedConvBytesF16(outChannels, inPerGroup, kh, kw, groups);
  return packedConvFloats(outChannels, inPerGroup, kh, kw, groups) * 4;
}

/** A weight staged in wasm memory for packing: its dtype code, where it and its int8 scales lie (byte addresses; wscale 0: none), and the first aligned byte after. */
export interface StagedWeight {
  readonly src: PanelDType;
  readonly weight: number;
  readonly wscale: number;
  readonly end: number;
}

/**
 * Bytes of weights staged per packer call: a weight is copied into wasm memory and packed a piece
 * of its output channels at a time (whole panels, or whole groups), so that its staging area stays
 * small (fresh wasm memory is slow to touch the first time) and in cache for the packer.
 */
export const STAGE_CHUNK = 256 * 1024;

/** Bytes per output channel of a weight (`channels` in all) as stageWeight copies it: float32 (or widened), int8 values and their scale, or fp16 bits. */
function channelBytes(w: FusedWeight, channels: number, widen: boolean): number {
  const depth = w.length / channels;
  if (w instanceof Float32Array || widen) return depth * 4;
  return w.stored.dtype === 'float16' ? depth * 2 : depth + 4;
}

/**
 * The [from, to) output-channel ranges a weight of `channels` output channels is staged and
 * packed in: whole units of `unit` channels (a panel, or a group), about STAGE_CHUNK bytes each.
 */
export function stagingChunks(w: FusedWeight, channels: number, unit: number, widen = false): [number, number][] {
  const per = Math.max(1, Math.floor(STAGE_CHUNK / (unit * channelBytes(w, channels, widen)))) * unit;
  const chunks: [number, number][] = [];
  for (let from = 0; from < channels; from += per) chunks.push([from, Math.min(channels, from + per)]);
  return chunks;
}

/** Bytes of staging the packing of a weight takes: `channels` floats (a BN scale or a bias), then its largest chunk, each aligned. */
export function stagingBytes(w: FusedWeight, channels: number, unit: number, widen = false): number {
  const [from, to] = stagingChunks(w, channels, unit, widen)[0];
  return alignUp(channels * 4) + (to - from) * channelBytes(w, channels, widen) + 3 * ALIGN;
}

/**
 * Copies output channels [from, to) of a fused weight of `channels` output channels into wasm
 * memory at `at` (ALIGN-aligned) for the packers: as it is stored (float32; int8 values then
 * their float32 scales; fp16 bits), so that no float32 copy of a narrow weight is made in the JS
 * heap, or with `widen` as float32 (for the Winograd packer, which reads float32 only; int8 widens
 * to q * scale rounded once, as readCheckpoint does).
 */
export function stageWeight(memory: ArrayBuffer, at: number, w: FusedWeight, channels: number, from: number, to: number, widen = false): StagedWeight {
  const depth = w.length / channels;
  const [a, b] = [from * depth, to * depth];
  if (w instanceof Float32Array || widen) {
    const f32 = new Float32Array(memory, at, b - a);
    if (w instanceof Float32Array) f32.set(w.subarray(a, b));
    else writeFloat32(w.stored, f32, 0, a, b);
    return { src: PANEL_DTYPE.float32, weight: at, wscale: 0, end: alignUp(at + 4 * (b - a)) };
  }
  const d = w.stored;
  if (d.dtype === 'float16') {
    new Uint16Array(memory, at, b - a).set(d.bits.subarray(a, b));
    return { src: PANEL_DTYPE.fp16, weight: at, wscale: 0, end: alignUp(at + 2 * (b - a)) };
  }
  new Int8Array(memory, at, b - a).set(d.q.subarray(a, b));
  const wscale = alignUp(at + b - a);
  new Float32Array(memory, wscale, to - from).set(d.scale.subarray(from, to));
  return { src: PANEL_DTYPE.int8, weight: at, wscale, end: alignUp(wscale + 4 * (to - from)) };
}
