// Pooling over NHWC activations. Every output pixel walks its window taps and, per tap, the
// channels in f32x4 steps with a scalar tail; taps outside the input are skipped (max pool pads
// with -inf, average pool divides by the divisor the caller gives; see src/shape.ts poolTapCounts).
import { partStart } from './gemm';

/**
 * Output pixel (b, y, x) of a max pool (isMax) or a sum over the window into `out`: the taps inside
 * the input, f32x4 steps over the channels then a scalar tail (a constant isMax inlines one of them).
 */
// @ts-ignore: decorator
@inline function poolWindow(
  isMax: bool, b: i32, y: i32, x: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, input: usize, out: usize,
): void {
  const c4 = c & ~3;
  const rowB = <usize>c << 2;
  if (isMax) {
    const ninf = f32x4.splat(-Infinity);
    for (let i = 0; i < c4; i += 4) v128.store(out + (<usize>i << 2), ninf);
    for (let i = c4; i < c; i++) store<f32>(out + (<usize>i << 2), -Infinity);
  } else {
    memory.fill(out, 0, rowB);
  }
  for (let ky = 0; ky < kh; ky++) {
    const iy = y * sh - pt + ky * dh;
    if (iy < 0 || iy >= h) continue;
    for (let kx = 0; kx < kw; kx++) {
      const ix = x * sw - pl + kx * dw;
      if (ix < 0 || ix >= w) continue;
      const src = input + <usize>((b * h + iy) * w + ix) * rowB;
      for (let i = 0; i < c4; i += 4) {
        const o = out + (<usize>i << 2);
        const v = v128.load(src + (<usize>i << 2));
        v128.store(o, isMax ? f32x4.max(v128.load(o), v) : f32x4.add(v128.load(o), v));
      }
      for (let i = c4; i < c; i++) {
        const o = out + (<usize>i << 2);
        const v = load<f32>(src + (<usize>i << 2));
        store<f32>(o, isMax ? max(load<f32>(o), v) : load<f32>(o) + v);
      }
    }
  }
}

/**
 * Max pool; windows are given by stride, padding (top, left) and dilation. Threads: each part takes
 * a range of output rows over all images (see partStart in gemm.ts; partBytes unused, no scratch).
 */
export function maxpool_nhwc(
  n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
  input: usize, output: usize, part: i32, parts: i32, partBytes: i32,
): void {
  const rowB = <usize>c << 2;
  const r0 = parts > 1 ? partStart(n * oh, part, parts) : 0;
  const r1 = parts > 1 ? partStart(n * oh, part + 1, parts) : n * oh;
  let out = output + <usize>r0 * ow * rowB;
  for (let r = r0; r < r1; r++) {
    const b = r / oh;
    const y = r - b * oh;
    for (let x = 0; x < ow; x++, out += rowB) poolWindow(true, b, y, x, h, w, c, kh, kw, sh, sw, pt, pl, dh, dw, input, out);
  }
}

/** Average pool; the divisor of output (y, x) is divH[y] * divW[x] (f32 arrays). */
export function avgpool_nhwc(
  n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
  divH: usize, divW: usize, input: usize, output: usize,
): void {
  const c4 = c & ~3;
  const rowB = <usize>c << 2;
  let out = output;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++, out += rowB) {
        poolWindow(false, b, y, x, h, w, c, kh, kw, sh, sw, pt, pl, dh, dw, input, out);
        const inv: f32 = 1 / (load<f32>(divH + (<usize>y << 2)) * load<f32>(divW + (<usize>x << 2)));
        const vinv = f32x4.splat(inv);
        for (let i = 0; i < c4; i += 4) {
          const o = out + (<usize>i << 2);
          v128.store(o, f32x4.mul(v128.load(o), vinv));
        }
        for (let i = c4; i < c; i++) {
          const o = out + (<usize>i << 2);
          store<f32>(o, load<f32>(o) * inv);
        }
      }
    }
  }
}

/** Mean over H*W: [n, hw, c] -> [n, c]. */
export function global_avgpool_nhwc(n: i32, hw: i32, c: i32, input: usize, output: usize): void {
  const c4 = c & ~3;
  const rowB = <usize>c << 2;
  const inv: f32 = 1 / <f32>hw;
  const vinv = f32x4.splat(inv);
  for (let b = 0; b < n; b++) {
    const out = output + <usize>b * rowB;
    const src = input + <usize>b * <usize>hw * rowB;
    for (let i = 0; i < c4; i += 4) {
      let acc = f32x4.splat(0);
      let p = src + (<usize>i << 2);
      for (let j = 0; j < hw; j++) {
        acc = f32x4.add(acc, v128.load(p));
        p += rowB;
      }
      v128.store(out + (<usize>i << 2), f32x4.mul(acc, vinv));
    }
    for (let i = c4; i < c; i++) {
      let acc: f32 = 0;
      let p = src + (<usize>i << 2);
      for (let j = 0; j < hw; j++) {
        acc += load<f32>(p);
        p += rowB;
      }
      store<f32>(out + (<usize>i << 2), acc * inv);
    }
  }
}
