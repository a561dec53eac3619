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
}

export const DEFAULT_CHECKPOINT_LIMITS: Readonly<CheckpointLimits> = Object.freeze({});

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxPixels: 100e6,
});
