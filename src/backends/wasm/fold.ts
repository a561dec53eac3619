/**
 * fuse.ts's BatchNorm fold run by the kernels (bn_fold_f32, equal bit for bit) for the wasm
 * backend's compile: in JS its loops run before V8 optimizes them (see bn_fold_f32). A module of
 * its own so that KernelExports, hence WebAssembly's types, stay out of the published declarations.
 */
import type { BnFold } from '../fuse.js';
import type { KernelExports } from './kernels.js';
import { alignUp, growTo } from './plan.js';

/** The fold on `k`'s heap, which the executable's memory plan overwrites later. */
export function wasmBnFold(k: KernelExports): BnFold {
  return ({ gamma, beta, mean, variance, eps }, bias) => {
    const c = gamma.length;
    const stride = alignUp(c * 4);
    const g = alignUp(k.heap_base());
    const b = g + stride;
    const m = b + stride;
    const v = m + stride;
    const bi = v + stride;
    const scale = bi + stride;
    const shift = scale + stride;
    const end = shift + stride;
    growTo(k.memory, end);
    const f32 = new Float32Array(k.memory.buffer);
    f32.set(gamma, g >> 2);
    f32.set(beta, b >> 2);
    f32.set(mean, m >> 2);
    f32.set(variance, v >> 2);
    if (bias) f32.set(bias, bi >> 2);
    k.bn_fold_f32(c, eps, g, b, m, v, bias ? bi : 0, scale, shift);
    return { scale: f32.slice(scale >> 2, (scale >> 2) + c), shift: f32.slice(shift >> 2, (shift >> 2) + c) };
  };
}
