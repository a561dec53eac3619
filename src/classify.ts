/**
 * Classification in one call: image -> preprocessing -> logits -> softmax -> top-k `{ label, index, score }`.
 *
 * - `classify(model, image, opts)`: one image (ImageDataLike, or a preprocessed [1, 3, H, W] tensor)
 *   -> its top-k list.
 * - `classifyBatch(model, images, opts)`: several images (an array of ImageDataLike, or a [N, 3, H, W]
 *   tensor) -> one top-k list per image, in input order (`result[n]` is image n's list). A batch is a
 *   separate function so that each has one return type.
 * - `classifyImage(model, bytes, opts)`: JPEG or PNG bytes -> `decodeImage` -> `classify`.
 *
 * The preset defaults to the one the model's published weights were trained with (`model.config.preset`:
 * `cifar` for the CIFAR ResNets, `torchvision`, `timm` or `paddleclas` for the others); labels to the
 * built-in list of the model's width (`labelsFor`: ImageNet-1k for 1000 classes, CIFAR-10 for 10),
 * else `class <index>`.
 */
import type { Model } from './api.js';
import { decodeImage, type DecodeImageOptions } from './image/decode.js';
import type { ImageDataLike } from './image/image.js';
import { preprocess, preprocessBatch } from './image/preprocess.js';
import type { Preset, PresetName } from './image/presets.js';
import { labelsFor } from './labels.js';
import type { TensorLike } from './tensor.js';

export interface ClassifyOptions {
  /** How many classes to return, best first: an integer from 1 to the model's class count (default 5, or all if fewer). */
  readonly topK?: number;
  /** Preprocessing for ImageDataLike input (ignored for a tensor); default: the model's (`model.config.preset`). */
  readonly preset?: PresetName | Preset;
  /** Network input side for ImageDataLike input; default: the preset's crop size. */
  readonly size?: number;
  /** One name per class, index order; default: `labelsFor(model.numClasses)`, else `class <index>`. */
  readonly labels?: readonly string[];
}

export interface Classification {
  readonly label: string;
  /** Class index into the logits. */
  readonly index: number;
  /** Softmax probability, in [0, 1]; a list's scores are in descending order. */
  readonly score: number;
}

/** A classify call that cannot run as asked: bad topK, labels of the wrong length, a model without classifier, a batch to `classify`. */
export class ClassifyError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'ClassifyError';
  }
}

function isTensorLike(x: object): x is TensorLike {
  return Array.isArray((x as TensorLike).shape);
}

/** The checks every entry point shares, before any work: a classifier, topK in range, labels of its width. */
function resolve(model: Model, opts: ClassifyOptions): { topK: number; labelOf: (i: number) => string } {
  const classes = model.numClasses;
  if (classes === 0) throw new ClassifyError(`classify: model ${model.name} has no classifier (created with featuresOnly); expected a model with logits`);
  const topK = opts.topK ?? Math.min(5, classes);
  if (!Number.isInteger(topK) || topK < 1 || topK > classes) {
    throw new ClassifyError(`classify: topK must be an integer from 1 to ${classes} (the classes of ${model.name}), got ${String(topK)}`);
  }
  const labels = opts.labels ?? labelsFor(classes);
  if (opts.labels && opts.labels.length !== classes) {
    throw new ClassifyError(`classify: expected ${classes} labels (one per class of ${model.name}), got ${opts.labels.length}`);
  }
  return { topK, labelOf: (i) => labels?.[i] ?? `class ${i}` };
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, k);
}

/** Softmax of one row of logits (in float64, max subtracted), then the `topK` best; ties keep index order. */
export function topKSoftmax(logits: ArrayLike<number>, topK: number, labelOf: (i: number) => string = (i) => `class ${i}`): Classification[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return topIndices(exps, topK).map((index) => ({ label: labelOf(index), index, score: exps[index] / sum }));
}

/** Rows of [N, classes] logits -> one top-k list per row. */
async function run(model: Model, input: TensorLike, topK: number, labelOf: (i: number) => string): Promise<Classification[][]> {
  const logits = await model.forward(input);
  const [n, classes] = logits.shape;
  const out: Classification[][] = [];
  for (let r = 0; r < n; r++) out.push(topKSoftmax(logits.data.subarray(r * classes, (r + 1) * classes), topK, labelOf));
  return out;
}

/** The top-k classes of one image: ImageDataLike (preprocessed with the model's preset) or a [1, 3, H, W] tensor. */
export async function classify(model: Model, image: ImageDataLike | TensorLike, opts: ClassifyOptions = {}): Promise<Classification[]> {
  const { topK, labelOf } = resolve(model, opts);
  if (isTensorLike(image) && image.shape[0] !== 1) {
    throw new ClassifyError(`classify: expected one image (a tensor of batch 1), got batch ${image.shape[0]} of shape [${image.shape.join(', ')}]; use classifyBatch for one list per image`);
  }
  const input = isTensorLike(image) ? image : preprocess(image, opts.preset ?? model.pretrained?.preset ?? model.config.preset, { size: opts.size });
  return (await run(model, input, topK, labelOf))[0];
}

/** The top-k classes of each image, as one list per image in input order: ImageDataLike[] or a [N, 3, H, W] tensor. */
export async function classifyBatch(model: Model, images: readonly ImageDataLike[] | TensorLike, opts: ClassifyOptions = {}): Promise<Classification[][]> {
  const { topK, labelOf } = resolve(model, opts);
  if (isTensorLike(images)) return run(model, images, topK, labelOf);
  if (images.length === 0) return [];
  return run(model, preprocessBatch(images, opts.preset ?? model.pretrained?.preset ?? model.config.preset, { size: opts.size }), topK, labelOf);
}

/** JPEG or PNG bytes -> the top-k classes: `decodeImage` (with `opts.decode`), then `classify`. */
export async function classifyImage(model: Model, bytes: Uint8Array, opts: ClassifyOptions & { readonly decode?: DecodeImageOptions } = {}): Promise<Classification[]> {
  resolve(model, opts); // options are checked before the decode
  return classify(model, await decodeImage(bytes, opts.decode), opts);
}
