/**
 * `--pretrained` from the CLI against a real local HTTP server standing in for the hub (through
 * RESNET_TS_MIRROR, the documented override): the first run downloads akamaster's ResNet-20 (its
 * real file from ../shared), verifies it and classifies with it; the second finds it in the cache
 * (RESNET_TS_HOME) and makes no request. The CLI runs as a child process, so the server answers.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePretrained } from '../src/pretrained/index.js';
import { ROOT } from './helpers/cli.js';
import { sharedAvailable, sharedPath } from './helpers/shared.js';

const FILE = 'weights/cifar10-resnet-akamaster/resnet20-12fca82f.th';
const entry = resolvePretrained('resnet20');
const mirrorPath = `/${new URL(entry.url).host}${new URL(entry.url).pathname}`;
const home = mkdtempSync(join(tmpdir(), 'resnet-cli-pretrained-'));
let server: Server | undefined;
let mirror = '';
const requests: string[] = [];

beforeAll(async () => {
  if (!sharedAvailable(FILE)) return;
  const bytes = readFileSync(sharedPath(FILE));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === mirrorPath) res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    else res.writeHead(404).end('not found');
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server?.close();
  rmSync(home, { recursive: true, force: true });
});

function resnet(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const env = { ...process.env, RESNET_TS_HOME: home, RESNET_TS_MIRROR: mirror };
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

describe('resnet classify --pretrained', () => {
  it('downloads, verifies and caches the weights, then uses the cache with no request', async () => {
    if (!server) {
      if (process.env.CI) throw new Error(`../shared/${FILE} is missing`);
      console.log(`skipped: ../shared/${FILE} is missing`);
      return;
    }
    const cat = join(ROOT, 'examples/cifar10/cat-0000.jpg');
    const first = await resnet(['classify', cat, '--model', 'resnet20', '--pretrained', '--top', '1', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(requests).toEqual([mirrorPath]);
    expect(first.stderr).toMatch(/pretrained: resnet20\.cifar10 from https:\/\/.*BSD-2-Clause/);
    const out = JSON.parse(first.stdout);
    expect(out.preset).toBe('cifar');
    expect(out.results[0].top[0].label).toBe('cat');
    const second = await resnet(['classify', cat, '--model', 'resnet20', '--pretrained', '--top', '1', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(requests).toHaveLength(1); // the cache answered
    expect(JSON.parse(second.stdout).results).toEqual(out.results);
  });

  it('an unknown tag and --pretrained with --weights are usage errors', async () => {
    const tag = await resnet(['classify', '--model', 'resnet20.nosuchtag', '--pretrained']);
    expect(tag.code).toBe(2);
    expect(tag.stderr).toMatch(/nosuchtag/);
    const both = await resnet(['classify', '--model', 'resnet20', '--pretrained', '--weights', 'x.th']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--pretrained and --weights both name weights/);
  });
});
