/** bindWeights: strict and lenient binding, and a report that names every key and both shapes. */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/tensor.js';
import { bindWeights, CheckpointTensor, WeightsMismatchError } from '../src/weights/index.js';
import { thrown } from './weights-fixtures.js';

const t = (shape: number[]) => Tensor.zeros(shape);
const expected = [
  { key: 'conv1.weight', shape: [8, 3, 3, 3], kind: 'param' as const },
  { key: 'bn1.weight', shape: [8], kind: 'param' as const },
  { key: 'bn1.running_var', shape: [8], kind: 'buffer' as const },
  { key: 'fc.weight', shape: [10, 8], kind: 'param' as const },
];

describe('bindWeights', () => {
  it('binds exactly the expected keys and ignores num_batches_tracked', () => {
    const tensors = new Map<string, Tensor>([
      ['conv1.weight', t([8, 3, 3, 3])],
      ['bn1.weight', t([8])],
      ['bn1.running_var', t([8])],
      ['fc.weight', t([10, 8])],
      ['bn1.num_batches_tracked', new CheckpointTensor('int64', [], Float32Array.of(3))],
    ]);
    const { weights, report } = bindWeights(expected, tensors);
    expect([...weights.keys()]).toEqual(expected.map((e) => e.key));
    expect(weights.get('conv1.weight')).toBe(tensors.get('conv1.weight'));
    expect(report).toEqual({ missing: [], unexpected: [], mismatched: [], ignored: ['bn1.num_batches_tracked'] });
  });

  it('strict: one error listing missing, unexpected and mis-shaped keys with both shapes', () => {
    const tensors = new Map<string, Tensor>([
      ['conv1.weight', t([8, 3, 7, 7])],
      ['bn1.weight', t([8])],
      ['fc.weight', t([8, 10])],
      ['head.weight', t([1])],
    ]);
    const e = thrown(() => bindWeights(expected, tensors, { model: 'tiny' }));
    expect(e).toBeInstanceOf(WeightsMismatchError);
    expect(e.message).toContain('weights do not match model tiny (4 keys expected)');
    expect(e.message).toContain('1 missing key(s):\n  bn1.running_var');
    expect(e.message).toContain('conv1.weight: expected [8, 3, 3, 3], found [8, 3, 7, 7]');
    expect(e.message).toContain('fc.weight: expected [10, 8], found [8, 10]');
    expect(e.message).toContain('1 unexpected key(s):\n  head.weight');
  });

  it('lenient: returns what matched plus the report', () => {
    const tensors = new Map<string, Tensor>([['conv1.weight', t([8, 3, 3, 3])], ['extra', t([2])]]);
    const { weights, report } = bindWeights(expected, tensors, { strict: false });
    expect([...weights.keys()]).toEqual(['conv1.weight']);
    expect(report.missing).toEqual(['bn1.weight', 'bn1.running_var', 'fc.weight']);
    expect(report.unexpected).toEqual(['extra']);
  });

  it('an integer tensor cannot be a weight, and the message says its dtype', () => {
    const tensors = new Map<string, Tensor>([
      ['conv1.weight', t([8, 3, 3, 3])],
      ['bn1.weight', new CheckpointTensor('int64', [8], new Float32Array(8))],
      ['bn1.running_var', new CheckpointTensor('float16', [8], new Float32Array(8))],
      ['fc.weight', t([10, 8])],
    ]);
    const e = thrown(() => bindWeights(expected, tensors));
    expect(e.message).toContain('bn1.weight: expected a float tensor [8], found int64 [8]');
    expect(e.message).not.toContain('bn1.running_var');
  });

  it('long lists are cut after 20 entries with a count', () => {
    const many = Array.from({ length: 45 }, (_, i) => ({ key: `k${i}`, shape: [1] }));
    const e = thrown(() => bindWeights(many, new Map()));
    expect(e.message).toContain('45 missing key(s)');
    expect(e.message).toContain('  k19\n  ... and 25 more');
    expect(e.message).not.toContain('k20');
  });
});
