/** Bun: `bun app.mjs` in the consumer app (test/runtimes/script-runtime.ts says what is checked). */
import { join } from 'node:path';
import { BIN } from './consumer.js';
import { describeScriptRuntime } from './script-runtime.js';

describeScriptRuntime({
  name: 'bun',
  title: 'Bun',
  bin: join(BIN, 'bun'),
  file: 'app.mjs',
  args: (file) => [file],
  env: { DO_NOT_TRACK: '1' }, // no crash reports or telemetry leave the machine
});
