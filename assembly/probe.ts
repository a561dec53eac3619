// The machine's f32x4 peak as this engine runs it: 12 independent accumulator chains of
// acc = acc * m + a (fused in the relaxed build), no memory traffic. 8 flops per lane-op pair.

/** Runs `iters` steps over 12 f32x4 accumulators; returns a value that depends on all of them. */
export function peak_probe(iters: i32, seed: f32): f32 {
  const m = f32x4.splat(0.999);
  const a = f32x4.splat(seed);
  let v0 = f32x4.splat(seed), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0;
  let v6 = v0, v7 = v0, v8 = v0, v9 = v0, v10 = v0, v11 = v0;
  for (let i = 0; i < iters; i++) {
    v0 = step(v0, m, a); v1 = step(v1, m, a); v2 = step(v2, m, a); v3 = step(v3, m, a);
    v4 = step(v4, m, a); v5 = step(v5, m, a); v6 = step(v6, m, a); v7 = step(v7, m, a);
    v8 = step(v8, m, a); v9 = step(v9, m, a); v10 = step(v10, m, a); v11 = step(v11, m, a);
  }
  const s = f32x4.add(
    f32x4.add(f32x4.add(v0, v1), f32x4.add(v2, v3)),
    f32x4.add(f32x4.add(f32x4.add(v4, v5), f32x4.add(v6, v7)), f32x4.add(f32x4.add(v8, v9), f32x4.add(v10, v11))),
  );
  return f32x4.extract_lane(s, 0);
}

/** Flops of peak_probe(iters): 12 accumulators x 4 lanes x (mul + add). */
export function peak_probe_flops(iters: i32): f64 {
  return <f64>iters * 12 * 4 * 2;
}

// @ts-ignore: decorator
@inline function step(v: v128, m: v128, a: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(v, m, a);
  } else {
    return f32x4.add(f32x4.mul(v, m), a);
  }
}
