/**
 * Node's workers for the threaded wasm kernels (Node 20 has no global `Worker`): registered by
 * resnet-ts's `node` entry (src/index-node.ts, the `node` export condition) and by the CLI.
 * Workers keep the process alive only while the pool awaits their reply: a process that forgets
 * to dispose its models still exits.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { registerWorkerFactory } from './threads.js';

registerWorkerFactory((source, onMessage, onError) => {
  const code = `${source}\nconst PORT = require('node:worker_threads').parentPort; PORT.on('message', (m) => onMessage(m));\n`;
  const w = new Worker(code, { eval: true });
  w.on('message', onMessage);
  w.on('error', onError);
  return { postMessage: (m) => w.postMessage(m), terminate: () => void w.terminate(), ref: () => w.ref(), unref: () => w.unref() };
}, availableParallelism());
