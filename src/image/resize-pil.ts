/**
 * PIL's `Image.resize((w, h), BILINEAR | BICUBIC)` on an 8-bit RGB image, reproduced bit for bit.
 * torchvision's and timm's eval transforms call exactly this on a PIL image.
 *
 * see: Pillow src/libImaging/Resample.c (`precompute_coeffs`, `normalize_coeffs_8bpc`,
 *      `ImagingResampleHorizontal_8bpc`, `ImagingResampleVertical_8bpc`, `ImagingResampleInner`)
 *
 * The algorithm, as PIL has it:
 * - Separable convolution, horizontal pass first, then vertical; the intermediate image is
 *   uint8 (each pass rounds and clips).
 * - Antialiasing: when shrinking by `scale = in / out`, the filter is stretched by `scale`
 *   (its support grows to `support * scale`), so every input pixel contributes.
 * - Output pixel `i` is centred on input coordinate `(i + 0.5) * scale`; taps outside the image
 *   are dropped and the remaining weights renormalised to sum 1 (no edge replication).
 * - Weights are converted to fixed point with 22 fractional bits (`PRECISION_BITS = 32 - 8 - 2`),
 *   rounded half away from zero; the sum starts at 0.5 (`1 << 21`) and is shifted right by 22
 *   (floor), then clipped to [0, 255].
 */
import type { RgbImage } from './image.js';

export type PilFilter = 'bilinear' | 'bicubic';

interface Filter {
  readonly support: number;
  readonly weight: (x: number) => number;
}

// see: Resample.c `bilinear_filter` (the triangle filter), support 1.
function triangle(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1 ? 1 - a : 0;
}

// see: Resample.c `bicubic_filter`: Keys' cubic convolution with a = -0.5, support 2.
function cubic(x: number): number {
  const a = -0.5;
  const t = x < 0 ? -x : x;
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

const FILTERS: Record<PilFilter, Filter> = {
  bilinear: { support: 1, weight: triangle },
  bicubic: { support: 2, weight: cubic },
};

const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Per output pixel: first input index, tap count, and `ksize` fixed-point weights. */
interface Coefficients {
  readonly ksize: number;
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** [outSize, ksize], 22-bit fixed point */
  readonly weights: Int32Array;
}

// see: Resample.c `precompute_coeffs` (box = [0, inSize]) and `normalize_coeffs_8bpc`.
function precomputeCoefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const inv = 1 / filterScale;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * inv);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x] / sum : k[x];
      weights[i * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    first[i] = xmin;
    count[i] = xmax;
  }
  return { ksize, first, count, weights };
}

// see: Resample.c `clip8`: arithmetic shift (floor) by 22, then clip to [0, 255].
function clip8(acc: number): number {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes packed RGB to `outWidth` x `outHeight` exactly as PIL does for mode "RGB".
 * Same size returns a copy (PIL's `resize` returns `self.copy()`).
 */
export function resizePil(src: RgbImage, outWidth: number, outHeight: number, filterName: PilFilter): RgbImage {
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth <= 0 || outHeight <= 0) {
    throw new RangeError(`resize target must be positive integers, got ${outWidth}x${outHeight}`);
  }
  const filter = FILTERS[filterName];
  if (filter === undefined) throw new RangeError(`unknown PIL filter '${String(filterName)}' (expected bilinear or bicubic)`);
  const needHorizontal = outWidth !== src.width;
  const needVertical = outHeight !== src.height;
  if (!needHorizontal && !needVertical) return { width: src.width, height: src.height, data: src.data.slice() };

  const vertical = precomputeCoefficients(src.height, outHeight, filter);
  let image = src;
  let rowOffset = 0;
  if (needHorizontal) {
    // Only the rows the vertical pass reads are resampled horizontally (ybox_first .. ybox_last).
    const yFirst = vertical.first[0];
    const yLast = vertical.first[outHeight - 1] + vertical.count[outHeight - 1];
    image = resampleHorizontal(src, outWidth, yFirst, yLast, precomputeCoefficients(src.width, outWidth, filter));
    rowOffset = yFirst;
  }
  if (needVertical) image = resampleVertical(image, outHeight, rowOffset, vertical);
  return image;
}

/** Rows [yFirst, yLast) of `src`, each resampled to `outWidth`. Layout: packed RGB. */
function resampleHorizontal(src: RgbImage, outWidth: number, yFirst: number, yLast: number, c: Coefficients): RgbImage {
  const height = yLast - yFirst;
  const out = new Uint8Array(outWidth * height * 3);
  const inRowStride = src.width * 3;
  const s = src.data;
  for (let y = 0; y < height; y++) {
    const rowBase = (y + yFirst) * inRowStride;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = c.first[xx];
      const n = c.count[xx];
      const kBase = xx * c.ksize;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let x = 0; x < n; x++) {
        const w = c.weights[kBase + x];
        const p = rowBase + (xmin + x) * 3;
        r += s[p] * w;
        g += s[p + 1] * w;
        b += s[p + 2] * w;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width: outWidth, height, data: out };
}

/** Resamples columns to `outHeight`; coefficient row indices are shifted down by `rowOffset`. */
function resampleVertical(src: RgbImage, outHeight: number, rowOffset: number, c: Coefficients): RgbImage {
  const width = src.width;
  const rowStride = width * 3;
  const out = new Uint8Array(width * outHeight * 3);
  const s = src.data;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = c.first[yy] - rowOffset;
    const n = c.count[yy];
    const kBase = yy * c.ksize;
    for (let i = 0; i < rowStride; i++) {
      let acc = HALF;
      for (let y = 0; y < n; y++) acc += s[(ymin + y) * rowStride + i] * c.weights[kBase + y];
      out[yy * rowStride + i] = clip8(acc);
    }
  }
  return { width, height: outHeight, data: out };
}
