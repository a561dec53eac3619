/**
 * The published declarations type-check for a consumer, without `skipLibCheck`, under TypeScript's
 * `node16` and `bundler` resolution: a Node app (@types/node 20, no DOM lib), a browser app (DOM lib,
 * no @types), and a bare one (ES2022 only, as a Worker without workers-types). The consumer reaches
 * the package through `exports`, as an installed dependency would (node_modules/resnet-ts links to
 * this repo's root; dist/ is built by `pretest`). A `@ts-expect-error` line proves the types are
 * real: if they were `any`, the unused directive would be the error.
 */
import { describe, expect, it } from 'vitest';
import { typeCheckConsumer } from './helpers/typecheck.js';


const CORE = `
import { createModel, decodeImage, preprocess, CIFAR10_LABELS, initWasm, type Tensor } from 'resnet-ts';
import { createDefaultModel, DEFAULT_MODEL, defaultWeights } from 'resnet-ts/default-model';
import { IMAGENET_LABELS } from 'resnet-ts/labels';

export async function run(bytes: Uint8Array): Promise<string> {
  const model = await createDefaultModel({ backend: 'auto' });
  const x: Tensor = preprocess(await decodeImage(bytes), DEFAULT_MODEL.preset);
  const y = await model.forward(x);
  const other = await createModel('resnet18', { weights: defaultWeights(), strict: false });
  await initWasm({ relaxed: false });
  // @ts-expect-error: the model name is a string, not a number
  await createModel(42);
  return CIFAR10_LABELS[y.data.indexOf(Math.max(...y.data))] + IMAGENET_LABELS.length + other.name;
}
`;

const NODE = `
import { decodeImageFile, createDefaultModel } from 'resnet-ts/node';
export const both = [decodeImageFile, createDefaultModel];
`;

interface Consumer {
  readonly name: string;
  readonly compilerOptions: Record<string, unknown>;
  readonly files: Record<string, string>;
}

const CONSUMERS: Consumer[] = [
  {
    name: 'Node app: node16 resolution, @types/node 20, lib ES2022',
    compilerOptions: { module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'] },
    files: { 'core.ts': CORE, 'node.ts': NODE },
  },
  {
    name: 'browser app: bundler resolution, lib ES2022 + DOM, no @types',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] },
    files: { 'core.ts': CORE },
  },
  {
    name: 'bare app: bundler resolution, lib ES2022 only, no @types',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022'], types: [] },
    files: { 'core.ts': CORE },
  },
];

const typeCheck = (c: Consumer): string => typeCheckConsumer(c.files, c.compilerOptions);

describe('published types, checked as a consumer without skipLibCheck', () => {
  for (const c of CONSUMERS) {
    it(c.name, () => {
      expect(typeCheck(c)).toBe('');
    });
  }
  it('a type error in the consumer is reported (the check is real)', () => {
    const broken = { ...CONSUMERS[1], files: { 'core.ts': `${CORE}\nexport const n: number = CIFAR10_LABELS;\n` } };
    expect(typeCheck(broken)).toMatch(/TS2322/);
  });
});
