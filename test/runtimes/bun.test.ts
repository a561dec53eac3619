/** Bun: `bun app.mjs` in the consumer app (test/runtimes/script-runtime.ts says what is checked). */
import { join } from 'node:path';
import { BIN, consumerRootDir } from './consumer.js';
import { describeScriptRuntime } from './script-runtime.js';

describeScriptRuntime({
  name: 'bun',
  title: 'Bun',
  bin: join(BIN, 'bun'),
  file: 'app.mjs',
  args: (file) => [file],
  // No crash reports or telemetry leave the machine; its cache in this run's temp dir.
  env: { DO_NOT_TRACK: '1', BUN_INSTALL_CACHE_DIR: join(consumerRootDir(), 'bun-cache') },
});
