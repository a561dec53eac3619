/**
 * Downloading and verifying registry entries with the standard `fetch` and `crypto.subtle` only:
 * no Node built-ins, so the same code runs in Node, browsers, Deno, Bun and workers. Redirects are
 * followed by `fetch` itself (the hubs answer 302 to their storage).
 */
import { detectFormat } from '../weights/load.js';
import type { PretrainedEntry } from './registry.js';

export interface DownloadProgress {
  readonly url: string;
  /** Bytes received so far. */
  readonly loaded: number;
  /** Content-Length, when the server sent one. */
  readonly total: number | undefined;
}

export type ProgressCallback = (progress: DownloadProgress) => void;

export interface DownloadOptions {
  readonly onProgress?: ProgressCallback;
  /** Base URL that replaces the source host: `https://host/path` is fetched as `${mirror}/host/path`. */
  readonly mirror?: string;
  /** Said in errors: where a manually downloaded file must be put (the cache path). */
  readonly placeHint?: string;
}

/** A download that failed: HTTP status, network, truncated transfer. The message says what to do. */
export class PretrainedDownloadError extends Error {
  override name = 'PretrainedDownloadError';
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Bytes that arrived whole but are not the published file (hash or format). */
export class PretrainedVerificationError extends Error {
  override name = 'PretrainedVerificationError';
}

/** `https://host/path` -> `${mirror}/host/path` (a trailing slash on the mirror is dropped). */
export function mirrorUrl(url: string, mirror: string | undefined): string {
  if (!mirror) return url;
  const u = new URL(url);
  return `${mirror.replace(/\/+$/, '')}/${u.host}${u.pathname}${u.search}`;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // digest takes views of plain ArrayBuffers only; a SharedArrayBuffer's bytes are copied.
  const plain = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
  const digest = await crypto.subtle.digest('SHA-256', plain);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function entryName(entry: PretrainedEntry): string {
  return `${entry.model}.${entry.tag}`;
}

/** What to do when the download cannot be made: the file, where it comes from, where it goes. */
function manualAdvice(entry: PretrainedEntry, options: DownloadOptions): string {
  const place = options.placeHint ? ` and put it at ${options.placeHint}` : '';
  return `download ${entry.url} yourself${place}, or set RESNET_TS_MIRROR (the mirror option) to a server that has it under <mirror>/${new URL(entry.url).host}${new URL(entry.url).pathname}`;
}

/**
 * Checks bytes against the entry: sha256 (full or the published prefix) where the entry has one,
 * and always the container format. Throws PretrainedVerificationError naming both values.
 */
export async function verifyPretrained(entry: PretrainedEntry, bytes: Uint8Array): Promise<void> {
  const { verify } = entry;
  if (verify.kind !== 'none') {
    const hex = await sha256Hex(bytes);
    const ok = verify.kind === 'sha256' ? hex === verify.hex : hex.startsWith(verify.hex);
    if (!ok) {
      const expected = verify.kind === 'sha256' ? verify.hex : `${verify.hex}… (the prefix in the file name)`;
      throw new PretrainedVerificationError(
        `${entryName(entry)}: sha256 mismatch for ${bytes.length} bytes from ${entry.url}: expected ${expected}, got ${hex}`,
      );
    }
  }
  const found = detectFormat(bytes);
  // torch.save wrote zip containers from torch 1.6 and a legacy stream before; a source may hold either.
  const family = (f: string | undefined) => (f === 'torch-zip' || f === 'torch-legacy' ? 'torch' : f);
  if (family(found) !== family(entry.format)) {
    throw new PretrainedVerificationError(
      `${entryName(entry)}: expected a ${entry.format} checkpoint from ${entry.url}, found ${found ?? 'an unknown format'} (${bytes.length} bytes)`,
    );
  }
}

/**
 * Downloads the entry's file (through the mirror, if given), refusing a truncated transfer
 * (fewer bytes than Content-Length), then verifies it. Returns the verified bytes.
 */
export async function downloadPretrained(entry: PretrainedEntry, options: DownloadOptions = {}): Promise<Uint8Array> {
  const url = mirrorUrl(entry.url, options.mirror);
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    throw new PretrainedDownloadError(
      `${entryName(entry)}: could not reach ${url} (${describe(err)}); offline? ${manualAdvice(entry, options)}`,
      url,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new PretrainedDownloadError(
      `${entryName(entry)}: ${url} answered HTTP ${response.status} ${response.statusText}; expected 200 with the checkpoint. ${manualAdvice(entry, options)}`,
      url,
      response.status,
    );
  }
  // Content-Length counts encoded bytes; compare only when the body is not content-encoded.
  const encoding = response.headers.get('content-encoding');
  const lengthHeader = response.headers.get('content-length');
  const total = lengthHeader !== null && (!encoding || encoding === 'identity') ? Number(lengthHeader) : undefined;
  const bytes = await readBody(response, url, total, entry, options);
  if (total !== undefined && bytes.length !== total) {
    throw new PretrainedDownloadError(
      `${entryName(entry)}: truncated transfer from ${url}: Content-Length ${total}, received ${bytes.length} bytes; nothing was kept. Retry, or ${manualAdvice(entry, options)}`,
      url,
      response.status,
    );
  }
  await verifyPretrained(entry, bytes);
  return bytes;
}

async function readBody(response: Response, url: string, total: number | undefined, entry: PretrainedEntry, options: DownloadOptions): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  options.onProgress?.({ url, loaded, total });
  if (response.body) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.length;
        options.onProgress?.({ url, loaded, total });
      }
    } catch (err) {
      throw new PretrainedDownloadError(
        `${entryName(entry)}: transfer from ${url} broke off after ${loaded} of ${total ?? 'unknown'} bytes (${describe(err)}); nothing was kept. Retry, or ${manualAdvice(entry, options)}`,
        url,
        response.status,
      );
    }
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The innermost cause of a fetch failure (undici wraps ECONNREFUSED in `cause`). */
function describe(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const x = e as { message?: string; code?: string; cause?: unknown };
    parts.push(x.code ? `${x.message ?? ''} [${x.code}]` : String(x.message ?? e));
    e = x.cause;
  }
  return parts.join(': ');
}
