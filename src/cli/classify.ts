import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topKSoftmax } from '../classify.js';
import { labelsFor } from '../labels.js';
import { CliError, info, intOption, parse, printJson, usageError, type Command } from './common.js';
import { checkPreset, expandImageArgs, failureReport, itemFailure, loadImage, type ItemFailure } from './images.js';
import { BACKEND_HELP, MODEL_HELP, MODEL_OPTIONS, openModel, presetOf, threadsInfo } from './options.js';
import { Progress } from './progress.js';

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
  summary: 'top-k classes of image files, folders or patterns (no arguments: the embedded CIFAR-10 ResNet-20 on examples/)',
  usage: `usage: resnet classify [images, folders or patterns...] [options]

Decodes JPEG/PNG files (pure-JS decoders), preprocesses them as the weights' source did, and prints
the top-k classes with probabilities, each image as soon as it is done. A folder means every
.jpg/.jpeg/.png under it (recursively); a quoted pattern with * or ? matches within one folder level
('photos/*/*.jpg'). A file that cannot be read, decoded or resized (not a regular file, damaged,
over 100 megapixels, or an aspect ratio whose resize would pass 25 megapixels) does not stop the
run: the others still print, the failures are listed at the end, one line per file, and the exit
code is 1. A JPEG that only the jpeg-js fallback could decode gets a warning on stderr. With no
images and no model, it runs the embedded pretrained CIFAR-10 ResNet-20 on the CIFAR-10 test
images in examples/cifar10/.

options:
${MODEL_HELP}
  --preset <p>        torchvision, torchvision-v2, timm, timm-rsb, paddleclas, cifar
                      (default: the model's: CIFAR models cifar, Paddle names paddleclas, else torchvision/timm)
  --input-size S      the network's input side (default: the preset's crop, or the pretrained weights'
                      test size; 1 to 4096); the resize before the crop keeps the preset's ratio (timm test-time size)
  --top k             classes per image (default 5, at most the number of classes; 1 to 100000)
${BACKEND_HELP}
  --json              at the end, print one object: { model, preset, results: [{ image, top: [{ index, label,
                      probability }] }], failures: [{ image, error }] }
  --jsonl             print one JSON object per image as it is done: { image, top } or { image, error }

Progress goes to stderr when it is a terminal.`,
  async run(argv) {
    const { values, positionals } = parse(this, argv, { ...MODEL_OPTIONS, preset: { type: 'string' }, top: { type: 'string' }, 'input-size': { type: 'string' }, json: { type: 'boolean' }, jsonl: { type: 'boolean' } }, true);
    const inputSize = intOption(values['input-size'], 'input-size');
    if (values.json && values.jsonl) throw usageError(this, '--json and --jsonl exclude each other: --json prints one object at the end, --jsonl one line per image');
    // Everything the flags and paths can get wrong is checked before the weights load.
    const requestedTop = intOption(values.top, 'top');
    const requestedPreset = checkPreset(values.preset);
    const images = positionals.length ? expandImageArgs(positionals) : exampleImages();
    if (!images.length) throw usageError(this, 'no images given');
    const model = await openModel(values);
    // Every image through the same kernels (lazy Winograd sets would switch mid-run), so a result
    // does not depend on where its file falls in the list.
    await model.settle();
    const preset = requestedPreset ?? presetOf(model);
    const classes = model.numClasses;
    if (!classes) throw new CliError(`${model.name} has no classifier to classify with`);
    const k = Math.min(requestedTop ?? 5, classes);
    const labels = labelsFor(classes);
    const results: { image: string; top: { index: number; label: string; probability: number }[] }[] = [];
    const failures: ItemFailure[] = [];
    const progress = process.stderr.isTTY && images.length > 1 ? new Progress(images.length, 'img') : undefined;
    for (const [n, image] of images.entries()) {
      let input;
      try {
        const loaded = await loadImage(image, preset, inputSize ?? model.pretrained?.inputSize);
        input = loaded.input;
        if (loaded.warning) {
          progress?.clear();
          info(loaded.warning);
        }
      } catch (e) {
        const failure = itemFailure(image, e);
        failures.push(failure);
        progress?.clear();
        if (values.jsonl) printJson(failure);
        progress?.update(n + 1);
        continue;
      }
      const logits = (await model.forward(input)).data;
      const top = topKSoftmax(logits, k, (i) => labels?.[i] ?? `class ${i}`).map(({ index, label, score }) => ({ index, label, probability: score }));
      const result = { image, top };
      progress?.clear();
      if (values.json) results.push(result);
      else if (values.jsonl) printJson(result);
      else {
        process.stdout.write(`${image}\n`);
        for (const t of top) process.stdout.write(`  ${(t.probability * 100).toFixed(2).padStart(6)}%  ${t.label} (${t.index})\n`);
      }
      progress?.update(n + 1);
    }
    threadsInfo(model);
    model.dispose();
    if (values.json) printJson({ model: model.name, preset, results, failures });
    if (failures.length) {
      info(failureReport(failures, images.length));
      process.exitCode = 1;
    }
  },
};
