/** Fuzz target: NumPy .npy input of `resnet run` (src/npy.ts). */
import { readNpy } from '../../src/npy.js';
import { fuzzEntry, type Target } from '../outcome.js';

export const target: Target = {
  name: 'npy',
  reads: 'readNpy (src/npy.ts)',
  parse(bytes) {
    readNpy(bytes);
  },
};

export const fuzz = fuzzEntry(target);
