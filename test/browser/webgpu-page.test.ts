/**
 * The browser build on WebGPU: scripts/build-browser.mjs bundles the library, a tiny HTTP server
 * on 127.0.0.1 serves it (WebGPU needs a secure context: localhost is one), headless Chromium
 * (`--enable-unsafe-webgpu`, driven by playwright-core) imports it in a page and runs models on
 * the 'webgpu' backend and on the 'reference' backend, in the page. The outputs must agree within
 * max |webgpu - reference| <= 1e-3 * max |reference|.
 *
 * Needs Chromium (`CHROMIUM_PATH`, default /usr/bin/chromium; scripts/ci-webgpu-setup.sh installs
 * it). Under CI a missing browser or adapter is a failure; elsewhere the test prints why it returns.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { buildBrowserBundle } from '../../scripts/build-browser.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium flags: WebGPU on, and nothing that reaches the network or a profile. */
const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox', // we run as root in CI containers
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Models run in the page: name, batch, input size. */
const MODELS = [
  ['resnet20', 2, 32],
  ['resnet18d', 1, 64],
] as const;

/**
 * The page: imports the bundle as any site would and exposes `runModels`, which runs each model on
 * 'webgpu' and on 'reference' with the same seeded weights and input and returns the errors.
 */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>resnet-ts on WebGPU</title>
<script type="module">
import { createModel, mulberry32, Tensor } from './resnet-ts.js';

window.runModels = async (models) => {
  if (!navigator.gpu) return { unavailable: 'navigator.gpu is missing in the page' };
  if (!(await navigator.gpu.requestAdapter())) return { unavailable: 'navigator.gpu.requestAdapter() returned null' };
  const runs = [];
  let adapter = '';
  for (const [model, batch, size] of models) {
    const rand = mulberry32(batch * 1000 + size);
    const input = new Tensor(new Float32Array(batch * 3 * size * size).map(() => rand() * 2 - 1), [batch, 3, size, size]);
    const gpu = await createModel(model, { seed: 1, backend: 'webgpu' });
    const ref = await createModel(model, { seed: 1, backend: 'reference' });
    adapter = gpu.backend.adapter;
    let t = performance.now();
    const got = await gpu.forward(input);
    const webgpuMs = performance.now() - t;
    t = performance.now();
    const want = await ref.forward(input);
    const referenceMs = performance.now() - t;
    let maxAbs = 0;
    let maxRef = 0;
    for (let i = 0; i < want.data.length; i++) {
      const d = Math.abs(got.data[i] - want.data[i]);
      maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
      maxRef = Math.max(maxRef, Math.abs(want.data[i]));
    }
    gpu.dispose();
    runs.push({ model, shape: got.shape, refShape: want.shape, maxAbs, maxRef, webgpuMs, referenceMs });
  }
  // 'auto' takes the page's adapter, or says why it passed it over.
  const auto = await createModel('resnet20', { seed: 1, backend: 'auto' });
  const passedOver = auto.backendChoice.passedOver.find((p) => p.name === 'webgpu');
  const autoChoice = { backend: auto.backend.name, reason: auto.backendChoice.reason, webgpuPassedOver: passedOver ? passedOver.reason : '' };
  return { adapter, runs, autoChoice };
};
</script>
`;

interface PageResult {
  readonly unavailable?: string;
  readonly adapter?: string;
  readonly autoChoice?: { backend: string; reason: string; webgpuPassedOver: string };
  readonly runs?: { model: string; shape: number[]; refShape: number[]; maxAbs: number; maxRef: number; webgpuMs: number; referenceMs: number }[];
}

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function skipOrFail(reason: string): void {
  if (process.env.CI) throw new Error(`browser WebGPU test required under CI: ${reason}`);
  console.warn(`skipping the browser WebGPU test: ${reason}`);
}

it('runs resnet20 and resnet18d through the browser bundle on WebGPU in headless Chromium, matching the reference', async () => {
  if (!existsSync(CHROMIUM)) return skipOrFail(`no Chromium at ${CHROMIUM} (set CHROMIUM_PATH or run scripts/ci-webgpu-setup.sh)`);

  const work = mkdtempSync(join(tmpdir(), 'resnet-ts-browser-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const bundle: string = await buildBrowserBundle({ outdir: join(work, 'bundle') });

  const files: Record<string, { type: string; body: Buffer | string }> = {
    '/': { type: 'text/html', body: PAGE },
    '/resnet-ts.js': { type: 'text/javascript', body: readFileSync(bundle) },
  };
  const server: Server = createServer((req, res) => {
    const f = files[req.url ?? ''];
    res.writeHead(f ? 200 : 404, { 'content-type': f?.type ?? 'text/plain' });
    res.end(f?.body ?? 'not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  cleanups.push(() => new Promise((ok) => server.close(ok)));
  const port = (server.address() as { port: number }).port;

  const context: BrowserContext = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${port}/`);

  await page.waitForFunction('window.runModels !== undefined', undefined, { timeout: 60_000 });
  // A string, so that vitest's transform never touches code that runs in the page.
  const result = (await page.evaluate(`window.runModels(${JSON.stringify(MODELS)})`)) as PageResult;

  expect(errors).toEqual([]);
  if (result.unavailable) return skipOrFail(result.unavailable);
  console.log(
    `browser WebGPU adapter: ${result.adapter}\n` +
      result.runs!.map((r) => `  ${r.model}: max|diff| ${r.maxAbs.toExponential(2)} of max|ref| ${r.maxRef.toFixed(3)}; webgpu ${r.webgpuMs.toFixed(0)} ms, reference ${r.referenceMs.toFixed(0)} ms`).join('\n'),
  );
  expect(result.runs).toHaveLength(MODELS.length);
  const auto = result.autoChoice!;
  if (auto.backend !== 'webgpu') expect(auto.webgpuPassedOver, `auto chose ${auto.backend}: ${auto.reason}`).toMatch(/\w/);
  for (const r of result.runs!) {
    expect(r.shape, r.model).toEqual(r.refShape);
    expect(r.maxRef, r.model).toBeGreaterThan(0);
    expect(r.maxAbs, `${r.model}: max |diff| ${r.maxAbs} vs max |ref| ${r.maxRef}`).toBeLessThanOrEqual(1e-3 * r.maxRef);
  }
}, 300_000);
