import { createModel } from '../api.js';
import { Tensor } from '../tensor.js';
import { extractStateDict, floatTensor, narrowWeights, readCheckpoint, WEIGHT_DTYPES, writeSafetensors, type WeightDType } from '../weights/index.js';
import { CliError, info, intOption, parse, printJson, readBytes, usageError, type Command } from './common.js';
import { checkOutput, writeFileAtomic } from './output.js';

export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a PyTorch/Paddle/safetensors checkpoint to safetensors (canonical names with --model)',
  usage: `usage: resnet convert <in> <out.safetensors> [--model m [--num-classes K]] [--key-scheme s] [--non-strict] [--dtype d] [--json]

Reads any supported checkpoint (PyTorch zip or legacy .pth/.th, Paddle .pdparams, safetensors),
finds the state dict inside wrappers (state_dict, model, ...), and writes float32 safetensors.
With --model, keys are translated to that model's canonical names (module. prefixes stripped,
torchvision/timm <-> PaddleClas <-> akamaster maps, Paddle fc weights transposed as needed) and every
expected tensor must be present with its shape; the written file is read back and checked.
Without --model, tensors that are not floating point (int64 num_batches_tracked, say) are skipped,
and the output says which. The output is written through a temporary file and a rename, so it is
complete or absent; it may not be the input, and an existing file there is replaced, which is said
on stderr.

options:
  --model <m>     bind to this model's names and shapes
  --num-classes K with --model: the classifier width of the checkpoint, 1 to 100000 (default: the model's)
  --key-scheme s  with --model: read the keys as torch, cifar, paddle or paddle-zoo (default: detected)
  --non-strict    with --model: write what matches, report the rest
  --dtype d       float32 (default), fp16 or int8: how conv and linear weights are stored (fp16: F16,
                  rounded to nearest even; int8: symmetric per output channel, <key> as I8 and
                  <key>.scale as F32 [out_channels]); every other tensor stays float32, and
                  __metadata__ records it (resnet_ts.dtype). Every reader widens them back to float32
  --json          print a JSON report`,
  async run(argv) {
    const { values, positionals } = parse(this, argv, { model: { type: 'string' }, 'num-classes': { type: 'string' }, 'key-scheme': { type: 'string' }, 'non-strict': { type: 'boolean' }, dtype: { type: 'string' }, json: { type: 'boolean' } }, true);
    const dtype = (values.dtype ?? 'float32') as WeightDType;
    if (!WEIGHT_DTYPES.includes(dtype)) throw usageError(this, `--dtype must be one of ${WEIGHT_DTYPES.join(', ')}, got '${values.dtype}'`);
    if (positionals.length !== 2) throw usageError(this, `expected <in> and <out.safetensors>, got ${positionals.length} paths`);
    const [src, dst] = positionals;
    if (!dst.endsWith('.safetensors')) throw new CliError(`the output must be a .safetensors file, got '${dst}'`, 2);
    const numClasses = intOption(values['num-classes'], 'num-classes');
    checkOutput(dst, [src]);
    const bytes = readBytes(src, 'checkpoint');
    let tensors: Map<string, Tensor>;
    let report: Record<string, unknown>;
    if (values.model) {
      const model = await createModel(values.model, { weights: bytes, weightsName: src, keyScheme: values['key-scheme'], numClasses, strict: !values['non-strict'], backend: 'reference' });
      tensors = new Map([...model.weights].map(([k, t]) => [k, floatTensor(t)])); // a lean input widened, to be stored as --dtype says
      report = { model: model.name, ...model.weightsReport };
    } else {
      const ckpt = readCheckpoint(bytes, { name: src });
      const sd = extractStateDict(ckpt);
      tensors = new Map();
      const skipped: string[] = [];
      for (const [k, t] of sd.tensors) {
        if (t.dtype.startsWith('float') || t.dtype === 'bfloat16') tensors.set(k, new Tensor(t.data, t.shape));
        else skipped.push(`${k} (${t.dtype})`);
      }
      report = { format: ckpt.format, path: sd.path, notes: [...ckpt.notes, ...sd.notes], skippedNonFloat: skipped };
    }
    const narrow = narrowWeights(tensors, dtype);
    const metadata = { format: 'pt', source: src.split('/').pop() ?? src, ...(values.model ? { model: values.model } : {}), ...narrow.metadata };
    const out = writeSafetensors(narrow.tensors, metadata, { dtypes: narrow.dtypes });
    verifyRoundTrip(out, narrow.restored);
    writeFileAtomic(dst, out, { inputs: [src] });
    const summary = { ...report, output: dst, dtype, narrowed: narrow.narrowed, tensors: tensors.size, bytes: out.length, verified: true };
    if (values.json) printJson(summary);
    else {
      const what = dtype === 'float32' ? 'float32 tensors' : `tensors (${narrow.narrowed} conv/linear weights as ${dtype}, the rest float32)`;
      info(`wrote ${tensors.size} ${what} (${out.length.toLocaleString('en-US')} bytes) to ${dst}; read back and verified`);
      const skipped = (report.skippedNonFloat as string[] | undefined) ?? [];
      if (skipped.length) info(`skipped ${skipped.length} tensor${skipped.length === 1 ? ' that is' : 's that are'} not floating point (not written): ${skipped.join(', ')}`);
    }
  },
};

/** Reads the written bytes back as any reader would (int8 widened) and compares every tensor bit for bit with what was meant. */
function verifyRoundTrip(bytes: Uint8Array, expected: Map<string, Float32Array>): void {
  const back = readCheckpoint(bytes);
  if (back.tensors.size !== expected.size) throw new CliError(`verification failed: ${back.tensors.size} tensors read back, ${expected.size} written; nothing was written`);
  for (const [k, data] of expected) {
    const b = back.tensors.get(k);
    if (!b || b.data.length !== data.length || b.data.some((v, i) => !Object.is(v, data[i]))) {
      throw new CliError(`verification failed for '${k}' after writing; nothing was written`);
    }
  }
}
