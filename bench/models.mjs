// Whole-model bench: one zoo model with seeded weights on the wasm backend and on the peers
// (bench/peers createPeer), timed alike with tinybench in interleaved rounds (wall and CPU clocks):
// median and p90 ms, images/s, and our planned peak memory.
import { createWasmBackend } from '../src/backends/wasm/index.ts';
import { seededWeights } from '../src/models/init.ts';
import { getModelConfig } from '../src/models/config.ts';
import { buildResNet } from '../src/models/resnet.ts';
import { Tensor } from '../src/tensor.ts';
import { measureInterleaved, randomFloats } from './lib.mjs';

/** Graph, seeded weights and a seeded input for (model, batch, size): shared with the peers. */
export function modelSetup(model, batch, size) {
  const graph = buildResNet(getModelConfig(model));
  const weights = seededWeights(graph, 0);
  const shape = [batch, 3, size, size];
  const input = new Tensor(randomFloats(batch * 3 * size * size, 1234), shape);
  return { graph, weights, input };
}

/**
 * Times our wasm backend (once per kernel build in `builds`, each createWasmBackend options) and
 * the peers (bench/peers createPeer; `peers` is that module or undefined) on the same graph,
 * weights and input, in interleaved rounds (one run of each engine per round, `runs` rounds after
 * `warmup` runs each). A peer that cannot be loaded is reported
 * with its reason and no timings.
 */
export async function runModelRounds({ graph, weights, input }, { peers, runs = 10, warmup = 2, builds = [{}], withOurs = true } = {}) {
  const engines = [];
  const failed = [];
  if (withOurs) {
    // One engine per kernel build (e.g. plain SIMD and relaxed SIMD), all in the same rounds.
    for (const kernelOptions of builds) {
      const exe = await createWasmBackend({ winograd: 'eager', ...kernelOptions }).compile(graph, weights);
      engines.push({ engine: 'resnet-ts wasm', variant: exe.variant, memory: exe.memoryBytes(input.shape), run: () => exe.run(input), dispose: () => exe.dispose() });
    }
  }
  for (const name of peers?.PEERS ?? []) {
    try {
      const peer = await peers.createPeer(name, graph, weights, input.shape);
      engines.push({ engine: name, note: peer.note, run: () => peer.run(input), dispose: () => peer.dispose() });
    } catch (e) {
      failed.push({ engine: name, note: `unavailable: ${e instanceof Error ? e.message : e}` });
    }
  }
  try {
    const times = await measureInterleaved(engines.map((e) => ({ name: e.variant ? `${e.engine} (${e.variant})` : e.engine, fn: e.run })), { rounds: runs, warmup });
    const batch = input.shape[0];
    return [
      ...engines.map((e, i) => ({
        engine: e.engine,
        ...(e.variant ? { variant: e.variant, memory: e.memory } : { note: e.note }),
        wallMedianMs: times[i].wall.median,
        wallP90Ms: times[i].wall.p90,
        cpuMedianMs: times[i].cpu.median,
        cpuP90Ms: times[i].cpu.p90,
        imagesPerSecond: (batch * 1000) / times[i].wall.median,
        runs: times[i].cpu.runs,
      })),
      ...failed,
    ];
  } finally {
    for (const e of engines) await e.dispose();
  }
}
