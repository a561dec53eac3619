import { readFileSync } from 'node:fs';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeImageFile, ImageDecodeError, sniffImageFormat } from '../src/image/decode-node.js';

const DATA = new URL('../../shared/data/', import.meta.url);
const file = (rel: string): Uint8Array => new Uint8Array(readFileSync(new URL(rel, DATA)));

describe('decodeImageFile on real JPEGs', () => {
  it.each([
    ['imagenet/kitten.jpg', 720, 720],
    ['imagenet/ILSVRC2012_val_00000010.jpeg', 500, 375],
    ['imagenet/ILSVRC2012_val_00000666.JPEG', 375, 500],
    ['imagenet/ILSVRC2012_val_00006666.JPEG', 500, 368],
    ['imagenet/ILSVRC2012_val_00030010.jpeg', 500, 333],
    ['cifar10-test/cat/0000.jpg', 32, 32],
  ])('%s is %ix%i RGB', async (rel, width, height) => {
    const img = await decodeImageFile(new URL(rel, DATA).pathname);
    expect(img).toMatchObject({ width, height, channels: 3, format: 'jpeg', decoder: 'jpeg-exact' });
    expect(img.data).toBeInstanceOf(Uint8Array);
    expect(img.data.length).toBe(width * height * 3);
    // A photo, not a blank frame: many distinct values and a mid-range mean.
    expect(new Set(img.data).size).toBeGreaterThan(100);
    const mean = img.data.reduce((a, v) => a + v, 0) / img.data.length;
    expect(mean).toBeGreaterThan(30);
    expect(mean).toBeLessThan(225);
  });

  it('the example CIFAR images decode to 32x32', async () => {
    for (const name of ['airplane', 'automobile', 'bird', 'cat', 'dog', 'ship']) {
      const img = await decodeImageFile(new URL(`../examples/cifar10/${name}-0000.jpg`, import.meta.url).pathname);
      expect([img.width, img.height, img.channels]).toEqual([32, 32, 3]);
    }
  });
});

/** A hand-made 16x8 greyscale baseline JPEG: two 8x8 blocks, DC only; the second block +1 level. */
function greyJpeg(): Uint8Array {
  const seg = (marker: number, body: number[]): number[] => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
  return Uint8Array.from([
    0xff, 0xd8, // SOI
    ...seg(0xdb, [0x00, ...Array<number>(64).fill(1)]), // DQT: table 0, all ones
    ...seg(0xc0, [8, 0, 8, 0, 16, 1, 1, 0x11, 0]), // SOF0: 8-bit, 8 rows, 16 columns, 1 component
    ...seg(0xc4, [0x00, 0, 2, ...Array<number>(14).fill(0), 0x00, 0x04]), // DC table: '00' -> 0, '01' -> 4 bits
    ...seg(0xc4, [0x10, 1, ...Array<number>(15).fill(0), 0x00]), // AC table: '0' -> EOB
    ...seg(0xda, [1, 1, 0x00, 0, 63, 0]), // SOS
    0x0c, 0x3f, // block 1: DC diff 0, EOB; block 2: DC diff +8 (-> +1 level), EOB; pad with 1s
    0xff, 0xd9, // EOI
  ]);
}

describe('decodeImage: formats and colour models', () => {
  it('greyscale JPEG becomes RGB with R = G = B', () => {
    const img = decodeImage(greyJpeg(), 'grey.jpg');
    expect([img.width, img.height, img.channels, img.decoder]).toEqual([16, 8, 3, 'jpeg-exact']);
    const px = (x: number, y: number): number[] => Array.from(img.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([128, 128, 128]);
    expect(px(7, 7)).toEqual([128, 128, 128]);
    expect(px(8, 0)).toEqual([129, 129, 129]);
    expect(px(15, 7)).toEqual([129, 129, 129]);
  });

  /** A hand-made 8x8 4-component baseline JPEG, every sample 128 (DC 0); Adobe transform 0 = CMYK, 2 = YCCK. */
  const cmykJpeg = (adobe: boolean, transform = 0): Uint8Array => {
    const seg = (marker: number, body: number[]): number[] => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
    return Uint8Array.from([
      0xff, 0xd8,
      ...(adobe ? seg(0xee, [0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, transform]) : []), // "Adobe"
      ...seg(0xdb, [0x00, ...Array<number>(64).fill(1)]),
      ...seg(0xc0, [8, 0, 8, 0, 8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]),
      ...seg(0xc4, [0x00, 1, ...Array<number>(15).fill(0), 0x00]),
      ...seg(0xc4, [0x10, 1, ...Array<number>(15).fill(0), 0x00]),
      ...seg(0xda, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]),
      0x00, // four blocks: DC diff 0, EOB each
      0xff, 0xd9,
    ]);
  };

  // Pillow 9.4 gives [64, 64, 64] for all three: CMYK is read inverted (127 each), then
  // cmyk2rgb: 128 - MULDIV255(127, 128) = 64; YCCK 128,128,128 -> RGB 128 -> C = 127 -> 128 - 64.
  it.each([
    ['CMYK with an Adobe marker', true, 0],
    ['CMYK without an Adobe marker', false, 0],
    ['YCCK (Adobe transform 2)', true, 2],
  ] as const)('%s becomes RGB as PIL converts it', (_name, adobe, transform) => {
    const img = decodeImage(cmykJpeg(adobe, transform), 'cmyk.jpg');
    expect([img.width, img.height, img.channels, img.decoder]).toEqual([8, 8, 3, 'jpeg-exact']);
    expect(Array.from(img.data.subarray(0, 6))).toEqual([64, 64, 64, 64, 64, 64]);
  });

  const png = (width: number, height: number, colorType: 0 | 2 | 6, rgba: number[]): Uint8Array => {
    const p = new pngjs.PNG({ width, height });
    p.data = Buffer.from(rgba);
    return new Uint8Array(pngjs.PNG.sync.write(p, { colorType, inputHasAlpha: true }));
  };

  it('opaque RGB PNG decodes exactly to 3 channels', () => {
    const rgba = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 255];
    const img = decodeImage(png(2, 2, 2, rgba));
    expect(img).toMatchObject({ width: 2, height: 2, channels: 3, format: 'png' });
    expect(Array.from(img.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
  });

  it('PNG with transparency keeps 4 channels', () => {
    const rgba = [255, 0, 0, 128, 0, 255, 0, 255];
    const img = decodeImage(png(2, 1, 6, rgba));
    expect(img.channels).toBe(4);
    expect(Array.from(img.data)).toEqual(rgba);
  });

  it('greyscale PNG becomes RGB with R = G = B', () => {
    const rgba = [7, 7, 7, 255, 200, 200, 200, 255];
    const img = decodeImage(png(2, 1, 0, rgba));
    expect(img.channels).toBe(3);
    expect(Array.from(img.data)).toEqual([7, 7, 7, 200, 200, 200]);
  });

  it('detects the format by magic bytes, not by name', () => {
    const img = decodeImage(file('imagenet/kitten.jpg'), 'kitten.png');
    expect(img.format).toBe('jpeg');
    expect(sniffImageFormat(Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]))).toBe('gif');
    expect(sniffImageFormat(Uint8Array.from([1, 2, 3]))).toBeNull();
  });
});

describe('decodeImage: bad input gets our errors', () => {
  const kitten = file('imagenet/kitten.jpg');

  it('truncated JPEG (half the file, and missing only the end marker)', () => {
    for (const cut of [Math.floor(kitten.length / 2), kitten.length - 2, 600]) {
      const f = (): unknown => decodeImage(kitten.subarray(0, cut), 'kitten.jpg');
      expect(f).toThrow(ImageDecodeError);
      expect(f).toThrow(/cannot decode JPEG 'kitten.jpg': .*(truncated|corrupt)/);
    }
  });

  it('corrupt JPEG scan data', () => {
    const bad = kitten.slice();
    bad.fill(0xff, 5000, 5100);
    expect(() => decodeImage(bad, 'bad.jpg')).toThrow(ImageDecodeError);
  });

  it('truncated and corrupt PNG', () => {
    const p = new pngjs.PNG({ width: 4, height: 4 });
    p.data = Buffer.alloc(64, 90);
    const good = new Uint8Array(pngjs.PNG.sync.write(p));
    expect(decodeImage(good).width).toBe(4);
    expect(() => decodeImage(good.subarray(0, good.length - 20), 'cut.png')).toThrow(/cannot decode PNG 'cut.png'/);
    const flipped = good.slice();
    flipped[40] ^= 0xff; // inside IDAT: CRC mismatch
    expect(() => decodeImage(flipped, 'crc.png')).toThrow(ImageDecodeError);
  });

  it('unknown formats name what was expected and what was found', () => {
    expect(() => decodeImage(Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0]), 'anim.gif')).toThrow(
      /cannot decode 'anim.gif': expected a JPEG \(FF D8 FF\) or PNG \(89 50 4E 47\) file, found a GIF file/,
    );
    expect(() => decodeImage(new TextEncoder().encode('hello world'), 'notes.txt')).toThrow(/found unknown data starting with bytes 68 65 6c 6c/);
    expect(() => decodeImage(new Uint8Array(0), 'empty.jpg')).toThrow(/empty \(0 bytes\)/);
  });

  it('a missing file is reported by its path', async () => {
    await expect(decodeImageFile('/nonexistent/x.jpg')).rejects.toThrow(/x\.jpg/);
  });
});
