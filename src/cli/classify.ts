import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelsFor } from '../labels.js';
import { CliError, intOption, parse, printJson, type Command } from './common.js';
import { loadBatch, presetFor } from './images.js';
import { BACKEND_HELP, MODEL_HELP, MODEL_OPTIONS, openModel } from './options.js';
import { softmaxRows, topK } from './topk.js';

/** The CIFAR-10 test JPEGs shipped in examples/ (see examples/cifar10/SOURCE.md). */
function exampleImages(): string[] {
  const dir = fileURLToPath(new URL('../../examples/cifar10/', import.meta.url));
  return readdirSync(dir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .map((f) => relative(process.cwd(), join(dir, f)));
}

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'top-k classes of image files (no arguments: the embedded CIFAR-10 ResNet-20 on examples/)',
  usage: `usage: resnet classify [images...] [options]

Decodes JPEG/PNG files (pure-JS decoders), preprocesses them as the weights' source did, and prints
the top-k classes with probabilities. With no images and no model, it runs the embedded pretrained
CIFAR-10 ResNet-20 on the CIFAR-10 test images shipped in examples/cifar10/.

options:
${MODEL_HELP}
  --preset <p>        torchvision, torchvision-v2, timm, timm-rsb, paddleclas, cifar
                      (default: the model's: CIFAR models cifar, Paddle names paddleclas, else torchvision/timm)
  --top k             classes per image (default 5, at most the number of classes)
${BACKEND_HELP}
  --json              print [{ image, top: [{ index, label, probability }] }]`,
  async run(argv) {
    const { values, positionals } = parse(this, argv, { ...MODEL_OPTIONS, preset: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' } }, true);
    const images = positionals.length ? positionals : exampleImages();
    if (!images.length) throw new CliError('no images given', 2);
    const model = await openModel(values);
    const preset = presetFor(model.config, values.preset);
    const classes = model.numClasses;
    if (!classes) throw new CliError(`${model.name} has no classifier to classify with`);
    const k = Math.min(intOption(values.top, 'top') ?? 5, classes);
    const labels = labelsFor(classes);
    const results = [];
    const BATCH = 16;
    for (let i = 0; i < images.length; i += BATCH) {
      const paths = images.slice(i, i + BATCH);
      const logits = await model.forward(await loadBatch(paths, preset));
      const probs = softmaxRows(logits);
      for (let r = 0; r < paths.length; r++) {
        const top = topK(probs.subarray(r * classes, (r + 1) * classes), k).map((index) => ({
          index,
          label: labels?.[index] ?? `class ${index}`,
          probability: probs[r * classes + index],
        }));
        results.push({ image: paths[r], top });
      }
    }
    model.dispose();
    if (values.json) {
      printJson(results);
      return;
    }
    for (const r of results) {
      process.stdout.write(`${r.image}\n`);
      for (const t of r.top) process.stdout.write(`  ${(t.probability * 100).toFixed(2).padStart(6)}%  ${t.label} (${t.index})\n`);
    }
  },
};
