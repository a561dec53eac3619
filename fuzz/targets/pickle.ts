/** Fuzz target: the pickle machine alone (weights/pickle.ts), persistent ids handed back as they are. */
import { unpickle } from '../../src/weights/pickle.js';
import { fuzzEntry, type Target } from '../outcome.js';

export const target: Target = {
  name: 'pickle',
  reads: 'unpickle(bytes) from src/weights/pickle.ts (persistent ids returned unchanged)',
  parse(bytes) {
    unpickle(bytes, { persistentLoad: (pid) => pid });
  },
};

export const fuzz = fuzzEntry(target);
