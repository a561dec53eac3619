import { describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import { defaultWeights } from '../src/default-model.js';
import { graphParams } from '../src/graph.js';
import { buildResNet } from '../src/models/resnet.js';
import { getModelConfig } from '../src/models/config.js';
import { seededWeights, mulberry32 } from '../src/models/init.js';
import { Tensor } from '../src/tensor.js';
import { formatNonStrictReport } from '../src/weights/bind.js';

function randomInput(shape: number[], seed = 1): Tensor {
  const r = mulberry32(seed);
  return new Tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => r() * 2 - 1), shape);
}

describe('issue 15 item 2: featuresOnly binds a full checkpoint', () => {
  it('the embedded ResNet-20 checkpoint binds with featuresOnly; the head keys are reported as ignored', async () => {
    const m = await createModel('resnet20', { weights: defaultWeights(), featuresOnly: true, backend: 'reference' });
    expect(m.weightsReport?.unexpected).toEqual([]);
    // named as the checkpoint (and the full CIFAR model) name them
    expect(m.weightsReport?.ignored).toEqual(expect.arrayContaining(['linear.weight', 'linear.bias']));
    // the features equal the full model's pooled input to the classifier: check against logits = fc(features)
    const full = await createModel('resnet20', { weights: defaultWeights(), backend: 'reference' });
    const x = randomInput([2, 3, 32, 32]);
    const f = await m.forward(x);
    expect(f.shape).toEqual([2, 64]);
    const logits = await full.forward(x);
    const w = full.weights.get('linear.weight') ?? full.weights.get('fc.weight')!;
    const b = full.weights.get('linear.bias') ?? full.weights.get('fc.bias')!;
    for (let n = 0; n < 2; n++) {
      for (let o = 0; o < 10; o++) {
        let s = b.data[o];
        for (let i = 0; i < 64; i++) s += w.data[o * 64 + i] * f.data[n * 64 + i];
        expect(logits.data[n * 10 + o]).toBeCloseTo(s, 4);
      }
    }
  });
  it('a torch-named ImageNet checkpoint (fc.*) binds to a features-only resnet18', async () => {
    const g = buildResNet(getModelConfig('resnet18'));
    const m = await createModel('resnet18', { weights: seededWeights(g, 5), featuresOnly: true, backend: 'reference' });
    expect(m.weightsReport?.ignored).toEqual(expect.arrayContaining(['fc.weight', 'fc.bias']));
    expect(m.weightsReport?.unexpected).toEqual([]);
  });
  it('a truly unknown key is still an error in strict mode with featuresOnly', async () => {
    const g = buildResNet(getModelConfig('resnet18'));
    const w = seededWeights(g, 5);
    w.set('extra.weight', new Tensor(new Float32Array(3), [3]));
    await expect(createModel('resnet18', { weights: w, featuresOnly: true, backend: 'reference' })).rejects.toThrow(/1 unexpected key\(s\):\n {2}extra\.weight/);
  });
});

describe('issue 15 item 3: strict: false binds what matches and seeds the rest', () => {
  it('missing keys get seeded weights, listed in the report; forward runs', async () => {
    const g = buildResNet(getModelConfig('resnet20'));
    const full = seededWeights(g, 9);
    const partial = new Map([...full].filter(([k]) => !k.startsWith('layer1.')));
    partial.set('stray.weight', new Tensor(new Float32Array(2), [2]));
    partial.set('linear.bias', new Tensor(new Float32Array(7), [7])); // wrong shape
    const m = await createModel('resnet20', { weights: partial, strict: false, seed: 9, backend: 'reference' });
    const r = m.weightsReport!;
    const missing = graphParams(g).map((p) => p.key).filter((k) => k.startsWith('layer1.'));
    expect(r.missing).toEqual(missing);
    expect(r.unexpected).toEqual(['stray.weight']);
    expect(r.mismatched.map((x) => x.key)).toEqual(['linear.bias']);
    expect(r.seeded).toEqual([...missing, 'linear.bias']);
    // seeded exactly as a model without weights would be (same seed), so the result equals the full seeded model
    const ref = await createModel('resnet20', { seed: 9, backend: 'reference' });
    const x = randomInput([1, 3, 32, 32]);
    expect([...(await m.forward(x)).data]).toEqual([...(await ref.forward(x)).data]);
    const text = formatNonStrictReport(r, 'resnet20');
    expect(text).toMatch(/^warning: resnet20: bound \d+ of \d+ weights; 31 seeded \(not from the checkpoint\)/);
    expect(text).toMatch(/30 missing key\(s\), seeded:\n {2}layer1\.0\.conv1\.weight/);
    expect(text).toMatch(/1 shape mismatch\(es\), seeded \(expected vs found\):\n {2}linear\.bias: expected \[10\], found \[7\]/);
    expect(text).toMatch(/1 unexpected key\(s\), not used:\n {2}stray\.weight/);
  });
  it('a complete checkpoint gives an empty seeded list and no warning', async () => {
    const m = await createModel('resnet20', { weights: defaultWeights(), strict: false, backend: 'reference' });
    expect(m.weightsReport?.seeded).toEqual([]);
    expect(formatNonStrictReport(m.weightsReport!, 'resnet20')).toBe('');
  });
});
