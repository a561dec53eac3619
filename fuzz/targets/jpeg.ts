/**
 * Fuzz target: the exact JPEG decoder (image/jpeg-baseline.ts), called directly, not through
 * decodeImage, which wraps every error, TypeErrors included, in an ImageDecodeError and would hide
 * them from the fuzzer. Decoding only: preprocess (resizing to 256) would cost four times the
 * decode on every input; resize amplification (issue 17, item 6) is tested where it is fixed.
 */
import { decodeJpegExact } from '../../src/image/jpeg-baseline.js';
import { fuzzEntry, isJpegDecoderError, type Target } from '../outcome.js';

export const target: Target = {
  name: 'jpeg',
  reads: 'decodeJpegExact (src/image/jpeg-baseline.ts)',
  parse(bytes) {
    decodeJpegExact(bytes);
  },
  expected: isJpegDecoderError,
};

export const fuzz = fuzzEntry(target);
