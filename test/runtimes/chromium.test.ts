/**
 * Headless Chromium: the README's browser page (an import map onto the installed package) and its
 * Web Worker (a module worker plus the page that starts it), verbatim, served from the consumer app
 * by a static file server on 127.0.0.1 that this test runs; the pages fetch cat.jpg themselves. The
 * page's snippet also runs with 'cat.jpg' replaced by 'cat.png' (the one substitution). A probe
 * (not README code), in a page and in a module worker, reports the kernel build and the bad-input
 * errors. Chromium is driven by
 * playwright-core at $CHROMIUM_PATH (default /usr/bin/chromium, Debian's, installed by
 * scripts/ci-webgpu-setup.sh), with nothing that reaches the network.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareWithNode,
  consumerApp,
  consumerRootDir,
  genericErrorNames,
  nodeBadInputErrors,
  probeModule,
  readmeSnippet,
  runtimeAvailable,
  type Classified,
  type ConsumerApp,
  type Image,
  type Probe,
} from './consumer.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
};

/**
 * Serves the files under `root` (GET only, nothing outside it) on 127.0.0.1; with `isolated`, with
 * the headers that make a page cross-origin isolated (SharedArrayBuffer, so wasm threads).
 */
function serve(root: string, isolated = false): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (req.method !== 'GET' || !path.startsWith(root + sep) || !existsSync(path)) {
      res.writeHead(404).end('not found');
      return;
    }
    const coi = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', ...coi });
    res.end(readFileSync(path));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

const PROBE_PAGE = `<!doctype html>
<output id="result"></output>
<script type="module">
  import { probe } from './probe.js';
  document.getElementById('result').textContent = JSON.stringify(await probe());
</script>
`;

/** The probe again, in a module worker. */
const PROBE_WORKER_PAGE = `<!doctype html>
<output id="result"></output>
<script type="module">
  const worker = new Worker('./probe-worker.js', { type: 'module' });
  worker.onmessage = ({ data }) => (document.getElementById('result').textContent = JSON.stringify(data));
</script>
`;

describe("headless Chromium: the README's page and Web Worker", () => {
  let app: ConsumerApp;
  let available = false;
  let context: BrowserContext | undefined;
  let server: Server | undefined;
  let base = '';
  let probe: Probe;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    available = runtimeAvailable('Chromium', CHROMIUM);
    if (!available) return;
    app = await consumerApp();
    writeFileSync(join(app.dir, 'index.html'), readmeSnippet('browser-page'));
    writeFileSync(join(app.dir, 'index-png.html'), readmeSnippet('browser-page').replaceAll("'cat.jpg'", "'cat.png'"));
    writeFileSync(join(app.dir, 'classify-worker.js'), readmeSnippet('web-worker'));
    writeFileSync(join(app.dir, 'worker.html'), readmeSnippet('web-worker-page'));
    writeFileSync(join(app.dir, 'probe.js'), probeModule('./node_modules/resnet-ts/dist/index.js'));
    writeFileSync(join(app.dir, 'probe.html'), PROBE_PAGE);
    writeFileSync(join(app.dir, 'probe-worker.js'), "import { probe } from './probe.js';\nself.postMessage(await probe());\n");
    writeFileSync(join(app.dir, 'probe-worker.html'), PROBE_WORKER_PAGE);
    ({ server, url: base } = await serve(app.dir));
    cleanups.push(() => new Promise((ok) => server!.close(ok)));
    const profile = mkdtempSync(join(consumerRootDir(), 'chromium-profile-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    cleanups.push(() => context!.close());
    probe = JSON.parse(await resultOf('probe.html')) as Probe;
  }, 600_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** Opens `page` and returns the text it writes into #result (at most 60 s). */
  async function resultOf(path: string): Promise<string> {
    const page = await context!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${base}/${path}`);
      await page.waitForFunction(() => document.getElementById('result')?.textContent, undefined, { timeout: 60_000 }).catch((e: Error) => {
        throw new Error(`${path}: no result in 60 s (${e.message}); page errors: ${errors.join('; ') || 'none'}`);
      });
      expect(errors, `${path}: page errors`).toEqual([]);
      return (await page.textContent('#result'))!;
    } finally {
      await page.close();
    }
  }

  const pages: [string, string, Image][] = [
    ['the page (ES modules through an import map)', 'index.html', 'cat.jpg'],
    ['the page on cat.png', 'index-png.html', 'cat.png'],
    ['the module Web Worker', 'worker.html', 'cat.jpg'],
  ];
  for (const [what, path, image] of pages) {
    it(`${what} classifies ${image} with the embedded model like Node`, async () => {
      if (!available) return;
      const got = JSON.parse(await resultOf(path)) as Classified & { error?: string };
      expect(got.error, `${path}: the worker's error`).toBeUndefined();
      await compareWithNode(`Chromium ${path}`, got, image, probe.variant);
    });
  }

  it('gets the named errors Node gets for an unknown model, a truncated JPEG and a non-image, in a page and in a worker', async () => {
    if (!available) return;
    const inWorker = JSON.parse(await resultOf('probe-worker.html')) as Probe;
    const want = await nodeBadInputErrors();
    for (const [where, p] of [['page', probe], ['worker', inWorker]] as const) {
      console.log(`Chromium ${where} bad input: ${Object.entries(p.errors).map(([k, e]) => `${k} -> ${e.name}: ${e.message}`).join('; ')}`);
      expect(genericErrorNames(p.errors), where).toEqual([]);
      expect(p.errors, where).toEqual(want);
    }
    expect(inWorker.variant).toBe(probe.variant);
  });

  it('runs single-threaded in a page that is not cross-origin isolated and says why; threaded in one that is, with the same logits', async () => {
    if (!available) return;
    console.log(`Chromium threads, plain page: ${JSON.stringify(probe.threads)}`);
    expect(probe.threads.count).toBe(1);
    expect(probe.threads.equal).toBe(true);
    expect(probe.threads.note).toMatch(/not cross-origin isolated/);
    const { server: coiServer, url } = await serve(app.dir, true);
    try {
      const page = await context!.newPage();
      try {
        await page.goto(`${url}/probe.html`);
        await page.waitForFunction(() => document.getElementById('result')?.textContent, undefined, { timeout: 120_000 });
        const isolated = JSON.parse((await page.textContent('#result'))!) as Probe;
        const cores = await page.evaluate(() => navigator.hardwareConcurrency);
        console.log(`Chromium threads, cross-origin isolated page (${cores} cores): ${JSON.stringify(isolated.threads)}`);
        expect(isolated.threads).toEqual({ count: Math.min(cores, 8), note: cores > 1 ? null : isolated.threads.note, equal: true });
        expect(cores, 'a machine with one core cannot show threads').toBeGreaterThan(1);
      } finally {
        await page.close();
      }
    } finally {
      await new Promise((ok) => coiServer.close(ok));
    }
  });
});
