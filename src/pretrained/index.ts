/**
 * Pretrained weights by name: `loadPretrained('resnet50', { tag: 'IMAGENET1K_V2' })` or
 * `loadPretrained('resnet50.a1_in1k')` -> the verified checkpoint bytes and their registry entry.
 * Nothing here downloads unless called. Runs in every runtime; the Node file cache is in
 * cache-node.ts (reachable from `resnet-ts/node` only).
 */
import { downloadPretrained, verifyPretrained, PretrainedVerificationError, type ProgressCallback } from './fetch.js';
import { resolvePretrained, type PretrainedEntry } from './registry.js';

export {
  PRETRAINED,
  listPretrained,
  parseModelName,
  resolvePretrained,
  UnknownPretrainedError,
  type PretrainedEntry,
  type PublishedAccuracy,
  type Verification,
  type WeightSource,
} from './registry.js';
export {
  downloadPretrained,
  verifyPretrained,
  mirrorUrl,
  sha256Hex,
  PretrainedDownloadError,
  PretrainedVerificationError,
  type DownloadOptions,
  type DownloadProgress,
  type ProgressCallback,
} from './fetch.js';

/** Where verified checkpoints are kept. `put` receives only verified bytes. */
export interface WeightsCache {
  get(entry: PretrainedEntry): Promise<Uint8Array | undefined>;
  put(entry: PretrainedEntry, bytes: Uint8Array): Promise<void>;
  delete(entry: PretrainedEntry): Promise<void>;
  /** Where the entry's file lives (a path or a cache key), said in errors. */
  location(entry: PretrainedEntry): string;
}

export interface LoadPretrainedOptions {
  /** torchvision enum (`IMAGENET1K_V2`, `DEFAULT`), timm tag (`a1_in1k`), ...; or put it in the name. */
  readonly tag?: string;
  readonly onProgress?: ProgressCallback;
  /**
   * A cache, or `false` for none. Default: the Cache API where the runtime has one (browsers,
   * Deno, workers), else none; Node callers pass `nodeWeightsCache()` from `resnet-ts/node`.
   */
  readonly cache?: WeightsCache | false;
  /** Base URL override (`RESNET_TS_MIRROR`): `https://host/path` is fetched as `${mirror}/host/path`. */
  readonly mirror?: string;
}

export interface PretrainedWeights {
  readonly bytes: Uint8Array;
  readonly entry: PretrainedEntry;
}

/** Resolves `name` (+ `tag`) in the registry and returns its verified bytes, from the cache if there. */
export async function loadPretrained(name: string, options: LoadPretrainedOptions = {}): Promise<PretrainedWeights> {
  return fetchPretrained(resolvePretrained(name, options.tag), options);
}

/**
 * The verified bytes of one entry. A cache hit makes no request (its bytes are verified again; a
 * file that fails is dropped and downloaded anew). A download is verified before the cache sees it.
 */
export async function fetchPretrained(entry: PretrainedEntry, options: Omit<LoadPretrainedOptions, 'tag'> = {}): Promise<PretrainedWeights> {
  const cache = options.cache === undefined ? cacheApiWeightsCache() : options.cache || undefined;
  const cached = await cache?.get(entry);
  if (cached) {
    try {
      await verifyPretrained(entry, cached);
      return { bytes: cached, entry };
    } catch (err) {
      if (!(err instanceof PretrainedVerificationError)) throw err;
      await cache!.delete(entry);
    }
  }
  const bytes = await downloadPretrained(entry, {
    onProgress: options.onProgress,
    mirror: options.mirror,
    placeHint: cache?.location(entry),
  });
  await cache?.put(entry, bytes);
  return { bytes, entry };
}

/** The source URL used as the key; a cached Response is written only after verification. */
export function cacheApiWeightsCache(cacheName = 'resnet-ts-weights'): WeightsCache | undefined {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return undefined;
  return {
    async get(entry) {
      const hit = await (await storage.open(cacheName)).match(entry.url);
      return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
    },
    async put(entry, bytes) {
      await (await storage.open(cacheName)).put(entry.url, new Response(bytes.slice()));
    },
    async delete(entry) {
      await (await storage.open(cacheName)).delete(entry.url);
    },
    location(entry) {
      return `the Cache API cache '${cacheName}', key ${entry.url}`;
    },
  };
}
