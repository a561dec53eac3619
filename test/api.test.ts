import { describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import { writeSafetensors } from '../src/weights/index.js';
import { Tensor } from '../src/tensor.js';
import { mulberry32 } from '../src/models/init.js';

function randomInput(shape: number[], seed = 1): Tensor {
  const r = mulberry32(seed);
  return new Tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => r() * 2 - 1), shape);
}

describe('library API', () => {
  it('createModel + forward on the reference backend, deterministic per seed', async () => {
    const m = await createModel('resnet20', { backend: 'reference', seed: 3 });
    const x = randomInput([2, 3, 32, 32]);
    const a = await m.forward(x);
    expect(a.shape).toEqual([2, 10]);
    const b = await (await createModel('resnet20', { backend: 'reference', seed: 3 })).forward(x);
    expect([...b.data]).toEqual([...a.data]);
    const c = await (await createModel('resnet20', { backend: 'reference', seed: 4 })).forward(x);
    expect([...c.data]).not.toEqual([...a.data]);
    // plain objects work as inputs too
    const d = await m.forward({ data: x.data, shape: [2, 3, 32, 32] });
    expect([...d.data]).toEqual([...a.data]);
  });
  it('features-only returns pooled features and the stem + stage maps', async () => {
    const m = await createModel('resnet18', { backend: 'reference', featuresOnly: true });
    const out = await m.forwardAll(randomInput([1, 3, 37, 41]));
    expect(out.features.shape).toEqual([1, 512]);
    expect(out.stem.shape).toEqual([1, 64, 10, 11]);
    expect(out.stage4.shape).toEqual([1, 512, 2, 2]);
    expect(m.numClasses).toBe(0);
  });
  it('bad inputs get errors that name what was expected and found', async () => {
    const m = await createModel('resnet20', { backend: 'reference' });
    await expect(m.forward(randomInput([1, 32, 32, 3]))).rejects.toThrow(/looks like NHWC/);
    await expect(m.forward(randomInput([3, 32, 32]))).rejects.toThrow(/rank 4/);
    await expect(m.forward(randomInput([1, 4, 32, 32]))).rejects.toThrow(/expects 3 input channels/);
    await expect(m.forward({ data: new Float64Array(3072) as unknown as Float32Array, shape: [1, 3, 32, 32] })).rejects.toThrow(/Float32Array, got Float64Array/);
    await expect(m.forward({ data: new Float32Array(100), shape: [1, 3, 32, 32] })).rejects.toThrow(/needs 3072 values, data has 100/);
    await expect(createModel('resnet21')).rejects.toThrow(/did you mean 'resnet20'/);
    await expect(createModel('resnet20', { backend: 'cuda' as never })).rejects.toThrow(/unknown backend 'cuda'/);
  });
  it('summary of a model object at any size and batch', async () => {
    const m = await createModel('resnet50', { backend: 'reference' });
    const s = m.summary({ inputSize: 97, batch: 3 });
    expect(s.inputShape).toEqual([3, 3, 97, 97]);
    expect(s.macs).toBe(3 * s.macsPerImage);
    expect(s.params).toBe(25557032);
  });
  it('reports each stage to the first logits in model.timings: createModel fills read, bind, build, backend; the first forward adds compile (with the wasm stages) and firstRun', async () => {
    const seeded = await createModel('resnet20', { backend: 'reference' });
    const m = await createModel('resnet20', { weights: writeSafetensors(seeded.weights), backend: 'wasm' });
    const created = m.timings;
    for (const k of ['read', 'bind', 'build', 'backend'] as const) expect(created[k], k).toBeGreaterThanOrEqual(0);
    expect(created.compile).toBeUndefined();
    expect(created.firstRun).toBeUndefined();
    const x = new Tensor(new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]);
    await m.forward(x);
    const first = m.timings;
    expect(first.compile).toBeGreaterThanOrEqual(0);
    expect(first.firstRun).toBeGreaterThanOrEqual(0);
    expect(Object.keys(first.compileStages ?? {})).toEqual(['kernels', 'fuse', 'pack']);
    await m.forward(x);
    expect(m.timings).toBe(first); // later forwards leave them as they were
  });
});
