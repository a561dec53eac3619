/**
 * What a fuzz target counts as a finding. The readers promise (SECURITY.md) that any bytes either
 * load or fail with one of their named errors; so a target swallows those and lets everything else
 * escape, which Jazzer.js reports as a crash: a TypeError or RangeError from deep inside a reader,
 * "Maximum call stack size exceeded", "Invalid typed array length", a JSON SyntaxError that was not
 * wrapped. Hangs (libFuzzer -timeout) and memory over -rss_limit_mb are findings the engine reports
 * by itself.
 */
import { ImageDecodeError } from '../src/image/image.js';
import { JpegUnsupportedError } from '../src/image/jpeg-baseline.js';
import { NpyError } from '../src/npy.js';
import { CheckpointError } from '../src/weights/errors.js';

/** A reader's named error: the outcome "refused, with a message naming what is wrong". */
export function isNamedError(e: unknown): e is Error {
  return e instanceof CheckpointError || e instanceof NpyError || e instanceof ImageDecodeError || e instanceof JpegUnsupportedError;
}

/**
 * decodeJpegExact's contract (jpeg-baseline.ts): corrupt data throws a plain `Error`, a frame over
 * `maxPixels` a RangeError naming the limit. Only an `Error` constructed as such counts, not a
 * TypeError or any other subclass.
 */
export function isJpegDecoderError(e: unknown): e is Error {
  if (isNamedError(e)) return true;
  if (e instanceof RangeError) return /maxPixels/.test(e.message);
  return e instanceof Error && Object.getPrototypeOf(e) === Error.prototype;
}

export type Outcome = { readonly kind: 'ok' } | { readonly kind: 'refused'; readonly error: string } | { readonly kind: 'finding'; readonly error: unknown };

export interface Target {
  readonly name: string;
  /** What the target feeds the bytes to, for the runner's report. */
  readonly reads: string;
  /** Parses the bytes the way the library and CLI do; throws whatever the reader throws. */
  readonly parse: (bytes: Uint8Array) => void | Promise<void>;
  /** Which thrown values are the reader's promised refusals (default: isNamedError). */
  readonly expected?: (e: unknown) => boolean;
}

/** Runs one input and classifies it; never throws. */
export async function classify(target: Target, bytes: Uint8Array): Promise<Outcome> {
  try {
    await target.parse(bytes);
    return { kind: 'ok' };
  } catch (e) {
    if ((target.expected ?? isNamedError)(e)) return { kind: 'refused', error: `${(e as Error).name}: ${(e as Error).message}` };
    return { kind: 'finding', error: e };
  }
}

/**
 * The `fuzz` entry point Jazzer.js calls: a finding is rethrown as it was thrown (its stack is the
 * report); refusals and successes return. Synchronous parsers stay synchronous, which Jazzer runs
 * several times faster than a target that returns a promise.
 */
export function fuzzEntry(target: Target): (data: Buffer) => void | Promise<void> {
  const expected = target.expected ?? isNamedError;
  const rethrowUnexpected = (e: unknown): void => {
    if (!expected(e)) throw e;
  };
  return (data: Buffer) => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let result: void | Promise<void>;
    try {
      result = target.parse(bytes);
    } catch (e) {
      return rethrowUnexpected(e);
    }
    if (result instanceof Promise) return result.catch(rethrowUnexpected);
  };
}
