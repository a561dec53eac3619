/**
 * The fuzzing helpers that need the library itself; fuzz/run.mjs bundles this file to
 * build/fuzz/tool.cjs and runs it in a fresh process:
 *
 *   node build/fuzz/tool.cjs seeds <target> <outDir>       writes the target's seed corpus
 *   node build/fuzz/tool.cjs replay <target> <file>...     one JSON line per file: its outcome,
 *                                                          wall time and this process's peak RSS
 *
 * Seeds are the real files in ../shared (RESNET_SHARED_DIR) and test/fixtures, some cut into the
 * part a target reads (the data.pkl of a torch zip for the pickle target), plus a few small files
 * written by the library's own writers where ../shared has none (.npy) or only large ones
 * (safetensors).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeNpy } from '../src/npy.js';
import { unpickle } from '../src/weights/pickle.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { readZipDirectory, zipEntryData } from '../src/weights/zip.js';
import { Tensor } from '../src/tensor.js';
import { classify } from './outcome.js';
import { TARGETS } from './targets.js';

const ROOT = resolve(dirname(process.argv[1]), '../..');
const SHARED = process.env.RESNET_SHARED_DIR ?? resolve(ROOT, '../shared');
/** Seeds above this are left out: each execution would cost too much for the fuzzer to learn from. */
const MAX_SEED_BYTES = 2 << 20;

const shared = (rel: string): string => join(SHARED, rel);
const fixture = (rel: string): string => join(ROOT, 'test/fixtures', rel);

function listFiles(dir: string, pattern: RegExp, limit = Infinity): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .slice(0, limit)
    .map((f) => join(dir, f));
}

const TORCH_ZIPS = [
  'weights/formats/bumblebee-pytorch-fixtures/tensors.zip.pt',
  'weights/formats/bumblebee-pytorch-fixtures/numpy_arrays.zip.pt',
  'weights/formats/bumblebee-pytorch-fixtures/noncontiguous_tensor.zip.pt',
  'weights/formats/abcrown-cifar-resnet/resnet2b.pth',
  'weights/formats/abcrown-cifar-resnet/resnet4b.pth',
  'weights/formats/burn-mnist/mnist.pt',
].map(shared);
const TORCH_LEGACY = ['weights/cifar10-resnet-akamaster/resnet20-12fca82f.th'].map(shared);
const PDPARAMS = [
  'weights/formats/paddlespeech-speechbrain-test/model.pdparams',
  'weights/formats/paddlescience/phygeonet_heat_equation_latest.pdparams',
  'weights/formats/paddlescience/solar_cell_pretrained.pdparams',
  'weights/formats/paddlescience/chgnet_0.3.0_paddle.pdparams',
].map(shared);
const SAFETENSORS = [
  'weights/formats/burn-mnist/mnist.safetensors',
  'weights/formats/silero-vad/silero_vad_16k.safetensors',
  'weights/formats/cloneofsimo-lora/analog_svd_rank4.safetensors',
].map(shared);

type Seed = { readonly name: string; readonly bytes: Uint8Array };

function files(paths: readonly string[]): Seed[] {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`seed files missing: ${missing.join(', ')} (../shared must sit beside the clone, or set RESNET_SHARED_DIR)`);
  return paths.filter((p) => statSync(p).size <= MAX_SEED_BYTES).map((p) => ({ name: basename(p), bytes: readFileSync(p) }));
}

/** The data.pkl of each torch zip, and each of the five pickles of a legacy stream. */
function pickles(): Seed[] {
  const out: Seed[] = [];
  for (const { name, bytes } of files(TORCH_ZIPS)) {
    for (const e of readZipDirectory(bytes)) if (e.name.endsWith('data.pkl')) out.push({ name: `${name}.data.pkl`, bytes: zipEntryData(bytes, e) });
  }
  for (const { name, bytes } of files(TORCH_LEGACY)) {
    let offset = 0;
    for (let i = 0; i < 5; i++) {
      const { end } = unpickle(bytes, { offset, persistentLoad: (pid) => pid });
      out.push({ name: `${name}.pickle${i}`, bytes: bytes.slice(offset, end) });
      offset = end;
    }
  }
  return [...out, ...files(PDPARAMS)];
}

const tensor = (shape: number[], f: (i: number) => number) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, (_, i) => f(i)), shape);
};

function smallSafetensors(): Seed[] {
  return [
    { name: 'small-1.safetensors', bytes: writeSafetensors(new Map([['conv1.weight', tensor([2, 1, 3, 3], (i) => i / 7 - 1)], ['fc.bias', tensor([2], (i) => i)]])) },
    { name: 'small-meta.safetensors', bytes: writeSafetensors(new Map([['state_dict/bn.running_var', tensor([4], () => 1)]]), { format: 'pt', note: 'seed' }) },
    { name: 'empty.safetensors', bytes: writeSafetensors(new Map()) },
  ];
}

function npys(): Seed[] {
  const v1 = writeNpy(tensor([1, 3, 4, 4], (i) => Math.sin(i)));
  // Version 2.0: a u32 header length (the same header, two bytes longer prefix).
  const header = v1.subarray(10, 10 + new DataView(v1.buffer).getUint16(8, true));
  const v2 = new Uint8Array(12 + header.length + (v1.length - 10 - header.length));
  v2.set(v1.subarray(0, 6));
  v2[6] = 2;
  new DataView(v2.buffer).setUint32(8, header.length, true);
  v2.set(header, 12);
  v2.set(v1.subarray(10 + header.length), 12 + header.length);
  return [
    { name: 'nchw.npy', bytes: v1 },
    { name: 'nchw-v2.npy', bytes: v2 },
    { name: 'vector.npy', bytes: writeNpy(tensor([5], (i) => i)) },
    { name: 'scalar.npy', bytes: writeNpy(tensor([], () => 3.5)) },
  ];
}

function jpegs(): Seed[] {
  const cifar = readdirSync(shared('data/cifar10-test'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => listFiles(shared(`data/cifar10-test/${d.name}`), /\.jpe?g$/i, 3));
  // One ImageNet photo (500x375, 64 KB): larger ones slow every execution more than they add coverage.
  const imagenet = ['data/imagenet/ILSVRC2012_val_00010010.jpeg'].map(shared);
  return [...files(listFiles(fixture('image/jpeg'), /\.jpe?g$/i)), ...files(cifar), ...files(imagenet)];
}

function pngs(): Seed[] {
  return files([...listFiles(fixture('image/png'), /\.png$/i), ...listFiles(fixture('image/png/pngsuite'), /\.png$/i)]);
}

const SEEDS: Record<string, () => Seed[]> = {
  pickle: pickles,
  zip: () => files(TORCH_ZIPS),
  torch: () => files([...TORCH_ZIPS, ...TORCH_LEGACY]),
  safetensors: () => [...files(SAFETENSORS), ...smallSafetensors()],
  pdparams: () => files(PDPARAMS),
  npy: npys,
  jpeg: jpegs,
  png: pngs,
};

function target(name: string | undefined) {
  const t = name === undefined ? undefined : TARGETS[name];
  if (!t) throw new Error(`unknown fuzz target '${name}'; expected one of ${Object.keys(TARGETS).join(', ')}`);
  return t;
}

async function main(argv: string[]): Promise<void> {
  const [command, name, ...rest] = argv;
  if (command === 'seeds') {
    const t = target(name);
    const out = rest[0];
    mkdirSync(out, { recursive: true });
    let bytes = 0;
    const seeds = SEEDS[t.name]();
    for (const [i, s] of seeds.entries()) {
      writeFileSync(join(out, `${String(i).padStart(3, '0')}-${s.name}`), s.bytes);
      bytes = Math.max(bytes, s.bytes.length);
    }
    // For fuzz/run.mjs: how many seeds, and the largest (libFuzzer's -max_len).
    process.stdout.write(`${JSON.stringify({ seeds: seeds.length, maxBytes: bytes })}\n`);
    return;
  }
  if (command === 'replay') {
    const t = target(name);
    for (const file of rest) {
      const bytes = new Uint8Array(readFileSync(file));
      const t0 = performance.now();
      const o = await classify(t, bytes);
      const ms = performance.now() - t0;
      const error = o.kind === 'refused' ? o.error : o.kind === 'finding' ? String((o.error as Error)?.stack ?? o.error) : undefined;
      const peakRss = process.resourceUsage().maxRSS * 1024;
      process.stdout.write(`${JSON.stringify({ file, target: t.name, kind: o.kind, error, ms, peakRss })}\n`);
    }
    return;
  }
  throw new Error(`usage: tool.cjs seeds <target> <outDir> | replay <target> <file>...`);
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`fuzz tool: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
