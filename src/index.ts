/**
 * resnet-ts: the browser/worker-safe entry point. Nothing here imports Node built-ins; Node-only
 * helpers (image file decoding, the CLI) live under `resnet-ts/node` and `src/cli/`.
 */
export { createModel, listModels, Model, ModelDisposedError, type CreateModelOptions, type ModelInfo, type ModelTimings, type WeightsSource } from './api.js';
export { classify, classifyBatch, classifyImage, topKSoftmax, ClassifyError, type ClassifyOptions, type Classification } from './classify.js';
export { Tensor, sizeOf, type TensorLike } from './tensor.js';
export { MODELS, getModelConfig, UnknownModelError, type ModelConfig, type ModelName } from './models/config.js';
export { buildResNet, type BuildOptions } from './models/resnet.js';
export { seededWeights, mulberry32 } from './models/init.js';
export { formatNonStrictReport } from './weights/bind.js';
export { summarize, formatSummary, rowsAtDepth, type Summary, type SummaryRow } from './models/summary.js';
export type { WeightsReport } from './models/weights.js';
export { readNpy, writeNpy, NpyError } from './npy.js';
export { isNdArray, fromNdarray, toNdarray, ndarrayToImage, type NdArrayLike, type ImageLayout } from './ndarray.js';
export type { Graph, GraphNode, ModuleOutput } from './graph.js';
export { graphParams, inferShapes } from './graph.js';
export type { Backend, BackendName, Executable, ForwardProfile, NodeTiming } from './backends/backend.js';
export { selectBackend, DEFAULT_BACKEND, type BackendChoice } from './backends/index.js';
export * as shape from './shape.js';
export * as referenceOps from './backends/reference/index.js';
export { referenceBackend } from './backends/reference/index.js';
export * from './image/index.js';
export { DEFAULT_CHECKPOINT_LIMITS, DEFAULT_IMAGE_LIMITS, type CheckpointLimits, type ImageLimits } from './limits.js';
export { IMAGENET_LABELS, IMAGENET_SYNSETS, CIFAR10_LABELS, labelsFor } from './labels.js';
export {
  readCheckpoint,
  extractStateDict,
  adaptStateDict,
  bindWeights,
  readSafetensors,
  writeSafetensors,
  narrowWeights,
  type WeightDType,
  NarrowTensor,
  floatTensor,
  type WeightTensor,
  CheckpointError,
  WeightsMismatchError,
} from './weights/index.js';
export { createWasmBackend, initWasm, wasmBackend, wasmFeatures, LEAN_WASM_OPTIONS, type WasmBackendOptions, type WasmExecutable, type WeightStorage, type WinogradMode } from './backends/wasm/index.js';
export { createWebGPUBackend, webgpuAvailability } from './backends/webgpu/index.js';
export {
  loadPretrained,
  fetchPretrained,
  resolvePretrained,
  parseModelName,
  listPretrained,
  PRETRAINED,
  cacheApiWeightsCache,
  PretrainedDownloadError,
  PretrainedVerificationError,
  UnknownPretrainedError,
  type PretrainedEntry,
  type PretrainedWeights,
  type LoadPretrainedOptions,
  type WeightsCache,
  type DownloadProgress,
  type ProgressCallback,
} from './pretrained/index.js';
