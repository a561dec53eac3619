/**
 * The `resnet` CLI end to end, run as a user runs it (node dist/cli/main.js, built by npm test's
 * pretest step): every command's JSON contract, and errors that say what was expected.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import { mulberry32 } from '../src/models/init.js';
import { readNpy, writeNpy } from '../src/npy.js';
import { Tensor } from '../src/tensor.js';
import { resnet } from './helpers/cli.js';
import { sharedAvailable, sharedPath } from './helpers/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'resnet-cli-'));

function randomNpy(name: string, shape: number[]): string {
  const r = mulberry32(7);
  const t = new Tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => r() * 2 - 1), shape);
  const p = join(tmp, name);
  writeFileSync(p, writeNpy(t));
  return p;
}

describe('resnet models / summary', () => {
  it('models --json lists every model with params, macs, family and variant', () => {
    const r = resnet(['models', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout).models;
    expect(list.length).toBeGreaterThan(60);
    expect(list.find((m: { name: string }) => m.name === 'resnet50')).toMatchObject({ params: 25557032, macs: 4089184256, family: 'resnet', variant: 'vb' });
    expect(list.find((m: { name: string }) => m.name === 'ResNeXt101_vd_64x4d')).toMatchObject({ params: 83474504, family: 'resnext', variant: 'vd' });
    expect(list.find((m: { name: string }) => m.name === 'resnet56')).toMatchObject({ params: 853018, macs: 125485696 });
  });
  it('summary --json has params, paramsWithBnStats and macs at top level, and per-layer rows', () => {
    const r = resnet(['summary', 'ResNet50_vd', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ params: 25576264, paramsWithBnStats: 25629512, macs: 4328824832 });
    expect(s.rows[0]).toMatchObject({ name: 'stem.0.conv', type: 'Conv2D', inputShape: [1, 3, 224, 224], outputShape: [1, 32, 112, 112] });
    const b = JSON.parse(resnet(['summary', 'resnet18', '--input-size', '97', '--batch', '2', '--json']).stdout);
    expect(b.inputShape).toEqual([2, 3, 97, 97]);
    expect(b.rows.at(-1).outputShape).toEqual([2, 1000]);
  });
  it('text summary reads like paddle.summary', () => {
    const r = resnet(['summary', 'resnet20']);
    expect(r.stdout).toMatch(/Total params: 271,098/);
    expect(r.stdout).toMatch(/Trainable params: 269,722/);
    expect(r.stdout).toMatch(/Non-trainable params: 1,376/);
    expect(r.stdout).toMatch(/Forward pass size \(MB\)/);
  });
  it('--help on every command; unknown names suggest the closest', () => {
    for (const c of ['classify', 'eval', 'run', 'models', 'summary', 'convert', 'bench']) {
      const r = resnet([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/^usage: resnet/);
    }
    const r = resnet(['summary', 'resnet5O']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown model 'resnet5O'; did you mean 'resnet50'/);
    expect(resnet(['frobnicate']).stderr).toMatch(/unknown command 'frobnicate'/);
    expect(resnet(['summary', 'resnet50', '--bogus']).code).toBe(2);
  });
});

describe('resnet run', () => {
  it('reads an NCHW .npy and writes the logits, equal to the library on the same backend', async () => {
    const x = randomNpy('x.npy', [3, 3, 57, 57]);
    const y = join(tmp, 'y.npy');
    const r = resnet(['run', '--model', 'resnet18d', '--seed', '5', '--input', x, '--output', y, '--backend', 'reference', '--num-classes', '11', '--json']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ model: 'resnet18d', backend: 'reference', inputShape: [3, 3, 57, 57], outputShape: [3, 11] });
    const got = readNpy(readFileSync(y));
    const m = await createModel('resnet18d', { seed: 5, numClasses: 11, backend: 'reference' });
    const want = await m.forward(readNpy(readFileSync(x)));
    expect([...got.data]).toEqual([...want.data]);
  });
  it('refuses NHWC, float64, Fortran-order and missing inputs, and writes nothing', () => {
    const out = join(tmp, 'never.npy');
    const nhwc = randomNpy('nhwc.npy', [1, 32, 32, 3]);
    let r = resnet(['run', '--model', 'resnet20', '--input', nhwc, '--output', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/looks like NHWC/);
    const f64 = join(tmp, 'f64.npy');
    const bytes = writeNpy(new Tensor(new Float32Array(6), [1, 6]));
    const text = new TextDecoder('latin1').decode(bytes).replace("'<f4'", "'<f8'");
    writeFileSync(f64, Buffer.concat([Buffer.from(text.slice(0, text.indexOf('\n') + 1), 'latin1'), Buffer.alloc(48)]));
    r = resnet(['run', '--model', 'resnet20', '--input', f64, '--output', out]);
    expect(r.stderr).toMatch(/dtype '<f8'/);
    r = resnet(['run', '--model', 'resnet20', '--input', join(tmp, 'nope.npy'), '--output', out]);
    expect(r.stderr).toMatch(/input file '.*nope.npy' does not exist/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('resnet bench', () => {
  it('prints one JSON object on one line with medianMs, p90Ms, imagesPerSecond, gflops', () => {
    const r = resnet(['bench', '--model', 'resnet20', '--backend', 'reference', '--runs', '2', '--warmup', '0', '--batch', '2', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(1);
    const b = JSON.parse(lines[0]);
    for (const k of ['medianMs', 'p90Ms', 'imagesPerSecond', 'gflops']) expect(b[k], k).toBeGreaterThan(0);
    expect(b).toMatchObject({ model: 'resnet20', backend: 'reference', batch: 2, threads: 1 });
    // --threads: the wasm backend's; a usage error with another backend or outside 1..256.
    const two = resnet(['bench', '--model', 'resnet20', '--threads', '2', '--runs', '2', '--warmup', '0', '--json']);
    expect(two.code, two.stderr).toBe(0);
    expect(JSON.parse(two.stdout)).toMatchObject({ backend: 'wasm', threads: 2 });
    const ref = resnet(['bench', '--model', 'resnet20', '--backend', 'reference', '--threads', '2']);
    expect([ref.code, ref.stderr.trim()]).toEqual([2, "resnet: error: --threads sets the wasm backend's threads; expected --backend wasm, auto or none, got 'reference'"]);
    const zero = resnet(['bench', '--model', 'resnet20', '--threads', '0']);
    expect([zero.code, zero.stderr.trim()]).toEqual([2, "resnet: error: --threads expects an integer from 1 to 256, got '0'"]);
  });

  it('has a cold start section: model.timings, the first forward and its total over the warm median, in text and in --json', () => {
    const json = JSON.parse(resnet(['bench', '--model', 'resnet20', '--runs', '2', '--json']).stdout);
    expect(Object.keys(json.coldStart.compileStages)).toEqual(['kernels', 'fuse', 'pack']);
    for (const k of ['read', 'bind', 'build', 'backend', 'compile', 'firstRun', 'createMs', 'firstForwardMs', 'totalMs', 'totalOverWarm']) {
      expect(json.coldStart[k], k).toBeGreaterThanOrEqual(0);
    }
    const text = resnet(['bench', '--model', 'resnet20', '--runs', '2']).stdout;
    expect(text).toMatch(/cold start[^\n]*\n  createModel .*bind.*\n  first forward .*compile .*\(kernels .*pack .*\), first run .*\n  to first logits .* the warm median/);
  });
});
