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
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import jpeg from 'jpeg-js';
import type { ImageLimits } from '../limits.js';
import { decodeImageWith, ImageDecodeError, readImageHeader, type DecodedImage, type DecodeImageOptions } from './decode.js';
import { JpegUnsupportedError } from './jpeg-baseline.js';

export { ImageDecodeError, sniffImageFormat, type DecodedImage, type DecodeImageOptions } from './decode.js';

/**
 * Decodes JPEG or PNG bytes (detected by magic bytes, not by name): the core `decodeImage`, with
 * jpeg-js for the JPEGs the exact decoder refuses. Same signature as the core one.
 */
export function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<DecodedImage> {
  return decodeImageWith(bytes, options, decodeJpegFallback);
}

/**
 * Reads and decodes a JPEG or PNG file; errors name the file. Only a regular file is read: a FIFO,
 * device or socket is refused from its fstat before any read (a FIFO would block for ever, a device
 * never end). Opened non-blocking, so that opening a FIFO does not wait for a writer either.
 */
export async function decodeImageFile(path: string, options: Omit<DecodeImageOptions, 'name'> = {}): Promise<DecodedImage> {
  const file = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  let bytes: Buffer;
  try {
    const kind = fileKind(await file.stat());
    if (kind !== 'a regular file') throw new ImageDecodeError(`cannot decode '${path}': it is ${kind}, expected a regular file`);
    bytes = await file.readFile();
  } finally {
    await file.close();
  }
  return decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { ...options, name: basename(path) });
}

/** What a stat describes, in words: 'a regular file', 'a directory', 'a FIFO', 'a character device', ... */
export function fileKind(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  if (s.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function decodeJpegFallback(bytes: Uint8Array, exactError: Error, label: string, limits: ImageLimits): DecodedImage {
  const exactReason = exactError instanceof JpegUnsupportedError ? `${exactError.message} is not supported` : exactError.message;
  // jpeg-js needs about 10 bytes per pixel and is several times slower than the exact decoder; it
  // only sees files that decoder refused, often damaged ones, so it gets its own, smaller budget,
  // checked from the frame header before it runs.
  const header = readImageHeader(bytes);
  if (header !== null && header.width * header.height > limits.maxFallbackPixels) {
    const pixels = header.width * header.height;
    throw new ImageDecodeError(
      `cannot decode JPEG ${label}: ${exactReason}; the jpeg-js fallback takes frames up to maxFallbackPixels = ${limits.maxFallbackPixels}, this one is ${header.width}x${header.height} = ${pixels} pixels`,
    );
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    // formatAsRGBA false: greyscale comes back as Y,Y,Y and CMYK as RGB, 3 bytes per pixel.
    // The resolution cap is jpeg-js' own guard against hostile files (a frame header we could not find).
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: limits.maxFallbackPixels / 1e6 });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ImageDecodeError(`cannot decode JPEG ${label}: ${exactReason} (jpeg-js: ${why})`);
  }
  const { width, height, data } = decoded;
  if (!(width > 0 && height > 0) || data.length !== width * height * 3) {
    throw new ImageDecodeError(`cannot decode JPEG ${label}: the decoder returned ${width}x${height} with ${data.length} bytes (no image frame found?)`);
  }
  return { width, height, data, channels: 3, format: 'jpeg', decoder: 'jpeg-js', fallbackReason: exactReason };
}
