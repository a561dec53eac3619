// Winograd convolution for 3x3 convs of stride 1 and 2 (NHWC, dilation 1, groups 1, channels a
// multiple of 4), 4x4 output tiles.
// see: Lavin & Gray 2015, "Fast Algorithms for Convolutional Neural Networks" (arXiv 1509.09308).
//
// Stride 1: F(4x4, 3x3) with the interpolation points 0, ±1, ±2, ∞ (the same matrices as oneDNN and
// NNPACK). Each tile reads a 6x6 input patch d and computes Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A:
// 36 multiplies per 16 outputs instead of 144.
//   B^T = [4  0 -5  0  1  0]     A^T = [1  1  1  1  1  0]
//         [0 -4 -4  1  1  0]           [0  1 -1  2 -2  0]
//         [0  4 -4 -1  1  0]           [0  1  1  4  4  0]
//         [0 -2 -1  2  1  0]           [0  1 -1  8 -8  1]
//         [0  2 -1 -2  1  0]
//         [0  4  0 -5  0  1]
//
// Stride 2: the input split by the parity of its rows and columns, the stride-2 case of Huang et al.
// 2020, "DWM: A Decomposable Winograd Method for Convolution Acceleration" (AAAI, arXiv 2002.00552);
// here the four parts share one output tile and one output transform. In 1D a tile of 4 outputs
// reads 9 padded inputs d0..d8; with E = d0, d2, .., d8 and O = d1, d3, d5, d7,
// y[j] = E[j] g0 + E[j+1] g2 + O[j] g1: a 2-tap correlation of E by F(4, 2) (5 multiplies for 4
// outputs) plus O times g1 (4 multiplies). In 2D, 9x9 = 81 multiplies per 16 outputs instead of 144:
//   EE  5x5 points, F(4x4, 2x2) on the taps g[0|2][0|2];
//   EO  rows E, columns O: the 4 columns of one E row share U = G (g[0][1], g[2][1]);
//   OE  likewise by column, U = G (g[1][0], g[1][2]);
//   OO  the 16 odd-odd inputs times g[1][1];
// Y = A^T M_EE A + A^T M_EO + M_OE A + M_OO. F(4, 2) has the points 0, 1, -1, 2, ∞:
//   B^T = [2 -1 -2  1  0]     A^T = [1  1  1  1  0]
//         [0 -2 -1  1  0]           [0  1 -1  2  0]
//         [0  2 -3  1  0]           [0  1  1  4  0]
//         [0 -1  0  1  0]           [0  1 -1  8  1]
//         [0  2 -1 -2  1]
//
// Either way the elementwise products over channels are 36 GEMMs with their own weight sets U
// (G applied at load, src/backends/wasm/conv.ts): V [rows x cin] (input transform) x U [cin x cout]
// -> M [rows x cout], then the output transform adds bias and residual and applies ReLU. Stride 1
// has 36 slices of one row per tile. Stride 2 has 25 EE slices of one row per tile (5 * row +
// column), 5 EO slices by row and 5 OE slices by column of 4 rows per tile (row 4 * tile + the
// O index), and one OO slice of 16 rows per tile (16 * tile + 4 * row + column). Tiles run in
// blocks so V and M stay in cache.
import { f32_gemm, gemm_scratch_bytes, panelFloats, partFrom, NR, MR } from './gemm';

/** Bytes of one GEMM's A (V[xi] of a block) kept in L2. */
const SLICE_BYTES: i32 = 256 * 1024;
/**
 * Bytes of V and M of one block at most: the block's transforms and GEMMs then work in L2 (1 MiB
 * on Zen 4), at the price of fetching each U[xi] once per block. Measured with the padded slices
 * (ResNet-50 b1, sum over each stage's convs, plain): 8 MiB -> 512 KiB took 56x56x64 from 6.23 to
 * 5.43 ms, 28x28x128 4.94 -> 4.87, 14x14x256 9.57 -> 9.41; relaxed 5.88 -> 4.85 at 56x56x64;
 * 256 KiB to 1 MiB did alike. Stride 2 did alike from 256 KiB to 2 MiB.
 */
const BLOCK_BYTES: i32 = 512 * 1024;

/**
 * Tiles per block: a multiple of MR, at least MR. Larger blocks reuse each U[xi] (cin x cout,
 * fetched from memory once per block) over more tiles; V and M of one block stay in L2.
 */
function blockTiles(cin: i32, cout: i32, stride: i32): i32 {
  const points = stride == 2 ? 81 : 36;
  const t = min(SLICE_BYTES / (cin << 2), BLOCK_BYTES / (points * 4 * (cin + cout)));
  return max(MR, t - t % MR);
}

/** Bytes of the transforms' temporary vectors (9x9 at most). */
const TMP_BYTES: i32 = 81 * 16;

/**
 * Bytes of padding after each of the 36 slices V[xi] and M[xi] of a block. The transforms write
 * (and read) all 36 slices for every tile; slices a multiple of 4 KiB long (in the plain build,
 * ResNet-50's 14x14x256 and 7x7x512 convs make blocks of 4 tiles: 4 and 8 KiB) put those 36
 * addresses in the same L1 sets. Measured in ResNet-50 b1 (sum over each stage's convs, plain,
 * 512 KiB blocks): 14x14x256 10.35 -> 9.89 ms, 7x7x512 4.03 -> 3.90, the other two alike.
 */
const SLICE_PAD: usize = 512;

/** Bytes from one slice of `rows` rows of `ch` channels to the next. */
// @ts-ignore: decorator
@inline function sliceStride(rows: i32, ch: i32): usize {
  return (<usize>rows * ch << 2) + SLICE_PAD;
}

/** Rows of slice g for a block of `tiles` tiles (see the layout in the header). */
// @ts-ignore: decorator
@inline function sliceRows(s2: bool, g: i32, tiles: i32): i32 {
  return !s2 || g < 25 ? tiles : g < 35 ? 4 * tiles : 16 * tiles;
}

/** Bytes of the 36 slices of V (or M) of a block of `tiles` tiles with `ch` channels. */
function blockBytes(s2: bool, tiles: i32, ch: i32): usize {
  let bytes: usize = 0;
  for (let g = 0; g < 36; g++) bytes += sliceStride(sliceRows(s2, g, tiles), ch);
  return bytes;
}

/**
 * Tiles per block of winograd_nhwc: with parts * this many tiles or more, its parts split the
 * tiles; with fewer, the output channels.
 */
export function winograd_block_tiles(cin: i32, cout: i32, stride: i32): i32 {
  return blockTiles(cin, cout, stride);
}

/** Scratch bytes winograd_nhwc needs: V and M for one block, the transform temporaries and the GEMMs' packed A. */
export function winograd_scratch_bytes(cin: i32, cout: i32, stride: i32): i32 {
  const s2 = stride == 2;
  const block = blockTiles(cin, cout, stride);
  const widest = sliceRows(s2, 35, block); // the last slice has the most rows (stride 2: OO)
  return <i32>(blockBytes(s2, block, cin) + blockBytes(s2, block, cout)) + TMP_BYTES + gemm_scratch_bytes(widest, cin);
}

// @ts-ignore: decorator
@inline function vmul(a: v128, s: f32): v128 {
  return f32x4.mul(a, f32x4.splat(s));
}

/** Image, tile row and tile column of the tile locateTile found last. */
let tileImage: i32 = 0;
let tileRow: i32 = 0;
let tileCol: i32 = 0;

/** Sets tileImage, tileRow and tileCol of tile t in a grid of tilesH x tilesW tiles per image. */
// @ts-ignore: decorator
@inline function locateTile(t: i32, tilesH: i32, tilesW: i32): void {
  const perImage = tilesH * tilesW;
  tileImage = t / perImage;
  const r = t - tileImage * perImage;
  tileRow = r / tilesW;
  tileCol = r - tileRow * tilesW;
}

/**
 * Gathers the size x size patch at (y0, x0) of image b, 4 channels from byte cB, into `patch`
 * (rows of `size` vectors), with zeros outside the input (the conv padding).
 */
function gatherPatch(size: i32, b: i32, y0: i32, x0: i32, h: i32, w: i32, cin: i32, cB: usize, input: usize, patch: usize): void {
  for (let py = 0; py < size; py++) {
    const iy = y0 + py;
    for (let px = 0; px < size; px++) {
      const ix = x0 + px;
      const dst = patch + (<usize>(py * size + px) << 4);
      if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
        v128.store(dst, v128.load(input + <usize>((b * h + iy) * w + ix) * (<usize>cin << 2) + cB));
      } else {
        v128.store(dst, f32x4.splat(0));
      }
    }
  }
}

/** One row of B^T (stride 1) applied to 6 values at p, p+stride, ...; results to q, q+qstride, ... */
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
 * One line of 9 inputs (stride 2) at p, p + s, ..: the 5 even ones through B^T to qE, qE + sE, ..;
 * the 4 odd ones copied to qO, qO + sO, ..
 */
// @ts-ignore: decorator
@inline function inputTransform9(p: usize, s: usize, qE: usize, sE: usize, qO: usize, sO: usize): void {
  const e0 = v128.load(p);
  const e1 = v128.load(p + 2 * s);
  const e2 = v128.load(p + 4 * s);
  const e3 = v128.load(p + 6 * s);
  const e4 = v128.load(p + 8 * s);
  const t = f32x4.sub(e3, e2);
  const v3 = f32x4.sub(e3, e1);
  v128.store(qE, f32x4.add(vmul(f32x4.sub(e0, e2), 2), v3));
  v128.store(qE + sE, f32x4.sub(t, vmul(e1, 2)));
  v128.store(qE + 2 * sE, f32x4.add(t, vmul(f32x4.sub(e1, e2), 2)));
  v128.store(qE + 3 * sE, v3);
  v128.store(qE + 4 * sE, f32x4.sub(f32x4.sub(e4, e2), vmul(v3, 2)));
  v128.store(qO, v128.load(p + s));
  v128.store(qO + sO, v128.load(p + 3 * s));
  v128.store(qO + 2 * sO, v128.load(p + 5 * s));
  v128.store(qO + 3 * sO, v128.load(p + 7 * s));
}

/**
 * Input transform of one block of tiles into the 36 slices of V, 4 channels at a time. A border
 * tile's patch (6x6 for stride 1, 9x9 for stride 2) is gathered with zeros outside the input.
 */
function winogradInput(
  s2: bool, t0: i32, tb: i32, h: i32, w: i32, cin: i32, tilesH: i32, tilesW: i32, pt: i32, pl: i32,
  input: usize, v: usize, patch: usize, tmp: usize,
): void {
  const size = s2 ? 9 : 6; // the patch
  const step = s2 ? 8 : 4; // input pixels from one tile to the next
  const rowB = <usize>cin << 2; // one pixel of the input, one row of a slice
  const s1 = sliceStride(tb, cin);
  const s4 = sliceStride(4 * tb, cin);
  const eo = v + 25 * s1; // stride 2: the EO, OE and OO slices
  const oe = eo + 5 * s4;
  const oo = oe + 5 * s4;
  for (let i = 0; i < tb; i++) {
    locateTile(t0 + i, tilesH, tilesW);
    const b = tileImage;
    const y0 = tileRow * step - pt;
    const x0 = tileCol * step - pl;
    const interior = y0 >= 0 && x0 >= 0 && y0 + size <= h && x0 + size <= w;
    const tileB = <usize>i * rowB;
    for (let c = 0; c < cin; c += 4) {
      const cB = <usize>c << 2;
      let src = input + <usize>((b * h + y0) * w + x0) * rowB + cB;
      let pixB = rowB;
      let lineB = <usize>w * rowB;
      if (!interior) {
        gatherPatch(size, b, y0, x0, h, w, cin, cB, input, patch);
        src = patch;
        pixB = 16;
        lineB = <usize>size << 4;
      }
      const at1 = tileB + cB; // row `tile` of a slice
      if (!s2) {
        // Rows: tmp[py][j] = (d[py] B)[j]; then columns: V[i*6+j] = (B^T tmp[.][j])[i].
        for (let py = 0; py < 6; py++) inputTransform6(src + <usize>py * lineB, pixB, tmp + <usize>py * 96, 16);
        for (let j = 0; j < 6; j++) inputTransform6(tmp + (<usize>j << 4), 96, v + at1 + <usize>j * s1, 6 * s1);
        continue;
      }
      // Along each row: tmp[y][0..4] = E transformed, tmp[y][5..8] = O.
      for (let y = 0; y < 9; y++) {
        const q = tmp + <usize>y * 144;
        inputTransform9(src + <usize>y * lineB, pixB, q, 16, q + 80, 16);
      }
      // Down each column, into the slices.
      const at4 = (tileB << 2) + cB; // row 4 * tile
      const at16 = (tileB << 4) + cB; // row 16 * tile
      for (let x = 0; x < 5; x++) {
        // Column x of E: rows E -> EE slice 5 * row + x; rows O -> OE slice x, row 4 * tile + (y - 5).
        inputTransform9(tmp + (<usize>x << 4), 144, v + <usize>x * s1 + at1, 5 * s1, oe + <usize>x * s4 + at4, rowB);
      }
      for (let x = 0; x < 4; x++) {
        // Column x of O: rows E -> EO slice by row, row 4 * tile + x; rows O -> OO, row 16 * tile + 4 * (y - 5) + x.
        const col = <usize>x * rowB;
        inputTransform9(tmp + (<usize>(5 + x) << 4), 144, eo + at4 + col, s4, oo + at16 + col, 4 * rowB);
      }
    }
  }
}

/** One row of A^T (stride 1) applied to 6 values at p, p+stride, ...; 4 results to q, q+qstride, ... */
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

/**
 * One line of 9 GEMM results (stride 2; 5 E at pE, pE + sE, ..; 4 O at pO, pO + sO, ..):
 * A^T E + O, 4 values to q, q + qs, ..
 */
// @ts-ignore: decorator
@inline function outputTransform9(pE: usize, sE: usize, pO: usize, sO: usize, q: usize, qs: usize): void {
  const m0 = v128.load(pE);
  const m1 = v128.load(pE + sE);
  const m2 = v128.load(pE + 2 * sE);
  const m3 = v128.load(pE + 3 * sE);
  const m4 = v128.load(pE + 4 * sE);
  const s12 = f32x4.add(m1, m2);
  const d12 = f32x4.sub(m1, m2);
  v128.store(q, f32x4.add(f32x4.add(m0, s12), f32x4.add(m3, v128.load(pO))));
  v128.store(q + qs, f32x4.add(f32x4.add(d12, vmul(m3, 2)), v128.load(pO + sO)));
  v128.store(q + 2 * qs, f32x4.add(f32x4.add(s12, vmul(m3, 4)), v128.load(pO + 2 * sO)));
  v128.store(q + 3 * qs, f32x4.add(f32x4.add(d12, vmul(m3, 8)), f32x4.add(m4, v128.load(pO + 3 * sO))));
}

/** Output transform of one block, channels [cBeg, cEnd): Y + bias (+ residual) (ReLU), the valid pixels only. */
function winogradOutput(
  s2: bool, t0: i32, tb: i32, oh: i32, ow: i32, cout: i32, cBeg: i32, cEnd: i32, tilesH: i32, tilesW: i32,
  m: usize, bias: usize, output: usize, residual: usize, relu: bool, tmp: usize,
): void {
  const rowB = <usize>cout << 2; // one pixel of the output, one row of a slice
  const s1 = sliceStride(tb, cout);
  const s4 = sliceStride(4 * tb, cout);
  const eo = m + 25 * s1; // stride 2: the EO, OE and OO slices
  const oe = eo + 5 * s4;
  const oo = oe + 5 * s4;
  const ys = tmp + 4 * 144; // Y[y][x] at ys + 64 * y + 16 * x
  const zero = f32x4.splat(0);
  for (let i = 0; i < tb; i++) {
    locateTile(t0 + i, tilesH, tilesW);
    const y0 = tileRow * 4;
    const x0 = tileCol * 4;
    const rows = min(4, oh - y0);
    const cols = min(4, ow - x0);
    const first = <usize>((tileImage * oh + y0) * ow + x0) * rowB; // the tile's first pixel
    const tileB = <usize>i * rowB;
    for (let c = cBeg; c < cEnd; c += 4) {
      const cB = <usize>c << 2;
      const at1 = tileB + cB;
      if (!s2) {
        // Rows of M: tmp[k][j] = (M[k] A)[j] for k < 6, j < 4; then columns: Y[y][j] = (A^T tmp[.][j])[y].
        for (let k = 0; k < 6; k++) outputTransform6(m + at1 + <usize>(k * 6) * s1, s1, tmp + <usize>k * 64, 16);
        for (let j = 0; j < 4; j++) outputTransform6(tmp + (<usize>j << 4), 64, ys + (<usize>j << 4), 64);
      } else {
        // Along each line (rows E: EE and EO slices; rows O: OE and OO slices): A^T E + O, into
        // tmp + 144 * x + 16 * line; then down each column x: Y[.][x] = A^T (its 5 E lines) + its 4 O lines.
        const at4 = (tileB << 2) + cB;
        const at16 = (tileB << 4) + cB;
        for (let y = 0; y < 5; y++) {
          outputTransform9(m + <usize>(5 * y) * s1 + at1, s1, eo + <usize>y * s4 + at4, rowB, tmp + (<usize>y << 4), 144);
        }
        for (let y = 0; y < 4; y++) {
          const line = <usize>y * rowB;
          outputTransform9(oe + at4 + line, s4, oo + at16 + 4 * line, rowB, tmp + (<usize>(5 + y) << 4), 144);
        }
        for (let x = 0; x < 4; x++) {
          const p = tmp + <usize>x * 144;
          outputTransform9(p, 16, p + 80, 16, ys + (<usize>x << 4), 64);
        }
      }
      const vb = v128.load(bias + cB);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const off = first + <usize>(y * ow + x) * rowB + cB;
          let acc = f32x4.add(v128.load(ys + <usize>(y * 4 + x) * 16), vb);
          if (residual != 0) acc = f32x4.add(acc, v128.load(residual + off));
          if (relu) acc = f32x4.max(acc, zero);
          v128.store(output + off, acc);
        }
      }
    }
  }
}

/**
 * 3x3 conv of stride 1 or 2 (dilation 1, groups 1, cin and cout multiples of 4) by Winograd.
 * packed: 36 GEMM weight sets in slice order (each ceil(cout/8) panels of depth cin, zero bias);
 * bias: [cout]; scratch: winograd_scratch_bytes(cin, cout, stride). Threads (part of parts, see
 * partStart in gemm.ts): with at least a block of tiles per part, each part takes a range of tiles;
 * with fewer (the last stage at batch 1), a range of output channels, so each thread streams only
 * its share of the 36 weight sets (the input transform is repeated per part). `sets`: bytes from
 * one weight set to the next (0: ceil(cout / 8) panels; a caller that packs only one part's
 * channels at a time (pack_winograd_weights) passes that part's, and packed offset to match).
 */
export function winograd_nhwc(
  stride: i32, n: i32, h: i32, w: i32, cin: i32, oh: i32, ow: i32, cout: i32, pt: i32, pl: i32,
  input: usize, packed: usize, bias: usize, output: usize, residual: usize, relu: bool, scratch: usize, sets: i32,
  part: i32, parts: i32, partBytes: i32,
): void {
  const s2 = stride == 2;
  const tilesH = (oh + 3) / 4;
  const tilesW = (ow + 3) / 4;
  const tiles = n * tilesH * tilesW;
  const block = blockTiles(cin, cout, stride);
  const panelB = <usize>panelFloats(cin) << 2;
  const setB = sets != 0 ? <usize>sets : <usize>((cout + NR - 1) / NR) * panelB;
  // This part's tiles [tBeg, tEnd) and output channels [cBeg, cEnd) (see partStart in gemm.ts).
  let tBeg = 0, tEnd = tiles, cBeg = 0, cEnd = cout;
  if (parts > 1) {
    scratch += <usize>part * partBytes;
    if (tiles >= parts * block) {
      tBeg = partFrom(tiles, MR, part, parts);
      tEnd = partFrom(tiles, MR, part + 1, parts);
    } else {
      cBeg = partFrom(cout, NR, part, parts);
      cEnd = partFrom(cout, NR, part + 1, parts);
      if (cEnd <= cBeg) return;
    }
  }
  const cB = <usize>cBeg << 2;
  const wOff = <usize>(cBeg / NR) * panelB;
  const v = scratch;
  const m = v + blockBytes(s2, block, cin);
  const tmp = m + blockBytes(s2, block, cout);
  const apack = tmp + TMP_BYTES;
  // The gathered border patch can share the M area: M is not live during the input transform.
  const patch = m;
  for (let t0 = tBeg; t0 < tEnd; t0 += block) {
    const tb = min(block, tEnd - t0);
    winogradInput(s2, t0, tb, h, w, cin, tilesH, tilesW, pt, pl, input, v, patch, tmp);
    let vs = v;
    let ms = m;
    let ws = packed + wOff;
    for (let g = 0; g < 36; g++, ws += setB) {
      const rows = sliceRows(s2, g, tb);
      f32_gemm(rows, cEnd - cBeg, cin, vs, cin, ws, ms + cB, cout, 0, 0, false, apack, 0, false);
      vs += sliceStride(rows, cin);
      ms += sliceStride(rows, cout);
    }
    winogradOutput(s2, t0, tb, oh, ow, cout, cBeg, cEnd, tilesH, tilesW, m, bias, output, residual, relu, tmp);
  }
}
