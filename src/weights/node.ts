/** Node-only convenience: read a checkpoint from a path. Browser code passes bytes to readCheckpoint. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { readCheckpoint } from './load.js';
import type { Checkpoint } from './types.js';

export async function readCheckpointFile(path: string): Promise<Checkpoint> {
  const buf = await readFile(path);
  return readCheckpoint(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), { name: basename(path) });
}
