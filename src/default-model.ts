/**
 * resnet-ts/default-model: the embedded default model, the same way in every runtime. Its weights
 * (the pretrained CIFAR-10 ResNet-20 of akamaster/pytorch_resnet_cifar10, BSD-2-Clause; the original
 * `.th` file is under assets/weights/cifar10-resnet20-akamaster/ with its license) are compiled into
 * this module's code, so browsers, Cloudflare Workers, Deno without permissions, Bun and Node all
 * get them by `import`: no file system, no fetch. The module weighs about 1.5 MB; the core entry
 * (`resnet-ts`) does not import it.
 */
import { createModel, type CreateModelOptions, type Model } from './api.js';
import { decodeBase64 } from './base64.js';
import { RESNET20_CIFAR10_BASE64, RESNET20_CIFAR10_SHA256 } from './default-model.generated.js';
import { CIFAR10_LABELS } from './labels.js';

/** What the default model is and how to feed it. */
export const DEFAULT_MODEL = {
  /** The zoo name (`createModel(DEFAULT_MODEL.name, ...)`). */
  name: 'resnet20',
  /** The preprocessing preset its weights were trained with (`preprocess(image, DEFAULT_MODEL.preset)`). */
  preset: 'cifar',
  /** Class names, index order. */
  labels: CIFAR10_LABELS,
  /** The embedded checkpoint, as published. */
  weightsFile: 'resnet20-12fca82f.th',
  sha256: RESNET20_CIFAR10_SHA256,
  description: 'CIFAR-10 ResNet-20, pretrained by akamaster/pytorch_resnet_cifar10 (BSD-2-Clause), embedded',
  license: 'BSD-2-Clause',
} as const;

let weights: Uint8Array | undefined;

/**
 * The embedded checkpoint's bytes (the original legacy-torch `.th`, 1.1 MB), decoded once and shared:
 * treat them as read-only.
 */
export function defaultWeights(): Uint8Array {
  weights ??= decodeBase64(RESNET20_CIFAR10_BASE64);
  return weights;
}

/** The embedded pretrained CIFAR-10 ResNet-20: `createModel('resnet20', { weights: defaultWeights() })`. */
export function createDefaultModel(options: Omit<CreateModelOptions, 'weights' | 'weightsName'> = {}): Promise<Model> {
  return createModel(DEFAULT_MODEL.name, { ...options, weights: defaultWeights(), weightsName: DEFAULT_MODEL.weightsFile });
}
