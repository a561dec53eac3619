/**
 * Issue 17, items 9, 10 and the CLI part of 11: outputs never lose data (temp file beside the target,
 * exclusive and unpredictable, never through a link, removed on failure; never over an input; a
 * replaced file is said), skipped tensors are reported in plain output, numeric options are bounded.
 */
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../src/cli/common.js';
import { checkOutput, writeFileAtomic } from '../src/cli/output.js';
import { writeNpy } from '../src/npy.js';
import { resnet } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'resnet-ts-cli-outputs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** safetensors with a float32 tensor `w` [2] and two int64 scalars, as in a BatchNorm's num_batches_tracked. */
function mixedSafetensors(): Uint8Array {
  const header = JSON.stringify({
    w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    'bn.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [8, 16] },
    'bn2.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [16, 24] },
  });
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + 24);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  new DataView(out.buffer).setFloat32(8 + h.length, 1.5, true);
  new DataView(out.buffer).setFloat32(8 + h.length + 4, -2, true);
  return out;
}

const leftovers = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

describe('convert: never over its input, skipped tensors said (item 10)', () => {
  const dir = join(tmp, 'convert');
  mkdirSync(dir);
  const src = join(dir, 'x.safetensors');
  const original = mixedSafetensors();
  writeFileSync(src, original);

  it('convert x.safetensors x.safetensors is refused (exit 2) and the input is unchanged', () => {
    const r = resnet(['convert', src, src]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to write '.*x\.safetensors': it is the input '.*x\.safetensors' \(the same file\)/);
    expect(Buffer.from(readFileSync(src)).equals(Buffer.from(original))).toBe(true);
  });

  it('the same file under another name (a hard link, a ./ path) is refused too', () => {
    const hard = join(dir, 'hard.safetensors');
    linkSync(src, hard);
    expect(resnet(['convert', src, hard]).code).toBe(2);
    expect(resnet(['convert', src, join(dir, '.', 'x.safetensors')]).code).toBe(2);
    expect(Buffer.from(readFileSync(src)).equals(Buffer.from(original))).toBe(true);
  });

  it('the plain output names the skipped int64 tensors, not only --json', () => {
    const out = join(dir, 'y.safetensors');
    const r = resnet(['convert', src, out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/wrote 1 float32 tensors/);
    expect(r.stderr).toMatch(/skipped 2 tensors that are not floating point \(not written\): bn\.num_batches_tracked \(int64\), bn2\.num_batches_tracked \(int64\)/);
    expect(r.stderr).not.toMatch(/replaced/);
    expect(leftovers(dir)).toEqual([]);
  });

  it('replacing an existing output is said on stderr', () => {
    const out = join(dir, 'z.safetensors');
    writeFileSync(out, 'old contents');
    const r = resnet(['convert', src, out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/replaced the existing file '.*z\.safetensors'/);
    expect(readFileSync(out, 'utf8')).not.toBe('old contents');
  });

  it('an output that is a directory or a symbolic link is refused before anything is read (exit 2)', () => {
    const asDir = join(dir, 'd.safetensors');
    mkdirSync(asDir);
    const r = resnet(['convert', src, asDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot write '.*d\.safetensors': it is a directory/);
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    const link = join(dir, 'l.safetensors');
    symlinkSync(victim, link);
    const l = resnet(['convert', src, link]);
    expect(l.code).toBe(2);
    expect(l.stderr).toMatch(/cannot write '.*l\.safetensors': it is a symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('run --output (items 9, 10)', () => {
  const dir = join(tmp, 'run');
  mkdirSync(dir);
  const x = join(dir, 'x.npy');
  const input = writeNpy({ data: new Float32Array(3 * 32 * 32).fill(0.5), shape: [1, 3, 32, 32] });
  writeFileSync(x, input);

  it('--output equal to --input is refused (exit 2) and the input is unchanged', () => {
    const r = resnet(['run', '--model', 'resnet20', '--input', x, '--output', x]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to write '.*x\.npy': it is the input/);
    expect(Buffer.from(readFileSync(x)).equals(Buffer.from(input))).toBe(true);
  });

  it('writes, says when it replaces, and leaves no temporary file', () => {
    const y = join(dir, 'y.npy');
    expect(resnet(['run', '--model', 'resnet20', '--input', x, '--output', y]).stderr).not.toMatch(/replaced/);
    const again = resnet(['run', '--model', 'resnet20', '--input', x, '--output', y]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/replaced the existing file '.*y\.npy'/);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('writeFileAtomic, the one helper every command writes through (item 9)', () => {
  const dir = join(tmp, 'atomic');
  mkdirSync(dir);

  it('a failure after the temporary file exists (the target is a directory) removes it, and names the target', () => {
    const target = join(dir, 'is-a-dir');
    mkdirSync(target);
    let err: unknown;
    try {
      writeFileAtomic(target, new Uint8Array(1000));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toBe(`cannot write '${target}': it is a directory (EISDIR); nothing was written`);
    expect((err as Error).message).not.toMatch(/\.tmp/);
    expect(leftovers(dir)).toEqual([]);
  });

  it('temporary names are unpredictable: two writes never use the same one, none is left', () => {
    // A planted link at any predictable name (the old `.<name>.<pid>.tmp`) is not what gets opened.
    const target = join(dir, 'out.bin');
    symlinkSync(join(dir, 'planted-target'), join(dir, `.out.bin.${process.pid}.tmp`));
    writeFileAtomic(target, 'one');
    writeFileAtomic(target, 'two');
    expect(readFileSync(target, 'utf8')).toBe('two');
    expect(existsSync(join(dir, 'planted-target'))).toBe(false);
    expect(leftovers(dir)).toEqual([`.out.bin.${process.pid}.tmp`]); // only the planted link itself
  });

  it('refuses a symbolic link at the target and an input given as the target', () => {
    const real = join(dir, 'real.bin');
    writeFileSync(real, 'real');
    const link = join(dir, 'link.bin');
    symlinkSync(real, link);
    expect(() => writeFileAtomic(link, 'x')).toThrow(/it is a symbolic link/);
    expect(() => writeFileAtomic(real, 'x', { inputs: [link] })).toThrow(/it is the input/);
    expect(readFileSync(real, 'utf8')).toBe('real');
    expect(checkOutput(join(dir, 'new.bin'), [real])).toEqual({ exists: false });
    expect(() => checkOutput(join(dir, 'missing-folder', 'o.bin'))).toThrow(/folder '.*missing-folder' does not exist/);
  });
});

describe('numeric options are bounded, usage errors naming the range (item 11)', () => {
  it.each([
    [['run', '--model', 'resnet18', '--num-classes', '1000000000', '--input', 'x.npy', '--output', 'y.npy'], /--num-classes expects an integer from 1 to 100000, got '1000000000'/],
    [['convert', 'a.th', 'b.safetensors', '--model', 'resnet20', '--num-classes', '1000000000'], /--num-classes expects an integer from 1 to 100000/],
    [['summary', 'resnet18', '--num-classes', '1e9'], /--num-classes expects an integer from 1 to 100000, got '1e9'/],
    [['classify', '--top', '0'], /--top expects an integer from 1 to 100000, got '0'/],
    [['classify', '--input-size', '100000'], /--input-size expects an integer from 1 to 4096/],
    [['summary', 'resnet18', '--input-size', '99999'], /--input-size expects sides from 1 to 4096/],
    [['eval', '--data', '.', '--batch', '100000'], /--batch expects an integer from 1 to 4096/],
    [['run', '--model', 'resnet18', '--seed=-1', '--input', 'x.npy', '--output', 'y.npy'], /--seed expects an integer from 0 to 4294967295/],
    [['summary', 'resnet18', '--depth', ''], /--depth expects an integer from 1 to 100/],
  ])('%j', (args, message) => {
    const r = resnet(args as string[], { cwd: tmp });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(/RangeError|\n\s+at /);
  });
});
