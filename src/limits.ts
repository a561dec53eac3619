/**
 * Every limit on input that comes from a file, in one place (issue 17: bounded time and memory on
 * every parser, whatever the bytes). Each reader checks a size declared by the file against these
 * and against the bytes actually present before it allocates or loops, so that its cost stays
 * linear in the input size. Callers raise a limit for a legitimate giant input by passing
 * `limits: { ...name: value }` to the reader (or createModel / decodeImage), never by editing this.
 */

/** Limits on checkpoint readers (pickle, zip, torch, safetensors, pdparams, npy). */
export interface CheckpointLimits {
  /**
   * Nesting depth of containers (pickled dicts, lists and tuples; safetensors header JSON). PyTorch
   * state dicts nest 2-4 levels. At most 1000: the readers recurse once per level.
   */
  readonly maxDepth: number;
  /** Characters in one flattened key (`state_dict/layer1.0.conv1.weight`); real keys have under 200. */
  readonly maxKeyLength: number;
  /**
   * Characters of all flattened keys and of the decimal text of big integers together, per byte of
   * input, plus 1 Mi: shared (memoised) subtrees are flattened once per path, so this is what stops
   * a small file from naming the same subtree a million times with long keys.
   */
  readonly keyCharsPerByte: number;
  /** Values the flattening visits (shared references once per path), per byte of input, plus 1000. */
  readonly visitsPerByte: number;
  /**
   * Elements the pickle's allow-listed constructors copy (`list(x)`, `dict(x)`, `bytearray(b)`,
   * latin1 strings to bytes: each call copies, and a memoised argument costs 2 bytes to name again),
   * per byte of input, plus 1 Mi.
   */
  readonly copiesPerByte: number;
  /**
   * float32 values the decoded tensors may take, per byte of input, plus 64 Ki: 1 byte of uint8
   * storage becomes one float32, and views may share a storage.
   */
  readonly floatsPerByte: number;
  /** Dimensions of one tensor or array (numpy and torch allow 64). */
  readonly maxRank: number;
  /**
   * Bytes in one pickled integer (LONG1/LONG4, text INT/LONG as about 2.4 digits per byte). 2048
   * bits is far beyond any seed or counter; flattening writes big ints in decimal, which costs
   * quadratic time in their size.
   */
  readonly maxIntBytes: number;
  /** Bytes of the safetensors JSON header (the reference implementation allows 100 MB). */
  readonly maxSafetensorsHeaderBytes: number;
  /** Bytes of a .npy header (numpy's reader refuses more than 10000 unless told otherwise). */
  readonly maxNpyHeaderBytes: number;
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

export const DEFAULT_CHECKPOINT_LIMITS: Readonly<CheckpointLimits> = Object.freeze({
  maxDepth: 100,
  maxKeyLength: 4096,
  keyCharsPerByte: 16,
  visitsPerByte: 1,
  copiesPerByte: 4,
  floatsPerByte: 2,
  maxRank: 64,
  maxIntBytes: 256,
  maxSafetensorsHeaderBytes: 100_000_000,
  maxNpyHeaderBytes: 10_000,
});

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
