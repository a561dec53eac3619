import { readFileSync } from 'node:fs';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeImageFile, ImageDecodeError, sniffImageFormat } from '../src/image/decode-node.js';
import * as core from '../src/image/index.js';
import { decodeJpegExact } from '../src/image/jpeg-baseline.js';
import { preprocess } from '../src/image/preprocess.js';

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
  it('greyscale JPEG becomes RGB with R = G = B', async () => {
    const img = await decodeImage(greyJpeg(), { name: 'grey.jpg' });
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
  ] as const)('%s becomes RGB as PIL converts it', async (_name, adobe, transform) => {
    const img = await decodeImage(cmykJpeg(adobe, transform), { name: 'cmyk.jpg' });
    expect([img.width, img.height, img.channels, img.decoder]).toEqual([8, 8, 3, 'jpeg-exact']);
    expect(Array.from(img.data.subarray(0, 6))).toEqual([64, 64, 64, 64, 64, 64]);
  });

  const png = (width: number, height: number, colorType: 0 | 2 | 6, rgba: number[]): Uint8Array => {
    const p = new pngjs.PNG({ width, height });
    p.data = Buffer.from(rgba);
    return new Uint8Array(pngjs.PNG.sync.write(p, { colorType, inputHasAlpha: true }));
  };

  it('opaque RGB PNG decodes exactly to 3 channels', async () => {
    const rgba = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 255];
    const img = await decodeImage(png(2, 2, 2, rgba));
    expect(img).toMatchObject({ width: 2, height: 2, channels: 3, format: 'png', decoder: 'png' });
    expect(Array.from(img.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
  });

  it('PNG with transparency keeps 4 channels', async () => {
    const rgba = [255, 0, 0, 128, 0, 255, 0, 255];
    const img = await decodeImage(png(2, 1, 6, rgba));
    expect(img.channels).toBe(4);
    expect(Array.from(img.data)).toEqual(rgba);
  });

  it('greyscale PNG becomes RGB with R = G = B', async () => {
    const rgba = [7, 7, 7, 255, 200, 200, 200, 255];
    const img = await decodeImage(png(2, 1, 0, rgba));
    expect(img.channels).toBe(3);
    expect(Array.from(img.data)).toEqual([7, 7, 7, 200, 200, 200]);
  });

  it('detects the format by magic bytes, not by name', async () => {
    const img = await decodeImage(file('imagenet/kitten.jpg'), { name: 'kitten.png' });
    expect(img.format).toBe('jpeg');
    expect(sniffImageFormat(Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]))).toBe('gif');
    expect(sniffImageFormat(Uint8Array.from([1, 2, 3]))).toBeNull();
  });
});

describe('decodeImage: bad input gets our errors', () => {
  const kitten = file('imagenet/kitten.jpg');

  it('truncated JPEG (half the file, and missing only the end marker)', async () => {
    for (const cut of [Math.floor(kitten.length / 2), kitten.length - 2, 600]) {
      const f = (): Promise<unknown> => decodeImage(kitten.subarray(0, cut), { name: 'kitten.jpg' });
      await expect(f()).rejects.toThrow(ImageDecodeError);
      await expect(f()).rejects.toThrow(/cannot decode JPEG 'kitten.jpg': .*(truncated|corrupt)/);
    }
  });

  it('corrupt JPEG scan data', async () => {
    const bad = kitten.slice();
    bad.fill(0xff, 5000, 5100);
    await expect(decodeImage(bad, { name: 'bad.jpg' })).rejects.toThrow(ImageDecodeError);
  });

  it('truncated and corrupt PNG', async () => {
    const p = new pngjs.PNG({ width: 4, height: 4 });
    p.data = Buffer.alloc(64, 90);
    const good = new Uint8Array(pngjs.PNG.sync.write(p));
    expect((await decodeImage(good)).width).toBe(4);
    await expect(decodeImage(good.subarray(0, good.length - 20), { name: 'cut.png' })).rejects.toThrow(/cannot decode PNG 'cut.png': chunk IDAT at byte 33 is truncated/);
    const flipped = good.slice();
    flipped[45] ^= 0xff; // inside IDAT data (the chunk starts at 33): CRC mismatch
    await expect(decodeImage(flipped, { name: 'crc.png' })).rejects.toThrow(/cannot decode PNG 'crc.png': chunk IDAT at byte 33 has CRC 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}/);
  });

  it('unknown formats name what was expected and what was found', async () => {
    for (const decode of [decodeImage, core.decodeImage]) {
      await expect(decode(Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0]), { name: 'anim.gif' })).rejects.toThrow(
        /cannot decode 'anim.gif': expected a JPEG \(FF D8 FF\) or PNG \(89 50 4E 47\) file, found a GIF file/,
      );
      await expect(decode(new TextEncoder().encode('hello world'), { name: 'notes.txt' })).rejects.toThrow(/found unknown data starting with bytes 68 65 6c 6c/);
      await expect(decode(new Uint8Array(0), { name: 'empty.jpg' })).rejects.toThrow(/cannot decode 'empty.jpg': it is empty \(0 bytes\)/);
      await expect(decode(new Uint8Array(0))).rejects.toThrow(/cannot decode image: it is empty \(0 bytes\)/);
    }
  });

  it('a missing file is reported by its path', async () => {
    await expect(decodeImageFile('/nonexistent/x.jpg')).rejects.toThrow(/x\.jpg/);
  });
});

/** A hand-made greyscale baseline JPEG of width x height, every block DC 0 (mid grey); only the header matters for the big ones. */
function flatGreyJpeg(width: number, height: number): Uint8Array {
  const seg = (marker: number, body: number[]): number[] => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  // Each block is DC code '00' (diff 0) then AC '0' (EOB): 3 zero bits; pad the last byte with 1s.
  const scan = new Uint8Array(Math.ceil((blocks * 3) / 8));
  const bits = blocks * 3;
  if (bits % 8 !== 0) scan[scan.length - 1] = (1 << (8 - (bits % 8))) - 1;
  return Uint8Array.from([
    0xff, 0xd8,
    ...seg(0xdb, [0x00, ...Array<number>(64).fill(1)]),
    ...seg(0xc0, [8, height >> 8, height & 255, width >> 8, width & 255, 1, 1, 0x11, 0]),
    ...seg(0xc4, [0x00, 0, 1, ...Array<number>(14).fill(0), 0x00]), // DC table: '00' -> 0
    ...seg(0xc4, [0x10, 1, ...Array<number>(15).fill(0), 0x00]), // AC table: '0' -> EOB
    ...seg(0xda, [1, 1, 0x00, 0, 63, 0]),
    ...scan,
    0xff, 0xd9,
  ]);
}

describe('JPEG in the core: channels, preprocess, the pixel limit', () => {
  const cat = new Uint8Array(readFileSync(new URL('../examples/cifar10/cat-0000.jpg', import.meta.url)));

  it('decodeJpegExact gives channels: 3, so preprocess takes its result as it is', () => {
    const img = decodeJpegExact(cat);
    expect(img.channels).toBe(3);
    const x = preprocess(decodeJpegExact(cat), 'cifar');
    expect(x.shape).toEqual([1, 3, 32, 32]);
  });

  it('the core decodeImage (every runtime) and the Node one agree on JPEG and PNG', async () => {
    const a = await core.decodeImage(cat, { name: 'cat.jpg' });
    const b = await decodeImage(cat, { name: 'cat.jpg' });
    expect(a).toMatchObject({ width: 32, height: 32, channels: 3, format: 'jpeg', decoder: 'jpeg-exact' });
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(core.ImageDecodeError).toBe(ImageDecodeError);
    expect(core.sniffImageFormat).toBe(sniffImageFormat);
  });

  it('a valid 1x40000 JPEG decodes; 60000x60000 is refused from its header by maxPixels, with no fallback decoder', async () => {
    const tall = await decodeImage(flatGreyJpeg(1, 40000), { name: 'tall.jpg' });
    expect([tall.width, tall.height, tall.channels, tall.decoder]).toEqual([1, 40000, 3, 'jpeg-exact']);
    expect(tall.data.every((v) => v === 128)).toBe(true);
    await expect(core.decodeImage(flatGreyJpeg(1, 40000), { maxPixels: 39999 })).rejects.toThrow(
      "cannot decode JPEG image: 1x40000 is 40000 pixels, over the limit of maxPixels = 39999",
    );
    const huge = flatGreyJpeg(64, 64);
    huge.set([60000 >> 8, 60000 & 255, 60000 >> 8, 60000 & 255], 2 + 69 + 5); // SOF0 height and width
    expect(() => decodeJpegExact(huge)).toThrow(RangeError);
    expect(() => decodeJpegExact(huge)).toThrow('60000x60000 is 3600000000 pixels, over the limit of maxPixels = 100000000');
    for (const decode of [decodeImage, core.decodeImage]) {
      await expect(decode(huge, { name: 'huge.jpg' })).rejects.toThrow(
        "cannot decode JPEG 'huge.jpg': 60000x60000 is 3600000000 pixels, over the limit of maxPixels = 100000000",
      );
    }
  });

  it('a JPEG the exact decoder refuses: the core says so, the Node decodeImage falls back to jpeg-js', async () => {
    const progressiveIncomplete = new Uint8Array(readFileSync(new URL('fixtures/image/jpeg/progressive-incomplete.jpg', import.meta.url)));
    await expect(core.decodeImage(progressiveIncomplete, { name: 'p.jpg' })).rejects.toThrow(
      /cannot decode JPEG 'p.jpg': a progressive file whose scans leave coefficients incomplete is not supported/,
    );
    expect((await decodeImage(progressiveIncomplete)).decoder).toBe('jpeg-js');
  });

  it('sampling factors over 4 are refused as corrupt (T.81 B.2.2), before the frame is allocated', async () => {
    const bad = flatGreyJpeg(16, 16);
    bad[2 + 69 + 4 + 7] = 0x55; // SOF0 component 1: H = V = 5
    await expect(core.decodeImage(bad)).rejects.toThrow('cannot decode JPEG image: JPEG component 1 has sampling factors 5x5, expected 1 to 4 each (corrupt file)');
  });

  it('maxPixels must be a positive number', async () => {
    await expect(core.decodeImage(cat, { maxPixels: -1 })).rejects.toThrow(/maxPixels must be a positive number, got -1/);
  });
});
