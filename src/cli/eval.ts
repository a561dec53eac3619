import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { labelsFor } from '../labels.js';
import { CliError, intOption, parse, printJson, type Command } from './common.js';
import { loadBatch, presetFor } from './images.js';
import { BACKEND_HELP, MODEL_HELP, MODEL_OPTIONS, openModel } from './options.js';
import { Progress } from './progress.js';
import { topK } from './topk.js';

const IMAGE = /\.(jpe?g|png)$/i;

/** ImageFolder layout: one subfolder per class, sorted names = class indices (as torchvision). */
export function listImageFolder(root: string): { classes: string[]; items: { path: string; label: number }[] } {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new CliError(`--data '${root}' is not a folder`);
  const classes = readdirSync(root).filter((d) => statSync(join(root, d)).isDirectory()).sort();
  if (!classes.length) throw new CliError(`--data '${root}' has no class subfolders (expected <data>/<class>/<image>.jpg)`);
  const items = classes.flatMap((c, label) =>
    readdirSync(join(root, c))
      .filter((f) => IMAGE.test(f))
      .sort()
      .map((f) => ({ path: join(root, c, f), label })),
  );
  if (!items.length) throw new CliError(`--data '${root}' has class folders but no .jpg/.jpeg/.png images`);
  return { classes, items };
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

export const evalCommand: Command = {
  name: 'eval',
  summary: 'top-1/top-5 accuracy, per-class accuracy and confusion matrix on a folder of class subfolders',
  usage: `usage: resnet eval --data <folder> [options]

<folder>/<class>/<image> as torchvision's ImageFolder: sorted class folder names are the class
indices (CIFAR-10: airplane automobile bird cat deer dog frog horse ship truck).

options:
  --data <folder>     the image folder (required)
${MODEL_HELP}
  --preset <p>        preprocessing preset (default: the model's)
  --limit N           evaluate N images, taken in turn from each class
  --batch N           images per forward pass (default 64)
${BACKEND_HELP}
  --json              print { top1, top5, count, perClass: [{ class, accuracy, count }], confusion }`,
  async run(argv) {
    const { values } = parse(this, argv, { ...MODEL_OPTIONS, data: { type: 'string' }, preset: { type: 'string' }, limit: { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' } });
    if (!values.data) throw new CliError(`--data is required\n\n${this.usage}`, 2);
    const { classes, items: all } = listImageFolder(values.data);
    const limit = intOption(values.limit, 'limit');
    const items = limit ? limitPerClass(all, classes.length, limit) : all;
    const model = await openModel(values);
    const preset = presetFor(model.config, values.preset);
    const batchSize = intOption(values.batch, 'batch') ?? 64;
    const k = classes.length;
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    let top1 = 0;
    let top5 = 0;
    const progress = new Progress(items.length, 'img');
    for (let i = 0; i < items.length; i += batchSize) {
      const chunk = items.slice(i, i + batchSize);
      const logits = await model.forward(await loadBatch(chunk.map((c) => c.path), preset));
      const width = logits.shape[1];
      if (width < k) throw new CliError(`the model has ${width} classes but --data has ${k} class folders`);
      chunk.forEach((it, r) => {
        const ranked = topK(logits.data.subarray(r * width, (r + 1) * width), Math.min(5, width));
        // A model with more classes than folders (ImageNet on a subset) may predict outside them.
        if (ranked[0] < k) confusion[it.label][ranked[0]]++;
        if (ranked[0] === it.label) top1++;
        if (ranked.includes(it.label)) top5++;
      });
      progress.update(Math.min(i + batchSize, items.length));
    }
    model.dispose();
    const names = labelsFor(model.numClasses);
    const perClass = classes.map((c, i) => {
      const n = items.filter((it) => it.label === i).length;
      return { class: c, label: names?.[i] ?? c, count: n, correct: confusion[i][i], accuracy: n ? confusion[i][i] / n : 0 };
    });
    const result = { model: model.name, backend: model.backend.name, preset, count: items.length, top1: top1 / items.length, top5: top5 / items.length, classes, perClass, confusion };
    if (values.json) {
      printJson(result);
      return;
    }
    process.stdout.write(`${model.name} on ${values.data}: ${items.length} images, preset ${preset}, backend ${model.backend.name}\n`);
    process.stdout.write(`top-1 ${(100 * result.top1).toFixed(2)}%   top-5 ${(100 * result.top5).toFixed(2)}%\n\nper class:\n`);
    const w = Math.max(...classes.map((c) => c.length));
    for (const p of perClass) process.stdout.write(`  ${p.class.padEnd(w)}  ${(100 * p.accuracy).toFixed(2).padStart(6)}%  (${p.correct}/${p.count})\n`);
    process.stdout.write(`\nconfusion (rows: true class, columns: predicted):\n`);
    for (let i = 0; i < k; i++) process.stdout.write(`  ${classes[i].padEnd(w)} ${confusion[i].map((v) => String(v).padStart(5)).join('')}\n`);
  },
};
