/**
 * Node's reference logits: cat.jpg and cat.png (in an app dir) through the embedded model of the
 * installed package (its dist/ at `distUrl`), on one kernel build. Imported by
 * test/runtimes/consumer.ts for the plain SIMD build in its own process, and run as
 *   node --experimental-wasm-relaxed-simd node-reference.mjs <distUrl> <appDir>
 * for the relaxed SIMD build (Node 20 validates relaxed SIMD only behind that flag); prints JSON.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `{ 'cat.jpg': { label, logits }, 'cat.png': ... }` on the relaxed (true) or plain (false) build. */
export async function classifyBoth(distUrl, appDir, relaxed) {
  const { decodeImage, preprocess, createWasmBackend, CIFAR10_LABELS } = await import(`${distUrl}index.js`);
  const { createDefaultModel } = await import(`${distUrl}default-model.js`);
  const model = await createDefaultModel({ backend: createWasmBackend({ relaxed }) });
  const out = {};
  for (const image of ['cat.jpg', 'cat.png']) {
    const bytes = new Uint8Array(readFileSync(join(appDir, image)));
    const logits = Array.from((await model.forward(preprocess(await decodeImage(bytes), 'cifar'))).data);
    out[image] = { label: CIFAR10_LABELS[logits.indexOf(Math.max(...logits))], logits };
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [distUrl, appDir] = process.argv.slice(2);
  console.log(JSON.stringify(await classifyBoth(distUrl, appDir, true)));
}
