/**
 * Fuzz target: the PNG decoder (image/png.ts: chunks, CRCs, inflating through DecompressionStream,
 * unfiltering, Adam7). Asynchronous, like the decoder. Decoding only, as for JPEG.
 */
import { decodePng } from '../../src/image/png.js';
import { fuzzEntry, type Target } from '../outcome.js';

export const target: Target = {
  name: 'png',
  reads: 'decodePng (src/image/png.ts)',
  async parse(bytes) {
    await decodePng(bytes);
  },
};

export const fuzz = fuzzEntry(target);
