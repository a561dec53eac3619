/**
 * The 94 ONNX conformance cases on the reference backend, one named test each, under each case's
 * stored tolerance. Cases our IR can express run as a graph through `referenceBackend.compile`;
 * the rest (Softmax, Flatten, broadcast Add, GlobalMaxPool, general Gemm, multi-node) run on the
 * reference ops directly. A summary of the worst error per case is printed at the end.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { referenceBackend } from '../src/backends/reference/index.js';
import {
  conformanceCases,
  conformanceDirForTests,
  runCaseOn,
  runCaseOnReferenceOps,
  type CaseResult,
} from './helpers/conformance.js';

const dir = conformanceDirForTests('the reference backend');

if (dir) {
  const cases = conformanceCases(dir);
  const summary: { id: string; path: string; maxAbs: number; ratio: number }[] = [];

  it('loads all 94 cases of index.json', () => {
    expect(cases).toHaveLength(94);
    expect(new Set(cases.map((c) => c.id)).size).toBe(94);
  });

  it('maps every case the graph IR can express onto a graph (63 of 94)', () => {
    const native = new Set(['Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'AveragePool', 'GlobalAveragePool']);
    for (const c of cases.filter((c) => c.op !== null && native.has(c.op))) expect(c.toGraph, c.id).toBeDefined();
    // Add of equal shapes, and Gemm/MatMul that are a plain linear layer (alpha = beta = 1, no transA, row bias).
    const mapped = cases.filter((c) => c.toGraph && !native.has(c.op!)).map((c) => c.name);
    expect(mapped.sort()).toEqual([
      'test_Linear',
      'test_add',
      'test_gemm_default_no_bias',
      'test_gemm_default_scalar_bias',
      'test_gemm_default_single_elem_vector_bias',
      'test_gemm_default_vector_bias',
      'test_gemm_default_zero_bias',
      'test_gemm_transposeB',
      'test_matmul_2d',
    ]);
    expect(cases.filter((c) => c.toGraph)).toHaveLength(63);
  });

  describe('reference backend', () => {
    for (const c of cases) {
      const path = c.toGraph ? 'graph' : 'ops';
      it(`${c.id} [${c.ops.join(' -> ')}, opset ${c.opset}, ${path}]`, async () => {
        const r: CaseResult = c.toGraph ? await runCaseOn(referenceBackend, c) : runCaseOnReferenceOps(c);
        summary.push({ id: c.id, path, maxAbs: r.maxAbsError, ratio: r.worst.ratio });
        expect(r.got.shape).toEqual(c.expected.shape);
        expect(r.failures, r.message).toBe(0);
      });
    }
  });

  afterAll(() => {
    if (summary.length === 0) return;
    const rows = [...summary].sort((a, b) => b.ratio - a.ratio);
    const lines = rows.map(
      (r) => `  ${r.id.padEnd(62)} ${r.path.padEnd(5)} max|diff| ${r.maxAbs.toExponential(2)}  ${(100 * r.ratio).toPrecision(2)}% of the bound`,
    );
    console.log(`ONNX conformance on the reference backend, worst first (${rows.length} cases):\n${lines.join('\n')}`);
  });
}
