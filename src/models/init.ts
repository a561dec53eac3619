/**
 * Deterministic seeded weights for models built without a checkpoint.
 *
 * PRNG: mulberry32 (Tommy Ettinger's 32-bit generator, public domain), seeded per tensor with
 * FNV-1a(key) XOR seed, so every tensor's values depend only on (seed, key) and not on the order
 * in which tensors are created. Distributions (uniform, chosen to keep activations O(1) through
 * deep residual stacks so that random-weight outputs are meaningful for comparisons):
 *   conv / linear weight  U(-a, a), a = sqrt(3 / fan_in)   (variance 1 / fan_in)
 *   linear / conv bias    U(-0.1, 0.1)
 *   BN weight (gamma)     U(0.5, 1.0)       BN bias (beta)  U(-0.1, 0.1)
 *   BN running_mean       U(-0.1, 0.1)      BN running_var  U(0.5, 1.5)
 */
import type { Graph } from '../graph.js';
import { Tensor, sizeOf } from '../tensor.js';

/** mulberry32: returns a function giving uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a 32-bit hash of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function uniform(key: string, seed: number, shape: readonly number[], lo: number, hi: number): Tensor {
  const rand = mulberry32(fnv1a(key) ^ seed);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rand();
  return new Tensor(data, shape);
}

/**
 * Seeded weights for every parameter and buffer the graph reads, or only for the keys in `only`
 * (a non-strict bind's missing ones); a key's values are the same either way.
 */
export function seededWeights(g: Graph, seed = 0, only?: ReadonlySet<string>): Map<string, Tensor> {
  const w = new Map<string, Tensor>();
  const put = (key: string, shape: readonly number[], lo: number, hi: number) => {
    if (!only || only.has(key)) w.set(key, uniform(key, seed, shape, lo, hi));
  };
  for (const n of g.nodes) {
    if (n.op === 'conv') {
      const shape = [n.outChannels, n.inChannels / n.groups, n.kernel[0], n.kernel[1]];
      const a = Math.sqrt(3 / (shape[1] * shape[2] * shape[3]));
      put(n.params.weight, shape, -a, a);
      if (n.params.bias) put(n.params.bias, [n.outChannels], -0.1, 0.1);
    } else if (n.op === 'batchnorm') {
      const c = [n.channels];
      put(n.params.weight, c, 0.5, 1.0);
      put(n.params.bias, c, -0.1, 0.1);
      put(n.params.mean, c, -0.1, 0.1);
      put(n.params.var, c, 0.5, 1.5);
    } else if (n.op === 'linear') {
      const shape = n.weightLayout === 'oi' ? [n.outFeatures, n.inFeatures] : [n.inFeatures, n.outFeatures];
      const a = Math.sqrt(3 / n.inFeatures);
      put(n.params.weight, shape, -a, a);
      if (n.params.bias) put(n.params.bias, [n.outFeatures], -0.1, 0.1);
    }
  }
  return w;
}
