// Winograd for 3x3 stride-2 convs (NHWC, channels a multiple of 4): 4x4 output tiles, split by the
// parity of the input rows and columns.
//
// In 1D a tile of 4 outputs reads 9 padded inputs d0..d8. With E = d0, d2, .., d8 (5 values) and
// O = d1, d3, d5, d7 (4 values), y[j] = E[j] g0 + E[j+1] g2 + O[j] g1: a 2-tap correlation of E,
// done by Winograd F(4, 2) (5 multiplies for 4 outputs), plus O times g1 (4 multiplies, no transform).
// That gives 9 points per 4 outputs instead of 12. In 2D the tensor product has 9x9 = 81 points per
// 16 outputs instead of 144 multiplies:
//   EE  5x5 points, F(4x4, 2x2) on the even taps g[0|2][0|2]: 25 GEMMs of one row per tile;
//   EO  rows E, columns O: the 4 columns of one E row share U = G (g[0][1], g[2][1]): 5 GEMMs of 4 rows per tile;
//   OE  likewise by column, U = G (g[1][0], g[1][2]): 5 GEMMs of 4 rows per tile;
//   OO  the 16 odd-odd inputs times g[1][1]: 1 GEMM of 16 rows per tile.
// Y = A^T M_EE A + A^T M_EO + M_OE A + M_OO, then bias, residual and ReLU.
// The split by phase is the stride-2 case of Huang et al. 2020, "DWM: A Decomposable Winograd Method
// for Convolution Acceleration" (AAAI, arXiv 2002.00552); here the four parts share one output tile
// and one output transform. F(4, 2) has the interpolation points 0, 1, -1, 2, ∞ (see: Lavin & Gray
// 2015, arXiv 1509.09308); its matrices (G is applied at load, src/backends/wasm/conv.ts):
//   B^T = [2 -1 -2  1  0]     A^T = [1  1  1  1  0]
//         [0 -2 -1  1  0]           [0  1 -1  2  0]
//         [0  2 -3  1  0]           [0  1  1  4  0]
//         [0 -1  0  1  0]           [0  1 -1  8  1]
//         [0  2 -1 -2  1]
//
// One block of tiles keeps V (inputs transformed) and M (GEMM results) as 36 slices, in the order
// of the packed weight sets: EE (5 * row + column), EO by row, OE by column, OO.
import { f32_gemm, gemm_scratch_bytes, panelFloats, NR, MR } from './gemm';
import { sliceStride, vmul } from './winograd';

/** Bytes of V and M of one block at most (see BLOCK_BYTES in winograd.ts). */
const BLOCK_BYTES: i32 = 512 * 1024;

/** The input transform's 9x9 vectors, the output transform's 9x4 + 4x4. */
const TMP_BYTES: i32 = 81 * 16;

/** Tiles per block: a multiple of MR, at least MR. */
export function winograd_s2_block_tiles(cin: i32, cout: i32): i32 {
  const t = BLOCK_BYTES / (81 * 4 * (cin + cout));
  return max(MR, t - t % MR);
}

/** Bytes of the 36 slices of V (or M) of a block of `tiles` tiles with `ch` channels. */
// @ts-ignore: decorator
@inline function blockBytes(tiles: i32, ch: i32): usize {
  return 25 * sliceStride(tiles, ch) + 10 * sliceStride(4 * tiles, ch) + sliceStride(16 * tiles, ch);
}

/** Scratch bytes winograd_s2_nhwc needs: V and M of one block, the transform temporaries and the GEMMs' packed A. */
export function winograd_s2_scratch_bytes(cin: i32, cout: i32): i32 {
  const block = winograd_s2_block_tiles(cin, cout);
  return <i32>(blockBytes(block, cin) + blockBytes(block, cout)) + TMP_BYTES + gemm_scratch_bytes(16 * block, cin);
}

/**
 * One line of 9 inputs at p, p + s, ..: the 5 even ones through B^T to qE, qE + sE, ..; the 4 odd
 * ones copied to qO, qO + sO, ..
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

/** Input transform of one block of tiles into the 36 slices of V, 4 channels at a time. */
function winogradS2Input(
  t0: i32, tb: i32, h: i32, w: i32, cin: i32, tilesH: i32, tilesW: i32, pt: i32, pl: i32,
  input: usize, v: usize, patch: usize, tmp: usize,
): void {
  const tilesPerImage = tilesH * tilesW;
  const rowB = <usize>cin << 2; // one row of a slice: one tile's channels
  const s1 = sliceStride(tb, cin);
  const s4 = sliceStride(4 * tb, cin);
  const eo = v + 25 * s1;
  const oe = eo + 5 * s4;
  const oo = oe + 5 * s4;
  for (let i = 0; i < tb; i++) {
    const t = t0 + i;
    const b = t / tilesPerImage;
    const r = t - b * tilesPerImage;
    const ty = r / tilesW;
    const tx = r - ty * tilesW;
    const y0 = ty * 8 - pt;
    const x0 = tx * 8 - pl;
    const interior = y0 >= 0 && x0 >= 0 && y0 + 9 <= h && x0 + 9 <= w;
    const tileB = <usize>i * rowB;
    for (let c = 0; c < cin; c += 4) {
      const cB = <usize>c << 2;
      let src: usize;
      let pixB: usize;
      let lineB: usize;
      if (interior) {
        pixB = <usize>cin << 2;
        lineB = <usize>w * pixB;
        src = input + <usize>((b * h + y0) * w + x0) * pixB + cB;
      } else {
        // Gather the 9x9 patch with zeros outside the input (the conv padding).
        for (let py = 0; py < 9; py++) {
          const iy = y0 + py;
          for (let px = 0; px < 9; px++) {
            const ix = x0 + px;
            const dst = patch + (<usize>(py * 9 + px) << 4);
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
              v128.store(dst, v128.load(input + <usize>((b * h + iy) * w + ix) * (<usize>cin << 2) + cB));
            } else {
              v128.store(dst, f32x4.splat(0));
            }
          }
        }
        src = patch;
        pixB = 16;
        lineB = 144;
      }
      // Along each row: tmp[y][0..4] = E transformed, tmp[y][5..8] = O.
      for (let y = 0; y < 9; y++) {
        const q = tmp + <usize>y * 144;
        inputTransform9(src + <usize>y * lineB, pixB, q, 16, q + 80, 16);
      }
      // Down each column, into the slices (see the layout in the header).
      const at1 = tileB + cB; // row `tile` of a slice
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

/** One line of 9 GEMM results (5 E at pE, pE + sE, ..; 4 O at pO, ..): A^T E + O, 4 values to q, q + qs, .. */
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

/** Output transform of one block: Y = A^T M_EE A + A^T M_EO + M_OE A + M_OO + bias (+ residual) (ReLU). */
function winogradS2Output(
  t0: i32, tb: i32, oh: i32, ow: i32, cout: i32, tilesH: i32, tilesW: i32,
  m: usize, bias: usize, output: usize, residual: usize, relu: bool, tmp: usize,
): void {
  const tilesPerImage = tilesH * tilesW;
  const rowB = <usize>cout << 2;
  const s1 = sliceStride(tb, cout);
  const s4 = sliceStride(4 * tb, cout);
  const eo = m + 25 * s1;
  const oe = eo + 5 * s4;
  const oo = oe + 5 * s4;
  const ys = tmp + 4 * 144; // Y[y][x] at ys + 64 * y + 16 * x; the lines' results at tmp + 144 * x + 16 * line
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
    const tileB = <usize>i * rowB;
    for (let c = 0; c < cout; c += 4) {
      const cB = <usize>c << 2;
      const at1 = tileB + cB;
      const at4 = (tileB << 2) + cB;
      const at16 = (tileB << 4) + cB;
      // Along each line (rows E: EE and EO slices; rows O: OE and OO slices): A^T E + O.
      for (let y = 0; y < 5; y++) {
        outputTransform9(m + <usize>(5 * y) * s1 + at1, s1, eo + <usize>y * s4 + at4, rowB, tmp + (<usize>y << 4), 144);
      }
      for (let y = 0; y < 4; y++) {
        const line = <usize>y * rowB;
        outputTransform9(oe + at4 + line, s4, oo + at16 + 4 * line, rowB, tmp + (<usize>(5 + y) << 4), 144);
      }
      // Down each column x: Y[.][x] = A^T (its 5 E lines) + its 4 O lines.
      for (let x = 0; x < 4; x++) {
        const p = tmp + <usize>x * 144;
        outputTransform9(p, 16, p + 80, 16, ys + (<usize>x << 4), 64);
      }
      const vb = v128.load(bias + cB);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const off = <usize>((b * oh + y0 + y) * ow + x0 + x) * rowB + cB;
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
 * 3x3 stride-2 conv (dilation 1, groups 1, cin and cout multiples of 4) by the phase split above.
 * packed: 36 GEMM weight sets (each ceil(cout/8) panels of depth cin, zero bias) in slice order;
 * bias: [cout]; scratch: winograd_s2_scratch_bytes(cin, cout).
 */
export function winograd_s2_nhwc(
  n: i32, h: i32, w: i32, cin: i32, oh: i32, ow: i32, cout: i32, pt: i32, pl: i32,
  input: usize, packed: usize, bias: usize, output: usize, residual: usize, relu: bool, scratch: usize,
): void {
  const tilesH = (oh + 3) / 4;
  const tilesW = (ow + 3) / 4;
  const tiles = n * tilesH * tilesW;
  const block = winograd_s2_block_tiles(cin, cout);
  const setB = <usize>((cout + NR - 1) / NR) * (<usize>panelFloats(cin) << 2);
  const v = scratch;
  const m = v + blockBytes(block, cin);
  const tmp = m + blockBytes(block, cout);
  const apack = tmp + TMP_BYTES;
  // The gathered border patch (81 vectors) can share the M area: M is not live during the input transform.
  const patch = m;
  for (let t0 = 0; t0 < tiles; t0 += block) {
    const tb = min(block, tiles - t0);
    winogradS2Input(t0, tb, h, w, cin, tilesH, tilesW, pt, pl, input, v, patch, tmp);
    let vs = v;
    let ms = m;
    let ws = packed;
    for (let g = 0; g < 36; g++, ws += setB) {
      const rows = g < 25 ? tb : g < 35 ? 4 * tb : 16 * tb;
      f32_gemm(rows, cout, cin, vs, cin, ws, ms, cout, 0, 0, false, apack);
      vs += sliceStride(rows, cin);
      ms += sliceStride(rows, cout);
    }
    winogradS2Output(t0, tb, oh, ow, cout, tilesH, tilesW, m, bias, output, residual, relu, tmp);
  }
}
