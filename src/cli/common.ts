/** Shared CLI plumbing: argument parsing, file access with clear errors, output. Node-only. */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
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

/** Reads a file named on the command line; one that does not exist, or is a folder, is a usage error (exit 2). */
export function readBytes(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new CliError(`${what} '${path}' does not exist`, 2);
  if (statSync(path).isDirectory()) throw new CliError(`${what} '${path}' is a directory, expected a file`, 2);
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Writes through a temporary file and a rename, so a failure never leaves a half-written file. */
export function writeAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) throw new CliError(`cannot write '${path}': folder '${dir}' does not exist`);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function intOption(value: string | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} expects an integer >= ${min}, got '${value}'`, 2);
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** Status lines go to stderr so that stdout stays machine-readable. */
export function info(message: string): void {
  process.stderr.write(message + '\n');
}
