/**
 * The library API that the CLI is built on and that browsers, workers, Deno and Bun import:
 * `listModels()`, `createModel(name, options)`, `model.forward(input)`, `model.summary()`.
 */
import { importOptional, nodeProcess } from './runtime.js';
import { loadPretrained, parseModelName, type PretrainedEntry, type ProgressCallback, type WeightsCache } from './pretrained/index.js';
import type { Backend, BackendName, Executable, ForwardProfile } from './backends/backend.js';
import { selectBackend, type BackendChoice } from './backends/index.js';
import type { Graph } from './graph.js';
import { graphParams, inferShapes } from './graph.js';
import { MODELS, getModelConfig, type ModelConfig, type ModelName } from './models/config.js';
import { seededWeights } from './models/init.js';
import { buildResNet, type BuildOptions } from './models/resnet.js';
import { summarize, type Summary } from './models/summary.js';
import { loadWeights, type WeightsReport } from './models/weights.js';
import { asTensor, type NdArrayLike } from './ndarray.js';
import { Tensor, shapeToString, type TensorLike } from './tensor.js';
import type { CheckpointLimits } from './limits.js';
import type { NarrowTensor, WeightTensor } from './weights/narrow.js';

export interface ModelInfo {
  readonly name: string;
  readonly source: ModelConfig['source'];
  readonly family: ModelConfig['family'];
  readonly variant: ModelConfig['variant'];
  readonly params: number;
  readonly paramsWithBnStats: number;
  /** Multiply-accumulates at the default input size (224, or 32 for CIFAR), batch 1. */
  readonly macs: number;
  readonly inputSize: number;
  readonly numClasses: number;
}

/** Every model of the zoo with its parameter and MAC counts. */
export function listModels(): ModelInfo[] {
  return MODELS.map((cfg) => {
    const s = summarize(buildResNet(cfg), [1, 3, cfg.defaultInputSize, cfg.defaultInputSize]);
    return {
      name: cfg.name,
      source: cfg.source,
      family: cfg.family,
      variant: cfg.variant,
      params: s.params,
      paramsWithBnStats: s.paramsWithBnStats,
      macs: s.macs,
      inputSize: cfg.defaultInputSize,
      numClasses: cfg.numClasses,
    };
  });
}

/**
 * Where weights come from: bytes, tensors by key, or something that gives bytes: a `Response`, a
 * `Blob` (a browser `File`), an `http(s)://` URL (fetched because you named it), or a file path
 * (Node, Bun and Deno; read with the runtime's file API).
 */
export type WeightsSource =
  | Uint8Array
  | ArrayBuffer
  | ReadonlyMap<string, TensorLike | NarrowTensor>
  | string
  | { arrayBuffer(): Promise<ArrayBuffer>; readonly ok?: boolean; readonly status?: number; readonly url?: string };

/** Resolves a WeightsSource to bytes (or the tensor map), with its name for messages. */
async function weightsBytes(source: WeightsSource, name: string | undefined): Promise<{ weights: Uint8Array | ArrayBuffer | ReadonlyMap<string, TensorLike | NarrowTensor>; name?: string }> {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer || source instanceof Map) return { weights: source, name };
  if (typeof source === 'string') {
    if (/^https?:\/\//i.test(source)) {
      let response: Awaited<ReturnType<typeof fetch>>;
      try {
        response = await fetch(source);
      } catch (e) {
        throw new Error(`weights: could not fetch ${source}: ${(e as Error).message}`, { cause: e });
      }
      return weightsBytes(response, name ?? source);
    }
    if (!nodeProcess()) throw new TypeError(`weights: '${source}' is a file path, but this runtime has no file system API; pass the file's bytes`);
    const { readFile } = (await importOptional('node:fs/promises')) as { readFile(path: string): Promise<Uint8Array> };
    try {
      return { weights: new Uint8Array(await readFile(source)), name: name ?? source };
    } catch (e) {
      throw new Error(`weights: cannot read the file '${source}': ${(e as Error).message}`, { cause: e });
    }
  }
  if (source && typeof (source as { arrayBuffer?: unknown }).arrayBuffer === 'function') {
    const r = source as { arrayBuffer(): Promise<ArrayBuffer>; ok?: boolean; status?: number; url?: string };
    if (r.ok === false) throw new Error(`weights: ${r.url || 'the response'} answered HTTP ${r.status}; expected 200 with a checkpoint`);
    return { weights: new Uint8Array(await r.arrayBuffer()), name: name ?? (r.url || undefined) };
  }
  const found = source === null ? 'null' : typeof source === 'object' ? (source as object).constructor?.name ?? 'object' : typeof source;
  throw new TypeError(`weights: expected bytes (Uint8Array, ArrayBuffer), a Map of tensors, a Response, a Blob, a URL or a file path; got ${found}`);
}

export interface CreateModelOptions extends BuildOptions {
  /**
   * A checkpoint (safetensors, PyTorch zip or legacy, Paddle .pdparams) as bytes, or tensors by key
   * (float32, or NarrowTensors such as another model's `weights`).
   * Without weights the model gets deterministic seeded weights (see models/init.ts).
   * The model keeps views into the bytes given where it can (safetensors F32 tensors and a lean
   * checkpoint's I8 and F16 weights, read without a copy) and the tensors of a map as they are: do
   * not modify either while the model is in use.
   */
  readonly weights?: WeightsSource;
  /** The weights' file name, used in error messages. */
  readonly weightsName?: string;
  /** Raises the checkpoint readers' limits (src/limits.ts) for a genuine file that exceeds them. */
  readonly checkpointLimits?: Partial<CheckpointLimits>;
  /** Seed of the generated weights when none are given (default 0). */
  readonly seed?: number;
  /** 'wasm' (default), 'webgpu', 'reference', 'auto' or a Backend object. */
  readonly backend?: BackendChoice | Backend;
  /**
   * Strict by default: missing, unexpected or mis-shaped weights are an error. With `strict: false`
   * the matching tensors are bound, the rest get seeded weights (from `seed`), and
   * `model.weightsReport` lists them (`seeded`, `missing`, `mismatched`, `unexpected`;
   * `formatNonStrictReport` words it as a warning).
   */
  readonly strict?: boolean;
  /** Name of the weights' key scheme when auto-detection should be overridden (see weights/keymap.ts). */
  readonly keyScheme?: string;
  /**
   * Download the model's published weights (verified by hash, cached): `true` for the default tag,
   * or a tag (`'IMAGENET1K_V2'`); a tag may also go in the name, timm style (`'resnet50.a1_in1k'`).
   * Nothing is downloaded unless this is set. See src/pretrained/registry.ts for what exists.
   */
  readonly pretrained?: boolean | string;
  /** With `pretrained`: download progress. */
  readonly onProgress?: ProgressCallback;
  /**
   * With `pretrained`: where verified files are kept. Default: the Cache API where it exists
   * (browsers, workers); in Node pass `nodeWeightsCache()` from resnet-ts/node; `false`: none.
   */
  readonly cache?: WeightsCache | false;
  /** With `pretrained`: a base URL serving the sources' files as `<mirror>/<host>/<path>`. */
  readonly mirror?: string;
  /**
   * The wasm backend's lean memory mode (LEAN_WASM_OPTIONS: int8 GEMM weights in wasm memory, fp16
   * ones for an fp16 checkpoint, Winograd sets within a budget, the other 3x3 convs on the direct
   * GEMM). Default: on for a checkpoint of `resnet convert --dtype int8|fp16`, off otherwise. Only a backend
   * chosen by name or 'auto' is affected; a Backend object is used as it is.
   */
  readonly lean?: boolean;
  /**
   * Threads of the wasm backend (a pool of workers on one shared wasm memory). Default: the cores
   * available, at most 8, where the runtime allows (SharedArrayBuffer and a Worker: Node through
   * the `node` export condition, Deno, Bun, cross-origin isolated pages); 1 elsewhere, and
   * `model.threadsNote` says why. Only a backend chosen by name or 'auto' is affected.
   */
  readonly threads?: number;
}

/**
 * Milliseconds (performance.now()) each stage of getting a model to its first logits took, in
 * order. createModel fills read, bind, build and backend; the first forward adds compile (with the
 * backend's own stages) and firstRun. Importing the library comes before all of them and is not
 * counted. Cloudflare Workers advance performance.now() only across I/O, so the stages read 0 there.
 */
export interface ModelTimings {
  /** Parsing the checkpoint and decoding its tensors (0 without a checkpoint's bytes). */
  readonly read: number;
  /** Finding the state dict, adapting its key names and binding it with shape checks; or seeding weights. */
  readonly bind: number;
  /** Building the graph from the model table. */
  readonly build: number;
  /** Choosing and creating the backend (for 'auto', trying the others first). */
  readonly backend: number;
  /** The backend's compile at the first forward (wasm: compiling the kernels, BN folding, packing). */
  readonly compile?: number;
  /** compile by the backend's stages, when it reports them (wasm: `kernels`, `fuse`, `pack`). */
  readonly compileStages?: Readonly<Record<string, number>>;
  /** The first forward's run, after compile: the first logits. */
  readonly firstRun?: number;
}

declare global {
  // Symbol.dispose for consumers whose lib predates it (ES2022 alone), so that Model's declaration
  // below type-checks there; the same declaration as TypeScript's lib.esnext.disposable and
  // @types/node (compatibility/disposable.d.ts), with which it merges.
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** `forward`, `forwardAll` or `settle` on a model after `dispose()`. */
export class ModelDisposedError extends Error {
  constructor(readonly model: string, call: string) {
    super(`${call}: model ${model} was disposed; expected a live model (create a new one with createModel)`);
    this.name = 'ModelDisposedError';
  }
}

export class Model {
  private executable: Executable | undefined;
  private stageTimes: ModelTimings;
  private disposed = false;

  constructor(
    readonly config: ModelConfig,
    readonly graph: Graph,
    /**
     * The bound weights by key: float32 Tensors, except a lean checkpoint's conv and linear weights,
     * which stay as stored (NarrowTensor: int8 with scales, or fp16 bits; `floatTensor(t)` widens
     * one), so that the model holds no float32 copy of them.
     */
    readonly weights: ReadonlyMap<string, WeightTensor>,
    readonly backend: Backend,
    /** Why this backend was chosen, and which were passed over (for 'auto'). */
    readonly backendChoice: { reason: string; passedOver: readonly { name: BackendName; reason: string }[] },
    /** How the weights were found and bound; undefined for seeded weights. */
    readonly weightsReport: WeightsReport | undefined,
    timings: ModelTimings = { read: 0, bind: 0, build: 0, backend: 0 },
    /** The registry entry of `pretrained` weights: source, license, preprocessing, accuracy. */
    readonly pretrained?: PretrainedEntry,
  ) {
    this.stageTimes = timings;
  }

  /** How long each stage to the first logits took (see ModelTimings); compile and firstRun once forward has run. */
  get timings(): ModelTimings {
    return this.stageTimes;
  }

  get name(): string {
    return this.config.name;
  }

  /** Width of the classifier, or 0 for a features-only model. */
  get numClasses(): number {
    const head = this.graph.nodes.at(-1);
    return head?.op === 'linear' ? head.outFeatures : 0;
  }

  /**
   * Runs the network; returns the primary output (logits [N, classes], or pooled features).
   * `input` is NCHW float32, as a Tensor or as an ndarray view (strided views are copied in C order).
   */
  async forward(input: TensorLike | NdArrayLike): Promise<Tensor> {
    return (await this.forwardAll(input))[this.graph.primaryOutput];
  }

  /** Every output of the graph (with `featuresOnly`: features, stem, stage1..). */
  async forwardAll(input: TensorLike | NdArrayLike): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new ModelDisposedError(this.name, 'forward');
    const x = checkInput(this.graph, input);
    if (this.executable) return this.executable.run(x);
    const exe = await this.compile();
    const t1 = performance.now();
    const outputs = await exe.run(x);
    this.stageTimes = { ...this.stageTimes, firstRun: performance.now() - t1 };
    return outputs;
  }

  /**
   * Runs the network with `values` (graph value names, by the key to return them under) as outputs
   * too, in an executable of its own on `backend` (default: the model's), freed after the run. This
   * is what `dump` and `verify` (golden.ts) read module outputs with; the model's own executable
   * keeps its fused, output-free plan.
   */
  async forwardValues(input: TensorLike | NdArrayLike, values: Readonly<Record<string, string>>, backend: Backend = this.backend): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new ModelDisposedError(this.name, 'forwardValues');
    const x = checkInput(this.graph, input);
    const exe = await backend.compile({ ...this.graph, outputs: { ...this.graph.outputs, ...values } }, this.weights);
    try {
      return await exe.run(x);
    } finally {
      exe.dispose();
    }
  }

  /** Compiles on the backend, recording the compile's time and its stages in `timings`. */
  private async compile(): Promise<Executable> {
    const t0 = performance.now();
    this.executable = await this.backend.compile(this.graph, this.weights);
    this.stageTimes = { ...this.stageTimes, compile: performance.now() - t0, compileStages: this.executable.timings };
    return this.executable;
  }

  /**
   * Finishes the load work a backend defers past the first forward, so that every later forward
   * runs at full speed: the wasm backend's packed weights and Winograd sets (the first forward
   * streams them; later ones make a few each otherwise; see WinogradMode), and its worker threads.
   * Compiles first if no forward has run. Before timing warm forwards, call it.
   */
  async settle(): Promise<void> {
    if (this.disposed) throw new ModelDisposedError(this.name, 'settle');
    const exe = this.executable ?? (await this.compile());
    exe.settle?.();
    await exe.threadsReady;
  }

  /**
   * Threads the forwards run on now: the wasm backend's `threads` once its workers are ready (they
   * start in the background after the first forward, and forwards take them once ready;
   * `settle()` waits for them), else 1.
   */
  get threads(): number {
    return this.executable?.threads ?? 1;
  }

  /** Why the model runs on fewer threads than asked for (or than the default would take); undefined when nothing is missing. */
  get threadsNote(): string | undefined {
    return this.executable?.threadsNote;
  }

  /**
   * One forward with each of the backend's nodes timed (`resnet bench --layers`); compiles first if
   * no forward has run. Only the wasm backend times its nodes; settle() first to time the final kernels.
   */
  async profile(input: TensorLike): Promise<ForwardProfile> {
    if (this.disposed) throw new ModelDisposedError(this.name, 'profile');
    const x = checkInput(this.graph, input);
    const exe = this.executable ?? (await this.compile());
    if (!exe.profile) throw new Error(`profile: the ${this.backend.name} backend does not time its layers; expected the wasm backend`);
    return exe.profile(x);
  }

  /** paddle.summary-style table data, for an input of [batch, 3, size, size]. */
  summary(opts: { inputSize?: number | [number, number]; batch?: number } = {}): Summary {
    const size = opts.inputSize ?? this.config.defaultInputSize;
    const [h, w] = typeof size === 'number' ? [size, size] : size;
    const s = summarize(this.graph, [opts.batch ?? 1, 3, h, w]);
    const mem = this.executable?.memoryBytes?.([opts.batch ?? 1, 3, h, w]);
    return mem ? { ...s, backendMemory: mem } : s;
  }

  /** Frees the backend's compiled state (wasm memory, GPU buffers); later forwards throw ModelDisposedError. Idempotent. */
  dispose(): void {
    this.disposed = true;
    this.executable?.dispose();
    this.executable = undefined;
  }

  /**
   * `using model = await createModel(...)` disposes at the end of the scope. Declared here and
   * defined on the prototype below only where the runtime has `Symbol.dispose` (Node 20 ships it,
   * newer engines natively; elsewhere a polyfill loaded before this module provides it): a global
   * polyfill installed by a library would be a different symbol from one the app loads later.
   */
  declare [Symbol.dispose]: () => void;
}

if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(Model.prototype, Symbol.dispose, {
    value(this: Model) {
      this.dispose();
    },
    writable: true,
    configurable: true,
  });
}

/** Validates a forward input: float32 data, NCHW with the right channel count (NHWC is named). */
function checkInput(g: Graph, given: TensorLike | NdArrayLike): Tensor {
  const input = given && asTensor(given, `${g.name} input`);
  if (!input || !(input.data instanceof Float32Array)) {
    const found = input?.data?.constructor?.name ?? typeof input?.data;
    throw new TypeError(`${g.name}: input data must be a Float32Array, got ${found}`);
  }
  inferShapes(g, input.shape); // validates rank, channels, NHWC, and that every layer fits
  const expected = input.shape.reduce((a, b) => a * b, 1);
  if (input.data.length !== expected) {
    throw new RangeError(`${g.name}: input shape ${shapeToString(input.shape)} needs ${expected} values, data has ${input.data.length}`);
  }
  return Tensor.from(input);
}

/** The classifier's parameters of the full model, which a features-only graph does not read. */
function headParams(config: ModelConfig, options: BuildOptions, reads: readonly { key: string }[]) {
  const read = new Set(reads.map((p) => p.key));
  return graphParams(buildResNet(config, { ...options, featuresOnly: false })).filter((p) => !read.has(p.key));
}

/** Builds a zoo model, binds its weights and prepares a backend. */
export async function createModel(name: ModelName | (string & {}), options: CreateModelOptions = {}): Promise<Model> {
  const { model: arch, tag } = parseModelName(name);
  const pretrained = options.pretrained !== undefined && options.pretrained !== false;
  if (!pretrained && tag !== undefined && !MODELS.some((m) => m.name === name)) {
    throw new TypeError(`createModel('${name}'): '${tag}' is a pretrained tag of ${arch}; pass { pretrained: true } to download those weights, or use '${arch}'`);
  }
  // An unknown model is named before anything is downloaded, fetched or read.
  const config = getModelConfig(pretrained ? arch : name);
  let entry: PretrainedEntry | undefined;
  if (pretrained) {
    if (options.weights !== undefined) throw new TypeError(`createModel('${name}'): both weights and pretrained name weights; give one`);
    const got = await loadPretrained(name, {
      tag: typeof options.pretrained === 'string' ? options.pretrained : undefined,
      onProgress: options.onProgress,
      cache: options.cache,
      mirror: options.mirror,
    });
    entry = got.entry;
    options = { ...options, weights: got.bytes, weightsName: options.weightsName ?? got.entry.url };
  }
  if (options.weights !== undefined) {
    const got = await weightsBytes(options.weights, options.weightsName);
    options = { ...options, weights: got.weights, weightsName: got.name };
  }
  const t0 = performance.now();
  const graph = buildResNet(config, options);
  const t1 = performance.now();
  let weights: ReadonlyMap<string, WeightTensor>;
  let report: WeightsReport | undefined;
  let read = 0;
  let bind: number;
  if (options.weights === undefined) {
    weights = seededWeights(graph, options.seed ?? 0);
    bind = performance.now() - t1;
  } else {
    const expected = graphParams(graph);
    // A features-only model reads no classifier, but a full checkpoint holds one: its keys are
    // named so that they are ignored, as timm's num_classes=0 drops the head.
    const unread = options.featuresOnly ? headParams(config, options, expected) : [];
    const strict = options.strict ?? true;
    let timings: { read: number; bind: number };
    let bound: Map<string, WeightTensor>;
    ({ weights: bound, report, timings } = loadWeights(expected, options.weights as Uint8Array | ArrayBuffer | ReadonlyMap<string, TensorLike | NarrowTensor>, { strict, keyScheme: options.keyScheme, model: config.name, name: options.weightsName, unread, limits: options.checkpointLimits }));
    ({ read, bind } = timings);
    weights = bound;
    if (!strict && bound.size < expected.length) {
      const seeded = expected.map((p) => p.key).filter((k) => !bound.has(k));
      for (const [k, t] of seededWeights(graph, options.seed ?? 0, new Set(seeded))) bound.set(k, t);
      report = { ...report, seeded };
    }
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new RangeError(`createModel: threads must be a whole number >= 1, got ${options.threads}`);
  }
  if (options.threads !== undefined && (options.backend === 'reference' || options.backend === 'webgpu')) {
    throw new TypeError(`createModel: threads sets the wasm backend's threads; expected backend 'wasm' or 'auto', got '${options.backend}'`);
  }
  const t2 = performance.now();
  let { backend, reason, passedOver } = await selectBackend(options.backend);
  const lean = options.lean ?? report?.dtype !== undefined;
  if (backend.name === 'wasm' && typeof options.backend !== 'object' && (lean || options.threads !== undefined)) {
    const wasm = await import('./backends/wasm/index.js');
    // An fp16 checkpoint keeps fp16 panels; anything else int8.
    const storage = report?.dtype === 'fp16' ? 'fp16' : 'int8';
    backend = wasm.createWasmBackend({ ...(lean ? { ...wasm.LEAN_WASM_OPTIONS, storage } : {}), threads: options.threads });
    if (lean) reason += `, lean memory mode (${storage} weights${report?.dtype ? `: an ${report.dtype} checkpoint` : ''})`;
  }
  const timings: ModelTimings = { read, bind, build: t1 - t0, backend: performance.now() - t2 };
  return new Model(config, graph, weights, backend, { reason, passedOver }, report, timings, entry);
}
