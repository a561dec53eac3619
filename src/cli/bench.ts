import { CliError, info, intOption, parse, printJson, readBytes, usageError, type Command } from './common.js';
import { BACKEND_HELP, backendOption, softwareAdapterWarning, threadsOption } from './options.js';
import { checkOutput, writeFileAtomic } from './output.js';
import { Progress } from './progress.js';
import { parseSize } from './summary.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'microbenchmarks: p50/p90/p99 ms, images/s, cold start, memory; --layers: per-layer table and SVG chart',
  usage: `usage: resnet bench --model <m> [--weights f] [--backend b] [--batch N] [--runs R] [--warmup W] [--input-size S]
                    [--layers] [--svg out.svg] [--json | --md]

Times model.forward (tinybench) on a seeded random input with seeded random weights, after the
first forward and warm-up runs: wall-clock p50 (median) / p90 / p99 ms, this process's CPU time,
images/s at batch N, effective GFLOP/s (2 FLOPs per conv/fc multiply-accumulate over the median).
Cold start: model.timings, each stage from createModel to the first logits in this process (the
module already imported; seeded weights, so no checkpoint is read). Memory: the backend's planned
peak (weights + activations), the wasm memory and this process's peak RSS.

--layers (wasm backend) adds the per-layer table: R instrumented forwards of the whole model, each
of the backend's nodes timed (a conv with its BN, residual add and ReLU fused in is one row): its
module path, output shape, MACs, the kernel that ran it (gemm, winograd, winograd-s2, grouped,
stem), mean wall ms, GFLOP/s and % of the wasm f32x4 peak probed in the same run (best of 7, wall
time). The rows plus "other" (layout transposes, copies) add up to the mean instrumented forward.

For peers side by side (onnxruntime, tfjs) and per-conv tables of a source checkout, see the
repository's 'npm run bench' (bench/README.md); for fresh-process cold starts, 'node bench/cold.mjs'.

options:
  --model <m>        model name
  --weights <file>   time these weights instead of seeded ones (an int8 checkpoint of 'resnet convert
                     --dtype int8' runs the wasm backend's lean memory mode); peakBytes is the planned peak
${BACKEND_HELP}
  --batch N          images per forward (default 1)
  --runs R           timed runs, and instrumented runs with --layers (default 10)
  --warmup W         untimed runs first (default 2)
  --input-size S     square input size or HxW (default: the model's)
  --layers           the per-layer table (wasm backend only)
  --svg <file>       write the per-layer time as a horizontal bar chart (SVG); implies --layers
  --json             print one JSON object on one line (with --layers: layers.rows, totalMs, otherMs)
  --md               print the report as markdown
A progress bar goes to stderr on a terminal only.`,
  async run(argv) {
    const { values } = parse(this, argv, {
      model: { type: 'string' },
      weights: { type: 'string' },
      backend: { type: 'string' },
      batch: { type: 'string' },
      threads: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      'input-size': { type: 'string' },
      layers: { type: 'boolean' },
      svg: { type: 'string' },
      json: { type: 'boolean' },
      md: { type: 'boolean' },
    });
    if (!values.model) throw usageError(this, '--model is required');
    if (values.json && values.md) throw usageError(this, '--json and --md both choose the output; give one');
    const batch = intOption(values.batch, 'batch') ?? 1;
    const runs = intOption(values.runs, 'runs') ?? 10;
    const warmup = intOption(values.warmup, 'warmup', 0) ?? 2;
    const backend = backendOption(values.backend);
    const threads = threadsOption(values.threads, backend);
    const svg: string | undefined = values.svg;
    const layers = Boolean(values.layers || svg);
    if (layers && (backend === 'reference' || backend === 'webgpu')) {
      throw usageError(this, `--layers${svg ? '/--svg' : ''} times the wasm backend's layers; expected --backend wasm (or none), got '${backend}'`);
    }
    if (svg !== undefined) {
      if (!/\.svg$/i.test(svg)) throw usageError(this, `--svg must name an .svg file, got '${svg}'`);
      checkOutput(svg, [values.weights]);
    }
    parseSize(values['input-size'], 1); // a bad --input-size is a usage error before the model builds
    // Loaded here, not at the top: tinybench and the bench code stay out of the other commands' start-up.
    const { benchModel } = await import('../bench/run.js');
    const { describeRun, formatMarkdown, formatText } = await import('../bench/report.js');
    const { layerChartSvg } = await import('../bench/svg.js');
    const { getModelConfig } = await import('../models/config.js');
    const size = parseSize(values['input-size'], getModelConfig(values.model).defaultInputSize);
    // A bar on a terminal only: nothing of it in pipes and CI logs.
    const progress = process.stderr.isTTY ? { bar: undefined as Progress | undefined } : undefined;
    const report = await benchModel({
      model: values.model,
      backend,
      ...(values.weights !== undefined ? { weights: readBytes(values.weights, 'weights file'), weightsName: values.weights } : {}),
      batch,
      threads,
      runs,
      warmup,
      inputSize: size,
      layers,
      onModel(model) {
        const slow = softwareAdapterWarning(model.backend);
        if (slow) info(slow);
        if (!values.json && !values.md) {
          info(`${model.name} ${batch}x3x${size[0]}x${size[1]} on ${model.backend.name}: ${warmup} warm-up + ${runs} timed runs${layers ? ` + ${runs} instrumented` : ''}`);
        }
      },
      onProgress: progress
        ? (done, total) => {
            progress.bar ??= new Progress(total, 'forwards');
            progress.bar.update(done);
          }
        : undefined,
    });
    if (svg !== undefined) {
      const t = report.layers!;
      const title = `${describeRun(report)}: ${t.totalMs.toFixed(2)} ms per forward, by layer`;
      const subtitle = `mean of ${t.runs} instrumented forwards; ${report.peak!.variant} kernels; p50 of ${report.runs} plain forwards ${report.p50Ms.toFixed(2)} ms`;
      writeFileAtomic(svg, layerChartSvg(t, title, subtitle));
      if (!values.json && !values.md) info(`wrote ${svg}`);
    }
    if (values.json) printJson(report);
    else if (values.md) process.stdout.write(formatMarkdown(report));
    else process.stdout.write(formatText(report));
  },
};
