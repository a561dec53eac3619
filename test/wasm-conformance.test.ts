/**
 * The conformance cases through the wasm backend: every ONNX case the graph IR can express (63 of
 * 94) and the hand-checked ResNet cases (1x1, the 7x7 stem, asymmetric pads, groups=32, ResNet-D
 * pools, option-A shortcuts, whole blocks), each under its stored tolerance, once with Winograd
 * sets made at compile ('eager') and once as a model's first forward runs them ('lazy', the
 * default: 3x3 convs on direct GEMM).
 */
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../src/backends/wasm/index.js';
import { conformanceCases, conformanceDirForTests, runCaseOn } from './helpers/conformance.js';
import { handCheckedCases } from './helpers/hand-cases.js';

const BACKENDS = [
  ['eager', createWasmBackend({ winograd: 'eager' })],
  ['lazy', createWasmBackend({ winograd: 'lazy' })],
] as const;

describe('hand-checked cases on wasm', () => {
  for (const c of handCheckedCases()) {
    for (const [mode, backend] of BACKENDS) {
      it(`${c.id} (${mode})`, async () => {
        const r = await runCaseOn(backend, c);
        expect(r.got.shape).toEqual(c.expected.shape);
        expect(r.failures, r.message).toBe(0);
      });
    }
  }
});

const dir = conformanceDirForTests('wasm');
if (dir) {
  const cases = conformanceCases(dir).filter((c) => c.toGraph);
  describe('ONNX conformance on wasm', () => {
    it('has the 63 graph-expressible cases', () => expect(cases).toHaveLength(63));
    for (const c of cases) {
      for (const [mode, backend] of BACKENDS) {
        it(`${c.id} [${c.ops.join(' -> ')}, opset ${c.opset}] (${mode})`, async () => {
          const r = await runCaseOn(backend, c);
          expect(r.got.shape).toEqual(c.expected.shape);
          expect(r.failures, r.message).toBe(0);
        });
      }
    }
  });
}
