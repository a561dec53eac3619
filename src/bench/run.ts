/**
 * `resnet bench` as a function: one zoo model with seeded weights, timed with tinybench: cold start
 * stage by stage, whole-model percentiles and images/s, memory planned and measured, and with
 * `layers` the per-layer table of instrumented forwards against the SIMD peak probed in the same
 * process. Node-only (CPU clock, RSS); the CLI (src/cli/bench.ts) formats what it returns.
 */
import { createModel, type ModelTimings } from '../api.js';
import type { Backend, ForwardProfile } from '../backends/backend.js';
import type { BackendChoice } from '../backends/index.js';
import { createWasmBackend, type WasmBackendOptions } from '../backends/wasm/index.js';
import { mulberry32 } from '../models/init.js';
import { Tensor } from '../tensor.js';
import { layerTable, macsByLayer, type LayerTable } from './layers.js';
import { peakProbe, type Peak } from './peak.js';
import { machine, measure, type Machine } from './timing.js';

export interface BenchModelOptions {
  readonly model: string;
  readonly backend?: BackendChoice | Backend;
  /** A checkpoint's bytes (default: seeded weights); an int8 one puts the wasm backend in its lean mode. */
  readonly weights?: Uint8Array;
  /** The checkpoint's file name, for error messages. */
  readonly weightsName?: string;
  /**
   * A wasm kernel build to run (`{ relaxed: false }`: plain SIMD; as for createWasmBackend): the
   * backend becomes that build's, and the peak is probed on it. Default: the default backend's build.
   */
  readonly kernels?: WasmBackendOptions;
  readonly batch?: number;
  /** Timed forwards (and, with `layers`, instrumented ones). */
  readonly runs?: number;
  /** Untimed forwards before the timed ones. */
  readonly warmup?: number;
  /** [H, W]; default the model's input size. */
  readonly inputSize?: readonly [number, number];
  /** Threads of the wasm backend (default: createModel's, the cores available). */
  readonly threads?: number;
  /** The per-layer table (needs a backend that times its nodes: wasm). */
  readonly layers?: boolean;
  /** Called with the model as soon as it exists (e.g. to warn about its backend). */
  readonly onModel?: (model: { name: string; backend: Backend }) => void;
  /** Called after each forward with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ColdStart extends ModelTimings {
  readonly createMs: number;
  readonly firstForwardMs: number;
  readonly totalMs: number;
  readonly totalOverWarm: number;
}

export interface BenchMemory {
  /** What the backend planned for this input (weights, activation arena, peak), when it reports it. */
  readonly planned?: { readonly weights: number; readonly activations: number; readonly peak: number };
  /** The process's peak resident set size so far (getrusage maxrss). */
  readonly peakRssBytes: number;
  /** The wasm backend's linear memory after the instrumented forwards (with `layers`). */
  readonly wasmMemoryBytes?: number;
}

export interface BenchReport {
  readonly model: string;
  readonly backend: string;
  readonly batch: number;
  /** Threads the timed forwards ran on (wasm; 1 elsewhere), and why not more when fewer than asked for. */
  readonly threads: number;
  readonly threadsNote?: string;
  readonly inputSize: [number, number];
  readonly runs: number;
  readonly warmup: number;
  /** How the checkpoint stored its conv and linear weights (fp16, int8); absent for float32 and seeded weights. */
  readonly weightsDtype?: 'fp16' | 'int8';
  /** Wall-clock ms per forward: median (= p50), nearest-rank p90 and p99, fastest, mean. */
  readonly medianMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly minMs: number;
  readonly meanMs: number;
  /** This process's CPU time per forward (median), which other processes on the machine do not inflate. */
  readonly cpuMedianMs: number;
  readonly imagesPerSecond: number;
  /** 2 x MACs over the median: effective GFLOP/s. */
  readonly gflops: number;
  readonly macs: number;
  /** The planned peak (memory.planned.peak), kept for earlier readers of this report. */
  readonly peakBytes?: number;
  readonly memory: BenchMemory;
  readonly coldStart: ColdStart;
  /** The SIMD peak probed in this process (with `layers`). */
  readonly peak?: Peak;
  readonly layers?: LayerTable;
  readonly machine: Machine;
}

/** Runs the bench; see BenchModelOptions. */
export async function benchModel(opts: BenchModelOptions): Promise<BenchReport> {
  const batch = opts.batch ?? 1;
  const runs = opts.runs ?? 10;
  const warmup = opts.warmup ?? 2;
  const t0 = performance.now();
  if (opts.kernels && opts.backend !== undefined) throw new TypeError('benchModel: give backend or kernels, not both');
  const backend = opts.kernels ? createWasmBackend(opts.kernels) : opts.backend;
  const model = await createModel(opts.model, { backend, weights: opts.weights, weightsName: opts.weightsName, threads: opts.threads });
  const createMs = performance.now() - t0;
  try {
    opts.onModel?.(model);
    const [h, w] = opts.inputSize ?? [model.config.defaultInputSize, model.config.defaultInputSize];
    const rand = mulberry32(1);
    const input = new Tensor(Float32Array.from({ length: batch * 3 * h * w }, () => rand() * 2 - 1), [batch, 3, h, w]);
    const total = warmup + runs + (opts.layers ? runs + 1 : 0);
    let done = 0;
    const tick = () => opts.onProgress?.(++done, total);

    const t1 = performance.now();
    await model.forward(input); // the first forward: compile, then the first run
    const firstForwardMs = performance.now() - t1;
    await model.settle(); // the deferred load work (lazy Winograd sets) stays out of the warm timings
    if (opts.layers) await model.profile(input); // fails now, before the timed runs, on a backend that cannot
    const timed = await measure(`${model.name} forward`, async () => {
      await model.forward(input);
      tick();
    }, { iterations: runs, warmup });

    let peak: Peak | undefined;
    let layers: LayerTable | undefined;
    let wasmMemoryBytes: number | undefined;
    const summary = model.summary({ inputSize: [h, w], batch });
    if (opts.layers) {
      // On wall time, as the layers are timed (a wasm backend cannot read CPU time); best of 7, so a
      // loaded machine's slow runs drop out of the peak but not out of the layers' means.
      peak = await peakProbe(opts.kernels, { clock: 'wall' });
      const profiles: ForwardProfile[] = [];
      await measure(`${model.name} profiled forward`, async () => {
        profiles.push(await model.profile(input));
        tick();
      }, { iterations: runs, warmup: 1 });
      // The warm-up's profile is the first; the timed ones follow.
      layers = layerTable(profiles.slice(profiles.length - runs), macsByLayer(summary.rows), peak.gflops);
      wasmMemoryBytes = profiles.at(-1)!.memoryBytes;
    }
    const median = timed.wall.median;
    const first = createMs + firstForwardMs;
    const planned = summary.backendMemory;
    return {
      model: model.name,
      backend: model.backend.name,
      batch,
      threads: model.threads,
      ...(model.threadsNote ? { threadsNote: model.threadsNote } : {}),
      inputSize: [h, w],
      runs,
      warmup,
      medianMs: median,
      p50Ms: median,
      p90Ms: timed.wall.p90,
      p99Ms: timed.wall.p99,
      minMs: timed.wall.min,
      meanMs: timed.wall.mean,
      cpuMedianMs: timed.cpu.median,
      imagesPerSecond: (1000 * batch) / median,
      gflops: (2 * summary.macs) / (median / 1000) / 1e9,
      macs: summary.macs,
      ...(model.weightsReport?.dtype ? { weightsDtype: model.weightsReport.dtype } : {}),
      ...(planned ? { peakBytes: planned.peak } : {}),
      memory: {
        ...(planned ? { planned } : {}),
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
        ...(wasmMemoryBytes !== undefined ? { wasmMemoryBytes } : {}),
      },
      coldStart: { ...model.timings, createMs, firstForwardMs, totalMs: first, totalOverWarm: first / median },
      ...(peak ? { peak } : {}),
      ...(layers ? { layers } : {}),
      machine: machine(),
    };
  } finally {
    model.dispose();
  }
}
