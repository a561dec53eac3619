/**
 * Loads the AssemblyScript kernels (assembly/*.ts). Three ways in, in this order:
 *
 * 1. a precompiled `WebAssembly.Module` passed as `{ module }` to `createWasmBackend`;
 * 2. a module registered once with `initWasm({ module })`: the `workerd`/`worker` entry of the
 *    package (src/worker.ts) registers `kernels.wasm` imported as a module, which is the only way
 *    wasm runs where compiling bytes is forbidden (Cloudflare Workers);
 * 3. otherwise the bytes that travel inside the library (kernels.generated.ts, base64, imported
 *    only when needed), compiled once per build. Nothing is fetched and no file path is needed.
 *
 * Two builds: plain SIMD (every engine with wasm SIMD) and relaxed SIMD (fused multiply-add, a
 * 6-row GEMM tile). The relaxed one is picked when the engine validates it (Node 20 only with
 * `--experimental-wasm-relaxed-simd`; Chrome 114+, Node 22+).
 */

import { decodeBase64 } from '../../base64.js';
import { RELAXED_MISSING, SIMD_MISSING, wasmFeatures, type InitWasmOptions, type KernelVariant } from './features.js';
import { sharedMemory, withSharedMemory } from './threads.js';
import { warmKernels } from './warm.js';

export { RELAXED_MISSING, SIMD_MISSING, wasmFeatures, type InitWasmOptions, type KernelVariant, type WasmModule } from './features.js';

/**
 * The last arguments of the threaded kernels (threads.ts): part, parts, partBytes (the bytes
 * between two parts' scratch). Left out, they are 0: the whole output in one part.
 */
export type PartArgs = [] | [part: number, parts: number, partBytes: number];

/** The exports of assembly/index.ts. Pointers and sizes are numbers; flags are 0/1. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  readonly MR: WebAssembly.Global;
  readonly NR: WebAssembly.Global;
  heap_base(): number;
  conv_scratch_bytes(m: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, cin: number, groups: number): number;
  gemm_scratch_bytes(m: number, k: number): number;
  gemm_q8_scratch_bytes(k: number): number;
  grouped_conv_nhwc(
    n: number, h: number, w: number, cin: number, oh: number, ow: number, cout: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, groups: number,
    input: number, packed: number, output: number, residual: number, relu: number, ...parts: PartArgs
  ): void;
  /** wide: 0 for f32 panels; else the panels are int8 (pack_gemm_weights_q8) and wide is gemm_q8_scratch_bytes(k) of scratch. */
  f32_gemm(m: number, n: number, k: number, a: number, lda: number, w: number, c: number, ldc: number, r: number, ldr: number, relu: number, apack: number, wide: number, half: number): void;
  /** A linear layer (rows of A and C contiguous) as f32_gemm, in parts. */
  linear_f32(m: number, n: number, k: number, a: number, w: number, c: number, apack: number, wide: number, half: number, ...parts: PartArgs): void;
  conv2d_nhwc(
    n: number, h: number, w: number, cin: number, oh: number, ow: number, cout: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, groups: number,
    input: number, packed: number, output: number, residual: number, relu: number, scratch: number, wide: number, half: number, ...parts: PartArgs
  ): void;
  winograd_nhwc(
    stride: number, n: number, h: number, w: number, cin: number, oh: number, ow: number, cout: number, pt: number, pl: number,
    input: number, packed: number, bias: number, output: number, residual: number, relu: number, scratch: number, sets: number, ...parts: PartArgs
  ): void;
  winograd_block_tiles(cin: number, cout: number, stride: number): number;
  conv7x7s2c3_nhwc(
    n: number, h: number, w: number, oh: number, ow: number, cout: number, pt: number, pl: number,
    input: number, packed: number, output: number, residual: number, relu: number, scratch: number, ...parts: PartArgs
  ): void;
  stem_scratch_bytes(ow: number): number;
  /** Any source dtype (PANEL_DTYPE: float32, int8 with its scales at wscale, fp16 bits) into any panel dtype (pack.ts). */
  pack_gemm_panels(
    cout: number, cinG: number, kh: number, kw: number, groups: number, swap: number,
    src: number, weight: number, wscale: number, scale: number, bias: number, dst: number, dstType: number,
  ): void;
  pack_gemm_weights(
    cout: number, cinG: number, kh: number, kw: number, groups: number, swap: number,
    weight: number, scale: number, bias: number, dst: number,
  ): void;
  pack_gemm_weights_q8(
    cout: number, cinG: number, kh: number, kw: number, groups: number,
    weight: number, scale: number, bias: number, dst: number,
  ): void;
  pack_gemm_weights_f16(
    cout: number, cinG: number, kh: number, kw: number, groups: number,
    weight: number, scale: number, bias: number, dst: number,
  ): void;
  pack_winograd_weights(stride: number, cout: number, cin: number, from: number, to: number, weight: number, scale: number, dst: number, sets: number): void;
  /** Threaded streaming (pack.ts): a part of pack_winograd_weights over channels [from, to), its G g temporaries in the part's scratch. */
  pack_winograd_part(
    stride: number, cout: number, cin: number, from: number, to: number, weight: number, scale: number, dst: number, sets: number, scratch: number, ...parts: PartArgs
  ): void;
  /** Threaded streaming (pack.ts): a part of pack_gemm_panels of one group into float32 panels. */
  pack_gemm_part(
    cout: number, cin: number, kh: number, kw: number, swap: number, src: number, weight: number, wscale: number, scale: number, bias: number, dst: number, ...parts: PartArgs
  ): void;
  winograd_scratch_bytes(cin: number, cout: number, stride: number): number;
  maxpool_nhwc(
    n: number, h: number, w: number, c: number, oh: number, ow: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number,
    input: number, output: number, ...parts: PartArgs
  ): void;
  avgpool_nhwc(
    n: number, h: number, w: number, c: number, oh: number, ow: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number,
    divH: number, divW: number, input: number, output: number,
  ): void;
  global_avgpool_nhwc(n: number, hw: number, c: number, input: number, output: number): void;
  affine_nhwc(pixels: number, c: number, input: number, scale: number, shift: number, output: number, relu: number): void;
  add_f32(count: number, a: number, b: number, output: number, relu: number): void;
  relu_f32(count: number, input: number, output: number): void;
  shortcut_a_nhwc(n: number, h: number, w: number, c: number, s: number, pad: number, input: number, output: number): void;
  nchw_to_nhwc(n: number, c: number, hw: number, input: number, output: number): void;
  nhwc_to_nchw(n: number, c: number, hw: number, input: number, output: number): void;
  /** fuse.ts's foldBatchNorm in float64, bit for bit (bias 0: shift is t, a BatchNorm alone; else bias * s + t). */
  bn_fold_f32(c: number, eps: number, gamma: number, beta: number, mean: number, variance: number, bias: number, scaleOut: number, shiftOut: number): void;
  peak_probe(iters: number, seed: number): number;
  peak_probe_flops(iters: number): number;
}

export interface KernelModule {
  readonly module: WebAssembly.Module;
  readonly variant: KernelVariant;
}

/**
 * The message for an engine that validates wasm but will not compile bytes (Cloudflare Workers:
 * "Wasm code generation disallowed by embedder"), with the two ways that work there.
 */
export function compileRefused(e: unknown): Error {
  const why = e instanceof Error ? e.message : String(e);
  return new Error(
    `the wasm backend could not compile its kernels from bytes: ${why}. Runtimes that only run wasm modules imported ` +
      "at deploy time (Cloudflare Workers) need resnet-ts's 'workerd' entry, which wrangler picks by itself " +
      "(the 'workerd' export condition); with another bundler, import kernels from 'resnet-ts/kernels.wasm' " +
      'and call initWasm({ module: kernels }) before createModel.',
    { cause: e },
  );
}

let registered: Promise<KernelModule> | undefined;
/** Modules given (initWasm, { module }) already warmed (warm.ts): a backend given one describes it at each compile. */
const warmed = new WeakSet<WebAssembly.Module>();
/**
 * The instance a module was warmed in (warm.ts), kept for the first executable to take: another
 * instance made while the engine still compiles the warmed kernels in the background waited for
 * it (ResNet-18's cold start: about 17 ms of 190, Node 20).
 */
const spare = new WeakMap<WebAssembly.Module, KernelExports>();

/** Warms an instance of `module` (warm.ts) and keeps it for takeInstance. */
function warmInstance(module: WebAssembly.Module, k: KernelExports): void {
  warmKernels(k);
  spare.set(module, k);
}

/** The memory of the instance `module` was warmed in, while no executable has taken it. */
export function spareMemory(module: WebAssembly.Module): WebAssembly.Memory | undefined {
  return spare.get(module)?.memory;
}

/**
 * An instance of `module` for an executable, on `memory` (default: a fresh one of its own): the
 * instance it was warmed in when that one is on this memory and not taken yet, else a new one.
 */
export async function takeInstance(module: WebAssembly.Module, memory?: WebAssembly.Memory): Promise<KernelExports> {
  const k = spare.get(module);
  if (!k || (memory && k.memory !== memory)) return instantiateKernels(module, memory);
  spare.delete(module);
  return k;
}

/** Checks that a module is our kernels and tells its build (the relaxed build's GEMM tile has 6 rows). */
async function describeModule(module: object): Promise<KernelModule> {
  if (!(module instanceof WebAssembly.Module)) {
    const found = module === null ? 'null' : typeof module === 'object' ? (module as object).constructor?.name : typeof module;
    throw new TypeError(`initWasm: expected a WebAssembly.Module of resnet-ts kernels.wasm, got ${found}`);
  }
  const names = WebAssembly.Module.exports(module).map((e) => e.name);
  if (!names.includes('conv2d_nhwc')) {
    throw new TypeError(`initWasm: the module given is not resnet-ts kernels.wasm (exports ${names.slice(0, 6).join(', ')}...)`);
  }
  const probe = await instantiateKernels(module);
  if (!warmed.has(module)) {
    warmed.add(module);
    warmInstance(module, probe);
  }
  return { module, variant: (probe.MR.value as number) === 6 ? 'relaxed-simd' : 'simd' };
}

/** Registers a precompiled kernels module for every wasm backend created without one. */
export function registerKernelModule(module: object): Promise<KernelModule> {
  const r = describeModule(module);
  registered = r;
  r.catch(() => {
    if (registered === r) registered = undefined;
  });
  return r;
}

/**
 * Which kernels `opts` run: a module given (`{ module }`, not yet checked), the one registered
 * (initWasm({ module })), else the embedded build of `variant` (relaxed SIMD where the engine
 * validates it and `relaxed` is not false).
 */
async function kernelsFor(opts: InitWasmOptions): Promise<{ given: object } | { registered: KernelModule } | { variant: KernelVariant }> {
  if (opts.module) return { given: opts.module };
  if (registered) {
    const r = await registered;
    if (opts.relaxed === undefined || opts.relaxed === (r.variant === 'relaxed-simd')) return { registered: r };
  }
  const { simd, relaxedSimd } = wasmFeatures();
  if (!simd) throw new Error(SIMD_MISSING);
  if (opts.relaxed === true && !relaxedSimd) throw new Error(RELAXED_MISSING);
  return { variant: opts.relaxed !== false && relaxedSimd ? 'relaxed-simd' : 'simd' };
}

/** The embedded build `opts` run (see kernelsFor), without compiling it; undefined when a module was given or registered. */
export async function embeddedVariant(opts: InitWasmOptions = {}): Promise<KernelVariant | undefined> {
  const kernels = await kernelsFor(opts);
  return 'variant' in kernels ? kernels.variant : undefined;
}

/** The kernel module this engine should run: the one given, the one registered, or compiled from bytes (once per build). */
export async function loadKernelModule(opts: InitWasmOptions = {}): Promise<KernelModule> {
  const kernels = await kernelsFor(opts);
  if ('given' in kernels) return describeModule(kernels.given);
  if ('registered' in kernels) return kernels.registered;
  const { variant } = kernels;
  return { module: await compileEmbedded(variant, false), variant };
}

/** The embedded kernels of `variant` with their memory declared shared (threads.ts), compiled once per build. */
export function loadSharedKernelModule(variant: KernelVariant): Promise<WebAssembly.Module> {
  return compileEmbedded(variant, true);
}

/** Compiled embedded builds, plain and shared-memory, by variant. */
const compiled = { plain: new Map<KernelVariant, Promise<WebAssembly.Module>>(), shared: new Map<KernelVariant, Promise<WebAssembly.Module>>() };

/**
 * Compiles the embedded bytes of `variant` (with their memory declared shared for `shared`) once
 * per build and warms an instance of the module (on a shared memory of its own for `shared`). A
 * plain build that the engine refuses to compile says how to run where that is forbidden.
 */
function compileEmbedded(variant: KernelVariant, shared: boolean): Promise<WebAssembly.Module> {
  const cache = shared ? compiled.shared : compiled.plain;
  let p = cache.get(variant);
  if (!p) {
    p = import('./kernels.generated.js').then(async (k) => {
      const bytes = decodeBase64(variant === 'simd' ? k.KERNELS_SIMD_BASE64 : k.KERNELS_RELAXED_BASE64);
      let module: WebAssembly.Module;
      try {
        module = await WebAssembly.compile(shared ? withSharedMemory(bytes) : bytes);
      } catch (e) {
        throw shared ? e : compileRefused(e);
      }
      warmInstance(module, await instantiateKernels(module, shared ? sharedMemory() : undefined));
      return module;
    });
    cache.set(variant, p);
    p.catch(() => cache.delete(variant));
  }
  return p;
}

/** A fresh instance on `memory` (default: a fresh memory of its own, not shared). */
export async function instantiateKernels(module: WebAssembly.Module, memory = new WebAssembly.Memory({ initial: 1 })): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(module, {
    env: {
      memory,
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`wasm kernel assertion failed at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}
