/**
 * Issue 15 item 9: use after dispose is an error; Model is Disposable (`using`); model names are a
 * union type that still takes any string. The type checks run tsc as a consumer of the published
 * declarations (dist/, built by `pretest`), without skipLibCheck, as test/types.test.ts does.
 */
import { describe, expect, it } from 'vitest';
import { createModel, Model, ModelDisposedError } from '../src/api.js';
import { MODELS, UnknownModelError, type ModelName } from '../src/models/config.js';
import { Tensor } from '../src/tensor.js';
import { typeCheckConsumer } from './helpers/typecheck.js';

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

const typeCheck = (lib: string[], types: string[], source: string): string =>
  typeCheckConsumer({ 'app.ts': source }, { module: 'esnext', moduleResolution: 'bundler', lib, types });

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
