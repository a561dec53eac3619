/**
 * Node's worker factory (src/backends/wasm/threads-node.ts) with `node:worker_threads` mocked:
 * the module is loaded only when the first worker starts, not when the entry is imported, and a
 * Worker that cannot be constructed leaves the model on one thread with the reason, its forwards
 * still right.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Executable } from '../src/backends/backend.js';

const loads = vi.hoisted(() => ({ count: 0 }));

vi.mock('node:worker_threads', () => {
  loads.count++;
  class Worker {
    constructor() {
      throw new Error('no threads for this test');
    }
  }
  return { Worker, default: { Worker } };
});

describe("Node's worker factory", () => {
  it('loads node:worker_threads only to start a worker; a Worker that throws leaves one thread, says why, and forwards are unchanged', async () => {
    await import('../src/backends/wasm/threads-node.js');
    const { createWasmBackend } = await import('../src/backends/wasm/index.js');
    const { buildResNet } = await import('../src/models/resnet.js');
    const { getModelConfig } = await import('../src/models/config.js');
    const { seededWeights } = await import('../src/models/init.js');
    const { Tensor } = await import('../src/tensor.js');
    expect(loads.count).toBe(0); // imported, nothing started
    const graph = buildResNet(getModelConfig('resnet20'));
    const weights = seededWeights(graph, 3);
    const x = new Tensor(Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i)), [2, 3, 32, 32]);
    const one = await createWasmBackend({ threads: 1 }).compile(graph, weights);
    const two = (await createWasmBackend({ threads: 2 }).compile(graph, weights)) as Executable & { threadsNote?: string };
    expect(loads.count).toBe(0); // compiled, still nothing started: the workers start after the first run
    const want = (await one.run(x))[graph.primaryOutput].data;
    expect(Array.from((await two.run(x))[graph.primaryOutput].data)).toEqual(Array.from(want));
    await two.threadsReady;
    expect(loads.count).toBe(1);
    expect(two.threads).toBe(1);
    expect(two.threadsNote).toBe('2 threads asked for, running on 1: a worker failed to start or crashed: no threads for this test');
    expect(Array.from((await two.run(x))[graph.primaryOutput].data)).toEqual(Array.from(want));
    one.dispose?.();
    two.dispose?.();
  });
});
