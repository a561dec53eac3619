/**
 * What a user downloads: the packed tarball installed with a plain `npm install` into a fresh app
 * (test/runtimes/consumer.ts). Budgets are ceilings a little over the figures measured on
 * 2026-12-03 (printed by every run); raise one only with the reason in the commit.
 *
 * node_modules is measured two ways: apparent size (the sum of file lengths, what `du -sb`
 * prints; the budget applies to it, since it is the same on every file system) and bytes on disk
 * (allocated blocks, `du -s`; printed, and held to the same 15 MB, which small files in 4 KiB
 * blocks make the larger figure). Also: nothing large ships twice (each .wasm's bytes sit in at
 * most one other file, as base64, never in a .d.ts; the embedded checkpoint in exactly one).
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { consumerApp, REPO, type ConsumerApp } from './runtimes/consumer.js';

const MB = 1_000_000;
const KB = 1_000;

/** Ceilings, in bytes; measured on 2026-12-03 in the comments. */
const BUDGET = {
  nodeModules: 15 * MB, // the issue's limit; measured 2.27 MB apparent, 2.70 MB on disk (resnet-ts and jpeg-js)
  tarball: 1_400 * KB, // 1281.8 kB packed, 2092.6 kB unpacked (1467 kB of it the embedded ResNet-20's module)
  // Raised from 95 kB on 2026-12-04 (98.0 kB gzipped, 271 kB minified): issue 17's bounds on every reader (+2.5 kB),
  // issue 16's ndarray views and model.profile; dump/verify went to resnet-ts/golden to stay out.
  // Raised from 102 kB on 2026-12-04 (103.6 kB gzipped): issue 18's threads (the pool, the shared-memory
  // build made from the same kernels at load, each kernel's part arguments) and issue 19's narrow weights.
  // Raised from 106 kB on 2026-12-04 (106.6 kB gzipped, 304.8 kB minified): issue 14's streamed cold start
  // (weights packed per conv as it runs, in parts; kernels warmed at load) and the stem's bands.
  // Raised from 108 kB on 2026-12-04 (108.7 kB gzipped, 311.3 kB minified): streamed forwards on the threads
  // (each thread packs its own panels: two packing kernels; the pool's readiness read from shared memory).
  coreMinGz: 111 * KB, // `resnet-ts`, wasm inlined: 239.9 kB minified, 86.0 kB gzipped on 2026-12-03
  defaultModelMinGz: 1_250 * KB, // `resnet-ts/default-model` (its weights and the core): 1641.1 kB, 1144.9 kB gzipped
  // Raised from 24 kB on 2026-12-04: issue 18's threaded kernels (each splits its output by part) and the
  // linear_f32 export: 22387 B plain SIMD, 24865 B relaxed SIMD.
  wasm: 26 * KB, // each .wasm: 19288 B plain SIMD, 21778 B relaxed SIMD on 2026-12-03
};

interface DirSize {
  apparent: number;
  disk: number;
  files: number;
}

function dirSize(path: string): DirSize {
  const total = { apparent: 0, disk: 0, files: 0 };
  const walk = (p: string) => {
    const st = lstatSync(p);
    total.apparent += st.size;
    total.disk += st.blocks * 512;
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else total.files++;
  };
  walk(path);
  return total;
}

/** `spec` bundled from the app (as a user's bundler resolves it), minified, then gzipped (level 9). */
async function minGz(app: ConsumerApp, spec: string): Promise<{ min: number; gz: number }> {
  const out = await build({
    stdin: { contents: `export * from '${spec}';`, resolveDir: app.dir, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const js = out.outputFiles[0].contents;
  return { min: js.length, gz: gzipSync(js, { level: 9 }).length };
}

const kb = (n: number) => `${(n / KB).toFixed(1)} kB`;

describe('install size (a fresh app, npm install of the packed tarball)', () => {
  let app: ConsumerApp;
  beforeAll(async () => {
    app = await consumerApp();
  }, 600_000);

  it(`node_modules is under ${BUDGET.nodeModules / MB} MB`, () => {
    const nm = dirSize(join(app.dir, 'node_modules'));
    const packages = readdirSync(join(app.dir, 'node_modules')).filter((e) => !e.startsWith('.'));
    console.log(
      `consumer node_modules: ${(nm.apparent / MB).toFixed(2)} MB apparent, ${(nm.disk / MB).toFixed(2)} MB on disk, ` +
        `${nm.files} files, packages: ${packages.join(', ')}`,
    );
    expect(nm.apparent).toBeLessThan(BUDGET.nodeModules);
    expect(nm.disk).toBeLessThan(BUDGET.nodeModules);
  });

  it('the tarball stays in its budget', () => {
    const largest = [...app.files].sort((a, b) => b.size - a.size).slice(0, 5);
    console.log(
      `tarball: ${kb(app.tarballBytes)} packed, ${kb(app.unpackedBytes)} unpacked, ${app.files.length} files; largest: ` +
        largest.map((f) => `${f.path} ${kb(f.size)}`).join(', '),
    );
    expect(app.tarballBytes).toBeLessThan(BUDGET.tarball);
  });

  it('each .wasm stays in its budget', () => {
    const wasm = app.files.filter((f) => f.path.endsWith('.wasm'));
    console.log(`wasm: ${wasm.map((f) => `${f.path} ${f.size} B`).join(', ')}`);
    expect(wasm.length).toBeGreaterThan(0);
    for (const f of wasm) expect(f.size, f.path).toBeLessThan(BUDGET.wasm);
  });

  it('the core and the default model, minified and gzipped, stay in their budgets', async () => {
    const core = await minGz(app, 'resnet-ts');
    const model = await minGz(app, 'resnet-ts/default-model');
    console.log(
      `resnet-ts: ${kb(core.min)} minified, ${kb(core.gz)} gzipped; ` + `resnet-ts/default-model: ${kb(model.min)} minified, ${kb(model.gz)} gzipped`,
    );
    expect(core.gz).toBeLessThan(BUDGET.coreMinGz);
    expect(model.gz).toBeLessThan(BUDGET.defaultModelMinGz);
  });

  /** The published files that hold `bytes` as base64, or as they are. */
  function holdersOf(bytes: Buffer): string[] {
    const pkg = join(app.dir, 'node_modules/resnet-ts');
    const b64 = bytes.toString('base64');
    // 64 characters from the middle, at a multiple of 4: the same in any base64 of these bytes.
    const at = Math.floor(b64.length / 8) * 4;
    const probe = Buffer.from(b64.slice(at, at + 64), 'latin1');
    return app.files
      .filter((f) => {
        const file = readFileSync(join(pkg, f.path));
        return file.includes(probe) || (file.length === bytes.length && file.equals(bytes));
      })
      .map((f) => f.path);
  }

  it('no published file repeats the kernels (as base64 or bytes); no .d.ts carries them', () => {
    for (const w of app.files.filter((f) => f.path.endsWith('.wasm'))) {
      const holders = holdersOf(readFileSync(join(app.dir, 'node_modules/resnet-ts', w.path))).filter((p) => p !== w.path);
      console.log(`base64 of ${w.path}: in ${holders.length ? holders.join(', ') : 'no file'}`);
      expect(holders.filter((p) => p.endsWith('.d.ts')), `${w.path}'s base64 in type declarations`).toEqual([]);
      expect(holders.length, `${w.path}'s base64 in ${holders.join(', ')}`).toBeLessThanOrEqual(1);
    }
  });

  it('the embedded ResNet-20 checkpoint ships once', () => {
    const th = readFileSync(join(REPO, 'assets/weights/cifar10-resnet20-akamaster/resnet20-12fca82f.th'));
    const holders = holdersOf(th);
    console.log(`resnet20-12fca82f.th (${th.length} B), as base64 or bytes: in ${holders.join(', ') || 'no file'}`);
    expect(holders).toHaveLength(1);
  });
});
