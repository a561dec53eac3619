import { dump } from '../golden.js';
import { readNpy } from '../npy.js';
import { shapeToString } from '../tensor.js';
import { writeSafetensors } from '../weights/index.js';
import { info, intOption, parse, printJson, readBytes, usageError, type Command } from './common.js';
import { checkOutput, writeFileAtomic } from './output.js';
import { BACKEND_HELP, MODEL_HELP, MODEL_OPTIONS, openModel } from './options.js';

export const dumpCommand: Command = {
  name: 'dump',
  summary: 'write every module output (stem, blocks, stages, pool, logits) of one run as safetensors',
  usage: `usage: resnet dump --model <m> [--weights f] --input <x.npy> --out <acts.safetensors> [options]

Runs the model on a float32 NCHW .npy and writes the output of every module a PyTorch forward hook
sees, under its module path (torchvision: conv1, bn1, relu, maxpool, layer1.0 .. layer4, avgpool
[N, C, 1, 1], fc; timm: conv1.0 .. conv1.6, conv1, bn1, act1, global_pool [N, C]; PaddleClas: stem.0,
stem, max_pool, blocks.0 .., blocks, avg_pool, flatten, fc), float32, in execution order. The same
file can be made from PyTorch with forward hooks (see the README's "Golden values") and read back by
'resnet verify --golden'.

options:
${MODEL_HELP}
                      a --model without --weights gets seeded random weights
  --seed N            seed of the random weights (default 0)
  --num-classes K     classifier width (default: the model's)
  --input <x.npy>     float32 [N, 3, H, W]
  --out <file>        the .safetensors to write
${BACKEND_HELP}
  --json              print { model, backend, input, out, tensors: [{ name, shape }] } on stdout`,
  async run(argv) {
    const { values } = parse(this, argv, {
      ...MODEL_OPTIONS,
      seed: { type: 'string' },
      'num-classes': { type: 'string' },
      input: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    });
    for (const req of ['input', 'out'] as const) {
      if (!values[req]) throw usageError(this, `--${req} is required`);
    }
    if (!/\.safetensors$/i.test(values.out)) throw usageError(this, `--out must end in .safetensors, got '${values.out}'`);
    checkOutput(values.out, [values.input, values.weights]);
    const input = readNpy(readBytes(values.input, 'input file'), `input '${values.input}'`);
    const model = await openModel(values, { seed: intOption(values.seed, 'seed', 0), numClasses: intOption(values['num-classes'], 'num-classes') });
    const t0 = performance.now();
    const acts = await dump(model, input);
    const ms = performance.now() - t0;
    model.dispose();
    writeFileAtomic(values.out, writeSafetensors(acts, { format: 'pt', model: model.name, backend: model.backend.name, input: shapeToString(input.shape) }), { inputs: [values.input, values.weights] });
    const tensors = [...acts].map(([name, t]) => ({ name, shape: t.shape }));
    if (values.json) {
      printJson({ model: model.name, backend: model.backend.name, input: input.shape, out: values.out, ms, tensors });
    } else {
      info(`wrote ${tensors.length} module outputs (${tensors[0].name} .. ${tensors.at(-1)!.name}) to ${values.out} in ${ms.toFixed(1)} ms`);
    }
  },
};
