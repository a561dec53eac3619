// Empties dist/ before a build, so that no file of an earlier build (a renamed chunk, a removed
// module) is published.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true });
