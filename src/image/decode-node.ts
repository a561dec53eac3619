/**
 * Image files -> pixels, for Node: what decode.ts (every runtime) does, plus reading files and a
 * second JPEG decoder. Pure JavaScript / TypeScript decoders, no native addons:
 *
 * - JPEG, first choice: `decodeJpegExact` (jpeg-baseline.ts, ours), which reproduces libjpeg-turbo's
 *   default decoding bit for bit (ISLOW IDCT, fancy upsampling, fixed-point YCbCr -> RGB; CMYK as
 *   PIL converts it) for baseline, extended and progressive Huffman files. libjpeg-turbo is what
 *   PIL (torchvision, timm) and OpenCV (PaddleClas) use, so these files decode to exactly the
 *   pixels the Python pipelines see.
 * - JPEG, fallback: `jpeg-js` 0.4 (a port of pdf.js' decoder) for what the exact decoder does not
 *   take: progressive files with coefficients never refined (libjpeg smooths those), non-integer
 *   sampling ratios, and damaged files that jpeg-js tolerates. Its pixels differ from
 *   libjpeg-turbo's: another IDCT (+-1 on many pixels), nearest-neighbour chroma upsampling (several
 *   levels along colour edges), floating-point colour conversion (+-1); measured on 4:2:0 CIFAR
 *   JPEGs: mean |difference| 1.5 levels, max 36. `decoder` in the result says which one ran.
 * - Not supported: arithmetic coding, 12-bit samples, lossless and hierarchical JPEG.
 *   EXIF orientation is ignored, as PIL's `Image.open` ignores it.
 * - PNG: ours (png.ts, as in every runtime). Palette, greyscale and tRNS are expanded; 16-bit samples
 *   keep their high byte (as PIL does for RGB and RGBA).
 *
 * Greyscale becomes RGB (R = G = B = Y), like PIL's `convert('RGB')`.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import jpeg from 'jpeg-js';
import { decodeImageWith, ImageDecodeError, type DecodedImage, type DecodeImageOptions } from './decode.js';
import { JpegUnsupportedError } from './jpeg-baseline.js';

export { ImageDecodeError, sniffImageFormat, type DecodedImage, type DecodeImageOptions } from './decode.js';

/**
 * Decodes JPEG or PNG bytes (detected by magic bytes, not by name): the core `decodeImage`, with
 * jpeg-js for the JPEGs the exact decoder refuses. Same signature as the core one.
 */
export function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<DecodedImage> {
  return decodeImageWith(bytes, options, decodeJpegFallback);
}

/** Reads and decodes a JPEG or PNG file; errors name the file. */
export async function decodeImageFile(path: string, options: Omit<DecodeImageOptions, 'name'> = {}): Promise<DecodedImage> {
  const bytes = await readFile(path);
  return decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { ...options, name: basename(path) });
}

function decodeJpegFallback(bytes: Uint8Array, exactError: Error, label: string, maxPixels: number): DecodedImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    // formatAsRGBA false: greyscale comes back as Y,Y,Y and CMYK as RGB, 3 bytes per pixel.
    // The resolution cap is jpeg-js' own guard against hostile files (the exact decoder already
    // refused frames over maxPixels before calling us).
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: maxPixels / 1e6 });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const reason =
      exactError instanceof JpegUnsupportedError
        ? `${exactError.message} is not supported (jpeg-js: ${why})`
        : `${exactError.message} (jpeg-js: ${why})`;
    throw new ImageDecodeError(`cannot decode JPEG ${label}: ${reason}`);
  }
  const { width, height, data } = decoded;
  if (!(width > 0 && height > 0) || data.length !== width * height * 3) {
    throw new ImageDecodeError(`cannot decode JPEG ${label}: the decoder returned ${width}x${height} with ${data.length} bytes (no image frame found?)`);
  }
  return { width, height, data, channels: 3, format: 'jpeg', decoder: 'jpeg-js' };
}
