// ResNet-50 with int8 weights in a Worker (workerd, `wrangler dev --local`): one forward at 224x224
// on a fixed input, then the planned and actual wasm memory. The int8 checkpoint (make-weights.mjs)
// is bundled as a Data module; createModel picks the lean memory mode for it, keeping the int8
// weights as stored. `?mode=widened` binds them widened to float32 instead (readCheckpoint, then
// the lean mode on the map: what createModel did before), for measure.mjs's comparison.
import { createModel, readCheckpoint, Tensor } from '../../../dist/worker.js';
import weights from './resnet50-int8.safetensors';

let model;
export default {
  async fetch(request) {
    const widened = new URL(request.url).searchParams.get('mode') === 'widened';
    const bytes = new Uint8Array(weights);
    model ??= widened ? createModel('resnet50', { weights: new Map(readCheckpoint(bytes).tensors), lean: true }) : createModel('resnet50', { weights: bytes });
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
