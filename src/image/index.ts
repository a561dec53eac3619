/**
 * Browser-safe image decoding and preprocessing (no file access, no `node:` imports): `decodeImage`
 * for JPEG (the exact, libjpeg-turbo-identical decoder) and PNG (png.ts) in every runtime. Reading
 * files and the jpeg-js fallback are Node-only and live in `decode-node.ts`.
 */
export type { ImageDataLike, RgbImage } from './image.js';
export { toRgb } from './image.js';
export { decodeImage, ImageDecodeError, readImageHeader, sniffImageFormat, type DecodedImage, type DecodeImageOptions } from './decode.js';
export { decodeJpegExact, JpegUnsupportedError, type DecodedJpeg } from './jpeg-baseline.js';
export { resizePil, type PilFilter } from './resize-pil.js';
export { resizeCv2Linear } from './resize-cv2.js';
export { centerCrop, crop, type CropOffset } from './crop.js';
export { rgbToTensor, stackBatch, type Normalization } from './normalize.js';
export {
  PRESETS,
  IMAGENET_MEAN,
  IMAGENET_STD,
  getPreset,
  listPresets,
  type Preset,
  type PresetName,
  type ResizeMethod,
  type ResizeStep,
} from './presets.js';
export { preprocess, preprocessBatch, checkPreprocess, resizeShorterSide, shorterSideSize, resizeTarget, type PreprocessOptions, type PreprocessPlan } from './preprocess.js';
