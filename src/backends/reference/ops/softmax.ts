/**
 * Softmax along one axis of a tensor of any rank (ONNX opset >= 13 / torch.softmax(x, dim)).
 * Numerically stable: the maximum of each slice is subtracted before exp, so inputs like 1e4 do
 * not overflow. float64 throughout, float32 store.
 */
import { Tensor } from '../../../tensor.js';
import { resolveAxis } from './check.js';

export function softmax(x: Tensor, axis: number): Tensor {
  const a = resolveAxis('softmax', axis, x.shape.length);
  // View x as [outer, len, inner]: axis `a` in the middle, C order, so element (o, k, i) sits at
  // (o * len + k) * inner + i.
  const len = x.shape[a];
  const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = x.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const y = new Float32Array(x.data.length);
  const at = (o: number, k: number, i: number): number => (o * len + k) * inner + i;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let max = -Infinity;
      for (let k = 0; k < len; k++) max = Math.max(max, x.data[at(o, k, i)]);
      let sum = 0;
      for (let k = 0; k < len; k++) sum += Math.exp(x.data[at(o, k, i)] - max);
      for (let k = 0; k < len; k++) y[at(o, k, i)] = Math.exp(x.data[at(o, k, i)] - max) / sum;
    }
  }
  return new Tensor(y, x.shape);
}
