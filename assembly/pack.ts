// Load-time weight packing: OIHW weights, a BatchNorm's per-channel scale folded in on the way,
// into the GEMM's panels (gemm.ts) and the Winograd kernels' 36 weight sets (winograd.ts).
// Every packer reads the raw weights once and writes the packed layout directly.
import { NR, panelBytesF16, panelBytesQ8, panelFloats, partFrom } from './gemm';

/** Bytes of the Winograd weight transform's scratch (see TMP). */
export const PACK_TMP_BYTES: usize = 18 * 16;

/**
 * The 6x3 (stride 1) or 5x2 (stride 2) intermediate G g of one Winograd filter, f32x4 by output
 * channel: the PACK_TMP_BYTES at the heap base, which heap_base() (index.ts) keeps out of the
 * caller's allocations. Not static data (memory.data): every thread that instantiates the kernels
 * on a shared memory rewrites the data segments, which clobbered a transform in progress.
 */
const TMP: usize = (__heap_base + 15) & ~15;

/** The weight scale of output channel oc: scale[oc], or 1 without a scale (scale == 0). */
// @ts-ignore: decorator
@inline function scaleAt(scale: usize, oc: i32): f32 {
  return scale != 0 ? load<f32>(scale + (<usize>oc << 2)) : 1;
}

/** Source dtypes of pack_gemm_panels' weights and destination dtypes of its panels (the same codes). */
const F32: i32 = 0;
const I8: i32 = 1;
const F16: i32 = 2;

/**
 * binary16 bits -> f32, exactly: the magnitude bits shifted into float32's place are the value times
 * 2^-112 (normals and subnormals alike), the multiply by 2^112 restores it; infinities and NaNs
 * are built directly (as gemm.ts widen_f16_panels, one element at a time).
 */
// @ts-ignore: decorator
@inline function halfToFloat(h: u32): f32 {
  const mag = h & 0x7fff;
  const f = mag >= 0x7c00 ? reinterpret<f32>(0x7f800000 | ((mag & 0x3ff) << 13)) : reinterpret<f32>(mag << 13) * reinterpret<f32>(<u32>(127 + 112) << 23);
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

/**
 * Element i of the OIHW source as f32: f32; int8 times its channel's scale ws (the f32 product:
 * what reading an int8 checkpoint into float32 gives); binary16, exactly.
 */
// @ts-ignore: decorator
@inline function sourceAt(src: i32, weight: usize, i: usize, ws: f32): f32 {
  if (src == I8) return <f32>load<i8>(weight + i) * ws;
  if (src == F16) return halfToFloat(load<u16>(weight + (i << 1)));
  return load<f32>(weight + (i << 2));
}

/** float32 -> binary16 bits, rounded to nearest, ties to even (overflow: infinity; src/weights/dtype.ts floatToHalfBits). */
function halfBits(x: f32): u16 {
  const b = reinterpret<u32>(x);
  const sign = (b >>> 16) & 0x8000;
  const e = <i32>((b >>> 23) & 0xff) - 112;
  let mant = b & 0x7fffff;
  if (e >= 31) return <u16>(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return <u16>sign;
    mant |= 0x800000;
    const shift = <u32>(14 - e);
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway: u32 = 1 << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1) != 0)) half++;
    return <u16>(sign | half);
  }
  let half = (<u32>e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) half++;
  return <u16>(sign | half);
}

/**
 * Packs OIHW weights [cout, cinG, kh, kw] (groups of cout / groups channels) times scale[oc], and
 * the bias, into GEMM panels at dst (see gemm.ts: per group, panels of NR columns, NR bias floats
 * first, then one row of NR weights per depth step; missing columns zero). The depth order is the
 * im2col patch order (ky, kx, ci); with swap, (kx, ky, ci): the stem kernel's column buffer order
 * (f32 panels only). scale == 0: no scale; bias == 0: zero bias.
 *
 * The source (`src`): F32; I8, int8 values with a scale per output channel at wscale (a lean
 * checkpoint's weights, copied as they are stored); F16, binary16 bits. Each element is read as
 * f32 (sourceAt) and multiplied by scale[oc]; the panels (`dst_type`) are then:
 * - F32 (panelFloats): that product.
 * - I8 (gemm.ts panelBytesQ8): after the NR bias floats, NR scales qs = max |w * s| / 127 of each
 *   column (symmetric per output channel), then int8 q = nearest(w * s / qs), ties to even. An
 *   int8 source whose channel reaches ±127 (every channel convert writes) gives back its own
 *   integers with qs its scale times s, so its panels equal those of its float32 widening.
 * - F16 (panelBytesF16): w * s rounded to binary16, nearest even.
 */
export function pack_gemm_panels(
  cout: i32, cinG: i32, kh: i32, kw: i32, groups: i32, swap: bool,
  src: i32, weight: usize, wscale: usize, scale: usize, bias: usize, dst: usize, dst_type: i32,
): void {
  const coutG = cout / groups;
  const taps = kh * kw;
  const depth = taps * cinG;
  const panelB = <usize>(dst_type == I8 ? panelBytesQ8(depth) : dst_type == F16 ? panelBytesF16(depth) : panelFloats(depth) << 2);
  const head: usize = dst_type == I8 ? NR * 8 : NR * 4; // bytes before the first row of weights
  const size: usize = dst_type == I8 ? 1 : dst_type == F16 ? 2 : 4; // bytes per packed weight
  const panels = (coutG + NR - 1) / NR;
  // Taps of the two kernel axes in depth order: outer (ky, or kx swapped), then inner.
  const outer = swap ? kw : kh;
  const inner = swap ? kh : kw;
  const outerTaps = swap ? 1 : kw;
  const innerTaps = swap ? kw : 1;
  let p = dst;
  for (let g = 0; g < groups; g++) {
    for (let panel = 0; panel < panels; panel++, p += panelB) {
      const cols = min(NR, coutG - panel * NR);
      if (cols < NR) memory.fill(p, 0, panelB);
      for (let j = 0; j < cols; j++) {
        const oc = g * coutG + panel * NR + j;
        const s = scaleAt(scale, oc);
        const ws = scaleAt(wscale, oc);
        const first = <usize>oc * depth; // this channel's [cinG, kh, kw]
        store<f32>(p + (<usize>j << 2), bias != 0 ? load<f32>(bias + (<usize>oc << 2)) : 0);
        let qs: f32 = 0;
        if (dst_type == I8) {
          let max: f32 = 0;
          for (let i: usize = 0; i < <usize>depth; i++) max = Mathf.max(max, Mathf.abs(sourceAt(src, weight, first + i, ws) * s));
          qs = max / 127;
          store<f32>(p + (<usize>(NR + j) << 2), qs);
        }
        let d = p + head + <usize>j * size;
        for (let a = 0; a < outer; a++) {
          for (let b = 0; b < inner; b++) {
            let i = first + <usize>(a * outerTaps + b * innerTaps);
            for (let ci = 0; ci < cinG; ci++, i += taps, d += NR * size) {
              const w = sourceAt(src, weight, i, ws) * s;
              if (dst_type == I8) store<i8>(d, qs > 0 ? <i8><i32>nearest<f32>(w / qs) : 0);
              else if (dst_type == F16) store<u16>(d, halfBits(w));
              else store<f32>(d, w);
            }
          }
        }
      }
    }
  }
}

/** pack_gemm_panels of f32 weights into f32 panels. */
export function pack_gemm_weights(
  cout: i32, cinG: i32, kh: i32, kw: i32, groups: i32, swap: bool,
  weight: usize, scale: usize, bias: usize, dst: usize,
): void {
  pack_gemm_panels(cout, cinG, kh, kw, groups, swap, F32, weight, 0, scale, bias, dst, F32);
}

/** pack_gemm_panels of f32 weights into int8 panels. */
export function pack_gemm_weights_q8(
  cout: i32, cinG: i32, kh: i32, kw: i32, groups: i32,
  weight: usize, scale: usize, bias: usize, dst: usize,
): void {
  pack_gemm_panels(cout, cinG, kh, kw, groups, false, F32, weight, 0, scale, bias, dst, I8);
}

/** pack_gemm_panels of f32 weights into fp16 panels. */
export function pack_gemm_weights_f16(
  cout: i32, cinG: i32, kh: i32, kw: i32, groups: i32,
  weight: usize, scale: usize, bias: usize, dst: usize,
): void {
  pack_gemm_panels(cout, cinG, kh, kw, groups, false, F32, weight, 0, scale, bias, dst, F16);
}

/** Tap k of four filters rowB bytes apart (four output channels at one input channel), as one vector. */
// @ts-ignore: decorator
@inline function tap4(w: usize, rowB: usize): v128 {
  let v = f32x4.splat(load<f32>(w));
  v = f32x4.replace_lane(v, 1, load<f32>(w + rowB));
  v = f32x4.replace_lane(v, 2, load<f32>(w + 2 * rowB));
  return f32x4.replace_lane(v, 3, load<f32>(w + 3 * rowB));
}

/**
 * G of F(4x4, 3x3) (points 0, ±1, ±2, ∞) applied to one column (p0, p1, p2), stored at out + i * step:
 *   G = [ 1/4     0     0  ]
 *       [-1/6  -1/6  -1/6  ]
 *       [-1/6   1/6  -1/6  ]
 *       [1/24  1/12   1/6  ]
 *       [1/24 -1/12   1/6  ]
 *       [  0     0     1   ]
 */
// @ts-ignore: decorator
@inline function applyG6(p0: v128, p1: v128, p2: v128, out: usize, step: usize): void {
  const even = f32x4.add(p0, p2);
  const outer = f32x4.add(f32x4.mul(p0, f32x4.splat(1.0 / 24)), f32x4.mul(p2, f32x4.splat(1.0 / 6)));
  const mid = f32x4.mul(p1, f32x4.splat(1.0 / 12));
  v128.store(out, f32x4.mul(p0, f32x4.splat(0.25)));
  v128.store(out + step, f32x4.mul(f32x4.add(even, p1), f32x4.splat(-1.0 / 6)));
  v128.store(out + 2 * step, f32x4.mul(f32x4.sub(even, p1), f32x4.splat(-1.0 / 6)));
  v128.store(out + 3 * step, f32x4.add(outer, mid));
  v128.store(out + 4 * step, f32x4.sub(outer, mid));
  v128.store(out + 5 * step, p2);
}

/**
 * G of F(4, 2) (points 0, 1, -1, 2, ∞) applied to one pair (p, q), stored at out + i * step:
 *   G = [ 1/2    0  ]
 *       [-1/2  -1/2 ]
 *       [-1/6   1/6 ]
 *       [ 1/6   1/3 ]
 *       [  0     1  ]
 */
// @ts-ignore: decorator
@inline function applyG5(p: v128, q: v128, out: usize, step: usize): void {
  v128.store(out, f32x4.mul(p, f32x4.splat(0.5)));
  v128.store(out + step, f32x4.mul(f32x4.add(p, q), f32x4.splat(-0.5)));
  v128.store(out + 2 * step, f32x4.mul(f32x4.sub(q, p), f32x4.splat(1.0 / 6)));
  v128.store(out + 3 * step, f32x4.add(f32x4.mul(p, f32x4.splat(1.0 / 6)), f32x4.mul(q, f32x4.splat(1.0 / 3))));
  v128.store(out + 4 * step, q);
}

/**
 * The 36 weight sets of winograd_nhwc (stride 1 or 2) from OIHW 3x3 weights [cout, cin, 3, 3]
 * times scale[oc] (scale == 0: none), in f32, written straight into the packed layout at dst: set
 * xi is ceil(cout / 8) GEMM panels of depth cin with zero bias (the output transform adds the bias).
 * Stride 1, set 6 * row + column: U = G g G^T. Stride 2 (the slice order of winograd.ts): 25 EE
 * sets G (g[0|2][0|2]) G^T (5 * row + column), 5 EO sets G (g[0][1], g[2][1]) by row, 5 OE sets
 * G (g[1][0], g[1][2]) by column, and g[1][1]. cout and cin are multiples of 4: four output
 * channels go through the transform as one vector.
 *
 * Only output channels [from, to) are packed (from a multiple of NR, to one of 4 or cout), their
 * filters read from `weight` on (channel `from` first), so that a caller can stage the weights a
 * piece at a time; scale and dst are the whole conv's. `sets`: bytes from one set to the next (0:
 * the whole conv's, ceil(cout / 8) panels; a piece of the channels can be packed with its sets
 * closer, dst then offset so that panel from / 8 of set 0 lands at the piece's start).
 */
export function pack_winograd_weights(stride: i32, cout: i32, cin: i32, from: i32, to: i32, weight: usize, scale: usize, dst: usize, sets: i32): void {
  packWinograd(stride, cout, cin, from, to, weight, scale, dst, sets, TMP);
}

/** pack_winograd_weights with its G g intermediate at `tmp` (PACK_TMP_BYTES, 16-byte aligned): one per thread. */
function packWinograd(stride: i32, cout: i32, cin: i32, from: i32, to: i32, weight: usize, scale: usize, dst: usize, sets: i32, tmp: usize): void {
  const panelB = <usize>panelFloats(cin) << 2;
  const panels = (cout + NR - 1) / NR;
  const setB = sets != 0 ? <usize>sets : <usize>panels * panelB;
  const zero = f32x4.splat(0);
  for (let xi = 0; xi < 36; xi++) {
    const set = dst + <usize>xi * setB;
    for (let panel = from / NR; panel < (to + NR - 1) / NR; panel++) {
      v128.store(set + <usize>panel * panelB, zero);
      v128.store(set + <usize>panel * panelB, zero, 16);
    }
    if (to == cout && cout % NR != 0) memory.fill(set + <usize>(panels - 1) * panelB, 0, panelB);
  }
  const rowB = <usize>cin * 36; // bytes from one output channel's filters to the next's
  for (let o = from; o < to; o += 4) {
    const s = scale != 0 ? v128.load(scale + (<usize>o << 2)) : f32x4.splat(1);
    // Row 0, column o % 8 of o's panel in set 0.
    let d = dst + <usize>(o / NR) * panelB + (<usize>(NR + o % NR) << 2);
    let w = weight + <usize>(o - from) * rowB;
    for (let i = 0; i < cin; i++, w += 36, d += NR << 2) {
      if (stride == 1) {
        // G g (6x3, kept in tmp by row), then G applied to each of its rows: U = G g G^T.
        for (let x: usize = 0; x < 3; x++) {
          const c0 = f32x4.mul(tap4(w + x * 4, rowB), s);
          const c1 = f32x4.mul(tap4(w + 12 + x * 4, rowB), s);
          const c2 = f32x4.mul(tap4(w + 24 + x * 4, rowB), s);
          applyG6(c0, c1, c2, tmp + x * 16, 48);
        }
        for (let r: usize = 0; r < 6; r++) {
          const t = tmp + r * 48;
          applyG6(v128.load(t), v128.load(t, 16), v128.load(t, 32), d + r * 6 * setB, setB);
        }
      } else {
        const g00 = f32x4.mul(tap4(w, rowB), s);
        const g01 = f32x4.mul(tap4(w + 4, rowB), s);
        const g02 = f32x4.mul(tap4(w + 8, rowB), s);
        const g10 = f32x4.mul(tap4(w + 12, rowB), s);
        const g11 = f32x4.mul(tap4(w + 16, rowB), s);
        const g12 = f32x4.mul(tap4(w + 20, rowB), s);
        const g20 = f32x4.mul(tap4(w + 24, rowB), s);
        const g21 = f32x4.mul(tap4(w + 28, rowB), s);
        const g22 = f32x4.mul(tap4(w + 32, rowB), s);
        // EE: G (g00 g02; g20 g22) by column into tmp (5x2 by row), then G along each row.
        applyG5(g00, g20, tmp, 32);
        applyG5(g02, g22, tmp + 16, 32);
        for (let r: usize = 0; r < 5; r++) {
          const t = tmp + r * 32;
          applyG5(v128.load(t), v128.load(t, 16), d + r * 5 * setB, setB);
        }
        applyG5(g01, g21, d + 25 * setB, setB); // EO
        applyG5(g10, g12, d + 30 * setB, setB); // OE
        v128.store(d + 35 * setB, g11); // OO
      }
    }
  }
}

/**
 * Part `part` of `parts` of pack_winograd_weights over output channels [from, to): whole panels
 * (partFrom in gemm.ts), their filters read from `weight` on as the whole range's are (channel
 * `from` first), the G g intermediate in the part's own scratch (PACK_TMP_BYTES at scratch +
 * part * partBytes: the conv's winograd_scratch_bytes, which a plan's parts hold, is far more).
 * The threads of a streamed conv pack its weights side by side; each packs exactly what
 * pack_winograd_weights would have for its channels.
 */
export function pack_winograd_part(
  stride: i32, cout: i32, cin: i32, from: i32, to: i32, weight: usize, scale: usize, dst: usize, sets: i32, scratch: usize,
  part: i32, parts: i32, partBytes: i32,
): void {
  const a = from + partFrom(to - from, NR, part, parts);
  const b = from + partFrom(to - from, NR, part + 1, parts);
  if (a >= b) return;
  const tmp = (scratch + <usize>part * partBytes + 15) & ~15;
  packWinograd(stride, cout, cin, a, b, weight + <usize>(a - from) * <usize>cin * 36, scale, dst, sets, tmp);
}

/**
 * Part `part` of `parts` of pack_gemm_panels into float32 panels, one group of `cout` channels
 * (as stored: src F32, I8 with its scales at wscale, or F16): whole panels (partFrom), each part
 * reading its own channels' weights, scales and bias and writing its own panels, exactly as the
 * whole call would. scale, bias, wscale: 0 for none.
 */
export function pack_gemm_part(
  cout: i32, cin: i32, kh: i32, kw: i32, swap: bool, src: i32, weight: usize, wscale: usize, scale: usize, bias: usize, dst: usize,
  part: i32, parts: i32, partBytes: i32,
): void {
  const a = partFrom(cout, NR, part, parts);
  const b = partFrom(cout, NR, part + 1, parts);
  if (a >= b) return;
  const depth = kh * kw * cin;
  const size: usize = src == I8 ? 1 : src == F16 ? 2 : 4;
  const off = <usize>a << 2; // bytes of the per-channel floats before channel a
  pack_gemm_panels(
    b - a, cin, kh, kw, 1, swap, src, weight + <usize>a * <usize>depth * size,
    wscale != 0 ? wscale + off : 0, scale != 0 ? scale + off : 0, bias != 0 ? bias + off : 0,
    dst + <usize>(a / NR) * (<usize>panelFloats(depth) << 2), F32,
  );
}
