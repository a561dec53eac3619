/**
 * Kernel-level tests of the wasm backend (XNNPACK style): the GEMM swept through m, n, k that hit
 * every row tail (m mod MR), every column tail (n mod 8: & 4, & 2, & 1) and short and prime depths,
 * with and without the residual and ReLU epilogue, checked against float64 sums; every conv
 * dispatch branch (direct 1x1, im2col, grouped, Winograd) against the reference conv; the memory
 * plan; loading the kernels from a precompiled module. Both kernel builds run: plain SIMD and
 * relaxed SIMD (enabled in this process with V8's flag, which Node 20 needs; Node 22+ has it on).
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { conv2d } from '../src/backends/reference/index.js';
import { foldBatchNorm, fuseGraph, type BnParams, type FusedConv } from '../src/backends/fuse.js';
import { convMethod, convPackedFloats, convScratchBytes, packConv, runConv, type ConvGeometry } from '../src/backends/wasm/conv.js';
import { createWasmBackend, initWasm, wasmBackend, wasmFeatures, type WasmExecutable } from '../src/backends/wasm/index.js';
import { wasmBnFold } from '../src/backends/wasm/fold.js';
import { instantiateKernels, loadKernelModule, type KernelExports } from '../src/backends/wasm/kernels.js';
import { KERNELS_SIMD_BASE64 } from '../src/backends/wasm/kernels.generated.js';
import { packedConvFloats } from '../src/backends/wasm/pack.js';
import { placeBuffers } from '../src/backends/wasm/plan.js';
import type { Graph } from '../src/graph.js';
import { conv2dInfo, type Pads4 } from '../src/shape.js';
import { Tensor } from '../src/tensor.js';
import { seeded } from './helpers/hand-cases.js';
import { packConvWeights, packWinogradSets, scaleWeights, swapKernelAxes, winogradS2Weights, winogradWeights } from './helpers/wasm-pack-oracle.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const variants = [false, true] as const;

/** A bump allocator over a fresh kernel instance's memory. */
async function kernelArena(relaxed: boolean): Promise<{ k: KernelExports; alloc(floats: number): number; f32(): Float32Array }> {
  const { module, variant } = await loadKernelModule({ relaxed });
  expect(variant).toBe(relaxed ? 'relaxed-simd' : 'simd');
  const k = await instantiateKernels(module);
  let top = Math.ceil(k.heap_base() / 64) * 64;
  return {
    k,
    alloc(floats: number) {
      const p = top;
      top = Math.ceil((top + floats * 4 + 64) / 64) * 64;
      const need = top + 64 - k.memory.buffer.byteLength;
      if (need > 0) k.memory.grow(Math.ceil(need / 65536));
      return p;
    },
    f32: () => new Float32Array(k.memory.buffer),
  };
}

describe.each(variants)('f32_gemm (packed panels, MRx8 microkernel), relaxed=%s', (relaxed) => {
  it('sweeps m, n, k through every tail, with strides, residual and relu', async () => {
    const { k, alloc, f32 } = await kernelArena(relaxed);
    const mr = k.MR.value as number;
    expect(mr).toBe(relaxed ? 6 : 4);
    const ms = [1, 2, 3, 4, 5, 6, 7, 11, 13, 2 * mr + 1];
    const ns = [1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17, 23];
    const ks = [1, 2, 3, 5, 8, 17, 31];
    // Plus depths so large that A is packed in several row blocks (256 KiB each): 70 rows of 2049.
    const cases: [number, number, number][] = [[70, 13, 2049], [70, 4, 2049]];
    for (const m of ms) for (const n of ns) for (const kc of ks) cases.push([m, n, kc]);
    let checked = 0;
    for (const [m, n, kc] of cases) {
      {
        {
          const variant = (m * 7 + n * 3 + kc) % 4; // cycles through plain, residual, relu, both
          const withRes = variant & 1;
          const relu = variant & 2 ? 1 : 0;
          const lda = kc + 3;
          const ldc = n + 5;
          const a = seeded([m * lda], m * 1000 + kc);
          const w = seeded([n * kc], n * 100 + kc); // [n, k]: OIHW with 1x1 kernels
          const bias = seeded([n], n + 7);
          const res = seeded([m * ldc], m + n);
          const aP = alloc(m * lda);
          const wP = alloc(packedConvFloats(n, kc, 1, 1, 1));
          const cP = alloc(m * ldc);
          const rP = alloc(m * ldc);
          const sP = alloc(k.gemm_scratch_bytes(m, kc) / 4);
          const mem = f32();
          mem.set(a.data, aP / 4);
          mem.set(res.data, rP / 4);
          mem.set(packConvWeights(w.data, bias.data, n, kc, 1, 1, 1), wP / 4);
          const sentinel = 12345;
          mem.fill(sentinel, cP / 4, cP / 4 + m * ldc);
          k.f32_gemm(m, n, kc, aP, lda, wP, cP, ldc, withRes ? rP : 0, ldc, relu, sP);
          const c = f32().subarray(cP / 4, cP / 4 + m * ldc);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < ldc; j++) {
              const got = c[i * ldc + j];
              if (j >= n) {
                if (got !== sentinel) throw new Error(`m=${m} n=${n} k=${kc}: wrote C[${i}][${j}] past the last column`);
                continue;
              }
              let want = bias.data[j];
              let absSum = Math.abs(want); // float32 rounding grows with the sum of |terms|
              for (let p = 0; p < kc; p++) {
                const t = a.data[i * lda + p] * w.data[j * kc + p];
                want += t;
                absSum += Math.abs(t);
              }
              if (withRes) want += res.data[i * ldc + j];
              if (relu) want = Math.max(want, 0);
              if (Math.abs(got - want) > 1e-5 * (1 + absSum)) {
                throw new Error(`m=${m} n=${n} k=${kc} res=${withRes} relu=${relu}: C[${i}][${j}] = ${got}, want ${want}`);
              }
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(10000);
  });
});

interface ConvCase {
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: number;
  stride?: number;
  pads?: Pads4;
  dilation?: number;
  groups?: number;
  batch?: number;
  residual?: boolean;
  relu?: boolean;
}

const convCases: ConvCase[] = [
  { cin: 8, cout: 16, h: 7, w: 5, k: 1 },
  { cin: 13, cout: 11, h: 3, w: 9, k: 1, batch: 3, residual: true, relu: true },
  { cin: 12, cout: 20, h: 9, w: 7, k: 1, stride: 2 },
  { cin: 3, cout: 8, h: 23, w: 19, k: 7, stride: 2, pads: [3, 3, 3, 3], relu: true },
  // The stem kernel: a row's last pixels (ow mod MR), a last panel of 5 columns, two images, a
  // residual; an output of one pixel with uneven pads; a 16x16 output.
  { cin: 3, cout: 13, h: 9, w: 30, k: 7, stride: 2, pads: [3, 3, 3, 3], residual: true, batch: 2 },
  { cin: 3, cout: 64, h: 4, w: 5, k: 7, stride: 2, pads: [2, 3, 1, 0] },
  { cin: 3, cout: 16, h: 32, w: 32, k: 7, stride: 2, pads: [3, 3, 3, 3], relu: true },
  { cin: 5, cout: 7, h: 6, w: 6, k: 3, pads: [1, 1, 1, 1] },
  { cin: 3, cout: 5, h: 2, w: 3, k: 5, pads: [2, 2, 2, 2], batch: 2 },
  { cin: 6, cout: 9, h: 4, w: 4, k: 3, stride: 3, pads: [2, 0, 1, 2] },
  { cin: 8, cout: 12, h: 9, w: 11, k: 3, pads: [1, 1, 1, 1], batch: 2, residual: true, relu: true },
  { cin: 16, cout: 8, h: 1, w: 1, k: 3, pads: [1, 1, 1, 1] },
  { cin: 4, cout: 4, h: 2, w: 3, k: 3, pads: [1, 1, 1, 1] },
  { cin: 8, cout: 8, h: 10, w: 10, k: 3, pads: [0, 0, 0, 0] },
  { cin: 8, cout: 12, h: 8, w: 9, k: 3, pads: [0, 1, 2, 1] },
  // Winograd over several blocks of tiles with a shorter last one (12 tiles a block at 128 channels; 32 tiles).
  { cin: 128, cout: 128, h: 13, w: 15, k: 3, pads: [1, 1, 1, 1], batch: 2, residual: true, relu: true },
  { cin: 12, cout: 16, h: 9, w: 9, k: 3, stride: 2, pads: [1, 1, 1, 1], relu: true },
  // Stride-2 Winograd: uneven pads, an output smaller than a tile, even sizes with three images,
  // and several blocks of tiles with a shorter last one (18 and 16 tiles at 128 channels).
  { cin: 8, cout: 12, h: 10, w: 7, k: 3, stride: 2, pads: [0, 1, 1, 0] },
  { cin: 4, cout: 4, h: 1, w: 2, k: 3, stride: 2, pads: [1, 1, 1, 1] },
  { cin: 16, cout: 20, h: 16, w: 18, k: 3, stride: 2, pads: [1, 1, 1, 1], batch: 3, residual: true },
  { cin: 128, cout: 128, h: 21, w: 19, k: 3, stride: 2, pads: [1, 1, 1, 1], batch: 2, residual: true, relu: true },
  { cin: 128, cout: 96, h: 29, w: 27, k: 3, stride: 2, pads: [1, 1, 1, 1] },
  { cin: 6, cout: 8, h: 9, w: 8, k: 3, stride: 2, pads: [1, 1, 1, 1] },
  { cin: 8, cout: 8, h: 9, w: 9, k: 3, dilation: 2, pads: [2, 2, 2, 2] },
  { cin: 8, cout: 16, h: 7, w: 6, k: 3, groups: 4, pads: [1, 1, 1, 1], residual: true },
  { cin: 64, cout: 64, h: 5, w: 7, k: 3, groups: 32, stride: 2, pads: [1, 1, 1, 1], batch: 2 },
  { cin: 32, cout: 32, h: 6, w: 5, k: 3, groups: 8, pads: [1, 1, 1, 1], relu: true },
  // Grouped convs like ResNeXt's (4 or 8 channels per group): odd sizes, borders, strides, dilation.
  { cin: 128, cout: 128, h: 7, w: 5, k: 3, groups: 32, pads: [1, 1, 1, 1], batch: 2, residual: true, relu: true },
  { cin: 64, cout: 64, h: 9, w: 7, k: 3, groups: 8, stride: 2, pads: [1, 1, 1, 1] },
  { cin: 16, cout: 32, h: 8, w: 7, k: 3, groups: 4, stride: 3, pads: [2, 0, 1, 2], residual: true },
  { cin: 32, cout: 64, h: 9, w: 9, k: 3, groups: 8, dilation: 2, pads: [2, 2, 2, 2], relu: true },
  { cin: 16, cout: 16, h: 3, w: 4, k: 1, groups: 4, batch: 3 },
  { cin: 8, cout: 16, h: 3, w: 4, k: 5, groups: 2, pads: [1, 2, 1, 0] },
];

function convName(c: ConvCase): string {
  const parts = [`${c.batch ?? 1}x${c.cin}x${c.h}x${c.w} -> ${c.cout}`, `k${c.k}`, `s${c.stride ?? 1}`, `pads ${(c.pads ?? [0, 0, 0, 0]).join(',')}`];
  if (c.dilation) parts.push(`d${c.dilation}`);
  if (c.groups) parts.push(`g${c.groups}`);
  if (c.residual) parts.push('+residual');
  if (c.relu) parts.push('relu');
  return parts.join(' ');
}

describe.each(variants)('conv dispatch vs the reference conv, relaxed=%s', (relaxed) => {
  for (const [i, c] of convCases.entries()) {
    const geometry: ConvGeometry & Pick<FusedConv, 'pads' | 'relu'> = {
      inChannels: c.cin,
      outChannels: c.cout,
      kernel: [c.k, c.k],
      stride: [c.stride ?? 1, c.stride ?? 1],
      dilation: [c.dilation ?? 1, c.dilation ?? 1],
      groups: c.groups ?? 1,
      pads: c.pads ?? [0, 0, 0, 0],
      relu: c.relu ?? false,
    };
    it(`${convName(c)} [${convMethod(geometry)}]`, async () => {
      const { k, alloc, f32 } = await kernelArena(relaxed);
      const inShape = [c.batch ?? 1, c.cin, c.h, c.w];
      const wShape = [c.cout, c.cin / geometry.groups, c.k, c.k];
      const info = conv2dInfo(inShape, wShape, { kernel: geometry.kernel, stride: geometry.stride, pads: geometry.pads, dilation: geometry.dilation, groups: geometry.groups });
      const x = seeded(inShape, 11 + i);
      const wt = seeded(wShape, 23 + i, -0.5, 0.5);
      const bias = seeded([c.cout], 31 + i);
      const res = seeded(info.outShape, 41 + i);
      let want = conv2d(x, wt, bias, { stride: geometry.stride, pads: geometry.pads, dilation: geometry.dilation, groups: geometry.groups });
      if (c.residual) want = new Tensor(want.data.map((v, j) => v + res.data[j]), want.shape);
      if (c.relu) want = new Tensor(want.data.map((v) => Math.max(v, 0)), want.shape);

      const nhwc = (t: Tensor) => {
        const [n, ch, h, w] = t.shape;
        const out = new Float32Array(t.size);
        for (let b = 0; b < n; b++) for (let q = 0; q < ch; q++) for (let p = 0; p < h * w; p++) out[(b * h * w + p) * ch + q] = t.data[(b * ch + q) * h * w + p];
        return out;
      };
      const outFloats = want.size;
      const buf = {
        input: alloc(x.size),
        packed: alloc(convPackedFloats(geometry)),
        bias: alloc(c.cout),
        output: alloc(outFloats),
        residual: c.residual ? alloc(outFloats) : 0,
        scratch: alloc(convScratchBytes(k, geometry, info.outShape) / 4),
      };
      const raw = alloc(wt.size);
      const mem = f32();
      mem.set(nhwc(x), buf.input / 4);
      if (c.residual) mem.set(nhwc(res), buf.residual / 4);
      mem.set(wt.data, raw / 4);
      mem.set(bias.data, buf.bias / 4);
      packConv(k, geometry, buf.packed, { weight: raw, scale: 0, bias: buf.bias });
      runConv(k, geometry, inShape, info.outShape, buf);
      const got = f32().subarray(buf.output / 4, buf.output / 4 + outFloats);
      const wantNhwc = nhwc(want);
      let maxRef = 0;
      let maxDiff = 0;
      for (let j = 0; j < outFloats; j++) {
        maxRef = Math.max(maxRef, Math.abs(wantNhwc[j]));
        maxDiff = Math.max(maxDiff, Math.abs(got[j] - wantNhwc[j]));
      }
      expect(maxDiff).toBeLessThanOrEqual(1e-5 * maxRef);
    });
  }

  it('picks Winograd for 3x3 stride-1 and stride-2 ungrouped convs with channels in fours, the direct kernel for narrow groups, the stem kernel for 7x7 stride-2 on 3 channels, GEMM otherwise', () => {
    const g = (k: number, s: number, groups: number, cin = 8, cout = 8, d = 1): ConvGeometry => ({
      inChannels: cin, outChannels: cout, kernel: [k, k], stride: [s, s], dilation: [d, d], groups,
    });
    expect(convMethod(g(3, 1, 1))).toBe('winograd');
    expect(convMethod(g(3, 2, 1))).toBe('winograd-s2');
    expect(convMethod(g(3, 2, 1, 6, 8))).toBe('gemm');
    expect(convMethod(g(3, 3, 1))).toBe('gemm');
    expect(convMethod(g(3, 1, 2))).toBe('grouped'); // 4 in, 4 out per group
    expect(convMethod(g(3, 2, 32, 256, 256))).toBe('grouped'); // 8 in, 8 out per group
    expect(convMethod(g(3, 1, 32, 512, 512))).toBe('gemm'); // 16 out per group: wide enough for the GEMM
    expect(convMethod(g(3, 1, 4, 8, 16))).toBe('gemm'); // 2 in per group
    expect(convMethod(g(3, 1, 1, 6, 8))).toBe('gemm');
    expect(convMethod(g(3, 1, 1, 8, 8, 2))).toBe('gemm');
    expect(convMethod(g(1, 1, 1))).toBe('gemm');
    expect(convMethod(g(7, 2, 1, 3, 64))).toBe('stem');
    expect(convMethod(g(7, 1, 1, 3, 64))).toBe('gemm');
    expect(convMethod(g(7, 2, 1, 4, 64))).toBe('gemm');
    expect(convMethod(g(7, 2, 1, 3, 64, 2))).toBe('gemm');
  });
});

/** A conv geometry for the packing tests: kernel k x k, groups g, stride s. */
const packGeometry = (cin: number, cout: number, k: number, s = 1, groups = 1): ConvGeometry => ({
  inChannels: cin, outChannels: cout, kernel: [k, k], stride: [s, s], dilation: [1, 1], groups,
});

describe('load-time packing (assembly/pack.ts) vs the oracle (test/helpers/wasm-pack-oracle.ts)', () => {
  // Every method, output channels through every panel tail (cout mod 8), prime depths, with and without a BN scale.
  const cases: [string, ConvGeometry][] = [];
  for (const cout of [1, 3, 8, 13, 16, 23]) cases.push([`1x1 ${cout}x7`, packGeometry(7, cout, 1)], [`3x3 ${cout}x5`, packGeometry(5, cout, 3)]);
  cases.push(
    ['5x5 groups 2, 16x8', packGeometry(8, 16, 5, 1, 2)],
    ['grouped 3x3 g8, 64x64', packGeometry(64, 64, 3, 1, 8)],
    ['grouped 3x3 g32 s2, 128x128', packGeometry(128, 128, 3, 2, 32)],
    ['stem 7x7 s2, 3 -> 13', packGeometry(3, 13, 7, 2)],
    ['stem 7x7 s2, 3 -> 64', packGeometry(3, 64, 7, 2)],
    ['winograd 12 -> 20', packGeometry(12, 20, 3)],
    ['winograd 64 -> 64', packGeometry(64, 64, 3)],
    ['winograd-s2 4 -> 12', packGeometry(4, 12, 3, 2)],
    ['winograd-s2 32 -> 36', packGeometry(32, 36, 3, 2)],
  );
  for (const [name, c] of cases) {
    for (const withScale of [false, true]) {
      it(`${name} [${convMethod(c)}]${withScale ? ', BN scale folded' : ''}`, async () => {
        const { k, alloc, f32 } = await kernelArena(false);
        const cinG = c.inChannels / c.groups;
        const weight = seeded([c.outChannels, cinG, c.kernel[0], c.kernel[1]], c.outChannels * 31 + c.inChannels, -0.5, 0.5).data;
        const scale = withScale ? seeded([c.outChannels], 5, 0.25, 2).data : undefined;
        const bias = seeded([c.outChannels], 7).data;
        const at = { weight: alloc(weight.length), scale: scale ? alloc(c.outChannels) : 0, bias: alloc(c.outChannels) };
        const floats = convPackedFloats(c);
        const dst = alloc(floats);
        f32().fill(NaN, dst / 4, dst / 4 + floats); // every float must be written
        f32().set(weight, at.weight / 4);
        if (scale) f32().set(scale, at.scale / 4);
        f32().set(bias, at.bias / 4);
        packConv(k, c, dst, at);
        const got = f32().slice(dst / 4, dst / 4 + floats);
        const w = scaleWeights(weight, scale, c.outChannels);
        const method = convMethod(c);
        if (method === 'winograd' || method === 'winograd-s2') {
          // f32 transforms in wasm against float64 ones: within a few roundings of the largest value.
          const u = (method === 'winograd' ? winogradWeights : winogradS2Weights)(w, c.outChannels, c.inChannels);
          const want = packWinogradSets(u, c.outChannels, c.inChannels);
          const maxRef = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          let maxDiff = 0;
          for (let i = 0; i < floats; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
          expect(maxDiff).toBeLessThanOrEqual(4e-7 * maxRef);
        } else {
          const [kh, kw] = c.kernel;
          const want = method === 'stem'
            ? packConvWeights(swapKernelAxes(w, c.outChannels * cinG, kh, kw), bias, c.outChannels, cinG, kw, kh, 1)
            : packConvWeights(w, bias, c.outChannels, cinG, kh, kw, c.groups);
          expect(got).toEqual(want);
        }
      });
    }
  }
});

describe('memory plan', () => {
  it('never overlaps values that are live at the same time, and reuses the others', () => {
    const values = [
      { name: 'a', bytes: 100, first: -1, last: 1 },
      { name: 'b', bytes: 300, first: 0, last: 2 },
      { name: 'c', bytes: 100, first: 1, last: 3 },
      { name: 'd', bytes: 200, first: 2, last: 4 },
      { name: 'e', bytes: 100, first: 3, last: 5 },
    ];
    const { offsets, bytes } = placeBuffers(values);
    for (const x of values) {
      for (const y of values) {
        if (x === y || x.last < y.first || y.last < x.first) continue;
        const [ox, oy] = [offsets.get(x.name)!, offsets.get(y.name)!];
        expect(ox + x.bytes <= oy || oy + y.bytes <= ox, `${x.name} and ${y.name} overlap`).toBe(true);
      }
    }
    const sum = values.reduce((s, v) => s + Math.ceil(v.bytes / 64) * 64, 0);
    expect(bytes).toBeLessThan(sum);
  });
});

/** conv -> bn -> relu -> maxpool -> globalavgpool -> linear, built by hand. */
function smallNet(): { graph: Graph; weights: Map<string, Tensor> } {
  const graph: Graph = {
    name: 'small',
    input: 'x',
    inChannels: 3,
    nodes: [
      { op: 'conv', name: 'conv1', input: 'x', output: 'c1', inChannels: 3, outChannels: 8, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1, params: { weight: 'conv1.weight' } },
      { op: 'batchnorm', name: 'bn1', input: 'c1', output: 'b1', channels: 8, eps: 1e-5, params: { weight: 'bn1.weight', bias: 'bn1.bias', mean: 'bn1.running_mean', var: 'bn1.running_var' } },
      { op: 'relu', name: 'relu', input: 'b1', output: 'r1' },
      { op: 'maxpool', name: 'maxpool', input: 'r1', output: 'p1', kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], ceilMode: false },
      { op: 'globalavgpool', name: 'pool', input: 'p1', output: 'f' },
      { op: 'linear', name: 'fc', input: 'f', output: 'logits', inFeatures: 8, outFeatures: 5, weightLayout: 'oi', params: { weight: 'fc.weight', bias: 'fc.bias' } },
    ],
    outputs: { logits: 'logits', stem: 'r1' },
    primaryOutput: 'logits',
  };
  const weights = new Map<string, Tensor>([
    ['conv1.weight', seeded([8, 3, 3, 3], 1)],
    ['bn1.weight', seeded([8], 2, 0.5, 1)],
    ['bn1.bias', seeded([8], 3)],
    ['bn1.running_mean', seeded([8], 4)],
    ['bn1.running_var', seeded([8], 5, 0.5, 1.5)],
    ['fc.weight', seeded([5, 8], 6)],
    ['fc.bias', seeded([5], 7)],
  ]);
  return { graph, weights };
}

describe('executable', () => {
  it('plans memory once per input shape and does not grow it from one run to the next', async () => {
    const { graph, weights } = smallNet();
    const exe = await wasmBackend.compile(graph, weights);
    const x = seeded([2, 3, 9, 7], 9);
    const first = await exe.run(x);
    const bytes = exe.memoryBytes!(x.shape);
    expect(bytes.weights).toBeGreaterThan(0);
    expect(bytes.activations).toBeGreaterThan(0);
    expect(bytes.peak).toBeGreaterThanOrEqual(bytes.weights + bytes.activations);
    for (let i = 0; i < 3; i++) {
      const again = await exe.run(x);
      expect(again.logits.data).toEqual(first.logits.data);
      expect(again.stem.shape).toEqual([2, 8, 9, 7]);
    }
    expect(exe.memoryBytes!(x.shape)).toEqual(bytes);
    // A different batch gets its own plan and the same per-image answer.
    const one = await exe.run(new Tensor(x.data.slice(0, 3 * 9 * 7), [1, 3, 9, 7]));
    expect(Array.from(one.logits.data)).toEqual(Array.from(first.logits.data.slice(0, 5)));
    exe.dispose();
    await expect(exe.run(x)).rejects.toThrow(/disposed/);
  });

  it('rejects an input that does not fit the graph, naming expected and found', async () => {
    const { graph, weights } = smallNet();
    const exe = await wasmBackend.compile(graph, weights);
    await expect(exe.run(seeded([1, 4, 8, 8], 1))).rejects.toThrow(/3 input channels.*got 4/);
    exe.dispose();
  });

  it('says how much memory an input would need when wasm memory cannot hold it', async () => {
    const { graph, weights } = smallNet();
    const exe = await wasmBackend.compile(graph, weights);
    expect(() => exe.memoryBytes!([1, 3, 30000, 30000])).toThrow(/needs \d+ MiB of wasm memory \(at most 4096 MiB/);
    exe.dispose();
  });

  it('fuses BN into the conv before packing (no affine node left for this net)', () => {
    const { graph, weights } = smallNet();
    expect(fuseGraph(graph, weights).nodes.map((n) => n.op)).toEqual(['conv', 'maxpool', 'globalavgpool', 'linear']);
  });
});

describe.each(variants)('BatchNorm fold in the kernels (bn_fold_f32), relaxed=%s', (relaxed) => {
  it('equals fuse.ts\'s float64 fold bit for bit, with and without a conv bias, at edge values too', async () => {
    const { k } = await kernelArena(relaxed);
    const fold = wasmBnFold(k);
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    let checked = 0;
    for (const c of [1, 3, 4, 64, 2048]) {
      for (const eps of [1e-5, 1e-3, 0.1]) {
        const data = (seed: number, lo: number, hi: number) => seeded([c], seed, lo, hi).data;
        const variance = data(c + 4, 0, 3);
        variance[0] = 0; // var 0: the scale is gamma / sqrt(eps)
        const gamma = data(c + 1, -2, 2);
        if (c > 2) gamma[2] = 0;
        const mean = data(c + 3, -50, 50);
        if (c > 1) mean[1] = 1e30; // a huge mean: the shift leaves float32's range
        const bn: BnParams = { gamma, beta: data(c + 2, -1, 1), mean, variance, eps };
        for (const bias of [undefined, new Float32Array(c), data(c + 5, -0.5, 0.5)]) {
          const want = foldBatchNorm(bn, bias);
          const got = fold(bn, bias);
          expect(bits(got.scale)).toEqual(bits(want.scale));
          expect(bits(got.shift)).toEqual(bits(want.shift));
          checked += c;
        }
      }
    }
    expect(checked).toBe(3 * 3 * (1 + 3 + 4 + 64 + 2048));
  });
});

describe('loading', () => {
  it('picks the relaxed build when the engine validates it (before any module is registered)', async () => {
    expect(wasmFeatures().relaxedSimd).toBe(true); // this file enabled V8's flag
    expect(await initWasm()).toBe('relaxed-simd');
    expect(await initWasm({ relaxed: false })).toBe('simd');
    const { graph, weights } = smallNet();
    const exe = await wasmBackend.compile(graph, weights);
    expect((exe as WasmExecutable).variant).toBe('relaxed-simd');
  });

  it('detects SIMD and runs from a precompiled WebAssembly.Module', async () => {
    expect(wasmFeatures().simd).toBe(true);
    const bytes = Uint8Array.from(atob(KERNELS_SIMD_BASE64), (ch) => ch.charCodeAt(0));
    const module = new WebAssembly.Module(bytes);
    expect(await initWasm({ module })).toBe('simd');
    const { graph, weights } = smallNet();
    const x = seeded([1, 3, 6, 6], 3);
    const viaModule = await (await createWasmBackend({ module }).compile(graph, weights)).run(x);
    const plain = await (await createWasmBackend({ relaxed: false }).compile(graph, weights)).run(x);
    expect(Array.from(viaModule.logits.data)).toEqual(Array.from(plain.logits.data));
    // initWasm({ module }) registered it: backends made without a module now run it, relaxed engine or not.
    expect(await initWasm()).toBe('simd');
    expect(((await wasmBackend.compile(graph, weights)) as WasmExecutable).variant).toBe('simd');
  });

  it('the first executable of a module takes the instance it was warmed in; the next ones get instances of their own', async () => {
    const bytes = Uint8Array.from(atob(KERNELS_SIMD_BASE64), (ch) => ch.charCodeAt(0));
    const module = new WebAssembly.Module(bytes);
    const backend = createWasmBackend({ module });
    const { graph, weights } = smallNet();
    const [a, b] = [await backend.compile(graph, weights), await backend.compile(graph, weights)];
    const [x, y] = [seeded([1, 3, 6, 6], 4), seeded([2, 3, 9, 7], 5)];
    const want = async (input: Tensor) => Array.from((await (await createWasmBackend({ relaxed: false }).compile(graph, weights)).run(input)).logits.data);
    // Interleaved, on different shapes (so different plans): neither writes into the other's memory.
    const got = [await a.run(x), await b.run(y), await a.run(x), await b.run(y)].map((r) => Array.from(r.logits.data));
    expect(got).toEqual([await want(x), await want(y), await want(x), await want(y)]);
    a.dispose();
    expect(Array.from((await b.run(x)).logits.data)).toEqual(await want(x));
  });

  it('refuses a module that is not the kernels', async () => {
    const empty = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    await expect(initWasm({ module: empty })).rejects.toThrow(/not resnet-ts kernels.wasm/);
  });
});
