/**
 * The browser/worker entry point (src/index.ts) must reach no Node built-in and no package:
 * zero runtime dependencies. Walks every static and dynamic relative import from it.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Every bare import reachable from an entry, and the files walked. */
function walkImports(entry: string): { bare: string[]; files: string[] } {
  const seen = new Set<string>();
  const bare: string[] = [];
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (spec.endsWith('.wasm')) bare.push(`${relative(SRC, file)} -> ${spec}`);
      else if (spec.startsWith('.')) walk(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.push(`${relative(SRC, file)} -> ${spec}`);
    }
  };
  walk(resolve(SRC, entry));
  return { bare, files: [...seen] };
}

const bareImports = (entry: string): string[] => walkImports(entry).bare;

describe('entry points', () => {
  it('resnet-ts (src/index.ts) imports no Node built-in and no package', () => {
    expect(bareImports('index.ts')).toEqual([]);
  });
  it('the built `resnet` bin is executable, so `npx resnet` runs it', () => {
    const bin = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).bin.resnet;
    expect(statSync(new URL(`../${bin}`, import.meta.url)).mode & 0o111).not.toBe(0);
  });
  it('resnet-ts/default-model and resnet-ts/labels import no Node built-in and no package', () => {
    expect(bareImports('default-model.ts')).toEqual([]);
    expect(bareImports('labels.ts')).toEqual([]);
  });
  it("the 'workerd' entry is the core entry plus kernels.wasm imported as a module", () => {
    expect(bareImports('worker.ts')).toEqual(['worker.ts -> ./backends/wasm/kernels.wasm']);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.exports['.'].workerd).toBe('./dist/worker.js');
    expect(pkg.exports['.'].default).toBe('./dist/index.js');
  });
  it('nothing reachable from resnet-ts/node needs import.meta (a bundled Worker has no file: URL)', () => {
    const uses = walkImports('node.ts').files.filter((f) => readFileSync(f, 'utf8').includes('import.meta'));
    expect(uses.map((f) => relative(SRC, f))).toEqual([]);
  });
  it('resnet-ts/node is where Node-only helpers live', () => {
    const nodeImports = bareImports('node.ts');
    expect(nodeImports.some((s) => s.includes('node:fs'))).toBe(true);
  });
});
