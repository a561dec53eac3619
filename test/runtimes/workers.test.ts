/**
 * Cloudflare Workers: the README's `wrangler.toml` and `src/index.js`, verbatim in the consumer app,
 * served by `wrangler dev` (local mode: workerd on 127.0.0.1 on a random free port; no metrics, error
 * reports or `request.cf` download, and its logs and config in this run's temp dir: the test also
 * passes in a network namespace with loopback alone). wrangler bundles the app
 * with the `workerd` export condition, so `resnet-ts` resolves to the entry that imports
 * kernels.wasm as a module. The test POSTs cat.jpg and cat.png to the `fetch` handler and compares
 * the JSON logits with Node's; a second worker (the probe, not README code) returns the kernel
 * build and the bad-input errors. Each `wrangler dev` is stopped (its whole process group) when
 * its requests are done, also on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BIN,
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
  type Probe,
} from './consumer.js';

const WRANGLER = join(BIN, 'wrangler');

/** A port free on 127.0.0.1 now. */
function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/**
 * Runs `wrangler dev` in `dir` until `use(baseUrl)` settles; ready when it prints "Ready on", at
 * most 90 s. Always stops it.
 */
async function withWranglerDev<T>(dir: string, use: (url: string) => Promise<T>): Promise<T> {
  const root = consumerRootDir();
  const port = await freePort();
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false', // miniflare's placeholder `request.cf`, not workers.cloudflare.com/cf.json
    WRANGLER_LOG_PATH: join(root, 'wrangler-logs'),
    XDG_CONFIG_HOME: join(root, 'xdg-config'), // wrangler's user config and its cache of it
    CI: 'true', // non-interactive
  };
  const args = ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-ip', '127.0.0.1', '--inspector-port', String(await freePort())];
  args.push('--show-interactive-dev-session=false', '--log-level', 'info');
  const child: ChildProcess = spawn(WRANGLER, args, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((ok) => child.on('exit', ok));
  try {
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`wrangler dev was not ready in 90 s:\n${output}`)), 90_000);
      const onData = (d: Buffer) => {
        output += d;
        if (/Ready on http/.test(output)) {
          clearTimeout(timer);
          ok();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        fail(new Error(`wrangler dev exited (${code}) before it was ready:\n${output}`));
      });
    });
    return await use(`http://127.0.0.1:${port}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- wrangler dev output ---\n${output}`);
  } finally {
    // The group: wrangler and the workerd it started.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(killer);
  }
}

/** POSTs `body` and parses the JSON answer, within 60 s. */
async function post(url: string, body: Uint8Array<ArrayBuffer>): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 2000)}`);
  return JSON.parse(text);
}

describe("Cloudflare Workers (wrangler dev, local): the README's wrangler.toml and worker", () => {
  let app: ConsumerApp;
  let available = false;
  beforeAll(async () => {
    available = runtimeAvailable('wrangler', WRANGLER);
    if (available) app = await consumerApp();
  }, 600_000);

  it('classifies cat.jpg and cat.png (POSTed to the fetch handler) like Node, and the probe gets named errors', async () => {
    if (!available) return;
    const worker = join(app.dir, 'worker');
    mkdirSync(join(worker, 'src'), { recursive: true });
    writeFileSync(join(worker, 'wrangler.toml'), readmeSnippet('workers-toml'));
    writeFileSync(join(worker, 'src/index.js'), readmeSnippet('workers'));
    const got = await withWranglerDev(worker, async (url) => ({
      'cat.jpg': (await post(url, new Uint8Array(readFileSync(join(app.dir, 'cat.jpg'))))) as Classified,
      'cat.png': (await post(url, new Uint8Array(readFileSync(join(app.dir, 'cat.png'))))) as Classified,
    }));

    // The probe: another worker beside it, with the README's wrangler.toml.
    const probeDir = join(app.dir, 'probe-worker');
    mkdirSync(join(probeDir, 'src'), { recursive: true });
    writeFileSync(join(probeDir, 'wrangler.toml'), readmeSnippet('workers-toml'));
    writeFileSync(join(probeDir, 'src/index.js'), `${probeModule()}export default { async fetch() { return Response.json(await probe()); } };\n`);
    const probe = (await withWranglerDev(probeDir, (url) => post(url, new Uint8Array(0)))) as Probe;

    for (const image of ['cat.jpg', 'cat.png'] as const) await compareWithNode(`workerd ${image}`, got[image], image, probe.variant);
    console.log(`workerd bad input: ${Object.entries(probe.errors).map(([k, e]) => `${k} -> ${e.name}: ${e.message}`).join('; ')}`);
    expect(genericErrorNames(probe.errors)).toEqual([]);
    expect(probe.errors).toEqual(await nodeBadInputErrors());
    // A Worker has no threads to start: it runs on one, says why, and gets the same logits.
    console.log(`workerd threads: ${JSON.stringify(probe.threads)}`);
    expect(probe.threads.count).toBe(1);
    expect(probe.threads.equal).toBe(true);
    expect(probe.threads.note).toMatch(/no Worker to run threads on/);
  }, 300_000);
});
