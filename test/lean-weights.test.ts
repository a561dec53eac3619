/**
 * Lean checkpoints (issue 19): `resnet convert --dtype fp16|int8`, the safetensors layout of int8
 * weights and scales, and the readers widening them back to float32.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import { floatToHalfBits, halfBitsToFloat } from '../src/weights/dtype.js';
import { CheckpointError, narrowWeights, quantizeInt8, readCheckpoint, readSafetensors, writeSafetensors, type WeightDType } from '../src/weights/index.js';
import type { TensorLike } from '../src/tensor.js';
import { resnet, ROOT } from './helpers/cli.js';
import { sharedAvailable, sharedPath } from './helpers/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'resnet-lean-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TH = join(ROOT, 'assets/weights/cifar10-resnet20-akamaster/resnet20-12fca82f.th');

function write(tensors: Map<string, TensorLike>, dtype: WeightDType): Uint8Array {
  const n = narrowWeights(tensors, dtype);
  return writeSafetensors(n.tensors, n.metadata, { dtypes: n.dtypes });
}

describe('float16 conversion', () => {
  it.each([
    [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 0x0001], [2 ** -25, 0x0000],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0.1, 0x2e66],
  ])('%s -> 0x%s (nearest, ties to even)', (x, bits) => {
    expect(floatToHalfBits(x).toString(16)).toBe(bits.toString(16));
  });
  it('round-trips every finite half', () => {
    for (let h = 0; h < 0x7c00; h++) expect(floatToHalfBits(halfBitsToFloat(h))).toBe(h);
  });
});

describe('int8 quantization', () => {
  it('is symmetric per output channel: scale = max|w| / 127, q rounded half to even', () => {
    const { q, scale } = quantizeInt8({ data: Float32Array.from([1.27, -0.635, 0.005, 0, 0, 0, -2.54, 0.03]), shape: [2, 4] });
    expect([...scale].map((s) => +s.toFixed(6))).toEqual([0.01, 0.02]);
    expect([...q]).toEqual([127, -64, 0, 0, 0, 0, -127, 2]); // -63.5 -> -64, 0.5 -> 0, 1.5 -> 2
  });
  it('an all-zero channel has scale 0 and reads back as zeros', () => {
    const t = new Map<string, TensorLike>([['fc.weight', { data: new Float32Array(6), shape: [2, 3] }]]);
    const back = readCheckpoint(write(t, 'int8'));
    expect([...back.tensors.get('fc.weight')!.data]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('the lean safetensors layout', () => {
  const w = Float32Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => Math.sin(i) * 0.3);
  const tensors = new Map<string, TensorLike>([
    ['conv1.weight', { data: w, shape: [4, 3, 3, 3] }],
    ['bn1.running_var', { data: Float32Array.from([1e-6, 2, 3, 4]), shape: [4] }],
  ]);

  it('int8: <key> as I8, <key>.scale as F32 [out], the rest F32, recorded in __metadata__', () => {
    const f = readSafetensors(write(tensors, 'int8'));
    expect(f.metadata).toEqual({ 'resnet_ts.dtype': 'int8', 'resnet_ts.narrowed': '1' });
    expect(f.tensors.get('conv1.weight')!.dtype).toBe('int8');
    expect(f.tensors.get('conv1.weight.scale')!.shape).toEqual([4]);
    expect(f.tensors.get('bn1.running_var')!.dtype).toBe('float32');
  });

  it.each([['int8', 0.5 / 127], ['fp16', 2 ** -11]] as const)('%s round-trips within its step (max rel to the channel max %s)', (dtype, tol) => {
    const back = readCheckpoint(write(tensors, dtype));
    expect([...back.tensors.keys()].sort()).toEqual(['bn1.running_var', 'conv1.weight']);
    const got = back.tensors.get('conv1.weight')!;
    expect(got.dtype).toBe(dtype === 'int8' ? 'float32' : 'float16'); // a float dtype either way, which binding takes
    const per = 27;
    for (let o = 0; o < 4; o++) {
      const max = Math.max(...w.subarray(o * per, (o + 1) * per).map(Math.abs));
      for (let i = o * per; i < (o + 1) * per; i++) expect(Math.abs(got.data[i] - w[i])).toBeLessThanOrEqual(max * tol * 1.0001);
    }
    expect([...back.tensors.get('bn1.running_var')!.data]).toEqual([...tensors.get('bn1.running_var')!.data]);
  });

  /** An int8 file with one tensor changed, to check the reader's errors. */
  function edited(edit: (m: Map<string, TensorLike>, dtypes: Map<string, 'F32' | 'F16' | 'I8'>) => void, metadata: Record<string, string> = { 'resnet_ts.dtype': 'int8' }): Uint8Array {
    const n = narrowWeights(tensors, 'int8');
    const m = new Map(n.tensors);
    const dtypes = new Map(n.dtypes);
    edit(m, dtypes);
    return writeSafetensors(m, metadata, { dtypes });
  }

  it.each([
    ['a missing scale', (m: Map<string, TensorLike>) => m.delete('conv1.weight.scale'), /'conv1.weight' is I8 but its scale 'conv1.weight.scale' is missing; expected float32 \[4\]/],
    ['a scale of the wrong shape', (m: Map<string, TensorLike>) => m.set('conv1.weight.scale', { data: new Float32Array(3), shape: [3] }), /scale 'conv1.weight.scale' is float32 \[3\]; expected float32 \[4\] \(one per output channel of 'conv1.weight' \[4, 3, 3, 3\]\)/],
    ['a negative scale', (m: Map<string, TensorLike>) => m.set('conv1.weight.scale', { data: Float32Array.from([1, -1, 1, 1]), shape: [4] }), /scale 'conv1.weight.scale'\[1\] is -1; expected a finite value >= 0/],
    ['a scale without its weight', (m: Map<string, TensorLike>) => m.set('fc.weight.scale', { data: new Float32Array(2), shape: [2] }), /scale 'fc.weight.scale' has no I8 weight 'fc.weight' \(found nothing there\)/],
  ])('%s is a named CheckpointError', (_what, edit, message) => {
    expect(() => readCheckpoint(edited(edit))).toThrow(CheckpointError);
    expect(() => readCheckpoint(edited(edit))).toThrow(message);
  });

  it('a scale of an integer dtype is refused', () => {
    const bytes = edited((m, d) => {
      m.set('conv1.weight.scale', { data: Float32Array.from([1, 1, 1, 1]), shape: [4] });
      d.set('conv1.weight.scale', 'I8');
    });
    expect(() => readCheckpoint(bytes)).toThrow(/scale 'conv1.weight.scale' is int8 \[4\]; expected float32 \[4\]/);
  });

  it('an unknown resnet_ts.dtype is refused, naming the ones known', () => {
    expect(() => readCheckpoint(edited(() => {}, { 'resnet_ts.dtype': 'int4' }))).toThrow(/'resnet_ts.dtype' is 'int4'; expected 'fp16' or 'int8'/);
  });

  it('the writer refuses non-integers as I8', () => {
    expect(() => writeSafetensors(new Map([['x', { data: Float32Array.from([0.5]), shape: [1] }]]), undefined, { dtypes: new Map([['x', 'I8']]) })).toThrow(
      /tensor 'x' written as I8 holds 0.5 at index 0; expected integers in \[-128, 127\]/,
    );
  });
});

describe('ResNet-50 file sizes', () => {
  it('the int8 checkpoint is <= 0.3x the float32 one, fp16 <= 0.51x', async () => {
    const model = await createModel('resnet50', { backend: 'reference' });
    const f32 = write(new Map(model.weights), 'float32').length;
    const f16 = write(new Map(model.weights), 'fp16').length;
    const i8 = write(new Map(model.weights), 'int8').length;
    console.log(`resnet50 safetensors: float32 ${f32} bytes, fp16 ${f16} (${(f16 / f32).toFixed(3)}x), int8 ${i8} (${(i8 / f32).toFixed(3)}x)`);
    expect(i8 / f32).toBeLessThanOrEqual(0.3);
    expect(f16 / f32).toBeLessThanOrEqual(0.51);
  }, 120_000);
});

describe('resnet convert --dtype', () => {
  it.each(['fp16', 'int8'] as const)('%s: writes, verifies, and classify reads it back on every CPU backend', (dtype) => {
    const out = join(tmp, `resnet20-${dtype}.safetensors`);
    const r = resnet(['convert', TH, out, '--model', 'resnet20', '--dtype', dtype, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ dtype, narrowed: 20, verified: true });
    expect(statSync(out).size).toBe(report.bytes);
    for (const backend of ['reference', 'wasm']) {
      const c = resnet(['classify', join(ROOT, 'examples/cifar10'), '--model', 'resnet20', '--weights', out, '--backend', backend, '--json']);
      expect(c.code, c.stderr).toBe(0);
      expect(JSON.parse(c.stdout).results.length).toBeGreaterThan(0);
    }
  }, 120_000);

  it('bench and eval take the int8 file with --weights and report peakBytes; int8 plans less memory than float32', () => {
    const f32 = join(tmp, 'resnet20-f32.safetensors');
    const i8 = join(tmp, 'resnet20-i8.safetensors');
    expect(resnet(['convert', TH, f32, '--model', 'resnet20']).code).toBe(0);
    expect(resnet(['convert', TH, i8, '--model', 'resnet20', '--dtype', 'int8']).code).toBe(0);
    const bench = (w: string) => JSON.parse(resnet(['bench', '--model', 'resnet20', '--weights', w, '--runs', '2', '--warmup', '0', '--json']).stdout);
    const a = bench(f32);
    const b = bench(i8);
    expect(a.weightsDtype).toBeUndefined();
    expect(b.weightsDtype).toBe('int8');
    expect(a.peakBytes).toBeGreaterThan(0);
    expect(b.peakBytes).toBeGreaterThan(0);
    // ResNet-20 is all 3x3 convs: its Winograd sets (float32 in both) are nearly all its weights,
    // so only the fc's panels are smaller in int8 (and its peak is not: int8 panels take a
    // widening scratch). ResNet-50's lean peak is about a third of float32's (README).
    expect(b.memory.planned.weights).toBeLessThan(a.memory.planned.weights);
    if (!sharedAvailable('data/cifar10-test/cat')) return;
    const e = resnet(['eval', '--data', sharedPath('data/cifar10-test'), '--model', 'resnet20', '--weights', i8, '--limit', '40', '--batch', '20', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r).toMatchObject({ weightsDtype: 'int8', count: 40 });
    expect(r.peakBytes).toBeGreaterThan(0);
  }, 180_000);

  it('an unknown --dtype is a usage error naming the choices', () => {
    const r = resnet(['convert', TH, join(tmp, 'x.safetensors'), '--dtype', 'int4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--dtype must be one of float32, fp16, int8, got 'int4'/);
  });
});
