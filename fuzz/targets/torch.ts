/** Fuzz target: torch checkpoints, zip (>= 1.6) or legacy, as `readCheckpoint` dispatches them, then the state-dict search. */
import { detectFormat, extractStateDict } from '../../src/weights/load.js';
import { readTorchLegacy, readTorchZip } from '../../src/weights/torch.js';
import { fuzzEntry, type Target } from '../outcome.js';

export const target: Target = {
  name: 'torch',
  reads: 'readTorchZip (zip magic) or readTorchLegacy (anything else), then extractStateDict (src/weights/torch.ts, load.ts)',
  parse(bytes) {
    const ckpt = detectFormat(bytes) === 'torch-zip' ? readTorchZip(bytes) : readTorchLegacy(bytes);
    if (ckpt.tensors.size) extractStateDict(ckpt);
  },
};

export const fuzz = fuzzEntry(target);
