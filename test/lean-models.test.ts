/**
 * Lean weights on every model family and backend (issue 19): each model's seeded float32 weights
 * are stored as fp16 and as int8 (narrowWeights, what `resnet convert --dtype` writes), read back
 * as a reader would, and run on each backend; the outputs are compared with the float32 weights on
 * the reference backend. Tolerances: fp16 max |out - ref| <= 1e-3 x max |ref|; int8 cosine >= 0.999.
 * The wasm backend runs three ways: float32 panels, the lean mode (int8 panels, Winograd sets
 * within LEAN_WASM_OPTIONS' budget) and int8 panels with every 3x3 conv on the direct GEMM; the
 * int8 storage quantizes fp16 weights too, so they are held to int8's tolerance there.
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import { createWasmBackend, LEAN_WASM_OPTIONS, type WasmExecutable } from '../src/backends/wasm/index.js';
import { webgpuAvailability } from '../src/backends/webgpu/index.js';
import { getModelConfig } from '../src/models/config.js';
import { seededWeights } from '../src/models/init.js';
import { buildResNet, type BuildOptions } from '../src/models/resnet.js';
import { Tensor } from '../src/tensor.js';
import { narrowWeights } from '../src/weights/index.js';
import { seeded } from './helpers/hand-cases.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const cases: { model: string; input: [number, number, number, number]; opts?: BuildOptions }[] = [
  { model: 'resnet18', input: [2, 3, 45, 37] },
  { model: 'resnet50', input: [1, 3, 64, 64] },
  { model: 'resnet50d', input: [1, 3, 57, 41] },
  { model: 'resnext50_32x4d', input: [1, 3, 49, 49] },
  { model: 'ResNet50_vd', input: [1, 3, 35, 35], opts: { numClasses: 17 } },
  { model: 'wide_resnet50_2', input: [1, 3, 32, 32] },
  { model: 'resnet20', input: [4, 3, 32, 32] },
  { model: 'resnet26d', input: [2, 3, 40, 30], opts: { featuresOnly: true } },
];

const TOLERANCE = { fp16: { maxRel: 1e-3 }, int8: { minCosine: 0.999 } } as const;

function compare(got: Tensor, want: Tensor): { rel: number; cosine: number } {
  let dot = 0, ng = 0, nw = 0, maxDiff = 0, maxRef = 0;
  for (let i = 0; i < want.size; i++) {
    dot += got.data[i] * want.data[i];
    ng += got.data[i] ** 2;
    nw += want.data[i] ** 2;
    maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - want.data[i]));
    maxRef = Math.max(maxRef, Math.abs(want.data[i]));
  }
  return { rel: maxDiff / maxRef, cosine: dot / Math.sqrt(ng * nw) };
}

async function backends(): Promise<[string, Backend][]> {
  const list: [string, Backend][] = [
    ['reference', referenceBackend],
    ['wasm', createWasmBackend()],
    // int8 panels in wasm memory, widened inside the GEMM; Winograd sets within the lean budget.
    ['wasm lean', createWasmBackend(LEAN_WASM_OPTIONS)],
    // int8 panels and no Winograd set at all: every 3x3 conv on the int8 direct GEMM.
    ['wasm int8 direct', createWasmBackend({ storage: 'int8', winogradBudget: 0 })],
    // fp16 panels, every 3x3 conv direct: exact for fp16 weights.
    ['wasm fp16 direct', createWasmBackend({ storage: 'fp16', winogradBudget: 0 })],
  ];
  const gpu = await webgpuAvailability();
  if (gpu.ok) list.push(['webgpu', await (await import('../src/backends/webgpu/index.js')).createWebGPUBackend()]);
  else if (process.env.CI) throw new Error(`CI runs this table on WebGPU too (SwiftShader): ${gpu.reason}`);
  return list;
}

describe('fp16 and int8 weights vs float32 on the reference backend, every family and backend', () => {
  for (const c of cases) {
    it(`${c.model} [${c.input.join(', ')}]${c.opts ? ` ${JSON.stringify(c.opts)}` : ''}`, async () => {
      const graph = buildResNet(getModelConfig(c.model), c.opts);
      const weights = seededWeights(graph, 11);
      const x = seeded(c.input, 5);
      const want = await (await referenceBackend.compile(graph, weights)).run(x);
      for (const dtype of ['fp16', 'int8'] as const) {
        const narrowed = narrowWeights(weights, dtype);
        expect(narrowed.narrowed).toBeGreaterThan(0);
        const lean = new Map([...weights].map(([k, t]) => [k, new Tensor(narrowed.restored.get(k)!, t.shape)]));
        for (const [name, backend] of await backends()) {
          const exe = await backend.compile(graph, lean);
          (exe as Partial<WasmExecutable>).settle?.();
          const got = await exe.run(x);
          for (const out of Object.keys(graph.outputs)) {
            const { rel, cosine } = compare(got[out], want[out]);
            const where = `${dtype} on ${name}, ${out}: max rel ${rel.toExponential(2)}, cosine ${cosine.toFixed(6)}`;
            // The lean backends keep int8 panels whatever they are given: fp16 weights get int8's tolerance there.
            if (dtype === 'fp16' && !name.startsWith('wasm lean') && !name.startsWith('wasm int8')) expect(rel, where).toBeLessThanOrEqual(TOLERANCE.fp16.maxRel);
            else expect(cosine, where).toBeGreaterThanOrEqual(TOLERANCE.int8.minCosine);
          }
          exe.dispose?.();
        }
      }
    }, 300_000);
  }
});

describe('int8 storage in wasm memory', () => {
  it.each(['resnet50', 'resnet20'])('%s: an int8 checkpoint comes back as the same integers (outputs as the float32 panels give, 1e-5)', async (model) => {
    const graph = buildResNet(getModelConfig(model));
    const weights = seededWeights(graph, 3);
    const narrowed = narrowWeights(weights, 'int8');
    const lean = new Map([...weights].map(([k, t]) => [k, new Tensor(narrowed.restored.get(k)!, t.shape)]));
    const x = seeded([1, 3, 32, 32], 9);
    const f32 = (await createWasmBackend({ winograd: 'eager' }).compile(graph, lean)) as WasmExecutable;
    const q8 = (await createWasmBackend({ winograd: 'eager', storage: 'int8', winogradBudget: 0 }).compile(graph, lean)) as WasmExecutable;
    expect(q8.storage).toBe('int8');
    expect(q8.directConvs.length).toBeGreaterThan(0);
    const direct = (await createWasmBackend({ winograd: 'never' }).compile(graph, lean)) as WasmExecutable;
    const want = (await direct.run(x)).logits;
    const got = (await q8.run(x)).logits;
    expect(compare(got, want).rel).toBeLessThanOrEqual(1e-5);
    expect(compare((await f32.run(x)).logits, want).rel).toBeLessThanOrEqual(1e-4);
    // int8 panels take about a quarter of the float32 ones.
    expect(q8.weightBytes).toBeLessThan(0.3 * direct.weightBytes);
    for (const e of [f32, q8, direct]) e.dispose();
  }, 120_000);
});
