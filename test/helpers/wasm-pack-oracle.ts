/**
 * The naive oracle of the wasm backend's load-time packing (assembly/pack.ts): the same layouts
 * written out in plain TypeScript, the Winograd transforms in float64. Tests compare the packing
 * kernels against these.
 */
import { PANEL, packedConvFloats } from '../../src/backends/wasm/pack.js';

/**
 * GEMM panels (src/backends/wasm/pack.ts) of an OIHW weight [outChannels, inPerGroup, kh, kw] and
 * its bias: per group, panels of PANEL columns, PANEL bias floats first, then one row per depth
 * step in patch order (ky, kx, ci); missing columns zero.
 */
export function packConvWeights(
  weight: Float32Array, bias: Float32Array, outChannels: number, inPerGroup: number, kh: number, kw: number, groups: number,
): Float32Array {
  const dst = new Float32Array(packedConvFloats(outChannels, inPerGroup, kh, kw, groups));
  const coutG = outChannels / groups;
  const k = kh * kw * inPerGroup;
  const panelFloats = PANEL + PANEL * k;
  const panels = Math.ceil(coutG / PANEL);
  let p = 0;
  for (let g = 0; g < groups; g++) {
    for (let panel = 0; panel < panels; panel++, p += panelFloats) {
      const cols = Math.min(PANEL, coutG - panel * PANEL);
      for (let j = 0; j < cols; j++) {
        const oc = g * coutG + panel * PANEL + j;
        dst[p + j] = bias[oc];
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            for (let ci = 0; ci < inPerGroup; ci++) {
              const kk = (ky * kw + kx) * inPerGroup + ci; // the im2col column (patch order ky, kx, ci)
              dst[p + PANEL + kk * PANEL + j] = weight[((oc * inPerGroup + ci) * kh + ky) * kw + kx];
            }
          }
        }
      }
    }
  }
  return dst;
}

/** OIHW weights times scale[o] per output channel, rounded to float32 once (as the kernels do). */
export function scaleWeights(weight: Float32Array, scale: Float32Array | undefined, outChannels: number): Float32Array {
  if (!scale) return weight;
  const per = weight.length / outChannels;
  return weight.map((w, i) => w * scale[Math.floor(i / per)]);
}

/** The kernels of [planes, kh, kw] weights with their two axes swapped: [planes, kw, kh] (the stem's packing). */
export function swapKernelAxes(weight: Float32Array, planes: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(weight.length);
  for (let p = 0; p < planes; p++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) out[(p * kw + kx) * kh + ky] = weight[(p * kh + ky) * kw + kx];
    }
  }
  return out;
}

/** G of F(4x4, 3x3) (points 0, ±1, ±2, ∞): U = G g G^T. see: Lavin & Gray 2015. */
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];

/** The 36 transformed weight matrices U[xi] as [cout, cin] (xi = 6 * row + col), in float64. */
export function winogradWeights(weight: Float32Array, cout: number, cin: number): Float64Array[] {
  const u = Array.from({ length: 36 }, () => new Float64Array(cout * cin));
  for (let at = 0; at < cout * cin; at++) {
    const g = (r: number, c: number) => weight[at * 9 + r * 3 + c];
    for (let r = 0; r < 6; r++) {
      for (let s = 0; s < 6; s++) {
        let sum = 0;
        for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) sum += G[r][a] * g(a, b) * G[s][b];
        u[r * 6 + s][at] = sum;
      }
    }
  }
  return u;
}

/** G of F(4, 2) (points 0, 1, -1, 2, ∞), for the even taps of a stride-2 3x3 conv. */
const G2 = [
  [1 / 2, 0],
  [-1 / 2, -1 / 2],
  [-1 / 6, 1 / 6],
  [1 / 6, 1 / 3],
  [0, 1],
];

/**
 * The 36 weight matrices [cout, cin] of the stride-2 kernel in its slice order, in float64: 25 EE
 * sets G (g[0|2][0|2]) G^T (5 * row + column), 5 EO sets G (g[0][1], g[2][1]) by row, 5 OE sets
 * G (g[1][0], g[1][2]) by column, and g[1][1].
 */
export function winogradS2Weights(weight: Float32Array, cout: number, cin: number): Float64Array[] {
  const u = Array.from({ length: 36 }, () => new Float64Array(cout * cin));
  for (let at = 0; at < cout * cin; at++) {
    const g = (r: number, c: number) => weight[at * 9 + r * 3 + c];
    for (let r = 0; r < 5; r++) {
      for (let s = 0; s < 5; s++) {
        let sum = 0;
        for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) sum += G2[r][a] * g(2 * a, 2 * b) * G2[s][b];
        u[r * 5 + s][at] = sum;
      }
      u[25 + r][at] = G2[r][0] * g(0, 1) + G2[r][1] * g(2, 1);
      u[30 + r][at] = G2[r][0] * g(1, 0) + G2[r][1] * g(1, 2);
    }
    u[35][at] = g(1, 1);
  }
  return u;
}

/** The 36 sets of U ([cout, cin] each) packed as winograd_nhwc reads them: GEMM panels of depth cin with zero bias. */
export function packWinogradSets(u: readonly Float64Array[], cout: number, cin: number): Float32Array {
  const per = packedConvFloats(cout, cin, 1, 1, 1);
  const out = new Float32Array(36 * per);
  const zeros = new Float32Array(cout);
  u.forEach((set, xi) => out.set(packConvWeights(Float32Array.from(set), zeros, cout, cin, 1, 1, 1), xi * per));
  return out;
}

/**
 * A bump allocator over a kernels instance's memory, from its heap base: each call returns the
 * next 64-byte-aligned address with `bytes` (and 64 bytes of slack) free, growing the memory.
 */
export function wasmArena(k: { heap_base(): number; readonly memory: WebAssembly.Memory }): (bytes: number) => number {
  let top = Math.ceil(k.heap_base() / 64) * 64;
  return (bytes: number) => {
    const p = top;
    top = Math.ceil((top + bytes + 64) / 64) * 64;
    const need = top + 64 - k.memory.buffer.byteLength;
    if (need > 0) k.memory.grow(Math.ceil(need / 65536));
    return p;
  };
}
