import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { centerCrop } from '../src/image/crop.js';
import type { RgbImage } from '../src/image/image.js';
import { preprocess, shorterSideSize } from '../src/image/preprocess.js';
import { PRESETS, type PresetName } from '../src/image/presets.js';
import { resizeCv2Linear } from '../src/image/resize-cv2.js';
import { resizePil } from '../src/image/resize-pil.js';

/** Grey image (R = G = B) from rows of values. */
function grey(rows: number[][]): RgbImage {
  const height = rows.length;
  const width = rows[0].length;
  const data = new Uint8Array(width * height * 3);
  rows.flat().forEach((v, i) => data.fill(v, i * 3, i * 3 + 3));
  return { width, height, data };
}

/** The R channel as rows. */
function rowsOf(img: RgbImage): number[][] {
  return Array.from({ length: img.height }, (_, y) => Array.from({ length: img.width }, (_, x) => img.data[(y * img.width + x) * 3]));
}

describe('resizePil (PIL Image.resize, 8-bit RGB)', () => {
  it('same size returns an equal copy', () => {
    const img = grey([[1, 2, 3], [4, 5, 6]]);
    for (const f of ['bilinear', 'bicubic'] as const) {
      const out = resizePil(img, 3, 2, f);
      expect(out.data).toEqual(img.data);
      expect(out.data).not.toBe(img.data);
    }
  });

  // Hand derivation (Resample.c): scale 2 -> support 2, output i centred at 2i + 1; taps at
  // distance 0.5 and 1.5 get triangle weights 0.75 and 0.25, i.e. [1, 3, 3, 1] / 8. At the
  // borders the outside tap is dropped and [3, 3, 1] / 7 renormalised. So PIL's antialiased
  // bilinear 2x reduction is NOT a box average.
  it('2x bilinear reduction is a [1,3,3,1]/8 triangle, renormalised to /7 at the borders', () => {
    const out = resizePil(grey([[0, 16, 32, 48, 64, 80, 96, 112]]), 4, 1, 'bilinear');
    // (3*0 + 3*16 + 32)/7 = 11.4 -> 11; (16 + 3*32 + 3*48 + 64)/8 = 40; 72; (80 + 3*96 + 3*112)/7 = 100.6 -> 101
    expect(rowsOf(out)).toEqual([[11, 40, 72, 101]]);
  });

  it('4x4 -> 2x2 bilinear rounds to uint8 between the passes', () => {
    const img = grey([
      [70, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    // horizontal: 3/7 * 70 = 30 (stored as uint8); vertical: 3/7 * 30 = 12.9 -> 13
    // (a box average would give 70 / 4 = 17.5 -> 18).
    expect(rowsOf(resizePil(img, 2, 2, 'bilinear'))).toEqual([
      [13, 0],
      [0, 0],
    ]);
    // 13: horizontal 3/7 * 13 = 5.57 -> 6, vertical 3/7 * 6 = 2.57 -> 3; without the uint8
    // intermediate it would be 13 * 9/49 = 2.39 -> 2.
    img.data.fill(13, 0, 3);
    expect(rowsOf(resizePil(img, 2, 2, 'bilinear'))[0][0]).toBe(3);
  });

  // Upscaling 2 -> 4: output centres at 0.25, 0.75, 1.25, 1.75; the filter is not stretched.
  it('2x bilinear upscale of [0, 255] is [0, 64, 191, 255]', () => {
    // centre 0.75: taps at 0.5 (w 0.75) and 1.5 (w 0.25): 63.75 -> 64. Centre 0.25: only tap 0 in range.
    expect(rowsOf(resizePil(grey([[0, 255]]), 4, 1, 'bilinear'))).toEqual([[0, 64, 191, 255]]);
  });

  it('2x bicubic (a = -0.5) upscale of [0, 255] is [0, 53, 202, 255]', () => {
    // centre 0.25: weights cubic(0.25) = 0.8671875, cubic(1.25) = -0.0703125 -> 255 * -0.088 < 0 -> 0.
    // centre 0.75: cubic(0.25), cubic(0.75) = 0.2265625, sum 1.09375 -> 255 * 0.2071 = 52.8 -> 53.
    expect(rowsOf(resizePil(grey([[0, 255]]), 4, 1, 'bicubic'))).toEqual([[0, 53, 202, 255]]);
  });

  it('keeps a constant image constant (weights renormalised), bilinear and bicubic, up and down', () => {
    const img = grey(Array.from({ length: 7 }, () => Array(9).fill(200)));
    for (const f of ['bilinear', 'bicubic'] as const) {
      for (const [w, h] of [[4, 3], [20, 17], [9, 2], [1, 1]]) {
        const out = resizePil(img, w, h, f);
        expect(out.data.every((v) => v === 200), `${f} ${w}x${h}`).toBe(true);
      }
    }
  });

  it('bicubic overshoot is clipped to [0, 255]', () => {
    const out = resizePil(grey([[0, 0, 255, 255]]), 9, 1, 'bicubic');
    const row = rowsOf(out)[0];
    expect(Math.min(...row)).toBe(0);
    expect(Math.max(...row)).toBe(255);
    expect(row.filter((v) => v === 0).length).toBeGreaterThan(1); // undershoot clipped, not wrapped
  });

  it('rejects a bad target size', () => {
    expect(() => resizePil(grey([[1]]), 0, 1, 'bilinear')).toThrow(/positive integers, got 0x1/);
  });
});

describe('resizeCv2Linear (cv2.resize INTER_LINEAR, 8-bit)', () => {
  it('2x reduction in one direction reads 2 pixels per output (no antialiasing)', () => {
    // f = (d + 0.5) * 2 - 0.5 = 0.5, 2.5: the mean of pixel pairs.
    expect(rowsOf(resizeCv2Linear(grey([[0, 100, 200, 50]]), 2, 1))).toEqual([[50, 125]]);
  });

  it('exact 2x2 reduction uses INTER_AREA: (a + b + c + d + 2) >> 2', () => {
    const img = grey([
      [0, 1, 10, 10],
      [1, 0, 20, 21],
    ]);
    // (0+1+1+0+2)>>2 = 1; (10+10+20+21+2)>>2 = 15
    expect(rowsOf(resizeCv2Linear(img, 2, 1))).toEqual([[1, 15]]);
  });

  it('upscaling clamps to the edge pixels (half-pixel centres, 11-bit weights)', () => {
    // f = (d + 0.5) / 2 - 0.5 = -0.25 (clamp -> p0), 0.25, 0.75, 1.25 (clamp -> p1)
    expect(rowsOf(resizeCv2Linear(grey([[0, 200]]), 4, 1))).toEqual([[0, 50, 150, 200]]);
  });

  it('same size returns an equal copy', () => {
    const img = grey([[9, 8], [7, 6]]);
    expect(resizeCv2Linear(img, 2, 2).data).toEqual(img.data);
  });
});

interface Fixture {
  images: { width: number; height: number; rgb: string }[];
  cases: { image: number; method: 'pil-bilinear' | 'pil-bicubic' | 'cv2-linear'; outWidth: number; outHeight: number; rgb: string }[];
  pipelines: { width: number; height: number; preset: PresetName; sum: number; probeIndices: number[]; probeValues: number[] }[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/image/resize-cases.json', import.meta.url), 'utf8')) as Fixture;
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

// The fixture comes from an independent numpy re-implementation (test/fixtures/image/
// gen_resize_fixtures.py), not from PIL or OpenCV, which are not installed here.
describe('resize against the independent numpy re-implementation', () => {
  it.each(fixture.cases.map((c) => [`${c.method} ${fixture.images[c.image].width}x${fixture.images[c.image].height} -> ${c.outWidth}x${c.outHeight}`, c] as const))(
    '%s',
    (_name, c) => {
      const im = fixture.images[c.image];
      const src: RgbImage = { width: im.width, height: im.height, data: bytes(im.rgb) };
      const out =
        c.method === 'cv2-linear'
          ? resizeCv2Linear(src, c.outWidth, c.outHeight)
          : resizePil(src, c.outWidth, c.outHeight, c.method === 'pil-bilinear' ? 'bilinear' : 'bicubic');
      expect([out.width, out.height]).toEqual([c.outWidth, c.outHeight]);
      expect(Array.from(out.data)).toEqual(Array.from(bytes(c.rgb)));
    },
  );
});

/** Same formula as `pattern` in gen_resize_fixtures.py. */
function pattern(width: number, height: number): { width: number; height: number; data: Uint8Array; channels: 3 } {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = (x * 7 + y * 13 + c * 50 + ((x * y) % 17) * 9) % 256;
    }
  }
  return { width, height, data, channels: 3 };
}

describe('whole presets against the independent numpy pipeline', () => {
  it.each(fixture.pipelines.map((p) => [`${p.preset} ${p.width}x${p.height}`, p] as const))('%s', (_name, p) => {
    const t = preprocess(pattern(p.width, p.height), p.preset);
    expect(t.shape).toEqual([1, 3, 224, 224]);
    expect(p.probeIndices.map((i) => t.data[i])).toEqual(p.probeValues.map((v) => Math.fround(v)));
    let sum = 0;
    for (const v of t.data) sum += v;
    expect(sum).toBeCloseTo(p.sum, 6);
  });
});

describe('output sizes', () => {
  it('torchvision truncates the long side, PaddleClas rounds it (half to even)', () => {
    expect(shorterSideSize(500, 375, 256, 'trunc')).toEqual([341, 256]);
    expect(shorterSideSize(375, 500, 256, 'trunc')).toEqual([256, 341]);
    // 256 * 500 / 368 = 347.83
    expect(shorterSideSize(500, 368, 256, 'trunc')).toEqual([347, 256]);
    expect(shorterSideSize(500, 368, 256, 'round')).toEqual([348, 256]);
    // square, and already the right size
    expect(shorterSideSize(720, 720, 232, 'trunc')).toEqual([232, 232]);
    expect(shorterSideSize(256, 300, 256, 'round')).toEqual([256, 300]);
  });

  it('timm crop_pct gives floor(size / crop_pct)', () => {
    const t = preprocess(pattern(300, 240), PRESETS['timm-rsb'], { size: 256 });
    expect(t.shape).toEqual([1, 3, 256, 256]); // resize to floor(256 / 0.95) = 269, crop 256
  });

  it('center crop offsets: torchvision round-half-even, PaddleClas floor', () => {
    const row = (w: number): RgbImage => grey([Array.from({ length: w }, (_, i) => i)]);
    // (257 - 224) / 2 = 16.5 -> round-half-even 16; (259 - 224) / 2 = 17.5 -> 18
    expect(centerCrop(row(257), 224, 1, 'round').data[0]).toBe(16);
    expect(centerCrop(row(259), 224, 1, 'round').data[0]).toBe(18);
    expect(centerCrop(row(259), 224, 1, 'floor').data[0]).toBe(17);
    expect(() => centerCrop(row(100), 224, 1, 'round')).toThrow(/larger than the 100x1 image/);
  });
});
