/**
 * Key translation between naming schemes, checked on the real model graphs: a state dict named
 * for one library's network is adapted to the equivalent network of another and must bind
 * strictly, value for value (fc transposed between torch and Paddle).
 */
import { describe, expect, it } from 'vitest';
import { graphParams } from '../src/graph.js';
import { getModelConfig } from '../src/models/config.js';
import { buildResNet } from '../src/models/resnet.js';
import { Tensor } from '../src/tensor.js';
import { adaptStateDict, bindWeights, detectKeyScheme, extractStateDict, readCheckpoint, WeightsMismatchError } from '../src/weights/index.js';
import { readShared, sharedAvailable } from './helpers/shared.js';

/** Cheap distinct values per key (seededWeights is realistic but slow for 40M parameters). */
function fakeWeights(params: { key: string; shape: number[] }[]): Map<string, Tensor> {
  return new Map(
    params.map((p, n) => {
      const t = Tensor.zeros(p.shape);
      for (let i = 0; i < t.data.length; i++) t.data[i] = n + (i % 4093) / 4096;
      return [p.key, t];
    }),
  );
}

function keys(name: string): string[] {
  return graphParams(buildResNet(getModelConfig(name), { numClasses: 10 })).map((p) => p.key);
}

function model(name: string) {
  const params = graphParams(buildResNet(getModelConfig(name), { numClasses: 10 }));
  return { params, weights: fakeWeights(params) };
}

/** Exact equality of float arrays (vitest's deep equality is slow on millions of elements). */
function same(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function transposed(t: Tensor): Float32Array {
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return out;
}

// [from, to, the same parameter in both]: pairs of structurally identical networks.
const PAIRS: [string, string, string, string][] = [
  ['resnet50', 'ResNet50', 'layer2.0.downsample.1.running_var', 'blocks.3.short.bn._variance'],
  ['resnet50d', 'ResNet50_vd', 'conv1.4.weight', 'stem.1.bn.weight'],
  ['resnet101d', 'ResNet101_vd', 'layer3.22.conv2.weight', 'blocks.29.conv1.conv.weight'],
  ['resnext50_32x4d', 'ResNeXt50_32x4d', 'layer4.2.bn3.running_mean', 'bb_3_2.conv2._batch_norm._mean'],
  ['resnet50c', 'ResNet50_vc', 'conv1.6.weight', 'conv1_3._conv.weight'],
  ['resnext50d_32x4d', 'ResNeXt50_vd_32x4d', 'layer3.0.downsample.2.bias', 'bb_2_0.short._batch_norm.bias'],
  ['ResNet50_vd', 'resnet50d', 'blocks.13.short.conv.weight', 'layer4.0.downsample.1.weight'],
  ['ResNeXt50_vd_32x4d', 'resnext50d_32x4d', 'out.bias', 'fc.bias'],
];

describe('keymap: adaptStateDict between library schemes', () => {
  for (const [a, b, keyA, keyB] of PAIRS) {
    it(`${a} -> ${b}`, () => {
      const src = model(a);
      const dst = model(b);
      const adapted = adaptStateDict(src.weights, dst.params);
      expect(adapted.scheme).toBe(detectKeyScheme(src.params.map((p) => p.key)));
      const { weights, report } = bindWeights(dst.params, adapted.tensors);
      expect(report.missing).toEqual([]);
      expect(weights.size).toBe(dst.params.length);
      expect(same(weights.get(keyB)?.data, src.weights.get(keyA)?.data), `${keyA} -> ${keyB}`).toBe(true);
      // The classifier: transposed exactly when one side is torch and the other Paddle.
      const fcA = src.params.find((p) => /^(fc|out)\.weight$/.test(p.key))!.key;
      const fcB = dst.params.find((p) => /^(fc|out)\.weight$/.test(p.key))!.key;
      const torchA = !/^[A-Z]/.test(a);
      const torchB = !/^[A-Z]/.test(b);
      const w = src.weights.get(fcA)!;
      expect(same(weights.get(fcB)?.data, torchA === torchB ? w.data : transposed(w)), fcB).toBe(true);
      expect(adapted.transposed).toEqual(torchA === torchB ? [] : [fcB]);
      // And back again: the round trip is the identity.
      const back = adaptStateDict(weights, src.params);
      const again = bindWeights(src.params, back.tensors).weights;
      for (const [k, t] of src.weights) if (!same(again.get(k)?.data, t.data)) throw new Error(`round trip changed '${k}'`);
    });
  }

  it('torchvision resnet18 cannot fill Paddle ResNet18 (its extra stage-1 projection is reported missing)', () => {
    const src = model('resnet18');
    const dst = model('ResNet18');
    const adapted = adaptStateDict(src.weights, dst.params);
    const { report } = bindWeights(dst.params, adapted.tensors, { strict: false });
    expect(report.missing.sort()).toEqual(
      ['blocks.0.short.bn._mean', 'blocks.0.short.bn._variance', 'blocks.0.short.bn.bias', 'blocks.0.short.bn.weight', 'blocks.0.short.conv.weight'],
    );
    expect(() => bindWeights(dst.params, adapted.tensors)).toThrow(/blocks\.0\.short\.conv\.weight/);
  });

  it('strips module. prefixes and drops num_batches_tracked for Paddle', () => {
    const src = model('resnet50');
    const wrapped = new Map([...src.weights].map(([k, t]) => [`module.${k}`, t]));
    wrapped.set('module.bn1.num_batches_tracked', new Tensor(new Float32Array([5]), []));
    const same = adaptStateDict(wrapped, src.params);
    expect(same.scheme).toBe('torch');
    expect(same.notes.join()).toMatch(/module\./);
    expect(bindWeights(src.params, same.tensors).report.ignored).toEqual(['bn1.num_batches_tracked']);
    const paddle = adaptStateDict(wrapped, model('ResNet50').params);
    expect([...paddle.tensors.keys()].some((k) => k.includes('num_batches'))).toBe(false);
  });

  it('an explicit unknown scheme is refused, naming the known ones', () => {
    expect(() => adaptStateDict(new Map(), [], { from: 'keras' })).toThrow(/unknown key scheme 'keras'.*torch, cifar, paddle, paddle-zoo/);
  });

  it('detects each scheme from its keys', () => {
    expect(detectKeyScheme(keys('resnet50d'))).toBe('torch');
    expect(detectKeyScheme(keys('ResNet50_vd'))).toBe('paddle');
    expect(detectKeyScheme(keys('ResNeXt101_vd_32x4d'))).toBe('paddle-zoo');
    expect(detectKeyScheme(keys('resnet20'))).toBe('cifar');
  });
});

describe('keymap: akamaster checkpoints bind to the CIFAR graphs', () => {
  const files: [string, string][] = [
    ['resnet20', 'resnet20-12fca82f.th'],
    ['resnet32', 'resnet32-d509ac18.th'],
    ['resnet44', 'resnet44-014dd654.th'],
    ['resnet56', 'resnet56-4bfd9763.th'],
  ];
  for (const [name, file] of files) {
    it(`${file} -> ${name}`, () => {
      const rel = `weights/cifar10-resnet-akamaster/${file}`;
      if (!sharedAvailable(rel)) return;
      const params = graphParams(buildResNet(getModelConfig(name)));
      const sd = extractStateDict(readCheckpoint(new Uint8Array(readShared(rel))));
      const adapted = adaptStateDict(sd.tensors, params);
      expect(adapted.scheme).toBe('cifar');
      const { weights, report } = bindWeights(params, adapted.tensors);
      expect(weights.size).toBe(params.length);
      expect(report).toEqual({ missing: [], unexpected: [], mismatched: [], ignored: [] });
      expect(weights.get('linear.weight')?.shape).toEqual([10, 64]);
      // A different depth does not fit: strict binding names the problem.
      if (name !== 'resnet20') {
        const small = graphParams(buildResNet(getModelConfig('resnet20')));
        expect(() => bindWeights(small, adaptStateDict(sd.tensors, small).tensors)).toThrow(WeightsMismatchError);
      }
    });
  }
});
