/**
 * Timing for `resnet bench` and the repo's `npm run bench` (bench/): tinybench on two clocks at
 * once, wall time and this process's CPU time, with nearest-rank percentiles. Node-only (CPU time
 * is `process.cpuUsage`); imported by the CLI, never by the library's entry points.
 */
import os from 'node:os';
import { Bench, type TimestampProvider } from 'tinybench';

/** A tinybench clock that reads this process's CPU time (user + system), in ms. */
export const cpuClock: TimestampProvider = {
  name: 'process.cpuUsage',
  fn: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
  fromMs: (ms) => ms,
  toMs: (v) => Number(v),
};

/** Statistics of ms samples: median (= p50), nearest-rank p90 and p99, min, mean, count. */
export interface Summary {
  readonly median: number;
  readonly p90: number;
  readonly p99: number;
  readonly min: number;
  readonly mean: number;
  readonly runs: number;
}

/** The nearest-rank percentile: the smallest sample with at least p of the samples at or below it. */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('nearestRank: expected at least one sample, got none');
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Median (mean of the two middle samples for an even count), nearest-rank p90 and p99, min and mean. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summarize: expected at least one sample, got none');
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return {
    median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2,
    p90: nearestRank(s, 0.9),
    p99: nearestRank(s, 0.99),
    min: s[0],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    runs: s.length,
  };
}

export interface Measured {
  readonly wall: Summary;
  readonly cpu: Summary;
}

export interface MeasureOptions {
  /** > 0: sample for this many ms (at least `iterations`); 0: exactly `iterations` timed runs. */
  readonly time?: number;
  readonly iterations?: number;
  /** Untimed runs first. */
  readonly warmup?: number;
}

/**
 * Times fn with tinybench on two clocks: tinybench samples CPU time (so other processes on a shared
 * machine do not inflate it) and fn's wall time is recorded around each call.
 */
export async function measure(name: string, fn: () => unknown, { time = 0, iterations = 10, warmup = 1 }: MeasureOptions = {}): Promise<Measured> {
  const walls: number[] = [];
  const bench = new Bench({
    time, iterations, warmup: warmup > 0, warmupIterations: warmup, warmupTime: 0, retainSamples: true, throws: true, timestampProvider: cpuClock,
  });
  bench.add(name, async () => {
    const t0 = performance.now();
    await fn();
    walls.push(performance.now() - t0);
  });
  await bench.run();
  const cpu = cpuSamples(bench.tasks[0], name);
  // The wall list also holds the warm-up calls, which come first.
  return { wall: summarize(walls.slice(walls.length - cpu.length)), cpu: summarize(cpu) };
}

/**
 * Times several tasks in interleaved rounds: each round runs every task once, in order, under
 * tinybench (CPU clock, wall time recorded around each call), after `warmup` untimed runs of each.
 * On a machine whose speed drifts (a shared host), tasks compared this way see the same drift.
 */
export async function measureInterleaved(tasks: readonly { name: string; fn: () => unknown }[], { rounds = 10, warmup = 2 } = {}): Promise<Measured[]> {
  const walls = tasks.map((): number[] => []);
  const cpus = tasks.map((): number[] => []);
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
    bench.tasks.forEach((task, i) => cpus[i].push(...cpuSamples(task, tasks[i].name)));
  }
  return tasks.map((_, i) => ({ wall: summarize(walls[i]), cpu: summarize(cpus[i]) }));
}

function cpuSamples(task: { result: unknown } | undefined, name: string): number[] {
  const r = task?.result as { state?: string; latency?: { samples?: number[] } } | undefined;
  if (r?.state !== 'completed') throw new Error(`bench task ${name}: expected it to complete, it is ${r?.state ?? 'missing'}`);
  return [...(r.latency?.samples ?? [])];
}

/** The machine a report was measured on. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly flags: string[];
  readonly loadAverage: number[];
}

export function machine(): Machine {
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
