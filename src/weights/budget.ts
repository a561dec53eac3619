/**
 * Limits and budgets of the checkpoint readers (issue 17). Every size a file declares is checked
 * against the bytes present and against `CheckpointLimits` before anything is allocated or looped
 * over; work that a small file could repeat (copies, key paths, visits, decoded floats) is charged
 * to a budget that grows with the input size, so that a reader's cost stays linear in its input.
 */
import { type CheckpointLimits, DEFAULT_CHECKPOINT_LIMITS } from '../limits.js';
import { CheckpointError } from './errors.js';

const MAX_DEPTH_CEILING = 1000;

/** The defaults with `limits` applied, each value checked (a typo or a NaN is an error, not a silent default). */
export function resolveLimits(limits: Partial<CheckpointLimits> = {}): Readonly<CheckpointLimits> {
  const out: Record<string, number> = { ...DEFAULT_CHECKPOINT_LIMITS };
  for (const [k, v] of Object.entries(limits)) {
    if (v === undefined) continue;
    if (!Object.hasOwn(DEFAULT_CHECKPOINT_LIMITS, k)) {
      throw new TypeError(`checkpoint limits: unknown limit '${k}'; expected one of ${Object.keys(DEFAULT_CHECKPOINT_LIMITS).join(', ')}`);
    }
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      throw new TypeError(`checkpoint limits: ${k} must be a positive finite number, found ${String(v)}`);
    }
    out[k] = v;
  }
  if (out.maxDepth > MAX_DEPTH_CEILING) {
    throw new TypeError(`checkpoint limits: maxDepth must be at most ${MAX_DEPTH_CEILING} (the readers recurse once per level), found ${out.maxDepth}`);
  }
  return out as unknown as CheckpointLimits;
}

/**
 * A count that may not exceed `total`: `take(n, where)` charges n and throws `make(message)` once
 * the total is passed, naming what was counted, the limit and the limit to raise.
 */
export class Budget {
  private used = 0;
  constructor(
    readonly total: number,
    private readonly what: string,
    private readonly limitName: keyof CheckpointLimits,
    private readonly make: (message: string) => CheckpointError = (m) => new CheckpointError(m),
  ) {}

  /** A budget of `perByte` per input byte plus `base`. */
  static perByte(limits: CheckpointLimits, limitName: keyof CheckpointLimits, inputBytes: number, base: number, what: string, make?: (m: string) => CheckpointError): Budget {
    return new Budget(limits[limitName] * inputBytes + base, what, limitName, make);
  }

  /** Charges `n`; `where` (made only on failure) says where in the file. */
  take(n: number, where: string | (() => string)): void {
    this.used += n;
    if (!(this.used <= this.total)) {
      throw this.make(
        `${this.what} would exceed ${Math.floor(this.total).toLocaleString('en-US')} for an input of this size (at ${typeof where === 'string' ? where : where()}); ` +
          `refusing (raise the '${this.limitName}' checkpoint limit for a genuine file this large)`,
      );
    }
  }
}

/** Escapes control characters, quotes and backslashes of a string from the file. */
function escape(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029\\']/g, (c) =>
    c === "'" ? "\\'" : c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A string from the file for an error message: escaped, at most `max` characters (then its length is said). */
export function clip(s: string, max = 80): string {
  return s.length > max ? `${escape(s.slice(0, max))}... (${s.length} characters)` : escape(s);
}

/** `clip(s)` in quotes. */
export function quote(s: string, max = 80): string {
  return s.length > max ? `'${escape(s.slice(0, max))}...' (${s.length} characters)` : `'${escape(s)}'`;
}
