/** Options shared by several commands. */
import type { Backend } from '../backends/backend.js';
import { BACKEND_NAMES, type BackendChoice } from '../backends/index.js';
import type { WeightsReport } from '../models/weights.js';
import { formatNonStrictReport } from '../weights/bind.js';
import { createModel, type Model } from '../api.js';
import type { PresetName } from '../image/presets.js';
import { createDefaultModel, DEFAULT_MODEL } from '../node.js';
import { nodePretrainedDefaults } from '../pretrained/cache-node.js';
import { CliError, info, intOption, readBytes } from './common.js';
import { Progress } from './progress.js';

export const BACKEND_HELP = `  --backend <b>       wasm (default), webgpu, reference, or auto (webgpu, else wasm, else reference)
  --threads <n>       wasm threads (default: the cores available, at most 8; 1: one thread)`;

export function backendOption(value: string | undefined): BackendChoice | Backend | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto' || (BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new CliError(`--backend expects one of ${[...BACKEND_NAMES, 'auto'].join(', ')}, got '${value}'`, 2);
}

/**
 * A warning when WebGPU runs on a software adapter (SwiftShader, lavapipe): the backend picks its
 * CPU conv kernel ('registers') exactly then. 'auto' passes such an adapter over; by name it runs.
 */
export function softwareAdapterWarning(backend: { name: string; adapter?: string; convKernel?: string }): string | undefined {
  if (backend.name !== 'webgpu' || backend.convKernel !== 'registers') return undefined;
  return `warning: the WebGPU adapter '${backend.adapter ?? 'unknown'}' is a software (CPU) adapter: it runs on the CPU and is much slower than --backend wasm`;
}

/** One or two lines saying how a checkpoint was read and bound. */
export function describeWeights(r: WeightsReport, model?: string): string {
  const where = r.path ? ` at '${r.path}'` : '';
  const lines = [`weights: ${r.format}${where}, keys read as ${r.scheme}`];
  const nonStrict = formatNonStrictReport(r, model);
  if (nonStrict) lines.push(nonStrict);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

/** --threads: a whole number >= 1, for the wasm backend only (the others have no threads to set). */
export function threadsOption(value: string | undefined, backend: BackendChoice | Backend | undefined): number | undefined {
  const threads = intOption(value, 'threads');
  if (threads !== undefined && (backend === 'reference' || backend === 'webgpu')) {
    throw new CliError(`--threads sets the wasm backend's threads; expected --backend wasm, auto or none, got '${backend}'`, 2);
  }
  return threads;
}

/** After the first forward: how many threads the wasm backend runs on, and why not more (stderr). */
export function threadsInfo(model: Model): void {
  if (model.backend.name !== 'wasm') return;
  info(`threads: ${model.threads}${model.threadsNote ? ` (${model.threadsNote})` : ''}`);
}

/** Options that pick a model and its weights, shared by classify, eval, run and bench. */
export const MODEL_HELP = `  --model <m>         model name (default: the embedded pretrained CIFAR-10 resnet20)
  --weights <file>    checkpoint: .safetensors, PyTorch .pth/.th (zip or legacy), Paddle .pdparams
  --key-scheme <s>    read the checkpoint's keys as torch, cifar, paddle or paddle-zoo (default: detected)
  --non-strict        bind the weights that match and report the rest instead of failing
  --pretrained        download the model's published weights (verified, cached under $RESNET_TS_HOME or
                      ~/.cache/resnet-ts; RESNET_TS_MIRROR serves a mirror); a tag goes in the name,
                      timm style: --model resnet50.a1_in1k --pretrained, or torchvision's resnet50.IMAGENET1K_V1`;

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  weights: { type: 'string' },
  'key-scheme': { type: 'string' },
  'non-strict': { type: 'boolean' },
  pretrained: { type: 'boolean' },
  backend: { type: 'string' },
  threads: { type: 'string' },
} as const;

/** The preset a model's weights were evaluated with: its pretrained entry's (torchvision V2 resizes to 232), else the architecture's. */
export function presetOf(model: Model): PresetName {
  return model.pretrained?.preset ?? model.config.preset;
}

/**
 * Opens the model the flags name. No --model and no --weights: the embedded default with its
 * pretrained weights. A model without weights runs on seeded random weights, and says so.
 */
export async function openModel(
  values: { model?: string; weights?: string; 'key-scheme'?: string; 'non-strict'?: boolean; pretrained?: boolean; backend?: string; threads?: string },
  extra: { numClasses?: number; seed?: number; featuresOnly?: boolean; threads?: number } = {},
) {
  const backend = backendOption(values.backend);
  extra = { ...extra, threads: threadsOption(values.threads, backend) };
  const strict = !values['non-strict'];
  let model;
  if (values.pretrained) {
    if (values.model === undefined) throw new CliError('--pretrained needs --model (a tag goes in the name: --model resnet50.a1_in1k)', 2);
    if (values.weights !== undefined) throw new CliError('--pretrained and --weights both name weights: give one', 2);
    let bar: Progress | undefined;
    model = await createModel(values.model, {
      pretrained: true,
      ...nodePretrainedDefaults(),
      onProgress: ({ loaded, total }) => {
        if (!total) return;
        bar ??= new Progress(total, 'bytes');
        bar.update(loaded);
      },
      keyScheme: values['key-scheme'],
      strict,
      backend,
      ...extra,
    });
    bar?.clear();
    const entry = model.pretrained!;
    info(`pretrained: ${entry.model}.${entry.tag} from ${entry.url} (${entry.license})`);
  } else if (values.model === undefined && values.weights === undefined) {
    model = await createDefaultModel({ backend, ...extra });
    info(`model: ${DEFAULT_MODEL.description}`);
  } else {
    if (values.model === undefined) throw new CliError('--weights needs --model to say which network the checkpoint is for', 2);
    model = await createModel(values.model, {
      weights: values.weights ? readBytes(values.weights, 'weights file') : undefined,
      weightsName: values.weights,
      keyScheme: values['key-scheme'],
      strict,
      backend,
      ...extra,
    });
    if (!values.weights) info(`warning: no --weights given: ${model.name} runs on seeded random weights (seed ${extra.seed ?? 0}); predictions are meaningless`);
  }
  info(`backend: ${model.backend.name} (${model.backendChoice.reason})`);
  const slow = softwareAdapterWarning(model.backend);
  if (slow) info(slow);
  for (const p of model.backendChoice.passedOver) info(`  passed over ${p.name}: ${p.reason}`);
  if (model.weightsReport) info(describeWeights(model.weightsReport, model.name));
  return model;
}
