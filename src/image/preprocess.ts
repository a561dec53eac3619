/**
 * `preprocess(image, preset)`: ImageData-like pixels -> normalised NCHW float32 Tensor [1, 3, S, S].
 * Browser-safe: no `node:` imports. Steps: drop alpha -> resize the shorter side -> center crop ->
 * scale, subtract mean, divide by std -> CHW.
 */
import { imageLimits, type ImageLimits } from '../limits.js';
import { isNdArray, ndarrayToImage, type ImageLayout, type NdArrayLike } from '../ndarray.js';
import type { Tensor } from '../tensor.js';
import { centerCrop } from './crop.js';
import { toRgb, roundHalfEven, type ImageDataLike, type RgbImage } from './image.js';
import { rgbToTensor, stackBatch } from './normalize.js';
import { getPreset, type Preset, type PresetName, type ResizeStep } from './presets.js';
import { resizeCv2Linear } from './resize-cv2.js';
import { resizePil } from './resize-pil.js';

export interface PreprocessOptions {
  /** Network input side (the center crop); default: the preset's `cropSize` (224, or 32 for cifar). */
  readonly size?: number;
  /** Shorter side before the crop; default: from the preset (`shortSide` scaled to `size`, or `size / cropPct`). */
  readonly resizeSize?: number;
  /** Axis order of an ndarray image: 'whc' (default; get-pixels' [width, height, channels]) or 'hwc'. */
  readonly layout?: ImageLayout;
  /** Raised (or lowered) limits; `maxResizePixels` bounds the resized image (see ImageLimits in limits.ts). */
  readonly limits?: Partial<ImageLimits>;
}

/** What `preprocess` will do to an image of a given size: resize to `resize` ([width, height], null: none), then crop `crop` x `crop`. */
export interface PreprocessPlan {
  readonly resize: [number, number] | null;
  readonly crop: number;
}

/** The plan with the shorter-side target it came from (what resizeShorterSide takes). */
interface Plan extends PreprocessPlan {
  readonly shortSide: number;
}

/** The shorter-side target a preset uses for a given crop size. */
export function resizeTarget(step: ResizeStep, preset: Preset, size: number): number {
  if (step.cropPct !== undefined) return Math.floor(size / step.cropPct);
  if (step.shortSide === undefined) throw new RangeError(`preset '${preset.name}' has neither shortSide nor cropPct`);
  return size === preset.cropSize ? step.shortSide : Math.floor((size * step.shortSide) / preset.cropSize);
}

/** Output width and height when the shorter side becomes `shortSide`. */
export function shorterSideSize(width: number, height: number, shortSide: number, longSide: ResizeStep['longSide']): [number, number] {
  if (longSide === 'trunc') {
    // torchvision: short, long = (w, h) if w <= h else (h, w); new_long = int(size * long / short)
    const [short, long] = width <= height ? [width, height] : [height, width];
    const newLong = Math.trunc((shortSide * long) / short);
    return width <= height ? [shortSide, newLong] : [newLong, shortSide];
  }
  // PaddleClas: percent = size / min(w, h); w = int(round(w * percent)); h = int(round(h * percent))
  const percent = shortSide / Math.min(width, height);
  return [roundHalfEven(width * percent), roundHalfEven(height * percent)];
}

/** Resizes so the shorter side is `shortSide`, with the preset's resize method and size rule. */
export function resizeShorterSide(image: RgbImage, shortSide: number, step: ResizeStep): RgbImage {
  const [w, h] = shorterSideSize(image.width, image.height, shortSide, step.longSide);
  switch (step.method) {
    case 'pil-bilinear':
      return resizePil(image, w, h, 'bilinear');
    case 'pil-bicubic':
      return resizePil(image, w, h, 'bicubic');
    case 'cv2-linear':
      return resizeCv2Linear(image, w, h);
    default:
      throw new RangeError(`unknown resize method '${String(step.method)}' (expected pil-bilinear, pil-bicubic or cv2-linear)`);
  }
}

function checkSide(what: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new RangeError(`${what} must be a positive integer, got ${v}`);
}

/**
 * Checks that `preprocess` can take an image of `width` x `height` with these options, from its size
 * alone (a file header is enough), and says what it will do. Throws a RangeError naming the sizes when
 * it cannot: a preset without resizing given another size, or a resize target over `maxResizePixels`
 * (an extreme aspect ratio: resizing 1x20000 to a shorter side of 256 gives 256x5120000).
 */
export function checkPreprocess(width: number, height: number, preset: PresetName | Preset, options: PreprocessOptions = {}): PreprocessPlan {
  const { resize, crop } = plan(width, height, preset, options);
  return { resize, crop };
}

function plan(width: number, height: number, preset: PresetName | Preset, options: PreprocessOptions): Plan {
  const p = typeof preset === 'string' ? getPreset(preset) : preset;
  checkSide('size', options.size);
  checkSide('resizeSize', options.resizeSize);
  const limits = imageLimits(options.limits);
  const size = options.size ?? p.cropSize;
  if (p.resize === null) {
    if (size !== p.cropSize || options.resizeSize !== undefined) {
      throw new RangeError(`preset '${p.name}' takes ${p.cropSize}x${p.cropSize} images as they are; it has no size or resizeSize option`);
    }
    if (width !== p.cropSize || height !== p.cropSize) {
      throw new RangeError(
        `preset '${p.name}' expects a ${p.cropSize}x${p.cropSize} image (it does no resizing, as in training), got ${width}x${height}; ` +
          `resize the image to ${p.cropSize}x${p.cropSize} first, or use an ImageNet preset (torchvision, timm, paddleclas) with an ImageNet model`,
      );
    }
    return { resize: null, crop: size, shortSide: size };
  }
  const shortSide = options.resizeSize ?? resizeTarget(p.resize, p, size);
  if (shortSide < size) {
    throw new RangeError(`resizeSize ${shortSide} is smaller than the crop size ${size}; the crop would not fit`);
  }
  const [w, h] = shorterSideSize(width, height, shortSide, p.resize.longSide);
  if (w * h > limits.maxResizePixels) {
    throw new RangeError(
      `resizing ${width}x${height} so that its shorter side is ${shortSide} (preset ${p.name}) gives ${w}x${h} = ${w * h} pixels, ` +
        `over the limit of maxResizePixels = ${limits.maxResizePixels}`,
    );
  }
  return { resize: [w, h], crop: size, shortSide };
}

/**
 * Pixels -> Tensor [1, 3, size, size], following `preset` (a name from PRESETS or a Preset object).
 * `image` is ImageData-like, or an 8-bit ndarray view (get-pixels' output; see `options.layout`).
 */
export function preprocess(image: ImageDataLike | NdArrayLike, preset: PresetName | Preset, options: PreprocessOptions = {}): Tensor {
  const p = typeof preset === 'string' ? getPreset(preset) : preset;
  let rgb = toRgb(isNdArray(image) ? ndarrayToImage(image, options.layout) : image);
  // Every size check before any pixel is touched: the resize target is bounded by maxResizePixels.
  const { shortSide, crop } = plan(rgb.width, rgb.height, p, options);
  if (p.resize === null) return rgbToTensor(rgb, p.normalization);
  rgb = resizeShorterSide(rgb, shortSide, p.resize);
  rgb = centerCrop(rgb, crop, crop, p.cropOffset);
  return rgbToTensor(rgb, p.normalization);
}

/** Several images -> one Tensor [N, 3, size, size]. */
export function preprocessBatch(images: readonly (ImageDataLike | NdArrayLike)[], preset: PresetName | Preset, options: PreprocessOptions = {}): Tensor {
  return stackBatch(images.map((im) => preprocess(im, preset, options)));
}
