#!/usr/bin/env node
/**
 * Builds the browser bundle of the library: src/index.ts (the browser/worker-safe entry point) as
 * one ES module, build/browser/resnet-ts.js, with esbuild. The optional Node-only imports that the
 * WebGPU backend makes through a variable (`webgpu`, `node:fs`) are not followed, so nothing
 * Node-only lands in the bundle; in a browser the backend uses navigator.gpu.
 *
 *   node scripts/build-browser.mjs [--outdir build/browser] [--minify]
 */
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles src/index.ts for browsers; returns the path of the bundle. */
export async function buildBrowserBundle({ outdir = join(root, 'build', 'browser'), minify = false } = {}) {
  const outfile = join(outdir, 'resnet-ts.js');
  const result = await build({
    entryPoints: [join(root, 'src', 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: true,
    logLevel: 'silent',
    metafile: true,
  });
  // Guard the promise of the entry point: no Node built-in may reach the browser build.
  const nodeImports = Object.values(result.metafile.inputs)
    .flatMap((input) => input.imports)
    .filter((i) => i.path.startsWith('node:') || ['fs', 'path', 'url', 'os', 'child_process'].includes(i.path));
  if (nodeImports.length > 0) {
    throw new Error(`the browser bundle imports Node built-ins: ${[...new Set(nodeImports.map((i) => i.path))].join(', ')}`);
  }
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const outfile = await buildBrowserBundle({ outdir: at >= 0 ? resolve(args[at + 1]) : undefined, minify: args.includes('--minify') });
  console.log(`browser bundle: ${outfile}`);
}
