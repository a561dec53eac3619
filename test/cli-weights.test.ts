/**
 * The CLI on real pretrained weights: the embedded CIFAR-10 ResNet-20 classifies the bundled
 * CIFAR-10 test images, `convert` writes canonical safetensors that load back to the same outputs,
 * and `eval` measures accuracy on the shared CIFAR-10 test JPEGs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import { mulberry32 } from '../src/models/init.js';
import { readNpy, writeNpy } from '../src/npy.js';
import { Tensor } from '../src/tensor.js';
import { writeSafetensors } from '../src/weights/index.js';
import { resnet } from './helpers/cli.js';
import { sharedAvailable, sharedPath } from './helpers/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'resnet-cliw-'));

describe('resnet classify with no arguments (the embedded default)', () => {
  it('prints real predictions: every bundled example is classified as its own class', () => {
    const r = resnet(['classify', '--json']);
    expect(r.stderr).toMatch(/CIFAR-10 ResNet-20, pretrained by akamaster/);
    expect(r.code).toBe(0);
    const { results }: { results: { image: string; top: { label: string; probability: number }[] }[] } = JSON.parse(r.stdout);
    expect(results.length).toBeGreaterThanOrEqual(5);
    for (const res of results) {
      const truth = /([a-z]+)-\d+\.jpg$/.exec(res.image)![1];
      expect(res.top[0].label, res.image).toBe(truth);
      expect(res.top.length).toBe(5);
      expect(res.top[0].probability).toBeGreaterThan(0.5);
    }
    const text = resnet(['classify']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/cat-0000\.jpg\n\s+\d+\.\d\d%  cat \(3\)/);
  });
});

describe('resnet convert', () => {
  it('akamaster legacy .th to safetensors with canonical names, same logits after reloading', () => {
    if (!sharedAvailable('weights/cifar10-resnet-akamaster/resnet32-d509ac18.th')) return;
    const out = join(tmp, 'resnet32.safetensors');
    const c = resnet(['convert', sharedPath('weights/cifar10-resnet-akamaster/resnet32-d509ac18.th'), out, '--model', 'resnet32', '--json']);
    expect(c.stderr).not.toMatch(/error/);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ model: 'resnet32', tensors: 157, verified: true });
    const header = readFileSync(out);
    const json = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8'));
    expect(json['conv1.weight'].shape).toEqual([16, 3, 3, 3]);
    expect(Object.keys(json).some((k) => k.startsWith('module.'))).toBe(false);
    const a = resnet(['classify', '--model', 'resnet32', '--weights', sharedPath('weights/cifar10-resnet-akamaster/resnet32-d509ac18.th'), '--json']);
    const b = resnet(['classify', '--model', 'resnet32', '--weights', out, '--json']);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual(JSON.parse(a.stdout));
  });
  it('timm resnet50d weights converted to PaddleClas ResNet50_vd names give the same logits', async () => {
    const timm = await createModel('resnet50d', { seed: 9, numClasses: 10, backend: 'reference' });
    const src = join(tmp, 'resnet50d.safetensors');
    writeFileSync(src, writeSafetensors(timm.weights));
    const dst = join(tmp, 'ResNet50_vd.safetensors');
    const c = resnet(['convert', src, dst, '--model', 'ResNet50_vd', '--num-classes', '10', '--json']);
    expect(c.code, c.stderr).toBe(0);
    const report = JSON.parse(c.stdout);
    expect(report).toMatchObject({ model: 'ResNet50_vd', scheme: 'torch', verified: true });
    expect(report.notes.join(' ')).toMatch(/transposed/);
    const r = mulberry32(3);
    const x = new Tensor(Float32Array.from({ length: 2 * 3 * 33 * 33 }, () => r() - 0.5), [2, 3, 33, 33]);
    writeFileSync(join(tmp, 'x.npy'), writeNpy(x));
    const run = resnet(['run', '--model', 'ResNet50_vd', '--weights', dst, '--num-classes', '10', '--backend', 'reference', '--input', join(tmp, 'x.npy'), '--output', join(tmp, 'y.npy')]);
    expect(run.code, run.stderr).toBe(0);
    const want = await timm.forward(x);
    const got = readNpy(readFileSync(join(tmp, 'y.npy'))).data;
    expect([...got]).toEqual([...want.data]);
  });
  it('weights for a different model are refused, listing what does not match', () => {
    if (!sharedAvailable('weights/cifar10-resnet-akamaster/resnet32-d509ac18.th')) return;
    const r = resnet(['classify', '--model', 'resnet20', '--weights', sharedPath('weights/cifar10-resnet-akamaster/resnet32-d509ac18.th')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unexpected key/);
    expect(r.stderr).toMatch(/layer1\.3\./);
  });
});

describe('resnet eval', () => {
  it('ResNet-20 on 500 shared CIFAR-10 test JPEGs (50 per class): top-1 well above chance, JSON contract', () => {
    if (!sharedAvailable('data/cifar10-test/cat')) return;
    const r = resnet(['eval', '--data', sharedPath('data/cifar10-test'), '--limit', '500', '--json']);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e.count).toBe(500);
    expect(e.classes).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(e.perClass.every((p: { count: number }) => p.count === 50)).toBe(true);
    // Published 91.73% is on the lossless test set; these JPEGs cost a few points (see README).
    expect(e.top1).toBeGreaterThan(0.75);
    expect(e.top5).toBeGreaterThanOrEqual(e.top1);
    expect(e.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(500);
  });
});
