/**
 * Model families through the wasm backend against the reference backend, with seeded random
 * weights, odd input sizes and batches 1..8: for every output, max |wasm - reference| <= 1e-4 x
 * max |reference|. The cases cover each node type and variant the zoo builds: BasicBlock and
 * Bottleneck, 1x1 stride-2 projections (vb) and stride on the first 1x1 (va), the deep stem with
 * the avg-pool shortcut (vd), groups (ResNeXt), Paddle's [in, out] linear, the CIFAR option-A
 * shortcut, and features-only outputs (stem and stage maps back in NCHW). Both kernel builds run
 * (plain SIMD, and relaxed SIMD enabled in this process with V8's flag, which Node 20 needs).
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../src/backends/reference/index.js';
import { createWasmBackend, LEAN_WASM_OPTIONS, type WasmExecutable } from '../src/backends/wasm/index.js';
import { getModelConfig } from '../src/models/config.js';
import { seededWeights } from '../src/models/init.js';
import { buildResNet, type BuildOptions } from '../src/models/resnet.js';
import type { Tensor } from '../src/tensor.js';
import { seeded } from './helpers/hand-cases.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

interface ModelCase {
  readonly model: string;
  readonly input: [number, number, number, number];
  readonly opts?: BuildOptions;
}

const cases: ModelCase[] = [
  { model: 'resnet18', input: [3, 3, 45, 37] },
  { model: 'resnet50', input: [1, 3, 64, 64] },
  { model: 'resnet50_va', input: [2, 3, 33, 47] },
  { model: 'resnet50d', input: [2, 3, 57, 41] },
  { model: 'resnext50_32x4d', input: [1, 3, 49, 49] },
  { model: 'ResNet50_vd', input: [1, 3, 35, 35], opts: { numClasses: 17 } },
  { model: 'ResNeXt50_32x4d', input: [1, 3, 32, 40] },
  { model: 'resnet20', input: [8, 3, 32, 32] },
  { model: 'resnet20', input: [5, 3, 17, 23], opts: { cifarShortcut: 'B' } },
  { model: 'resnet26d', input: [4, 3, 40, 30], opts: { featuresOnly: true } },
];

function relError(got: Tensor, want: Tensor): { maxDiff: number; maxRef: number } {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < want.size; i++) {
    maxRef = Math.max(maxRef, Math.abs(want.data[i]));
    maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - want.data[i]));
  }
  return { maxDiff, maxRef };
}

describe('wasm vs reference on model families', () => {
  for (const c of cases) {
    const extra = c.opts ? ` ${JSON.stringify(c.opts)}` : '';
    it(`${c.model} [${c.input.join(', ')}]${extra}`, async () => {
      const graph = buildResNet(getModelConfig(c.model), c.opts);
      const weights = seededWeights(graph, 7);
      const x = seeded(c.input, c.input.reduce((a, b) => a + b, 0));
      const want = await (await referenceBackend.compile(graph, weights)).run(x);
      for (const relaxed of [false, true]) {
        // Lazy Winograd (the default): the first run has 3x3 convs on direct GEMM; after settle()
        // every one runs Winograd, as an eager executable does from the start.
        const exe = (await createWasmBackend({ relaxed }).compile(graph, weights)) as WasmExecutable;
        expect(exe.variant).toBe(relaxed ? 'relaxed-simd' : 'simd');
        for (const stage of ['first run (direct 3x3)', 'after settle (Winograd)']) {
          if (stage.startsWith('after')) exe.settle();
          const got = await exe.run(x);
          expect(Object.keys(got).sort()).toEqual(Object.keys(graph.outputs).sort());
          for (const name of Object.keys(graph.outputs)) {
            expect(got[name].shape, name).toEqual(want[name].shape);
            const { maxDiff, maxRef } = relError(got[name], want[name]);
            expect(maxRef, `${name} is not all zeros`).toBeGreaterThan(0);
            expect(maxDiff, `${exe.variant} ${stage} ${name}: max |wasm - reference| = ${maxDiff}, max |reference| = ${maxRef}`).toBeLessThanOrEqual(1e-4 * maxRef);
          }
        }
        expect(exe.pendingWinograd).toBe(0);
        exe.dispose();
      }
    });
  }
});

describe("Winograd weight sets: 'lazy' (default), 'eager', 'never'", () => {
  const graph = buildResNet(getModelConfig('resnet18'));
  const weights = seededWeights(graph, 11);
  const [a, b] = [seeded([1, 3, 40, 40], 5), seeded([2, 3, 56, 48], 6)];

  it('lazy: forwards stream weights, then make the final ones a few at a time, every output right on the way, plans of other shapes included', async () => {
    const want = { a: await (await referenceBackend.compile(graph, weights)).run(a), b: await (await referenceBackend.compile(graph, weights)).run(b) };
    const exe = (await createWasmBackend({ relaxed: false }).compile(graph, weights)) as WasmExecutable;
    expect(exe.pendingWinograd).toBeGreaterThan(10); // resnet18: every 3x3 conv past the stem
    const total = exe.pendingWeights;
    expect(total).toBe(21); // 20 convs and the fc
    const check = async (x: Tensor, w: Record<string, Tensor>, what: string) => {
      const { maxDiff, maxRef } = relError((await exe.run(x)).logits, w.logits);
      expect(maxDiff, `${what}: max |wasm - reference| = ${maxDiff}`).toBeLessThanOrEqual(1e-4 * maxRef);
    };
    await check(a, want.a, 'first run');
    expect(exe.pendingWeights).toBe(total); // the cold start makes none
    const weightBytes = exe.weightBytes;
    const planned = exe.memoryBytes(a.shape);
    let runs = 0;
    while (exe.pendingWeights > 0 && runs < 200) {
      const before = exe.pendingWeights;
      await check(runs % 2 ? a : b, runs % 2 ? want.a : want.b, `run ${runs + 2} with ${before} pending`);
      expect(exe.pendingWeights).toBeLessThan(before); // at least one per forward
      runs++;
    }
    expect(exe.pendingWinograd).toBe(0);
    expect(exe.weightBytes).toBeGreaterThan(100 * weightBytes); // the biases, then every packed weight
    expect(exe.memoryBytes(a.shape).weights).toBe(planned.weights); // what was planned is what it took
    await check(a, want.a, 'settled, shape a');
    await check(b, want.b, 'settled, shape b');
    await check(seeded([1, 3, 33, 65], 7), (await (await referenceBackend.compile(graph, weights)).run(seeded([1, 3, 33, 65], 7))), 'a new shape after the sets');
    exe.dispose();
  });

  it('eager makes every set at compile and gives the settled outputs; never keeps direct GEMMs', async () => {
    const lazy = (await createWasmBackend({ relaxed: false }).compile(graph, weights)) as WasmExecutable;
    const eager = (await createWasmBackend({ relaxed: false, winograd: 'eager' }).compile(graph, weights)) as WasmExecutable;
    const never = (await createWasmBackend({ relaxed: false, winograd: 'never' }).compile(graph, weights)) as WasmExecutable;
    expect(eager.pendingWinograd).toBe(0);
    expect(never.pendingWinograd).toBe(0);
    expect([eager.pendingWeights, never.pendingWeights]).toEqual([0, 0]);
    // A lazy float32 model packs nothing at compile: every conv and the fc stream at first.
    expect(lazy.pendingWeights).toBe(graph.nodes.filter((n) => n.op === 'conv' || n.op === 'linear').length);
    expect(lazy.weightBytes).toBeLessThan(0.01 * never.weightBytes);
    const planned = lazy.memoryBytes(a.shape).weights; // counts the weights still to be made
    expect(planned).toBe(eager.weightBytes);
    await lazy.run(a);
    lazy.settle();
    expect(lazy.pendingWeights).toBe(0);
    expect(Array.from((await lazy.run(a)).logits.data)).toEqual(Array.from((await eager.run(a)).logits.data));
    // Settled, a lazy model holds exactly what an eager one does: Winograd sets, and direct panels only where no set is made.
    expect(lazy.weightBytes).toBe(planned);
    expect(never.weightBytes).toBeLessThan(eager.weightBytes);
    [lazy, eager, never].forEach((e) => e.dispose());
  });
});

describe('the streamed cold start (lazy float32) at 224x224', () => {
  const graph = buildResNet(getModelConfig('resnet18'));
  const weights = seededWeights(graph, 13);
  const convs = graph.nodes.filter((n) => n.op === 'conv' || n.op === 'linear').length;

  it('batch 1: every conv streams with its final kernel (the last stages a part of their channels at a time), so the first forward equals the settled one bit for bit', async () => {
    const x = seeded([1, 3, 224, 224], 21);
    const eager = (await createWasmBackend({ relaxed: false, winograd: 'eager' }).compile(graph, weights)) as WasmExecutable;
    const lazy = (await createWasmBackend({ relaxed: false }).compile(graph, weights)) as WasmExecutable;
    const want = (await eager.run(x)).logits.data;
    const profile = await lazy.profile(x);
    expect(profile.nodes.filter((n) => n.name.startsWith('layer4') && n.name.endsWith('conv2')).map((n) => n.kernel)).toEqual(['winograd', 'winograd']);
    expect(Array.from((await lazy.run(x)).logits.data)).toEqual(Array.from(want));
    expect(lazy.pendingWeights).toBe(convs); // the cold start made none final
    // The stream area is 4 MiB; ResNet-18's largest sets are 36 MiB: the wasm memory holds far less than the weights.
    expect(lazy.memoryBytes(x.shape).peak - lazy.memoryBytes(x.shape).weights).toBeLessThan(16 * 2 ** 20);
    [eager, lazy].forEach((e) => e.dispose());
  });

  it('streamBytes sets the stream area (the planned peak moves by the difference; a smaller area streams more parts), the logits the same bit for bit; a bad one is named', async () => {
    const x = seeded([1, 3, 224, 224], 23);
    const [small, large] = await Promise.all([2 * 2 ** 20, undefined].map(async (streamBytes) => (await createWasmBackend({ relaxed: false, streamBytes }).compile(graph, weights)) as WasmExecutable));
    // The default is 4 MiB: ResNet-18's largest streamed weights take all of either area.
    expect(large.memoryBytes(x.shape).peak - small.memoryBytes(x.shape).peak).toBe(2 * 2 ** 20);
    expect(Array.from((await small.run(x)).logits.data)).toEqual(Array.from((await large.run(x)).logits.data));
    expect([small.pendingWeights, large.pendingWeights]).toEqual([convs, convs]); // both streamed every conv
    [small, large].forEach((e) => e.dispose());
    expect(LEAN_WASM_OPTIONS.streamBytes).toBe(2 * 2 ** 20);
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => createWasmBackend({ streamBytes: bad })).toThrow(new RangeError(`wasm backend: streamBytes must be a whole number of bytes >= 0, got ${bad}`));
    }
  });

  it('batch 8: convs the kernels split by rows, too large to stream whole, are made final at once; outputs within 1e-4 of the settled ones', async () => {
    const x = seeded([8, 3, 224, 224], 22);
    const eager = (await createWasmBackend({ relaxed: false, winograd: 'eager' }).compile(graph, weights)) as WasmExecutable;
    // In a 2 MiB area (in 4 MiB, the default, every ResNet-18 conv streams at batch 8).
    const lazy = (await createWasmBackend({ relaxed: false, streamBytes: 2 * 2 ** 20 }).compile(graph, weights)) as WasmExecutable;
    const want = (await eager.run(x)).logits;
    const { maxDiff, maxRef } = relError((await lazy.run(x)).logits, want);
    expect(maxDiff, `max |first forward - settled| = ${maxDiff}`).toBeLessThanOrEqual(1e-4 * maxRef);
    expect(lazy.pendingWeights).toBeLessThan(convs);
    expect(lazy.pendingWeights).toBeGreaterThan(0);
    lazy.settle();
    expect(Array.from((await lazy.run(x)).logits.data)).toEqual(Array.from(want.data));
    [eager, lazy].forEach((e) => e.dispose());
  });
});

describe('a stem read by its max pool alone runs with it in bands of rows', () => {
  // ResNet-18 at 160x96, batch 2: a stem map of 80x48x64 per image, in bands of 20 pool rows (2 per image).
  const graph = buildResNet(getModelConfig('resnet18'));
  const weights = seededWeights(graph, 17);
  const pool = graph.nodes.find((n) => n.op === 'maxpool')!;
  const stem = pool.op === 'maxpool' ? pool.input : '';
  const x = seeded([2, 3, 160, 96], 23);

  it('gives the unbanded logits bit for bit (the stem map asked for as an output keeps it whole), in less memory', async () => {
    const backend = createWasmBackend({ relaxed: false, winograd: 'eager' });
    const banded = (await backend.compile(graph, weights)) as WasmExecutable;
    const whole = (await backend.compile({ ...graph, outputs: { ...graph.outputs, stem } }, weights)) as WasmExecutable;
    const got = await banded.run(x);
    const want = await whole.run(x);
    expect(want.stem.shape).toEqual([2, 64, 80, 48]);
    expect(Array.from(got.logits.data)).toEqual(Array.from(want.logits.data));
    const ref = (await (await referenceBackend.compile(graph, weights)).run(x)).logits;
    const { maxDiff, maxRef } = relError(got.logits, ref);
    expect(maxDiff, `max |banded - reference| = ${maxDiff}`).toBeLessThanOrEqual(1e-4 * maxRef);
    // Its activations hold no stem map, only a band buffer (41 rows, 0.5 MiB); the whole one keeps
    // the two images' maps (1.9 MiB) to the end, as an output.
    const saved = whole.memoryBytes(x.shape).activations - banded.memoryBytes(x.shape).activations;
    expect(saved).toBeGreaterThan(2 * 80 * 48 * 64 * 4);
    // A profile gives the pool its own share of the bands' time.
    const profile = await banded.profile(x);
    const [conv1, maxpool] = profile.nodes;
    expect([conv1.kernel, maxpool.kernel]).toEqual(['stem', 'maxpool']);
    expect(maxpool.ms).toBeGreaterThan(0);
    expect(conv1.ms).toBeGreaterThan(maxpool.ms);
    [banded, whole].forEach((e) => e.dispose());
  });
});
