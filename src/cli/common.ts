/** Shared CLI plumbing: argument parsing, file access with clear errors, output. Node-only. */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

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

export function parse(cmd: { name: string; usage: string }, argv: string[], options: Options, allowPositionals = false): Parsed {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
    if (r.values.help) {
      process.stdout.write(cmd.usage.trimEnd() + '\n');
      process.exit(0);
    }
    return r;
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${cmd.usage.trimEnd()}`, 2);
  }
}

export function readBytes(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new CliError(`${what} '${path}' does not exist`);
  if (statSync(path).isDirectory()) throw new CliError(`${what} '${path}' is a directory, expected a file`);
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
