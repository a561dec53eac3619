/** Shared CLI plumbing: argument parsing, file access with clear errors, output. Node-only. */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileKind } from '../image/decode-node.js';
import { closestNames } from '../models/config.js';

/** An error the CLI reports as one line without a stack trace (exit code 1, or 2 for usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: string[]): Promise<void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with `--help` built in; unknown flags and missing values become usage errors. */
export interface Parsed {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly values: Record<string, any>;
  readonly positionals: string[];
}

/** A usage error (exit 2): what was wrong, then the command's usage. */
export function usageError(cmd: { name: string; usage: string }, message: string): CliError {
  return new CliError(`resnet ${cmd.name}: ${message}\n\n${cmd.usage.trimEnd()}`, 2);
}

/**
 * parseArgs with `--help` built in. Its errors become our usage errors (exit 2) naming the command;
 * `hints` adds a sentence for an unknown option (summary: the model is a positional).
 */
export function parse(cmd: { name: string; usage: string }, argv: string[], options: Options, allowPositionals = false, hints: Record<string, string> = {}): Parsed {
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' } };
  let r: Parsed;
  try {
    r = parseArgs({ args: argv, options: all, allowPositionals, strict: true });
  } catch (e) {
    throw usageError(cmd, parseArgsMessage(e as Error & { code?: string }, all, allowPositionals, hints));
  }
  if (r.values.help) {
    process.stdout.write(cmd.usage.trimEnd() + '\n');
    process.exit(0);
  }
  return r;
}

function parseArgsMessage(e: Error & { code?: string }, options: Options, allowPositionals: boolean, hints: Record<string, string>): string {
  const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const flag = quoted.split('=')[0];
      const hint = hints[flag];
      if (hint) return `unknown option '${flag}'; ${hint}`;
      const near = closest(flag.replace(/^-+/, ''), Object.keys(options));
      return `unknown option '${flag}'` + (near ? `; did you mean '--${near}'?` : '');
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(e.message) ? `option '${quoted}' needs a value` : `option '${quoted}' takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return allowPositionals ? `unexpected argument '${quoted}'` : `takes no positional arguments, got '${quoted}'`;
    default:
      return e.message;
  }
}

/** The closest name by edit distance (case-insensitive), for "did you mean"; undefined if none is close. */
export function closest(query: string, names: readonly string[]): string | undefined {
  return closestNames(query, names, 1)[0];
}

/**
 * Reads a file named on the command line. One that does not exist, or is a folder, is a usage error
 * (exit 2). Only a regular file is read: a FIFO, device or socket is refused (exit 1) from the fstat of
 * the open file, before any read (a FIFO would block for ever, /dev/zero never end). The file is opened
 * non-blocking, so that opening a FIFO does not wait for a writer, and checked on that descriptor, so
 * that nothing can be swapped in between the check and the read.
 */
export function readBytes(path: string, what: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`${what} '${path}' does not exist`, 2);
    if (code === 'EISDIR') throw new CliError(`${what} '${path}' is a directory, expected a file`, 2);
    throw new CliError(`cannot read ${what} '${path}': ${code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw new CliError(`${what} '${path}' is a directory, expected a file`, 2);
    if (!stats.isFile()) throw new CliError(`${what} '${path}' is ${fileKind(stats)}, expected a regular file`);
    const b = readFileSync(fd);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } finally {
    closeSync(fd);
  }
}

/**
 * The range of every numeric option, in one place; a value outside it is a usage error (exit 2) naming
 * the range, before anything loads. The upper bounds keep a typo (`--num-classes 1000000000`) from
 * turning into an allocation of gigabytes: --num-classes 100000 is already a 2048 x 100000 classifier
 * (800 MB); --input-size 4096 puts ResNet-50's first stage at 4 GiB of activations.
 */
export const NUMERIC_OPTIONS = {
  'num-classes': [1, 100_000],
  top: [1, 100_000],
  'input-size': [1, 4096],
  batch: [1, 4096],
  limit: [1, Number.MAX_SAFE_INTEGER],
  seed: [0, 2 ** 32 - 1],
  depth: [1, 100],
  threads: [1, 256],
} as const satisfies Record<string, readonly [number, number]>;

/**
 * An integer option: `min`/`max` default to NUMERIC_OPTIONS' range for `name` (else 1 and
 * Number.MAX_SAFE_INTEGER); outside the range it is a usage error (exit 2).
 */
export function intOption(value: string | undefined, name: string, min?: number, max?: number): number | undefined {
  if (value === undefined) return undefined;
  const range: readonly [number, number] | undefined = (NUMERIC_OPTIONS as Record<string, readonly [number, number]>)[name];
  const lo = min ?? range?.[0] ?? 1;
  const hi = max ?? range?.[1] ?? Number.MAX_SAFE_INTEGER;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    const expected = hi === Number.MAX_SAFE_INTEGER ? `an integer >= ${lo}` : `an integer from ${lo} to ${hi}`;
    throw new CliError(`--${name} expects ${expected}, got '${value}'`, 2);
  }
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** Status lines go to stderr so that stdout stays machine-readable. */
export function info(message: string): void {
  process.stderr.write(message + '\n');
}
