// The benches' fixed input, shared by every engine and by the cold-start children.

/** A fixed pseudo-random NCHW input in [-1, 1) (xorshift32), the same for every engine. */
export function benchInput(shape, seed = 1) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return { data, shape: [...shape] };
}
