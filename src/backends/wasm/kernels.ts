/**
 * Loads the AssemblyScript kernels (assembly/*.ts). The bytes travel inside the library
 * (kernels.generated.ts, base64), so nothing is fetched and no file path is needed; runtimes that
 * forbid compiling bytes pass a precompiled `WebAssembly.Module` of `dist/backends/wasm/kernels.wasm`
 * (or `kernels.relaxed.wasm`) instead.
 *
 * Two builds: plain SIMD (every engine with wasm SIMD) and relaxed SIMD (fused multiply-add, a
 * 6-row GEMM tile). The relaxed one is picked when the engine validates it (Node 20 only with
 * `--experimental-wasm-relaxed-simd`; Chrome 114+, Node 22+).
 */
import { KERNELS_RELAXED_BASE64, KERNELS_SIMD_BASE64 } from './kernels.generated.js';

/** The exports of assembly/index.ts. Pointers and sizes are numbers; flags are 0/1. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  readonly MR: WebAssembly.Global;
  readonly NR: WebAssembly.Global;
  heap_base(): number;
  conv_scratch_bytes(m: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, cin: number, groups: number): number;
  gemm_scratch_bytes(m: number, k: number): number;
  grouped_conv_nhwc(
    n: number, h: number, w: number, cin: number, oh: number, ow: number, cout: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, groups: number,
    input: number, packed: number, output: number, residual: number, relu: number,
  ): void;
  f32_gemm(m: number, n: number, k: number, a: number, lda: number, w: number, c: number, ldc: number, r: number, ldr: number, relu: number, apack: number): void;
  conv2d_nhwc(
    n: number, h: number, w: number, cin: number, oh: number, ow: number, cout: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, groups: number,
    input: number, packed: number, output: number, residual: number, relu: number, scratch: number,
  ): void;
  winograd_nhwc(
    stride: number, n: number, h: number, w: number, cin: number, oh: number, ow: number, cout: number, pt: number, pl: number,
    input: number, packed: number, bias: number, output: number, residual: number, relu: number, scratch: number,
  ): void;
  conv7x7s2c3_nhwc(
    n: number, h: number, w: number, oh: number, ow: number, cout: number, pt: number, pl: number,
    input: number, packed: number, output: number, residual: number, relu: number, scratch: number,
  ): void;
  stem_scratch_bytes(ow: number): number;
  winograd_scratch_bytes(cin: number, cout: number, stride: number): number;
  maxpool_nhwc(
    n: number, h: number, w: number, c: number, oh: number, ow: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number,
    input: number, output: number,
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
  peak_probe(iters: number, seed: number): number;
  peak_probe_flops(iters: number): number;
}

export type KernelVariant = 'simd' | 'relaxed-simd';

export interface KernelModule {
  readonly module: WebAssembly.Module;
  readonly variant: KernelVariant;
}

export interface InitWasmOptions {
  /** A precompiled module of kernels.wasm / kernels.relaxed.wasm; skips compiling bytes. */
  readonly module?: WebAssembly.Module;
  /** true: require the relaxed build; false: the plain SIMD build; default: relaxed when it validates. */
  readonly relaxed?: boolean;
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

export const SIMD_MISSING =
  'the wasm backend needs WebAssembly SIMD (Chrome 91+, Firefox 89+, Safari 16.4+, Node 16.4+), which this engine lacks; use the reference backend';
export const RELAXED_MISSING =
  'relaxed SIMD was required but this engine does not validate it (Node 20 needs --experimental-wasm-relaxed-simd; Node 22+ and Chrome 114+ have it)';

let simdBytes: Uint8Array<ArrayBuffer> | undefined;
let relaxedBytes: Uint8Array<ArrayBuffer> | undefined;
const simdSource = () => (simdBytes ??= decodeBase64(KERNELS_SIMD_BASE64));
const relaxedSource = () => (relaxedBytes ??= decodeBase64(KERNELS_RELAXED_BASE64));

/** Whether this engine runs wasm SIMD at all, and relaxed SIMD (feature detection by validation). */
export function wasmFeatures(): { simd: boolean; relaxedSimd: boolean } {
  if (typeof WebAssembly === 'undefined') return { simd: false, relaxedSimd: false };
  return { simd: WebAssembly.validate(simdSource()), relaxedSimd: WebAssembly.validate(relaxedSource()) };
}

const compiled = new Map<KernelVariant, Promise<WebAssembly.Module>>();

/** Compiles (once per variant) the kernel module this engine should run. */
export async function loadKernelModule(opts: InitWasmOptions = {}): Promise<KernelModule> {
  if (opts.module) {
    const names = WebAssembly.Module.exports(opts.module).map((e) => e.name);
    if (!names.includes('conv2d_nhwc')) {
      throw new TypeError(`initWasm: the module given is not resnet-ts kernels.wasm (exports ${names.slice(0, 6).join(', ')}...)`);
    }
    const probe = await instantiateKernels(opts.module);
    return { module: opts.module, variant: (probe.MR.value as number) === 6 ? 'relaxed-simd' : 'simd' };
  }
  const features = wasmFeatures();
  if (!features.simd) throw new Error(SIMD_MISSING);
  if (opts.relaxed === true && !features.relaxedSimd) throw new Error(RELAXED_MISSING);
  const variant: KernelVariant = opts.relaxed !== false && features.relaxedSimd ? 'relaxed-simd' : 'simd';
  let p = compiled.get(variant);
  if (!p) {
    p = WebAssembly.compile(variant === 'simd' ? simdSource() : relaxedSource());
    compiled.set(variant, p);
  }
  return { module: await p, variant };
}

/** A fresh instance with its own memory. */
export async function instantiateKernels(module: WebAssembly.Module): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`wasm kernel assertion failed at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}
