/** Softmax over the last axis of [N, K] logits (max-subtracted for stability), as a flat array. */
export function softmaxRows(logits: { data: Float32Array; shape: readonly number[] }): Float32Array {
  const [n, k] = logits.shape;
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    const row = logits.data.subarray(r * k, (r + 1) * k);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += out[r * k + j] = Math.exp(row[j] - max);
    for (let j = 0; j < k; j++) out[r * k + j] /= sum;
  }
  return out;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, k);
}
