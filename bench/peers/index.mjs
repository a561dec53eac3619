/**
 * Peers side by side: the same Graph with the same weights on other JS inference engines, timed
 * the same way as our backends (tinybench, fixed iterations after warmup, same input for all).
 *
 *   onnxruntime-web   ONNX Runtime's WebAssembly build (SIMD, 1 thread), model from onnx-export.mjs
 *   tfjs-wasm         TensorFlow.js wasm backend (XNNPACK, SIMD, 1 thread), model from tfjs-model.mjs
 *   onnxruntime-node  ONNX Runtime native CPU (1 intra-op, 1 inter-op thread): the native ceiling
 *
 * All three load their binaries from node_modules; nothing is downloaded. Each peer is a
 * devDependency; one that fails to load is reported with `medianMs: null` and the reason.
 *
 * This file is plain ESM so `npm run bench` can run it with node against the built dist/: the
 * caller passes the Graph (`model.graph`) and the weight Map, nothing here imports the library.
 * Types are in index.d.mts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Bench } from 'tinybench';
import { exportOnnx } from './onnx-export.mjs';
import { buildTfjsModel } from './tfjs-model.mjs';
import { benchInput } from '../input.mjs';

export { benchInput };

const require = createRequire(import.meta.url);

export const PEERS = ['onnxruntime-web', 'tfjs-wasm', 'onnxruntime-node'];

/** Sessions get the output names ONNX export gives them: the keys of `graph.outputs`. */
async function ortPeer(ort, peer, note, graph, weights, inputShape, sessionOptions) {
  const session = await ort.InferenceSession.create(exportOnnx(graph, weights, { inputShape }), {
    graphOptimizationLevel: 'all',
    ...sessionOptions,
  });
  return {
    peer,
    note,
    async run(input) {
      const result = await session.run({ [graph.input]: new ort.Tensor('float32', input.data, input.shape) });
      const out = {};
      for (const [key, t] of Object.entries(result)) out[key] = { data: t.data, shape: [...t.dims] };
      return out;
    },
    dispose: () => session.release(),
  };
}

/**
 * Loads one peer and compiles the graph on it; `inputShape` fixes the ONNX input shape (lets
 * onnxruntime plan for it). `threads` (default 1): onnxruntime-web's numThreads (fixed for the
 * process by its first session) and onnxruntime-node's intra-op threads; tfjs-backend-wasm has no
 * threads under Node.
 */
export async function createPeer(peer, graph, weights, inputShape, { threads = 1 } = {}) {
  switch (peer) {
    case 'onnxruntime-web': {
      const ort = await import('onnxruntime-web');
      ort.env.wasm.numThreads = threads;
      ort.env.wasm.simd = true;
      ort.env.wasm.proxy = false;
      // The binary comes from node_modules, read here, so nothing can be fetched from elsewhere.
      ort.env.wasm.wasmBinary = readFileSync(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
      const note = `onnxruntime-web ${ort.env.versions.web}, wasm EP, SIMD, ${threads} thread${threads > 1 ? 's' : ''}`;
      return ortPeer(ort, peer, note, graph, weights, inputShape, { executionProviders: ['wasm'] });
    }
    case 'onnxruntime-node': {
      const { default: ort } = await import('onnxruntime-node');
      const note = `onnxruntime-node ${ort.env.versions.node}, native CPU EP, ${threads} intra-op + 1 inter-op thread`;
      return ortPeer(ort, peer, note, graph, weights, inputShape, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
      });
    }
    case 'tfjs-wasm': {
      const tf = await import('@tensorflow/tfjs-core');
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // The .wasm files load from the package's dist/ (a path prefix; read with fs under Node).
      wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'))}/`);
      // Threads are fixed when the backend initialises; tfjs has no wasm threads under Node anyway.
      wasm.setThreadsCount(1);
      if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const model = buildTfjsModel(tf, graph, weights);
      const note = `@tensorflow/tfjs-backend-wasm ${wasm.version_wasm}, ${simd ? 'SIMD' : 'no SIMD'}, ${wasm.getThreadsCount()} thread, BN folded + fused conv/bias/relu, NCHW->NHWC in the timed run`;
      return { peer, note, run: (input) => model.run(input), dispose: () => model.dispose() };
    }
    default:
      throw new Error(`unknown peer '${peer}'; expected one of ${PEERS.join(', ')}`);
  }
}


function quantile(sorted, q) {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/**
 * Times every peer on the same graph, weights and input (default: `benchInput(inputShape)`):
 * `runs` timed iterations after `warmup` untimed ones, one peer after the other.
 */
export async function runPeers({ graph, weights, inputShape, runs = 10, warmup = 2, peers = PEERS, input }) {
  const x = input ?? benchInput(inputShape);
  const results = [];
  for (const name of peers) {
    let peer;
    try {
      peer = await createPeer(name, graph, weights, inputShape);
    } catch (e) {
      results.push({ peer: name, medianMs: null, p90Ms: null, minMs: null, imagesPerSecond: null, note: `unavailable: ${e instanceof Error ? e.message : e}` });
      continue;
    }
    try {
      const bench = new Bench({ iterations: runs, time: 0, warmupIterations: warmup, warmupTime: 0, retainSamples: true, throws: true });
      bench.add(name, () => peer.run(x));
      await bench.run();
      const latency = bench.tasks[0].result.latency;
      const sorted = [...latency.samples].sort((a, b) => a - b);
      results.push({
        peer: name,
        medianMs: latency.p50,
        p90Ms: quantile(sorted, 0.9),
        minMs: sorted[0],
        imagesPerSecond: (inputShape[0] * 1000) / latency.p50,
        note: `${peer.note}; ${sorted.length} runs after ${warmup} warmup`,
      });
    } finally {
      await peer.dispose();
    }
  }
  return results;
}
