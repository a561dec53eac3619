/**
 * OpenCV's `cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)` on an 8-bit 3-channel image,
 * the resize PaddleClas' `ResizeImage` uses by default. No antialiasing: every output pixel reads
 * the 2x2 input pixels around its centre, whatever the scale.
 *
 * see: opencv modules/imgproc/src/resize.cpp: `cv::resize`, `hal::resize` (coefficient tables),
 *      `HResizeLinear`, `VResizeLinear` (its uchar specialisation), `VResizeLinearVec_32s8u`,
 *      `resizeAreaFast_`. Checked bit-exact against OpenCV 4.6.0 (Debian python3-opencv) on the
 *      test fixtures.
 *
 * What OpenCV does for CV_8U, INTER_LINEAR:
 * - Same size: plain copy. Exactly half in both directions: switches to INTER_AREA's fast 2x2
 *   average, `(a + b + c + d + 2) >> 2`.
 * - `scale = 1 / (dst / src)` in double; the source coordinate `f = float((d + 0.5) * scale - 0.5)`
 *   (half-pixel centres), `s = floor(f)`, fraction `f - s`. Left of the image (`s < 0`) and at the
 *   last column (`s >= src - 1`) the coordinate clamps to the edge with fraction 0 (replicate border).
 * - Weights are 11-bit fixed point: `round_half_even((1 - f) * 2048)` and `round_half_even(f * 2048)`.
 *   Vertically the row indices clamp to [0, H-1] but the fraction is kept.
 * - Horizontal pass keeps int sums (`S0 * a0 + S1 * a1`, up to 255 * 2048). The vertical pass
 *   combines two such rows as `((((r0 >> 4) * b0) >> 16) + (((r1 >> 4) * b1) >> 16) + 2) >> 2`:
 *   the 16-bit `v_mul_hi` arithmetic of `VResizeLinearVec_32s8u`, which the uchar specialisation
 *   of `VResizeLinear` repeats for the row tail, so every sample is computed the same way. (A
 *   plain `(r0 * b0 + r1 * b1 + 2^21) >> 22` differs by 1 on many pixels.)
 * - Not reproduced: the OpenCL (UMat) path and the newer special case for exact 2x upscaling.
 */
import type { RgbImage } from './image.js';
import { roundHalfEven } from './image.js';

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

/** For each destination index: the clamped source index and the two 11-bit weights. */
interface LinearTable {
  readonly index: Int32Array;
  readonly w0: Int32Array;
  readonly w1: Int32Array;
}

function linearTable(srcSize: number, dstSize: number, clampFraction: boolean): LinearTable {
  const scale = 1 / (dstSize / srcSize);
  const index = new Int32Array(dstSize);
  const w0 = new Int32Array(dstSize);
  const w1 = new Int32Array(dstSize);
  for (let d = 0; d < dstSize; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (clampFraction) {
      // Horizontal: the table itself clamps (resize.cpp, the `xmin` / `xmax` branches).
      if (s < 0) {
        f = 0;
        s = 0;
      }
      if (s >= srcSize - 1) {
        f = 0;
        s = srcSize - 1;
      }
    }
    index[d] = s;
    w0[d] = roundHalfEven(Math.fround(1 - f) * COEF_SCALE);
    w1[d] = roundHalfEven(f * COEF_SCALE);
  }
  return { index, w0, w1 };
}

/** Resizes packed RGB to `outWidth` x `outHeight` as `cv2.resize(..., INTER_LINEAR)` does. */
export function resizeCv2Linear(src: RgbImage, outWidth: number, outHeight: number): RgbImage {
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth <= 0 || outHeight <= 0) {
    throw new RangeError(`resize target must be positive integers, got ${outWidth}x${outHeight}`);
  }
  const { width: w, height: h } = src;
  if (outWidth === w && outHeight === h) return { width: w, height: h, data: src.data.slice() };
  const scaleX = 1 / (outWidth / w);
  const scaleY = 1 / (outHeight / h);
  if (scaleX === 2 && scaleY === 2) return halveByArea(src);

  const cn = 3;
  const cols = linearTable(w, outWidth, true);
  const rows = linearTable(h, outHeight, false);
  const rowLen = outWidth * cn;
  const s = src.data;

  // Horizontal pass for every source row (a real implementation caches only the two rows it
  // needs; the values are the same).
  const horiz = new Int32Array(h * rowLen);
  for (let y = 0; y < h; y++) {
    const inBase = y * w * cn;
    const outBase = y * rowLen;
    for (let dx = 0; dx < outWidth; dx++) {
      const sx = cols.index[dx];
      const a0 = cols.w0[dx];
      const a1 = cols.w1[dx];
      const p = inBase + sx * cn;
      const q = sx + 1 < w ? p + cn : p; // a1 is 0 at the right edge
      for (let c = 0; c < cn; c++) horiz[outBase + dx * cn + c] = s[p + c] * a0 + s[q + c] * a1;
    }
  }

  const out = new Uint8Array(outHeight * rowLen);
  for (let dy = 0; dy < outHeight; dy++) {
    const sy = rows.index[dy];
    const r0 = Math.min(Math.max(sy, 0), h - 1) * rowLen;
    const r1 = Math.min(Math.max(sy + 1, 0), h - 1) * rowLen;
    const b0 = rows.w0[dy];
    const b1 = rows.w1[dy];
    const o = dy * rowLen;
    for (let x = 0; x < rowLen; x++) {
      // v_mul_hi on (row >> 4): 16x16 -> high 16 bits; then a rounding shift by 2 (at most 255).
      out[o + x] = ((((horiz[r0 + x] >> 4) * b0) >> 16) + (((horiz[r1 + x] >> 4) * b1) >> 16) + 2) >> 2;
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

// see: resize.cpp `resizeAreaFast_` with a 2x2 area: (sum of 4 + 2) >> 2.
function halveByArea(src: RgbImage): RgbImage {
  const w = src.width / 2;
  const h = src.height / 2;
  const s = src.data;
  const stride = src.width * 3;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const p = 2 * y * stride + 2 * x * 3 + c;
        out[(y * w + x) * 3 + c] = (s[p] + s[p + 3] + s[p + stride] + s[p + stride + 3] + 2) >> 2;
      }
    }
  }
  return { width: w, height: h, data: out };
}
