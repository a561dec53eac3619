/**
 * Deno: `deno run --allow-read=cat.jpg app.js` in the consumer app (it resolves `resnet-ts` through
 * the app's package.json and node_modules). The embedded model needs no permission: the snippet
 * gets read access to the image alone, and the bad-input script gets none.
 */
import { join } from 'node:path';
import { BIN, consumerRootDir } from './consumer.js';
import { describeScriptRuntime } from './script-runtime.js';

describeScriptRuntime({
  name: 'deno',
  title: 'Deno',
  bin: join(BIN, 'deno'),
  file: 'app.js',
  args: (file, image) => (image ? ['run', `--allow-read=${image}`, file] : ['run', file]),
  // Its cache in this run's temp dir; no update check, no permission prompt.
  env: { DENO_DIR: join(consumerRootDir(), 'deno-dir'), DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' },
});
