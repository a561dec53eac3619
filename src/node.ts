/**
 * resnet-ts/node: Node-only helpers on top of the library: image files, the embedded default
 * model (the pretrained CIFAR-10 ResNet-20 of akamaster, BSD-2, shipped under assets/weights/),
 * and labels. Browsers and workers import `resnet-ts` instead and decode images with their own APIs.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createModel, type CreateModelOptions, type Model } from './api.js';

export { decodeImage, decodeImageFile, ImageDecodeError, type DecodedImage } from './image/decode-node.js';

/** The package's assets folder (labels, embedded weights), next to src/ and dist/. */
export const ASSETS_DIR = fileURLToPath(new URL('../assets/', import.meta.url));

/** The embedded default: model name and weights file, relative to ASSETS_DIR. */
export const DEFAULT_MODEL = {
  name: 'resnet20',
  weights: 'weights/cifar10-resnet20-akamaster/resnet20-12fca82f.th',
  description: 'CIFAR-10 ResNet-20, pretrained by akamaster/pytorch_resnet_cifar10 (BSD-2-Clause), embedded',
} as const;

export function defaultWeightsBytes(): Uint8Array {
  const b = readFileSync(fileURLToPath(new URL(DEFAULT_MODEL.weights, new URL('../assets/', import.meta.url))));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The embedded pretrained CIFAR-10 ResNet-20. */
export function createDefaultModel(options: Omit<CreateModelOptions, 'weights'> = {}): Promise<Model> {
  return createModel(DEFAULT_MODEL.name, { ...options, weights: defaultWeightsBytes() });
}
