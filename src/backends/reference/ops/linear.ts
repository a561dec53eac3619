/** Fully connected layer and the 2-D transpose that Paddle's [in, out] weights need. */
import { shapeToString, Tensor } from '../../../tensor.js';
import { expectRank, expectVector } from './check.js';

/**
 * y[n, o] = bias[o] + sum_i x[n, i] * w[o, i]  (torch.nn.Linear: x W^T + b)
 * x: [N, in]; w: [out, in] (torch layout); bias: [out] or undefined. float64 accumulator.
 */
export function linear(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  expectRank('linear', 'input', x, 2, '[N, inFeatures]');
  expectRank('linear', 'weight', w, 2, '[outFeatures, inFeatures]');
  const [batch, inFeatures] = x.shape;
  const [outFeatures, wIn] = w.shape;
  if (wIn !== inFeatures) {
    throw new RangeError(
      `linear: weight ${shapeToString(w.shape)} takes ${wIn} input features, input ${shapeToString(x.shape)} has ${inFeatures}`,
    );
  }
  if (bias) expectVector('linear', 'bias', bias, outFeatures);
  const y = new Float32Array(batch * outFeatures);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outFeatures; o++) {
      let acc = bias ? bias.data[o] : 0; // float64 accumulator
      for (let i = 0; i < inFeatures; i++) acc += x.data[n * inFeatures + i] * w.data[o * inFeatures + i];
      y[n * outFeatures + o] = acc;
    }
  }
  return new Tensor(y, [batch, outFeatures]);
}

/** [R, C] -> [C, R]: y[c, r] = x[r, c] (a copy). */
export function transpose2d(x: Tensor): Tensor {
  expectRank('transpose2d', 'input', x, 2, 'a matrix');
  const [rows, cols] = x.shape;
  const y = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) y[c * rows + r] = x.data[r * cols + c];
  }
  return new Tensor(y, [cols, rows]);
}
