/** Elementwise ops of any shape: ReLU and the residual add. */
import { sameShape, shapeToString, Tensor } from '../../../tensor.js';

/** max(x, 0); NaN stays NaN (as in PyTorch). */
export function relu(x: Tensor): Tensor {
  const y = new Float32Array(x.data.length);
  for (let i = 0; i < y.length; i++) {
    const v = x.data[i];
    y[i] = v < 0 ? 0 : v;
  }
  return new Tensor(y, x.shape);
}

/** a + b of equal shapes (no broadcasting: the residual add never needs it). */
export function add(a: Tensor, b: Tensor): Tensor {
  if (!sameShape(a.shape, b.shape)) {
    throw new RangeError(`add: operands must have equal shapes, got ${shapeToString(a.shape)} and ${shapeToString(b.shape)}`);
  }
  const y = new Float32Array(a.data.length);
  for (let i = 0; i < y.length; i++) y[i] = a.data[i] + b.data[i];
  return new Tensor(y, a.shape);
}
