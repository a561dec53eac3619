import { getModelConfig } from '../models/config.js';
import { buildResNet } from '../models/resnet.js';
import { formatSummary, rowsAtDepth, summarize } from '../models/summary.js';
import { CliError, intOption, NUMERIC_OPTIONS, parse, printJson, usageError, type Command } from './common.js';

export const summaryCommand: Command = {
  name: 'summary',
  summary: 'per-layer shapes, params, MACs and memory of a model (like paddle.summary)',
  usage: `usage: resnet summary <model> [--input-size S] [--batch N] [--num-classes K] [--depth D] [--json]

options:
  --input-size S   square input size (default: 224, or 32 for CIFAR models); HxW also accepted
  --batch N        batch size (default 1); MACs and memory are for the whole batch
  --num-classes K  classifier width (default: the model's)
  --depth D        fold layers deeper than D name levels into their parent (like torchinfo's depth;
                   layer1 is depth 1, layer1.0 depth 2); default: every layer
  --json           JSON with params, paramsWithBnStats, macs, memory and one row per layer`,
  async run(argv) {
    const { values, positionals } = parse(this, argv, {
      'input-size': { type: 'string' },
      batch: { type: 'string' },
      'num-classes': { type: 'string' },
      depth: { type: 'string' },
      json: { type: 'boolean' },
    }, true, { '--model': `the model is the first argument: resnet summary ${argv[argv.indexOf('--model') + 1] ?? '<model>'}` });
    if (positionals.length !== 1) throw usageError(this, `expected one model name, got ${positionals.length}`);
    const cfg = getModelConfig(positionals[0]);
    const [h, w] = parseSize(values['input-size'], cfg.defaultInputSize);
    const batch = intOption(values.batch, 'batch') ?? 1;
    const depth = intOption(values.depth, 'depth');
    const graph = buildResNet(cfg, { numClasses: intOption(values['num-classes'], 'num-classes') });
    const s = summarize(graph, [batch, 3, h, w]);
    if (values.json) printJson(depth === undefined ? s : { ...s, rows: rowsAtDepth(s.rows, depth) });
    else process.stdout.write(formatSummary(s, { depth }) + '\n');
  },
};

export function parseSize(text: string | undefined, fallback: number): [number, number] {
  if (text === undefined) return [fallback, fallback];
  const m = /^(\d+)(?:x(\d+))?$/.exec(text);
  if (!m) throw new CliError(`--input-size expects S or HxW (e.g. 224 or 97x120), got '${text}'`, 2);
  const h = Number(m[1]);
  const w = m[2] ? Number(m[2]) : h;
  const [lo, hi] = NUMERIC_OPTIONS['input-size'];
  if (h < lo || w < lo) throw new CliError(`--input-size must be positive, got '${text}'`, 2);
  if (h > hi || w > hi) throw new CliError(`--input-size expects sides from ${lo} to ${hi}, got '${text}'`, 2);
  return [h, w];
}
