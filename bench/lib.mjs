// Shared helpers of the bench suites: tinybench timing with median and p90, the wasm SIMD peak
// probe, seeded inputs. Imported with the TypeScript hooks of ts-loader.mjs (src/*.ts directly).
import os from 'node:os';
import { Bench } from 'tinybench';
import { instantiateKernels, loadKernelModule } from '../src/backends/wasm/kernels.ts';
import { mulberry32 } from '../src/models/init.ts';

/** A tinybench clock that reads this process's CPU time (user + system), in ms. */
const cpuClock = {
  name: 'process.cpuUsage',
  fn: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
  fromMs: (ms) => ms,
  toMs: (v) => Number(v),
};

/** Median and p90 (nearest rank) of ms samples. */
export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2, p90: q(0.9), min: s[0], runs: s.length };
}

/**
 * Times fn with tinybench on two clocks at once: tinybench samples CPU time (this process's user +
 * system time, so other processes on a shared machine do not inflate it), and fn's wall-clock
 * duration is recorded around each call. `time` > 0: sample for that many ms (at least
 * `iterations`); otherwise exactly `iterations` timed runs after `warmup` untimed ones.
 * Returns { wall: {median, p90, min, runs}, cpu: {...} } in ms.
 */
export async function measure(name, fn, { time = 0, iterations = 10, warmup = 1 } = {}) {
  const walls = [];
  const bench = new Bench({
    time, iterations, warmupIterations: warmup, warmupTime: 0, retainSamples: true, throws: true, timestampProvider: cpuClock,
  });
  bench.add(name, async () => {
    const t0 = performance.now();
    await fn();
    walls.push(performance.now() - t0);
  });
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`bench task ${name}: ${r.state}`);
  const cpuSamples = r.latency.samples ?? [];
  return { wall: summarize(walls.slice(walls.length - cpuSamples.length)), cpu: summarize(cpuSamples) };
}

/**
 * Times several tasks in interleaved rounds: each round runs every task once, in order, under
 * tinybench (CPU clock, wall time recorded around each call), after `warmup` untimed runs of each.
 * On a machine whose speed drifts (a shared host), tasks compared this way see the same drift.
 * Returns, per task, { wall, cpu } summaries in ms.
 */
export async function measureInterleaved(tasks, { rounds = 10, warmup = 2 } = {}) {
  const walls = tasks.map(() => []);
  const cpus = tasks.map(() => []);
  for (const t of tasks) for (let i = 0; i < warmup; i++) await t.fn();
  for (let r = 0; r < rounds; r++) {
    const bench = new Bench({ time: 0, iterations: 1, warmup: false, retainSamples: true, throws: true, timestampProvider: cpuClock });
    tasks.forEach((t, i) =>
      bench.add(t.name, async () => {
        const t0 = performance.now();
        await t.fn();
        walls[i].push(performance.now() - t0);
      }),
    );
    await bench.run();
    bench.tasks.forEach((task, i) => cpus[i].push(...(task.result.latency.samples ?? [])));
  }
  return tasks.map((_, i) => ({ wall: summarize(walls[i]), cpu: summarize(cpus[i]) }));
}

/**
 * The f32x4 peak of this engine on this machine: 12 independent multiply-add chains in registers
 * (assembly/probe.ts), best of a few runs on CPU time. Returns GFLOP/s and the kernel variant.
 */
export async function peakProbe(opts = {}) {
  const { module, variant } = await loadKernelModule(opts);
  const k = await instantiateKernels(module);
  k.peak_probe(1_000_000, 1);
  return { gflops: probeGflops(k, 5_000_000, 7), variant };
}

/** The probe on a kernel instance: best GFLOP/s (CPU time) of `repeats` runs of `iters` steps. */
export function probeGflops(k, iters = 2_000_000, repeats = 5) {
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = cpuClock.fn();
    k.peak_probe(iters, 1 + r);
    best = Math.max(best, k.peak_probe_flops(iters) / ((cpuClock.fn() - t0) / 1e3) / 1e9);
  }
  return best;
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
    loadAverage: os.loadavg(),
  };
}
