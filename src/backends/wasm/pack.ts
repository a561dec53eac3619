/**
 * Weight packing for the GEMM microkernels (assembly/gemm.ts), done once at load.
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

/** Packs an OIHW weight [outChannels, inPerGroup, kh, kw] and its bias into `dst` (zeroed first). */
export function packConvWeights(
  dst: Float32Array,
  weight: Float32Array,
  bias: Float32Array,
  outChannels: number,
  inPerGroup: number,
  kh: number,
  kw: number,
  groups: number,
): void {
  const coutG = outChannels / groups;
  const k = kh * kw * inPerGroup;
  const panelFloats = PANEL + PANEL * k;
  const panels = Math.ceil(coutG / PANEL);
  dst.fill(0, 0, packedConvFloats(outChannels, inPerGroup, kh, kw, groups));
  let p = 0;
  for (let g = 0; g < groups; g++) {
    for (let panel = 0; panel < panels; panel++, p += panelFloats) {
      const cols = Math.min(PANEL, coutG - panel * PANEL);
      for (let j = 0; j < cols; j++) {
        const oc = g * coutG + panel * PANEL + j;
        dst[p + j] = bias[oc];
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            for (let ci = 0; ci < inPerGroup; ci++) {
              const kk = (ky * kw + kx) * inPerGroup + ci; // the im2col column (patch order ky, kx, ci)
              dst[p + PANEL + kk * PANEL + j] = weight[((oc * inPerGroup + ci) * kh + ky) * kw + kx];
            }
          }
        }
      }
    }
  }
}
