import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CIFAR10_LABELS, IMAGENET_LABELS, IMAGENET_SYNSETS, labelsFor } from '../src/labels.js';

const asset = (name: string): URL => new URL(`../assets/labels/${name}`, import.meta.url);

describe('labels', () => {
  it('ImageNet-1k: 1000 names in class order', () => {
    expect(IMAGENET_LABELS.length).toBe(1000);
    expect(IMAGENET_LABELS[0]).toBe('tench');
    expect(IMAGENET_LABELS[281]).toBe('tabby');
    expect(IMAGENET_LABELS[282]).toBe('tiger_cat');
    expect(IMAGENET_LABELS[332]).toBe('Angora'); // ground truth of ILSVRC2012_val_00000010 (SOURCE.md)
    expect(IMAGENET_LABELS[999]).toBe('toilet_tissue');
    expect(IMAGENET_SYNSETS[0]).toBe('n01440764');
    expect(IMAGENET_SYNSETS[332]).toBe('n02328150');
    // synsets sorted: the index is the position in the sorted synset list
    expect([...IMAGENET_SYNSETS].sort()).toEqual([...IMAGENET_SYNSETS]);
  });

  it('CIFAR-10: the ten names in class order', () => {
    expect(CIFAR10_LABELS).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  });

  it('labelsFor picks by class count', () => {
    expect(labelsFor(1000)).toBe(IMAGENET_LABELS);
    expect(labelsFor(10)).toBe(CIFAR10_LABELS);
    expect(labelsFor(7)).toBeNull();
  });

  it('src/labels-data.ts is in sync with assets/labels (rerun scripts/gen-labels.mjs if not)', () => {
    const json = JSON.parse(readFileSync(asset('imagenet-1k-index_to_name.json'), 'utf8')) as Record<string, [string, string]>;
    expect(IMAGENET_LABELS).toEqual(Array.from({ length: 1000 }, (_, i) => json[String(i)][1]));
    expect(IMAGENET_SYNSETS).toEqual(Array.from({ length: 1000 }, (_, i) => json[String(i)][0]));
    expect(CIFAR10_LABELS).toEqual(JSON.parse(readFileSync(asset('cifar10.json'), 'utf8')));
  });

  it('third-party label data keeps its license and attribution next to it', () => {
    expect(readFileSync(asset('LICENSE-Apache-2.0.txt'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    const source = readFileSync(asset('SOURCE.md'), 'utf8');
    expect(source).toMatch(/pytorch\/serve @ 62c4d6a1fdc1d071dbcf758ebd756029af20bd5e/);
    expect(source).toMatch(/Krizhevsky/);
    expect(existsSync(new URL('../examples/cifar10/SOURCE.md', import.meta.url))).toBe(true);
  });
});
