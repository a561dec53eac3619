/**
 * Class names for the built-in label sets. The data is compiled into the bundle
 * (src/labels-data.ts, generated from assets/labels/ by scripts/gen-labels.mjs), so nothing is
 * read at run time. Sources and licenses: assets/labels/SOURCE.md.
 */
import { CIFAR10_NAMES, IMAGENET_NAMES, IMAGENET_SYNSETS } from './labels-data.js';

/** The 1000 ImageNet-1k class names in class-index order (torchvision / timm / PaddleClas order). */
export const IMAGENET_LABELS: readonly string[] = IMAGENET_NAMES;

/** WordNet ids (`n01440764`, ...) of the ImageNet-1k classes, in the same order. */
export { IMAGENET_SYNSETS };

/** airplane automobile bird cat deer dog frog horse ship truck (class indices 0..9). */
export const CIFAR10_LABELS: readonly string[] = CIFAR10_NAMES;

/** The built-in label list with `numClasses` entries (1000: ImageNet-1k, 10: CIFAR-10), or null. */
export function labelsFor(numClasses: number): readonly string[] | null {
  if (numClasses === IMAGENET_LABELS.length) return IMAGENET_LABELS;
  if (numClasses === CIFAR10_LABELS.length) return CIFAR10_LABELS;
  return null;
}
