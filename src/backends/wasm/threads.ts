/**
 * Multi-threaded wasm: one shared `WebAssembly.Memory` per model, a pool of workers that each
 * instantiate the same kernels on it, and static partitioning inside the kernels.
 *
 * A threaded kernel (PARALLEL_KERNELS) takes (part, parts, partBytes) after its own arguments and
 * computes part `part` of its output (assembly/gemm.ts partStart: rows, or weight panels where the
 * weights are the larger operand, so each thread streams its own share of them). The main thread
 * writes the call into a small shared control block, wakes the workers (Atomics.notify), runs
 * part 0 itself and waits until every worker has counted itself done. Every output value is
 * computed by the same operations whatever the split: threaded results equal single-threaded
 * ones bit for bit.
 *
 * Workers are started lazily, by the first model that asks for threads; models with the same
 * thread count share one pool (each model's memory is attached to every worker); the pool ends
 * when the last model using it is disposed. Where threads cannot run (no SharedArrayBuffer: a
 * page without cross-origin isolation; no Worker: Cloudflare Workers; a precompiled module that
 * was given) the model runs single-threaded and `threadsNote` says why.
 *
 * The core names no Node built-in: Node 20 has no global `Worker`, so resnet-ts's `node` entry
 * registers a factory over `worker_threads` (threads-node.ts), which Deno and Bun resolve too
 * (their worker_threads can be unref'd, their Web Workers cannot); browsers use `Worker` on a blob URL.
 */
import { concatBytes } from '../../bytes.js';

/** Kernels that run in parts (their last three arguments are part, parts, partBytes). */
export const PARALLEL_KERNELS = ['conv2d_nhwc', 'winograd_nhwc', 'conv7x7s2c3_nhwc', 'grouped_conv_nhwc', 'maxpool_nhwc', 'linear_f32', 'pack_winograd_part', 'pack_gemm_part'] as const;
export type ParallelKernel = (typeof PARALLEL_KERNELS)[number];

/** The least a worker must do, in every runtime. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  /** Whether the worker keeps the process alive (Node, Bun): only while the pool awaits its reply. */
  ref?(): void;
  unref?(): void;
}

/**
 * Starts a worker running `source` (a classic script that defines `onMessage(data)` and posts
 * through `PORT`); the factory appends the runtime's own two lines that bind them. Messages
 * from the worker go to `onMessage`, errors to `onError`.
 */
export type WorkerFactory = (source: string, onMessage: (data: unknown) => void, onError: (error: unknown) => void) => WorkerLike;

let nodeFactory: { spawn: WorkerFactory; cores: number } | undefined;

/** Registers Node's worker_threads (threads-node.ts, from resnet-ts's `node` entry). */
export function registerWorkerFactory(spawn: WorkerFactory, cores: number): void {
  nodeFactory = { spawn, cores };
}

/** Most threads a default takes: ResNets at batch 1 stop gaining past this (and each call synchronises them all). */
export const MAX_DEFAULT_THREADS = 8;

/** Web Workers on a blob URL: browsers, Deno, Bun. */
function webFactory(): WorkerFactory | undefined {
  const W = (globalThis as { Worker?: new (url: string, opts?: { type?: string }) => WebWorker }).Worker;
  const blob = (globalThis as { Blob?: unknown }).Blob;
  const urls = (globalThis as { URL?: { createObjectURL?: (b: unknown) => string } }).URL;
  if (typeof W !== 'function' || typeof blob !== 'function' || typeof urls?.createObjectURL !== 'function') return undefined;
  return (source, onMessage, onError) => {
    const code = `${source}\nconst PORT = self; self.onmessage = (e) => onMessage(e.data);\n`;
    const url = urls.createObjectURL!(new (blob as new (parts: string[], o: { type: string }) => unknown)([code], { type: 'text/javascript' }));
    const w = new W(url, { type: 'module' });
    w.onmessage = (e) => onMessage(e.data);
    w.onerror = (e) => onError(e);
    return w;
  };
}

interface WebWorker extends WorkerLike {
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
}

/** How many threads the engine allows and, when only one, why. */
export interface ThreadSupport {
  readonly max: number;
  /** Why threads are unavailable (max 1); undefined when they are. */
  readonly reason?: string;
}

/** Whether this engine can run the threaded kernels, and with how many threads by default. */
export function threadSupport(): ThreadSupport {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  if (typeof g.SharedArrayBuffer !== 'function') {
    return {
      max: 1,
      reason:
        g.crossOriginIsolated === false
          ? 'SharedArrayBuffer is unavailable: the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)'
          : 'SharedArrayBuffer is unavailable in this runtime',
    };
  }
  if (g.crossOriginIsolated === false) {
    return { max: 1, reason: 'the page is not cross-origin isolated, so wasm memory cannot be shared (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)' };
  }
  const cores = nodeFactory?.cores ?? (webFactory() ? (g.navigator?.hardwareConcurrency ?? 1) : undefined);
  if (cores === undefined) {
    return {
      max: 1,
      reason:
        'this runtime has no Worker to run threads on (Cloudflare Workers run one thread per request; in Node, import resnet-ts under its "node" export condition, which registers worker_threads)',
    };
  }
  return { max: Math.max(1, Math.min(cores, MAX_DEFAULT_THREADS)) };
}

// ---------------------------------------------------------------------------------------------
// The shared-memory build: the same kernels with their imported memory declared shared.

const WASM_MAX_PAGES = 65536; // 4 GiB, wasm32's limit

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= bytes.length) throw new Error('wasm: truncated LEB128');
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, at];
    shift += 7;
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

/**
 * The kernels' bytes with their imported memory (`env.memory`) declared shared, with a maximum of
 * `maxPages` (shared memories must declare one): what every thread instantiates on one memory.
 * Kernels with data segments are refused: each instantiation rewrites them in the shared memory,
 * under whatever another thread is doing there (a static scratch did exactly that).
 */
export function withSharedMemory(bytes: Uint8Array, maxPages = WASM_MAX_PAGES): Uint8Array<ArrayBuffer> {
  // Sections are copied whole (a byte at a time, in the cold code of a fresh process, this took
  // 1.2-1.7 ms of Node's cold start); only the import section is rewritten.
  const pieces: ArrayLike<number>[] = [bytes.subarray(0, 8)];
  let at = 8;
  let patched = false;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = readLeb(bytes, at + 1);
    const end = start + size;
    if (id === 11 && readLeb(bytes, start)[0] > 0) {
      throw new Error('wasm: the kernels have data segments, which every thread would rewrite in the shared memory when it instantiates them');
    }
    if (id !== 2) {
      pieces.push(bytes.subarray(at, end));
      at = end;
      continue;
    }
    // The import section: copy each entry, rewriting the memory's limits.
    const body: number[] = [];
    let p = start;
    const copyLeb = () => {
      const [v, q] = readLeb(bytes, p);
      for (let i = p; i < q; i++) body.push(bytes[i]);
      p = q;
      return v;
    };
    const count = copyLeb();
    for (let e = 0; e < count; e++) {
      for (let s = 0; s < 2; s++) {
        const len = copyLeb();
        for (let i = 0; i < len; i++) body.push(bytes[p++]);
      }
      const kind = bytes[p++];
      body.push(kind);
      if (kind === 0x00) copyLeb(); // function: type index
      else if (kind === 0x03) body.push(bytes[p++], bytes[p++]); // global: type, mutability
      else if (kind === 0x01 || kind === 0x02) {
        if (kind === 0x01) body.push(bytes[p++]); // table: element type
        const flags = bytes[p++];
        const [min, q] = readLeb(bytes, p);
        p = q;
        let max: number | undefined;
        if (flags & 1) [max, p] = readLeb(bytes, p);
        if (kind === 0x02) {
          body.push(0x03, ...leb(min), ...leb(max ?? maxPages));
          patched = true;
        } else {
          body.push(flags, ...leb(min), ...(max !== undefined ? leb(max) : []));
        }
      } else {
        throw new Error(`wasm: import kind ${kind} not expected in the kernels`);
      }
    }
    pieces.push([2, ...leb(body.length), ...body]);
    at = end;
  }
  if (!patched) throw new Error('wasm: the kernels import no memory to share (built without importMemory?)');
  return concatBytes(pieces);
}

/** A shared memory for the threaded kernels (throws where the engine makes none). */
export function sharedMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: WASM_MAX_PAGES, shared: true });
}

// ---------------------------------------------------------------------------------------------
// The pool.

/** Control block (Int32 slots of a SharedArrayBuffer). */
const GEN = 0; // bumped for each call
const DONE = 1; // workers count themselves done here
const FN = 2; // index into PARALLEL_KERNELS; YIELD or QUIT
const MEM = 3; // which model's memory
const NARGS = 4;
const ERR = 5; // the part (>= 1) of a worker whose call threw
const BASE = 6; // a call's parts are BASE + part of parts * MUL (a streamed part's share; else 0 and 1)
const MUL = 7;
const ARGS = 8;
const MAX_ARGS = 32;
const ACKS = ARGS + MAX_ARGS + 1; // updates done (a memory attached or detached), counted once by each worker: see PoolMember.ready
const YIELD = -1; // return to the event loop for a message (attach/detach a memory)
const QUIT = -2;

/**
 * How long a thread polls (Atomics.load) for the next call or for the workers to finish before it
 * sleeps in Atomics.wait: SPIN_LONG_MS while its recent waits were short (the threads run side by
 * side: a poll catches the other's signal without the 0.1-0.2 ms of waking a sleeper), SPIN_SHORT_MS
 * once they average over WAIT_LONG_MS (the other thread is descheduled: the cores are oversubscribed,
 * and a polling thread would hold a core another thread needs). Measured, ResNet-50 b1 on 2 cores:
 * two processes of 2 threads each made 6.5 images/s together polling 2 ms always, 14.4 polling
 * 0.05 ms always (15.4 with one thread each); interleaved with other engines, one process ran at
 * 0.52-0.55 of its one-thread time polling 2 ms and 0.59-0.60 polling 0.05 ms.
 */
const SPIN_LONG_MS = 2;
const SPIN_SHORT_MS = 0.05;
const WAIT_LONG_MS = 1;

/** The poll for the next wait, from a moving average of the recent waits (ms). */
function spinFor(recentWaitMs: number): number {
  return recentWaitMs > WAIT_LONG_MS ? SPIN_SHORT_MS : SPIN_LONG_MS;
}

/**
 * The worker's whole program (a classic script; the factory appends how PORT and onMessage are
 * bound in its runtime). It serves calls in a loop, blocking in Atomics.wait between them, and
 * leaves the loop only for YIELD (a message waits: attach or detach a model's memory) or QUIT.
 */
const WORKER_SOURCE = `'use strict';
const GEN = ${GEN}, DONE = ${DONE}, FN = ${FN}, MEM = ${MEM}, NARGS = ${NARGS}, ERR = ${ERR}, BASE = ${BASE}, MUL = ${MUL}, ARGS = ${ARGS}, ACKS = ${ACKS};
const YIELD = ${YIELD}, QUIT = ${QUIT};
const spinFor = (recentWaitMs) => (recentWaitMs > ${WAIT_LONG_MS} ? ${SPIN_SHORT_MS} : ${SPIN_LONG_MS}); // as spinFor in threads.ts
const models = new Map();
const args = []; // reused: a call allocates nothing
let ctrl, part, parts, names, seen;
let recentWait = 0; // ms, moving average over this worker's waits for a call
function serve() {
  for (;;) {
    let g = Atomics.load(ctrl, GEN);
    if (g === seen) {
      const t0 = performance.now();
      const spin = spinFor(recentWait);
      for (let s = 1; g === seen; s++) {
        g = Atomics.load(ctrl, GEN);
        if ((s & 255) === 0 && performance.now() - t0 > spin) break;
      }
      while (g === seen) {
        Atomics.wait(ctrl, GEN, seen);
        g = Atomics.load(ctrl, GEN);
      }
      // Idle gaps (between forwards) are not waits for a partner: count at most 10 ms of one.
      recentWait = 0.8 * recentWait + 0.2 * Math.min(10, performance.now() - t0);
    } else {
      recentWait *= 0.8;
    }
    seen = g;
    const fn = ctrl[FN];
    if (fn >= 0) {
      try {
        const n = ctrl[NARGS];
        args.length = n + 3;
        for (let i = 0; i < n; i++) args[i] = ctrl[ARGS + i];
        args[n] = ctrl[BASE] + part;
        args[n + 1] = parts * ctrl[MUL];
        args[n + 2] = ctrl[ARGS + n];
        Reflect.apply(models.get(ctrl[MEM])[names[fn]], undefined, args);
      } catch (e) {
        Atomics.store(ctrl, ERR, part);
        PORT.postMessage({ type: 'error', part, message: String((e && e.message) || e) });
      }
    }
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
    if (fn === YIELD || fn === QUIT) return;
  }
}
async function update(m) {
  for (const id of m.detach) models.delete(id);
  try {
    for (const a of m.attach) {
      const { exports } = await WebAssembly.instantiate(a.module, { env: { memory: a.memory } });
      models.set(a.id, exports);
    }
    Atomics.add(ctrl, ACKS, 1);
    PORT.postMessage({ type: 'updated', part, seq: m.seq });
  } catch (e) {
    PORT.postMessage({ type: 'failed', part, seq: m.seq, message: String((e && e.message) || e) });
  }
  serve();
}
function onMessage(m) {
  if (m.type === 'init') {
    ctrl = new Int32Array(m.ctrl);
    part = m.part;
    parts = m.parts;
    names = m.names;
    seen = m.seen;
  }
  update(m);
}
`;

/** A model's memory as the pool knows it. */
export interface PoolMember {
  /**
   * Runs `name` in parts: part 0 on this thread (`local`), the others on the workers; throws a
   * worker's error. With `nest` ({ base, mul }), thread t runs part base + t of parts * mul (a
   * streamed part's share of its node); `local` is given (base, parts * mul).
   */
  run(name: ParallelKernel, args: readonly number[], partBytes: number, local: (part: number, parts: number) => void, nest?: Nest): void;
  /**
   * Whether every worker has this memory attached, read from shared memory: true as soon as they
   * have, before the promise that joinPool returned settles (that needs this thread's event loop,
   * which a forward in progress does not give back).
   */
  ready(): boolean;
  /** Detaches the memory; the pool ends with its last member. */
  release(): void;
}

/** A call's parts as a share of a larger split (PoolMember.run). */
export interface Nest {
  readonly base: number;
  readonly mul: number;
}

/** A memory being attached: its member (usable once `ready()`) and the attach's outcome. */
export interface Joining {
  /** Undefined where no worker can start (attached says why). */
  readonly member?: PoolMember;
  readonly attached: Promise<PoolMember>;
}

interface Update {
  readonly attach: { id: number; module: WebAssembly.Module; memory: WebAssembly.Memory }[];
  readonly detach: number[];
  /** Which update (1, 2, ...): the workers' replies name it. */
  readonly seq?: number;
}

class Pool {
  readonly ctrl = new Int32Array(new SharedArrayBuffer((ACKS + 1) * 4));
  private readonly workers: WorkerLike[] = [];
  /** The update in flight: replies left, and the ACKS count that says every worker has done it. */
  private replies: { resolve: () => void; reject: (e: Error) => void; left: number; failure?: string; seq: number; acks: number } | undefined;
  /**
   * Updates run one at a time: a worker leaves its loop for exactly one message. Each is done when
   * every worker has counted it in ACKS (poll, from the forwards' calls: a loop of forwards that
   * never turns the event loop still moves the queue on) or its replies have been read, which
   * also brings a failure's message.
   */
  private queue: Promise<void> = Promise.resolve();
  private started = false;
  private members = 0;
  private nextId = 1;
  /** Updates enqueued: each is acknowledged by every worker (ACKS) once done. */
  private updates = 0;
  private broken: string | undefined;
  private errors: string[] = [];
  /** ms, moving average over this thread's waits for the workers (see spinFor). */
  private recentWait = 0;
  private readonly canBlock: boolean;

  constructor(
    readonly threads: number,
    private readonly spawn: WorkerFactory,
    private readonly onEnd: () => void,
  ) {
    this.canBlock = mainThreadCanBlock(this.ctrl);
  }

  /** Attaches a model's memory to every worker (starting them first, once). */
  attach(module: WebAssembly.Module, memory: WebAssembly.Memory): Joining {
    const id = this.nextId++;
    this.members++;
    const member = this.member(id, this.acksAfter(this.updates + 1));
    const attached = this.enqueue({ attach: [{ id, module, memory }], detach: [] });
    return {
      member,
      attached: attached.then(
        () => member,
        (e) => {
          this.releaseId(id, false);
          throw e;
        },
      ),
    };
  }

  private member(id: number, acks: number): PoolMember {
    let released = false;
    return {
      run: (name, args, partBytes, local, nest) => this.run(id, name, args, partBytes, local, nest),
      ready: () => {
        this.poll();
        return !released && !this.broken && Atomics.load(this.ctrl, ACKS) >= acks;
      },
      release: () => {
        if (released) return;
        released = true;
        this.releaseId(id, true);
      },
    };
  }

  private releaseId(id: number, attached: boolean): void {
    this.members--;
    if (this.members > 0) {
      if (attached) this.enqueue({ attach: [], detach: [id] }).catch(() => {});
      return;
    }
    this.onEnd();
    this.queue = this.queue.then(() => this.end()).catch(() => {});
  }

  /** ACKS once every worker has done updates 1..seq (each worker counts each once). */
  private acksAfter(seq: number): number {
    return seq * (this.threads - 1);
  }

  /** Queues update number ++updates (what acksAfter counts). */
  private enqueue(u: Update): Promise<void> {
    const seq = ++this.updates;
    const p = this.queue.then(() => this.update({ ...u, seq }));
    this.queue = p.catch(() => {});
    return p;
  }

  private update(u: Update & { seq: number }): Promise<void> {
    if (this.broken) return Promise.reject(new Error(this.broken));
    const done = new Promise<void>((resolve, reject) => {
      this.replies = { resolve, reject, left: this.threads - 1, seq: u.seq, acks: this.acksAfter(u.seq) };
    }).finally(() => {
      for (const w of this.workers) w.unref?.();
    });
    if (!this.started) {
      this.started = true;
      const seen = Atomics.load(this.ctrl, GEN);
      for (let part = 1; part < this.threads; part++) {
        let w: WorkerLike;
        try {
          w = this.spawn(WORKER_SOURCE, (m) => this.message(m), (e) => this.fail(`a worker failed to start or crashed: ${describeError(e)}`));
        } catch (e) {
          this.fail(`could not start a worker: ${describeError(e)}`);
          break;
        }
        this.workers.push(w);
        w.ref?.();
        w.postMessage({ type: 'init', ctrl: this.ctrl.buffer, part, parts: this.threads, names: PARALLEL_KERNELS, seen, ...u });
      }
    } else {
      for (const w of this.workers) {
        w.ref?.();
        w.postMessage({ type: 'update', ...u });
      }
      this.call(YIELD, 0, [], 0);
    }
    return done;
  }

  private message(m: unknown): void {
    const msg = m as { type?: string; message?: string; part?: number; seq?: number };
    if (msg.type === 'error') {
      this.errors.push(`worker ${msg.part}: ${msg.message}`);
      return;
    }
    const r = this.replies;
    if (!r || msg.seq !== r.seq) return; // a reply to an update poll() has completed already
    if (msg.type === 'failed') r.failure ??= `worker ${msg.part} could not instantiate the kernels: ${msg.message}`;
    if (--r.left > 0) return;
    this.replies = undefined;
    if (r.failure) r.reject(new Error(r.failure));
    else r.resolve();
  }

  /**
   * Completes the update in flight once ACKS says every worker has done it (and every update
   * before it: a worker that failed one counts nothing, so later ones complete by their replies).
   */
  private poll(): void {
    const r = this.replies;
    if (!r || r.failure || Atomics.load(this.ctrl, ACKS) < r.acks) return;
    this.replies = undefined;
    r.resolve();
  }

  private fail(why: string): void {
    this.broken ??= why;
    const r = this.replies;
    this.replies = undefined;
    r?.reject(new Error(why));
  }

  private run(id: number, name: ParallelKernel, args: readonly number[], partBytes: number, local: (part: number, parts: number) => void, nest?: Nest): void {
    if (this.broken) throw new Error(`wasm threads: ${this.broken}`);
    this.poll();
    this.call(PARALLEL_KERNELS.indexOf(name), id, args, partBytes, local, nest);
  }

  /** One call on every thread: post it, run part 0 here (if local), wait for the workers. */
  private call(fn: number, id: number, args: readonly number[], partBytes: number, local?: (part: number, parts: number) => void, nest: Nest = { base: 0, mul: 1 }): void {
    const c = this.ctrl;
    if (args.length > MAX_ARGS) throw new Error(`wasm threads: ${args.length} arguments (at most ${MAX_ARGS})`);
    c[FN] = fn;
    c[BASE] = nest.base;
    c[MUL] = nest.mul;
    c[MEM] = id;
    c[NARGS] = args.length;
    for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i];
    c[ARGS + args.length] = partBytes;
    Atomics.store(c, ERR, 0);
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    let localError: unknown;
    const t0 = performance.now();
    try {
      local?.(nest.base, this.threads * nest.mul);
    } catch (e) {
      localError = e;
    }
    // The workers' parts are as large as this thread's: far longer than it took means one has died.
    this.waitDone(this.threads - 1, Math.max(WATCHDOG_MS, 100 * (performance.now() - t0)));
    if (localError !== undefined) throw localError;
    const failed = Atomics.load(c, ERR);
    if (failed !== 0) {
      const name = fn >= 0 ? PARALLEL_KERNELS[fn] : 'control';
      throw new Error(`wasm threads: ${name} failed in worker ${failed}${this.errors.length ? ` (${this.errors.join('; ')})` : ''}`);
    }
  }

  private waitDone(target: number, limitMs: number): void {
    const c = this.ctrl;
    const start = performance.now();
    const spin = spinFor(this.recentWait);
    for (let spins = 1; ; spins++) {
      const d = Atomics.load(c, DONE);
      if (d >= target) {
        this.recentWait = 0.8 * this.recentWait + 0.2 * (spins < 256 ? 0 : performance.now() - start);
        return;
      }
      if ((spins & 255) !== 0) continue;
      const waited = performance.now() - start;
      if (waited > spin && this.canBlock) Atomics.wait(c, DONE, d, 100);
      if (waited > limitMs) {
        this.broken = `workers did not finish a call within ${(limitMs / 1000).toFixed(1)} s (${d} of ${target} done); a worker has stopped (out of memory?)`;
        throw new Error(`wasm threads: ${this.broken}`);
      }
    }
  }

  private end(): void {
    if (this.started && !this.broken) this.call(QUIT, 0, [], 0);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}

/** No call waits this long (or 100 times this thread's own part) for the workers unless one has died. */
const WATCHDOG_MS = 10_000;

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
function mainThreadCanBlock(ctrl: Int32Array): boolean {
  try {
    Atomics.wait(ctrl, DONE, -1, 0); // "not-equal" at once where blocking is allowed; throws where not
    return true;
  } catch {
    return false;
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  const m = (e as { message?: unknown })?.message;
  return typeof m === 'string' ? m : String(e);
}

const pools = new Map<number, Pool>();

/** Attaches a model's shared memory to the pool of `threads` threads (started on first use). */
export function joinPool(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory): Joining {
  let pool = pools.get(threads);
  if (!pool) {
    // worker_threads where registered (Node; Deno and Bun under the 'node' condition too): its workers
    // can be unref'd, so a process that never disposes its model still exits. Web Workers elsewhere.
    const spawn = nodeFactory?.spawn ?? webFactory();
    if (!spawn) return { attached: Promise.reject(new Error(threadSupport().reason ?? 'no Worker in this runtime')) };
    const p: Pool = new Pool(threads, spawn, () => {
      if (pools.get(threads) === p) pools.delete(threads);
    });
    pool = p;
    pools.set(threads, p);
  }
  return pool.attach(module, memory);
}

/** Pools alive (tests: none after every model is disposed). */
export function liveWorkerPools(): number {
  return pools.size;
}
