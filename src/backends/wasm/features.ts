/**
 * What the wasm backend needs from the engine, probed without the kernels' bytes, and its options.
 * The public declarations of this file name no `WebAssembly` type: a consumer type-checking with
 * `@types/node` 20 and no DOM lib has none (test/types.test.ts).
 */

export type KernelVariant = 'simd' | 'relaxed-simd';

/**
 * A compiled `WebAssembly.Module` of kernels.wasm or kernels.relaxed.wasm (for example
 * `import kernels from 'resnet-ts/kernels.wasm'` in Cloudflare Workers). Typed `object` so that the
 * declarations need no WebAssembly lib; checked when used.
 */
export type WasmModule = object;

export interface InitWasmOptions {
  /** A precompiled module of kernels.wasm / kernels.relaxed.wasm; skips compiling bytes. */
  readonly module?: WasmModule;
  /** true: require the relaxed build; false: the plain SIMD build; default: relaxed when it validates. */
  readonly relaxed?: boolean;
}

/**
 * When the packed weights and the Winograd weight sets of 3x3 convs are made (the sets are 4x the
 * conv's weights, and on a machine where fresh memory is slow to touch, writing packed weights
 * dominates the load):
 * - 'lazy' (default): nothing is packed at compile. The first forward packs each conv's weights
 *   just before it runs into one reused stream area (Winograd sets for the convs whose sets fit
 *   in it, direct GEMM panels for the rest), so it touches little fresh memory; each later forward
 *   then makes final weights (sets where Winograd runs) for as long as it ran itself (at least
 *   one node), so a call takes about twice its own forward until all are made (a streamed forward:
 *   longer than a settled one, and longest while the workers start, ResNet-18's second forward
 *   in Node's entry about 8x its settled 2-thread one).
 *   Outputs move by about 1e-6 relative while that happens (the two kernels round differently).
 *   With narrow storage ('int8', 'fp16') streamed panels are float32 and the final ones narrow.
 * - 'eager': every final weight and set is made at compile (the cold start pays it; every forward
 *   is the same).
 * - 'never': 3x3 convs stay direct GEMMs, packed at compile (least memory; slower forwards).
 */
export type WinogradMode = 'lazy' | 'eager' | 'never';

/**
 * How GEMM weights are kept in wasm memory:
 * - 'float32' (default): packed float32 panels.
 * - 'int8': int8 panels with a float32 scale per output channel (symmetric; an int8 checkpoint's
 *   weights stay the same integers, a float32 one is quantized at load), widened to float32 a
 *   chunk of panels at a time inside the GEMM (assembly/gemm.ts), so activations and arithmetic
 *   stay float32.
 * - 'fp16': binary16 panels (rounded to nearest even at load), widened the same way, exactly.
 * The 7x7 stem and grouped convs keep float32 panels (their kernels read the panels directly; they
 * are under 1% of the weights); Winograd sets stay float32.
 */
export type WeightStorage = 'float32' | 'fp16' | 'int8';

/** Options of a wasm backend: which kernels, when Winograd weight sets are made, how weights are stored. */
export interface WasmBackendOptions extends InitWasmOptions {
  readonly winograd?: WinogradMode;
  readonly storage?: WeightStorage;
  /**
   * Bytes the Winograd weight sets may take in all (default: no limit). A set is 4x its conv's
   * float32 weights (36 transformed copies of 3x3), so on large models they dominate memory; with a
   * budget, sets are made for the 3x3 convs with the smallest sets first (they save as many
   * multiplies as the large ones: every ResNet stage has the same MACs per 3x3 conv) until the
   * budget is spent, and the others run as direct GEMMs (listed by `directConvs`).
   */
  readonly winogradBudget?: number;
  /**
   * Bytes of the stream area a lazy model (winograd: 'lazy') packs each conv's weights into just
   * before it runs, until its final weights are made (default 4 MiB; LEAN_WASM_OPTIONS: 2 MiB).
   * Weights larger than the area stream a part of their output channels at a time where the
   * kernel splits that way at the input's shape, else are made final before they run. A larger
   * area streams in fewer parts (a shorter first forward); the area stays for the model's life.
   */
  readonly streamBytes?: number;
  /**
   * Threads for the kernels (one shared wasm memory, a pool of workers; see threads.ts). Default:
   * the cores available, at most 8, where the engine allows threads (SharedArrayBuffer, a Worker,
   * cross-origin isolation in pages); else 1, and the executable's `threadsNote` says why. The
   * workers start in the background after the first run (or at `threadsReady`): forwards before
   * they are ready run on one thread, and take them as soon as they are, mid-forward too.
   */
  readonly threads?: number;
}

/** The lean memory mode: int8 GEMM weights, Winograd sets within 48 MiB (ResNet-50 224 batch 1: see README) and a 2 MiB stream area. */
export const LEAN_WASM_OPTIONS: Readonly<Pick<WasmBackendOptions, 'storage' | 'winogradBudget' | 'streamBytes'>> = {
  storage: 'int8',
  winogradBudget: 48 * 2 ** 20,
  streamBytes: 2 * 2 ** 20,
};

export const SIMD_MISSING =
  'the wasm backend needs WebAssembly SIMD (Chrome 91+, Firefox 89+, Safari 16.4+, Node 16.4+), which this engine lacks; use the reference backend';
export const RELAXED_MISSING =
  'relaxed SIMD was required but this engine does not validate it (Node 20 needs --experimental-wasm-relaxed-simd; Node 22+ and Chrome 114+ have it)';

/**
 * Feature probes: the smallest modules with one function returning a v128 constant, and one that
 * also runs `f32x4.relaxed_madd` (opcode 0xfd 0x105). Validating them needs no kernel bytes.
 */
const PROBE_HEAD = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0];
const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const probeModule = (body: number[]) => new Uint8Array([...PROBE_HEAD, 0x0a, body.length + 2, 1, body.length, ...body]);
const SIMD_PROBE = probeModule([0, ...V128_ZERO, 0x0b]);
const RELAXED_PROBE = probeModule([0, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02, 0x0b]);

let features: { simd: boolean; relaxedSimd: boolean } | undefined;

/** Whether this engine runs wasm SIMD at all, and relaxed SIMD (feature detection by validation). */
export function wasmFeatures(): { simd: boolean; relaxedSimd: boolean } {
  if (typeof WebAssembly === 'undefined') return { simd: false, relaxedSimd: false };
  features ??= { simd: WebAssembly.validate(SIMD_PROBE), relaxedSimd: WebAssembly.validate(RELAXED_PROBE) };
  return features;
}
