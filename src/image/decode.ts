/**
 * Image bytes -> pixels in every runtime (Node, Deno, Bun, workerd, browsers): the format is sniffed
 * from the magic bytes, JPEG goes to our exact decoder (jpeg-baseline.ts: libjpeg-turbo's pixels, so
 * PIL's), PNG to ours (png.ts, inflating through `DecompressionStream`). No `node:` imports and no
 * dependencies. `resnet-ts/node` wraps this with a fallback for JPEGs the exact decoder refuses
 * (decode-node.ts), under the same name and signature.
 */
import { imageLimits, type ImageLimits } from '../limits.js';
import { ImageDecodeError } from './image.js';
import { decodeJpegExact, JpegUnsupportedError } from './jpeg-baseline.js';
import { decodePng } from './png.js';

export { ImageDecodeError };

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** Interleaved 8-bit samples, row-major: RGB, or RGBA when some pixel of a PNG is not fully opaque. */
  readonly data: Uint8Array;
  readonly channels: 3 | 4;
  readonly format: 'jpeg' | 'png';
  /** `jpeg-exact`: libjpeg-turbo-identical pixels; `jpeg-js`: the approximate Node fallback; `png`: png.ts. */
  readonly decoder: 'jpeg-exact' | 'jpeg-js' | 'png';
  /** With `decoder: 'jpeg-js'`: why the exact decoder refused the file (a damaged or unsupported file). */
  readonly fallbackReason?: string;
}

export interface DecodeImageOptions {
  /** Largest width x height accepted, checked from the header before any pixel memory is allocated; default 100 megapixels (shorthand for `limits.maxPixels`). */
  readonly maxPixels?: number;
  /** Raised (or lowered) limits; see ImageLimits in limits.ts. */
  readonly limits?: Partial<ImageLimits>;
  /** Names the image in error messages (a file name, say). */
  readonly name?: string;
}

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

/**
 * Format and size from the first bytes of a JPEG (the first SOFn frame header) or PNG (IHDR), without
 * decoding: what lets a caller check the size, or what resizing it would cost, before any pixel memory
 * is allocated. `null` when the format is neither or the header is missing, truncated or has no size.
 */
export function readImageHeader(bytes: Uint8Array): { format: 'jpeg' | 'png'; width: number; height: number } | null {
  const format = sniffImageFormat(bytes);
  const u16 = (p: number): number => (bytes[p] << 8) | bytes[p + 1];
  const u32 = (p: number): number => ((bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3]) >>> 0;
  if (format === 'png') {
    // Signature, then IHDR's length (13) and type at 8..15, width and height at 16..23 (PNG spec 11.2.2).
    if (bytes.length < 24 || u32(8) !== 13 || u32(12) !== 0x49484452) return null;
    const width = u32(16);
    const height = u32(20);
    return width > 0 && height > 0 ? { format, width, height } : null;
  }
  if (format !== 'jpeg') return null;
  // Marker segments after SOI (T.81 B.1.1.4): fill bytes 0xFF, standalone markers (RSTn, TEM) without
  // a length, every other one with a 2-byte length that counts itself; stop at the first SOFn or SOS.
  let p = 2;
  while (p + 1 < bytes.length) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1];
    if (marker === 0xff) {
      p++;
      continue;
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2;
      continue;
    }
    if (p + 4 > bytes.length || marker === 0xda || marker === 0xd9) return null;
    const length = u16(p + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (length < 7 || p + 9 > bytes.length) return null;
      const height = u16(p + 5);
      const width = u16(p + 7);
      return width > 0 && height > 0 ? { format, width, height } : null;
    }
    if (length < 2) return null;
    p += 2 + length;
  }
  return null;
}

/** Decodes JPEG or PNG bytes (detected by magic bytes, not by name) to 8-bit RGB or RGBA. */
export function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<DecodedImage> {
  return decodeImageWith(bytes, options);
}

/**
 * For decode-node.ts: another JPEG decoder to try when the exact one throws, given its error. It is
 * not called for errors that no decoder should get past (the pixel limit). It keeps to `limits`.
 */
export type JpegFallback = (bytes: Uint8Array, exactError: Error, label: string, limits: ImageLimits) => DecodedImage;

/** `decodeImage` with an optional JPEG fallback; not exported from the package. */
export async function decodeImageWith(bytes: Uint8Array, options: DecodeImageOptions, jpegFallback?: JpegFallback): Promise<DecodedImage> {
  const label = options.name !== undefined ? `'${options.name}'` : 'image';
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`decodeImage expects a Uint8Array of file bytes for ${label}`);
  const limits = imageLimits({ ...options.limits, ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}) });
  if (bytes.length === 0) throw new ImageDecodeError(`cannot decode ${label}: it is empty (0 bytes)`);
  const format = sniffImageFormat(bytes);
  if (format === 'jpeg') return decodeJpeg(bytes, label, limits, jpegFallback);
  if (format === 'png') {
    const { width, height, data, channels } = await decodePng(bytes, { limits, name: options.name });
    return { width, height, data, channels, format: 'png', decoder: 'png' };
  }
  const found = format === null ? `unknown data starting with bytes ${hexHead(bytes)}` : `a ${format.toUpperCase()} file`;
  throw new ImageDecodeError(`cannot decode ${label}: expected a JPEG (FF D8 FF) or PNG (89 50 4E 47) file, found ${found}`);
}

function hexHead(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (v) => v.toString(16).padStart(2, '0')).join(' ');
}

function decodeJpeg(bytes: Uint8Array, label: string, limits: ImageLimits, fallback: JpegFallback | undefined): DecodedImage {
  try {
    const { width, height, data } = decodeJpegExact(bytes, { maxPixels: limits.maxPixels });
    return { width, height, data, channels: 3, format: 'jpeg', decoder: 'jpeg-exact' };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    // The decoder refuses data with plain Errors and JpegUnsupportedError, and the pixel limit with a
    // RangeError; anything else (a TypeError...) is a bug of ours, not a bad file: let it through.
    if (error.constructor !== Error && !(error instanceof JpegUnsupportedError) && !(error instanceof RangeError)) throw error;
    // RangeError: over maxPixels, refused from the frame header; no other decoder gets to allocate it.
    if (fallback !== undefined && !(error instanceof RangeError)) return fallback(bytes, error, label, limits);
    const reason = error instanceof JpegUnsupportedError ? `${error.message} is not supported` : error.message;
    throw new ImageDecodeError(`cannot decode JPEG ${label}: ${reason}`);
  }
}
