// f32 GEMM on packed weight panels, and convolution as GEMM (NHWC activations).
//
// Packed weights ("bias first", see: XNNPACK src/packing.c xnn_pack_f32_gemm_goi_w): the output
// columns are cut into panels of NR = 8; each panel is 8 bias floats followed by K rows of 8
// weights (columns past the end are zero). A panel is (8 + 8K) floats.
//
// A block of rows of A is packed once into panels of MR rows (packA), so the microkernel reads
// A at constant offsets from one pointer: with row pointers, V8 ran out of general registers and
// recomputed the row addresses in the depth loop (measured here: 33 -> 40 GFLOP/s plain, 40 -> 54
// relaxed on ResNet-50's 1x1 shapes).
//
// The microkernel computes an MR x 8 tile with 2*MR f32x4 accumulators named by tile position
// (vacc{row}x{col4}). MR is 6 where relaxed SIMD gives a fused multiply-add (12 accumulators)
// and 4 otherwise: mul + add needs a temporary register, and with 5 rows V8 issued all the
// row broadcasts first and spilled accumulators (measured: 29 GFLOP/s at 5 rows, 40 at 4).
// Two depth steps per iteration spilled too, in both builds (measured).

/** Rows of the microkernel tile. */
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;
/** Columns of the microkernel tile and of a packed panel. */
export const NR: i32 = 8;

/** acc + a * b; fused (one rounding or two, hardware's choice) in the relaxed build. */
// @ts-ignore: decorator
@inline export function mac(acc: v128, a: v128, b: v128): v128 {
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
 * Packs rows [mr x kc] of A (row stride ldaB bytes) into dst as kc groups of MR floats (row r of
 * step k at dst[k * MR + r]), so the microkernel reads A at constant offsets from one pointer.
 * Rows mr .. MR-1 repeat row mr-1: they compute that row's values again (see the stores).
 * Four depth steps of rows 0-3 go as one 4x4 transpose (four vector stores, where per-lane stores
 * took sixteen; measured with the row-tile order: ResNet-50 b1 per-node sum -1.3 ms plain).
 * see: Goto & van de Geijn 2008, "Anatomy of high-performance matrix multiplication" (packing A).
 */
function packA(mr: i32, kc: i32, a: usize, ldaB: usize, dst: usize): void {
  const kB = <usize>kc << 2;
  const a1 = mr > 1 ? a + ldaB : a;
  const a2 = mr > 2 ? a1 + ldaB : a1;
  const a3 = mr > 3 ? a2 + ldaB : a2;
  const a4 = mr > 4 ? a3 + ldaB : a3;
  const a5 = mr > 5 ? a4 + ldaB : a4;
  let d = dst;
  let k: usize = 0;
  for (; k + 16 <= kB; k += 16, d += MR * 16) {
    const x0 = v128.load(a + k);
    const x1 = v128.load(a1 + k);
    const x2 = v128.load(a2 + k);
    const x3 = v128.load(a3 + k);
    const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5);
    const t1 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
    const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
    v128.store(d, i64x2.shuffle(t0, t1, 0, 2));
    v128.store(d, i64x2.shuffle(t0, t1, 1, 3), MR * 4);
    v128.store(d, i64x2.shuffle(t2, t3, 0, 2), MR * 8);
    v128.store(d, i64x2.shuffle(t2, t3, 1, 3), MR * 12);
    if (MR > 4) {
      // Rows 4 and 5 (relaxed build): two floats per depth step.
      const x4 = v128.load(a4 + k);
      const x5 = v128.load(a5 + k);
      const u0 = i32x4.shuffle(x4, x5, 0, 4, 1, 5);
      const u1 = i32x4.shuffle(x4, x5, 2, 6, 3, 7);
      v128.store64_lane(d, u0, 0, 16);
      v128.store64_lane(d, u0, 1, MR * 4 + 16);
      v128.store64_lane(d, u1, 0, MR * 8 + 16);
      v128.store64_lane(d, u1, 1, MR * 12 + 16);
    }
  }
  for (; k < kB; k += 4, d += MR * 4) {
    store<f32>(d, load<f32>(a + k));
    store<f32>(d, load<f32>(a1 + k), 4);
    store<f32>(d, load<f32>(a2 + k), 8);
    store<f32>(d, load<f32>(a3 + k), 12);
    if (MR > 4) {
      store<f32>(d, load<f32>(a4 + k), 16);
      store<f32>(d, load<f32>(a5 + k), 20);
    }
  }
}

/**
 * f32_gemm_Rx8: one tile of C[mr x nc] = A[mr x K] * W + bias (+ R) (then ReLU), with mr <= R <= MR
 * and nc <= 8 columns of one packed panel w, from a packed A panel a (packA). Strides in bytes.
 * R, the rows the tile computes, is a literal at every call site, so each call is a kernel of its
 * own: the full MR rows, or fewer for a block's last rows (e.g. one row of M = 49 in ResNet's last
 * stage, where the full tile would compute MR - 1 rows for nothing).
 * Rows past mr alias the last real row (XNNPACK's pattern): packA repeated that row, so they
 * compute and store the same values again.
 * STEM (a literal too) reads A from conv7x7s2c3_nhwc's row buffer instead of a packed panel: row
 * r of depth step k at a + r * STEM_ROW_B + 4k.
 */
// @ts-ignore: decorator
@inline function f32_gemm_Rx8(
  R: i32, mr: i32, nc: i32, kc: i32, a: usize, w: usize,
  c: usize, ldc: usize, r: usize, ldr: usize, relu: bool, STEM: bool = false,
): void {
  let vacc0x0 = v128.load(w);
  let vacc0x4 = v128.load(w, 16);
  let vacc1x0 = vacc0x0, vacc1x4 = vacc0x4;
  let vacc2x0 = vacc0x0, vacc2x4 = vacc0x4;
  let vacc3x0 = vacc0x0, vacc3x4 = vacc0x4;
  let vacc4x0 = vacc0x0, vacc4x4 = vacc0x4;
  let vacc5x0 = vacc0x0, vacc5x4 = vacc0x4;
  w += 32;

  const aEnd = a + <usize>kc * (STEM ? 4 : MR * 4);
  while (a < aEnd) {
    const vb0k0 = v128.load(w);
    const vb4k0 = v128.load(w, 16);
    const va0k0 = v128.load32_splat(a);
    vacc0x0 = mac(vacc0x0, va0k0, vb0k0);
    vacc0x4 = mac(vacc0x4, va0k0, vb4k0);
    if (R > 1) {
      const va1k0 = STEM ? v128.load32_splat(a, STEM_ROW_B) : v128.load32_splat(a, 4);
      vacc1x0 = mac(vacc1x0, va1k0, vb0k0);
      vacc1x4 = mac(vacc1x4, va1k0, vb4k0);
    }
    if (R > 2) {
      const va2k0 = STEM ? v128.load32_splat(a, STEM_ROW_B * 2) : v128.load32_splat(a, 8);
      vacc2x0 = mac(vacc2x0, va2k0, vb0k0);
      vacc2x4 = mac(vacc2x4, va2k0, vb4k0);
    }
    if (R > 3) {
      const va3k0 = STEM ? v128.load32_splat(a, STEM_ROW_B * 3) : v128.load32_splat(a, 12);
      vacc3x0 = mac(vacc3x0, va3k0, vb0k0);
      vacc3x4 = mac(vacc3x4, va3k0, vb4k0);
    }
    if (R > 4) {
      const va4k0 = STEM ? v128.load32_splat(a, STEM_ROW_B * 4) : v128.load32_splat(a, 16);
      vacc4x0 = mac(vacc4x0, va4k0, vb0k0);
      vacc4x4 = mac(vacc4x4, va4k0, vb4k0);
    }
    if (R > 5) {
      const va5k0 = STEM ? v128.load32_splat(a, STEM_ROW_B * 5) : v128.load32_splat(a, 20);
      vacc5x0 = mac(vacc5x0, va5k0, vb0k0);
      vacc5x4 = mac(vacc5x4, va5k0, vb4k0);
    }
    a += STEM ? 4 : MR * 4;
    w += 32;
  }

  // The residual rows are addressed only when there is a residual: with the epilogue() helper's
  // per-row pointer selects, V8 kept those selects live in the depth loop of the relaxed build
  // and it ran at 38 GFLOP/s instead of 54 (measured).
  const c0 = c;
  const c1 = mr > 1 ? c0 + ldc : c0;
  const c2 = mr > 2 ? c1 + ldc : c1;
  const c3 = mr > 3 ? c2 + ldc : c2;
  const c4 = mr > 4 ? c3 + ldc : c3;
  const c5 = mr > 5 ? c4 + ldc : c4;
  if (r != 0) {
    const r1 = mr > 1 ? r + ldr : r;
    const r2 = mr > 2 ? r1 + ldr : r1;
    const r3 = mr > 3 ? r2 + ldr : r2;
    const r4 = mr > 4 ? r3 + ldr : r3;
    const r5 = mr > 5 ? r4 + ldr : r4;
    vacc0x0 = f32x4.add(vacc0x0, v128.load(r));
    vacc0x4 = f32x4.add(vacc0x4, v128.load(r, 16));
    if (R > 1) {
      vacc1x0 = f32x4.add(vacc1x0, v128.load(r1));
      vacc1x4 = f32x4.add(vacc1x4, v128.load(r1, 16));
    }
    if (R > 2) {
      vacc2x0 = f32x4.add(vacc2x0, v128.load(r2));
      vacc2x4 = f32x4.add(vacc2x4, v128.load(r2, 16));
    }
    if (R > 3) {
      vacc3x0 = f32x4.add(vacc3x0, v128.load(r3));
      vacc3x4 = f32x4.add(vacc3x4, v128.load(r3, 16));
    }
    if (R > 4) {
      vacc4x0 = f32x4.add(vacc4x0, v128.load(r4));
      vacc4x4 = f32x4.add(vacc4x4, v128.load(r4, 16));
    }
    if (R > 5) {
      vacc5x0 = f32x4.add(vacc5x0, v128.load(r5));
      vacc5x4 = f32x4.add(vacc5x4, v128.load(r5, 16));
    }
  }
  if (relu) {
    const zero = f32x4.splat(0);
    vacc0x0 = f32x4.max(vacc0x0, zero);
    vacc0x4 = f32x4.max(vacc0x4, zero);
    vacc1x0 = f32x4.max(vacc1x0, zero);
    vacc1x4 = f32x4.max(vacc1x4, zero);
    vacc2x0 = f32x4.max(vacc2x0, zero);
    vacc2x4 = f32x4.max(vacc2x4, zero);
    vacc3x0 = f32x4.max(vacc3x0, zero);
    vacc3x4 = f32x4.max(vacc3x4, zero);
    vacc4x0 = f32x4.max(vacc4x0, zero);
    vacc4x4 = f32x4.max(vacc4x4, zero);
    vacc5x0 = f32x4.max(vacc5x0, zero);
    vacc5x4 = f32x4.max(vacc5x4, zero);
  }

  // Aliased rows hold the same values as the row they alias, so the store order does not matter.
  if (nc == 8) {
    if (R > 5) {
      v128.store(c5, vacc5x0);
      v128.store(c5, vacc5x4, 16);
    }
    if (R > 4) {
      v128.store(c4, vacc4x0);
      v128.store(c4, vacc4x4, 16);
    }
    if (R > 3) {
      v128.store(c3, vacc3x0);
      v128.store(c3, vacc3x4, 16);
    }
    if (R > 2) {
      v128.store(c2, vacc2x0);
      v128.store(c2, vacc2x4, 16);
    }
    if (R > 1) {
      v128.store(c1, vacc1x0);
      v128.store(c1, vacc1x4, 16);
    }
    v128.store(c0, vacc0x0);
    v128.store(c0, vacc0x4, 16);
  } else {
    if (R > 5) storeTail(c5, vacc5x0, vacc5x4, nc);
    if (R > 4) storeTail(c4, vacc4x0, vacc4x4, nc);
    if (R > 3) storeTail(c3, vacc3x0, vacc3x4, nc);
    if (R > 2) storeTail(c2, vacc2x0, vacc2x4, nc);
    if (R > 1) storeTail(c1, vacc1x0, vacc1x4, nc);
    storeTail(c0, vacc0x0, vacc0x4, nc);
  }
}

/**
 * The relaxed build's tiles, each a function of its own: inlined into f32_gemm's tile loop, the
 * 12 accumulators of its MR-row tile spilled (measured: 51 -> 32 GFLOP/s), while the plain
 * build's 8 gain from the inlining: V8 keeps the A row offsets out of the depth loop there and
 * recomputed them in every step of the out-of-line kernel (measured: +4% to +11% on ResNet-50's
 * GEMM shapes).
 */
function f32_gemm_MRx8_call(
  mr: i32, nc: i32, kc: i32, a: usize, w: usize,
  c: usize, ldc: usize, r: usize, ldr: usize, relu: bool,
): void {
  f32_gemm_Rx8(MR, mr, nc, kc, a, w, c, ldc, r, ldr, relu);
}

/** The last 2 to 4 rows of a block in the relaxed build (MR = 6). */
function f32_gemm_4x8_call(
  mr: i32, nc: i32, kc: i32, a: usize, w: usize,
  c: usize, ldc: usize, r: usize, ldr: usize, relu: bool,
): void {
  f32_gemm_Rx8(4, mr, nc, kc, a, w, c, ldc, r, ldr, relu);
}

/** conv7x7s2c3_nhwc's full tiles in the relaxed build (out of line, as f32_gemm_MRx8_call). */
function f32_stem_MRx8_call(
  nc: i32, a: usize, w: usize, c: usize, ldc: usize, r: usize, ldr: usize, relu: bool,
): void {
  f32_gemm_Rx8(MR, MR, nc, STEM_K, a, w, c, ldc, r, ldr, relu, true);
}

/** conv7x7s2c3_nhwc's last pixels of a row, one at a time. */
function f32_stem_1x8_call(
  nc: i32, a: usize, w: usize, c: usize, ldc: usize, r: usize, ldr: usize, relu: bool,
): void {
  f32_gemm_Rx8(1, 1, nc, STEM_K, a, w, c, ldc, r, ldr, relu, true);
}

/** A block's last row when it is alone (rare): out of line in both builds, so the plain build's f32_gemm inlines one tile only. */
function f32_gemm_1x8_call(
  nc: i32, kc: i32, a: usize, w: usize,
  c: usize, ldc: usize, r: usize, ldr: usize, relu: bool,
): void {
  f32_gemm_Rx8(1, 1, nc, kc, a, w, c, ldc, r, ldr, relu);
}

/**
 * f32_gemm_MRx4: the MRx8 tile's narrow twin for a last panel with at most 4 columns (n mod 8 in
 * 1..4, e.g. every group of a ResNeXt 32x4d stage-1 conv), where the 8-wide tile would compute 4
 * zero columns. Same packed A, same aliasing of rows past mr.
 */
function f32_gemm_MRx4(
  mr: i32, nc: i32, kc: i32, a: usize, w: usize,
  c: usize, ldc: usize, r: usize, ldr: usize, relu: bool,
): void {
  let vacc0 = v128.load(w);
  let vacc1 = vacc0, vacc2 = vacc0, vacc3 = vacc0, vacc4 = vacc0, vacc5 = vacc0;
  w += 32;
  const aEnd = a + <usize>kc * (MR * 4);
  do {
    const vb = v128.load(w);
    vacc0 = mac(vacc0, v128.load32_splat(a), vb);
    vacc1 = mac(vacc1, v128.load32_splat(a, 4), vb);
    vacc2 = mac(vacc2, v128.load32_splat(a, 8), vb);
    vacc3 = mac(vacc3, v128.load32_splat(a, 12), vb);
    if (MR > 4) vacc4 = mac(vacc4, v128.load32_splat(a, 16), vb);
    if (MR > 5) vacc5 = mac(vacc5, v128.load32_splat(a, 20), vb);
    a += MR * 4;
    w += 32;
  } while (a < aEnd);
  const c1 = mr > 1 ? c + ldc : c;
  const c2 = mr > 2 ? c1 + ldc : c1;
  const c3 = mr > 3 ? c2 + ldc : c2;
  const c4 = mr > 4 ? c3 + ldc : c3;
  const c5 = mr > 5 ? c4 + ldc : c4;
  const r1 = mr > 1 && r != 0 ? r + ldr : r;
  const r2 = mr > 2 && r != 0 ? r1 + ldr : r1;
  const r3 = mr > 3 && r != 0 ? r2 + ldr : r2;
  const r4 = mr > 4 && r != 0 ? r3 + ldr : r3;
  const r5 = mr > 5 && r != 0 ? r4 + ldr : r4;
  if (MR > 5) storeTail(c5, epilogue(vacc5, r5, 0, relu), vacc5, nc);
  if (MR > 4) storeTail(c4, epilogue(vacc4, r4, 0, relu), vacc4, nc);
  storeTail(c3, epilogue(vacc3, r3, 0, relu), vacc3, nc);
  storeTail(c2, epilogue(vacc2, r2, 0, relu), vacc2, nc);
  storeTail(c1, epilogue(vacc1, r1, 0, relu), vacc1, nc);
  storeTail(c, epilogue(vacc0, r, 0, relu), vacc0, nc);
}

/** Floats in one packed panel of depth k. */
// @ts-ignore: decorator
@inline export function panelFloats(k: i32): i32 {
  return NR + NR * k;
}

/** Bytes of packed A one GEMM block keeps in L2 (Zen 4 has 1 MiB; leave room for W and C). */
const PACK_BYTES: i32 = 256 * 1024;

/** Rows of A one f32_gemm block packs for depth k: a multiple of MR, at least MR. */
function gemmBlockRows(k: i32): i32 {
  const rows = PACK_BYTES / (k << 2);
  return max(MR, rows - rows % MR);
}

/** Scratch bytes f32_gemm(m, n, k, ...) needs for its packed A (k >= 1). */
export function gemm_scratch_bytes(m: i32, k: i32): i32 {
  const rows = min(m, gemmBlockRows(k));
  return ((rows + MR - 1) / MR) * MR * k * 4;
}

/**
 * C[m x n] = A[m x k] * W + bias (+ R) (then ReLU) over all panels of w. Strides in floats;
 * apack: gemm_scratch_bytes(m, k) bytes of scratch. wide: 0 for f32 panels; else W is int8 panels
 * (panelBytesQ8: bias, a scale per column, int8 weights), or fp16 panels when `half`
 * (panelBytesF16: bias, binary16 weights), and `wide` gemm_q8_scratch_bytes(k) bytes,
 * where each block of rows widens a chunk of panels at a time before its row tiles pass over them
 * (the weights stay int8 in memory; the microkernels are the f32 ones). Rows of A go in blocks that fit L2: each block
 * is packed once (packA), then each of its row tiles passes over every panel of W, row tiles
 * outside and panels inside, so the tile's packed rows (MR x k floats) stay in L1 while W streams
 * through. The other order (one W panel in L1, the packed rows streaming past it) fetched every
 * panel from memory for its first tile alone. Measured against it: most with few rows
 * (Winograd's 16 x 256 x 256 with W from memory: 33 -> 43 GFLOP/s), 1-8% faster on the other
 * ResNet-50 GEMMs but the two of depth 64 (3-4% slower); ResNet-50 b1 per-node sum 156.0 -> 151.0
 * ms plain, 128.3 -> 127.2 ms relaxed.
 * see: Goto & van de Geijn 2008, "Anatomy of high-performance matrix multiplication".
 */
export function f32_gemm(
  m: i32, n: i32, k: i32,
  a: usize, lda: i32, w: usize,
  c: usize, ldc: i32, r: usize, ldr: i32, relu: bool, apack: usize, wide: usize, half: bool,
): void {
  const ldaB = <usize>lda << 2;
  const ldcB = <usize>ldc << 2;
  const ldrB = <usize>ldr << 2;
  const panelB = <usize>panelFloats(k) << 2;
  // int8 or fp16 panels (wide != 0) are widened a chunk of panels at a time into `wide`; f32 panels are one chunk.
  const srcPanelB = wide == 0 ? panelB : half ? <usize>panelBytesF16(k) : <usize>panelBytesQ8(k);
  const chunkN = wide != 0 ? widenPanels(k) * NR : n;
  const packB = <usize>(MR * k) << 2; // one packed MR-row panel of A
  const block = gemmBlockRows(k);
  for (let m0 = 0; m0 < m; m0 += block) {
    const mb = min(block, m - m0);
    for (let i = 0; i < mb; i += MR) {
      packA(min(MR, mb - i), k, a + <usize>(m0 + i) * ldaB, ldaB, apack + <usize>(i / MR) * packB);
    }
    for (let j0 = 0; j0 < n; j0 += chunkN) {
    const jEnd = min(n, j0 + chunkN);
    let wc = w + <usize>(j0 / NR) * srcPanelB;
    if (wide != 0) {
      if (half) widen_f16_panels((jEnd - j0 + NR - 1) / NR, k, wc, wide);
      else widen_q8_panels((jEnd - j0 + NR - 1) / NR, k, wc, wide);
      wc = wide;
    }
    let ap = apack;
    for (let i = 0; i < mb; i += MR, ap += packB) {
      const row = <usize>(m0 + i);
      const mr = min(MR, mb - i);
      let wj = wc;
      for (let j = j0; j < jEnd; j += NR, wj += panelB) {
        const nc = min(NR, n - j);
        const jB = <usize>j << 2;
        const cij = c + row * ldcB + jB;
        const rij = r != 0 ? r + row * ldrB + jB : 0;
        if (nc <= 4) {
          f32_gemm_MRx4(mr, nc, k, ap, wj, cij, ldcB, rij, ldrB, relu);
        } else if (mr == 1) {
          f32_gemm_1x8_call(nc, k, ap, wj, cij, ldcB, rij, ldrB, relu);
        } else if (!ASC_FEATURE_RELAXED_SIMD) {
          f32_gemm_Rx8(MR, mr, nc, k, ap, wj, cij, ldcB, rij, ldrB, relu);
        } else if (mr > 4) {
          f32_gemm_MRx8_call(mr, nc, k, ap, wj, cij, ldcB, rij, ldrB, relu);
        } else {
          f32_gemm_4x8_call(mr, nc, k, ap, wj, cij, ldcB, rij, ldrB, relu);
        }
      }
    }
    }
  }
}

/**
 * A linear layer, C[m x n] = A[m x k] W + bias (rows of A and C contiguous), as f32_gemm; for
 * threads (part of parts, see partStart) split by W's panels when there are fewer rows than
 * columns (batch 1: each thread streams its share of W), else by rows.
 */
export function linear_f32(
  m: i32, n: i32, k: i32, a: usize, w: usize, c: usize, apack: usize, wide: usize, half: bool,
  part: i32, parts: i32, partBytes: i32,
): void {
  if (parts <= 1) {
    f32_gemm(m, n, k, a, k, w, c, n, 0, 0, false, apack, wide, half);
    return;
  }
  apack += <usize>part * partBytes;
  if (wide != 0) wide += <usize>part * partBytes;
  if (m < n) {
    const j0 = partFrom(n, NR, part, parts);
    const j1 = partFrom(n, NR, part + 1, parts);
    const srcPanelB = wide == 0 ? <usize>panelFloats(k) << 2 : half ? <usize>panelBytesF16(k) : <usize>panelBytesQ8(k);
    if (j1 > j0) f32_gemm(m, j1 - j0, k, a, k, w + <usize>(j0 / NR) * srcPanelB, c + (<usize>j0 << 2), n, 0, 0, false, apack, wide, half);
  } else {
    const i0 = partFrom(m, MR, part, parts);
    const i1 = partFrom(m, MR, part + 1, parts);
    if (i1 > i0) f32_gemm(i1 - i0, n, k, a + (<usize>i0 * k << 2), k, w, c + (<usize>i0 * n << 2), n, 0, 0, false, apack, wide, half);
  }
}

/** Bytes of one int8 panel of depth k: NR bias floats, NR scale floats, then k rows of NR int8 weights. */
// @ts-ignore: decorator
@inline export function panelBytesQ8(k: i32): i32 {
  return NR * 8 + NR * k;
}

/** Bytes of one fp16 panel of depth k: NR bias floats, then k rows of NR binary16 weights. */
// @ts-ignore: decorator
@inline export function panelBytesF16(k: i32): i32 {
  return NR * 4 + NR * 2 * k;
}

/**
 * Widens `panels` fp16 panels of depth k at src (panelBytesF16) into f32 panels at dst: the bias
 * copied, each binary16 exactly as float32. The magnitude bits shifted into float32's place give
 * the value times 2^-112 (normals and subnormals alike), the multiply by 2^112 restores it
 * exactly; infinities and NaNs are not expected (convert refuses weights beyond 65504).
 */
function widen_f16_panels(panels: i32, k: i32, src: usize, dst: usize): void {
  const vmag = i32x4.splat(0x7fff);
  const vsign = i32x4.splat(0x8000);
  const v2p112 = f32x4.splat(reinterpret<f32>(<i32>((127 + 112) << 23)));
  for (let p = 0; p < panels; p++) {
    v128.store(dst, v128.load(src));
    v128.store(dst, v128.load(src, 16), 16);
    let h = src + 32;
    let d = dst + 32;
    const end = h + <usize>k * (NR * 2);
    for (; h < end; h += NR * 2, d += NR << 2) {
      const h16 = v128.load(h);
      const lo = i32x4.extend_low_i16x8_u(h16);
      const hi = i32x4.extend_high_i16x8_u(h16);
      v128.store(d, v128.or(f32x4.mul(i32x4.shl(v128.and(lo, vmag), 13), v2p112), i32x4.shl(v128.and(lo, vsign), 16)));
      v128.store(d, v128.or(f32x4.mul(i32x4.shl(v128.and(hi, vmag), 13), v2p112), i32x4.shl(v128.and(hi, vsign), 16)), 16);
    }
    src = end;
    dst = d;
  }
}

/** Bytes of f32 panels one chunk of int8 panels widens into (kept in L2 beside the packed A block). */
const WIDEN_BYTES: i32 = 128 * 1024;

/** int8 panels of depth k widened per chunk: as many as fit WIDEN_BYTES, at least one. */
function widenPanels(k: i32): i32 {
  return max(1, WIDEN_BYTES / (panelFloats(k) << 2));
}

/** Scratch bytes f32_gemm needs in `wide` for int8 panels of depth k. */
export function gemm_q8_scratch_bytes(k: i32): i32 {
  return widenPanels(k) * (panelFloats(k) << 2);
}

/**
 * Widens `panels` int8 panels of depth k at src (panelBytesQ8) into f32 panels at dst (panelFloats):
 * the bias copied, each weight q * scale[column] (one rounding: the f32 product).
 */
function widen_q8_panels(panels: i32, k: i32, src: usize, dst: usize): void {
  for (let p = 0; p < panels; p++) {
    v128.store(dst, v128.load(src));
    v128.store(dst, v128.load(src, 16), 16);
    const vscale0 = v128.load(src, 32);
    const vscale4 = v128.load(src, 48);
    let q = src + 64;
    let d = dst + 32;
    const end = q + <usize>k * NR;
    for (; q < end; q += NR, d += NR << 2) {
      const q16 = v128.load8x8_s(q);
      v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(q16)), vscale0));
      v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(q16)), vscale4), 16);
    }
    src = end;
    dst = d;
  }
}

/** Bytes of im2col rows one conv block gathers (kept in L2 with their packed copy). */
const IM2COL_BYTES: i32 = 256 * 1024;

/** Groups whose part of the im2col rows one block is sized for (measured: 4 is as fast as all). */
const GROUPS_PER_BLOCK: i32 = 4;

/**
 * Rows of one conv2d_nhwc block: a multiple of MR, at least MR, sized so that the part of the
 * block's im2col rows that a few groups read stays in L2 (one group's part alone would make blocks
 * of grouped convs too short). Never more than one f32_gemm block of a group (gemmBlockRows).
 */
function convBlockRows(kh: i32, kw: i32, cin: i32, groups: i32): i32 {
  const rows = IM2COL_BYTES / (kh * kw * (cin / groups) * min(groups, GROUPS_PER_BLOCK) << 2);
  return min(gemmBlockRows(kh * kw * (cin / groups)), max(MR, rows - rows % MR));
}

/** Whether conv2d_nhwc reads the input rows as A directly (1x1, stride 1, no padding). */
// @ts-ignore: decorator
@inline function isDirect(kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32): bool {
  return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0;
}

/**
 * Where part p of `parts` starts in `total` units (tiles of MR rows, panels of NR columns, output
 * rows): parts differ by at most one unit. The threaded kernels (conv2d_nhwc, winograd_nhwc, the stem,
 * grouped convs, pools) each take (part, parts, partBytes): part p computes its own range of the
 * output, with its scratch partBytes * p bytes past `scratch`; parts <= 1 is the whole output.
 * Every output value is computed by the same operations in the same order whatever the split, so
 * threaded results equal single-threaded ones bit for bit.
 */
// @ts-ignore: decorator
@inline export function partStart(total: i32, p: i32, parts: i32): i32 {
  return <i32>((<i64>total * p) / parts);
}

/** Where part p starts in `total` items cut in units of `unit` items (part p ends where part p + 1 starts). */
// @ts-ignore: decorator
@inline export function partFrom(total: i32, unit: i32, p: i32, parts: i32): i32 {
  return min(total, partStart((total + unit - 1) / unit, p, parts) * unit);
}

/**
 * Scratch bytes conv2d_nhwc needs for an output of m pixels: one block of im2col rows (none for a
 * direct 1x1 conv) and one group's packed A of that block.
 */
export function conv_scratch_bytes(m: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, cin: i32, groups: i32): i32 {
  const rows = min(m, convBlockRows(kh, kw, cin, groups));
  const im2col = isDirect(kh, kw, sh, sw, pt, pl) ? 0 : rows * kh * kw * cin * 4;
  return im2col + gemm_scratch_bytes(rows, kh * kw * (cin / groups));
}

/**
 * Convolution of an NHWC input by packed weights (per group: ceil(coutG / 8) panels of depth
 * kh*kw*cinG, patch order (ky, kx, ci)) into an NHWC output, with the fused epilogue:
 * out = relu?(conv + bias + residual?). residual is NHWC of the output's shape, 0 if none.
 *
 * Dispatch: a 1x1 stride-1 unpadded conv reads the input rows as A directly (each group its
 * channel slice); every other conv first gathers a block of im2col rows (kh*kw*cin floats each,
 * group by group) into `scratch`. Each group then runs its own GEMM on its part of those rows, so
 * grouped convs (ResNeXt) share one gather and pay no padding between groups. scratch:
 * conv_scratch_bytes(n*oh*ow, ...). wide != 0: `packed` holds int8 panels (panelBytesQ8), or fp16 ones (half: panelBytesF16), widened
 * into `wide` (gemm_q8_scratch_bytes(kh*kw*cinG) bytes) a chunk at a time by f32_gemm.
 * Threads (part of parts, see partStart): with fewer output pixels than channels (one group) each
 * part takes a range of W's panels, so each thread streams only its share of the weights (and
 * gathers the rows itself); otherwise a range of rows, sharing W.
 */
export function conv2d_nhwc(
  n: i32, h: i32, w: i32, cin: i32,
  oh: i32, ow: i32, cout: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, groups: i32,
  input: usize, packed: usize, output: usize, residual: usize, relu: bool, scratch: usize, wide: usize, half: bool,
  part: i32, parts: i32, partBytes: i32,
): void {
  const cinG = cin / groups;
  const coutG = cout / groups;
  const kG = kh * kw * cinG;
  const m = n * oh * ow;
  const srcPanelB = wide == 0 ? <usize>panelFloats(kG) << 2 : half ? <usize>panelBytesF16(kG) : <usize>panelBytesQ8(kG);
  const groupPacked = <usize>((coutG + NR - 1) / NR) * srcPanelB;
  const direct = isDirect(kh, kw, sh, sw, pt, pl);
  // This part's rows [mBeg, mEnd) and columns [jBeg, jEnd) of each group (see partRange).
  let mBeg = 0, mEnd = m, jBeg = 0, jEnd = coutG;
  if (parts > 1) {
    scratch += <usize>part * partBytes;
    if (wide != 0) wide += <usize>part * partBytes;
    if (groups == 1 && m < cout) {
      jBeg = partFrom(cout, NR, part, parts);
      jEnd = partFrom(cout, NR, part + 1, parts);
    } else {
      mBeg = partFrom(m, MR, part, parts);
      mEnd = partFrom(m, MR, part + 1, parts);
    }
  }
  // Blocks of rows keep their A (im2col rows, packed copy) in L2 while f32_gemm passes over W.
  const block = convBlockRows(kh, kw, cin, groups);
  const apack = direct ? scratch : scratch + (<usize>(min(m, block) * kh * kw * cin) << 2);
  const jB = <usize>jBeg << 2;
  for (let m0 = mBeg; m0 < mEnd; m0 += block) {
    const mb = min(block, mEnd - m0);
    const outRows = output + (<usize>m0 * cout << 2) + jB;
    const resRows = residual != 0 ? residual + (<usize>m0 * cout << 2) + jB : 0;
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
        mb, jEnd - jBeg, kG, a + (<usize>(g * kG) << 2), kh * kw * cin, packed + <usize>g * groupPacked + <usize>(jBeg / NR) * srcPanelB,
        outRows + gOut, cout, resRows != 0 ? resRows + gOut : 0, cout, relu, apack, wide, half,
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

/** Depth of the 7x7 stem conv on 3 channels. */
const STEM_K: i32 = 7 * 7 * 3;
/**
 * Bytes between the A rows of adjacent output pixels in conv7x7s2c3_nhwc's row buffer: 2 input
 * columns (the stride) of 7 x 3 floats. The microkernel's row offsets are this times r (constants).
 */
const STEM_ROW_B: i32 = 2 * 7 * 3 * 4;

/** Columns of conv7x7s2c3_nhwc's row buffer for an output ow pixels wide (the last window ends 7 columns past 2 * (ow - 1)). */
// @ts-ignore: decorator
@inline function stemColumns(ow: i32): i32 {
  return 2 * ow + 5;
}

/** Scratch bytes conv7x7s2c3_nhwc needs for an output ow pixels wide: one row buffer of 7 x 3 floats a column. */
export function stem_scratch_bytes(ow: i32): i32 {
  return stemColumns(ow) * 7 * 3 * 4;
}

/**
 * The 7x7 stride-2 conv of 3 input channels (ResNet's stem), as a GEMM without im2col or packing:
 * for each output row it gathers the 7 input rows its windows read into one buffer of columns,
 * buf[col][ky][c] (2 * ow + 5 columns of 21 floats, zeros in the padding), where the patch of
 * output pixel x is the 147 contiguous floats at column 2x in the order (kx, ky, c), and the
 * patches of adjacent pixels are STEM_ROW_B bytes apart: the microkernel reads its rows straight
 * from the buffer. packed: the GEMM's packed weights in that order (kx, ky, c), i.e. of the
 * kernel with its two axes swapped (src/backends/wasm/conv.ts). scratch: stem_scratch_bytes(ow).
 * A residual (NHWC of the output's shape, 0 if none) and ReLU as in conv2d_nhwc.
 */
export function conv7x7s2c3_nhwc(
  n: i32, h: i32, w: i32, oh: i32, ow: i32, cout: i32, pt: i32, pl: i32,
  input: usize, packed: usize, output: usize, residual: usize, relu: bool, scratch: usize,
  part: i32, parts: i32, partBytes: i32,
): void {
  const cols = stemColumns(ow);
  const panelB = <usize>panelFloats(STEM_K) << 2;
  const pixB = <usize>cout << 2;
  // Threads: each part takes a range of output rows (over all images), with its own row buffer.
  let r0 = 0, r1 = n * oh;
  if (parts > 1) {
    scratch += <usize>part * partBytes;
    r0 = partStart(n * oh, part, parts);
    r1 = partStart(n * oh, part + 1, parts);
  }
  for (let r = r0; r < r1; r++) {
    const b = r / oh;
    const y = r - b * oh;
    let d = scratch;
    for (let col = 0; col < cols; col++) {
      const ix = col - pl;
      for (let ky = 0; ky < 7; ky++, d += 12) {
        const iy = 2 * y - pt + ky;
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
          const src = input + <usize>(((b * h + iy) * w + ix) * 3) * 4;
          store<f32>(d, load<f32>(src));
          store<f32>(d, load<f32>(src, 4), 4);
          store<f32>(d, load<f32>(src, 8), 8);
        } else {
          store<f32>(d, 0);
          store<f32>(d, 0, 4);
          store<f32>(d, 0, 8);
        }
      }
    }
    const outRow = output + <usize>(b * oh + y) * ow * pixB;
    const resRow = residual != 0 ? residual + <usize>(b * oh + y) * ow * pixB : 0;
    // Full tiles of MR pixels, then the row's last pixels one at a time.
    for (let x = 0; x < ow; ) {
      const tile = x + MR <= ow;
      const a = scratch + <usize>x * STEM_ROW_B;
      let wj = packed;
      for (let j = 0; j < cout; j += NR, wj += panelB) {
        const nc = min(NR, cout - j);
        const cij = outRow + <usize>x * pixB + (<usize>j << 2);
        const rij = resRow != 0 ? resRow + <usize>x * pixB + (<usize>j << 2) : 0;
        if (!tile) {
          f32_stem_1x8_call(nc, a, wj, cij, pixB, rij, pixB, relu);
        } else if (ASC_FEATURE_RELAXED_SIMD) {
          f32_stem_MRx8_call(nc, a, wj, cij, pixB, rij, pixB, relu);
        } else {
          f32_gemm_Rx8(MR, MR, nc, STEM_K, a, wj, cij, pixB, rij, pixB, relu, true);
        }
      }
      x += tile ? MR : 1;
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
