// Writes src/resnet50-int8.safetensors for the lean worker: ResNet-50's seeded weights in the
// `resnet convert --dtype int8` layout. Run after `npm run build`:
//   node bench/lean-worker/make-weights.mjs && cd bench/lean-worker && npx wrangler dev --local
// then `curl http://localhost:8787`: { backend, reason, dtype, top, plannedPeakBytes, wasmMemoryBytes }.
import { writeFileSync } from 'node:fs';
import { createModel, narrowWeights, writeSafetensors } from '../../dist/index.js';

const model = await createModel('resnet50', { backend: 'reference' });
const n = narrowWeights(model.weights, 'int8');
writeFileSync(new URL('./src/resnet50-int8.safetensors', import.meta.url), writeSafetensors(n.tensors, n.metadata, { dtypes: n.dtypes }));
