import { createModel, type ModelTimings } from '../api.js';
import { mulberry32 } from '../models/init.js';
import { Tensor } from '../tensor.js';
import { CliError, info, intOption, parse, printJson, usageError, type Command } from './common.js';
import { BACKEND_HELP, backendOption, softwareAdapterWarning } from './options.js';
import { parseSize } from './summary.js';

/** Median and 90th percentile of a sample (nearest-rank). */
export function percentiles(samples: number[]): { median: number; p90: number } {
  const s = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2, p90: rank(0.9) };
}

/** The cold start section: createModel's stages, the first forward's, and the total over the warm median. */
function formatColdStart(c: ModelTimings & { createMs: number; firstForwardMs: number; totalMs: number; totalOverWarm: number }): string {
  const ms = (x: number | undefined) => `${(x ?? 0).toFixed(1)} ms`;
  const stages = Object.entries(c.compileStages ?? {}).map(([name, t]) => `${name} ${ms(t)}`).join(', ');
  return [
    'cold start (this process, module already imported):',
    `  createModel ${ms(c.createMs)}: build ${ms(c.build)}, read ${ms(c.read)}, bind ${ms(c.bind)}, backend ${ms(c.backend)}`,
    `  first forward ${ms(c.firstForwardMs)}: compile ${ms(c.compile)}${stages ? ` (${stages})` : ''}, first run ${ms(c.firstRun)}`,
    `  to first logits ${ms(c.totalMs)} = ${c.totalOverWarm.toFixed(2)}x the warm median`,
  ].join('\n');
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'time whole-model inference: median and p90 ms, images/s, effective GFLOP/s',
  usage: `usage: resnet bench --model <m> [--backend b] [--batch N] [--threads T] [--runs R] [--input-size S] [--json]

Times model.forward on a seeded random input with seeded random weights, after warm-up runs.
GFLOP/s counts 2 FLOPs per conv/fc multiply-accumulate (the summary's MACs) over the median time.
The cold start section gives model.timings: each stage from createModel to the first logits in this
process (the module already imported; seeded weights, so no checkpoint is read), and the first
forward over the warm median. For fresh processes with a checkpoint, side by side with
onnxruntime-web, see 'node bench/cold.mjs'. For the per-layer kernel tables and the peers side by
side, see 'npm run bench'.

options:
  --model <m>        model name
${BACKEND_HELP}
  --batch N          images per forward (default 1)
  --threads T        worker threads (only 1 in this version)
  --runs R           timed runs (default 10)
  --warmup W         untimed runs first (default 2)
  --input-size S     square input size or HxW (default: the model's)
  --json             print one JSON object on one line`,
  async run(argv) {
    const { values } = parse(this, argv, {
      model: { type: 'string' },
      backend: { type: 'string' },
      batch: { type: 'string' },
      threads: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      'input-size': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (!values.model) throw usageError(this, '--model is required');
    const threads = intOption(values.threads, 'threads') ?? 1;
    if (threads !== 1) throw new CliError(`--threads ${threads}: this version runs single-threaded; use --threads 1`, 2);
    const batch = intOption(values.batch, 'batch') ?? 1;
    const runs = intOption(values.runs, 'runs') ?? 10;
    const warmup = intOption(values.warmup, 'warmup', 0) ?? 2;
    parseSize(values['input-size'], 1); // a bad --input-size is a usage error before the model builds
    const t0 = performance.now();
    const model = await createModel(values.model, { backend: backendOption(values.backend) });
    const createMs = performance.now() - t0;
    const slow = softwareAdapterWarning(model.backend);
    if (slow) info(slow);
    const [h, w] = parseSize(values['input-size'], model.config.defaultInputSize);
    const rand = mulberry32(1);
    const input = new Tensor(Float32Array.from({ length: batch * 3 * h * w }, () => rand() * 2 - 1), [batch, 3, h, w]);
    if (!values.json) info(`${model.name} ${batch}x3x${h}x${w} on ${model.backend.name}: ${warmup} warm-up + ${runs} timed runs`);
    const t1 = performance.now();
    await model.forward(input); // the first forward: compile, then the first run
    const firstForwardMs = performance.now() - t1;
    await model.settle(); // the deferred load work (lazy Winograd sets) stays out of the warm timings
    const times: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const t = performance.now();
      await model.forward(input);
      if (i >= warmup) times.push(performance.now() - t);
    }
    const { median, p90 } = percentiles(times);
    const coldStart = { ...model.timings, createMs, firstForwardMs, totalMs: createMs + firstForwardMs, totalOverWarm: (createMs + firstForwardMs) / median };
    // After the runs, so the compiled backend can report its memory plan too.
    const { macs, backendMemory: mem } = model.summary({ inputSize: [h, w], batch });
    model.dispose();
    const result = {
      model: model.name,
      backend: model.backend.name,
      batch,
      threads,
      inputSize: [h, w],
      runs,
      medianMs: median,
      p90Ms: p90,
      minMs: Math.min(...times),
      imagesPerSecond: (1000 * batch) / median,
      gflops: (2 * macs) / (median / 1000) / 1e9,
      macs,
      ...(mem ? { peakBytes: mem.peak } : {}),
      coldStart,
    };
    if (values.json) printJson(result);
    else {
      process.stdout.write(
        `median ${median.toFixed(2)} ms  p90 ${p90.toFixed(2)} ms  ${result.imagesPerSecond.toFixed(2)} images/s  ${result.gflops.toFixed(2)} GFLOP/s effective\n`,
      );
      process.stdout.write(`${formatColdStart(coldStart)}\n`);
    }
  },
};
