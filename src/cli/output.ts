/**
 * Output files that never lose data (issue 17, items 9 and 10), for every command that writes one
 * (`convert`, `run --output`, `dump`). Node-only.
 *
 * - `checkOutput`, before any work: the folder exists; the target is a new path or a regular file (not
 *   a directory, link, FIFO or device); it is not one of the command's inputs (same device and inode,
 *   so a second name or a hard link of the input is caught too). Usage errors, exit 2.
 * - `writeFileAtomic`: the bytes go to a temporary file in the target's folder (so the rename stays on
 *   one file system), named with 64 random bits and created exclusively with O_NOFOLLOW (a planted file
 *   or link at that name is an error, never written through), synced, then renamed over the target.
 *   On any failure (the target is a directory, the disk is full) the temporary file is removed and the
 *   error names the target, not the temporary file; an existing target is then left as it was.
 * - Replacing an existing file is allowed and said on stderr (`replaced the existing file '...'`).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, lstatSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileKind } from '../image/decode-node.js';
import { CliError, info } from './common.js';

/** What `checkOutput` found at the target. */
export interface OutputCheck {
  /** A regular file is there already: writing replaces it. */
  readonly exists: boolean;
}

/**
 * Checks an output path before the command does its work (see the file comment). `inputs` are the
 * files the command reads (undefined entries are skipped); the output must be none of them.
 */
export function checkOutput(path: string, inputs: readonly (string | undefined)[] = []): OutputCheck {
  const dir = dirname(path);
  const dirStats = statOrNull(dir, statSync);
  if (dirStats === null) throw new CliError(`cannot write '${path}': folder '${dir}' does not exist`, 2);
  if (!dirStats.isDirectory()) throw new CliError(`cannot write '${path}': '${dir}' is not a folder`, 2);
  const target = statOrNull(path, lstatSync);
  if (target === null) return { exists: false };
  if (target.isDirectory()) throw new CliError(`cannot write '${path}': it is a directory, expected a file name`, 2);
  if (target.isSymbolicLink()) {
    throw new CliError(`cannot write '${path}': it is a symbolic link, and outputs are never written through links; name the file itself, or remove the link`, 2);
  }
  if (!target.isFile()) throw new CliError(`cannot write '${path}': it is ${fileKind(target)}, expected a regular file or a new name`, 2);
  for (const input of inputs) {
    if (input === undefined) continue;
    const s = statOrNull(input, statSync);
    if (s !== null && s.dev === target.dev && s.ino === target.ino) {
      throw new CliError(`refusing to write '${path}': it is the input '${input}' (the same file), which writing would replace; choose another output name`, 2);
    }
  }
  return { exists: true };
}

/**
 * Writes `data` to `path` through an exclusive, unpredictable temporary file and a rename (see the file
 * comment). Runs `checkOutput` again first, so that nothing changed since the command began goes
 * unnoticed. Returns whether an existing file was replaced (and says so on stderr).
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, options: { inputs?: readonly (string | undefined)[] } = {}): { replaced: boolean } {
  // A directory at the target is left to the rename below (EISDIR), so that the clean-up path is the
  // one every late failure takes; checkOutput refuses it up front for the commands.
  const before = statOrNull(path, lstatSync);
  const { exists } = before?.isDirectory() ? { exists: false } : checkOutput(path, options.inputs);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const { fd, tmp } = createTemp(path);
  try {
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone; the error that matters is the one below
    }
    throw new CliError(`cannot write '${path}': ${describeErrno(e)}; nothing was written${exists ? ' (the existing file is unchanged)' : ''}`);
  }
  if (exists) info(`replaced the existing file '${path}'`);
  return { replaced: exists };
}

/** A new file beside `path`, `.<name>.<16 hex digits>.tmp`, created exclusively, never through a link. */
function createTemp(path: string): { fd: number; tmp: string } {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
  for (let attempt = 0; ; attempt++) {
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      return { fd: openSync(tmp, flags, 0o666), tmp };
    } catch (e) {
      // EEXIST: a file (or link) is at a name that has 2^-64 odds; try another, a few times.
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 3) continue;
      throw new CliError(`cannot write '${path}': ${describeErrno(e)}; nothing was written`);
    }
  }
}

function statOrNull(path: string, stat: (p: string) => Stats): Stats | null {
  try {
    return stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new CliError(`cannot check '${path}': ${describeErrno(e)}`);
  }
}

/** A system error in words, without the paths Node puts in its message (they would name the temporary file). */
function describeErrno(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    EISDIR: 'it is a directory',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is exceeded',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOENT: 'its folder does not exist',
    ENOTDIR: 'a part of its path is not a folder',
    EIO: 'an input/output error',
    EEXIST: 'temporary names beside it are taken',
  };
  if (code !== undefined) return `${words[code] ?? 'a system error'} (${code})`;
  return e instanceof Error ? e.message : String(e);
}
