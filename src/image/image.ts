/**
 * Pixel containers shared by the image pipeline. Browser-safe: no `node:` imports.
 *
 * Layout: interleaved 8-bit samples in row-major order, index = (y * width + x) * channels + c.
 */

/**
 * What the public API accepts: the browser's `ImageData` fits as is (RGBA, `Uint8ClampedArray`),
 * and so does the output of `decodeImage` (RGB or RGBA `Uint8Array`). `channels` defaults to 4
 * (RGBA), as in `ImageData`.
 */
export interface ImageDataLike {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly channels?: 3 | 4;
}

/**
 * Thrown for unknown formats and for files the decoders reject (truncated, corrupt, unsupported, over
 * the pixel limit). Declared here, with the pixel types, so that png.ts and decode.ts share it without
 * importing each other; decode.ts re-exports it.
 */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
}

/** Packed 8-bit RGB: what every resize and crop in this folder reads and writes. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** length = width * height * 3 */
  readonly data: Uint8Array;
}

/**
 * Validates an ImageData-like value and returns packed RGB. Alpha is dropped, not composited:
 * the torchvision / timm loaders do the same (`PIL.Image.convert('RGB')` drops alpha).
 */
export function toRgb(image: ImageDataLike): RgbImage {
  if (image === null || typeof image !== 'object') {
    throw new TypeError(`expected an ImageData-like object { width, height, data, channels? }, got ${String(image)}`);
  }
  const { width, height, data } = image;
  const channels = image.channels ?? 4;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`expected a positive integer image width and height, got ${width}x${height}`);
  }
  if (channels !== 3 && channels !== 4) {
    throw new RangeError(`expected channels 3 (RGB) or 4 (RGBA), got ${String(channels)}`);
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new TypeError('expected image data as a Uint8Array or Uint8ClampedArray of 8-bit samples');
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    const hint =
      data.length === width * height * (7 - channels)
        ? ` (the length fits channels: ${7 - channels}; pass it explicitly)`
        : '';
    throw new RangeError(
      `image data has ${data.length} bytes but ${width}x${height} with ${channels} channels needs ${expected}${hint}`,
    );
  }
  if (channels === 3) {
    const rgb = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
    return { width, height, data: rgb };
  }
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = data[i * 4];
    rgb[i * 3 + 1] = data[i * 4 + 1];
    rgb[i * 3 + 2] = data[i * 4 + 2];
  }
  return { width, height, data: rgb };
}

/**
 * Round half to even, as Python 3's `round(x)` on a float and C's `lrint` in the default
 * rounding mode (what OpenCV's `saturate_cast<short>(float)` uses).
 */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
