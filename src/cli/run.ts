import { readNpy, writeNpy } from '../npy.js';
import { shapeToString } from '../tensor.js';
import { info, usageError, intOption, parse, printJson, readBytes, type Command } from './common.js';
import { checkOutput, writeFileAtomic } from './output.js';
import { BACKEND_HELP, MODEL_HELP, MODEL_OPTIONS, openModel } from './options.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run a model on a float32 NCHW .npy input and write the logits as .npy',
  usage: `usage: resnet run [--model <m>] --input <x.npy> --output <y.npy> [options]

Reads a float32, C-order .npy of shape [N, 3, H, W] and writes the model's output (logits [N, K],
or pooled features [N, C] with --features-only) as a float32 .npy. The output is written through a
temporary file and a rename, so it is complete or absent; it may not be the input (or the weights),
and an existing file there is replaced, which is said on stderr.

options:
${MODEL_HELP}
                      a --model without --weights gets seeded random weights
  --seed N            seed of the random weights (0 to 2^32-1, default 0)
  --num-classes K     classifier width, 1 to 100000 (default: the model's)
  --features-only     no classifier: write the pooled features
${BACKEND_HELP}
  --json              print a JSON report (shapes, backend, time) on stdout`,
  async run(argv) {
    const { values } = parse(this, argv, {
      ...MODEL_OPTIONS,
      seed: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      'num-classes': { type: 'string' },
      'features-only': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    for (const req of ['input', 'output'] as const) {
      if (!values[req]) throw usageError(this, `--${req} is required`);
    }
    if (!/\.npy$/i.test(values.output)) throw usageError(this, `--output must end in .npy (a float32 .npy is written), got '${values.output}'`);
    const seed = intOption(values.seed, 'seed', 0);
    const numClasses = intOption(values['num-classes'], 'num-classes');
    checkOutput(values.output, [values.input, values.weights]);
    const input = readNpy(readBytes(values.input, 'input file'), `input '${values.input}'`);
    const model = await openModel(values, { seed, numClasses, featuresOnly: values['features-only'] });
    const t0 = performance.now();
    const out = await model.forward(input);
    const ms = performance.now() - t0;
    writeFileAtomic(values.output, writeNpy(out), { inputs: [values.input, values.weights] });
    model.dispose();
    if (values.json) {
      printJson({ model: model.name, backend: model.backend.name, inputShape: input.shape, outputShape: out.shape, ms, output: values.output });
    } else {
      info(`wrote ${shapeToString(out.shape)} to ${values.output} in ${ms.toFixed(1)} ms`);
    }
  },
};
