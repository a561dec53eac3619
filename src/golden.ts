/**
 * Golden-value testing: `dump` runs a model and returns every module's output under the source
 * library's module paths (what PyTorch forward hooks on `named_modules()` see), and `verify`
 * compares a run against golden tensors (a file made by `dump`, by PyTorch/timm/Paddle hooks, or by
 * any other implementation) tensor by tensor, in execution order, and names the first module that
 * diverges. `verifyBackends` does it for every backend in one call. The anchor is Polygraphy's
 * `run --save-outputs / --load-outputs --atol --rtol`; the differences are the first-divergence
 * report and one call across backends. Browser-safe: no Node built-ins. Its own entry point,
 * `resnet-ts/golden`, so that test tooling adds nothing to the core bundle (test/size-budget.test.ts).
 *
 * Pass rule for a tensor: max |actual - expected| <= atol + rtol * max |expected|, i.e. the error is
 * measured against the tensor's own scale (a ReLU output's many zeros make elementwise relative
 * errors meaningless; they are reported, as maxRel, but not judged).
 */
import type { Model } from './api.js';
import type { Backend, BackendName } from './backends/backend.js';
import { selectBackend } from './backends/index.js';
import { topIndices } from './classify.js';
import { asTensor, type NdArrayLike } from './ndarray.js';
import { closestNames } from './models/config.js';
import { Tensor, sameShape, shapeToString, sizeOf as sizeOfShape, type TensorLike } from './tensor.js';

/** Default rtol per backend, against max |expected| (issue 16: wasm 1e-4, webgpu 1e-3 of the reference). */
export const DEFAULT_RTOL: Readonly<Record<BackendName, number>> = { reference: 1e-5, wasm: 1e-4, webgpu: 1e-3 };

/** A golden file's key that the model does not produce, or a tensor whose shape differs. */
export class GoldenMismatchError extends Error {
  override readonly name = 'GoldenMismatchError';
}

/** The module paths `dump` writes for this model, in execution order. */
export function modulePaths(model: Model): string[] {
  return (model.graph.modules ?? []).map((m) => m.path);
}

async function backendOf(model: Model, backend: BackendName | Backend | undefined): Promise<Backend> {
  if (backend === undefined) return model.backend;
  if (typeof backend === 'object') return backend;
  return (await selectBackend(backend)).backend;
}

export interface DumpOptions {
  /** Where to run: the model's backend by default, or another by name or object. */
  readonly backend?: BackendName | Backend;
}

/**
 * Every module output of one forward pass, by module path in execution order: stem parts
 * (`conv1`, `bn1`, `relu`, `maxpool`; timm's `conv1.0`..`conv1.6`, `conv1`, `act1`; Paddle's
 * `stem.0`.., `max_pool`), each block (`layer2.1`, `blocks.5`, `bb_1_0`), each stage (`layer3`;
 * Paddle's `blocks`), the pooling (`avgpool` [N, C, 1, 1]; timm's `global_pool` [N, C]) and the
 * head (`fc`). See Graph.modules and models/resnet.ts for the list per library.
 */
export async function dump(model: Model, input: TensorLike | NdArrayLike, opts: DumpOptions = {}): Promise<Map<string, Tensor>> {
  const modules = model.graph.modules ?? [];
  if (modules.length === 0) throw new Error(`dump: graph ${model.graph.name} names no module outputs`);
  const values: Record<string, string> = {};
  for (const m of modules) values[`module:${m.path}`] = m.value;
  const out = await model.forwardValues(input, values, await backendOf(model, opts.backend));
  const result = new Map<string, Tensor>();
  for (const m of modules) {
    const t = out[`module:${m.path}`];
    result.set(m.path, m.keepDims ? t.reshape([...t.shape, 1, 1]) : t);
  }
  return result;
}

/** How one tensor compares with its golden value. */
export interface TensorComparison {
  /** Module path (or the primary output's module for a single expected tensor). */
  readonly name: string;
  readonly shape: readonly number[];
  /** max |actual - expected|. */
  readonly maxAbs: number;
  /** max |actual - expected| / |expected| over the elements where expected != 0. */
  readonly maxRel: number;
  /** maxAbs / max |expected|: what the pass rule judges (with atol). */
  readonly relToMax: number;
  /** Cosine similarity of the two tensors as vectors (1 when both are zero). */
  readonly cosine: number;
  /** atol + rtol * max |expected|. */
  readonly threshold: number;
  readonly pass: boolean;
  /** For logits ([N, K], the head's output): rows whose top-1 class agrees, and the mean share of the top-k in common. */
  readonly topK?: { readonly k: number; readonly top1Agree: number; readonly rows: number; readonly overlap: number };
}

export interface VerifyReport {
  readonly model: string;
  readonly backend: BackendName;
  readonly pass: boolean;
  readonly atol: number;
  readonly rtol: number;
  /** The first tensor in execution order that fails, if any. */
  readonly firstDivergence?: string;
  readonly tensors: readonly TensorComparison[];
  /** One line: pass/fail, the first divergence or the worst tensor, and top-1 agreement. */
  readonly summary: string;
}

export interface VerifyOptions {
  /** Backend to check: the model's by default. */
  readonly backend?: BackendName | Backend;
  /** Absolute tolerance (default 0). */
  readonly atol?: number;
  /** Tolerance relative to each tensor's max |expected| (default: DEFAULT_RTOL of the backend). */
  readonly rtol?: number;
  /** k of the logits' top-k agreement (default 5, at most the class count). */
  readonly topK?: number;
}

/**
 * Golden values: tensors by module path (a Map or a plain object, e.g. what readSafetensors gives
 * for a dump), or one tensor, compared with the model's primary output (logits). Tensors may be
 * ndarray views.
 */
export type Golden = ReadonlyMap<string, TensorLike | NdArrayLike> | Readonly<Record<string, TensorLike | NdArrayLike>> | TensorLike | NdArrayLike;

function isSingleTensor(g: Golden): g is TensorLike | NdArrayLike {
  return !(g instanceof Map) && Array.isArray((g as TensorLike).shape) && typeof (g as TensorLike).data === 'object';
}

/** The module whose output is the primary output (the head: `fc`, `linear`, `out`), else the output's key. */
function primaryName(model: Model): string {
  const value = model.graph.outputs[model.graph.primaryOutput];
  const m = (model.graph.modules ?? []).filter((x) => x.value === value && !x.keepDims).at(-1);
  return m?.path ?? model.graph.primaryOutput;
}

function checkTolerance(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`verify: ${name} must be a finite number >= 0, got ${v}`);
}

/** Compares one tensor with its golden value (shapes already checked equal). */
export function compareTensors(name: string, actual: TensorLike, expected: TensorLike, tol: { atol: number; rtol: number; topK?: number; logits?: boolean }): TensorComparison {
  const a = actual.data;
  const e = expected.data;
  let maxAbs = 0;
  let maxRel = 0;
  let maxE = 0;
  let dot = 0;
  let na = 0;
  let ne = 0;
  let nan = false;
  for (let i = 0; i < e.length; i++) {
    const x = a[i];
    const y = e[i];
    const d = Math.abs(x - y);
    if (Number.isNaN(d)) nan = true;
    else if (d > maxAbs) maxAbs = d;
    if (y !== 0 && d / Math.abs(y) > maxRel) maxRel = d / Math.abs(y);
    if (Math.abs(y) > maxE) maxE = Math.abs(y);
    dot += x * y;
    na += x * x;
    ne += y * y;
  }
  if (nan) maxAbs = NaN; // a NaN on either side fails, whatever the tolerance
  const cosine = na === 0 && ne === 0 ? 1 : dot / Math.sqrt(na * ne);
  const threshold = tol.atol + tol.rtol * maxE;
  const result: TensorComparison = {
    name, shape: [...expected.shape], maxAbs, maxRel, relToMax: maxE > 0 ? maxAbs / maxE : maxAbs === 0 ? 0 : Infinity, cosine, threshold,
    pass: maxAbs <= threshold,
  };
  if (!tol.logits || expected.shape.length !== 2) return result;
  const [rows, classes] = expected.shape;
  const k = Math.min(tol.topK ?? 5, classes);
  let top1Agree = 0;
  let overlap = 0;
  for (let r = 0; r < rows; r++) {
    const ta = topIndices(a.subarray(r * classes, (r + 1) * classes), k);
    const te = topIndices(e.subarray(r * classes, (r + 1) * classes), k);
    if (ta[0] === te[0]) top1Agree++;
    overlap += ta.filter((i) => te.includes(i)).length / k;
  }
  return { ...result, topK: { k, top1Agree, rows, overlap: rows ? overlap / rows : 1 } };
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : String(v));
/** A tolerance as written: 1e-5 rather than 0.00001. */
export const formatTolerance = (v: number): string => (v > 0 && v < 1e-2 ? v.toExponential() : String(v));

function summarize(model: string, backend: string, tensors: readonly TensorComparison[], rtol: number, atol: number, against: string): string {
  const failed = tensors.filter((t) => !t.pass);
  const logits = tensors.find((t) => t.topK);
  const top = logits?.topK ? `; ${logits.name} top-1 agrees on ${logits.topK.top1Agree}/${logits.topK.rows} rows, top-${logits.topK.k} overlap ${(100 * logits.topK.overlap).toFixed(0)}%` : '';
  const tol = `${atol ? `atol ${formatTolerance(atol)} + ` : ''}rtol ${formatTolerance(rtol)} x max|expected|`;
  if (failed.length === 0) {
    const worst = tensors.reduce((w, t) => (t.relToMax > w.relToMax ? t : w));
    return `${model} on ${backend}: PASS, ${tensors.length} tensor${tensors.length === 1 ? '' : 's'} within ${tol} of ${against} (worst ${worst.name}: ${fmt(worst.relToMax)})${top}`;
  }
  const f = failed[0];
  return (
    `${model} on ${backend}: FAIL, first divergence at ${f.name} ${shapeToString(f.shape)}: max|diff| ${fmt(f.maxAbs)} = ${fmt(f.relToMax)} x max|expected| ` +
    `(allowed ${fmt(f.threshold)}, cosine ${f.cosine.toFixed(6)}); ${failed.length} of ${tensors.length} tensors fail against ${against}${top}`
  );
}

/**
 * timm builds the plain-named networks (resnet50, resnext50_32x4d, ..) with the same weights as
 * torchvision but calls the stem ReLU `act1` and pools with `global_pool` ([N, C]; its `.pool` child
 * gives [N, C, 1, 1]): golden files hooked on timm's models read as torchvision's modules.
 */
const TIMM_SPELLING: Readonly<Record<string, string>> = { act1: 'relu', 'global_pool.pool': 'avgpool', 'global_pool.flatten': 'avgpool', global_pool: 'avgpool' };

/** The module a golden key names: itself, or torchvision's for a timm spelling the model lacks. */
function moduleOf(key: string, order: ReadonlyMap<string, number>): string | undefined {
  if (order.has(key)) return key;
  const torchvision = TIMM_SPELLING[key];
  return torchvision !== undefined && order.has(torchvision) ? torchvision : undefined;
}

/** Golden tensors in the model's execution order, every key and shape checked first (all problems named at once). */
function alignGolden(model: Model, golden: Golden, produced: ReadonlyMap<string, Tensor> | undefined): { name: string; module: string; expected: TensorLike }[] {
  if (isSingleTensor(golden)) return [{ name: primaryName(model), module: primaryName(model), expected: asTensor(golden, 'expected tensor') }];
  const entries = golden instanceof Map ? [...golden.entries()] : Object.entries(golden as Record<string, TensorLike | NdArrayLike>);
  const paths = modulePaths(model);
  const order = new Map(paths.map((p, i) => [p, i]));
  const problems: string[] = [];
  for (const [key] of entries) {
    if (moduleOf(key, order) === undefined) {
      const near = closestNames(key, paths, 1)[0];
      problems.push(`golden key '${key}' is not a module output of ${model.name}${near ? ` (did you mean '${near}'?)` : ''}`);
    }
  }
  if (entries.length === 0) problems.push('the golden set holds no tensors');
  const aligned = entries
    .map(([name, t]) => ({ name, module: moduleOf(name, order), t }))
    .filter((e): e is { name: string; module: string; t: TensorLike | NdArrayLike } => e.module !== undefined)
    .sort((a, b) => order.get(a.module)! - order.get(b.module)! || b.t.shape.length - a.t.shape.length)
    .map(({ name, module, t }) => ({ name, module, expected: asTensor(t, `golden '${name}'`) }));
  if (produced) {
    for (const { name, module, expected } of aligned) {
      const got = produced.get(module)!;
      // A timm spelling of torchvision's pool holds the same values as [N, C].
      const same = sameShape(got.shape, expected.shape) || (name !== module && got.data.length === sizeOfShape(expected.shape));
      if (!same) problems.push(`'${name}': the model gives ${shapeToString(got.shape)}, the golden value is ${shapeToString(expected.shape)}`);
    }
  }
  if (problems.length) {
    throw new GoldenMismatchError(`verify ${model.name}: ${problems.length} problem(s) with the golden values (module outputs: ${paths.join(', ')}):\n  ${problems.join('\n  ')}`);
  }
  return aligned;
}

/**
 * Runs `model` on `input` and compares it with `golden`, tensor by tensor in execution order.
 * Throws GoldenMismatchError for a golden key the model does not produce or a shape that differs;
 * a numerical failure is not thrown but reported (`pass`, `firstDivergence`, `summary`).
 *
 * ```ts
 * const report = await verify(model, input, readSafetensors(bytes).tensors, { backend: 'wasm' });
 * expect(report.pass, report.summary).toBe(true);
 * ```
 */
export async function verify(model: Model, input: TensorLike | NdArrayLike, golden: Golden, opts: VerifyOptions = {}): Promise<VerifyReport> {
  checkTolerance('atol', opts.atol);
  checkTolerance('rtol', opts.rtol);
  const backend = await backendOf(model, opts.backend);
  alignGolden(model, golden, undefined); // names unknown keys before the (slow) run
  const primary = async () => (backend === model.backend ? model.forward(input) : (await model.forwardValues(input, {}, backend))[model.graph.primaryOutput]);
  const produced = isSingleTensor(golden) ? new Map([[primaryName(model), await primary()]]) : await dump(model, input, { backend });
  return compareWith(model, backend.name, produced, golden, opts, isSingleTensor(golden) ? 'the expected output' : 'the golden values');
}

function compareWith(model: Model, backend: BackendName, produced: ReadonlyMap<string, Tensor>, golden: Golden, opts: VerifyOptions, against: string): VerifyReport {
  const aligned = alignGolden(model, golden, produced);
  const atol = opts.atol ?? 0;
  const rtol = opts.rtol ?? DEFAULT_RTOL[backend];
  const head = primaryName(model);
  const logits = model.graph.primaryOutput === 'logits';
  const tensors = aligned.map(({ name, module, expected }) => compareTensors(name, produced.get(module)!, expected, { atol, rtol, topK: opts.topK, logits: logits && module === head }));
  const failed = tensors.find((t) => !t.pass);
  return {
    model: model.name, backend, pass: !failed, atol, rtol, firstDivergence: failed?.name, tensors,
    summary: summarize(model.name, backend, tensors, rtol, atol, against),
  };
}

export interface VerifyAllReport {
  readonly model: string;
  readonly pass: boolean;
  /** 'golden' when golden values were given, else 'reference' (the reference backend's own dump). */
  readonly baseline: 'golden' | 'reference';
  readonly reports: readonly VerifyReport[];
  /** Backends that could not run here, each with the reason. */
  readonly unavailable: readonly { readonly backend: BackendName; readonly reason: string }[];
  readonly summary: string;
}

/**
 * Every backend in one call. With golden values each backend (reference included) is compared with
 * them; without, the reference backend's dump is the baseline and the others are compared with it.
 * A backend that cannot start here (no WebGPU adapter, no wasm SIMD) is listed with its reason in
 * `unavailable`, not failed. rtol defaults per backend (DEFAULT_RTOL) unless given.
 */
export async function verifyBackends(
  model: Model,
  input: TensorLike | NdArrayLike,
  golden?: Golden,
  opts: Omit<VerifyOptions, 'backend'> & { backends?: readonly BackendName[] } = {},
): Promise<VerifyAllReport> {
  checkTolerance('atol', opts.atol);
  checkTolerance('rtol', opts.rtol);
  if (golden) alignGolden(model, golden, undefined);
  const names = opts.backends ?? (['reference', 'wasm', 'webgpu'] as const);
  const unavailable: { backend: BackendName; reason: string }[] = [];
  const reports: VerifyReport[] = [];
  let baseline: Golden | undefined = golden;
  for (const name of golden ? names : (['reference', ...names.filter((n) => n !== 'reference')] as BackendName[])) {
    let backend: Backend;
    try {
      backend = (await selectBackend(name)).backend;
    } catch (e) {
      if (name === 'reference') throw e;
      unavailable.push({ backend: name, reason: (e as Error).message });
      continue;
    }
    if (!baseline) {
      baseline = await dump(model, input, { backend });
      continue;
    }
    const single = isSingleTensor(baseline);
    const produced = single
      ? new Map([[primaryName(model), (await model.forwardValues(input, {}, backend))[model.graph.primaryOutput]]])
      : await dump(model, input, { backend });
    reports.push(compareWith(model, name, produced, baseline, opts, golden ? (single ? 'the expected output' : 'the golden values') : 'the reference backend'));
  }
  const pass = reports.length > 0 && reports.every((r) => r.pass);
  const parts = reports.map((r) => `${r.backend} ${r.pass ? 'PASS' : `FAIL at ${r.firstDivergence}`}`);
  const missing = unavailable.map((u) => `${u.backend} unavailable`);
  const against = !golden ? 'the reference backend' : isSingleTensor(golden) ? 'the expected output' : 'the golden values';
  const summary = `${model.name}: ${[...parts, ...missing].join(', ') || 'no backend ran'} (against ${against})`;
  return { model: model.name, pass, baseline: golden ? 'golden' : 'reference', reports, unavailable, summary };
}
