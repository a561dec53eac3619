/**
 * Lean checkpoints stay narrow (issue 19): a model bound from an int8 or fp16 file keeps its conv
 * and linear weights as stored (NarrowTensor: int8 with scales, fp16 bits) and each backend widens
 * what it needs at compile. Checked here:
 * - outputs are bit-identical to those of the float32 widening of the same file (what every backend
 *   received before weights stayed narrow), on every backend and wasm storage, for a table of
 *   families (stem, bottleneck, Winograd, grouped, Paddle's [in, out] classifier, CIFAR);
 * - pack_gemm_panels packs int8 and fp16 sources into the same bytes as their float32 widening;
 * - a model retains no float32 copy of its weights (the typed arrays reachable from it);
 * - the named errors of bad scales on the narrow path.
 */
import v8 from 'node:v8';
import { wasmArena } from './helpers/wasm-pack-oracle.js';
import { describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import { createWasmBackend, LEAN_WASM_OPTIONS, type WasmExecutable } from '../src/backends/wasm/index.js';
import { webgpuAvailability } from '../src/backends/webgpu/index.js';
import { instantiateKernels, loadKernelModule, type KernelExports } from '../src/backends/wasm/kernels.js';
import { PANEL_DTYPE, packedConvBytesF16, packedConvBytesQ8, packedConvFloats, type PanelDType } from '../src/backends/wasm/pack.js';
import { getModelConfig } from '../src/models/config.js';
import { seededWeights } from '../src/models/init.js';
import { buildResNet, type BuildOptions } from '../src/models/resnet.js';
import { Tensor, type TensorLike } from '../src/tensor.js';
import { floatToHalfBits } from '../src/weights/dtype.js';
import { CheckpointError, NarrowTensor, narrowWeights, quantizeInt8, readCheckpoint, writeSafetensors, type WeightDType } from '../src/weights/index.js';
import { seeded } from './helpers/hand-cases.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

function leanFile(weights: ReadonlyMap<string, TensorLike>, dtype: WeightDType): Uint8Array {
  const n = narrowWeights(weights, dtype);
  return writeSafetensors(n.tensors, n.metadata, { dtypes: n.dtypes });
}

function firstDifference(a: Float32Array, b: Float32Array): string | undefined {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${a[i]} vs ${b[i]}`;
  return undefined;
}

const cases: { model: string; input: [number, number, number, number]; opts?: BuildOptions }[] = [
  { model: 'resnet50', input: [1, 3, 64, 64] },
  { model: 'resnext50_32x4d', input: [1, 3, 33, 33] },
  { model: 'ResNet50_vd', input: [1, 3, 35, 35], opts: { numClasses: 17 } },
  { model: 'resnet20', input: [2, 3, 32, 32] },
];

async function backends(): Promise<[string, () => Backend][]> {
  const list: [string, () => Backend][] = [
    ['reference', () => referenceBackend],
    ['wasm', () => createWasmBackend({ winograd: 'eager' })],
    ['wasm lean int8', () => createWasmBackend(LEAN_WASM_OPTIONS)],
    ['wasm fp16', () => createWasmBackend({ storage: 'fp16', winogradBudget: 0 })],
  ];
  const gpu = await webgpuAvailability();
  if (gpu.ok) {
    const webgpu = await (await import('../src/backends/webgpu/index.js')).createWebGPUBackend();
    list.push(['webgpu', () => webgpu]);
  } else if (process.env.CI) throw new Error(`CI runs this table on WebGPU too (SwiftShader): ${gpu.reason}`);
  return list;
}

describe('narrow weights give the outputs of their float32 widening, bit for bit', () => {
  for (const c of cases) {
    it(`${c.model} [${c.input.join(', ')}]`, async () => {
      const graph = buildResNet(getModelConfig(c.model), c.opts);
      const x = seeded(c.input, 5);
      for (const dtype of ['int8', 'fp16'] as const) {
        const bytes = leanFile(seededWeights(graph, 11), dtype);
        const narrow = readCheckpoint(bytes, { narrow: true }).tensors;
        const wide = readCheckpoint(bytes).tensors;
        expect([...narrow.values()].filter((t) => t instanceof NarrowTensor).length).toBeGreaterThan(0);
        expect([...wide.values()].every((t) => !(t instanceof NarrowTensor))).toBe(true);
        for (const [name, make] of await backends()) {
          const outputs = [];
          for (const weights of [narrow, wide]) {
            const exe = await make().compile(graph, weights);
            (exe as Partial<WasmExecutable>).settle?.();
            outputs.push(await exe.run(x));
            exe.dispose();
          }
          for (const out of Object.keys(graph.outputs)) {
            const diff = firstDifference(outputs[0][out].data, outputs[1][out].data);
            expect(diff, `${dtype} on ${name}, ${out}: narrow vs widened ${diff}`).toBeUndefined();
          }
        }
      }
    }, 300_000);
  }
});

describe.each([false, true])('pack_gemm_panels from narrow sources, relaxed=%s', (relaxed) => {
  it('packs int8 and fp16 weights into the bytes their float32 widening packs to, every panel dtype, groups, swap, BN scale', async () => {
    const k = (await instantiateKernels((await loadKernelModule({ relaxed })).module)) as KernelExports;
    const alloc = wasmArena(k);
    // [cout, cinG, kh, kw, groups]; channel 1 of each int8 weight reaches only ±100, not ±127.
    const shapes: [number, number, number, number, number][] = [[13, 5, 3, 3, 1], [16, 4, 1, 1, 2], [9, 3, 7, 7, 1], [64, 4, 3, 3, 32], [3, 17, 1, 1, 1]];
    for (const [cout, cinG, kh, kw, groups] of shapes) {
      const shape = [cout, cinG, kh, kw];
      const per = cinG * kh * kw;
      const w = seeded(shape, cout * 7 + per);
      const { q, scale } = quantizeInt8(w);
      for (let i = per; i < 2 * per; i++) q[i] = Math.round(q[i] * (100 / 127));
      const bn = seeded([cout], cout, 0.5, 2);
      const bias = seeded([cout], cout + 1);
      const sources: { name: string; src: PanelDType; bytes: Uint8Array; wscale?: Float32Array; wide: Float32Array }[] = [
        {
          name: 'int8',
          src: PANEL_DTYPE.int8,
          bytes: new Uint8Array(Int8Array.from(q).buffer),
          wscale: scale,
          wide: new NarrowTensor({ dtype: 'int8', q: Int8Array.from(q), scale }, shape).widen(),
        },
        (() => {
          const bits = Uint16Array.from(w.data, (v) => floatToHalfBits(v));
          return { name: 'fp16', src: PANEL_DTYPE.fp16, bytes: new Uint8Array(bits.buffer), wide: new NarrowTensor({ dtype: 'float16', bits }, shape).widen() };
        })(),
      ];
      for (const s of sources) {
        const srcP = alloc(s.bytes.length);
        const wsP = s.wscale ? alloc(cout * 4) : 0;
        const wideP = alloc(per * cout * 4);
        const bnP = alloc(cout * 4);
        const biasP = alloc(cout * 4);
        new Uint8Array(k.memory.buffer).set(s.bytes, srcP);
        if (s.wscale) new Float32Array(k.memory.buffer).set(s.wscale, wsP / 4);
        new Float32Array(k.memory.buffer).set(s.wide, wideP / 4);
        new Float32Array(k.memory.buffer).set(bn.data, bnP / 4);
        new Float32Array(k.memory.buffer).set(bias.data, biasP / 4);
        for (const [panels, bytes] of [
          [PANEL_DTYPE.float32, packedConvFloats(cout, cinG, kh, kw, groups) * 4],
          [PANEL_DTYPE.int8, packedConvBytesQ8(cout, cinG, kh, kw, groups)],
          [PANEL_DTYPE.fp16, packedConvBytesF16(cout, cinG, kh, kw, groups)],
        ] as const) {
          for (const swap of panels === PANEL_DTYPE.float32 ? [0, 1] : [0]) {
            const a = alloc(bytes);
            const b = alloc(bytes);
            k.pack_gemm_panels(cout, cinG, kh, kw, groups, swap, s.src, srcP, wsP, bnP, biasP, a, panels);
            k.pack_gemm_panels(cout, cinG, kh, kw, groups, swap, PANEL_DTYPE.float32, wideP, 0, bnP, biasP, b, panels);
            const got = new Uint8Array(k.memory.buffer, a, bytes);
            const want = new Uint8Array(k.memory.buffer, b, bytes);
            const at = got.findIndex((v, i) => v !== want[i]);
            expect(at, `${s.name} -> panel dtype ${panels}, [${shape}] groups ${groups} swap ${swap}: byte ${at} differs`).toBe(-1);
          }
        }
      }
    }
  });
});

/** Bytes of the distinct array buffers reachable from `root` (wasm memories skipped: they are the backend's own). */
function retainedBuffers(root: unknown): { float32: number; all: number } {
  const seen = new Set<unknown>();
  const buffers = new Map<ArrayBufferLike, boolean>(); // buffer -> seen through a Float32Array
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof WebAssembly.Memory || v instanceof WebAssembly.Module || v instanceof WebAssembly.Instance) continue;
    if (ArrayBuffer.isView(v)) {
      buffers.set(v.buffer, (buffers.get(v.buffer) ?? false) || v instanceof Float32Array);
      continue;
    }
    if (v instanceof ArrayBuffer) {
      buffers.set(v, buffers.get(v) ?? false);
      continue;
    }
    if (v instanceof Map) for (const e of v) stack.push(e[0], e[1]);
    else if (v instanceof Set) for (const e of v) stack.push(e);
    if (typeof v === 'function') continue;
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      if (d && 'value' in d) stack.push(d.value);
    }
  }
  let float32 = 0;
  let all = 0;
  for (const [b, f32] of buffers) {
    all += b.byteLength;
    if (f32) float32 += b.byteLength;
  }
  return { float32, all };
}

describe('a model from an int8 checkpoint retains no float32 copy of its weights', () => {
  it('resnet50: the arrays reachable from the compiled model are the file itself, not 4x it', async () => {
    const graph = buildResNet(getModelConfig('resnet50'));
    const float32Bytes = [...seededWeights(graph, 2).values()].reduce((s, t) => s + t.data.byteLength, 0);
    const file = leanFile(seededWeights(graph, 2), 'int8');
    const model = await createModel('resnet50', { weights: file });
    const x = seeded([1, 3, 64, 64], 1);
    await model.forward(x);
    await model.settle();
    await model.forward(x);
    const kept = [...model.weights.values()];
    expect(kept.filter((t) => t instanceof NarrowTensor).length).toBe(54); // 53 convs and the classifier
    const held = retainedBuffers(model);
    console.log(`resnet50 int8: file ${file.byteLength} B, float32 weights ${float32Bytes} B, arrays reachable from the model ${held.all} B (${held.float32} B of them in buffers with float32 views)`);
    // The file's buffer (int8 weights, their scales and the float32 BatchNorm tensors, all views into
    // it) plus the fused biases and BN scales: within 10% of the file, against 4x it for float32 copies.
    expect(held.all).toBeLessThan(1.1 * file.byteLength);
    expect(held.all).toBeLessThan(0.3 * float32Bytes);
    model.dispose();
  }, 120_000);
});

describe('bad scales are named errors on the narrow path too', () => {
  const tensors = new Map<string, TensorLike>([['conv1.weight', { data: Float32Array.from({ length: 4 * 27 }, (_, i) => Math.cos(i)), shape: [4, 3, 3, 3] }]]);
  const edited = (edit: (m: Map<string, TensorLike>) => void): Uint8Array => {
    const n = narrowWeights(tensors, 'int8');
    const m = new Map(n.tensors);
    edit(m);
    return writeSafetensors(m, n.metadata, { dtypes: n.dtypes });
  };
  it.each([
    ['a missing scale', (m: Map<string, TensorLike>) => m.delete('conv1.weight.scale'), /'conv1.weight' is I8 but its scale 'conv1.weight.scale' is missing; expected float32 \[4\]/],
    ['a scale of the wrong shape', (m: Map<string, TensorLike>) => m.set('conv1.weight.scale', { data: new Float32Array(3), shape: [3] }), /scale 'conv1.weight.scale' is float32 \[3\]; expected float32 \[4\]/],
    ['a NaN scale', (m: Map<string, TensorLike>) => m.set('conv1.weight.scale', { data: Float32Array.from([1, NaN, 1, 1]), shape: [4] }), /scale 'conv1.weight.scale'\[1\] is NaN; expected a finite value >= 0/],
  ])('%s', (_what, edit, message) => {
    expect(() => readCheckpoint(edited(edit), { narrow: true })).toThrow(CheckpointError);
    expect(() => readCheckpoint(edited(edit), { narrow: true })).toThrow(message);
  });
  it('createModel reports it before compiling', async () => {
    const bytes = edited((m) => m.delete('conv1.weight.scale'));
    await expect(createModel('resnet20', { weights: bytes, weightsName: 'bad.safetensors' })).rejects.toThrow(/bad.safetensors: int8 checkpoint: 'conv1.weight' is I8 but its scale/);
  });
});

it("a lean model's weights (NarrowTensors) bind another model as they are, with the same logits", async () => {
  const file = leanFile(seededWeights(buildResNet(getModelConfig('resnet20')), 4), 'int8');
  const a = await createModel('resnet20', { weights: file });
  const b = await createModel('resnet20', { weights: a.weights, lean: true });
  expect([...b.weights].every(([k, t]) => t === a.weights.get(k))).toBe(true);
  const x = seeded([2, 3, 32, 32], 3);
  expect(firstDifference((await a.forward(x)).data, (await b.forward(x)).data)).toBeUndefined();
});

it('Tensor is still what a float32 checkpoint binds', async () => {
  const model = await createModel('resnet20', { weights: writeSafetensors(seededWeights(buildResNet(getModelConfig('resnet20')), 1)) });
  expect([...model.weights.values()].every((t) => t instanceof Tensor)).toBe(true);
});
