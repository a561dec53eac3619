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
import { fuseGraph, type FusedConv, type FusedGraph, type FusedNode } from '../fuse.js';
import { RELAXED_MISSING, SIMD_MISSING, wasmFeatures, type InitWasmOptions, type KernelVariant, type WasmBackendOptions, type WeightStorage, type WinogradMode } from './features.js';
import { instantiateKernels, loadKernelModule, loadSharedKernelModule, registerKernelModule, type KernelExports, type KernelModule } from './kernels.js';
import { convMethod, convPackedBytes, convPackedFloats, convScratchBytes, isWinograd, packConv, runConv, takesNarrow, type ConvMethod } from './conv.js';
import { packedPanelBytes, panelDType, stagedBytes, stageWeight, type NarrowPanels } from './pack.js';
import { ALIGN, alignUp, placeBuffers, type Lifetime } from './plan.js';
import { joinPool, sharedMemory, threadSupport, type ParallelKernel, type PoolMember } from './threads.js';

export { LEAN_WASM_OPTIONS, wasmFeatures, type InitWasmOptions, type KernelVariant, type WasmBackendOptions, type WasmModule, type WeightStorage, type WinogradMode } from './features.js';

const PAGE = 65536;
/** Bytes kept free after the last buffer: vector tails may read (never write) up to 16 bytes past a row. */
const SLACK = 64;

export interface WasmExecutable extends Executable {
  /** Which kernel build runs: plain SIMD or relaxed SIMD. */
  readonly variant: KernelVariant;
  /** Bytes of packed weights in wasm memory (grows while lazy Winograd sets are made). */
  readonly weightBytes: number;
  /** 3x3 convs still running as direct GEMMs until their Winograd sets are made (winograd: 'lazy'). */
  readonly pendingWinograd: number;
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
  return backendWith(opts);
}

function backendWith(opts: WasmBackendOptions): Backend {
  return {
    name: 'wasm',
    async compile(graph: Graph, weights: WeightMap): Promise<WasmExecutable> {
      const t0 = performance.now();
      const kernels = await loadKernelModule(opts);
      const threading = await threadingFor(kernels, opts.threads);
      const k = threading.shared ? await instantiateKernels(threading.shared.module, threading.shared.memory) : await instantiateKernels(kernels.module);
      const t1 = performance.now();
      const fused = fuseGraph(graph, weights);
      return new WasmGraphExecutable(graph, fused, k, { kernels: t1 - t0, fuse: performance.now() - t1 }, opts, threading);
    },
  };
}

/** How many threads an executable will run on, and the shared-memory kernels they need. */
interface Threading {
  readonly threads: number;
  readonly note?: string;
  readonly shared?: { readonly module: WebAssembly.Module; readonly memory: WebAssembly.Memory };
}

async function threadingFor(kernels: KernelModule, requested: number | undefined): Promise<Threading> {
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
    throw new RangeError(`wasm backend: threads must be a whole number >= 1, got ${requested}`);
  }
  const support = threadSupport();
  const threads = requested ?? support.max;
  if (threads === 1) return { threads, note: requested === undefined ? support.reason : undefined };
  const single = (why: string): Threading => ({ threads: 1, note: `${threads} threads asked for, running on 1: ${why}` });
  if (support.reason) return single(support.reason);
  if (!kernels.embedded) {
    return single('a precompiled kernels module was given (initWasm({ module }) or { module }); threads need the embedded kernels, which are compiled here with a shared memory');
  }
  try {
    return { threads, shared: { module: await loadSharedKernelModule(kernels.variant), memory: sharedMemory() } };
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
  return (await loadKernelModule(opts)).variant;
}

/** Pointers of one node's constant data in wasm memory. */
interface NodeConsts {
  /** The conv's kernel now; a lazy Winograd conv starts as 'gemm'. */
  method?: ConvMethod;
  /** The Winograd kernel a lazy conv moves to once its sets are made. */
  pending?: ConvMethod;
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
  /** NCHW input/output staging for the layout transposes. */
  readonly staging: number;
  /** Where int8 panels are widened (0 when no node has int8 panels). */
  readonly wide: number;
  /** Bytes from one thread's scratch (and wide) to the next's. */
  readonly partBytes: number;
  /** Per pooling node: the f32 divisor arrays (average pool). */
  readonly divisors: Map<string, { h: number; w: number }>;
  /** Bytes past the weights this plan uses. */
  readonly bytes: number;
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
  /** Where the next plan starts: past the packed weights and the last lazy Winograd set, if any. */
  private constEnd: number;
  /** The end of everything placed so far (packed weights, plans, lazy sets). */
  private highWater: number;
  /** Convs whose Winograd sets are still to be made, in graph order. */
  private readonly pending: FusedConv[] = [];
  private runs = 0;
  /** Threads the plans make scratch for; the pool runs them once `member` is set. */
  private readonly parts: number;
  private member: PoolMember | undefined;
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
    // Lay out the constants, grow memory once for them, then pack.
    let top = alignUp(k.heap_base());
    const weightsStart = top;
    const takeBytes = (bytes: number) => {
      const p = top;
      top = alignUp(top + bytes);
      return p;
    };
    const take = (floats: number) => takeBytes(floats * 4);
    for (const n of fused.nodes) {
      if (n.op === 'conv') {
        const target = convMethod(n, winogradOk.has(n.name));
        const method = winograd === 'lazy' && isWinograd(target) ? convMethod(n, false) : target;
        if (method !== target) this.pending.push(n);
        const narrow = takesNarrow(method) ? narrowAll : undefined;
        this.consts.set(n.name, { method, pending: method !== target ? target : undefined, narrow, packed: takeBytes(convPackedBytes(n, method, narrow)), bias: take(n.outChannels) });
      } else if (n.op === 'linear') {
        this.consts.set(n.name, { narrow: narrowAll, packed: takeBytes(packedPanelBytes(narrowAll, n.outFeatures, n.inFeatures, 1, 1, 1)) });
      } else if (n.op === 'affine') {
        this.consts.set(n.name, { scale: take(n.scale.length), shift: take(n.shift.length) });
      }
    }
    this.constEnd = this.highWater = top;
    this.weightBytes = top - weightsStart;
    // Each raw weight is copied past the packed ones (where activations go later) with its
    // per-channel scale and bias, then packed from there by a wasm kernel (assembly/pack.ts).
    // A lean checkpoint's weights are copied as stored (int8 with scales, fp16) and packed from there.
    let rawBytes = 0;
    for (const n of fused.nodes) {
      if (n.op === 'conv' || n.op === 'linear') rawBytes = Math.max(rawBytes, stagedBytes(n.weight.length, n.bias.length) + n.bias.length * 4 + ALIGN);
    }
    this.ensureMemory(top + rawBytes + SLACK);
    const f32 = new Float32Array(k.memory.buffer);
    const raw = top;
    for (const n of fused.nodes) {
      const c = this.consts.get(n.name)!;
      if (n.op === 'conv') {
        f32.set(n.bias, c.bias! / 4);
        this.packConvAt(n, c.method!, c.packed!, raw, c.bias!, c.narrow);
      } else if (n.op === 'linear') {
        const w = stageWeight(k.memory.buffer, raw, n.weight);
        f32.set(n.bias, w.end / 4);
        k.pack_gemm_panels(n.outFeatures, n.inFeatures, 1, 1, 1, 0, w.src, w.weight, w.wscale, 0, w.end, c.packed!, panelDType(c.narrow));
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
   * the cold start, or when asked for (settle). Forwards run on this thread until they are ready.
   */
  get threadsReady(): Promise<void> {
    const shared = this.shared;
    this.starting ??= !shared
      ? Promise.resolve()
      : joinPool(this.parts, shared.module, shared.memory).then(
          (member) => {
            if (this.k) this.member = member;
            else member.release();
          },
          (e: unknown) => {
            this.threadsNote = `${this.parts} threads asked for, running on 1: ${e instanceof Error ? e.message : e}`;
          },
        );
    return this.starting;
  }

  get threads(): number {
    return this.member ? this.parts : 1;
  }

  /** Runs a threaded kernel: in parts on the pool when it is ready, else whole on this thread. */
  private call(k: KernelExports, plan: Plan, name: ParallelKernel, args: readonly number[]): void {
    const kernel = k[name] as (...a: number[]) => void;
    const member = this.member;
    if (!member) kernel(...args);
    else member.run(name, args, plan.partBytes, (part, parts) => kernel(...args, part, parts, plan.partBytes));
  }

  /**
   * Copies a conv's raw weight (as stored; widened to float32 for a Winograd set) and BN scale to
   * `raw`, then packs it for `method` at `dst`, in wasm.
   */
  private packConvAt(n: FusedConv, method: ConvMethod, dst: number, raw: number, bias: number, narrow?: NarrowPanels): void {
    const k = this.kernels();
    const w = stageWeight(k.memory.buffer, raw, n.weight, isWinograd(method));
    const scale = n.scale ? w.end : 0;
    if (n.scale) new Float32Array(k.memory.buffer).set(n.scale, scale / 4);
    packConv(k, n, dst, { ...w, scale, bias }, method, narrow);
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
    return this.pending.length;
  }

  /**
   * Makes pending Winograd sets, in graph order, until `budgetMs` is spent (at least one). Each set
   * goes past everything placed so far; its raw weight is staged just after it, where the next set
   * will go. Plans made before keep their places; later plans start past the sets.
   */
  private makeWinogradSets(budgetMs: number): void {
    const start = performance.now();
    while (this.pending.length > 0) {
      const n = this.pending[0];
      const c = this.consts.get(n.name)!;
      const at = alignUp(this.highWater);
      const bytes = convPackedFloats(n, c.pending) * 4;
      const raw = alignUp(at + bytes);
      this.ensureMemory(alignUp(raw + (n.weight.length + n.outChannels) * 4 + ALIGN) + SLACK);
      this.packConvAt(n, c.pending!, at, raw, c.bias!);
      c.packed = at;
      c.method = c.pending;
      c.pending = undefined;
      this.pending.shift();
      this.highWater = this.constEnd = alignUp(at + bytes);
      this.weightBytes += bytes;
      if (performance.now() - start >= budgetMs) return;
    }
  }

  settle(): void {
    this.makeWinogradSets(Infinity);
  }

  private kernels(): KernelExports {
    if (!this.k) throw new Error(`wasm executable for ${this.graph.name} was disposed`);
    return this.k;
  }

  private ensureMemory(bytes: number): void {
    const mem = this.kernels().memory;
    const have = mem.buffer.byteLength;
    if (bytes <= have) return;
    try {
      mem.grow(Math.ceil((bytes - have) / PAGE));
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
    nodes.forEach((n, i) => {
      for (const v of fusedInputs(n)) last.set(v, i);
      first.set(n.output, i);
    });
    const lifetimes: Lifetime[] = [];
    for (const [name, f] of first) {
      const shape = shapes.get(name);
      if (!shape) throw new Error(`wasm backend: no shape for value '${name}'`);
      lifetimes.push({ name, bytes: sizeOf(shape) * 4, first: f, last: outputs.has(name) ? nodes.length : (last.get(name) ?? f) });
    }
    const placement = placeBuffers(lifetimes);
    let top = this.constEnd;
    const arena = top;
    top = alignUp(top + placement.bytes);
    const ptr = new Map<string, number>();
    for (const [name, off] of placement.offsets) ptr.set(name, arena + off);

    let scratchBytes = 0;
    let wideBytes = 0;
    let stagingBytes = sizeOf(inputShape) * 4;
    for (const v of outputs) stagingBytes = Math.max(stagingBytes, sizeOf(shapes.get(v)!) * 4);
    const divisorArrays: { node: string; h: Float32Array; w: Float32Array }[] = [];
    for (const n of nodes) {
      if (n.op === 'conv') {
        // A lazy conv needs room for both of its kernels: the plan outlives the switch.
        const c = this.consts.get(n.name)!;
        for (const m of [c.method!, c.pending ?? c.method!]) scratchBytes = Math.max(scratchBytes, convScratchBytes(k, n, shapes.get(n.output)!, m));
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
    const staging = top;
    top = alignUp(top + stagingBytes);
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
    const plan: Plan = { shapes, ptr, scratch, wide, partBytes, staging, divisors, bytes: top - arena };
    this.highWater = Math.max(this.highWater, top);
    this.plans.set(key, plan);
    return plan;
  }

  memoryBytes(inputShape: readonly number[]): { weights: number; activations: number; peak: number } {
    const plan = this.plan(inputShape);
    // Peak once every lazy set is made: the sets' bytes are not yet in weightBytes.
    const lazy = this.pending.reduce((sum, n) => sum + convPackedFloats(n, this.consts.get(n.name)!.pending) * 4, 0);
    return { weights: this.weightBytes + lazy, activations: plan.bytes, peak: Math.max(this.highWater, this.constEnd + plan.bytes) + lazy + SLACK };
  }

  async run(input: Tensor): Promise<Record<string, Tensor>> {
    const start = performance.now();
    const result = this.forward(input);
    void this.threadsReady; // the first run done, the workers start in the background
    // A lazy model spends up to this run's own time making Winograd sets (the first run makes none:
    // it is the cold start).
    if (this.pending.length > 0 && this.runs++ > 0) this.makeWinogradSets(performance.now() - start);
    return result;
  }

  /** A forward with each node timed; makes no lazy Winograd sets (settle first to time the final kernels). */
  async profile(input: Tensor): Promise<ForwardProfile> {
    const start = performance.now();
    const nodes: NodeTiming[] = [];
    this.forward(input, (node, plan, ms) => {
      const kernel = node.op === 'conv' ? this.consts.get(node.name)!.method! : node.op;
      nodes.push({ name: node.name, op: node.op, kernel, outputShape: plan.shapes.get(node.output)!, ms });
    });
    return { nodes, totalMs: performance.now() - start, memoryBytes: this.kernels().memory.buffer.byteLength };
  }

  /** The graph on one input: layout in, every node (each timed when `timed` is given), outputs out. */
  private forward(input: Tensor, timed?: (node: FusedNode, plan: Plan, ms: number) => void): Record<string, Tensor> {
    const k = this.kernels();
    const plan = this.plan(input.shape);
    const [n, c, h, w] = input.shape;
    new Float32Array(k.memory.buffer).set(input.data, plan.staging / 4);
    k.nchw_to_nhwc(n, c, h * w, plan.staging, plan.ptr.get(this.fused.input)!);
    for (const node of this.fused.nodes) {
      if (!timed) {
        this.runNode(k, plan, node);
        continue;
      }
      const t = performance.now();
      this.runNode(k, plan, node);
      timed(node, plan, performance.now() - t);
    }
    const result: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(this.fused.outputs)) {
      const shape = plan.shapes.get(value)!;
      let src = plan.ptr.get(value)!;
      if (shape.length === 4) {
        k.nhwc_to_nchw(shape[0], shape[1], shape[2] * shape[3], src, plan.staging);
        src = plan.staging;
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
        runConv(k, node, inShape, outShape, {
          input: at(node.input),
          packed: consts.packed!,
          bias: consts.bias!,
          output: at(node.output),
          residual: node.residual ? at(node.residual) : 0,
          scratch: plan.scratch,
          wide: consts.narrow ? plan.wide : 0,
          half: consts.narrow === 'fp16' ? 1 : 0,
        }, consts.method, (name, args) => this.call(k, plan, name, args));
        return;
      }
      case 'linear': {
        const consts = this.consts.get(node.name)!;
        this.call(k, plan, 'linear_f32', [
          inShape[0], node.outFeatures, node.inFeatures, at(node.input), consts.packed!, at(node.output),
          plan.scratch, consts.narrow ? plan.wide : 0, consts.narrow === 'fp16' ? 1 : 0,
        ]);
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

  dispose(): void {
    this.k = undefined;
    this.plans.clear();
    this.member?.release();
    this.member = undefined;
  }
}

function fusedInputs(n: FusedNode): string[] {
  if (n.op === 'add') return [...n.inputs];
  if (n.op === 'conv' && n.residual) return [n.input, n.residual];
  return [n.input];
}
