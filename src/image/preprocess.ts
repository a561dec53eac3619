/**
 * `preprocess(image, preset)`: ImageData-like pixels -> normalised NCHW float32 Tensor [1, 3, S, S].
 * Browser-safe: no `node:` imports. Steps: drop alpha -> resize the shorter side -> center crop ->
 * scale, subtract mean, divide by std -> CHW.
 */
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
 * Pixels -> Tensor [1, 3, size, size], following `preset` (a name from PRESETS or a Preset object).
 * `image` is ImageData-like, or an 8-bit ndarray view (get-pixels' output; see `options.layout`).
 */
export function preprocess(image: ImageDataLike | NdArrayLike, preset: PresetName | Preset, options: PreprocessOptions = {}): Tensor {
  const p = typeof preset === 'string' ? getPreset(preset) : preset;
  checkSide('size', options.size);
  checkSide('resizeSize', options.resizeSize);
  const size = options.size ?? p.cropSize;
  let rgb = toRgb(isNdArray(image) ? ndarrayToImage(image, options.layout) : image);

  if (p.resize === null) {
    if (size !== p.cropSize || options.resizeSize !== undefined) {
      throw new RangeError(`preset '${p.name}' takes ${p.cropSize}x${p.cropSize} images as they are; it has no size or resizeSize option`);
    }
    if (rgb.width !== p.cropSize || rgb.height !== p.cropSize) {
      throw new RangeError(
        `preset '${p.name}' expects a ${p.cropSize}x${p.cropSize} image (it does no resizing, as in training), got ${rgb.width}x${rgb.height}; ` +
          `resize the image to ${p.cropSize}x${p.cropSize} first, or use an ImageNet preset (torchvision, timm, paddleclas) with an ImageNet model`,
      );
    }
    return rgbToTensor(rgb, p.normalization);
  }

  const shortSide = options.resizeSize ?? resizeTarget(p.resize, p, size);
  if (shortSide < size) {
    throw new RangeError(`resizeSize ${shortSide} is smaller than the crop size ${size}; the crop would not fit`);
  }
  rgb = resizeShorterSide(rgb, shortSide, p.resize);
  rgb = centerCrop(rgb, size, size, p.cropOffset);
  return rgbToTensor(rgb, p.normalization);
}

/** Several images -> one Tensor [N, 3, size, size]. */
export function preprocessBatch(images: readonly (ImageDataLike | NdArrayLike)[], preset: PresetName | Preset, options: PreprocessOptions = {}): Tensor {
  return stackBatch(images.map((im) => preprocess(im, preset, options)));
}
