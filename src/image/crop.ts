/**
 * Center crops, with the two offset conventions in use. Browser-safe.
 */
import type { RgbImage } from './image.js';
import { roundHalfEven } from './image.js';

/**
 * How the top-left corner is chosen:
 * - `round`: torchvision `F.center_crop`: `int(round((H - h) / 2.0))` with Python's
 *   round-half-to-even (see: torchvision/transforms/functional.py `center_crop`).
 * - `floor`: PaddleClas `CropImage`: `(H - h) // 2`
 *   (see: ppcls/data/preprocess/ops/operators.py `CropImage`).
 */
export type CropOffset = 'round' | 'floor';

export function centerCrop(src: RgbImage, cropWidth: number, cropHeight: number, offset: CropOffset): RgbImage {
  if (cropWidth > src.width || cropHeight > src.height) {
    throw new RangeError(
      `center crop ${cropWidth}x${cropHeight} is larger than the ${src.width}x${src.height} image; resize it first`,
    );
  }
  if (offset !== 'round' && offset !== 'floor') throw new RangeError(`unknown crop offset '${String(offset)}' (expected round or floor)`);
  const start = (total: number, size: number): number =>
    offset === 'round' ? roundHalfEven((total - size) / 2) : Math.floor((total - size) / 2);
  return crop(src, start(src.width, cropWidth), start(src.height, cropHeight), cropWidth, cropHeight);
}

/** The `width` x `height` window whose top-left pixel is (left, top). */
export function crop(src: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  if (left < 0 || top < 0 || left + width > src.width || top + height > src.height) {
    throw new RangeError(
      `crop window ${width}x${height} at (${left}, ${top}) does not fit in the ${src.width}x${src.height} image`,
    );
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * src.width + left) * 3;
    out.set(src.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { width, height, data: out };
}
