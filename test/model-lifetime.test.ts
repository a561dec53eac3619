/**
 * Issue 15 item 9: use after dispose is an error; Model is Disposable (`using`); model names are a
 * union type that still takes any string. The type checks run tsc as a consumer of the published
 * declarations (dist/, built by `pretest`), without skipLibCheck, as test/types.test.ts does.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, Model, ModelDisposedError } from '../src/api.js';
import { MODELS, UnknownModelError, type ModelName } from '../src/models/config.js';
import { Tensor } from '../src/tensor.js';

const x = new Tensor(new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]);

describe('model lifetime', () => {
  for (const backend of ['reference', 'wasm'] as const) {
    it(`${backend}: forward, forwardAll and settle after dispose() throw ModelDisposedError (before: a silent recompile)`, async () => {
      const m = await createModel('resnet20', { backend });
      await m.forward(x);
      m.dispose();
      await expect(m.forward(x)).rejects.toThrow(ModelDisposedError);
      await expect(m.forward(x)).rejects.toThrow(/forward: model resnet20 was disposed; expected a live model/);
      await expect(m.forwardAll(x)).rejects.toThrow(ModelDisposedError);
      await expect(m.settle()).rejects.toThrow(/settle: model resnet20 was disposed/);
      m.dispose(); // idempotent
      // a model disposed before its first forward never compiles
      const n = await createModel('resnet20', { backend });
      n.dispose();
      await expect(n.forward(x)).rejects.toThrow(ModelDisposedError);
    });
  }
  it('Symbol.dispose disposes, where the runtime has the symbol (Node 20 does)', async () => {
    expect(typeof Symbol.dispose).toBe('symbol');
    const m = await createModel('resnet20', { backend: 'reference' });
    expect(typeof m[Symbol.dispose]).toBe('function');
    m[Symbol.dispose]();
    await expect(m.forward(x)).rejects.toThrow(ModelDisposedError);
    expect(Object.getOwnPropertyNames(Model.prototype)).not.toContain('undefined');
  });
  it('an unknown name still type-checks as a string and gets a "did you mean" at run time', async () => {
    const name: string = 'ResNet5O_vd';
    await expect(createModel(name)).rejects.toThrow(UnknownModelError);
    await expect(createModel(name)).rejects.toThrow(/did you mean 'ResNet50_vd'/);
    const names: ModelName[] = MODELS.map((m) => m.name as ModelName);
    expect(names).toContain('resnet50');
  });
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function typeCheck(lib: string[], types: string[], source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-ts-lifetime-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules/resnet-ts'));
  symlinkSync(join(ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
  symlinkSync(join(ROOT, 'node_modules/undici-types'), join(dir, 'node_modules/undici-types'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
  writeFileSync(join(dir, 'app.ts'), source);
  const compilerOptions = { target: 'ES2022', module: 'esnext', moduleResolution: 'bundler', strict: true, noEmit: true, skipLibCheck: false, lib, types };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts'] }));
  try {
    execFileSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || String(e);
  }
}

const NAMES = `
import { createModel, type ModelName } from 'resnet-ts';
export const known: ModelName[] = ['resnet50', 'ResNet50_vd', 'ResNeXt101_vd_64x4d', 'resnet20'];
// @ts-expect-error: a misspelt name is not a ModelName
export const wrong: ModelName = 'resnet5O';
export const anyString = (s: string) => createModel(s);
export const prefixed = () => createModel('timm:resnet50d');
`;

const USING = `
import { createModel } from 'resnet-ts';
export async function run(): Promise<number> {
  using model = await createModel('resnet20');
  return model.numClasses;
}
`;

describe('published types: ModelName and Symbol.dispose, as a consumer without skipLibCheck', () => {
  it('lib ES2022 alone, no @types: the declarations (Symbol.dispose included) and the name union type-check', () => {
    expect(typeCheck(['ES2022'], [], NAMES)).toBe('');
  });
  it('lib ES2022 + esnext.disposable: `using model = await createModel(...)` type-checks', () => {
    expect(typeCheck(['ES2022', 'esnext.disposable'], [], USING + NAMES.replace(/^import .*$/m, "import { type ModelName } from 'resnet-ts';"))).toBe('');
  });
  it('lib ESNext with @types/node 20 (both declare Symbol.dispose): `using` type-checks', () => {
    expect(typeCheck(['ESNext'], ['node'], USING)).toBe('');
  });
  it('the check is real: a Model is not Disposable without dispose', () => {
    expect(typeCheck(['ES2022', 'esnext.disposable'], [], `${USING}\nusing bad = { close() {} };\n`)).toMatch(/TS2850|Symbol\.dispose/);
  });
});
