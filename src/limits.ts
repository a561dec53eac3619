/**
 * Every limit on input that comes from a file, in one place (issue 17: bounded time and memory on
 * every parser, whatever the bytes). Each reader checks a size declared by the file against these
 * and against the bytes actually present before it allocates or loops, so that its cost stays
 * linear in the input size. Callers raise a limit for a legitimate giant input by passing
 * `limits: { ...name: value }` to the reader (or createModel / decodeImage), never by editing this.
 */

/** Limits on checkpoint readers (pickle, zip, torch, safetensors, pdparams, npy). */
export interface CheckpointLimits {
  // (section owned by the weight readers; fields added with their checks)
}

/** Limits on image decoding and preprocessing (JPEG, PNG, resize). */
export interface ImageLimits {
  /** Largest width x height a decoder accepts (checked from the header, before decoding). */
  readonly maxPixels: number;
  /**
   * Largest width x height of the image `preprocess` resizes to (the shorter side to the preset's
   * target, the longer side following the aspect ratio), checked before resizing, and by the CLI
   * from the file's header before decoding. It is what bounds extreme aspect ratios: a 1x20000
   * image resized to a shorter side of 256 would be 256x5120000.
   */
  readonly maxResizePixels: number;
  /**
   * Largest width x height the Node-only jpeg-js fallback decodes (resnet-ts/node). It needs about
   * 10 bytes and far more time per pixel than the exact decoder, and only runs on files that decoder
   * refused, so it gets a smaller budget than `maxPixels`.
   */
  readonly maxFallbackPixels: number;
}

export const DEFAULT_CHECKPOINT_LIMITS: Readonly<CheckpointLimits> = Object.freeze({});

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxPixels: 100e6,
  // 25 MP: a shorter side of 256 (the torchvision / timm presets) with an aspect ratio up to about 380:1.
  maxResizePixels: 25e6,
  maxFallbackPixels: 25e6,
});

/** The default image limits with the caller's raised (or lowered) ones; each must be a positive number. */
export function imageLimits(overrides: Partial<ImageLimits> = {}): ImageLimits {
  const out: { -readonly [K in keyof ImageLimits]: ImageLimits[K] } = { ...DEFAULT_IMAGE_LIMITS };
  for (const key of Object.keys(DEFAULT_IMAGE_LIMITS) as (keyof ImageLimits)[]) {
    const v = overrides[key];
    if (v === undefined) continue;
    if (!(typeof v === 'number' && v > 0)) throw new RangeError(`${key} must be a positive number, got ${String(v)}`);
    out[key] = v;
  }
  return out;
}
