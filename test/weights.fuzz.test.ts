/**
 * Fuzzing the readers with real files: truncated prefixes and random byte mutations (seeded, so
 * every failure is reproducible from its case name). Each case must either load or throw one of our
 * CheckpointError classes: never a RangeError/TypeError from deep inside, a hang or a crash.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/models/init.js';
import { CheckpointError, extractStateDict, readCheckpoint } from '../src/weights/index.js';
import { readZipDirectory, zipEntryData } from '../src/weights/zip.js';
import { makeZip } from './weights-fixtures.js';
import { readShared, sharedAvailable } from './helpers/shared.js';

const FILES = [
  'weights/formats/bumblebee-pytorch-fixtures/tensors.zip.pt',
  'weights/formats/bumblebee-pytorch-fixtures/numpy_arrays.zip.pt',
  'weights/formats/bumblebee-pytorch-fixtures/noncontiguous_tensor.zip.pt',
  'weights/formats/paddlespeech-speechbrain-test/model.pdparams',
  'weights/formats/paddlescience/phygeonet_heat_equation_latest.pdparams',
  'weights/formats/abcrown-cifar-resnet/resnet2b.pth',
  'weights/formats/burn-mnist/mnist.safetensors',
  'weights/cifar10-resnet-akamaster/resnet20-12fca82f.th',
];

/** Cases per file: truncations and mutations (about 40 per file, a few hundred in all); WEIGHTS_FUZZ_SCALE=N runs N times more. */
const SCALE = Math.max(1, Number(process.env.WEIGHTS_FUZZ_SCALE) || 1);
const TRUNCATIONS = 16 * SCALE;
const MUTATIONS = 24 * SCALE;

function outcome(bytes: Uint8Array): string {
  try {
    const c = readCheckpoint(bytes);
    if (c.tensors.size) extractStateDict(c);
    return 'ok';
  } catch (e) {
    if (e instanceof CheckpointError) return e.name;
    return `UNEXPECTED ${(e as Error)?.constructor?.name}: ${(e as Error)?.stack ?? e}`;
  }
}

describe('weights fuzz: every corrupted file loads or fails with a CheckpointError', () => {
  for (const rel of FILES) {
    it(rel.split('/').pop()!, () => {
      if (!sharedAvailable(rel)) return;
      const original = new Uint8Array(readShared(rel));
      const rand = mulberry32(original.length);
      const int = (n: number) => Math.floor(rand() * n);
      const failures: string[] = [];
      const counts = new Map<string, number>();
      const run = (name: string, bytes: Uint8Array) => {
        const r = outcome(bytes);
        counts.set(r.startsWith('UNEXPECTED') ? 'UNEXPECTED' : r, (counts.get(r) ?? 0) + 1);
        if (r.startsWith('UNEXPECTED')) failures.push(`${name}: ${r}`);
      };
      // Truncations: the first bytes (headers), then random lengths.
      const lengths = [0, 1, 2, 7, 8, 9, 64, original.length - 1];
      while (lengths.length < TRUNCATIONS) lengths.push(int(original.length));
      for (const n of lengths) run(`truncated to ${n}`, original.slice(0, n));
      // Mutations: 1..8 random bytes, half of them inside the first 4 KiB where the structure is.
      for (let m = 0; m < MUTATIONS; m++) {
        const bytes = original.slice();
        const edits = 1 + int(8);
        const where: string[] = [];
        for (let e = 0; e < edits; e++) {
          const at = m % 2 === 0 ? int(Math.min(4096, bytes.length)) : int(bytes.length);
          bytes[at] = int(256);
          where.push(String(at));
        }
        run(`mutation ${m} (bytes ${where.join(',')})`, bytes);
      }
      expect(failures, failures.join('\n\n')).toEqual([]);
      // Corruption must be noticed at least sometimes (a reader that accepts anything fails here).
      expect(counts.get('ok') ?? 0).toBeLessThan(TRUNCATIONS + MUTATIONS);
    });
  }
});

describe('weights fuzz: mutated data.pkl inside a valid zip (the CRC does not catch it)', () => {
  for (const rel of ['weights/formats/abcrown-cifar-resnet/resnet2b.pth', 'weights/formats/bumblebee-pytorch-fixtures/tensors.zip.pt']) {
    it(rel.split('/').pop()!, () => {
      if (!sharedAvailable(rel)) return;
      const original = new Uint8Array(readShared(rel));
      const entries = readZipDirectory(original).map((e) => ({ name: e.name, data: zipEntryData(original, e) }));
      const pkl = entries.findIndex((e) => e.name.endsWith('/data.pkl'));
      const rand = mulberry32(pkl + 17);
      const int = (n: number) => Math.floor(rand() * n);
      const failures: string[] = [];
      let ok = 0;
      for (let m = 0; m < MUTATIONS + TRUNCATIONS; m++) {
        const data = entries[pkl].data.slice(0, m % 4 === 3 ? int(entries[pkl].data.length) : undefined);
        for (let e = 1 + int(4); e > 0 && data.length; e--) data[int(data.length)] = int(256);
        const zip = makeZip(entries.map((x, i) => (i === pkl ? { name: x.name, data } : x)));
        const r = outcome(zip);
        if (r === 'ok') ok++;
        if (r.startsWith('UNEXPECTED')) failures.push(`case ${m}: ${r}`);
      }
      expect(failures, failures.join('\n\n')).toEqual([]);
      expect(ok).toBeLessThan(MUTATIONS + TRUNCATIONS);
    });
  }
});
