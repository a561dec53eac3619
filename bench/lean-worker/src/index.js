// ResNet-50 with int8 weights in a Worker (workerd, `wrangler dev --local`): one forward at 224x224
// on a fixed input, then the planned and actual wasm memory. The int8 checkpoint (make-weights.mjs)
// is bundled as a Data module; createModel picks the lean memory mode for it.
import { createModel, Tensor } from '../../../dist/worker.js';
import weights from './resnet50-int8.safetensors';

let model;
export default {
  async fetch() {
    model ??= createModel('resnet50', { weights: new Uint8Array(weights) });
    const m = await model;
    const size = 224;
    const data = new Float32Array(3 * size * size);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.001);
    const x = new Tensor(data, [1, 3, size, size]);
    const logits = (await m.forward(x)).data;
    await m.settle();
    const again = (await m.forward(x)).data;
    const top = [...logits].map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, i]) => i);
    const prof = await m.profile(x);
    return Response.json({ backend: m.backend.name, reason: m.backendChoice.reason, dtype: m.weightsReport?.dtype, top, sameAfterSettle: top[0] === [...again].indexOf(Math.max(...again)), plannedPeakBytes: m.summary({ inputSize: size }).backendMemory?.peak, wasmMemoryBytes: prof.memoryBytes });
  },
};
