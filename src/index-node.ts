/**
 * resnet-ts under Node's `node` export condition: exactly the core entry (src/index.ts), plus
 * worker_threads registered for the threaded wasm kernels (Node 20 has no global Worker).
 */
import './backends/wasm/threads-node.js';

export * from './index.js';
