/**
 * Pretrained weights by name against a real HTTP server on 127.0.0.1 (node:http), started here and
 * always closed. It serves the real checkpoints of ../shared/weights under their sources' own path
 * layouts, with the redirects the hubs answer (GitHub's /raw/ -> raw.githubusercontent.com, the
 * Hugging Face /resolve/ -> its LFS CDN), and counts requests.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifyImage, createModel, decodeImage, preprocess, CIFAR10_LABELS, getModelConfig, getPreset } from '../src/index.js';
import {
  cacheApiWeightsCache,
  fetchPretrained,
  loadPretrained,
  mirrorUrl,
  parseModelName,
  PRETRAINED,
  PretrainedDownloadError,
  PretrainedVerificationError,
  resolvePretrained,
  UnknownPretrainedError,
  type DownloadProgress,
  type PretrainedEntry,
} from '../src/pretrained/index.js';
import { cachePath, defaultCacheDir, nodePretrainedDefaults, nodeWeightsCache } from '../src/pretrained/cache-node.js';
import { readShared, sharedAvailable, sharedPath } from './helpers/shared.js';

const AKAMASTER_COMMIT = 'd5489e8995e81e91ce6b1d69dcc98ad579b0b153';
const RESNET20 = 'weights/cifar10-resnet-akamaster/resnet20-12fca82f.th';
const RESNET2B = 'weights/formats/abcrown-cifar-resnet/resnet2b.pth';
const RESNET4B = 'weights/formats/abcrown-cifar-resnet/resnet4b.pth';
const MNIST_ST = 'weights/formats/burn-mnist/mnist.safetensors';
const PDPARAMS = 'weights/formats/paddlespeech-speechbrain-test/model.pdparams';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const haveData = [RESNET20, RESNET2B, RESNET4B, MNIST_ST, PDPARAMS].every((f) => sharedAvailable(f));

// ---------------------------------------------------------------------------------------------
// The server: path -> file, redirects, a truncating route; every request is counted.

interface Route {
  readonly file?: string;
  readonly redirect?: string;
  /** Sends this Content-Length (larger than the body), the body, then closes the socket. */
  readonly claimLength?: number;
}

let server: Server;
let base = '';
const routes = new Map<string, Route>();
const requests: string[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  requests.push(path);
  const route = routes.get(path);
  if (!route) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  if (route.redirect) {
    res.writeHead(302, { location: route.redirect }).end();
    return;
  }
  const body = readShared(route.file!);
  if (route.claimLength) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(route.claimLength) });
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
  res.end(body);
}

function entry(over: Partial<PretrainedEntry> & Pick<PretrainedEntry, 'url' | 'format' | 'verify'>): PretrainedEntry {
  return {
    model: 'test',
    tag: 'local',
    source: 'timm',
    license: 'test fixture',
    preset: 'cifar',
    inputSize: 32,
    accuracy: { dataset: 'CIFAR-10', top1: 0, inputSize: 32, source: 'test' },
    provenance: 'test/pretrained.test.ts',
    ...over,
  };
}

let cacheRoot = '';
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));

beforeAll(async () => {
  server = createServer(handle);
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // GitHub: /<owner>/<repo>/raw/<ref>/<path> answers 302 to raw.githubusercontent.com/<owner>/<repo>/<ref>/<path>.
  const ghPath = `/akamaster/pytorch_resnet_cifar10/${AKAMASTER_COMMIT}/pretrained_models/resnet20-12fca82f.th`;
  routes.set(`/github.com/akamaster/pytorch_resnet_cifar10/raw/${AKAMASTER_COMMIT}/pretrained_models/resnet20-12fca82f.th`, {
    redirect: `/raw.githubusercontent.com${ghPath}`,
  });
  routes.set(`/raw.githubusercontent.com${ghPath}`, { file: RESNET20 });
  // Hugging Face: /<repo>/resolve/main/<file> answers 302 to its LFS CDN, named by the sha256.
  const mnist = readShared(MNIST_ST);
  routes.set('/huggingface.co/timm/test-mnist/resolve/main/model.safetensors', { redirect: `/cdn-lfs.hf.co/repos/test-mnist/${sha256(mnist)}` });
  routes.set(`/cdn-lfs.hf.co/repos/test-mnist/${sha256(mnist)}`, { file: MNIST_ST });
  // download.pytorch.org: flat /models/<stem>-<sha256 prefix>.pth.
  routes.set(`/download.pytorch.org/models/resnet2b-${sha256(readShared(RESNET2B)).slice(0, 8)}.pth`, { file: RESNET2B });
  routes.set('/paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/Tiny_pretrained.pdparams', { file: PDPARAMS });
  routes.set('/truncated/resnet2b.pth', { file: RESNET2B, claimLength: statSync(sharedPath(RESNET2B)).size + 4096 });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  if (cacheRoot) rmSync(cacheRoot, { recursive: true, force: true });
  cacheRoot = '';
});

function freshCache() {
  cacheRoot = mkdtempSync(join(tmpdir(), 'resnet-ts-pretrained-'));
  return nodeWeightsCache(cacheRoot);
}

// ---------------------------------------------------------------------------------------------

describe.runIf(haveData)('pretrained downloads from a local server', () => {
  it('downloads with progress through a redirect, verifies the sha256, and the second call is a cache hit with no request', async () => {
    const bytes = readShared(MNIST_ST);
    const e = entry({
      url: `${base}/huggingface.co/timm/test-mnist/resolve/main/model.safetensors`,
      format: 'safetensors',
      verify: { kind: 'sha256', hex: sha256(bytes) },
    });
    const cache = freshCache();
    const progress: DownloadProgress[] = [];
    const before = requests.length;
    const first = await fetchPretrained(e, { cache, onProgress: (p) => progress.push(p) });
    expect(requests.slice(before)).toEqual([
      '/huggingface.co/timm/test-mnist/resolve/main/model.safetensors',
      `/cdn-lfs.hf.co/repos/test-mnist/${sha256(bytes)}`,
    ]);
    expect(sha256(first.bytes)).toBe(sha256(bytes));
    expect(progress[0]!.loaded).toBe(0);
    expect(progress.at(-1)).toMatchObject({ loaded: bytes.length, total: bytes.length });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.loaded).toBeGreaterThanOrEqual(progress[i - 1]!.loaded);
    expect(progress.length).toBeGreaterThan(2);
    expect(filesUnder(cacheRoot)).toEqual([cachePath(cacheRoot, e)]);

    const afterFirst = requests.length;
    const second = await fetchPretrained(e, { cache, onProgress: () => { throw new Error('no progress on a cache hit'); } });
    expect(requests.length).toBe(afterFirst);
    expect(sha256(second.bytes)).toBe(sha256(bytes));
  });

  it('checks a torchvision-style sha256 prefix from the file name', async () => {
    const hex = sha256(readShared(RESNET2B)).slice(0, 8);
    const e = entry({ url: `${base}/download.pytorch.org/models/resnet2b-${hex}.pth`, format: 'torch-zip', verify: { kind: 'sha256-prefix', hex } });
    const { bytes } = await fetchPretrained(e, { cache: freshCache() });
    expect(bytes.length).toBe(readShared(RESNET2B).length);
  });

  it('an entry without a published hash is checked for format: .pdparams accepted, a safetensors file served as .pdparams refused', async () => {
    const note = 'no hash published: format only';
    const ok = entry({
      url: `${base}/paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/Tiny_pretrained.pdparams`,
      format: 'paddle',
      verify: { kind: 'none', note },
    });
    expect((await fetchPretrained(ok, { cache: freshCache() })).bytes.length).toBe(readShared(PDPARAMS).length);
    const wrong = entry({ url: `${base}/huggingface.co/timm/test-mnist/resolve/main/model.safetensors`, format: 'paddle', verify: { kind: 'none', note } });
    await expect(fetchPretrained(wrong, { cache: freshCache() })).rejects.toThrow(/expected a paddle checkpoint .* found safetensors/);
    expect(filesUnder(cacheRoot)).toEqual([]);
  });

  it('a wrong hash is refused, naming both digests, and nothing is left in the cache directory', async () => {
    const e = entry({
      url: `${base}/download.pytorch.org/models/resnet2b-${sha256(readShared(RESNET2B)).slice(0, 8)}.pth`,
      format: 'torch-zip',
      verify: { kind: 'sha256', hex: sha256(readShared(RESNET4B)) },
    });
    const cache = freshCache();
    const err = await fetchPretrained(e, { cache }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(PretrainedVerificationError);
    expect((err as Error).message).toContain(`expected ${sha256(readShared(RESNET4B))}, got ${sha256(readShared(RESNET2B))}`);
    expect(filesUnder(cacheRoot)).toEqual([]);
  });

  it('a truncated transfer (Content-Length larger than the body, then the connection closes) is refused and nothing is cached', async () => {
    const e = entry({ url: `${base}/truncated/resnet2b.pth`, format: 'torch-zip', verify: { kind: 'sha256', hex: sha256(readShared(RESNET2B)) } });
    const cache = freshCache();
    const err = await fetchPretrained(e, { cache }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(PretrainedDownloadError);
    const size = readShared(RESNET2B).length;
    expect((err as Error).message).toMatch(new RegExp(`(broke off after \\d+ of ${size + 4096} bytes|Content-Length ${size + 4096}, received \\d+)`));
    expect(filesUnder(cacheRoot)).toEqual([]);
  });

  it('404 says the status, the file to download and where to put it', async () => {
    const e = entry({ url: `${base}/download.pytorch.org/models/missing-00000000.pth`, format: 'torch-zip', verify: { kind: 'sha256-prefix', hex: '00000000' } });
    const cache = freshCache();
    const err = await fetchPretrained(e, { cache }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(PretrainedDownloadError);
    expect((err as PretrainedDownloadError).status).toBe(404);
    const msg = (err as Error).message;
    expect(msg).toContain('HTTP 404');
    expect(msg).toContain(`download ${e.url} yourself and put it at ${cachePath(cacheRoot, e)}`);
    expect(msg).toContain('RESNET_TS_MIRROR');
    expect(filesUnder(cacheRoot)).toEqual([]);
  });

  it('connection refused (offline) says it could not reach the URL and what to do', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const e = entry({ url: `http://127.0.0.1:${port}/download.pytorch.org/models/x-00000000.pth`, format: 'torch-zip', verify: { kind: 'sha256-prefix', hex: '00000000' } });
    const cache = freshCache();
    const msg = String(((await fetchPretrained(e, { cache }).catch((x: unknown) => x)) as Error).message);
    expect(msg).toMatch(/could not reach .*ECONNREFUSED/);
    expect(msg).toContain(`put it at ${cachePath(cacheRoot, e)}`);
  });

  it("the registry's akamaster ResNet-20, through a mirror and GitHub's redirect, loads and classifies the CIFAR-10 cat as cat", async () => {
    const cache = freshCache();
    const before = requests.length;
    const { bytes, entry: e } = await loadPretrained('resnet20', { cache, mirror: `${base}/` });
    expect(e).toMatchObject({ model: 'resnet20', tag: 'cifar10', source: 'akamaster', preset: 'cifar' });
    expect(requests.slice(before)).toEqual([
      `/github.com/akamaster/pytorch_resnet_cifar10/raw/${AKAMASTER_COMMIT}/pretrained_models/resnet20-12fca82f.th`,
      `/raw.githubusercontent.com/akamaster/pytorch_resnet_cifar10/${AKAMASTER_COMMIT}/pretrained_models/resnet20-12fca82f.th`,
    ]);
    expect(cachePath(cacheRoot, e)).toBe(join(cacheRoot, 'github.com/akamaster/pytorch_resnet_cifar10/raw', AKAMASTER_COMMIT, 'pretrained_models/resnet20-12fca82f.th'));

    const model = await createModel('resnet20', { weights: bytes, backend: 'reference' });
    const image = await decodeImage(new Uint8Array(readFileSync(new URL('../examples/cifar10/cat-0000.jpg', import.meta.url))));
    const logits = [...(await model.forward(preprocess(image, e.preset))).data];
    expect(CIFAR10_LABELS[logits.indexOf(Math.max(...logits))]).toBe('cat');

    const again = requests.length;
    await loadPretrained('resnet20', { cache, mirror: base });
    expect(requests.length).toBe(again);
  });

  it("createModel(name, { pretrained }) downloads, binds and records the entry; classify uses the entry's preset", async () => {
    const cache = freshCache();
    const progress: number[] = [];
    const model = await createModel('resnet20', { pretrained: true, cache, mirror: base, backend: 'reference', onProgress: (p) => progress.push(p.loaded) });
    expect(model.pretrained).toMatchObject({ model: 'resnet20', tag: 'cifar10', preset: 'cifar' });
    expect(progress.at(-1)).toBe(statSync(sharedPath('weights/cifar10-resnet-akamaster/resnet20-12fca82f.th')).size);
    const bytes = new Uint8Array(readFileSync(new URL('../examples/cifar10/cat-0000.jpg', import.meta.url)));
    expect((await classifyImage(model, bytes, { topK: 1 }))[0].label).toBe('cat');
    // timm-style: the tag in the name
    const before = requests.length;
    const tagged = await createModel('resnet20.cifar10', { pretrained: true, cache, mirror: base, backend: 'reference' });
    expect(tagged.name).toBe('resnet20');
    expect(requests.length).toBe(before); // the cache answered
  });

  it('a tag without pretrained, and pretrained with weights, are refused before any download', async () => {
    const before = requests.length;
    await expect(createModel('resnet20.cifar10')).rejects.toThrow(/'cifar10' is a pretrained tag of resnet20; pass \{ pretrained: true \}/);
    await expect(createModel('resnet20', { pretrained: true, weights: new Uint8Array(8), mirror: base })).rejects.toThrow(/both weights and pretrained/);
    await expect(createModel('resnet999', { pretrained: true, mirror: base })).rejects.toThrow(/resnet999/);
    expect(requests.length).toBe(before);
  });

  it('a damaged cache file is dropped and downloaded again', async () => {
    const cache = freshCache();
    const e = resolvePretrained('resnet20');
    await cache.put(e, new Uint8Array([1, 2, 3]));
    const before = requests.length;
    const { bytes } = await loadPretrained('resnet20', { cache, mirror: base });
    expect(requests.length).toBe(before + 2);
    expect(sha256(bytes)).toBe(sha256(readShared(RESNET20)));
    expect(sha256(readFileSync(cachePath(cacheRoot, e)))).toBe(sha256(readShared(RESNET20)));
  });
});

describe.runIf(haveData)('the Cache API adapter (an in-memory CacheStorage: Node 20 has none)', () => {
  /** Keys are URLs; values are Responses, as in the Cache API. */
  function memoryCacheStorage() {
    const stores = new Map<string, Map<string, Response>>();
    const open = async (name: string) => {
      const store = stores.get(name) ?? new Map<string, Response>();
      stores.set(name, store);
      return {
        match: async (key: string) => store.get(key)?.clone(),
        put: async (key: string, res: Response) => void store.set(key, res),
        delete: async (key: string) => store.delete(key),
      };
    };
    return { stores, open };
  }

  it('is the default where globalThis.caches exists: stored after verification, a hit makes no request', async () => {
    const storage = memoryCacheStorage();
    (globalThis as { caches?: unknown }).caches = storage;
    try {
      const e = resolvePretrained('resnet20');
      expect(cacheApiWeightsCache()!.location(e)).toBe(`the Cache API cache 'resnet-ts-weights', key ${e.url}`);
      const before = requests.length;
      await loadPretrained('resnet20', { mirror: base });
      expect(requests.length).toBe(before + 2);
      expect([...storage.stores.get('resnet-ts-weights')!.keys()]).toEqual([e.url]);
      const { bytes } = await loadPretrained('resnet20', { mirror: base });
      expect(requests.length).toBe(before + 2);
      expect(sha256(bytes)).toBe(sha256(readShared(RESNET20)));
      await loadPretrained('resnet20', { mirror: base, cache: false });
      expect(requests.length).toBe(before + 4);
    } finally {
      delete (globalThis as { caches?: unknown }).caches;
    }
  });
});

describe('pretrained registry and names', () => {
  it('splits timm-style names', () => {
    expect(parseModelName('resnet50.a1_in1k')).toEqual({ model: 'resnet50', tag: 'a1_in1k' });
    expect(parseModelName('timm/resnet50d.ra2_in1k')).toEqual({ model: 'resnet50d', tag: 'ra2_in1k' });
    expect(parseModelName('resnet50')).toEqual({ model: 'resnet50' });
  });

  it("resolves torchvision's DEFAULT to V2 where there is one, else V1; timm tags from the name", () => {
    expect(resolvePretrained('resnet50').tag).toBe('IMAGENET1K_V2');
    expect(resolvePretrained('resnet50', 'DEFAULT')).toMatchObject({ tag: 'IMAGENET1K_V2', preset: 'torchvision-v2', url: 'https://download.pytorch.org/models/resnet50-11ad3fa6.pth' });
    expect(resolvePretrained('resnet50', 'IMAGENET1K_V1')).toMatchObject({ preset: 'torchvision', verify: { kind: 'sha256-prefix', hex: '0676ba61' } });
    expect(resolvePretrained('resnet18').tag).toBe('IMAGENET1K_V1');
    expect(resolvePretrained('resnet50.a1_in1k')).toMatchObject({ source: 'timm', preset: 'timm-rsb' });
    expect(resolvePretrained('timm/resnet50d.ra2_in1k')).toMatchObject({ source: 'timm', preset: 'timm' });
    expect(resolvePretrained('resnet50d').tag).toBe('ra2_in1k');
    expect(resolvePretrained('ResNet50_vd').tag).toBe('pretrained');
    expect(resolvePretrained('ResNet50_vd', 'ssld_pretrained').url).toMatch(/ResNet50_vd_ssld_pretrained\.pdparams$/);
  });

  it('unknown models and tags name what exists', () => {
    expect(() => resolvePretrained('resnet50.nope')).toThrow(/no pretrained weights 'resnet50\.nope'; tags of 'resnet50': IMAGENET1K_V1, IMAGENET1K_V2, a1_in1k, DEFAULT/);
    expect(() => resolvePretrained('resnet110')).toThrow(UnknownPretrainedError);
    expect(() => resolvePretrained('resnet50.a1_in1k', 'IMAGENET1K_V2')).toThrow(/names tag 'a1_in1k' but tag 'IMAGENET1K_V2'/);
  });

  it('every entry names a known model and preset, a https URL, one row per model.tag, and a hash that matches its file name', () => {
    const seen = new Set<string>();
    for (const e of PRETRAINED) {
      expect(() => getModelConfig(e.model)).not.toThrow();
      expect(() => getPreset(e.preset)).not.toThrow();
      expect(e.url).toMatch(/^https:\/\//);
      expect(seen.has(`${e.model}.${e.tag}`)).toBe(false);
      seen.add(`${e.model}.${e.tag}`);
      if (e.verify.kind === 'sha256') expect(e.verify.hex).toMatch(/^[0-9a-f]{64}$/);
      if (e.verify.kind === 'sha256-prefix') expect(e.url).toContain(`-${e.verify.hex}.`);
      if (e.verify.kind === 'none') expect(e.source).toBe('paddleclas');
      expect(e.accuracy.top1).toBeGreaterThan(60);
    }
  });

  it('the akamaster entries carry the sha256 of the real files', () => {
    for (const depth of [20, 32, 44, 56]) {
      const e = resolvePretrained(`resnet${depth}`);
      const file = readdirSync(sharedPath('weights/cifar10-resnet-akamaster')).find((f) => f.startsWith(`resnet${depth}-`))!;
      expect(e.verify).toEqual({ kind: 'sha256', hex: sha256(readShared(`weights/cifar10-resnet-akamaster/${file}`)) });
    }
  });

  it('the core modules (index, fetch, registry) import no Node built-in and not cache-node', () => {
    for (const f of ['index', 'fetch', 'registry']) {
      const src = readFileSync(new URL(`../src/pretrained/${f}.ts`, import.meta.url), 'utf8');
      const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      expect(imports.filter((i) => i.startsWith('node:') || i.includes('cache-node')), f).toEqual([]);
    }
  });

  it('mirror URLs: https://host/path -> $MIRROR/host/path', () => {
    expect(mirrorUrl('https://download.pytorch.org/models/resnet50-11ad3fa6.pth', 'http://m.local/w/')).toBe('http://m.local/w/download.pytorch.org/models/resnet50-11ad3fa6.pth');
    expect(mirrorUrl('https://a.b/c', undefined)).toBe('https://a.b/c');
  });

  it('the Node cache root: RESNET_TS_HOME, else XDG_CACHE_HOME/resnet-ts, else ~/.cache/resnet-ts; the mirror from RESNET_TS_MIRROR', () => {
    expect(defaultCacheDir({ RESNET_TS_HOME: '/r', XDG_CACHE_HOME: '/x' })).toBe('/r');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/resnet-ts');
    expect(defaultCacheDir({})).toMatch(/\.cache[/\\]resnet-ts$/);
    const d = nodePretrainedDefaults({ RESNET_TS_HOME: '/r', RESNET_TS_MIRROR: 'http://m' });
    expect(d.mirror).toBe('http://m');
    expect(d.cache && d.cache.location(resolvePretrained('resnet50'))).toBe('/r/download.pytorch.org/models/resnet50-11ad3fa6.pth');
  });
});
