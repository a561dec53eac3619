/**
 * The backend interface. A backend compiles a Graph with its weights once (packing, folding,
 * uploading, planning memory) and then runs it on inputs. Every backend returns the same
 * outputs for the same graph; the reference backend is the oracle the others are tested against.
 */
import type { Graph } from '../graph.js';
import type { Tensor } from '../tensor.js';
import type { WeightTensor } from '../weights/narrow.js';

export type BackendName = 'reference' | 'wasm' | 'webgpu';

/**
 * State-dict entries by full key, in the source library's layout: float32 Tensors, and a lean
 * checkpoint's conv and linear weights as NarrowTensors (int8 or fp16, as stored), which a backend
 * widens as far as it needs (`floatTensor`, weights/narrow.ts) when it compiles.
 */
export type WeightMap = ReadonlyMap<string, WeightTensor>;

export interface Executable {
  /**
   * Runs the graph on an NCHW input (validated by the caller with `inferShapes`) and returns
   * every output named in `graph.outputs`.
   */
  run(input: Tensor): Promise<Record<string, Tensor>>;
  /** Bytes this backend holds for the given input shape (weights + activations), when known. */
  memoryBytes?(inputShape: readonly number[]): { weights: number; activations: number; peak: number };
  /** Releases native or GPU memory. The executable cannot run afterwards. */
  dispose(): void;
  /** Finishes load work deferred past the first run (the wasm backend's lazy Winograd sets). */
  settle?(): void;
  /**
   * Milliseconds `compile` spent in each of its stages, in order, when the backend measures them
   * (wasm: `kernels` (compiling and instantiating the module), `fuse`, `pack`).
   */
  readonly timings?: Readonly<Record<string, number>>;
  /**
   * Runs the graph once like `run`, timing each of the backend's nodes (a conv with the BN, add and
   * ReLU fused into it is one node), for benchmarks; when the backend can time them (wasm).
   */
  profile?(input: Tensor): Promise<ForwardProfile>;
  /** Threads the runs use now (wasm; 1 where absent). */
  readonly threads?: number;
  /** Why fewer threads run than were asked for (wasm). */
  readonly threadsNote?: string;
  /** Settles when the backend's threads are ready (wasm: its workers started in the background). */
  readonly threadsReady?: Promise<void>;
}

/** One node of a profiled forward. */
export interface NodeTiming {
  /** The module path of the node's first op (a fused conv: the conv's, e.g. `layer1.0.conv2`). */
  readonly name: string;
  readonly op: string;
  /** The kernel that ran it (wasm convs: gemm, winograd, winograd-s2, grouped, stem; else the op). */
  readonly kernel: string;
  /** NCHW (or [N, features]) shape of the node's output. */
  readonly outputShape: readonly number[];
  /** Wall-clock ms (performance.now) of this node in this forward. */
  readonly ms: number;
}

/** A forward timed node by node: `totalMs` is the whole call, so it also counts what no node does (layout transposes, copying outputs out). */
export interface ForwardProfile {
  readonly nodes: readonly NodeTiming[];
  readonly totalMs: number;
  /** Bytes of memory the backend held during the forward (wasm: its linear memory). */
  readonly memoryBytes?: number;
}

export interface Backend {
  readonly name: BackendName;
  compile(graph: Graph, weights: WeightMap): Promise<Executable>;
}
