/**
 * The package as a user gets it: `npm pack` of this repository (built first when dist/ is older
 * than its sources), installed with a plain `npm install <tarball>` into a fresh app
 * (`"type": "module"`, nothing else) in a temp dir, with `cat.jpg` (examples/cifar10/cat-0000.jpg)
 * and `cat.png` (its decoded pixels) beside it. One app per vitest run: the global setup
 * (test/runtimes/global-setup.ts) provides an empty directory, and the first test file that asks
 * for the app builds it under a lock file there; the others wait for it and reuse it.
 *
 * Also here: the README's per-runtime snippets (found by an HTML comment `<!-- runtime: NAME -->`
 * right before a fenced block), the Node in-process logits every runtime is compared with, a
 * bounded process runner, and the rule for missing runtimes (a failure under CI, a printed skip
 * elsewhere).
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';
import { expect, inject } from 'vitest';
import type {} from './global-setup.js'; // the `consumerRoot` it provides

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The image every runtime classifies; the app gets it as `cat.jpg`, the name the README uses. */
export const CAT_JPG = join(REPO, 'examples/cifar10/cat-0000.jpg');
export const BIN = join(REPO, 'node_modules/.bin');

export interface PackedFile {
  readonly path: string;
  readonly size: number;
}

export interface ConsumerApp {
  /** The app: package.json, node_modules/resnet-ts from the tarball, cat.jpg and cat.png. */
  readonly dir: string;
  readonly tarball: string;
  readonly tarballBytes: number;
  readonly unpackedBytes: number;
  readonly files: readonly PackedFile[];
}

/** Sources whose change makes dist/ stale. */
const BUILD_INPUTS = ['src', 'assembly', 'scripts/build-wasm.mjs', 'package.json', 'tsconfig.json', 'asconfig.json'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

/** Runs a command with flock when the machine has it (npm and the build are shared in this tree). */
function locked(lockFile: string, cmd: string, args: string[], cwd: string): void {
  const hasFlock = (() => {
    try {
      execFileSync('flock', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  const [c, a] = hasFlock ? ['flock', [lockFile, cmd, ...args]] : [cmd, args];
  try {
    execFileSync(c, a, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv(), timeout: 600_000, maxBuffer: 64 << 20 });
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: Buffer; stderr?: Buffer };
    const tail = `${stdout ?? ''}${stderr ?? ''}`.split('\n').filter((l) => !l.startsWith('npm warn')).slice(-40).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${tail}`);
  }
}

/** npm's settings that a user or CI sets and the app's install needs; every other `npm_*` variable is npm's own. */
const KEEP_NPM_VARS = /^npm_config_(registry|cache|userconfig|offline|prefer_offline|strict_ssl|cafile|.*proxy)$/;

/**
 * The environment without the `npm_*` variables that `npm test` sets for its scripts (among them
 * npm_config_local_prefix, which would point an install in the app at this repository).
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_') || KEEP_NPM_VARS.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Runs `npm run build` when a source is newer than dist/index.js. RESNET_TS_NO_BUILD=1 packs dist/
 * as it is (while someone else's half-finished edit in this shared tree does not compile).
 */
function buildIfStale(): void {
  if (process.env.RESNET_TS_NO_BUILD === '1') return;
  const built = existsSync(join(REPO, 'dist/index.js')) ? statSync(join(REPO, 'dist/index.js')).mtimeMs : 0;
  const sources = Math.max(...BUILD_INPUTS.map((p) => newestMtime(join(REPO, p))));
  if (sources > built) locked('/tmp/resnet-ts-build.lock', 'npm', ['run', 'build'], REPO);
}

async function makeApp(root: string): Promise<ConsumerApp> {
  buildIfStale();
  const packDir = join(root, 'pack');
  mkdirSync(packDir, { recursive: true });
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], {
    cwd: REPO,
    env: cleanEnv(),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const packed = JSON.parse(out)[0] as { filename: string; size: number; unpackedSize: number; files: PackedFile[] };
  const tarball = join(packDir, packed.filename);

  const dir = join(root, 'app');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'resnet-ts-consumer', private: true, type: 'module' }, null, 2));
  locked('/tmp/npm.lock', 'npm', ['install', tarball, '--no-audit', '--no-fund'], dir);
  writeFileSync(join(dir, 'cat.jpg'), readFileSync(CAT_JPG));
  writeFileSync(join(dir, 'cat.png'), await catPng(dir));
  return { dir, tarball, tarballBytes: packed.size, unpackedBytes: packed.unpackedSize, files: packed.files.map(({ path, size }) => ({ path, size })) };
}

let rootDir: string | undefined;

/** This run's directory for the app and the runtimes' caches (from the global setup). */
export function consumerRootDir(): string {
  rootDir ??= inject('consumerRoot') ?? mkdtempSync(join(tmpdir(), 'resnet-ts-consumer-'));
  return rootDir;
}

let app: Promise<ConsumerApp> | undefined;

/** The consumer app of this vitest run, made by the first caller. */
export function consumerApp(): Promise<ConsumerApp> {
  app ??= (async () => {
    const root = consumerRootDir();
    const ready = join(root, 'ready.json');
    const failed = join(root, 'failed.txt');
    const lock = join(root, 'lock');
    // A lock file, created exclusively by one test process; the others poll for its outcome.
    for (let waited = 0; ; waited += 250) {
      if (existsSync(ready)) return JSON.parse(readFileSync(ready, 'utf8')) as ConsumerApp;
      if (existsSync(failed)) throw new Error(`the consumer app failed in another test file:\n${readFileSync(failed, 'utf8')}`);
      try {
        closeSync(openSync(lock, 'wx'));
        break;
      } catch {
        if (waited > 600_000) throw new Error(`timed out waiting for the consumer app in ${root}`);
        await new Promise((ok) => setTimeout(ok, 250));
      }
    }
    try {
      const t = performance.now();
      const made = await makeApp(root);
      console.log(`consumer app: ${made.dir} (build if stale + pack + install: ${((performance.now() - t) / 1000).toFixed(1)} s)`);
      writeFileSync(ready, JSON.stringify(made));
      return made;
    } catch (e) {
      writeFileSync(failed, (e as Error).message);
      throw e;
    }
  })();
  return app;
}

/** The README's fenced block right after `<!-- runtime: NAME -->`, verbatim. */
export function readmeSnippet(name: string): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const re = new RegExp(`<!-- runtime: ${name} -->\\s*\\n\`\`\`[^\\n]*\\n([\\s\\S]*?)\\n\`\`\`\\n`);
  const m = re.exec(readme);
  if (!m) throw new Error(`README.md has no fenced block after <!-- runtime: ${name} -->`);
  return m[1] + '\n';
}

/** True when `path` exists; otherwise a failure under CI, and a printed skip (false) elsewhere. */
export function runtimeAvailable(what: string, path: string): boolean {
  if (existsSync(path)) return true;
  const reason = `${what} is not at ${path}`;
  if (process.env.CI) throw new Error(`${what} is required under CI: ${reason}`);
  console.warn(`skipping the ${what} test: ${reason}`);
  return false;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a process to its end, killed after `timeoutMs`; never throws on a nonzero exit. */
export function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

/** The last line of stdout that parses as JSON, or an error that shows the whole output. */
export function lastJson<T>(r: RunResult, what: string): T {
  const lines = r.stdout.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      return JSON.parse(line) as T;
    } catch {
      // not the result line
    }
  }
  throw new Error(`${what} printed no JSON (exit ${r.code})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

export interface Classified {
  readonly label: string;
  readonly logits: number[];
}

export type KernelVariant = 'simd' | 'relaxed-simd';
export type Image = 'cat.jpg' | 'cat.png';
export type NodeReference = Record<KernelVariant, Record<Image, Classified>>;

let reference: Promise<NodeReference> | undefined;

/**
 * Node's logits for cat.jpg and cat.png with the embedded model, from the repo's dist/ (as packed
 * and installed in the app, so that a rebuild by someone else meanwhile cannot change it), on each
 * kernel build (test/runtimes/node-reference.mjs): plain SIMD in this process (Node 20's default),
 * relaxed SIMD (fused multiply-add) in a `node --experimental-wasm-relaxed-simd` child, since
 * Node 20 validates it only behind that flag.
 * The two builds' logits differ by about 1.4e-5 (FMA rounding): see compareWithNode.
 */
export function nodeReference(): Promise<NodeReference> {
  reference ??= (async () => {
    const { dir } = await consumerApp();
    const url = await distUrl();
    const script = join(REPO, 'test/runtimes/node-reference.mjs');
    const { classifyBoth } = await import(pathToFileURL(script).href);
    const simd = (await classifyBoth(url, dir, false)) as Record<Image, Classified>;
    const r = await run(process.execPath, ['--experimental-wasm-relaxed-simd', script, url, dir], { cwd: dir });
    if (r.code !== 0) throw new Error(`node --experimental-wasm-relaxed-simd exited ${r.code}:\n${r.stderr}`);
    return { simd, 'relaxed-simd': lastJson<Record<Image, Classified>>(r, 'node --experimental-wasm-relaxed-simd') };
  })();
  return reference;
}

/** 1e-5: a runtime's logits must equal Node's on the same kernel arithmetic up to float32 rounding order. */
export const TOLERANCE = 1e-5;

/**
 * Checks a runtime's `{ label, logits }` against Node's: within 1e-5 of Node's logits on one of the
 * two kernel builds, and the same top-1. Which one is the engine's choice: relaxed SIMD lets
 * `f32x4.relaxed_madd` be fused (V8: Node 22+, Deno, Chromium, workerd) or not (JavaScriptCore:
 * Bun, whose relaxed build then gives the plain build's logits), and the fused and unfused sums
 * differ by about 1.4e-5 on cat.jpg, more than 1e-5. Prints the build the runtime reported and
 * both distances.
 */
export async function compareWithNode(what: string, got: Classified, image: Image, variant: KernelVariant): Promise<void> {
  const ref = await nodeReference();
  const diffs = { simd: maxAbsDiff(got.logits, ref.simd[image].logits), 'relaxed-simd': maxAbsDiff(got.logits, ref['relaxed-simd'][image].logits) };
  const nearest: KernelVariant = diffs.simd <= diffs['relaxed-simd'] ? 'simd' : 'relaxed-simd';
  console.log(
    `${what}: ${got.label}; runs the ${variant} build; max |logit - Node's| ${diffs.simd.toExponential(2)} (simd), ` +
      `${diffs['relaxed-simd'].toExponential(2)} (relaxed-simd, fused); logits ${JSON.stringify(got.logits)}`,
  );
  expect(got.logits, what).toHaveLength(10);
  expect(diffs[nearest], `${what}: max |logit - Node's| on either build`).toBeLessThanOrEqual(TOLERANCE);
  if (variant === 'simd') expect(nearest, `${what}: the plain SIMD build must give Node's plain SIMD logits`).toBe('simd');
  expect(got.label, what).toBe(ref[nearest][image].label);
}

/** max |a - b| over two logit vectors of one length. */
export function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Infinity : m;
}

export interface NamedError {
  readonly name: string;
  readonly message: string;
}

/** The bad inputs every runtime must reject with a named error, as bytes to decode or a model name. */
export function badInputs(): { truncatedJpeg: Uint8Array; notAnImage: Uint8Array; unknownModel: string } {
  const jpg = readFileSync(CAT_JPG);
  return {
    truncatedJpeg: new Uint8Array(jpg.subarray(0, Math.floor(jpg.length / 2))),
    notAnImage: new TextEncoder().encode('{"this is": "not an image"}\n'),
    unknownModel: 'resnet9000',
  };
}

/** The installed package's dist/ (the repo's dist/ when it was packed): Node's reference in this process. */
async function distUrl(): Promise<string> {
  return pathToFileURL(join((await consumerApp()).dir, 'node_modules/resnet-ts/dist')).href + '/';
}

// Imported by path at run time: a frozen copy of the repo's build, which others may rebuild meanwhile.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const dist = async (rel: string): Promise<any> => import((await distUrl()) + rel);

export interface Probe {
  /** The kernel build the default wasm backend runs here (`await initWasm()`). */
  readonly variant: KernelVariant;
  /** The errors for an unknown model, a truncated JPEG and a non-image. */
  readonly errors: Record<string, NamedError>;
  /**
   * A ResNet-18 (seeded weights, 2x3x32x32) with the default threads, settled: the threads it runs
   * on, its threadsNote, and whether its logits equal those of `threads: 1` bit for bit.
   */
  readonly threads: { readonly count: number; readonly note: string | null; readonly equal: boolean };
}

/** Node's in-process errors for the bad inputs: what every runtime must reproduce. */
export async function nodeBadInputErrors(): Promise<Record<string, NamedError>> {
  const { decodeImage, createModel } = await dist('index.js');
  const bad = badInputs();
  const named = async (f: () => Promise<unknown>): Promise<NamedError> => {
    try {
      await f();
    } catch (e) {
      return { name: (e as Error).name, message: (e as Error).message };
    }
    return { name: 'no error', message: '' };
  };
  return {
    unknownModel: await named(() => createModel(bad.unknownModel)),
    truncatedJpeg: await named(() => decodeImage(bad.truncatedJpeg)),
    notAnImage: await named(() => decodeImage(bad.notAnImage)),
  };
}

/**
 * The probe for another runtime (not README code): an ES module importing `importFrom`, with the
 * bad inputs inlined, whose `probe()` resolves to a `Probe`.
 */
export function probeModule(importFrom = 'resnet-ts'): string {
  const bad = badInputs();
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
  return `import { createModel, decodeImage, initWasm, Tensor } from '${importFrom}';
const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
async function named(f) {
  try { await f(); } catch (e) { return { name: e.name, message: e.message }; }
  return { name: 'no error', message: '' };
}
export async function probe() {
  return {
    variant: await initWasm(),
    errors: {
      unknownModel: await named(() => createModel(${JSON.stringify(bad.unknownModel)})),
      truncatedJpeg: await named(() => decodeImage(bytes('${b64(bad.truncatedJpeg)}'))),
      notAnImage: await named(() => decodeImage(bytes('${b64(bad.notAnImage)}'))),
    },
    threads: await threads(),
  };
}
async function threads() {
  const x = new Tensor(Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37)), [2, 3, 32, 32]);
  const settled = async (m) => {
    await m.forward(x);
    await m.settle();
    return (await m.forward(x)).data;
  };
  const one = await createModel('resnet18', { threads: 1 });
  const many = await createModel('resnet18');
  const a = await settled(one);
  const b = await settled(many);
  const result = { count: many.threads, note: many.threadsNote ?? null, equal: a.length === b.length && a.every((v, i) => v === b[i]) };
  one.dispose();
  many.dispose();
  return result;
}
`;
}

/** The bad inputs that got no error or only a generic one (Error, TypeError, ...): none may. */
export function genericErrorNames(errors: Record<string, NamedError>): string[] {
  return Object.entries(errors)
    .filter(([, e]) => ['no error', 'Error', 'TypeError', 'RangeError', 'SyntaxError'].includes(e.name))
    .map(([k, e]) => `${k}: ${e.name}: ${e.message}`);
}

/** cat.jpg's pixels, decoded by the installed package's exact JPEG decoder, as a PNG: the same image, lossless. */
async function catPng(appDir: string): Promise<Uint8Array> {
  const { decodeJpegExact } = await import(pathToFileURL(join(appDir, 'node_modules/resnet-ts/dist/index.js')).href);
  const img = decodeJpegExact(new Uint8Array(readFileSync(CAT_JPG)));
  return encodePng(img.width, img.height, img.data, 3);
}

/** A PNG (8-bit RGB, filter 0, zlib) of RGB(A) pixels: the same image as lossless bytes. */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: number): Uint8Array {
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = 0;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) raw[y * (1 + width * 3) + 1 + x * 3 + c] = pixels[(y * width + x) * channels + c];
    }
  }
  const chunk = (type: string, body: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const tb = Buffer.concat([Buffer.from(type, 'ascii'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(tb));
    return Buffer.concat([len, tb, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

/** CRC-32 (ISO-HDLC), as PNG chunks need; see: PNG spec (ISO/IEC 15948) annex D. */
function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
