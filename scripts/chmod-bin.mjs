// tsc writes files without the execute bit; the `resnet` bin must have it for `npx resnet`.
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
