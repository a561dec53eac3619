/**
 * Binding checkpoint tensors to the keys a model graph reads (`graphParams(graph)`): every expected
 * key must be present with exactly the expected shape and a floating-point dtype. Like candle's
 * VarBuilder, a failure names the full key and both shapes, and lists what is missing and unused.
 */
import { Tensor, type TensorLike, shapeToString } from '../tensor.js';
import { type DType, isFloatDType } from './dtype.js';
import { WeightsMismatchError } from './errors.js';
import { NarrowTensor, type WeightTensor } from './narrow.js';

export interface ExpectedParam {
  readonly key: string;
  readonly shape: readonly number[];
  readonly kind?: 'param' | 'buffer';
}

/** A tensor to bind: a plain float32 tensor, a checkpoint tensor that also says its dtype, or a lean checkpoint's narrow weight. */
export type BindableTensor = (TensorLike & { readonly dtype?: DType }) | NarrowTensor;

export interface BindReport {
  /** Expected keys with no tensor. */
  readonly missing: string[];
  /** Tensors the model does not read (ignored ones excluded). */
  readonly unexpected: string[];
  /** Keys present with the wrong shape (or a non-float dtype, then `dtype` says which). */
  readonly mismatched: { key: string; expected: number[]; found: number[]; dtype?: DType }[];
  /**
   * Tensors dropped on purpose: `num_batches_tracked` counters, and the keys given as `ignore`
   * (a features-only model's classifier, which timm's `num_classes=0` drops the same way).
   */
  readonly ignored: string[];
}

export interface BindResult {
  /** Tensors (narrow ones as they came: NarrowTensor) by expected key. */
  readonly weights: Map<string, WeightTensor>;
  readonly report: BindReport;
}

/** Keys no model reads and no user needs to hear about. */
export function isIgnoredKey(key: string): boolean {
  return key.endsWith('num_batches_tracked');
}

/** Lists at most `limit` items, then says how many more there are. */
function listSome(items: readonly string[], limit = 20): string {
  const shown = items.slice(0, limit).map((s) => `  ${s}`);
  if (items.length > limit) shown.push(`  ... and ${items.length - limit} more`);
  return shown.join('\n');
}

/**
 * The warning for a non-strict bind: how many weights came from the checkpoint and, listed, which
 * were seeded instead (missing or mis-shaped) and which checkpoint tensors went unused. Empty
 * when every expected key was bound and nothing was left over.
 */
export function formatNonStrictReport(
  report: {
    readonly missing: readonly string[];
    readonly unexpected: readonly string[];
    readonly mismatched: readonly { key: string; expected: number[]; found: number[]; dtype?: DType }[];
    readonly bound: number;
    readonly seeded: readonly string[];
  },
  model?: string,
): string {
  if (!report.seeded.length && !report.unexpected.length) return '';
  const expected = report.bound + report.seeded.length;
  const parts = [
    `warning: ${model ? `${model}: ` : ''}bound ${expected - report.seeded.length} of ${expected} weights; ${report.seeded.length} seeded (not from the checkpoint)`,
  ];
  if (report.missing.length) parts.push(`${report.missing.length} missing key(s), seeded:\n${listSome(report.missing)}`);
  if (report.mismatched.length) {
    parts.push(
      `${report.mismatched.length} shape mismatch(es), seeded (expected vs found):\n` +
        listSome(report.mismatched.map((m) => `${m.key}: expected ${shapeToString(m.expected)}, found ${m.dtype ? `${m.dtype} ` : ''}${shapeToString(m.found)}`)),
    );
  }
  if (report.unexpected.length) parts.push(`${report.unexpected.length} unexpected key(s), not used:\n${listSome(report.unexpected)}`);
  return parts.join('\n');
}

export function formatBindReport(report: BindReport, expectedCount: number, model?: string): string {
  const parts: string[] = [];
  if (report.missing.length) parts.push(`${report.missing.length} missing key(s):\n${listSome(report.missing)}`);
  if (report.mismatched.length) {
    parts.push(
      `${report.mismatched.length} shape mismatch(es) (expected vs found):\n` +
        listSome(
          report.mismatched.map((m) =>
            m.dtype
              ? `${m.key}: expected a float tensor ${shapeToString(m.expected)}, found ${m.dtype} ${shapeToString(m.found)}`
              : `${m.key}: expected ${shapeToString(m.expected)}, found ${shapeToString(m.found)}`,
          ),
        ),
    );
  }
  if (report.unexpected.length) parts.push(`${report.unexpected.length} unexpected key(s):\n${listSome(report.unexpected)}`);
  return `weights do not match ${model ? `model ${model}` : 'the model'} (${expectedCount} keys expected):\n${parts.join('\n')}`;
}

/**
 * Picks the expected tensors out of `tensors`. With `strict` (the default) any missing,
 * unexpected or mis-shaped key throws a `WeightsMismatchError` listing all of them; otherwise
 * the matching tensors are returned with the report. Tensors under an `ignore` key are not read and
 * are reported as ignored, not unexpected.
 */
export function bindWeights(
  expected: readonly ExpectedParam[],
  tensors: ReadonlyMap<string, BindableTensor>,
  opts: { strict?: boolean; model?: string; ignore?: Iterable<string> } = {},
): BindResult {
  const ignore = new Set(opts.ignore);
  const strict = opts.strict ?? true;
  const weights = new Map<string, WeightTensor>();
  const report: BindReport = { missing: [], unexpected: [], mismatched: [], ignored: [] };
  const wanted = new Set<string>();
  for (const e of expected) {
    wanted.add(e.key);
    const t = tensors.get(e.key);
    if (!t) {
      report.missing.push(e.key);
      continue;
    }
    const sameShape = t.shape.length === e.shape.length && t.shape.every((d, i) => d === e.shape[i]);
    const floatOk = t instanceof NarrowTensor || t.dtype === undefined || isFloatDType(t.dtype);
    if (!sameShape || !floatOk) {
      report.mismatched.push({ key: e.key, expected: [...e.shape], found: [...t.shape], ...(floatOk ? {} : { dtype: t.dtype }) });
      continue;
    }
    weights.set(e.key, t instanceof Tensor || t instanceof NarrowTensor ? t : new Tensor(t.data, t.shape));
  }
  for (const key of tensors.keys()) {
    if (wanted.has(key)) continue;
    if (isIgnoredKey(key) || ignore.has(key)) report.ignored.push(key);
    else report.unexpected.push(key);
  }
  if (strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
    throw new WeightsMismatchError(formatBindReport(report, expected.length, opts.model));
  }
  return { weights, report };
}
