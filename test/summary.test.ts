/** summary like paddle.summary (issue 15 item 10): BN rows count 4C, a trainable / non-trainable split, a column that sums to the total. */
import { describe, expect, it } from 'vitest';
import { getModelConfig } from '../src/models/config.js';
import { buildResNet } from '../src/models/resnet.js';
import { formatSummary, rowsAtDepth, summarize } from '../src/models/summary.js';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('summary', () => {
  for (const name of ['resnet20', 'resnet18', 'ResNet50_vd']) {
    it(`${name}: the params column sums to Total params; trainable + non-trainable = total, per row and overall`, () => {
      const cfg = getModelConfig(name);
      const s = summarize(buildResNet(cfg), [1, 3, cfg.defaultInputSize, cfg.defaultInputSize]);
      expect(sum(s.rows.map((r) => r.params))).toBe(s.paramsWithBnStats);
      expect(sum(s.rows.map((r) => r.trainable))).toBe(s.trainableParams);
      expect(sum(s.rows.map((r) => r.buffers))).toBe(s.nonTrainableParams);
      expect(s.trainableParams + s.nonTrainableParams).toBe(s.paramsWithBnStats);
      for (const r of s.rows) expect(r.trainable + r.buffers).toBe(r.params);
      // torch-style params (parameters()) stay what they were: the trainable ones
      expect(s.params).toBe(s.trainableParams);
    });
  }
  it('a BatchNorm row counts weight, bias, mean and variance (4C), 2C of them trainable', () => {
    const s = summarize(buildResNet(getModelConfig('resnet20')), [1, 3, 32, 32]);
    const bn = s.rows.find((r) => r.type === 'BatchNorm2D')!;
    const c = bn.outputShape[1];
    expect(bn).toMatchObject({ params: 4 * c, trainable: 2 * c, buffers: 2 * c });
    const conv = s.rows.find((r) => r.type === 'Conv2D')!;
    expect(conv.trainable).toBe(conv.params);
    expect(conv.buffers).toBe(0);
  });
  it('the text table shows 4C on BN rows and a Trainable column; its Params column sums to the printed Total params', () => {
    const s = summarize(buildResNet(getModelConfig('resnet20')), [1, 3, 32, 32]);
    const text = formatSummary(s);
    const header = text.split('\n')[1];
    expect(header).toMatch(/Params\s+Trainable\s+MACs/);
    const bnLine = text.split('\n').find((l) => /BatchNorm2D/.test(l))!;
    expect(bnLine).toMatch(/\s64\s+32\s/); // bn1: C = 16
    const rows = text.split('\n').filter((l) => /^(stem|layer|fc|linear|pool|head)/.test(l) || /\s(Conv2D|BatchNorm2D|ReLU|Add|Linear|ShortcutA|AdaptiveAvgPool2D)\s/.test(l));
    expect(rows.length).toBe(s.rows.length);
    const column = sum(rows.map((l) => Number(l.trim().split(/\s{2,}/).at(-3)!.replace(/,/g, ''))));
    expect(column).toBe(271098);
    expect(text).toMatch(/Total params: 271,098\n/);
    expect(text).toMatch(/Trainable params: 269,722\n/);
    expect(text).toMatch(/Non-trainable params: 1,376 \(BN running mean and variance\)\n/);
  });
  it('depth folds deeper layers into their ancestors, totals kept (like torchinfo depth)', () => {
    const s = summarize(buildResNet(getModelConfig('resnet20')), [1, 3, 32, 32]);
    const d1 = rowsAtDepth(s.rows, 1);
    expect(d1.map((r) => r.name)).toEqual(['conv1', 'bn1', 'relu', 'layer1', 'layer2', 'layer3', 'avgpool', 'linear']);
    const layer2 = d1[4];
    expect(layer2.type).toBe('Group (22 layers)');
    expect(layer2.inputShape).toEqual([1, 16, 32, 32]);
    expect(layer2.outputShape).toEqual([1, 32, 16, 16]);
    const d2 = rowsAtDepth(s.rows, 2);
    expect(d2.filter((r) => r.name.startsWith('layer1')).map((r) => r.name)).toEqual(['layer1.0', 'layer1.1', 'layer1.2']);
    for (const rows of [d1, d2]) {
      expect(sum(rows.map((r) => r.params))).toBe(s.paramsWithBnStats);
      expect(sum(rows.map((r) => r.trainable))).toBe(s.trainableParams);
      expect(sum(rows.map((r) => r.macs))).toBe(s.macs);
    }
    expect(rowsAtDepth(s.rows, 9)).toEqual(s.rows);
    expect(formatSummary(s, { depth: 1 }).split('\n').filter((l) => /Group \(/.test(l)).length).toBe(3);
    for (const bad of [0, -1, 1.5]) expect(() => rowsAtDepth(s.rows, bad)).toThrow(`summary depth must be an integer of at least 1, got ${bad}`);
  });
});
