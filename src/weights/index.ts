/** Checkpoint readers, key translation and weight binding. Browser-safe: bytes in, tensors out. */
export * from './errors.js';
export { type DType, type FloatDType, ITEM_SIZE, isFloatDType } from './dtype.js';
export { CheckpointTensor, type Checkpoint, type CheckpointFormat, type CheckpointValue } from './types.js';
export { readSafetensors, writeSafetensors, looksLikeSafetensors, type SafetensorsFile, type StoredTensor, type WriteDType } from './safetensors.js';
export { narrowWeights, quantizeInt8, storedDType, isNarrowed, WEIGHT_DTYPES, DTYPE_METADATA_KEY, SCALE_SUFFIX, type WeightDType, type NarrowedCheckpoint } from './quantize.js';
export { bindWeights, formatBindReport, isIgnoredKey, type BindReport, type BindResult, type ExpectedParam, type BindableTensor } from './bind.js';
export { readCheckpoint, extractStateDict, detectFormat, type StateDict, type ReadOptions } from './load.js';
export { NarrowTensor, floatTensor, type NarrowData, type WeightTensor } from './narrow.js';
export { adaptStateDict, detectKeyScheme, KEY_SCHEMES, type AdaptResult, type KeyScheme } from './keymap.js';
export { readTorchZip, readTorchLegacy } from './torch.js';
export { readPaddle } from './paddle.js';
export { unpickle } from './pickle.js';
export { DEFAULT_CHECKPOINT_LIMITS, type CheckpointLimits } from '../limits.js';
