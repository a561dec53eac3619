/** classify / classifyBatch / classifyImage (issue 15 item 5): softmax top-k with labels, from the library entry. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import { createModel } from '../src/api.js';
import { classify, classifyBatch, classifyImage, ClassifyError } from '../src/classify.js';
import { createDefaultModel } from '../src/default-model.js';
import { decodeImage } from '../src/image/decode.js';
import { preprocess } from '../src/image/preprocess.js';
import { mulberry32 } from '../src/models/init.js';
import { Tensor } from '../src/tensor.js';

const CAT = new Uint8Array(readFileSync(new URL('../examples/cifar10/cat-0000.jpg', import.meta.url)));

function randomInput(shape: number[], seed = 1): Tensor {
  const r = mulberry32(seed);
  return new Tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => r() * 2 - 1), shape);
}

/** Softmax by hand, written out: exp of each logit over the sum of exps. */
function handSoftmax(logits: number[]): number[] {
  const e = logits.map((v) => Math.exp(v));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('classify', () => {
  it('is exported from the core entry point', () => {
    expect(typeof lib.classify).toBe('function');
    expect(typeof lib.classifyImage).toBe('function');
    expect(typeof lib.classifyBatch).toBe('function');
  });
  it('a tiny 3-class model: scores equal the hand-computed softmax of its logits, descending; labels fall back to "class i"', async () => {
    const m = await createModel('resnet20', { numClasses: 3, backend: 'reference', seed: 2 });
    const x = randomInput([1, 3, 32, 32]);
    const logits = [...(await m.forward(x)).data];
    const probs = handSoftmax(logits);
    const order = [0, 1, 2].sort((a, b) => probs[b] - probs[a]);
    const top = await classify(m, x, { topK: 3 });
    expect(top.map((c) => c.index)).toEqual(order);
    expect(top.map((c) => c.label)).toEqual(order.map((i) => `class ${i}`));
    top.forEach((c, k) => expect(c.score).toBeCloseTo(probs[order[k]], 12));
    expect(top.reduce((a, c) => a + c.score, 0)).toBeCloseTo(1, 12);
    // default topK is min(5, classes); given labels are used
    expect((await classify(m, x)).length).toBe(3);
    const named = await classify(m, x, { topK: 1, labels: ['a', 'b', 'c'] });
    expect(named).toEqual([{ label: 'abc'[order[0]], index: order[0], score: top[0].score }]);
  });
  it('topK, labels, featuresOnly and batches are checked with ClassifyError naming what was expected and found', async () => {
    const m = await createModel('resnet20', { numClasses: 3, backend: 'reference' });
    const x = randomInput([1, 3, 32, 32]);
    for (const topK of [0, 4, 1.5, Number.NaN]) {
      await expect(classify(m, x, { topK })).rejects.toThrow(new RegExp(`topK must be an integer from 1 to 3 \\(the classes of resnet20\\), got ${topK}`));
    }
    await expect(classify(m, x, { topK: 0 })).rejects.toBeInstanceOf(ClassifyError);
    await expect(classify(m, x, { labels: ['a'] })).rejects.toThrow(/expected 3 labels \(one per class of resnet20\), got 1/);
    await expect(classify(m, randomInput([2, 3, 32, 32]))).rejects.toThrow(/expected one image \(a tensor of batch 1\), got batch 2 .*use classifyBatch/);
    const f = await createModel('resnet20', { featuresOnly: true, backend: 'reference' });
    await expect(classify(f, x)).rejects.toThrow(/has no classifier \(created with featuresOnly\)/);
    // checked before decoding: a bad topK on bad bytes names topK
    await expect(classifyImage(m, new Uint8Array([1, 2, 3]), { topK: 9 })).rejects.toThrow(ClassifyError);
  });
  it('classifyBatch: one list per image, in input order, each equal to classify of that image', async () => {
    const m = await createModel('resnet20', { backend: 'reference', seed: 5 });
    const a = randomInput([1, 3, 32, 32], 1);
    const b = randomInput([1, 3, 32, 32], 2);
    const both = new Tensor(Float32Array.from([...a.data, ...b.data]), [2, 3, 32, 32]);
    const lists = await classifyBatch(m, both, { topK: 2 });
    expect(lists.length).toBe(2);
    const one = await classify(m, a, { topK: 2 });
    const two = await classify(m, b, { topK: 2 });
    expect(lists[0].map((c) => c.index)).toEqual(one.map((c) => c.index));
    expect(lists[1].map((c) => c.index)).toEqual(two.map((c) => c.index));
    lists[0].forEach((c, k) => expect(c.score).toBeCloseTo(one[k].score, 6));
    lists[1].forEach((c, k) => expect(c.score).toBeCloseTo(two[k].score, 6));
    expect(await classifyBatch(m, [])).toEqual([]);
  });
  it('the embedded ResNet-20 on examples/cifar10/cat-0000.jpg: top-1 cat with CIFAR-10 labels and the cifar preset by default', async () => {
    const m = await createDefaultModel();
    const top = await classifyImage(m, CAT);
    expect(top.length).toBe(5);
    expect(top[0].label).toBe('cat');
    expect(top[0].index).toBe(3);
    for (let k = 1; k < top.length; k++) expect(top[k].score).toBeLessThanOrEqual(top[k - 1].score);
    // the same as decode + preprocess(cifar) + forward + softmax by hand
    const logits = [...(await m.forward(preprocess(await decodeImage(CAT), 'cifar'))).data];
    const probs = handSoftmax(logits);
    expect(top[0].score).toBeCloseTo(probs[3], 6);
    // decoded pixels and batches of them give the same
    const decoded = await decodeImage(CAT);
    // (wasm runs later forwards on Winograd kernels: scores agree to rounding, not bit for bit)
    const again = (await classify(m, decoded, { topK: 1 }))[0];
    expect(again).toMatchObject({ label: 'cat', index: 3 });
    expect(again.score).toBeCloseTo(top[0].score, 6);
    const [first, second] = await classifyBatch(m, [decoded, decoded], { topK: 1 });
    expect(first[0].label).toBe('cat');
    expect(second[0].score).toBeCloseTo(top[0].score, 6);
  });
});
