/**
 * Error classes of the weight loaders. Every failure to read a checkpoint is a `CheckpointError`
 * (or a subclass naming the layer that failed), so callers and tests can tell "bad file" apart
 * from a bug; binding failures are a `WeightsMismatchError`.
 */

/** A checkpoint could not be read: the message names the key, offset or value that is wrong. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** The safetensors header or data layout is invalid. */
export class SafetensorsError extends CheckpointError {
  override name = 'SafetensorsError';
}

/** The pickle stream is malformed, too large, or asks for something we refuse to build. */
export class PickleError extends CheckpointError {
  override name = 'PickleError';
}

/** A global outside the allow-list: pickles can name any Python callable, and we execute none. */
export class PickleGlobalError extends PickleError {
  override name = 'PickleGlobalError';
  constructor(readonly global: string, detail = '') {
    super(`pickle refers to the global '${global}', which is not on the allow-list of data types${detail}; refusing to load (nothing was executed)`);
  }
}

/** The zip container is malformed or uses a feature we do not read (compression, encryption). */
export class ZipError extends CheckpointError {
  override name = 'ZipError';
}

/** A torch checkpoint (zip or legacy) is inconsistent: storages, views, dtypes. */
export class TorchFormatError extends CheckpointError {
  override name = 'TorchFormatError';
}

/** Weights do not fit the model: lists every missing, unexpected and mis-shaped key. */
export class WeightsMismatchError extends Error {
  override name = 'WeightsMismatchError';
}
