/**
 * createModel's `weights` from anything that gives bytes: a file path (Node), a Blob, a Response,
 * and an http URL served by a local server (fetched because the caller named it); each binds the
 * same tensors as the bytes themselves. Bad sources are named.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, type WeightsSource } from '../src/index.js';

const TH = new URL('../assets/weights/cifar10-resnet20-akamaster/resnet20-12fca82f.th', import.meta.url);
const bytes = new Uint8Array(readFileSync(TH));
let server: Server;
let base = '';
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/resnet20.th') res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    else res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

const firstConv = async (weights: WeightsSource) =>
  Array.from((await createModel('resnet20', { weights, backend: 'reference' })).weights.get('conv1.weight')!.data.slice(0, 8));

describe('weights from a path, a Blob, a Response and a URL', () => {
  it('each binds what the bytes bind', async () => {
    const want = await firstConv(bytes);
    expect(await firstConv(TH.pathname)).toEqual(want);
    expect(await firstConv(new Blob([bytes]))).toEqual(want);
    expect(await firstConv(new Response(bytes))).toEqual(want);
    expect(await firstConv(`${base}/resnet20.th`)).toEqual(want);
    expect(requests).toEqual(['/resnet20.th']);
  });

  it('a missing file, an HTTP error, an unknown model and a wrong type are named, and nothing is fetched for an unknown model', async () => {
    await expect(createModel('resnet20', { weights: '/no/such/file.th' })).rejects.toThrow(/cannot read the file '\/no\/such\/file.th'/);
    await expect(createModel('resnet20', { weights: `${base}/missing.th` })).rejects.toThrow(/answered HTTP 404; expected 200 with a checkpoint/);
    const before = requests.length;
    await expect(createModel('resnet999', { weights: `${base}/resnet20.th` })).rejects.toThrow(/resnet999/);
    expect(requests.length).toBe(before);
    await expect(createModel('resnet20', { weights: 42 as never })).rejects.toThrow(/expected bytes .* got number/);
  });
});
