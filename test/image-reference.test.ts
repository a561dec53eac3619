import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeImageFile, ImageDecodeError } from '../src/image/decode-node.js';
import { centerCrop } from '../src/image/crop.js';
import type { RgbImage } from '../src/image/image.js';
import { resizeShorterSide, resizeTarget } from '../src/image/preprocess.js';
import { PRESETS, type PresetName } from '../src/image/presets.js';

// Outputs of the real libraries (Pillow 9.4 / libjpeg-turbo 2.1.5, OpenCV 4.6), written by
// test/fixtures/image/gen_reference_fixtures.py. Digests of the resized + cropped uint8 images.
interface Reference {
  libraries: Record<string, string>;
  cases: { image: 'pattern' | 'noise'; width: number; height: number; preset: PresetName; resized: [number, number]; sha256: string }[];
  jpeg: { file: string; pilRgb: string; torchvisionSha256: string; paddleclasSha256: string };
  jpegFiles: Record<string, { width: number; height: number; cjpeg: string; pilSha256?: string }>;
  sharedJpegs: Record<string, string>;
}
const ref = JSON.parse(readFileSync(new URL('./fixtures/image/reference-outputs.json', import.meta.url), 'utf8')) as Reference;

/** Same formulas as `pattern` / `noise` in gen_reference_fixtures.py. */
function source(kind: 'pattern' | 'noise', width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    if (kind === 'noise') {
      data[i] = Math.imul(i, 2654435761) >>> 24; // low 32 bits of the product, top byte
    } else {
      const c = i % 3;
      const x = Math.floor(i / 3) % width;
      const y = Math.floor(i / 3 / width);
      data[i] = (x * 7 + y * 13 + c * 50 + ((x * y) % 17) * 9) % 256;
    }
  }
  return { width, height, data };
}

const sha256 = (img: RgbImage): string => createHash('sha256').update(img.data).digest('hex');

/** The uint8 image the preset feeds to normalisation. */
function resizedAndCropped(img: RgbImage, name: PresetName): { resized: [number, number]; crop: RgbImage } {
  const p = PRESETS[name];
  if (p.resize === null) throw new Error(`${name} has no resize`);
  const resized = resizeShorterSide(img, resizeTarget(p.resize, p, p.cropSize), p.resize);
  return { resized: [resized.width, resized.height], crop: centerCrop(resized, p.cropSize, p.cropSize, p.cropOffset) };
}

describe(`resize + crop bit-exact with ${Object.entries(ref.libraries).map(([k, v]) => `${k} ${v}`).join(', ')}`, () => {
  it.each(ref.cases.map((c) => [`${c.preset} on ${c.image} ${c.width}x${c.height}`, c] as const))('%s', (_name, c) => {
    const { resized, crop } = resizedAndCropped(source(c.image, c.width, c.height), c.preset);
    expect(resized).toEqual(c.resized);
    expect(sha256(crop)).toBe(c.sha256);
  });

  it('a real CIFAR JPEG, as libjpeg-turbo decodes it, through torchvision and paddleclas', () => {
    const pil: RgbImage = { width: 32, height: 32, data: new Uint8Array(Buffer.from(ref.jpeg.pilRgb, 'base64')) };
    expect(sha256(resizedAndCropped(pil, 'torchvision').crop)).toBe(ref.jpeg.torchvisionSha256);
    expect(sha256(resizedAndCropped(pil, 'paddleclas').crop)).toBe(ref.jpeg.paddleclasSha256);
  });
});

const EXACT_UNSUPPORTED = new Set(['progressive-incomplete', 'arithmetic']);

describe(`JPEG decoding bit-exact with Pillow ${ref.libraries.Pillow} / libjpeg-turbo ${ref.libraries['libjpeg-turbo']}`, () => {
  const fixtureFile = (name: string): string => new URL(`./fixtures/image/jpeg/${name}.jpg`, import.meta.url).pathname;
  const supported = Object.entries(ref.jpegFiles).filter(([name]) => !EXACT_UNSUPPORTED.has(name));

  it.each(supported.map(([name, f]) => [`${name} (${f.width}x${f.height}, cjpeg ${f.cjpeg})`, name, f] as const))('%s', async (_t, name, f) => {
    const img = await decodeImageFile(fixtureFile(name));
    expect([img.width, img.height, img.decoder]).toEqual([f.width, f.height, 'jpeg-exact']);
    expect(sha256(img)).toBe(f.pilSha256);
  });

  it.each(Object.entries(ref.sharedJpegs).map(([rel, sha]) => [rel, sha] as const))('shared/data/%s', async (rel, sha) => {
    const img = await decodeImageFile(new URL(`../../shared/data/${rel}`, import.meta.url).pathname);
    expect(img.decoder).toBe('jpeg-exact');
    expect(sha256(img)).toBe(sha);
  });

  it('a progressive file with incomplete coefficients (libjpeg would smooth it) falls back to jpeg-js', async () => {
    const f = ref.jpegFiles['progressive-incomplete'];
    const img = await decodeImageFile(fixtureFile('progressive-incomplete'));
    expect([img.width, img.height, img.decoder]).toEqual([f.width, f.height, 'jpeg-js']);
    expect(sha256(img)).not.toBe(f.pilSha256);
  });

  it('arithmetic coding is rejected by both decoders, with the reason', async () => {
    await expect(decodeImageFile(fixtureFile('arithmetic'))).rejects.toThrow(ImageDecodeError);
    await expect(decodeImageFile(fixtureFile('arithmetic'))).rejects.toThrow(/SOF9 .*arithmetic coding\) is not supported/);
  });
});
