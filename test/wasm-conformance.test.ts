/**
 * The conformance cases through the wasm backend: every ONNX case the graph IR can express (63 of
 * 94) and the hand-checked ResNet cases (1x1, the 7x7 stem, asymmetric pads, groups=32, ResNet-D
 * pools, option-A shortcuts, whole blocks), each under its stored tolerance.
 */
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../src/backends/wasm/index.js';
import { conformanceCases, conformanceDirForTests, runCaseOn } from './helpers/conformance.js';
import { handCheckedCases } from './helpers/hand-cases.js';

describe('hand-checked cases on wasm', () => {
  for (const c of handCheckedCases()) {
    it(c.id, async () => {
      const r = await runCaseOn(wasmBackend, c);
      expect(r.got.shape).toEqual(c.expected.shape);
      expect(r.failures, r.message).toBe(0);
    });
  }
});

const dir = conformanceDirForTests('wasm');
if (dir) {
  const cases = conformanceCases(dir).filter((c) => c.toGraph);
  describe('ONNX conformance on wasm', () => {
    it('has the 63 graph-expressible cases', () => expect(cases).toHaveLength(63));
    for (const c of cases) {
      it(`${c.id} [${c.ops.join(' -> ')}, opset ${c.opset}]`, async () => {
        const r = await runCaseOn(wasmBackend, c);
        expect(r.got.shape).toEqual(c.expected.shape);
        expect(r.failures, r.message).toBe(0);
      });
    }
  });
}
