// Bundles the package's entry points into dist/ with esbuild: one file per entry, code shared
// between entries split into dist/chunk-*.js, so every module (the kernels registry of the
// `workerd` entry, the Model class) exists once whichever entries an app imports. The bundles
// load faster than ~60 separate modules (Node's import of the core: about 60 -> 30 ms here) and a
// page with an import map fetches a handful of files, not sixty. Not done, measured (ResNet-18 cold
// starts, 15 alternating rounds, 2026-12-04): the core entry as one file instead of its 19 was 4 ms
// faster to import inside a cold start and no faster to first logits (paired median +0.5 ms);
// minifying (whitespace and syntax) saved about 2 ms of import measured alone, not worth
// unreadable stack traces. Declarations come from tsc (`--emitDeclarationOnly`), which also
// type-checks.
//   node scripts/build-dist.mjs
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

// Stale chunks of an earlier build would stay in the package.
for (const f of readdirSync(dist)) if (/^chunk-.*\.js$/.test(f)) await rm(join(dist, f));

await build({
  entryPoints: {
    index: 'src/index.ts',
    'index.node': 'src/index-node.ts',
    'default-model': 'src/default-model.ts',
    labels: 'src/labels.ts',
    golden: 'src/golden.ts',
    node: 'src/node.ts',
    worker: 'src/worker.ts',
    'cli/main': 'src/cli/main.ts',
  },
  absWorkingDir: root,
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // Packages (jpeg-js, pngjs, the optional webgpu) and Node built-ins stay imports; the kernels'
  // .wasm stays an import next to dist/worker.js for the Workers bundler to turn into a module.
  packages: 'external',
  external: ['node:*', '*.wasm'],
  logLevel: 'warning',
});
