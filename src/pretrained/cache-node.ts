/**
 * The Node file cache for pretrained weights (Node, Bun, Deno with node: modules). Reachable from
 * `resnet-ts/node` only, never from the core entry.
 *
 * Layout: `<root>/<host>/<path of the source URL>`, e.g.
 * `~/.cache/resnet-ts/download.pytorch.org/models/resnet50-11ad3fa6.pth`: the same tree a mirror
 * serves (RESNET_TS_MIRROR), so a filled cache can be copied to an air-gapped machine or served
 * as a mirror as it is.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { PretrainedEntry } from './registry.js';
import type { LoadPretrainedOptions, WeightsCache } from './index.js';

type Env = Readonly<Record<string, string | undefined>>;

/** `$RESNET_TS_HOME`, else `$XDG_CACHE_HOME/resnet-ts`, else `~/.cache/resnet-ts`. */
export function defaultCacheDir(env: Env = process.env): string {
  if (env.RESNET_TS_HOME) return env.RESNET_TS_HOME;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'resnet-ts');
  return join(homedir(), '.cache', 'resnet-ts');
}

/** The cache file of an entry under `root`. */
export function cachePath(root: string, entry: PretrainedEntry): string {
  const u = new URL(entry.url);
  // A port's ':' is not allowed in Windows file names.
  return join(root, u.host.replace(':', '_'), ...decodeURIComponent(u.pathname).split('/').filter((s) => s !== '' && s !== '.' && s !== '..'));
}

/**
 * A file cache under `root`. `put` writes a temp file in the target directory and renames it
 * into place (atomic on one file system); a failed write leaves nothing behind.
 */
export function nodeWeightsCache(root: string = defaultCacheDir()): WeightsCache {
  return {
    async get(entry) {
      try {
        return new Uint8Array(await readFile(cachePath(root, entry)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async put(entry, bytes) {
      const target = cachePath(root, entry);
      await mkdir(dirname(target), { recursive: true });
      const temp = `${target}.${process.pid}.${Date.now().toString(36)}.part`;
      try {
        await writeFile(temp, bytes);
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
    },
    async delete(entry) {
      await rm(cachePath(root, entry), { force: true });
    },
    location(entry) {
      return cachePath(root, entry);
    },
  };
}

/**
 * Node's defaults for `loadPretrained`: the file cache and `RESNET_TS_MIRROR`.
 * `loadPretrained(name, { ...nodePretrainedDefaults(), onProgress })`.
 */
export function nodePretrainedDefaults(env: Env = process.env): Pick<LoadPretrainedOptions, 'cache' | 'mirror'> {
  return { cache: nodeWeightsCache(defaultCacheDir(env)), mirror: env.RESNET_TS_MIRROR || undefined };
}
