/**
 * Node's workers for the threaded wasm kernels (Node 20 has no global `Worker`): registered by
 * resnet-ts's `node` entry (src/index-node.ts, the `node` export condition) and by the CLI.
 * Workers keep the process alive only while the pool awaits their reply: a process that forgets
 * to dispose its models still exits.
 *
 * `node:worker_threads` is loaded when the first worker starts (after a model's first forward),
 * not when the entry is imported: loading it took 1.2-1.7 ms of every cold start (Node 20, 2-core
 * EPYC, 2026-12-04). Until it has loaded, a worker's messages wait in order, and its ref state is
 * applied once it exists.
 */
import { availableParallelism } from 'node:os';
import { registerWorkerFactory, type WorkerLike } from './threads.js';

type NodeWorker = import('node:worker_threads').Worker;

let workerThreads: Promise<typeof import('node:worker_threads')> | undefined;

registerWorkerFactory((source, onMessage, onError) => {
  const code = `${source}\nconst PORT = require('node:worker_threads').parentPort; PORT.on('message', (m) => onMessage(m));\n`;
  let worker: NodeWorker | undefined;
  let ended = false;
  let referenced = true;
  const queued: unknown[] = [];
  (workerThreads ??= import('node:worker_threads')).then(
    ({ Worker }) => {
      if (ended) return;
      let w: NodeWorker;
      try {
        w = new Worker(code, { eval: true });
      } catch (e) {
        onError(e);
        return;
      }
      w.on('message', onMessage);
      w.on('error', onError);
      if (!referenced) w.unref();
      for (const m of queued) w.postMessage(m);
      queued.length = 0;
      worker = w;
    },
    (e: unknown) => onError(e),
  );
  const handle: WorkerLike = {
    postMessage: (m) => (worker ? worker.postMessage(m) : void queued.push(m)),
    terminate: () => {
      ended = true;
      void worker?.terminate();
    },
    ref: () => {
      referenced = true;
      worker?.ref();
    },
    unref: () => {
      referenced = false;
      worker?.unref();
    },
  };
  return handle;
}, availableParallelism());
