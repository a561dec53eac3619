/**
 * The browser/worker entry point (src/index.ts) must reach no Node built-in and no package:
 * zero runtime dependencies. Walks every static and dynamic relative import from it.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function bareImports(entry: string): string[] {
  const seen = new Set<string>();
  const bare: string[] = [];
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.push(`${relative(SRC, file)} -> ${spec}`);
    }
  };
  walk(resolve(SRC, entry));
  return bare;
}

describe('entry points', () => {
  it('resnet-ts (src/index.ts) imports no Node built-in and no package', () => {
    expect(bareImports('index.ts')).toEqual([]);
  });
  it('the built `resnet` bin is executable, so `npx resnet` runs it', () => {
    const bin = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).bin.resnet;
    expect(statSync(new URL(`../${bin}`, import.meta.url)).mode & 0o111).not.toBe(0);
  });
  it('resnet-ts/node is where Node-only helpers live', () => {
    const nodeImports = bareImports('node.ts');
    expect(nodeImports.some((s) => s.includes('node:fs'))).toBe(true);
  });
});
