/**
 * The WASM SIMD backend: AssemblyScript kernels (assembly/) on NHWC activations.
 *
 * compile: the graph is fused (BN folded into convs, residual add + ReLU in the conv epilogue; see
 * ../fuse.ts), then every conv and linear weight is copied into wasm memory and packed once there
 * by wasm kernels into GEMM panels or Winograd sets, the BN scale multiplied in on the way.
 * run: the NCHW input is transposed to NHWC, the nodes run over buffers placed by a memory plan
 * made once per input shape (plan.ts; memory grows only when a new, larger shape first arrives),
 * and feature-map outputs are transposed back to NCHW.
 */
import type { Graph } from '../../graph.js';
import { inferShapes } from '../../graph.js';
import { pool2dInfo, poolTapCounts, type WindowAxis } from '../../shape.js';
import { Tensor, sizeOf } from '../../tensor.js';
import type { Backend, Executable, ForwardProfile, NodeTiming, WeightMap } from '../backend.js';
import { fuseGraph, type FusedConv, type FusedGraph, type FusedLinear, type FusedNode } from '../fuse.js';
import { RELAXED_MISSING, SIMD_MISSING, wasmFeatures, type InitWasmOptions, type KernelVariant, type WasmBackendOptions, type WeightStorage, type WinogradMode } from './features.js';
import { embeddedVariant, loadKernelModule, loadSharedKernelModule, registerKernelModule, spareMemory, takeInstance, type KernelExports } from './kernels.js';
import { convMethod, convPackedBytes, convPackedFloats, convScratchBytes, isWinograd, packConv, runConv, takesNarrow, type ConvGeometry, type ConvMethod } from './conv.js';
import { PANEL, packedPanelBytes, stagingBytes, stagingChunks, stageWeight, type NarrowPanels } from './pack.js';
import { ALIGN, alignUp, growTo, placeBuffers, type Lifetime } from './plan.js';
import { wasmBnFold } from './fold.js';
import { joinPool, sharedMemory, threadSupport, type ParallelKernel, type PoolMember } from './threads.js';

export { LEAN_WASM_OPTIONS, wasmFeatures, type InitWasmOptions, type KernelVariant, type WasmBackendOptions, type WasmModule, type WeightStorage, type WinogradMode } from './features.js';

/**
 * Bytes of the stream area a lazy model packs each conv's weights into (float32 panels or
 * Winograd sets) just before it runs, until its final ones are made (at most; less when no conv
 * needs as much). Larger weights are streamed a piece of output channels at a time where the
 * kernel splits that way at the input's shape (batch 1: the later stages), else made final at
 * once. Each piece repeats work: a Winograd conv split by channels transforms every input tile
 * again, and a cold process runs each piece's JS on unoptimized code. 4 MiB instead of 2 took the
 * first forward from 64.2 to 58.5 ms (ResNet-18) and from 174 to 165 ms (ResNet-50; there
 * layer2.0.conv2's 2.25 MiB of stride-2 sets now stream whole rather than in 13 parts), import to
 * logits 7-8 ms shorter (core entry, fresh processes, paired medians of 11 alternating rounds,
 * 10 and 8 of 11 better; 2-core EPYC, 2026-12-04). 8 MiB gained nothing more. The lean mode,
 * there to save memory, keeps 2 MiB (LEAN_WASM_OPTIONS.streamBytes).
 */
const STREAM_BYTES = 4 * 2 ** 20;
/** A streamed node's run: its packed weights, kernel and set stride, and for a part of its channels the part, split again across `nested` (the pool) where given. */
type StreamedRun = (packed: number, method: ConvMethod, sets: number, part?: readonly [number, number], nested?: PoolMember) => void;
/** Bytes kept free after the last buffer: vector tails may read (never write) up to 16 bytes past a row. */
const SLACK = 64;

export interface WasmExecutable extends Executable {
  /** Which kernel build runs: plain SIMD or relaxed SIMD. */
  readonly variant: KernelVariant;
  /** Bytes of packed weights in wasm memory (grows while lazy final weights and Winograd sets are made). */
  readonly weightBytes: number;
  /** 3x3 convs whose Winograd sets are still to be made (winograd: 'lazy'). */
  readonly pendingWinograd: number;
  /**
   * Convs and linears whose final packed weights are still to be made (winograd: 'lazy'): every
   * one starts so, its weights packed anew into one reused area at each forward (streamed) until
   * its turn comes; see WasmBackendOptions.winograd.
   */
  readonly pendingWeights: number;
  /** How GEMM weights are kept in wasm memory (WasmBackendOptions.storage). */
  readonly storage: WeightStorage;
  /**
   * 3x3 convs that could run Winograd but run as direct GEMMs because the sets would pass
   * `winogradBudget`: the layers that pay for the memory saved, with the set bytes each would take.
   */
  readonly directConvs: readonly { readonly name: string; readonly setBytes: number }[];
  /** Makes every pending Winograd set now (what the next forwards would otherwise do a few at a time). */
  settle(): void;
  /**
   * Threads the forwards run on now: the `threads` asked for (default: the cores available) once
   * the workers are ready, 1 before that and where threads cannot run.
   */
  readonly threads: number;
  /** Why fewer threads run than were asked for (or than the default would take); undefined when none is missing. */
  readonly threadsNote?: string;
  /** Settles when the workers are ready (or threads have been given up: see threadsNote). */
  readonly threadsReady: Promise<void>;
  /** ms of compile: `kernels` (compile and instantiate the module), `fuse` (fuse.ts), `pack` (copy raw weights in, pack in wasm). */
  readonly timings: { readonly kernels: number; readonly fuse: number; readonly pack: number };
}

/**
 * Creates a wasm backend; `opts.module` supplies a precompiled kernels.wasm (no byte compilation).
 * Throws at once when the engine lacks wasm SIMD (or relaxed SIMD that `relaxed: true` asks for),
 * so a caller choosing a backend can fall back.
 */
export function createWasmBackend(opts: WasmBackendOptions = {}): Backend {
  if (!opts.module) {
    const features = wasmFeatures();
    if (!features.simd) throw new Error(SIMD_MISSING);
    if (opts.relaxed === true && !features.relaxedSimd) throw new Error(RELAXED_MISSING);
  }
  const area = opts.streamBytes;
  if (area !== undefined && (!Number.isSafeInteger(area) || area < 0)) {
    throw new RangeError(`wasm backend: streamBytes must be a whole number of bytes >= 0, got ${area}`);
  }
  return backendWith(opts);
}

function backendWith(opts: WasmBackendOptions): Backend {
  return {
    name: 'wasm',
    async compile(graph: Graph, weights: WeightMap): Promise<WasmExecutable> {
      const t0 = performance.now();
      // Threaded, only the shared-memory build is compiled (and warmed); else the plain one.
      const threading = await threadingFor(opts);
      const k = threading.shared ? await takeInstance(threading.shared.module, threading.shared.memory) : await takeInstance((await loadKernelModule(opts)).module);
      const t1 = performance.now();
      const fused = fuseGraph(graph, weights, wasmBnFold(k));
      return new WasmGraphExecutable(graph, fused, k, { kernels: t1 - t0, fuse: performance.now() - t1 }, opts, threading);
    },
  };
}

/** How many threads an executable will run on, and the shared-memory kernels they need. */
interface Threading {
  readonly threads: number;
  readonly note?: string;
  readonly shared?: { readonly module: WebAssembly.Module; readonly memory: WebAssembly.Memory; readonly variant: KernelVariant };
}

async function threadingFor(opts: WasmBackendOptions): Promise<Threading> {
  const requested = opts.threads;
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
    throw new RangeError(`wasm backend: threads must be a whole number >= 1, got ${requested}`);
  }
  const support = threadSupport();
  const threads = requested ?? support.max;
  if (threads === 1) return { threads, note: requested === undefined ? support.reason : undefined };
  const single = (why: string): Threading => ({ threads: 1, note: `${threads} threads asked for, running on 1: ${why}` });
  if (support.reason) return single(support.reason);
  const variant = await embeddedVariant(opts);
  if (variant === undefined) {
    return single('a precompiled kernels module was given (initWasm({ module }) or { module }); threads need the embedded kernels, which are compiled here with a shared memory');
  }
  try {
    const module = await loadSharedKernelModule(variant);
    return { threads, shared: { module, memory: spareMemory(module) ?? sharedMemory(), variant } };
  } catch (e) {
    return single(`this engine would not make a shared wasm memory (${e instanceof Error ? e.message : e})`);
  }
}

/** The default wasm backend: relaxed SIMD where the engine validates it, plain SIMD otherwise. */
export const wasmBackend: Backend = backendWith({});

/**
 * Prepares the kernels ahead of the first `compile` (optional; compile does it on demand) and says
 * which build runs. With `{ module }` (a precompiled kernels.wasm, e.g. `import kernels from
 * 'resnet-ts/kernels.wasm'` where compiling bytes is forbidden) the module is registered for every
 * wasm backend created afterwards, `backend: 'wasm'` and `'auto'` included.
 */
export async function initWasm(opts: InitWasmOptions = {}): Promise<KernelVariant> {
  if (opts.module) return (await registerKernelModule(opts.module)).variant;
  // What a backend made with these options compiles: the shared-memory build where it runs
  // threads by default (Node's entry, isolated pages), else the plain one.
  const { shared } = await threadingFor(opts);
  return shared ? shared.variant : (await loadKernelModule(opts)).variant;
}

/** A node with packed weights. */
type Packed = FusedConv | FusedLinear;

/** Pointers of one node's constant data in wasm memory. */
interface NodeConsts {
  /** The conv's kernel: what its packed weights are for (a streamed conv may run another; see StreamStep). */
  final?: ConvMethod;
  /** Byte address of the final packed weights; undefined while they are streamed. */
  packed?: number;
  /** The GEMM weights are narrow panels (storage 'int8' or 'fp16'). */
  narrow?: NarrowPanels;
  bias?: number;
  scale?: number;
  shift?: number;
}

/** Everything that depends on the input shape, made once per shape. */
interface Plan {
  readonly shapes: Map<string, number[]>;
  /** Absolute byte address of every value (NHWC for rank 4). */
  readonly ptr: Map<string, number>;
  /** im2col, packed GEMM rows and Winograd blocks (the largest any node needs). */
  readonly scratch: number;
  /** Where the NCHW input and the NCHW copy of a feature-map output are staged for the layout transposes (output 0: none). */
  readonly staging: { readonly input: number; readonly output: number };
  /** Where int8 panels are widened (0 when no node has int8 panels). */
  readonly wide: number;
  /** Bytes from one thread's scratch (and wide) to the next's. */
  readonly partBytes: number;
  /** Per pooling node: the f32 divisor arrays (average pool). */
  readonly divisors: Map<string, { h: number; w: number }>;
  /** Bytes past the weights this plan uses. */
  readonly bytes: number;
  /** How each node whose weights may be streamed runs at this plan's shapes (absent: made final before it runs). */
  readonly streams: Map<string, StreamStep>;
  /** Stem convs run in bands of rows with the max pool that reads them (stemBands), by conv name. */
  readonly bands: Map<string, StemBand>;
  /** The max pools that run inside a stem's bands: they run nothing of their own. */
  readonly bandedPools: Set<string>;
}

/**
 * A stem conv (7x7 stride 2, 3 channels: ResNet's) whose only reader is a max pool: the two run a
 * band of pool output rows at a time, the stem's rows for the band going to a buffer of a few
 * hundred KiB instead of a whole feature map (ResNet-18 at 224: 0.5 instead of 3.1 MiB, which a
 * cold start also writes for the first time). Every value is computed as unbanded (each stem row
 * and pool window alike), so the results are the same bit for bit.
 */
interface StemBand {
  readonly pool: Extract<FusedNode, { op: 'maxpool' }>;
  /** Pool output rows per band. */
  readonly rows: number;
  /** Byte address of the band buffer (the stem's rows of one band, NHWC). */
  readonly buffer: number;
}

/** Bytes a stem band buffer aims at: the rows of a band stay in a core's L2 for the pool. */
const BAND_BYTES = 512 * 1024;
/** Names of the arena's buffers that are not graph values (a NUL starts no value name). */
const STAGING_IN = '\0staging:input';
const STAGING_OUT = '\0staging:output';
const BAND = '\0band:';

/** A streamed node's kernel at a plan's shapes, and in how many pieces of output channels its weights are packed and run. */
interface StreamStep {
  readonly method: ConvMethod;
  readonly parts: number;
}

class WasmGraphExecutable implements WasmExecutable {
  readonly variant: KernelVariant;
  weightBytes: number;
  readonly storage: WeightStorage;
  readonly directConvs: { name: string; setBytes: number }[] = [];
  readonly timings: WasmExecutable['timings'];
  private k: KernelExports | undefined;
  private readonly consts = new Map<string, NodeConsts>();
  private readonly plans = new Map<string, Plan>();
  /** Where the next plan starts: past the packed weights and the last lazy ones made, if any. */
  private constEnd: number;
  /** The end of everything placed so far (packed weights, plans, lazy ones). */
  private highWater: number;
  /** Nodes whose final weights are still to be made, in graph order. */
  private readonly pending: Packed[] = [];
  /**
   * Where streamed weights go at each forward: `raw` (the weight as stored, and its scale) is packed
   * into `pack`; made lazily later, final weights are staged at `raw` too. Undefined: nothing streams.
   */
  private readonly stream: { readonly raw: number; readonly pack: number; readonly bytes: number } | undefined;
  private runs = 0;
  /** ms the last banded stem spent in its max pool (the pool's time in a profile). */
  private bandPoolMs = 0;
  /** Threads the plans make scratch for; the pool runs them once `member` is set. */
  private readonly parts: number;
  private member: PoolMember | undefined;
  /** The pool's member while its workers attach this memory (see poolNow). */
  private joining: PoolMember | undefined;
  threadsNote: string | undefined;
  private readonly shared: Threading['shared'];
  private starting: Promise<void> | undefined;

  constructor(
    private readonly graph: Graph,
    private readonly fused: FusedGraph,
    k: KernelExports,
    /** ms compile spent before this constructor, which adds its own packing time. */
    before: { kernels: number; fuse: number },
    opts: WasmBackendOptions,
    threading: Threading,
  ) {
    const start = performance.now();
    this.parts = threading.threads;
    this.threadsNote = threading.note;
    const winograd: WinogradMode = opts.winograd ?? 'lazy';
    this.storage = opts.storage ?? 'float32';
    const narrowAll = this.storage === 'float32' ? undefined : this.storage;
    this.k = k;
    this.variant = (k.MR.value as number) === 6 ? 'relaxed-simd' : 'simd';
    const winogradOk = this.winogradWithin(opts.winogradBudget ?? Infinity, winograd);
    // With lazy Winograd (the default) no weights are packed here: the cold
    // start would spend most of its time writing fresh wasm memory (about 3 ms per MiB on some
    // machines). Each conv and linear is packed, just before it runs, into one stream area of at
    // most STREAM_BYTES (reused by every node and forward, so touched once; larger weights go a
    // part of their channels at a time, see streamStep), and later forwards make the final
    // weights a few at a time (narrow panels where the storage is narrow: streamed panels are
    // float32). 'eager' and 'never' pack the final weights here.
    const streaming = winograd === 'lazy';
    let top = alignUp(k.heap_base());
    const weightsStart = top;
    const takeBytes = (bytes: number) => {
      const p = top;
      top = alignUp(top + bytes);
      return p;
    };
    const take = (floats: number) => takeBytes(floats * 4);
    let rawBytes = 0;
    for (const n of fused.nodes) {
      if (n.op !== 'conv' && n.op !== 'linear') continue;
      rawBytes = Math.max(rawBytes, stagingFor(n));
      if (n.op === 'linear') {
        const narrow = narrowAll;
        this.consts.set(n.name, { narrow, packed: streaming ? undefined : takeBytes(packedPanelBytes(narrow, n.outFeatures, n.inFeatures, 1, 1, 1)) });
        if (streaming) this.pending.push(n);
        continue;
      }
      const final = convMethod(n, winogradOk.has(n.name));
      const narrow = takesNarrow(final) ? narrowAll : undefined;
      if (streaming) {
        this.consts.set(n.name, { final, narrow, bias: take(n.outChannels) });
        this.pending.push(n);
        continue;
      }
      this.consts.set(n.name, { final, narrow, packed: takeBytes(convPackedBytes(n, final, narrow)), bias: take(n.outChannels) });
    }
    for (const n of fused.nodes) {
      if (n.op === 'affine') this.consts.set(n.name, { scale: take(n.scale.length), shift: take(n.shift.length) });
    }
    this.weightBytes = top - weightsStart;
    // Raw weights are copied as stored (int8 with scales, fp16, float32) with their per-channel
    // scale and bias to a staging area, and packed from there by wasm kernels (assembly/pack.ts).
    // Streaming, the staging and stream areas stay; otherwise staging is past the weights, where
    // activations go later.
    if (streaming) {
      // The stream area holds the largest node's final weights as float32, up to opts.streamBytes (default STREAM_BYTES; see streamStep).
      const streamBytes = Math.min(opts.streamBytes ?? STREAM_BYTES, Math.max(0, ...this.pending.map((n) => convPackedFloats(geometryOf(n), this.consts.get(n.name)!.final ?? 'gemm') * 4)));
      // On threads a streamed part's raw weights are staged whole (packAt): at most its
      // packed float32 bytes, after the per-channel floats.
      const maxChannels = Math.max(0, ...this.pending.map((n) => geometryOf(n).outChannels));
      if (this.parts > 1) rawBytes = Math.max(rawBytes, alignUp(maxChannels * 4) + streamBytes + 4 * ALIGN);
      this.stream = { raw: takeBytes(rawBytes), pack: takeBytes(streamBytes), bytes: streamBytes };
    }
    this.constEnd = this.highWater = top;
    this.ensureMemory(top + (streaming ? 0 : rawBytes) + SLACK);
    const f32 = new Float32Array(k.memory.buffer);
    for (const n of fused.nodes) {
      const c = this.consts.get(n.name)!;
      if (n.op === 'conv') {
        f32.set(n.bias, c.bias! / 4);
        if (c.packed !== undefined) this.packAt(n, c.final, c.packed, top, c.narrow);
      } else if (n.op === 'linear') {
        if (c.packed !== undefined) this.packAt(n, undefined, c.packed, top, c.narrow);
      } else if (n.op === 'affine') {
        f32.set(n.scale, c.scale! / 4);
        f32.set(n.shift, c.shift! / 4);
      }
    }
    this.timings = { ...before, pack: performance.now() - start };
    this.shared = threading.shared;
  }

  /**
   * Starts the workers (once): after the first run, so that starting them does not compete with
   * the cold start, or when asked for (settle). Settles once they have this model's memory.
   * Forwards run on this thread until then, and take the workers as soon as they are ready,
   * mid-forward too (poolNow). Measured and not kept (2026-12-04, 2-core EPYC, ResNet-18, Node's
   * entry): starting them at compile, not awaited, made the first forward about 20 ms slower
   * (62 -> 68-100 ms, 5 rounds; the boot takes the core V8's background compile of the kernels
   * needs), and awaiting them before it cost 17-27 ms of waiting for 10-15 ms gained.
   */
  get threadsReady(): Promise<void> {
    const shared = this.shared;
    if (this.starting || !shared) return (this.starting ??= Promise.resolve());
    const joining = joinPool(this.parts, shared.module, shared.memory);
    this.joining = joining.member;
    this.starting = joining.attached.then(
      (member) => {
        if (this.k) this.member = member;
        else member.release();
      },
      (e: unknown) => {
        this.joining = undefined;
        this.threadsNote = `${this.parts} threads asked for, running on 1: ${e instanceof Error ? e.message : e}`;
      },
    );
    return this.starting;
  }

  get threads(): number {
    return this.member ? this.parts : 1;
  }

  /** The pool, if its workers have this memory: read synchronously, so a forward takes them mid-way. */
  private poolNow(): PoolMember | undefined {
    if (!this.member && this.joining?.ready()) this.member = this.joining;
    return this.member;
  }

  /**
   * Runs a threaded kernel: in parts on the pool when it is ready, else whole on this thread. With
   * `part` ([part, parts]: a streamed part of a node's channels), just that part: on this thread,
   * or with `nested` (the pool) split again across its threads as parts part * T + t of parts * T,
   * whose scratch the caller has shifted back by part * T parts (scratchFor).
   */
  private call(k: KernelExports, plan: Plan, name: ParallelKernel, args: readonly number[], part?: readonly [number, number], nested?: PoolMember): void {
    const kernel = k[name] as (...a: number[]) => void;
    const local = (p: number, parts: number) => kernel(...args, p, parts, plan.partBytes);
    if (part && nested) nested.run(name, args, plan.partBytes, local, { base: part[0] * this.parts, mul: part[1] });
    else if (part) kernel(...args, part[0], part[1], 0);
    else {
      const member = this.poolNow();
      if (!member) kernel(...args);
      else member.run(name, args, plan.partBytes, local);
    }
  }

  /**
   * The scratch address a kernel call takes: the plan's, or for a streamed part split across the
   * threads (call's `nested`) that address less part * T parts of partBytes, so that the kernel's
   * scratch + (part * T + t) * partBytes is thread t's (wrapping in wasm32's address arithmetic).
   */
  private scratchFor(plan: Plan, part?: readonly [number, number], nested?: PoolMember): number {
    return part && nested ? (plan.scratch - part[0] * this.parts * plan.partBytes) | 0 : plan.scratch;
  }

  /**
   * Packs a node's weights for `method` (a conv's; a linear packs as a 1x1 conv) at `dst`, in wasm:
   * its per-channel floats (a conv's BN scale, a linear's bias) are copied to `raw`, then its raw
   * weight a piece at a time (as stored; widened to float32 for a Winograd set) after them, each
   * piece packed before the next is copied. `range`: only those output channels (whole panels), as
   * a streamed part packs them; `sets` as packConv takes it. `threads`: a streamed node's plan,
   * where the pool is ready: `range` is staged whole (the stream area's staging holds a part on
   * threads) and each thread packs its own panels in the plan's scratch (not grouped GEMMs).
   */
  private packAt(n: Packed, method: ConvMethod | undefined, dst: number, raw: number, narrow?: NarrowPanels, range?: readonly [number, number], sets = 0, threads?: Plan): void {
    const k = this.kernels();
    const c = geometryOf(n);
    const m = method ?? 'gemm';
    const wide = isWinograd(m);
    const perChannel = n.op === 'conv' ? n.scale : n.bias;
    if (perChannel) new Float32Array(k.memory.buffer, raw, c.outChannels).set(perChannel);
    const scale = n.op === 'conv' && n.scale ? raw : 0;
    const bias = n.op === 'conv' ? this.consts.get(n.name)!.bias! : raw;
    const at = alignUp(raw + c.outChannels * 4);
    const [first, end] = range ?? [0, c.outChannels];
    const plan = threads && (wide || c.groups === 1) ? threads : undefined;
    const onThreads = plan && { call: (name: ParallelKernel, args: readonly number[]) => this.call(k, plan, name, args), scratch: plan.scratch };
    for (const [a, b] of onThreads ? [[first, end]] : stagingChunks(n.weight, c.outChannels, stagingUnit(c, m), wide)) {
      const [from, to] = [Math.max(a, first), Math.min(b, end)];
      if (from >= to) continue;
      const w = stageWeight(k.memory.buffer, at, n.weight, c.outChannels, from, to, wide);
      packConv(k, c, dst, { ...w, scale, bias }, m, narrow, from, to, sets, onThreads);
    }
  }

  /**
   * How a node's weights are streamed at the shapes given: its final kernel, else the direct one,
   * whichever fits the stream area whole or, where the kernel splits that way at these shapes, in
   * the fewest pieces of output channels that each fit; undefined when neither does.
   */
  private streamStep(n: Packed, shapes: Map<string, number[]>): StreamStep | undefined {
    const areaBytes = this.stream!.bytes;
    const c = geometryOf(n);
    const [b, , oh, ow] = n.op === 'conv' ? shapes.get(n.output)! : [shapes.get(n.input)![0], 0, 1, 1];
    const panels = Math.ceil(c.outChannels / PANEL);
    const methods = n.op === 'conv' ? [...new Set([this.consts.get(n.name)!.final!, convMethod(n, false)])] : (['gemm'] as ConvMethod[]);
    for (const method of methods) {
      const wino = isWinograd(method);
      const whole = convPackedFloats(c, method) * 4; // streamed panels are float32
      if (whole <= areaBytes) return { method, parts: 1 };
      // Bytes of one output-channel panel in every set (Winograd) or in the panels.
      const panelBytes = whole / panels;
      const minParts = Math.ceil(whole / areaBytes);
      for (let parts = minParts; parts <= panels; parts++) {
        if (Math.ceil(panels / parts) * panelBytes > areaBytes) continue;
        const splitsChannels = wino
          ? b * Math.ceil(oh / 4) * Math.ceil(ow / 4) < parts * this.kernels().winograd_block_tiles(c.inChannels, c.outChannels, c.stride[0])
          : method === 'gemm' && c.groups === 1 && b * oh * ow < c.outChannels;
        if (splitsChannels) return { method, parts };
        if (!wino) break; // the direct kernels split by channels at any parts, or never
      }
    }
    return undefined;
  }

  /**
   * Runs a node whose final weights are not made yet: packs them into the stream area (whole, or
   * a part's channels at a time, each part then run before the next is packed; with the pool,
   * each thread packs and runs its own panels of each), or, where they fit neither way at this
   * plan's shapes, makes them final first.
   */
  private runStreamed(plan: Plan, node: Packed, run: StreamedRun): void {
    const step = plan.streams.get(node.name);
    const stream = this.stream!;
    if (!step) {
      this.makeFinal(node);
      const c = this.consts.get(node.name)!;
      run(c.packed!, c.final ?? 'gemm', 0);
      return;
    }
    // With the pool ready (taken once per node: a part's scratch depends on it), each part is
    // packed and run by every thread, each its own panels.
    const pool = this.poolNow();
    const pack = (dst: number, range: readonly [number, number], sets: number) => this.packAt(node, step.method, dst, stream.raw, undefined, range, sets, pool && plan);
    const c = geometryOf(node);
    if (step.parts === 1) {
      pack(stream.pack, [0, c.outChannels], 0);
      run(stream.pack, step.method, 0);
      return;
    }
    const wino = isWinograd(step.method);
    const panelBytes = wino ? packedPanelBytes(undefined, PANEL, c.inChannels, 1, 1, 1) : packedPanelBytes(undefined, PANEL, c.inChannels, c.kernel[0], c.kernel[1], 1);
    for (let part = 0; part < step.parts; part++) {
      const [from, to] = [partFrom(c.outChannels, PANEL, part, step.parts), partFrom(c.outChannels, PANEL, part + 1, step.parts)];
      if (from >= to) continue;
      // The part's panels start at the stream area (its sets `sets` bytes apart): the kernel finds
      // them at the offset of channel `from` from `packed`.
      const packed = stream.pack - (from / PANEL) * panelBytes;
      const sets = wino ? Math.ceil((to - from) / PANEL) * panelBytes : 0;
      pack(packed, [from, to], sets);
      run(packed, step.method, sets, [part, step.parts], pool);
    }
  }

  /**
   * The convs allowed a Winograd set: all of them without a budget; with one, those with the
   * smallest sets first while the sum stays within it (the rest are recorded in directConvs).
   */
  private winogradWithin(budget: number, mode: WinogradMode): Set<string> {
    const ok = new Set<string>();
    if (mode === 'never') return ok;
    const candidates = this.fused.nodes
      .filter((n): n is FusedConv => n.op === 'conv' && isWinograd(convMethod(n)))
      .map((n) => ({ name: n.name, setBytes: convPackedFloats(n, convMethod(n)) * 4 }))
      .sort((a, b) => a.setBytes - b.setBytes);
    let used = 0;
    for (const c of candidates) {
      if (used + c.setBytes <= budget) {
        used += c.setBytes;
        ok.add(c.name);
      } else {
        this.directConvs.push(c);
      }
    }
    return ok;
  }

  get pendingWinograd(): number {
    return this.pending.filter((n) => n.op === 'conv' && isWinograd(this.consts.get(n.name)!.final!)).length;
  }

  get pendingWeights(): number {
    return this.pending.length;
  }

  /** Bytes of a pending node's final weights. */
  private finalBytes(n: Packed): number {
    const c = this.consts.get(n.name)!;
    return n.op === 'conv' ? convPackedBytes(n, c.final!, c.narrow) : packedPanelBytes(c.narrow, n.outFeatures, n.inFeatures, 1, 1, 1);
  }

  /**
   * Makes pending final weights, in graph order, until `budgetMs` is spent (at least one). Each
   * goes past everything placed so far; its raw weight is staged in the stream area's staging.
   * Plans made before keep their places; later plans start past the new weights.
   */
  private makePending(budgetMs: number): void {
    const start = performance.now();
    while (this.pending.length > 0) {
      this.makeFinal(this.pending[0]);
      if (performance.now() - start >= budgetMs) return;
    }
  }

  /**
   * Makes a pending node's final weights, past everything placed so far, on this thread. On the
   * pool's threads too (as streamed parts are, in packAt; a staging chunk at a time) was
   * measured and not kept (2026-12-04, 2-core EPYC, 3 rounds): settle() took 101-105 ms for
   * ResNet-18 against 85-88 and 111-120 for ResNet-50 against 117-123; writing fresh pages,
   * which is most of it, did not go faster on two threads.
   */
  private makeFinal(n: Packed): void {
    const c = this.consts.get(n.name)!;
    const at = alignUp(this.highWater);
    const bytes = this.finalBytes(n);
    const raw = this.stream!.raw;
    this.ensureMemory(at + bytes + SLACK);
    this.packAt(n, c.final, at, raw, c.narrow);
    c.packed = at;
    this.pending.splice(this.pending.indexOf(n), 1);
    this.highWater = this.constEnd = alignUp(at + bytes);
    this.weightBytes += alignUp(bytes);
  }

  settle(): void {
    this.makePending(Infinity);
  }

  private kernels(): KernelExports {
    if (!this.k) throw new Error(`wasm executable for ${this.graph.name} was disposed`);
    return this.k;
  }

  private ensureMemory(bytes: number): void {
    const memory = this.kernels().memory;
    try {
      growTo(memory, bytes);
    } catch (e) {
      throw new RangeError(
        `wasm backend: ${this.graph.name} needs ${(bytes / 2 ** 20).toFixed(0)} MiB of wasm memory ` +
          `(at most 4096 MiB, and what the engine allows); use a smaller batch or input. (${e instanceof Error ? e.message : e})`,
      );
    }
  }

  private plan(inputShape: readonly number[]): Plan {
    const key = inputShape.join('x');
    const cached = this.plans.get(key);
    if (cached) return cached;
    const k = this.kernels();
    const shapes = inferShapes(this.graph, inputShape);
    const nodes = this.fused.nodes;
    const outputs = new Set(Object.values(this.fused.outputs));
    // Lifetimes: the input is written at step -1; graph outputs stay live to the end.
    const first = new Map<string, number>([[this.fused.input, -1]]);
    const last = new Map<string, number>();
    const readers = new Map<string, number>();
    nodes.forEach((n, i) => {
      for (const v of fusedInputs(n)) {
        last.set(v, i);
        readers.set(v, (readers.get(v) ?? 0) + 1);
      }
      first.set(n.output, i);
    });
    const streams = new Map<string, StreamStep>();
    for (const n of this.pending) {
      const step = this.streamStep(n, shapes);
      if (step) streams.set(n.name, step);
    }
    // Stems read by a max pool alone run in bands with it: their output has no buffer of its own.
    // (A stem streamed in parts of its channels would run each part whole: it is not banded.)
    const banded = new Map<string, { stem: FusedConv; pool: StemBand['pool'] }>();
    nodes.forEach((n, i) => {
      const pool = nodes[i + 1];
      const whole = (streams.get(n.name)?.parts ?? 1) === 1;
      if (n.op === 'conv' && this.consts.get(n.name)!.final === 'stem' && whole && !n.residual && pool?.op === 'maxpool' && pool.input === n.output && readers.get(n.output) === 1 && !outputs.has(n.output)) {
        banded.set(n.output, { stem: n, pool });
        // The stem reads its input while the pool writes, band by band.
        last.set(n.input, Math.max(last.get(n.input)!, i + 1));
      }
    });
    const lifetimes: Lifetime[] = [];
    for (const [name, f] of first) {
      if (banded.has(name)) continue;
      const shape = shapes.get(name);
      if (!shape) throw new Error(`wasm backend: no shape for value '${name}'`);
      lifetimes.push({ name, bytes: sizeOf(shape) * 4, first: f, last: outputs.has(name) ? nodes.length : (last.get(name) ?? f) });
    }
    // Buffers that live over a few steps share the arena too: the NCHW input before the first
    // node, the NCHW copy of a feature-map output after the last, a stem's band buffer over the
    // stem and its pool.
    lifetimes.push({ name: STAGING_IN, bytes: sizeOf(inputShape) * 4, first: -1, last: -1 });
    const outBytes = Math.max(0, ...[...outputs].map((v) => shapes.get(v)!).filter((s) => s.length === 4).map((s) => sizeOf(s) * 4));
    if (outBytes > 0) lifetimes.push({ name: STAGING_OUT, bytes: outBytes, first: nodes.length, last: nodes.length });
    const bands = new Map<string, Omit<StemBand, 'buffer'>>();
    for (const [value, { stem, pool }] of banded) {
      const [, ch, , ow] = shapes.get(value)!;
      const rowBytes = ow * ch * 4;
      const [kh, sh, dh] = [pool.kernel[0], pool.stride[0], pool.dilation?.[0] ?? 1];
      const rows = Math.max(1, Math.floor((Math.floor(BAND_BYTES / rowBytes) - (kh - 1) * dh - 1) / sh) + 1);
      bands.set(stem.name, { pool, rows });
      const step = first.get(value)!;
      lifetimes.push({ name: BAND + stem.name, bytes: ((rows - 1) * sh + (kh - 1) * dh + 1) * rowBytes, first: step, last: step + 1 });
    }
    const placement = placeBuffers(lifetimes);
    let top = this.constEnd;
    const arena = top;
    top = alignUp(top + placement.bytes);
    const ptr = new Map<string, number>();
    for (const [name, off] of placement.offsets) ptr.set(name, arena + off);

    let scratchBytes = 0;
    let wideBytes = 0;
    const divisorArrays: { node: string; h: Float32Array; w: Float32Array }[] = [];
    for (const n of nodes) {
      if (n.op === 'conv') {
        // A lazy conv needs room for each of its kernels: the plan outlives the switch.
        const c = this.consts.get(n.name)!;
        for (const m of [c.final!, ...(c.packed === undefined ? [convMethod(n, false)] : [])]) scratchBytes = Math.max(scratchBytes, convScratchBytes(k, n, shapes.get(n.output)!, m));
        if (c.narrow) wideBytes = Math.max(wideBytes, k.gemm_q8_scratch_bytes(n.kernel[0] * n.kernel[1] * (n.inChannels / n.groups)));
      } else if (n.op === 'linear') {
        scratchBytes = Math.max(scratchBytes, k.gemm_scratch_bytes(shapes.get(n.input)![0], n.inFeatures));
        if (this.consts.get(n.name)!.narrow) wideBytes = Math.max(wideBytes, k.gemm_q8_scratch_bytes(n.inFeatures));
      } else if (n.op === 'avgpool') {
        const info = pool2dInfo(shapes.get(n.input)!, n);
        const div = (a: WindowAxis) => {
          const t = poolTapCounts(a);
          return Float32Array.from(n.countIncludePad ? t.padded : t.valid);
        };
        divisorArrays.push({ node: n.name, h: div(info.h), w: div(info.w) });
      }
    }
    // One scratch (and wide) area per thread, partBytes apart.
    const partBytes = alignUp(scratchBytes) + alignUp(wideBytes);
    const scratch = top;
    const wide = wideBytes > 0 ? scratch + alignUp(scratchBytes) : 0;
    top = alignUp(top + partBytes * this.parts);
    const divisors = new Map<string, { h: number; w: number }>();
    const divWrites: [number, Float32Array][] = [];
    for (const d of divisorArrays) {
      const h = top;
      top = alignUp(top + d.h.length * 4);
      const w = top;
      top = alignUp(top + d.w.length * 4);
      divisors.set(d.node, { h, w });
      divWrites.push([h, d.h], [w, d.w]);
    }
    this.ensureMemory(top + SLACK);
    const f32 = new Float32Array(k.memory.buffer);
    for (const [p, arr] of divWrites) f32.set(arr, p / 4);
    const stemBands = new Map([...bands].map(([name, b]) => [name, { ...b, buffer: ptr.get(BAND + name)! }]));
    const bandedPools = new Set([...bands.values()].map((b) => b.pool.name));
    const staging = { input: ptr.get(STAGING_IN)!, output: ptr.get(STAGING_OUT) ?? 0 };
    const plan: Plan = { shapes, ptr, scratch, wide, partBytes, staging, divisors, bytes: top - arena, streams, bands: stemBands, bandedPools };
    this.highWater = Math.max(this.highWater, top);
    this.plans.set(key, plan);
    return plan;
  }

  memoryBytes(inputShape: readonly number[]): { weights: number; activations: number; peak: number } {
    const plan = this.plan(inputShape);
    // Peak once every lazy weight is made (each past everything placed, this plan included):
    // their bytes are not yet in weightBytes.
    const lazy = this.pending.reduce((sum, n) => sum + alignUp(this.finalBytes(n)), 0);
    return { weights: this.weightBytes + lazy, activations: plan.bytes, peak: this.highWater + lazy + SLACK };
  }

  async run(input: Tensor): Promise<Record<string, Tensor>> {
    const start = performance.now();
    const result = this.forward(input);
    void this.threadsReady; // the first run done, the workers start in the background
    // A lazy model spends up to this run's own time making final weights (the first run makes
    // none: it is the cold start).
    if (this.pending.length > 0 && this.runs++ > 0) this.makePending(performance.now() - start);
    return result;
  }

  /** A forward with each node timed; makes no lazy Winograd sets (settle first to time the final kernels). */
  async profile(input: Tensor): Promise<ForwardProfile> {
    const start = performance.now();
    const nodes: NodeTiming[] = [];
    this.forward(input, (node, plan, ms) => {
      // A conv still streamed runs the kernel its plan streams it with.
      const c = this.consts.get(node.name);
      const kernel = node.op === 'conv' ? (c!.packed !== undefined ? c!.final! : plan.streams.get(node.name)!.method) : node.op;
      nodes.push({ name: node.name, op: node.op, kernel, outputShape: plan.shapes.get(node.output)!, ms });
    });
    return { nodes, totalMs: performance.now() - start, memoryBytes: this.kernels().memory.buffer.byteLength };
  }

  /** The graph on one input: layout in, every node (each timed when `timed` is given), outputs out. */
  private forward(input: Tensor, timed?: (node: FusedNode, plan: Plan, ms: number) => void): Record<string, Tensor> {
    const k = this.kernels();
    const plan = this.plan(input.shape);
    const [n, c, h, w] = input.shape;
    new Float32Array(k.memory.buffer).set(input.data, plan.staging.input / 4);
    k.nchw_to_nhwc(n, c, h * w, plan.staging.input, plan.ptr.get(this.fused.input)!);
    for (const node of this.fused.nodes) {
      if (plan.bandedPools.has(node.name)) {
        // Run in its stem's bands (StemBand); its share of that time is its own.
        timed?.(node, plan, this.bandPoolMs);
        continue;
      }
      if (!timed) {
        this.runNode(k, plan, node);
        continue;
      }
      const t = performance.now();
      this.runNode(k, plan, node);
      timed(node, plan, performance.now() - t - (plan.bands.has(node.name) ? this.bandPoolMs : 0));
    }
    const result: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(this.fused.outputs)) {
      const shape = plan.shapes.get(value)!;
      let src = plan.ptr.get(value)!;
      if (shape.length === 4) {
        k.nhwc_to_nchw(shape[0], shape[1], shape[2] * shape[3], src, plan.staging.output);
        src = plan.staging.output;
      }
      const size = sizeOf(shape);
      result[name] = new Tensor(new Float32Array(k.memory.buffer, src, size).slice(), shape);
    }
    return result;
  }

  private runNode(k: KernelExports, plan: Plan, node: FusedNode): void {
    const at = (v: string) => plan.ptr.get(v)!;
    const inShape = plan.shapes.get(node.op === 'add' ? node.inputs[0] : node.input)!;
    const outShape = plan.shapes.get(node.output)!;
    switch (node.op) {
      case 'conv': {
        const consts = this.consts.get(node.name)!;
        // Streamed panels are float32; only the final ones may be narrow.
        const conv = (packed: number, method: ConvMethod | undefined, sets: number, part?: readonly [number, number], nested?: PoolMember) => {
          const narrow = packed === consts.packed ? consts.narrow : undefined;
          runConv(k, node, inShape, outShape, {
            input: at(node.input),
            packed,
            bias: consts.bias!,
            output: at(node.output),
            residual: node.residual ? at(node.residual) : 0,
            scratch: this.scratchFor(plan, part, nested),
            wide: narrow ? plan.wide : 0,
            half: narrow === 'fp16' ? 1 : 0,
            sets,
          }, method, (name, args) => this.call(k, plan, name, args, part, nested));
        };
        const band = plan.bands.get(node.name);
        const run = band ? (packed: number) => this.runStemBands(k, plan, node, band, packed) : conv;
        if (consts.packed === undefined) this.runStreamed(plan, node, run);
        else run(consts.packed, consts.final, 0);
        return;
      }
      case 'linear': {
        const consts = this.consts.get(node.name)!;
        const linear = (packed: number, _m?: ConvMethod, _s?: number, part?: readonly [number, number], nested?: PoolMember) => {
          const narrow = packed === consts.packed ? consts.narrow : undefined; // streamed panels are float32
          const args = [inShape[0], node.outFeatures, node.inFeatures, at(node.input), packed, at(node.output), this.scratchFor(plan, part, nested), narrow ? plan.wide : 0, narrow === 'fp16' ? 1 : 0];
          this.call(k, plan, 'linear_f32', args, part, nested);
        };
        if (consts.packed === undefined) this.runStreamed(plan, node, linear);
        else linear(consts.packed);
        return;
      }
      case 'maxpool':
      case 'avgpool': {
        const [b, ch, h, w] = inShape;
        const [, , oh, ow] = outShape;
        const [dh, dw] = node.dilation ?? [1, 1];
        const geometry = [b, h, w, ch, oh, ow, node.kernel[0], node.kernel[1], node.stride[0], node.stride[1], node.pads[0], node.pads[1], dh, dw] as const;
        if (node.op === 'maxpool') {
          this.call(k, plan, 'maxpool_nhwc', [...geometry, at(node.input), at(node.output)]);
        } else {
          const d = plan.divisors.get(node.name)!;
          k.avgpool_nhwc(...geometry, d.h, d.w, at(node.input), at(node.output));
        }
        return;
      }
      case 'globalavgpool': {
        const [b, ch, h, w] = inShape;
        k.global_avgpool_nhwc(b, h * w, ch, at(node.input), at(node.output));
        return;
      }
      case 'affine': {
        const ch = inShape[1];
        const consts = this.consts.get(node.name)!;
        k.affine_nhwc(sizeOf(inShape) / ch, ch, at(node.input), consts.scale!, consts.shift!, at(node.output), node.relu ? 1 : 0);
        return;
      }
      case 'add':
        k.add_f32(sizeOf(outShape), at(node.inputs[0]), at(node.inputs[1]), at(node.output), node.relu ? 1 : 0);
        return;
      case 'relu':
        k.relu_f32(sizeOf(outShape), at(node.input), at(node.output));
        return;
      case 'shortcutA': {
        const [b, ch, h, w] = inShape;
        k.shortcut_a_nhwc(b, h, w, ch, node.stride, node.padChannels, at(node.input), at(node.output));
        return;
      }
    }
  }

  /**
   * A stem and its max pool (StemBand), image by image, a band of pool rows at a time: the stem
   * rows the band reads are made in the band buffer (rows the last band made already are moved to
   * its start, not made again), then the pool's rows of the band are written.
   */
  private runStemBands(k: KernelExports, plan: Plan, stem: FusedConv, band: StemBand, packed: number): void {
    const pool = band.pool;
    const [n, , h, w] = plan.shapes.get(stem.input)!;
    const [, ch, stemH, stemW] = plan.shapes.get(stem.output)!;
    const [, , ph, pw] = plan.shapes.get(pool.output)!;
    const rowBytes = stemW * ch * 4;
    const [kh, kw] = pool.kernel;
    const [strideH, strideW] = pool.stride;
    const [dh, dw] = pool.dilation ?? [1, 1];
    const [pt, pl] = [pool.pads[0], pool.pads[1]];
    const bytes = new Uint8Array(k.memory.buffer);
    this.bandPoolMs = 0;
    for (let b = 0; b < n; b++) {
      const input = plan.ptr.get(stem.input)! + b * h * w * 3 * 4;
      const output = plan.ptr.get(pool.output)! + b * ph * pw * ch * 4;
      // The buffer holds stem rows [have0, have1).
      let [have0, have1] = [0, 0];
      for (let p0 = 0; p0 < ph; p0 += band.rows) {
        const p1 = Math.min(ph, p0 + band.rows);
        const from = Math.max(0, p0 * strideH - pt);
        const to = Math.min(stemH, (p1 - 1) * strideH - pt + (kh - 1) * dh + 1);
        const kept = Math.max(from, Math.min(have1, to));
        if (kept > from) bytes.copyWithin(band.buffer, band.buffer + (from - have0) * rowBytes, band.buffer + (kept - have0) * rowBytes);
        if (to > kept) {
          // Stem rows [kept, to): the stem kernel (stride 2) on the whole image, its output rows
          // counted from `kept` (the top padding shifted by as many input rows).
          const args = [1, h, w, to - kept, stemW, ch, stem.pads[0] - 2 * kept, stem.pads[1], input, packed, band.buffer + (kept - from) * rowBytes, 0, stem.relu ? 1 : 0, plan.scratch];
          this.call(k, plan, 'conv7x7s2c3_nhwc', args);
        }
        [have0, have1] = [from, to];
        const t = performance.now();
        // The pool's rows [p0, p1) over the buffer's rows (its top padding shifted likewise).
        const args = [1, to - from, stemW, ch, p1 - p0, pw, kh, kw, strideH, strideW, pt - p0 * strideH + from, pl, dh, dw, band.buffer, output + p0 * pw * ch * 4];
        this.call(k, plan, 'maxpool_nhwc', args);
        this.bandPoolMs += performance.now() - t;
      }
    }
  }

  dispose(): void {
    this.k = undefined;
    this.plans.clear();
    (this.member ?? this.joining)?.release();
    this.member = undefined;
    this.joining = undefined;
  }
}

/** Where part p of `parts` starts in `total` channels cut in units of `unit` (assembly/gemm.ts partFrom). */
function partFrom(total: number, unit: number, p: number, parts: number): number {
  return Math.min(total, Math.floor((Math.ceil(total / unit) * p) / parts) * unit);
}

/** A node's conv geometry: a conv's own; a linear's, as the 1x1 conv its panels are packed as. */
function geometryOf(n: Packed): ConvGeometry {
  if (n.op === 'conv') return n;
  return { inChannels: n.inFeatures, outChannels: n.outFeatures, kernel: [1, 1], stride: [1, 1], dilation: [1, 1], groups: 1 };
}

/** Output channels a weight is staged in whole multiples of: a group of a grouped conv's panels, else a panel. */
function stagingUnit(c: ConvGeometry, method: ConvMethod): number {
  return c.groups > 1 && !isWinograd(method) ? c.outChannels / c.groups : PANEL;
}

/** Bytes of staging a node's packing takes, for any of its kernels (packAt). */
function stagingFor(n: Packed): number {
  const c = geometryOf(n);
  const direct = stagingBytes(n.weight, c.outChannels, stagingUnit(c, 'gemm'));
  return n.op === 'conv' && isWinograd(convMethod(n)) ? Math.max(direct, stagingBytes(n.weight, c.outChannels, PANEL, true)) : direct;
}

function fusedInputs(n: FusedNode): string[] {
  if (n.op === 'add') return [...n.inputs];
  if (n.op === 'conv' && n.residual) return [n.input, n.residual];
  return [n.input];
}
