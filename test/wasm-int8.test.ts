/**
 * The wasm backend's int8 and fp16 GEMM panels (issue 19): pack_gemm_weights_q8 quantizes symmetric per
 * output channel, pack_gemm_weights_f16 rounds to binary16, and f32_gemm widens the panels a chunk at a time (`wide` scratch) into the f32
 * microkernels. Swept through m, n, k hitting row and column tails, a depth so large that each
 * chunk is one panel (n spans several chunks), residual and ReLU; checked against float64 sums of
 * the dequantized weights (q * scale, scale = max |w| / 127 per output channel). Both builds.
 */
import v8 from 'node:v8';
import { wasmArena } from './helpers/wasm-pack-oracle.js';
import { describe, expect, it } from 'vitest';
import { instantiateKernels, loadKernelModule } from '../src/backends/wasm/kernels.js';
import { packedConvBytesF16, packedConvBytesQ8 } from '../src/backends/wasm/pack.js';
import { floatToHalfBits, halfBitsToFloat } from '../src/weights/dtype.js';
import { quantizeInt8 } from '../src/weights/quantize.js';
import { seeded } from './helpers/hand-cases.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

describe.each([
  [false, 'int8'],
  [true, 'int8'],
  [false, 'fp16'],
  [true, 'fp16'],
] as const)('f32_gemm on narrow panels, relaxed=%s, %s', (relaxed, narrow) => {
  it('sweeps m, n, k through every tail and several widening chunks', async () => {
    const { module } = await loadKernelModule({ relaxed });
    const k = await instantiateKernels(module);
    const alloc = wasmArena(k);
    const cases: [number, number, number][] = [[7, 37, 4099], [13, 9, 2053]];
    for (const m of [1, 3, 4, 5, 6, 7, 13]) for (const n of [1, 3, 4, 5, 8, 9, 17]) for (const kc of [1, 2, 5, 17, 31]) cases.push([m, n, kc]);
    for (const [m, n, kc] of cases) {
      const variant = (m + n + kc) % 4;
      const withRes = variant & 1;
      const relu = variant & 2 ? 1 : 0;
      const a = seeded([m * kc], m * 31 + kc);
      const w = seeded([n, kc], n * 17 + kc);
      const bias = seeded([n], n);
      const res = seeded([m * n], m * n);
      const aP = alloc(m * kc * 4);
      const wRaw = alloc(n * kc * 4);
      const bP = alloc(n * 4);
      const wP = alloc(narrow === 'int8' ? packedConvBytesQ8(n, kc, 1, 1, 1) : packedConvBytesF16(n, kc, 1, 1, 1));
      const cP = alloc(m * n * 4);
      const rP = alloc(m * n * 4);
      const sP = alloc(k.gemm_scratch_bytes(m, kc));
      const wide = alloc(k.gemm_q8_scratch_bytes(kc));
      const mem = new Float32Array(k.memory.buffer);
      mem.set(a.data, aP / 4);
      mem.set(w.data, wRaw / 4);
      mem.set(bias.data, bP / 4);
      mem.set(res.data, rP / 4);
      if (narrow === 'int8') k.pack_gemm_weights_q8(n, kc, 1, 1, 1, wRaw, 0, bP, wP);
      else k.pack_gemm_weights_f16(n, kc, 1, 1, 1, wRaw, 0, bP, wP);
      k.f32_gemm(m, n, kc, aP, kc, wP, cP, n, withRes ? rP : 0, n, relu, sP, wide, narrow === 'fp16' ? 1 : 0);
      const c = new Float32Array(k.memory.buffer, cP, m * n);
      // What the panels hold: q * scale (int8), or the weights rounded to binary16 (fp16, widened exactly).
      const { q, scale } = narrow === 'int8' ? quantizeInt8(w) : { q: w.data.map((v) => halfBitsToFloat(floatToHalfBits(v))), scale: new Float32Array(n).fill(1) };
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let want = bias.data[j];
          let absSum = Math.abs(want);
          for (let p = 0; p < kc; p++) {
            const t = a.data[i * kc + p] * q[j * kc + p] * scale[j];
            want += t;
            absSum += Math.abs(t);
          }
          if (withRes) want += res.data[i * n + j];
          if (relu) want = Math.max(want, 0);
          const got = c[i * n + j];
          if (!(Math.abs(got - want) <= 1e-5 * (1 + absSum))) {
            expect.fail(`relaxed=${relaxed} m=${m} n=${n} k=${kc} C[${i}][${j}] = ${got}, expected ${want} (float64 sum of dequantized weights)`);
          }
        }
      }
    }
  });
});
