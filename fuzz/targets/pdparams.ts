/** Fuzz target: Paddle .pdparams (weights/paddle.ts: pickle, tuple unwrapping, tree flattening), then the state-dict search. */
import { extractStateDict } from '../../src/weights/load.js';
import { readPaddle } from '../../src/weights/paddle.js';
import { fuzzEntry, type Target } from '../outcome.js';

export const target: Target = {
  name: 'pdparams',
  reads: 'readPaddle, then extractStateDict (src/weights/paddle.ts, tree.ts, load.ts)',
  parse(bytes) {
    const ckpt = readPaddle(bytes);
    if (ckpt.tensors.size) extractStateDict(ckpt);
  },
};

export const fuzz = fuzzEntry(target);
