/**
 * Fuzz target: the PNG decoder (image/png.ts, inflating through DecompressionStream), then the
 * torchvision preprocessing that `resnet classify` applies. Asynchronous, like the decoder.
 */
import { decodePng } from '../../src/image/png.js';
import { preprocess } from '../../src/image/preprocess.js';
import { fuzzEntry, type Target } from '../outcome.js';

export const target: Target = {
  name: 'png',
  reads: "decodePng, then preprocess(image, 'torchvision') (src/image/png.ts, preprocess.ts)",
  async parse(bytes) {
    preprocess(await decodePng(bytes), 'torchvision');
  },
};

export const fuzz = fuzzEntry(target);
