// Shared helpers of the bench suites. Timing (tinybench on wall and CPU clocks, percentiles), the
// wasm SIMD peak probe and the machine description are the package's own (src/bench/, what
// `resnet bench` ships), imported from the TypeScript sources through ts-loader.mjs's hooks.
import { mulberry32 } from '../src/models/init.ts';

export { machine, measure, measureInterleaved, summarize } from '../src/bench/timing.ts';
export { peakProbe, probeGflops } from '../src/bench/peak.ts';

/** Uniform [-1, 1) floats from a seed. */
export function randomFloats(count, seed) {
  const r = mulberry32(seed);
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = r() * 2 - 1;
  return a;
}
