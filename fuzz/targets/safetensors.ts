/** Fuzz target: safetensors (weights/safetensors.ts), then the state-dict search. */
import { extractStateDict } from '../../src/weights/load.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { fuzzEntry, type Target } from '../outcome.js';

export const target: Target = {
  name: 'safetensors',
  reads: 'readSafetensors, then extractStateDict (src/weights/safetensors.ts, load.ts)',
  parse(bytes) {
    const file = readSafetensors(bytes);
    if (file.tensors.size) extractStateDict(file);
  },
};

export const fuzz = fuzzEntry(target);
