// Winograd F(4x4, 3x3) convolution for 3x3 stride-1 convs (NHWC, channels a multiple of 4).
// see: Lavin & Gray 2015, "Fast Algorithms for Convolutional Neural Networks" (arXiv 1509.09308),
// with the interpolation points 0, ±1, ±2, ∞ (the matrices below; the same ones as oneDNN and NNPACK).
//
// Each 4x4 output tile reads a 6x6 input patch d and computes Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A.
// The elementwise product over channels is 36 GEMMs (one per position xi of the 6x6 transform):
//   V[xi] [tiles x cin] (input transform)  x  U[xi] [cin x cout] (packed at load)  ->  M[xi] [tiles x cout],
// then the output transform adds bias and residual and applies ReLU. 36 multiplies per 16 outputs
// instead of 144: 4x fewer for the transform's cost. Tiles run in blocks so V and M stay in cache.
//
//   B^T = [4  0 -5  0  1  0]     A^T = [1  1  1  1  1  0]
//         [0 -4 -4  1  1  0]           [0  1 -1  2 -2  0]
//         [0  4 -4 -1  1  0]           [0  1  1  4  4  0]
//         [0 -2 -1  2  1  0]           [0  1 -1  8 -8  1]
//         [0  2 -1 -2  1  0]
//         [0  4  0 -5  0  1]
import { f32_gemm, gemm_scratch_bytes, panelFloats, NR, MR } from './gemm';

/** Bytes of one GEMM's A (V[xi] of a block) kept in L2. */
const SLICE_BYTES: i32 = 256 * 1024;
/**
 * Bytes of V and M of one block at most: the block's transforms and GEMMs then work in L2 (1 MiB
 * on Zen 4), at the price of fetching each U[xi] once per block. Measured with the padded slices
 * (ResNet-50 b1, sum over each stage's convs, plain): 8 MiB -> 512 KiB took 56x56x64 from 6.23 to
 * 5.43 ms, 28x28x128 4.94 -> 4.87, 14x14x256 9.57 -> 9.41; relaxed 5.88 -> 4.85 at 56x56x64;
 * 256 KiB to 1 MiB did alike.
 */
const BLOCK_BYTES: i32 = 512 * 1024;

/**
 * Tiles per block: a multiple of MR, at least MR. Larger blocks reuse each U[xi] (cin x cout,
 * fetched from memory once per block) over more tiles; V and M of one block stay in L2.
 */
export function winograd_block_tiles(cin: i32, cout: i32): i32 {
  const t = min(SLICE_BYTES / (cin << 2), BLOCK_BYTES / (36 * 4 * (cin + cout)));
  return max(MR, t - t % MR);
}

/** Bytes of the transform's temporary vectors (6x6 for the input, 6x4 + 4x4 for the output). */
const TMP_BYTES: i32 = 1024;

/**
 * Bytes of padding after each of the 36 slices V[xi] and M[xi] of a block. The transforms write
 * (and read) all 36 slices for every tile; slices a multiple of 4 KiB long (in the plain build,
 * ResNet-50's 14x14x256 and 7x7x512 convs make blocks of 4 tiles: 4 and 8 KiB) put those 36
 * addresses in the same L1 sets. Measured in ResNet-50 b1 (sum over each stage's convs, plain,
 * 512 KiB blocks): 14x14x256 10.35 -> 9.89 ms, 7x7x512 4.03 -> 3.90, the other two alike.
 */
const SLICE_PAD: usize = 512;

/** Bytes from one slice V[xi] (or M[xi]) of a block of `tiles` tiles to the next, for `ch` channels. */
// @ts-ignore: decorator
@inline export function sliceStride(tiles: i32, ch: i32): usize {
  return (<usize>tiles * ch << 2) + SLICE_PAD;
}

/** Scratch bytes winograd_f4x4_3x3_nhwc needs: V and M for one block, the transform temporaries and the GEMMs' packed A. */
export function winograd_scratch_bytes(cin: i32, cout: i32): i32 {
  const block = winograd_block_tiles(cin, cout);
  return 36 * <i32>(sliceStride(block, cin) + sliceStride(block, cout)) + TMP_BYTES + gemm_scratch_bytes(block, cin);
}

// @ts-ignore: decorator
@inline export function vmul(a: v128, s: f32): v128 {
  return f32x4.mul(a, f32x4.splat(s));
}

/** One row of B^T applied to 6 values at p, p+stride, ...; results to q, q+qstride, ... */
// @ts-ignore: decorator
@inline function inputTransform6(p: usize, stride: usize, q: usize, qstride: usize): void {
  const d0 = v128.load(p);
  const d1 = v128.load(p + stride);
  const d2 = v128.load(p + 2 * stride);
  const d3 = v128.load(p + 3 * stride);
  const d4 = v128.load(p + 4 * stride);
  const d5 = v128.load(p + 5 * stride);
  // Shared subexpressions: x1/x2 = (d4 - 4 d2) -/+ (4 d1 - d3); x3/x4 = (d4 - d2) -/+ 2 (d1 - d3).
  const t0 = f32x4.sub(d4, vmul(d2, 4));
  const t1 = f32x4.sub(vmul(d1, 4), d3);
  const t2 = f32x4.sub(d4, d2);
  const t3 = vmul(f32x4.sub(d1, d3), 2);
  v128.store(q, f32x4.add(f32x4.sub(vmul(d0, 4), vmul(d2, 5)), d4));
  v128.store(q + qstride, f32x4.sub(t0, t1));
  v128.store(q + 2 * qstride, f32x4.add(t0, t1));
  v128.store(q + 3 * qstride, f32x4.sub(t2, t3));
  v128.store(q + 4 * qstride, f32x4.add(t2, t3));
  v128.store(q + 5 * qstride, f32x4.add(f32x4.sub(vmul(d1, 4), vmul(d3, 5)), d5));
}

/**
 * Input transform of one block of tiles: V[xi][t][c] = (B^T d_t B)[xi] for 4 channels at a time.
 * The 6x6 patch of a border tile reads zeros outside the input (the conv padding).
 */
function winogradInput(
  t0: i32, tb: i32, h: i32, w: i32, cin: i32, tilesH: i32, tilesW: i32, pt: i32, pl: i32,
  input: usize, v: usize, patch: usize, tmp: usize,
): void {
  const tilesPerImage = tilesH * tilesW;
  const xiStride = sliceStride(tb, cin); // bytes between V[xi] and V[xi + 1]
  for (let i = 0; i < tb; i++) {
    const t = t0 + i;
    const b = t / tilesPerImage;
    const r = t - b * tilesPerImage;
    const ty = r / tilesW;
    const tx = r - ty * tilesW;
    const y0 = ty * 4 - pt;
    const x0 = tx * 4 - pl;
    const interior = y0 >= 0 && x0 >= 0 && y0 + 6 <= h && x0 + 6 <= w;
    for (let c = 0; c < cin; c += 4) {
      const cB = <usize>c << 2;
      let src: usize;
      let rowB: usize;
      let colB: usize;
      if (interior) {
        src = input + <usize>((b * h + y0) * w + x0) * (<usize>cin << 2) + cB;
        colB = <usize>cin << 2;
        rowB = <usize>w * colB;
      } else {
        // Gather the patch with zeros outside the input into `patch` (6x6 vectors).
        for (let py = 0; py < 6; py++) {
          const iy = y0 + py;
          for (let px = 0; px < 6; px++) {
            const ix = x0 + px;
            const dst = patch + (<usize>(py * 6 + px) << 4);
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
              v128.store(dst, v128.load(input + <usize>((b * h + iy) * w + ix) * (<usize>cin << 2) + cB));
            } else {
              v128.store(dst, f32x4.splat(0));
            }
          }
        }
        src = patch;
        colB = 16;
        rowB = 96;
      }
      // Rows: tmp[py][j] = (d[py] B)[j]; then columns: V[i*6+j] = (B^T tmp[.][j])[i].
      for (let py = 0; py < 6; py++) inputTransform6(src + <usize>py * rowB, colB, tmp + <usize>py * 96, 16);
      const dst = v + (<usize>i * cin << 2) + cB;
      for (let j = 0; j < 6; j++) inputTransform6(tmp + (<usize>j << 4), 96, dst + <usize>j * xiStride, 6 * xiStride);
    }
  }
}

/** One row of A^T applied to 6 values at p, p+stride, ...; 4 results to q, q+qstride, ... */
// @ts-ignore: decorator
@inline function outputTransform6(p: usize, stride: usize, q: usize, qstride: usize): void {
  const m0 = v128.load(p);
  const m1 = v128.load(p + stride);
  const m2 = v128.load(p + 2 * stride);
  const m3 = v128.load(p + 3 * stride);
  const m4 = v128.load(p + 4 * stride);
  const m5 = v128.load(p + 5 * stride);
  const s12 = f32x4.add(m1, m2);
  const d12 = f32x4.sub(m1, m2);
  const s34 = f32x4.add(m3, m4);
  const d34 = f32x4.sub(m3, m4);
  v128.store(q, f32x4.add(f32x4.add(m0, s12), s34));
  v128.store(q + qstride, f32x4.add(d12, vmul(d34, 2)));
  v128.store(q + 2 * qstride, f32x4.add(s12, vmul(s34, 4)));
  v128.store(q + 3 * qstride, f32x4.add(f32x4.add(d12, vmul(d34, 8)), m5));
}

/** Output transform of one block: Y = A^T M A + bias (+ residual) (ReLU), the valid pixels only. */
function winogradOutput(
  t0: i32, tb: i32, oh: i32, ow: i32, cout: i32, tilesH: i32, tilesW: i32,
  m: usize, bias: usize, output: usize, residual: usize, relu: bool, tmp: usize,
): void {
  const tilesPerImage = tilesH * tilesW;
  const xiStride = sliceStride(tb, cout);
  const pixB = <usize>cout << 2;
  const zero = f32x4.splat(0);
  for (let i = 0; i < tb; i++) {
    const t = t0 + i;
    const b = t / tilesPerImage;
    const r = t - b * tilesPerImage;
    const ty = r / tilesW;
    const tx = r - ty * tilesW;
    const y0 = ty * 4;
    const x0 = tx * 4;
    const rows = min(4, oh - y0);
    const cols = min(4, ow - x0);
    for (let c = 0; c < cout; c += 4) {
      const cB = <usize>c << 2;
      const src = m + (<usize>i * cout << 2) + cB;
      // Rows of M: tmp[k][j] = (M[k] A)[j] for k < 6, j < 4; then columns: Y[y][j] = (A^T tmp[.][j])[y] into tmp[6 + y][j].
      for (let k = 0; k < 6; k++) outputTransform6(src + <usize>(k * 6) * xiStride, xiStride, tmp + <usize>k * 64, 16);
      for (let j = 0; j < 4; j++) outputTransform6(tmp + (<usize>j << 4), 64, tmp + 384 + (<usize>j << 4), 64);
      const vb = v128.load(bias + cB);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const off = <usize>((b * oh + y0 + y) * ow + x0 + x) * pixB + cB;
          let acc = f32x4.add(v128.load(tmp + 384 + <usize>(y * 4 + x) * 16), vb);
          if (residual != 0) acc = f32x4.add(acc, v128.load(residual + off));
          if (relu) acc = f32x4.max(acc, zero);
          v128.store(output + off, acc);
        }
      }
    }
  }
}

/**
 * 3x3 stride-1 conv (dilation 1, groups 1, cin and cout multiples of 4) by Winograd F(4x4, 3x3).
 * packed: 36 GEMM weight sets U[xi] (each ceil(cout/8) panels of depth cin, zero bias);
 * bias: [cout]; scratch: winograd_scratch_bytes(cin, cout).
 */
export function winograd_f4x4_3x3_nhwc(
  n: i32, h: i32, w: i32, cin: i32, oh: i32, ow: i32, cout: i32, pt: i32, pl: i32,
  input: usize, packed: usize, bias: usize, output: usize, residual: usize, relu: bool, scratch: usize,
): void {
  const tilesH = (oh + 3) / 4;
  const tilesW = (ow + 3) / 4;
  const tiles = n * tilesH * tilesW;
  const block = winograd_block_tiles(cin, cout);
  const xiPacked = <usize>((cout + NR - 1) / NR) * (<usize>panelFloats(cin) << 2);
  const v = scratch;
  const m = v + 36 * sliceStride(block, cin);
  const tmp = m + 36 * sliceStride(block, cout);
  const apack = tmp + TMP_BYTES;
  // The gathered border patch (36 vectors) can share the M area: M is not live during the input transform.
  const patch = m;
  for (let t0 = 0; t0 < tiles; t0 += block) {
    const tb = min(block, tiles - t0);
    winogradInput(t0, tb, h, w, cin, tilesH, tilesW, pt, pl, input, v, patch, tmp);
    const vStride = sliceStride(tb, cin);
    const mStride = sliceStride(tb, cout);
    for (let xi = 0; xi < 36; xi++) {
      f32_gemm(tb, cout, cin, v + <usize>xi * vStride, cin, packed + <usize>xi * xiPacked, m + <usize>xi * mStride, cout, 0, 0, false, apack);
    }
    winogradOutput(t0, tb, oh, ow, cout, tilesH, tilesW, m, bias, output, residual, relu, tmp);
  }
}
