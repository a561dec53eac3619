// Shared helpers of the bench suites: tinybench timing with median and p90, the wasm SIMD peak
// probe, seeded inputs. Imported with the TypeScript hooks of ts-loader.mjs (src/*.ts directly).
import os from 'node:os';
import { Bench } from 'tinybench';
import { instantiateKernels, loadKernelModule } from '../src/backends/wasm/kernels.ts';
import { mulberry32 } from '../src/models/init.ts';

/** Times fn with tinybench; returns milliseconds (median, p90, mean, min) and the sample count. */
export async function measure(name, fn, { time = 1000, iterations = 5, warmupIterations = 1 } = {}) {
  const bench = new Bench({ time, iterations, warmupIterations, warmupTime: 0, retainSamples: true });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`bench task ${name}: ${r.state} ${r.error ?? ''}`);
  const s = [...(r.latency.samples ?? [])].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { median: r.latency.p50, p90: s.length ? q(0.9) : r.latency.p99, mean: r.latency.mean, min: r.latency.min, samples: r.latency.samplesCount };
}

/**
 * The f32x4 peak of this engine on this machine: 12 independent multiply-add chains in registers
 * (assembly/probe.ts), best of a few runs. Returns GFLOP/s and the kernel variant measured.
 */
export async function peakProbe(opts = {}) {
  const { module, variant } = await loadKernelModule(opts);
  const k = await instantiateKernels(module);
  const iters = 5_000_000;
  k.peak_probe(iters, 1);
  let best = 0;
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    k.peak_probe(iters, 1 + r);
    const s = (performance.now() - t0) / 1e3;
    best = Math.max(best, k.peak_probe_flops(iters) / s / 1e9);
  }
  return { gflops: best, variant };
}

/** Uniform [-1, 1) floats from a seed. */
export function randomFloats(count, seed) {
  const r = mulberry32(seed);
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = r() * 2 - 1;
  return a;
}

export function machine() {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    flags: process.execArgv.filter((f) => !f.startsWith('--import')),
  };
}
