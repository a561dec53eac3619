/**
 * The packed weight layout of the GEMM microkernels (assembly/gemm.ts; packed once at load by
 * assembly/pack.ts).
 * Per group, the output channels are cut into panels of NR = 8; a panel is 8 bias floats, then
 * for each k in patch order (ky, kx, ci) the 8 weights of its columns (zeros past the group's end).
 * see: XNNPACK src/packing.c (xnn_pack_f32_gemm_goi_w, "bias first").
 */

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
