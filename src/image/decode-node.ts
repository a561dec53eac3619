/**
 * Image files -> pixels, for Node (reads files; not part of the browser entry). Pure JavaScript /
 * TypeScript decoders, no native addons:
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
 * - PNG: `pngjs` 7 (exact; lossless). Palette, greyscale and tRNS are expanded; 16-bit samples are
 *   rescaled to 8 bits by rounding (PIL keeps the high byte for RGB and clips 16-bit greyscale).
 *
 * Greyscale becomes RGB (R = G = B = Y), like PIL's `convert('RGB')`.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { decodeJpegExact, JpegUnsupportedError } from './jpeg-baseline.js';

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** Interleaved 8-bit samples, row-major: RGB, or RGBA when some pixel of a PNG is not fully opaque. */
  readonly data: Uint8Array;
  readonly channels: 3 | 4;
  readonly format: 'jpeg' | 'png';
  /** `jpeg-exact`: libjpeg-turbo-identical pixels; `jpeg-js`: the approximate fallback; `pngjs`. */
  readonly decoder: 'jpeg-exact' | 'jpeg-js' | 'pngjs';
}

/** Thrown for unknown formats and for files the decoders reject (truncated, corrupt, unsupported). */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
}

/** Largest image we agree to decode, in megapixels (jpeg-js' own default limit is 100). */
const MAX_MEGAPIXELS = 100;

/** Recognises a format by its first bytes; `null` when unknown. Names a few formats we cannot read. */
export function sniffImageFormat(bytes: Uint8Array): 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'tiff' | null {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) {
    return 'png';
  }
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'gif';
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) {
    return 'webp';
  }
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))) {
    return 'tiff';
  }
  return null;
}

function hexHead(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (v) => v.toString(16).padStart(2, '0')).join(' ');
}

/** Decodes JPEG or PNG bytes (detected by magic bytes, not by name). `nameHint` only labels errors. */
export function decodeImage(bytes: Uint8Array, nameHint?: string): DecodedImage {
  const label = nameHint !== undefined ? `'${nameHint}'` : 'image';
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`decodeImage expects a Uint8Array of file bytes for ${label}`);
  if (bytes.length === 0) throw new ImageDecodeError(`cannot decode ${label}: it is empty (0 bytes)`);
  const format = sniffImageFormat(bytes);
  if (format === 'jpeg') return decodeJpeg(bytes, label);
  if (format === 'png') return decodePng(bytes, label);
  const found = format === null ? `unknown data starting with bytes ${hexHead(bytes)}` : `a ${format.toUpperCase()} file`;
  throw new ImageDecodeError(`cannot decode ${label}: expected a JPEG (FF D8 FF) or PNG (89 50 4E 47) file, found ${found}`);
}

/** Reads and decodes a JPEG or PNG file. */
export async function decodeImageFile(path: string): Promise<DecodedImage> {
  const bytes = await readFile(path);
  return decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), basename(path));
}

function decodeJpeg(bytes: Uint8Array, label: string): DecodedImage {
  let exactError: Error;
  try {
    const { width, height, data } = decodeJpegExact(bytes);
    return { width, height, data, channels: 3, format: 'jpeg', decoder: 'jpeg-exact' };
  } catch (e) {
    exactError = e instanceof Error ? e : new Error(String(e));
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    // formatAsRGBA false: greyscale comes back as Y,Y,Y and CMYK as RGB, 3 bytes per pixel.
    // The memory cap is jpeg-js' own guard against hostile files.
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_MEGAPIXELS });
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

function decodePng(bytes: Uint8Array, label: string): DecodedImage {
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ImageDecodeError(`cannot decode PNG ${label}: ${why} (the file may be truncated or corrupt)`);
  }
  const { width, height } = png;
  if (width * height > MAX_MEGAPIXELS * 1e6) {
    throw new ImageDecodeError(`cannot decode PNG ${label}: ${width}x${height} is over the ${MAX_MEGAPIXELS} megapixel limit`);
  }
  const rgba = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
  if (rgba.length !== width * height * 4) {
    throw new ImageDecodeError(`cannot decode PNG ${label}: expected ${width * height * 4} RGBA bytes for ${width}x${height}, got ${rgba.length}`);
  }
  // Keep alpha when some pixel is not opaque (alpha channel or tRNS); otherwise return RGB.
  let opaque = true;
  for (let i = 3; i < rgba.length; i += 4) {
    if (rgba[i] !== 255) {
      opaque = false;
      break;
    }
  }
  if (!opaque) return { width, height, data: rgba.slice(), channels: 4, format: 'png', decoder: 'pngjs' };
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = rgba[i * 4];
    rgb[i * 3 + 1] = rgba[i * 4 + 1];
    rgb[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return { width, height, data: rgb, channels: 3, format: 'png', decoder: 'pngjs' };
}
