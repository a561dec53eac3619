// Whole-model bench: one zoo model with seeded weights on the wasm backend and on the peers
// (bench/peers createPeer), timed alike with tinybench (fixed iterations after warmup, wall and
// CPU clocks): median and p90 ms, images/s, and our planned peak memory.
import { createWasmBackend } from '../src/backends/wasm/index.ts';
import { seededWeights } from '../src/models/init.ts';
import { getModelConfig } from '../src/models/config.ts';
import { buildResNet } from '../src/models/resnet.ts';
import { Tensor } from '../src/tensor.ts';
import { measure, randomFloats } from './lib.mjs';

/** Graph, seeded weights and a seeded input for (model, batch, size): shared with the peers. */
export function modelSetup(model, batch, size) {
  const graph = buildResNet(getModelConfig(model));
  const weights = seededWeights(graph, 0);
  const shape = [batch, 3, size, size];
  const input = new Tensor(randomFloats(batch * 3 * size * size, 1234), shape);
  return { graph, weights, input };
}

/** Times our wasm backend on (graph, weights, input): `runs` timed runs after `warmup`. */
export async function runModel({ graph, weights, input }, { runs = 10, warmup = 2, kernelOptions = {} } = {}) {
  const exe = await createWasmBackend(kernelOptions).compile(graph, weights);
  try {
    const t = await measure(`${graph.name} wasm`, () => exe.run(input), { iterations: runs, warmup });
    return { engine: 'resnet-ts wasm', variant: exe.variant, ...timing(t, input.shape[0]), memory: exe.memoryBytes(input.shape) };
  } finally {
    exe.dispose();
  }
}

/**
 * Times a peer made by bench/peers (createPeer) with the same protocol and both clocks.
 * Returns null timings and the reason when the peer cannot be loaded.
 */
export async function runPeer(peers, name, { graph, weights, input }, { runs = 10, warmup = 2 } = {}) {
  let peer;
  try {
    peer = await peers.createPeer(name, graph, weights, input.shape);
  } catch (e) {
    return { engine: name, note: `unavailable: ${e instanceof Error ? e.message : e}` };
  }
  try {
    const t = await measure(`${graph.name} ${name}`, () => peer.run(input), { iterations: runs, warmup });
    return { engine: name, note: peer.note, ...timing(t, input.shape[0]) };
  } finally {
    await peer.dispose();
  }
}

function timing(t, batch) {
  return {
    wallMedianMs: t.wall.median,
    wallP90Ms: t.wall.p90,
    cpuMedianMs: t.cpu.median,
    cpuP90Ms: t.cpu.p90,
    imagesPerSecond: (batch * 1000) / t.wall.median,
    runs: t.cpu.runs,
  };
}
