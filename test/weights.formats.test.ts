/**
 * Every real checkpoint in ../shared/weights loads, and every tensor matches the checksums an
 * independent numpy reader wrote to expected.json: dtype, shape, float64 sum and sum of squares,
 * first values.
 *
 * Tolerances: float32/float16/bfloat16 sources convert to float32 exactly, so only summation order
 * differs (float64 accumulation: ~1e-12 relative). float64 and large int64 sources are rounded to
 * float32 (relative 2^-24 per value), so sums may differ by up to 6e-8 * sum|x| <= 6e-8 * sqrt(n * sum_sq);
 * we allow 1e-6 times that bound, and 1e-6 relative on sum_sq.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractStateDict, readCheckpoint, type CheckpointTensor } from '../src/weights/index.js';
import { readCheckpointFile } from '../src/weights/node.js';
import { readShared, sharedAvailable, sharedPath } from './helpers/shared.js';

interface ExpectedTensor {
  key: string;
  dtype: string;
  shape: number[];
  sum: number | [number, number];
  sum_sq: number;
  first: (number | [number, number])[];
}
interface ExpectedFile {
  file: string;
  bytes: number;
  format: string;
  tensor_count: number;
  element_count: number;
  tensors: ExpectedTensor[];
  other?: { key: string; value: unknown }[];
}

const FORMAT_DIRS = [
  'abcrown-cifar-resnet',
  'bumblebee-pytorch-fixtures',
  'burn-mnist',
  'cloneofsimo-lora',
  'paddlescience',
  'paddlespeech-speechbrain-test',
  'silero-vad',
];

const OUR_FORMAT: Record<string, string[]> = {
  'torch-zip': ['torch-zip'],
  safetensors: ['safetensors'],
  pickle: ['paddle'],
};

function checksum(t: CheckpointTensor): { sum: number[]; sumSq: number } {
  const complex = t.dtype === 'complex64' || t.dtype === 'complex128';
  const sum = [0, 0];
  let sumSq = 0;
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i];
    sum[complex ? i & 1 : 0] += v;
    sumSq += v * v;
  }
  return { sum: complex ? sum : [sum[0]], sumSq };
}

function checkTensor(key: string, t: CheckpointTensor | undefined, e: ExpectedTensor, n: number): void {
  expect(t, `tensor '${key}' missing`).toBeDefined();
  if (!t) return;
  const complex = e.dtype.startsWith('complex');
  expect(t.dtype, key).toBe(e.dtype);
  expect(t.shape, key).toEqual(complex ? [...e.shape, 2] : e.shape);
  const { sum, sumSq } = checksum(t);
  const expSum = Array.isArray(e.sum) ? e.sum : [e.sum];
  const sumTol = 1e-6 * Math.sqrt(n * e.sum_sq) + 1e-9;
  expSum.forEach((s, i) => expect(Math.abs(sum[i] - s), `${key} sum ${sum[i]} vs ${s}`).toBeLessThanOrEqual(sumTol));
  expect(Math.abs(sumSq - e.sum_sq), `${key} sum_sq ${sumSq} vs ${e.sum_sq}`).toBeLessThanOrEqual(1e-6 * e.sum_sq + 1e-9);
  const first = e.first.flat();
  for (let i = 0; i < first.length; i++) {
    expect(Math.abs(t.data[i] - first[i]), `${key}[${i}]`).toBeLessThanOrEqual(1e-7 * Math.abs(first[i]) + 1e-30);
  }
}

describe('weights: real files vs expected.json', () => {
  for (const dir of FORMAT_DIRS) {
    it(dir, () => {
      if (!sharedAvailable(`weights/formats/${dir}/expected.json`)) return;
      const expected = JSON.parse(readShared(`weights/formats/${dir}/expected.json`).toString('utf8')) as { files: ExpectedFile[] };
      const present = readdirSync(sharedPath(`weights/formats/${dir}`)).filter((f) => !/^(LICENSE|SOURCE|expected)/.test(f));
      expect(expected.files.map((f) => f.file).sort()).toEqual(present.sort());
      for (const ef of expected.files) {
        const bytes = new Uint8Array(readShared(`weights/formats/${dir}/${ef.file}`));
        expect(bytes.length).toBe(ef.bytes);
        const ckpt = readCheckpoint(bytes, { name: ef.file });
        expect(OUR_FORMAT[ef.format], ef.file).toContain(ckpt.format);
        expect(ckpt.tensors.size, `${ef.file} tensor count`).toBe(ef.tensor_count);
        let elements = 0;
        for (const e of ef.tensors) {
          const n = e.shape.reduce((p, d) => p * d, 1);
          elements += n;
          checkTensor(`${ef.file}:${e.key}`, ckpt.tensors.get(e.key), e, n);
        }
        expect(elements).toBe(ef.element_count);
        for (const o of ef.other ?? []) expect(ckpt.others.get(o.key), `${ef.file} other '${o.key}'`).toEqual(o.value);
      }
    });
  }
});

describe('weights: akamaster CIFAR ResNets (legacy torch stream)', () => {
  const files: [string, number, number][] = [
    ['resnet20-12fca82f.th', 97, 269_722],
    ['resnet32-d509ac18.th', 157, 464_154],
    ['resnet44-014dd654.th', 217, 658_586],
    ['resnet56-4bfd9763.th', 277, 853_018],
  ];
  for (const [file, keys, params] of files) {
    it(`${file}: ${keys} keys, ${params} non-BN-stat values`, () => {
      const rel = `weights/cifar10-resnet-akamaster/${file}`;
      if (!sharedAvailable(rel)) return;
      const ckpt = readCheckpoint(new Uint8Array(readShared(rel)), { name: file });
      expect(ckpt.format).toBe('torch-legacy');
      expect(typeof ckpt.others.get('best_prec1')).toBe('number');
      const sd = extractStateDict(ckpt);
      expect(sd.path).toBe('state_dict');
      expect(sd.tensors.size).toBe(keys);
      let count = 0;
      for (const [k, t] of sd.tensors) {
        expect(k.startsWith('module.'), k).toBe(true);
        expect(t.dtype).toBe('float32');
        if (!/running_(mean|var)$/.test(k)) count += t.data.length;
        for (const v of t.data) if (!Number.isFinite(v)) throw new Error(`${k} has a non-finite value`);
      }
      expect(count).toBe(params);
      expect(sd.tensors.get('module.conv1.weight')?.shape).toEqual([16, 3, 3, 3]);
      expect(sd.tensors.get('module.linear.weight')?.shape).toEqual([10, 64]);
      expect(sd.tensors.get('module.layer3.0.conv1.weight')?.shape).toEqual([64, 32, 3, 3]);
      const var1 = sd.tensors.get('module.bn1.running_var');
      expect(var1 && Math.min(...var1.data)).toBeGreaterThan(0);
    });
  }
});

describe('weights: format detection by content, not by name', () => {
  it('the MLPerf Tiny ResNet-8 files (Keras .h5, TFLite) are named as formats we do not read', () => {
    if (!sharedAvailable('weights/mlperf-tiny-resnet8/pretrainedResnet.h5')) return;
    for (const f of readdirSync(sharedPath('weights/mlperf-tiny-resnet8')).filter((n) => /\.(h5|tflite)$/.test(n))) {
      const bytes = new Uint8Array(readShared(`weights/mlperf-tiny-resnet8/${f}`));
      const kind = f.endsWith('.h5') ? /an HDF5 file \(a Keras \.h5 model\), which this library does not read/ : /a TensorFlow Lite flatbuffer/;
      expect(() => readCheckpoint(bytes, { name: f }), f).toThrow(kind);
    }
  });
  it('unknown bytes name what was expected; old tar checkpoints are recognised', () => {
    expect(() => readCheckpoint(new TextEncoder().encode('hello world'), { name: 'model.pth' })).toThrow(
      /'model.pth' is not a recognised checkpoint \(11 bytes starting 68 65 6c 6c 6f 20 77 6f\); expected safetensors/,
    );
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('ustar'), 257);
    expect(() => readCheckpoint(tar)).toThrow(/tar archive: the torch < 0.1.10 checkpoint format/);
    expect(() => readCheckpoint(new Uint8Array(0))).toThrow(/0 bytes starting \(empty\)/);
  });

  it('reads from views at odd byte offsets (pooled Node buffers) and from a path', async () => {
    const files = [
      'weights/formats/burn-mnist/mnist.safetensors',
      'weights/formats/burn-mnist/mnist.pt',
      'weights/formats/paddlespeech-speechbrain-test/model.pdparams',
      'weights/cifar10-resnet-akamaster/resnet20-12fca82f.th',
    ];
    for (const rel of files) {
      if (!sharedAvailable(rel)) return;
      const file = new Uint8Array(readShared(rel));
      const padded = new Uint8Array(file.length + 3);
      padded.set(file, 3);
      const direct = readCheckpoint(file);
      const viewed = readCheckpoint(padded.subarray(3));
      expect(viewed.format).toBe(direct.format);
      const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      for (const [k, t] of direct.tensors) expect(bytesOf(viewed.tensors.get(k)!.data).equals(bytesOf(t.data)), k).toBe(true);
      const fromPath = await readCheckpointFile(sharedPath(rel));
      expect(fromPath.tensors.size).toBe(direct.tensors.size);
    }
  });
});
