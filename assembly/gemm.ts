// f32 GEMM on packed weight panels, and convolution as GEMM (NHWC activations).
//
// Packed weights ("bias first", see: XNNPACK src/packing.c xnn_pack_f32_gemm_goi_w): the output
// columns are cut into panels of NR = 8; each panel is 8 bias floats followed by K rows of 8
// weights (columns past the end are zero). A panel is (8 + 8K) floats.
//
// The microkernel computes an MR x 8 tile with 2*MR f32x4 accumulators named by tile position
// (vacc{row}x{col4}). MR is 6 where relaxed SIMD gives a fused multiply-add (12 accumulators)
// and 5 otherwise: mul + add needs a temporary register and 6 rows spill in V8 (measured here).

/** Rows of the microkernel tile. */
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 5;
/** Columns of the microkernel tile and of a packed panel. */
export const NR: i32 = 8;
/** Whether the depth loop of the microkernel runs two k steps per iteration. */
const UNROLL_K2: bool = !ASC_FEATURE_RELAXED_SIMD;

/** acc + a * b; fused (one rounding or two, hardware's choice) in the relaxed build. */
// @ts-ignore: decorator
@inline function mac(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, acc);
  } else {
    return f32x4.add(acc, f32x4.mul(a, b));
  }
}

/** Adds the residual row (when r != 0) and applies ReLU (when relu). */
// @ts-ignore: decorator
@inline function epilogue(acc: v128, r: usize, off: usize, relu: bool): v128 {
  if (r != 0) acc = f32x4.add(acc, v128.load(r + off));
  if (relu) acc = f32x4.max(acc, f32x4.splat(0));
  return acc;
}

/** Stores the first nc (< 8) lanes of [lo, hi] at c (hi unused when nc <= 4): the `& 4 / & 2 / & 1` tail pattern. */
// @ts-ignore: decorator
@inline function storeTail(c: usize, lo: v128, hi: v128, nc: i32): void {
  if (nc & 4) {
    v128.store(c, lo);
    lo = hi;
    c += 16;
  }
  if (nc & 2) {
    v128.store64_lane(c, lo, 0);
    lo = i64x2.shuffle(lo, lo, 1, 1);
    c += 8;
  }
  if (nc & 1) v128.store32_lane(c, lo, 0);
}

/**
 * f32_gemm_MRx8__simd: one tile of C[mr x nc] = A[mr x K] * W + bias (+ R) (then ReLU), with
 * mr <= MR and nc <= 8 columns of one packed panel w. Strides are in bytes. Rows past mr alias
 * the last real row (XNNPACK's pattern), so they compute and store the same values again.
 */
function f32_gemm_MRx8(
  mr: i32, nc: i32, kc: i32,
  a: usize, lda: usize, w: usize,
  c: usize, ldc: usize, r: usize, ldr: usize, relu: bool,
): void {
  const a0 = a;
  const c0 = c;
  const r0 = r;
  const a1 = mr > 1 ? a0 + lda : a0;
  const c1 = mr > 1 ? c0 + ldc : c0;
  const r1 = mr > 1 && r != 0 ? r0 + ldr : r0;
  const a2 = mr > 2 ? a1 + lda : a1;
  const c2 = mr > 2 ? c1 + ldc : c1;
  const r2 = mr > 2 && r != 0 ? r1 + ldr : r1;
  const a3 = mr > 3 ? a2 + lda : a2;
  const c3 = mr > 3 ? c2 + ldc : c2;
  const r3 = mr > 3 && r != 0 ? r2 + ldr : r2;
  const a4 = mr > 4 ? a3 + lda : a3;
  const c4 = mr > 4 ? c3 + ldc : c3;
  const r4 = mr > 4 && r != 0 ? r3 + ldr : r3;
  const a5 = mr > 5 ? a4 + lda : a4;
  const c5 = mr > 5 ? c4 + ldc : c4;
  const r5 = mr > 5 && r != 0 ? r4 + ldr : r4;

  let vacc0x0 = v128.load(w);
  let vacc0x4 = v128.load(w, 16);
  let vacc1x0 = vacc0x0, vacc1x4 = vacc0x4;
  let vacc2x0 = vacc0x0, vacc2x4 = vacc0x4;
  let vacc3x0 = vacc0x0, vacc3x4 = vacc0x4;
  let vacc4x0 = vacc0x0, vacc4x4 = vacc0x4;
  let vacc5x0 = vacc0x0, vacc5x4 = vacc0x4;
  w += 32;

  const kbytes = <usize>kc << 2;
  let k: usize = 0;
  // Two k steps per iteration in the plain build (10% faster here); the relaxed build's 12
  // accumulators leave no registers for it and run one step at a time (measured).
  if (UNROLL_K2) {
    for (; k + 8 <= kbytes; k += 8) {
      const vb0k0 = v128.load(w);
      const vb4k0 = v128.load(w, 16);
      const va0k0 = v128.load32_splat(a0 + k);
      vacc0x0 = mac(vacc0x0, va0k0, vb0k0);
      vacc0x4 = mac(vacc0x4, va0k0, vb4k0);
      const va1k0 = v128.load32_splat(a1 + k);
      vacc1x0 = mac(vacc1x0, va1k0, vb0k0);
      vacc1x4 = mac(vacc1x4, va1k0, vb4k0);
      const va2k0 = v128.load32_splat(a2 + k);
      vacc2x0 = mac(vacc2x0, va2k0, vb0k0);
      vacc2x4 = mac(vacc2x4, va2k0, vb4k0);
      const va3k0 = v128.load32_splat(a3 + k);
      vacc3x0 = mac(vacc3x0, va3k0, vb0k0);
      vacc3x4 = mac(vacc3x4, va3k0, vb4k0);
      const va4k0 = v128.load32_splat(a4 + k);
      vacc4x0 = mac(vacc4x0, va4k0, vb0k0);
      vacc4x4 = mac(vacc4x4, va4k0, vb4k0);
      if (MR > 5) {
        const va5k0 = v128.load32_splat(a5 + k);
        vacc5x0 = mac(vacc5x0, va5k0, vb0k0);
        vacc5x4 = mac(vacc5x4, va5k0, vb4k0);
      }
      const vb0k1 = v128.load(w, 32);
      const vb4k1 = v128.load(w, 48);
      const va0k1 = v128.load32_splat(a0 + k, 4);
      vacc0x0 = mac(vacc0x0, va0k1, vb0k1);
      vacc0x4 = mac(vacc0x4, va0k1, vb4k1);
      const va1k1 = v128.load32_splat(a1 + k, 4);
      vacc1x0 = mac(vacc1x0, va1k1, vb0k1);
      vacc1x4 = mac(vacc1x4, va1k1, vb4k1);
      const va2k1 = v128.load32_splat(a2 + k, 4);
      vacc2x0 = mac(vacc2x0, va2k1, vb0k1);
      vacc2x4 = mac(vacc2x4, va2k1, vb4k1);
      const va3k1 = v128.load32_splat(a3 + k, 4);
      vacc3x0 = mac(vacc3x0, va3k1, vb0k1);
      vacc3x4 = mac(vacc3x4, va3k1, vb4k1);
      const va4k1 = v128.load32_splat(a4 + k, 4);
      vacc4x0 = mac(vacc4x0, va4k1, vb0k1);
      vacc4x4 = mac(vacc4x4, va4k1, vb4k1);
      if (MR > 5) {
        const va5k1 = v128.load32_splat(a5 + k, 4);
        vacc5x0 = mac(vacc5x0, va5k1, vb0k1);
        vacc5x4 = mac(vacc5x4, va5k1, vb4k1);
      }
      w += 64;
    }
  }
  for (; k < kbytes; k += 4) {
    const vb0 = v128.load(w);
    const vb4 = v128.load(w, 16);
    const va0 = v128.load32_splat(a0 + k);
    vacc0x0 = mac(vacc0x0, va0, vb0);
    vacc0x4 = mac(vacc0x4, va0, vb4);
    const va1 = v128.load32_splat(a1 + k);
    vacc1x0 = mac(vacc1x0, va1, vb0);
    vacc1x4 = mac(vacc1x4, va1, vb4);
    const va2 = v128.load32_splat(a2 + k);
    vacc2x0 = mac(vacc2x0, va2, vb0);
    vacc2x4 = mac(vacc2x4, va2, vb4);
    const va3 = v128.load32_splat(a3 + k);
    vacc3x0 = mac(vacc3x0, va3, vb0);
    vacc3x4 = mac(vacc3x4, va3, vb4);
    const va4 = v128.load32_splat(a4 + k);
    vacc4x0 = mac(vacc4x0, va4, vb0);
    vacc4x4 = mac(vacc4x4, va4, vb4);
    if (MR > 5) {
      const va5 = v128.load32_splat(a5 + k);
      vacc5x0 = mac(vacc5x0, va5, vb0);
      vacc5x4 = mac(vacc5x4, va5, vb4);
    }
    w += 32;
  }

  vacc0x0 = epilogue(vacc0x0, r0, 0, relu);
  vacc0x4 = epilogue(vacc0x4, r0, 16, relu);
  vacc1x0 = epilogue(vacc1x0, r1, 0, relu);
  vacc1x4 = epilogue(vacc1x4, r1, 16, relu);
  vacc2x0 = epilogue(vacc2x0, r2, 0, relu);
  vacc2x4 = epilogue(vacc2x4, r2, 16, relu);
  vacc3x0 = epilogue(vacc3x0, r3, 0, relu);
  vacc3x4 = epilogue(vacc3x4, r3, 16, relu);
  vacc4x0 = epilogue(vacc4x0, r4, 0, relu);
  vacc4x4 = epilogue(vacc4x4, r4, 16, relu);
  if (MR > 5) {
    vacc5x0 = epilogue(vacc5x0, r5, 0, relu);
    vacc5x4 = epilogue(vacc5x4, r5, 16, relu);
  }

  // Aliased rows hold the same values as the row they alias, so the store order does not matter.
  if (nc == 8) {
    if (MR > 5) {
      v128.store(c5, vacc5x0);
      v128.store(c5, vacc5x4, 16);
    }
    v128.store(c4, vacc4x0);
    v128.store(c4, vacc4x4, 16);
    v128.store(c3, vacc3x0);
    v128.store(c3, vacc3x4, 16);
    v128.store(c2, vacc2x0);
    v128.store(c2, vacc2x4, 16);
    v128.store(c1, vacc1x0);
    v128.store(c1, vacc1x4, 16);
    v128.store(c0, vacc0x0);
    v128.store(c0, vacc0x4, 16);
  } else {
    if (MR > 5) storeTail(c5, vacc5x0, vacc5x4, nc);
    storeTail(c4, vacc4x0, vacc4x4, nc);
    storeTail(c3, vacc3x0, vacc3x4, nc);
    storeTail(c2, vacc2x0, vacc2x4, nc);
    storeTail(c1, vacc1x0, vacc1x4, nc);
    storeTail(c0, vacc0x0, vacc0x4, nc);
  }
}

/** Rows of the narrow microkernel tile (f32_gemm_8x4), used for panels with at most 4 columns. */
export const MR_NARROW: i32 = 8;

/**
 * f32_gemm_8x4__simd: one tile of C[mr x nc] with mr <= 8 and nc <= 4, from the first 4 columns
 * of a packed panel: the last panel of a GEMM whose n mod 8 is 1..4, e.g. every group of a
 * ResNeXt 32x4d stage-1 conv (4 output channels per group), where the MRx8 tile would compute
 * 4 zero columns. 8 accumulators; rows past mr alias the last real row.
 */
function f32_gemm_8x4(
  mr: i32, nc: i32, kc: i32,
  a: usize, lda: usize, w: usize,
  c: usize, ldc: usize, r: usize, ldr: usize, relu: bool,
): void {
  const a0 = a;
  const c0 = c;
  const r0 = r;
  const a1 = mr > 1 ? a0 + lda : a0;
  const c1 = mr > 1 ? c0 + ldc : c0;
  const r1 = mr > 1 && r != 0 ? r0 + ldr : r0;
  const a2 = mr > 2 ? a1 + lda : a1;
  const c2 = mr > 2 ? c1 + ldc : c1;
  const r2 = mr > 2 && r != 0 ? r1 + ldr : r1;
  const a3 = mr > 3 ? a2 + lda : a2;
  const c3 = mr > 3 ? c2 + ldc : c2;
  const r3 = mr > 3 && r != 0 ? r2 + ldr : r2;
  const a4 = mr > 4 ? a3 + lda : a3;
  const c4 = mr > 4 ? c3 + ldc : c3;
  const r4 = mr > 4 && r != 0 ? r3 + ldr : r3;
  const a5 = mr > 5 ? a4 + lda : a4;
  const c5 = mr > 5 ? c4 + ldc : c4;
  const r5 = mr > 5 && r != 0 ? r4 + ldr : r4;
  const a6 = mr > 6 ? a5 + lda : a5;
  const c6 = mr > 6 ? c5 + ldc : c5;
  const r6 = mr > 6 && r != 0 ? r5 + ldr : r5;
  const a7 = mr > 7 ? a6 + lda : a6;
  const c7 = mr > 7 ? c6 + ldc : c6;
  const r7 = mr > 7 && r != 0 ? r6 + ldr : r6;

  let vacc0 = v128.load(w);
  let vacc1 = vacc0, vacc2 = vacc0, vacc3 = vacc0, vacc4 = vacc0, vacc5 = vacc0, vacc6 = vacc0, vacc7 = vacc0;
  w += 32;
  const kbytes = <usize>kc << 2;
  for (let k: usize = 0; k < kbytes; k += 4) {
    const vb = v128.load(w);
    w += 32;
    vacc0 = mac(vacc0, v128.load32_splat(a0 + k), vb);
    vacc1 = mac(vacc1, v128.load32_splat(a1 + k), vb);
    vacc2 = mac(vacc2, v128.load32_splat(a2 + k), vb);
    vacc3 = mac(vacc3, v128.load32_splat(a3 + k), vb);
    vacc4 = mac(vacc4, v128.load32_splat(a4 + k), vb);
    vacc5 = mac(vacc5, v128.load32_splat(a5 + k), vb);
    vacc6 = mac(vacc6, v128.load32_splat(a6 + k), vb);
    vacc7 = mac(vacc7, v128.load32_splat(a7 + k), vb);
  }
  storeTail(c7, epilogue(vacc7, r7, 0, relu), vacc7, nc);
  storeTail(c6, epilogue(vacc6, r6, 0, relu), vacc6, nc);
  storeTail(c5, epilogue(vacc5, r5, 0, relu), vacc5, nc);
  storeTail(c4, epilogue(vacc4, r4, 0, relu), vacc4, nc);
  storeTail(c3, epilogue(vacc3, r3, 0, relu), vacc3, nc);
  storeTail(c2, epilogue(vacc2, r2, 0, relu), vacc2, nc);
  storeTail(c1, epilogue(vacc1, r1, 0, relu), vacc1, nc);
  storeTail(c0, epilogue(vacc0, r0, 0, relu), vacc0, nc);
}

/** Floats in one packed panel of depth k. */
// @ts-ignore: decorator
@inline export function panelFloats(k: i32): i32 {
  return NR + NR * k;
}

/**
 * C[m x n] = A[m x k] * W + bias (+ R) (then ReLU) over all panels of w. Strides in floats.
 * Loops panels outside and row tiles inside, so one panel (8k floats) stays in L1 while the
 * rows of A stream from L2 (see: Goto & van de Geijn 2008, "Anatomy of high-performance GEMM").
 */
export function f32_gemm(
  m: i32, n: i32, k: i32,
  a: usize, lda: i32, w: usize,
  c: usize, ldc: i32, r: usize, ldr: i32, relu: bool,
): void {
  const ldaB = <usize>lda << 2;
  const ldcB = <usize>ldc << 2;
  const ldrB = <usize>ldr << 2;
  const panelB = <usize>panelFloats(k) << 2;
  for (let j = 0; j < n; j += NR) {
    const nc = min(NR, n - j);
    const jB = <usize>j << 2;
    if (nc <= 4) {
      for (let i = 0; i < m; i += MR_NARROW) {
        const iB = <usize>i;
        f32_gemm_8x4(
          min(MR_NARROW, m - i), nc, k,
          a + iB * ldaB, ldaB, w,
          c + iB * ldcB + jB, ldcB, r != 0 ? r + iB * ldrB + jB : 0, ldrB, relu,
        );
      }
    } else {
      for (let i = 0; i < m; i += MR) {
        const iB = <usize>i;
        f32_gemm_MRx8(
          min(MR, m - i), nc, k,
          a + iB * ldaB, ldaB, w,
          c + iB * ldcB + jB, ldcB, r != 0 ? r + iB * ldrB + jB : 0, ldrB, relu,
        );
      }
    }
    w += panelB;
  }
}

/** Bytes of A one GEMM block keeps in L2 (Zen 4 has 1 MiB; leave room for the panel and C). */
const BLOCK_BYTES: i32 = 256 * 1024;

/** Groups whose part of the im2col rows one block is sized for (measured: 4 is as fast as all). */
const GROUPS_PER_BLOCK: i32 = 4;

/** Rows of A per block for depth k: a multiple of MR, at least MR. */
function blockRows(k: i32): i32 {
  const rows = BLOCK_BYTES / (k << 2);
  return max(MR, rows - rows % MR);
}

/**
 * Rows of one conv2d_nhwc block: sized so that the part of the block's im2col rows that a few
 * groups read stays in L2 (one group's part alone would make blocks of grouped convs too short).
 */
// @ts-ignore: decorator
@inline function convBlockRows(kh: i32, kw: i32, cin: i32, groups: i32): i32 {
  return blockRows(kh * kw * (cin / groups) * min(groups, GROUPS_PER_BLOCK));
}

/** Scratch bytes conv2d_nhwc needs: one block of im2col rows (a direct 1x1 conv leaves it unused). */
export function conv_scratch_bytes(kh: i32, kw: i32, cin: i32, groups: i32): i32 {
  return convBlockRows(kh, kw, cin, groups) * kh * kw * cin * 4;
}

/**
 * Convolution of an NHWC input by packed weights (per group: ceil(coutG / 8) panels of depth
 * kh*kw*cinG, patch order (ky, kx, ci)) into an NHWC output, with the fused epilogue:
 * out = relu?(conv + bias + residual?). residual is NHWC of the output's shape, 0 if none.
 *
 * Dispatch: a 1x1 stride-1 unpadded conv reads the input rows as A directly (each group its
 * channel slice); every other conv first gathers a block of im2col rows (kh*kw*cin floats each,
 * group by group) into `scratch` (conv_scratch_bytes). Each group then runs its own GEMM on its
 * part of those rows, so grouped convs (ResNeXt) share one gather and pay no padding between groups.
 */
export function conv2d_nhwc(
  n: i32, h: i32, w: i32, cin: i32,
  oh: i32, ow: i32, cout: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, groups: i32,
  input: usize, packed: usize, output: usize, residual: usize, relu: bool, scratch: usize,
): void {
  const cinG = cin / groups;
  const coutG = cout / groups;
  const kG = kh * kw * cinG;
  const m = n * oh * ow;
  const groupPacked = <usize>((coutG + NR - 1) / NR) * (<usize>panelFloats(kG) << 2);
  const direct = kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0;
  // Blocks of rows keep A in L2 while every panel of W passes over it.
  const block = convBlockRows(kh, kw, cin, groups);
  for (let m0 = 0; m0 < m; m0 += block) {
    const mb = min(block, m - m0);
    const outRows = output + (<usize>m0 * cout << 2);
    const resRows = residual != 0 ? residual + (<usize>m0 * cout << 2) : 0;
    let a: usize;
    if (direct) {
      a = input + (<usize>m0 * cin << 2);
    } else {
      im2col_nhwc(m0, mb, h, w, cin, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, groups, input, scratch);
      a = scratch;
    }
    // Both layouts put group g's part of a row at g * kG floats, rows cin * kh * kw floats apart.
    for (let g = 0; g < groups; g++) {
      const gOut = <usize>(g * coutG) << 2;
      f32_gemm(
        mb, coutG, kG, a + (<usize>(g * kG) << 2), kh * kw * cin, packed + <usize>g * groupPacked,
        outRows + gOut, cout, resRows != 0 ? resRows + gOut : 0, cout, relu,
      );
    }
  }
}

/**
 * Gathers im2col rows m0 .. m0+mb into dst: row = output pixel; columns group by group, each
 * group's in patch order (ky, kx, ci) (one group: (ky, kx, c)); pixels in the padding are zeros.
 * With one group and no dilation, the taps of a kernel row are contiguous in NHWC memory and are
 * copied as one run.
 */
function im2col_nhwc(
  m0: i32, mb: i32, h: i32, w: i32, cin: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, groups: i32,
  input: usize, dst: usize,
): void {
  const pixB = <usize>cin << 2;
  const rowB = <usize>(kh * kw) * pixB;
  const cinG = cin / groups;
  const tapB = <usize>cinG << 2; // one tap of one group
  const groupB = <usize>(kh * kw) * tapB; // one group's part of a row
  const ohw = oh * ow;
  for (let i = 0; i < mb; i++, dst += rowB) {
    const m = m0 + i;
    const b = m / ohw;
    const rem = m - b * ohw;
    const y = rem / ow;
    const x = rem - y * ow;
    const ix0 = x * sw - pl;
    if (groups == 1 && dw == 1) {
      let d = dst;
      for (let ky = 0; ky < kh; ky++, d += <usize>kw * pixB) {
        const iy = y * sh - pt + ky * dh;
        if (iy < 0 || iy >= h) {
          memory.fill(d, 0, <usize>kw * pixB);
          continue;
        }
        // Taps kx in [lo, hi) are inside the input; the rest are padding.
        const lo = min(kw, max(0, -ix0));
        const hi = max(lo, min(kw, w - ix0));
        const src = input + <usize>((b * h + iy) * w + ix0 + lo) * pixB;
        if (lo > 0) memory.fill(d, 0, <usize>lo * pixB);
        copyFloats(d + <usize>lo * pixB, src, (hi - lo) * cin);
        if (hi < kw) memory.fill(d + <usize>hi * pixB, 0, <usize>(kw - hi) * pixB);
      }
      continue;
    }
    let tap: usize = 0;
    for (let ky = 0; ky < kh; ky++) {
      const iy = y * sh - pt + ky * dh;
      for (let kx = 0; kx < kw; kx++, tap += tapB) {
        const ix = ix0 + kx * dw;
        let d = dst + tap;
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
          let src = input + <usize>((b * h + iy) * w + ix) * pixB;
          for (let g = 0; g < groups; g++, d += groupB, src += tapB) copyFloats(d, src, cinG);
        } else {
          for (let g = 0; g < groups; g++, d += groupB) memory.fill(d, 0, tapB);
        }
      }
    }
  }
}

/** Copies count floats: f32x4 steps and a scalar tail (short runs: the RGB stem, small groups). */
// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, count: i32): void {
  const bytes = <usize>count << 2;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, v128.load(src + i));
  for (; i < bytes; i += 4) store<f32>(dst + i, load<f32>(src + i));
}
