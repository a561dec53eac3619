/**
 * The zoo against ../shared/reference/model-facts.json: exact parameter counts, BN-stat counts,
 * MACs and state-dict key counts for every model listed there, plus key names and shapes that
 * ARCHITECTURES.md quotes from each library.
 */
import { describe, expect, it } from 'vitest';
import { graphParams } from '../src/graph.js';
import { MODELS, getModelConfig, UnknownModelError } from '../src/models/config.js';
import { buildResNet } from '../src/models/resnet.js';
import { summarize } from '../src/models/summary.js';
import { listModels } from '../src/api.js';
import { readShared, sharedAvailable } from './helpers/shared.js';

interface Fact {
  params: number;
  params_with_bn_stats: number;
  macs_224?: number;
  macs_32?: number;
  num_state_dict_tensors: number;
  bn_layers: number;
}

const facts: Record<string, Fact> = sharedAvailable('reference/model-facts.json')
  ? JSON.parse(readShared('reference/model-facts.json').toString('utf8')).models
  : {};

describe('model-facts.json: every model, exact counts', () => {
  it('the facts file is there (CI must have ../shared)', () => {
    expect(Object.keys(facts).length).toBe(66);
  });
  for (const [key, f] of Object.entries(facts)) {
    it(`${key}: params, params with BN stats, MACs and state-dict tensors`, () => {
      const cfg = getModelConfig(key);
      const g = buildResNet(cfg);
      const s = summarize(g, [1, 3, cfg.defaultInputSize, cfg.defaultInputSize]);
      expect(s.params).toBe(f.params);
      expect(s.paramsWithBnStats).toBe(f.params_with_bn_stats);
      expect(s.macs).toBe(f.macs_224 ?? f.macs_32);
      // torch state dicts also hold one num_batches_tracked per BN; Paddle and the old CIFAR files do not.
      const bnCounters = key.startsWith('torchvision:') || key.startsWith('timm:') || key.startsWith('reference:') ? f.bn_layers : 0;
      expect(graphParams(g).length + bnCounters).toBe(f.num_state_dict_tensors);
    });
  }
});

function keys(name: string): Map<string, number[]> {
  return new Map(graphParams(buildResNet(getModelConfig(name))).map((p) => [p.key, p.shape]));
}

describe('state-dict names and shapes equal the source libraries', () => {
  it('torchvision resnet50 and resnext50_32x4d', () => {
    const r50 = keys('resnet50');
    expect(r50.get('conv1.weight')).toEqual([64, 3, 7, 7]);
    expect(r50.get('layer1.0.downsample.0.weight')).toEqual([256, 64, 1, 1]);
    expect(r50.get('layer4.2.bn3.running_var')).toEqual([2048]);
    expect(r50.get('fc.weight')).toEqual([1000, 2048]);
    expect(keys('resnext50_32x4d').get('layer1.0.conv2.weight')).toEqual([128, 4, 3, 3]);
  });
  it('timm deep stem and avg_down indices', () => {
    const d = keys('resnet50d');
    expect(d.get('conv1.0.weight')).toEqual([32, 3, 3, 3]);
    expect(d.get('conv1.1.running_mean')).toEqual([32]);
    expect(d.get('conv1.3.weight')).toEqual([32, 32, 3, 3]);
    expect(d.get('conv1.6.weight')).toEqual([64, 32, 3, 3]);
    expect(d.get('bn1.weight')).toEqual([64]);
    expect(d.get('layer1.0.downsample.1.weight')).toEqual([256, 64, 1, 1]);
    expect(d.get('layer2.0.downsample.2.running_var')).toEqual([512]);
    expect(d.has('layer2.0.downsample.0.weight')).toBe(false);
    expect(keys('resnet50c').get('layer2.0.downsample.0.weight')).toEqual([512, 256, 1, 1]);
    expect(keys('resnet50s').get('conv1.6.weight')).toEqual([128, 64, 3, 3]);
  });
  it('PaddleClas legendary names, the stage-1 projection and the [in, out] fc', () => {
    const r18 = keys('ResNet18');
    expect(r18.get('stem.0.conv.weight')).toEqual([64, 3, 7, 7]);
    expect(r18.get('blocks.0.short.conv.weight')).toEqual([64, 64, 1, 1]);
    expect(r18.get('blocks.0.short.bn._variance')).toEqual([64]);
    expect(r18.get('fc.weight')).toEqual([512, 1000]);
    const vd = keys('ResNet50_vd');
    expect(vd.get('stem.2.conv.weight')).toEqual([64, 32, 3, 3]);
    expect(vd.get('blocks.15.conv2.bn._mean')).toEqual([2048]);
    expect(vd.get('blocks.3.short.conv.weight')).toEqual([512, 256, 1, 1]);
    expect(vd.get('fc.weight')).toEqual([2048, 1000]);
    expect(keys('ResNet18').has('blocks.1.short.conv.weight')).toBe(false);
  });
  it('PaddleClas model_zoo names', () => {
    const x = keys('ResNeXt50_vd_64x4d');
    expect(x.get('conv1_1._conv.weight')).toEqual([32, 3, 3, 3]);
    expect(x.get('bb_0_0.conv1._conv.weight')).toEqual([256, 4, 3, 3]);
    expect(x.get('bb_1_0.short._batch_norm._variance')).toEqual([512]);
    expect(x.get('out.weight')).toEqual([2048, 1000]);
    expect(keys('ResNeXt101_32x4d').get('conv._conv.weight')).toEqual([64, 3, 7, 7]);
    expect(keys('ResNet50_vc').get('bb_3_2.conv2._batch_norm.weight')).toEqual([2048]);
  });
  it('akamaster CIFAR names: option A has no shortcut parameters, option B does', () => {
    const a = keys('resnet20');
    expect(a.get('conv1.weight')).toEqual([16, 3, 3, 3]);
    expect(a.get('layer3.2.bn2.running_var')).toEqual([64]);
    expect(a.get('linear.weight')).toEqual([10, 64]);
    expect([...a.keys()].some((k) => k.includes('shortcut'))).toBe(false);
    const b = new Map(graphParams(buildResNet(getModelConfig('resnet20'), { cifarShortcut: 'B' })).map((p) => [p.key, p.shape]));
    expect(b.get('layer2.0.shortcut.0.weight')).toEqual([32, 16, 1, 1]);
    expect(b.get('layer2.0.shortcut.1.running_mean')).toEqual([32]);
  });
});

describe('zoo options', () => {
  it('numClasses, featuresOnly and any input size', () => {
    const cfg = getModelConfig('resnet18');
    const g = buildResNet(cfg, { numClasses: 7 });
    expect(summarize(g, [2, 3, 97, 97]).rows.at(-1)!.outputShape).toEqual([2, 7]);
    const f = buildResNet(cfg, { featuresOnly: true });
    expect(Object.keys(f.outputs).sort()).toEqual(['features', 'stage1', 'stage2', 'stage3', 'stage4', 'stem']);
    expect(graphParams(f).some((p) => p.key.startsWith('fc.'))).toBe(false);
  });
  it('unknown names suggest the closest ones', () => {
    expect(() => getModelConfig('resnet5O')).toThrow(UnknownModelError);
    expect(() => getModelConfig('resnet5O')).toThrow(/did you mean 'resnet50'/);
    expect(() => getModelConfig('ResNet50vd')).toThrow(/ResNet50_vd/);
  });
  it('library prefixes resolve to the same network', () => {
    expect(getModelConfig('timm:resnet50d').name).toBe('resnet50d');
    expect(getModelConfig('paddle:ResNet200_vd').layers).toEqual([3, 12, 48, 3]);
    expect(getModelConfig('resnet200d').layers).toEqual([3, 24, 36, 3]);
  });
  it('listModels covers the whole zoo with MACs at the default size', () => {
    const list = listModels();
    expect(list.length).toBe(MODELS.length);
    const r20 = list.find((m) => m.name === 'resnet20')!;
    expect(r20).toMatchObject({ params: 269722, macs: 40551040, family: 'cifar_resnet', variant: 'cifar-A' });
    expect(list.find((m) => m.name === 'resnet1202')!.params).toBeGreaterThan(19_000_000);
  });
  it('input shapes are validated with messages that say what was expected', () => {
    const g = buildResNet(getModelConfig('resnet18'));
    expect(() => summarize(g, [1, 224, 224, 3])).toThrow(/looks like NHWC/);
    expect(() => summarize(g, [3, 224, 224])).toThrow(/rank 4/);
    expect(() => summarize(g, [1, 1, 224, 224])).toThrow(/expects 3 input channels/);
    expect(() => summarize(g, [1, 3, 8, 8])).not.toThrow();
    expect(() => summarize(g, [1, 3, 1, 1])).not.toThrow(); // every size >= 1 fits, as in PyTorch
    expect(() => summarize(g, [1, 3, 0, 5])).toThrow(/empty spatial size/);
  });
});
