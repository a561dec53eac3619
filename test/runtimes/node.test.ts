/** Node: `node app.mjs` in the consumer app (test/runtimes/script-runtime.ts says what is checked). */
import { expect, it } from 'vitest';
import { maxAbsDiff, nodeReference } from './consumer.js';
import { describeScriptRuntime } from './script-runtime.js';

describeScriptRuntime({
  name: 'node',
  title: 'Node',
  bin: process.execPath,
  file: 'app.mjs',
  args: (file) => [file],
});

it("cat.png (cat.jpg's decoded pixels, lossless) gives cat.jpg's logits; the two kernel builds agree to 1e-4", async () => {
  const ref = await nodeReference();
  for (const variant of ['simd', 'relaxed-simd'] as const) {
    expect(maxAbsDiff(ref[variant]['cat.jpg'].logits, ref[variant]['cat.png'].logits), variant).toBe(0);
    expect(ref[variant]['cat.jpg'].label, variant).toBe('cat');
  }
  const builds = maxAbsDiff(ref.simd['cat.jpg'].logits, ref['relaxed-simd']['cat.jpg'].logits);
  console.log(`Node: max |logit(simd) - logit(relaxed-simd)| on cat.jpg ${builds.toExponential(2)}`);
  expect(builds).toBeLessThanOrEqual(1e-4);
}, 600_000);
