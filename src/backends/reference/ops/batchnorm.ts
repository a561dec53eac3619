/**
 * Inference BatchNorm over the channel axis (axis 1) of an [N, C, ...] tensor:
 *   y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]
 * computed in float64 per element, stored as float32. Running statistics only: there is no
 * training mode. see: torch.nn.BatchNorm2d (eval), onnx Operators.md#BatchNormalization.
 */
import { shapeToString, Tensor } from '../../../tensor.js';
import { expectVector } from './check.js';

export function batchNorm(x: Tensor, weight: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, eps = 1e-5): Tensor {
  if (x.shape.length < 2) {
    throw new RangeError(`batchNorm: input must be [N, C, ...] (rank >= 2), got ${shapeToString(x.shape)}`);
  }
  if (!(eps >= 0)) throw new RangeError(`batchNorm: eps must be >= 0, got ${eps}`);
  const [batch, channels] = x.shape;
  expectVector('batchNorm', 'weight', weight, channels);
  expectVector('batchNorm', 'bias', bias, channels);
  expectVector('batchNorm', 'running mean', mean, channels);
  expectVector('batchNorm', 'running var', variance, channels);

  // [N, C, ...] viewed as [N, C, S] with S the product of the trailing (spatial) axes.
  const spatial = x.data.length / Math.max(1, batch * channels);
  const y = new Float32Array(x.data.length);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const invStd = 1 / Math.sqrt(variance.data[c] + eps);
      const base = (n * channels + c) * spatial;
      for (let s = 0; s < spatial; s++) {
        y[base + s] = (x.data[base + s] - mean.data[c]) * invStd * weight.data[c] + bias.data[c];
      }
    }
  }
  return new Tensor(y, x.shape);
}
