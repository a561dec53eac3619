/**
 * Fuzz target: the exact JPEG decoder (image/jpeg-baseline.ts), then the torchvision preprocessing
 * that `resnet classify` applies (resize amplification counts: issue 17, item 6). The decoder is
 * called directly, not through decodeImage, which wraps every error, TypeErrors included, in an
 * ImageDecodeError and would hide them from the fuzzer.
 */
import { decodeJpegExact } from '../../src/image/jpeg-baseline.js';
import { preprocess } from '../../src/image/preprocess.js';
import { fuzzEntry, isJpegDecoderError, type Target } from '../outcome.js';

export const target: Target = {
  name: 'jpeg',
  reads: "decodeJpegExact, then preprocess(image, 'torchvision') (src/image/jpeg-baseline.ts, preprocess.ts)",
  parse(bytes) {
    preprocess(decodeJpegExact(bytes), 'torchvision');
  },
  expected: isJpegDecoderError,
};

export const fuzz = fuzzEntry(target);
