import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_LABELS, IMAGENET_SYNSETS, labelsFor } from '../labels.js';
import { getModelConfig } from '../models/config.js';
import { DEFAULT_MODEL } from '../node.js';
import { CliError, info, intOption, parse, printJson, usageError, type Command } from './common.js';
import { checkPreset, failureReport, IMAGE_FILE, itemFailure, loadImage, type ItemFailure } from './images.js';
import { stackBatch } from '../image/normalize.js';
import type { Tensor } from '../tensor.js';
import { BACKEND_HELP, MODEL_HELP, MODEL_OPTIONS, openModel, presetOf, threadsInfo } from './options.js';
import { Progress } from './progress.js';
import { topIndices } from '../classify.js';

/** ImageFolder layout: one subfolder per class (sorted), and the images in each. */
export function listImageFolder(root: string): { classes: string[]; items: { path: string; label: number }[] } {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new CliError(`--data '${root}' is not a folder`, 2);
  const classes = readdirSync(root).filter((d) => statSync(join(root, d)).isDirectory()).sort();
  if (!classes.length) throw new CliError(`--data '${root}' has no class subfolders (expected <data>/<class>/<image>.jpg)`, 2);
  const items = classes.flatMap((c, label) =>
    readdirSync(join(root, c))
      .filter((f) => IMAGE_FILE.test(f))
      .sort()
      .map((f) => ({ path: join(root, c, f), label })),
  );
  if (!items.length) throw new CliError(`--data '${root}' has class folders but no .jpg/.jpeg/.png images`, 2);
  return { classes, items };
}

/**
 * The model's class index for each class folder. Folders named by WordNet synset (`n02123045`) map
 * through IMAGENET_SYNSETS on a 1000-class model, CIFAR-10 names through CIFAR10_LABELS on a
 * 10-class one, whatever subset is present. Otherwise the folders must be exactly the model's
 * classes in order (sorted names = class indices, as torchvision's ImageFolder); anything else is
 * refused rather than scored against the wrong classes.
 */
export function classIndices(folders: readonly string[], numClasses: number, model: string): number[] {
  const named = (list: readonly string[]) => (folders.every((f) => list.includes(f)) ? folders.map((f) => list.indexOf(f)) : undefined);
  const synsets = named(IMAGENET_SYNSETS);
  const cifar = named(CIFAR10_LABELS);
  if (numClasses === IMAGENET_SYNSETS.length && synsets) return synsets;
  if (numClasses === CIFAR10_LABELS.length && cifar) return cifar;
  if (folders.length === numClasses && !synsets && !cifar) return folders.map((_, i) => i);
  const byName =
    numClasses === IMAGENET_SYNSETS.length
      ? 'WordNet synsets of the ImageNet-1k classes (n01440764/ ... n15075141/)'
      : numClasses === CIFAR10_LABELS.length
        ? `CIFAR-10 class names (${CIFAR10_LABELS.join(', ')})`
        : undefined;
  const why = synsets ? ' (these are ImageNet synsets: they need a 1000-class model)' : cifar ? ' (these are CIFAR-10 names: they need a 10-class model)' : '';
  const shown = folders.length > 8 ? `${folders.slice(0, 8).join(', ')}, ...` : folders.join(', ');
  throw new CliError(
    `${model} has ${numClasses} classes: expected class folders named ${byName ? `by ${byName}, or ` : ''}exactly ${numClasses} folders in class order; ` +
      `found ${folders.length} folder${folders.length === 1 ? '' : 's'}: ${shown}${why}`,
    2,
  );
}

/** The first `limit` images taken round-robin over the classes, so every class is represented. */
function limitPerClass<T extends { label: number }>(items: T[], classes: number, limit: number): T[] {
  const byClass = Array.from({ length: classes }, (_, c) => items.filter((it) => it.label === c));
  const out: T[] = [];
  for (let i = 0; out.length < limit && byClass.some((b) => i < b.length); i++) {
    for (const b of byClass) if (i < b.length && out.length < limit) out.push(b[i]);
  }
  return out;
}

/** The model's class count from its name, before anything loads; undefined if the name is not a zoo name. */
function knownClasses(model: string | undefined): number | undefined {
  try {
    return getModelConfig(model ?? DEFAULT_MODEL.name).numClasses;
  } catch {
    return undefined; // createModel reports the name (it may accept names the table does not list)
  }
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'top-1/top-5 accuracy, per-class accuracy and confusion matrix on a folder of class subfolders',
  usage: `usage: resnet eval --data <folder> [options]

<folder>/<class>/<image>, one folder per class. Folders named by WordNet synset (n02123045/) are
ImageNet-1k classes by IMAGENET_SYNSETS; folders named airplane automobile bird cat deer dog frog
horse ship truck are CIFAR-10 classes; any subset of either may be present. Other names must be
exactly the model's classes, sorted names = class indices (torchvision's ImageFolder).

An image that cannot be read, decoded or resized does not stop the run: it is left out of the
scores, each failure is listed on stderr at the end (one line naming the file and the problem), the
report counts them, and the exit code is 1.

options:
  --data <folder>     the image folder (required)
${MODEL_HELP}
  --preset <p>        preprocessing preset (default: the model's)
  --limit N           evaluate N images, taken in turn from each class
  --batch N           images per forward pass, 1 to 4096 (default 64)
${BACKEND_HELP}
  --json              print { top1, top5, peakBytes, count, failed, failures: [{ image, error }], perClass: [{ class, index,
                      label, accuracy, count }], confusion } (count: the images scored)`,
  async run(argv) {
    const { values } = parse(this, argv, { ...MODEL_OPTIONS, data: { type: 'string' }, preset: { type: 'string' }, limit: { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' } });
    if (!values.data) throw usageError(this, '--data is required');
    const requestedPreset = checkPreset(values.preset);
    const limit = intOption(values.limit, 'limit');
    const batchSize = intOption(values.batch, 'batch') ?? 64;
    const { classes, items: all } = listImageFolder(values.data);
    const known = knownClasses(values.model);
    if (known !== undefined) classIndices(classes, known, values.model ?? DEFAULT_MODEL.name);
    const items = limit ? limitPerClass(all, classes.length, limit) : all;
    const model = await openModel(values);
    await model.settle(); // every batch through the same kernels (lazy Winograd sets would switch mid-run)
    const preset = requestedPreset ?? presetOf(model);
    const width = model.numClasses;
    if (!width) throw new CliError(`${model.name} has no classifier to evaluate`);
    const indices = classIndices(classes, width, model.name);
    const folderOf = new Map(indices.map((c, f) => [c, f]));
    const k = classes.length;
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    let top1 = 0;
    let top5 = 0;
    const failures: ItemFailure[] = [];
    const scored: typeof items = [];
    const progress = new Progress(items.length, 'img');
    let inputSize: [number, number] | undefined;
    for (let i = 0; i < items.length; i += batchSize) {
      const chunk: typeof items = [];
      const inputs: Tensor[] = [];
      for (const it of items.slice(i, i + batchSize)) {
        try {
          const { input, warning } = await loadImage(it.path, preset);
          inputs.push(input);
          chunk.push(it);
          if (warning) {
            progress.clear();
            info(warning);
          }
        } catch (e) {
          failures.push(itemFailure(it.path, e));
        }
      }
      scored.push(...chunk);
      if (chunk.length) {
        const x = stackBatch(inputs);
        inputSize ??= [x.shape[2], x.shape[3]];
        const logits = await model.forward(x);
        chunk.forEach((it, r) => {
          const ranked = topIndices(logits.data.subarray(r * width, (r + 1) * width), Math.min(5, width));
          const truth = indices[it.label];
          // A model with more classes than folders (ImageNet on a subset) may predict outside them.
          const predicted = folderOf.get(ranked[0]);
          if (predicted !== undefined) confusion[it.label][predicted]++;
          if (ranked[0] === truth) top1++;
          if (ranked.includes(truth)) top5++;
        });
      }
      progress.update(Math.min(i + batchSize, items.length));
    }
    // The backend's planned peak memory at the full batch (wasm: weights, activations and scratch).
    const peakBytes = inputSize ? model.summary({ inputSize, batch: Math.min(batchSize, items.length) }).backendMemory?.peak : undefined;
    threadsInfo(model);
    model.dispose();
    if (failures.length) {
      info(failureReport(failures, items.length));
      process.exitCode = 1;
    }
    if (!scored.length) throw new CliError(`all ${items.length} images failed: nothing to score`);
    const names = labelsFor(width);
    const perClass = classes.map((c, i) => {
      const n = scored.filter((it) => it.label === i).length;
      return { class: c, index: indices[i], label: names?.[indices[i]] ?? c, count: n, correct: confusion[i][i], accuracy: n ? confusion[i][i] / n : 0 };
    });
    const count = scored.length;
    const result = { model: model.name, backend: model.backend.name, ...(model.weightsReport?.dtype ? { weightsDtype: model.weightsReport.dtype } : {}), ...(peakBytes !== undefined ? { peakBytes } : {}), preset, count, failed: failures.length, top1: top1 / count, top5: top5 / count, classes, perClass, confusion, failures };
    if (values.json) {
      printJson(result);
      return;
    }
    const failedNote = failures.length ? ` (${failures.length} more failed, listed on stderr)` : '';
    const memNote = peakBytes !== undefined ? `, planned peak memory ${(peakBytes / 2 ** 20).toFixed(1)} MiB` : '';
    process.stdout.write(`${model.name} on ${values.data}: ${count} images${failedNote}, preset ${preset}, backend ${model.backend.name}${memNote}\n`);
    process.stdout.write(`top-1 ${(100 * result.top1).toFixed(2)}%   top-5 ${(100 * result.top5).toFixed(2)}%\n\nper class:\n`);
    const w = Math.max(...classes.map((c) => c.length));
    for (const p of perClass) process.stdout.write(`  ${p.class.padEnd(w)}  ${(100 * p.accuracy).toFixed(2).padStart(6)}%  (${p.correct}/${p.count})\n`);
    process.stdout.write(`\nconfusion (rows: true class, columns: predicted):\n`);
    for (let i = 0; i < k; i++) process.stdout.write(`  ${classes[i].padEnd(w)} ${confusion[i].map((v) => String(v).padStart(5)).join('')}\n`);
  },
};
