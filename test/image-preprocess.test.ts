import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeImageFile } from '../src/image/decode-node.js';
import { toRgb } from '../src/image/image.js';
import { rgbToTensor, stackBatch } from '../src/image/normalize.js';
import { preprocess, preprocessBatch } from '../src/image/preprocess.js';
import { IMAGENET_MEAN, IMAGENET_STD, PRESETS, getPreset, listPresets } from '../src/image/presets.js';
import { Tensor } from '../src/tensor.js';

const DATA = new URL('../../shared/data/', import.meta.url);

function uniform(width: number, height: number, rgb: [number, number, number], channels: 3 | 4 = 3) {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    data.set(rgb, i * channels);
    if (channels === 4) data[i * channels + 3] = 255;
  }
  return { width, height, data, channels };
}

/** Index of the first differing element, or -1 (deep equality on big typed arrays is slow). */
function firstMismatch(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe('preprocess: shapes', () => {
  it.each(['torchvision', 'torchvision-v2', 'timm', 'timm-rsb', 'paddleclas'] as const)('kitten.jpg with %s -> [1,3,224,224]', async (preset) => {
    const img = await decodeImageFile(new URL('imagenet/kitten.jpg', DATA).pathname);
    const t = preprocess(img, preset);
    expect(t).toBeInstanceOf(Tensor);
    expect(t.shape).toEqual([1, 3, 224, 224]);
    // Normalised ImageNet statistics: values between (0 - 0.485) / 0.229 and (1 - 0.406) / 0.225.
    let min = Infinity;
    let max = -Infinity;
    for (const v of t.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(-2.1179);
    expect(max).toBeLessThanOrEqual(2.6401);
    expect(max - min).toBeGreaterThan(2); // a real photo, not a constant
  });

  it('a landscape ImageNet photo (500x375) and a custom size', async () => {
    const img = await decodeImageFile(new URL('imagenet/ILSVRC2012_val_00000010.jpeg', DATA).pathname);
    expect(preprocess(img, 'torchvision').shape).toEqual([1, 3, 224, 224]);
    expect(preprocess(img, 'timm', { size: 288 }).shape).toEqual([1, 3, 288, 288]);
    expect(preprocess(img, 'paddleclas', { size: 160, resizeSize: 180 }).shape).toEqual([1, 3, 160, 160]);
  });

  it('batches stack along N', async () => {
    const dir = new URL('../examples/cifar10/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.jpg'));
    const images = await Promise.all(files.map((f) => decodeImageFile(new URL(f, dir).pathname)));
    const batch = preprocessBatch(images, 'cifar');
    expect(batch.shape).toEqual([files.length, 3, 32, 32]);
    const second = preprocess(images[1], 'cifar');
    expect(firstMismatch(batch.data.subarray(3 * 32 * 32, 2 * 3 * 32 * 32), second.data)).toBe(-1);
  });

  it('stackBatch rejects mixed shapes with both shapes named', () => {
    const a = Tensor.zeros([1, 3, 4, 4]);
    const b = Tensor.zeros([1, 3, 5, 5]);
    expect(() => stackBatch([a, b])).toThrow(/image 1 has shape \[1, 3, 5, 5\] but image 0 has \[1, 3, 4, 4\]/);
    expect(() => stackBatch([])).toThrow(/at least one/);
  });
});

describe('preprocess: normalisation values', () => {
  it('torchvision: (v / 255 - mean) / std in float32, per channel, CHW order', () => {
    const t = preprocess(uniform(300, 300, [0, 128, 255]), 'torchvision');
    const plane = 224 * 224;
    const expected = [0, 128, 255].map((v, c) => Math.fround(Math.fround(Math.fround(v / 255) - Math.fround(IMAGENET_MEAN[c])) / Math.fround(IMAGENET_STD[c])));
    expect(t.data[0]).toBe(expected[0]);
    expect(t.data[plane + 17]).toBe(expected[1]);
    expect(t.data[2 * plane + plane - 1]).toBe(expected[2]);
    // Hand values: (0 - 0.485) / 0.229, (128/255 - 0.456) / 0.224, (1 - 0.406) / 0.225
    expect(expected[0]).toBeCloseTo(-2.117904, 5);
    expect(expected[1]).toBeCloseTo(0.205182, 5);
    expect(expected[2]).toBeCloseTo(2.64, 5);
  });

  it('PaddleClas multiplies by float32(1/255) instead of dividing', () => {
    const rgb = { width: 1, height: 1, data: new Uint8Array([1, 2, 3]) };
    const div = rgbToTensor(rgb, { toFloat: 'divide', mean: [0, 0, 0], std: [1, 1, 1] });
    const mul = rgbToTensor(rgb, { toFloat: 'multiply', mean: [0, 0, 0], std: [1, 1, 1] });
    expect(Array.from(div.data)).toEqual([1, 2, 3].map((v) => Math.fround(v / 255)));
    expect(Array.from(mul.data)).toEqual([1, 2, 3].map((v) => Math.fround(v * Math.fround(1 / 255))));
    // The two differ in the last bit for some byte values; find one to show the modes are distinct.
    const all = { width: 256, height: 1, data: new Uint8Array(768).map((_, i) => Math.floor(i / 3)) };
    const a = rgbToTensor(all, { toFloat: 'divide', mean: [0, 0, 0], std: [1, 1, 1] }).data;
    const b = rgbToTensor(all, { toFloat: 'multiply', mean: [0, 0, 0], std: [1, 1, 1] }).data;
    expect(a.some((v, i) => v !== b[i])).toBe(true);
  });

  it('RGBA input (ImageData default) drops alpha and matches the same RGB', () => {
    const rgba = uniform(40, 30, [10, 200, 90], 4);
    const rgb = uniform(40, 30, [10, 200, 90], 3);
    const plain = { width: rgba.width, height: rgba.height, data: new Uint8ClampedArray(rgba.data) }; // like ImageData
    expect(firstMismatch(preprocess(plain, 'timm').data, preprocess(rgb, 'timm').data)).toBe(-1);
  });
});

describe('preprocess: cifar', () => {
  it('a 32x32 CIFAR JPEG -> [1,3,32,32], pixel-for-pixel normalised (no resize)', async () => {
    const img = await decodeImageFile(new URL('cifar10-test/cat/0000.jpg', DATA).pathname);
    const t = preprocess(img, 'cifar');
    expect(t.shape).toEqual([1, 3, 32, 32]);
    // pixel (x=5, y=7), green channel
    const v = img.data[(7 * 32 + 5) * 3 + 1];
    expect(t.data[1 * 1024 + 7 * 32 + 5]).toBe(Math.fround(Math.fround(Math.fround(v / 255) - Math.fround(0.456)) / Math.fround(0.224)));
  });

  it('rejects other sizes, suggesting what to do', async () => {
    const img = await decodeImageFile(new URL('imagenet/kitten.jpg', DATA).pathname);
    expect(() => preprocess(img, 'cifar')).toThrow(/preset 'cifar' expects a 32x32 image .* got 720x720; resize the image to 32x32 first, or use an ImageNet preset/);
    expect(() => preprocess(uniform(32, 32, [1, 2, 3]), 'cifar', { size: 64 })).toThrow(/no size or resizeSize option/);
  });
});

describe('preprocess: validation', () => {
  it('unknown presets list the known ones', () => {
    expect(() => getPreset('imagenet')).toThrow(/unknown preprocessing preset 'imagenet'; expected one of: torchvision, torchvision-v2, timm, timm-rsb, paddleclas, cifar/);
    expect(listPresets()).toEqual(Object.keys(PRESETS));
  });

  it('image data of the wrong length names both sizes and hints at channels', () => {
    const bad = { width: 4, height: 4, data: new Uint8Array(48) }; // RGB bytes, channels defaulted to 4
    expect(() => toRgb(bad)).toThrow(/has 48 bytes but 4x4 with 4 channels needs 64 \(the length fits channels: 3/);
    expect(() => preprocess({ width: 0, height: 4, data: new Uint8Array(0) }, 'timm')).toThrow(/positive integer image width and height, got 0x4/);
    expect(() => preprocess(uniform(8, 8, [0, 0, 0]), 'timm', { size: 0 })).toThrow(/size must be a positive integer, got 0/);
    expect(() => preprocess(uniform(300, 300, [0, 0, 0]), 'torchvision', { resizeSize: 200 })).toThrow(/resizeSize 200 is smaller than the crop size 224/);
  });

  it('every preset names its source file', () => {
    for (const p of Object.values(PRESETS)) expect(p.source).toMatch(/\.(py|yaml)/);
  });

  it('the browser-safe image modules import nothing from node:', () => {
    const dir = new URL('../src/image/', import.meta.url);
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && n !== 'decode-node.ts')) {
      expect(readFileSync(new URL(f, dir), 'utf8'), f).not.toMatch(/from ['"]node:|require\(/);
    }
  });
});
