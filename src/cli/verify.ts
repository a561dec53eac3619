import { BACKEND_NAMES } from '../backends/index.js';
import { DEFAULT_RTOL, formatTolerance, verify, verifyBackends, type Golden, type VerifyReport } from '../golden.js';
import { readNpy } from '../npy.js';
import { shapeToString } from '../tensor.js';
import { readSafetensors } from '../weights/index.js';
import { CliError, intOption, parse, printJson, readBytes, usageError, type Command } from './common.js';
import { MODEL_HELP, MODEL_OPTIONS, openModel } from './options.js';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'compare a run with golden values module by module and name the first that diverges',
  usage: `usage: resnet verify --model <m> [--weights f] --input <x.npy> (--expect <y.npy> | --golden <acts.safetensors>) [options]

Runs the model and compares it with golden values: --golden, a safetensors of module outputs by
module path (written by 'resnet dump' or by PyTorch/Paddle forward hooks, see the README), checked
in execution order; or --expect, the expected logits (or features) as a .npy. Prints per tensor
max |diff|, max |diff| / max |expected|, max elementwise relative error and cosine, top-k agreement
for the logits, and the first module that diverges. A tensor passes when
max |diff| <= atol + rtol * max |expected|. Exit 0 when every tensor passes, 1 when any fails or a
golden key is not one of the model's modules or has another shape, 2 for a usage error.

options:
${MODEL_HELP}
                      a --model without --weights gets seeded random weights
  --seed N            seed of the random weights (default 0)
  --num-classes K     classifier width (default: the model's)
  --input <x.npy>     float32 [N, 3, H, W]
  --golden <file>     module outputs (.safetensors)
  --expect <y.npy>    the expected primary output
  --backend <b>       wasm (default), webgpu, reference, auto, or all: every backend that can run here
                      (without --golden/--expect, wasm and webgpu against the reference backend)
  --atol A            absolute tolerance (default 0)
  --rtol R            tolerance relative to each tensor's max |expected| (default per backend:
                      reference ${formatTolerance(DEFAULT_RTOL.reference)}, wasm ${formatTolerance(DEFAULT_RTOL.wasm)}, webgpu ${formatTolerance(DEFAULT_RTOL.webgpu)})
  --top-k K           k of the logits' top-k agreement (default 5)
  --json              print the report as one JSON object`,
  async run(argv) {
    const { values } = parse(this, argv, {
      ...MODEL_OPTIONS,
      seed: { type: 'string' },
      'num-classes': { type: 'string' },
      input: { type: 'string' },
      golden: { type: 'string' },
      expect: { type: 'string' },
      atol: { type: 'string' },
      rtol: { type: 'string' },
      'top-k': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (!values.input) throw usageError(this, '--input is required');
    const all = values.backend === 'all';
    if (!all && values.backend !== undefined && !['auto', ...BACKEND_NAMES].includes(values.backend)) {
      throw new CliError(`--backend expects one of ${[...BACKEND_NAMES, 'auto', 'all'].join(', ')}; got '${values.backend}'`, 2);
    }
    if (values.golden && values.expect) throw usageError(this, '--golden and --expect both give golden values: give one');
    if (!values.golden && !values.expect && !all) throw usageError(this, 'give --golden <acts.safetensors> or --expect <y.npy> (or --backend all to compare the backends with the reference)');
    const atol = toleranceOption(values.atol, 'atol');
    const rtol = toleranceOption(values.rtol, 'rtol');
    const topK = intOption(values['top-k'], 'top-k');
    const input = readNpy(readBytes(values.input, 'input file'), `input '${values.input}'`);
    let golden: Golden | undefined;
    if (values.golden) golden = readSafetensors(readBytes(values.golden, 'golden file')).tensors;
    if (values.expect) golden = readNpy(readBytes(values.expect, 'expected output'), `expected output '${values.expect}'`);
    const model = await openModel(all ? { ...values, backend: 'reference' } : values, {
      seed: intOption(values.seed, 'seed', 0),
      numClasses: intOption(values['num-classes'], 'num-classes'),
    });
    try {
      if (all) {
        const report = await verifyBackends(model, input, golden, { atol, rtol, topK });
        if (values.json) printJson(report);
        else {
          for (const r of report.reports) printTable(r);
          for (const u of report.unavailable) process.stdout.write(`${u.backend}: unavailable: ${u.reason}\n`);
          process.stdout.write(`${report.summary}\n`);
        }
        if (!report.pass) {
          const failed = report.reports.filter((r) => !r.pass).map((r) => r.summary);
          throw new CliError(`verify failed: ${failed.join('; ') || report.summary}`);
        }
      } else {
        const report = await verify(model, input, golden!, { atol, rtol, topK });
        if (values.json) printJson(report);
        else printTable(report);
        if (!report.pass) throw new CliError(`verify failed: ${report.summary}`);
      }
    } finally {
      model.dispose();
    }
  },
};

function toleranceOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || v < 0) throw new CliError(`--${name} expects a number >= 0, got '${value}'`, 2);
  return v;
}

const e = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : String(v));

/** The per-tensor table, then the one-line summary, on stdout. */
function printTable(r: VerifyReport): void {
  const rows = r.tensors.map((t) => [
    t.name,
    shapeToString(t.shape),
    e(t.maxAbs),
    e(t.relToMax),
    e(t.maxRel),
    t.cosine.toFixed(6),
    t.topK ? `${t.topK.top1Agree}/${t.topK.rows}, ${(100 * t.topK.overlap).toFixed(0)}%` : '',
    t.pass ? 'ok' : t.name === r.firstDivergence ? 'FAIL <- first divergence' : 'FAIL',
  ]);
  const head = ['module', 'shape', 'max|diff|', '/max|exp|', 'max rel', 'cosine', 'top-1, top-k', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  process.stdout.write(`${r.model} on ${r.backend} (pass: max|diff| <= ${r.atol ? `${formatTolerance(r.atol)} + ` : ''}${formatTolerance(r.rtol)} x max|expected|)\n`);
  process.stdout.write(`  ${line(head)}\n`);
  for (const row of rows) process.stdout.write(`  ${line(row)}\n`);
  process.stdout.write(`${r.summary}\n`);
}
