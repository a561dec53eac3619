/**
 * png.ts against two oracles:
 * - the samples a file was made from: `encodePng` below (written here from the spec, sharing no code
 *   with png.ts) packs, filters and Adam7-interlaces chosen sample values, and `expectedPixels` says
 *   what they must decode to (the rules in png.ts' file comment);
 * - pngjs 7's reader (a devDependency only), which must read every file the same way, so that a
 *   mistake shared by our encoder and our decoder (a filter, the pass table) cannot go unnoticed.
 * Files written by pngjs' own encoder (adaptive filters) are decoded too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import pngjs from 'pngjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeImage, ImageDecodeError } from '../src/image/decode.js';
import { decodePng } from '../src/image/png.js';
import { concatBytes as concat, pngChunk as chunk, PNG_SIGNATURE as SIGNATURE, u32 } from './helpers/png-bytes.js';

type ColourType = 0 | 2 | 3 | 4 | 6;
const SAMPLES: Record<ColourType, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<ColourType, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

interface PngSpec {
  width: number;
  height: number;
  colourType: ColourType;
  depth: number;
  interlace?: boolean;
  /** Raw sample values, row-major, SAMPLES[colourType] per pixel (palette indices for type 3). */
  samples: Uint16Array;
  /** Type 3: RGB triples. */
  palette?: number[];
  /** Type 3: alpha per entry; types 0 / 2: the transparent sample value(s). */
  trns?: number[];
  /** Filter type per scanline (its index within its pass); default 0 (None). */
  filter?: (row: number, pass: number) => number;
  /** IDAT chunk size in bytes; default one chunk. */
  idatSize?: number;
}


function ihdr(width: number, height: number, depth: number, colourType: number, interlace = 0): Uint8Array {
  return chunk('IHDR', [...u32(width), ...u32(height), depth, colourType, 0, 0, interlace]);
}

/** The Adam7 grid (PNG spec 8.2, Figure 8.3): per pass, first column, first row, column step, row step. */
const ADAM7_GRID = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Scanlines (filter byte + filtered bytes) for `spec`, ready to deflate. */
function scanlines(spec: PngSpec): Uint8Array {
  const spp = SAMPLES[spec.colourType];
  const bitsPerPixel = spp * spec.depth;
  const bpp = Math.max(1, bitsPerPixel / 8);
  const grid = spec.interlace ? ADAM7_GRID : [[0, 0, 1, 1]];
  const out: Uint8Array[] = [];
  grid.forEach(([x0, y0, dx, dy], pass) => {
    const xs: number[] = [];
    for (let x = x0; x < spec.width; x += dx) xs.push(x);
    let prior: number[] | null = null;
    let row = 0;
    for (let y = y0; y < spec.height && xs.length > 0; y += dy, row++) {
      // Pack the row's samples, most significant bits first.
      const bytes = new Array<number>(Math.ceil((xs.length * bitsPerPixel) / 8)).fill(0);
      let bit = 0;
      for (const x of xs) {
        for (let s = 0; s < spp; s++) {
          const v = spec.samples[(y * spec.width + x) * spp + s];
          if (spec.depth === 16) {
            bytes[bit / 8] = v >> 8;
            bytes[bit / 8 + 1] = v & 255;
          } else {
            bytes[bit >> 3] |= v << (8 - spec.depth - (bit & 7));
          }
          bit += spec.depth;
        }
      }
      const type = spec.filter?.(row, pass) ?? 0;
      const up = prior ?? new Array<number>(bytes.length).fill(0);
      const filtered = bytes.map((raw, i) => {
        const a = i >= bpp ? bytes[i - bpp] : 0;
        const b = up[i];
        const c = i >= bpp ? up[i - bpp] : 0;
        const predictor = [0, a, b, Math.floor((a + b) / 2), paethPredictor(a, b, c)][type];
        return (raw - predictor + 256) & 255;
      });
      out.push(Uint8Array.from([type, ...filtered]));
      prior = bytes;
    }
  });
  return concat(...out);
}

/** PNG spec 9.4, as written there. */
function paethPredictor(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

function encodePng(spec: PngSpec): Uint8Array {
  const parts = [SIGNATURE, ihdr(spec.width, spec.height, spec.depth, spec.colourType, spec.interlace ? 1 : 0)];
  if (spec.palette) parts.push(chunk('PLTE', spec.palette));
  if (spec.trns) parts.push(chunk('tRNS', spec.colourType === 3 ? spec.trns : spec.trns.flatMap((v) => [v >> 8, v & 255])));
  parts.push(chunk('tEXt', Array.from('Comment\0made by image-png.test.ts', (c) => c.charCodeAt(0))));
  const z = deflateSync(scanlines(spec));
  const size = spec.idatSize ?? z.length;
  for (let p = 0; p < z.length; p += size) parts.push(chunk('IDAT', z.subarray(p, p + size)));
  parts.push(chunk('IEND', []));
  return concat(...parts);
}

/** What `spec`'s samples must decode to, as RGBA per pixel (the rules in png.ts' file comment). */
function expectedPixels(spec: PngSpec): number[][] {
  const spp = SAMPLES[spec.colourType];
  const to8 = (v: number): number => (spec.depth === 16 ? v >> 8 : spec.depth < 8 && spec.colourType === 0 ? (v * 255) / (2 ** spec.depth - 1) : v);
  const pixels: number[][] = [];
  for (let i = 0; i < spec.width * spec.height; i++) {
    const s = Array.from(spec.samples.subarray(i * spp, i * spp + spp));
    const key = spec.trns;
    switch (spec.colourType) {
      case 0:
        pixels.push([to8(s[0]), to8(s[0]), to8(s[0]), key && s[0] === key[0] ? 0 : 255]);
        break;
      case 2:
        pixels.push([...s.map(to8), key && s.every((v, c) => v === key[c]) ? 0 : 255]);
        break;
      case 3: {
        const pal = spec.palette as number[];
        pixels.push([pal[3 * s[0]], pal[3 * s[0] + 1], pal[3 * s[0] + 2], spec.trns?.[s[0]] ?? 255]);
        break;
      }
      case 4:
        pixels.push([to8(s[0]), to8(s[0]), to8(s[0]), to8(s[1])]);
        break;
      case 6:
        pixels.push(s.map(to8));
        break;
    }
  }
  return pixels;
}

/** The decoded image as RGBA per pixel (alpha 255 when it came back as RGB). */
function pixelsOf(img: { width: number; height: number; data: Uint8Array; channels: number }): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < img.width * img.height; i++) {
    const p = Array.from(img.data.subarray(i * img.channels, (i + 1) * img.channels));
    out.push(img.channels === 4 ? p : [...p, 255]);
  }
  return out;
}

/** pngjs' reading of the file, mapped to our 8-bit rules; its tRNS hits come back as 0,0,0,0, so they compare by alpha only. */
function pngjsPixels(file: Uint8Array, spec: PngSpec): number[][] {
  const png = pngjs.PNG.sync.read(Buffer.from(file), { skipRescale: true });
  const raw = png.data as unknown as ArrayLike<number>;
  const to8 = (v: number): number => (spec.depth === 16 ? v >> 8 : spec.depth < 8 && spec.colourType !== 3 ? (v * 255) / (2 ** spec.depth - 1) : v);
  const out: number[][] = [];
  for (let i = 0; i < spec.width * spec.height; i++) out.push([0, 1, 2, 3].map((c) => to8(raw[i * 4 + c])));
  return out;
}

/** Deterministic samples: a xorshift stream, so failures reproduce. */
function randomSamples(n: number, depth: number, seed: number, max = 2 ** depth - 1): Uint16Array {
  let x = seed * 2654435761 || 1;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % (max + 1);
  }
  return out;
}

function makeSpec(colourType: ColourType, depth: number, width: number, height: number, interlace: boolean, seed: number): PngSpec {
  const spp = SAMPLES[colourType];
  const spec: PngSpec = { width, height, colourType, depth, interlace, samples: randomSamples(width * height * spp, depth, seed) };
  if (colourType === 3) {
    const entries = 2 ** depth;
    spec.palette = Array.from(randomSamples(entries * 3, 8, seed + 1));
  }
  return spec;
}

async function checkBoth(spec: PngSpec): Promise<void> {
  const file = encodePng(spec);
  const img = await decodePng(file);
  const expected = expectedPixels(spec);
  expect([img.width, img.height]).toEqual([spec.width, spec.height]);
  expect(img.data.length).toBe(spec.width * spec.height * img.channels);
  expect(img.channels).toBe(expected.some((p) => p[3] !== 255) ? 4 : 3);
  expect(pixelsOf(img)).toEqual(expected);
  const oracle = pngjsPixels(file, spec);
  expect(oracle.map((p, i) => (p[3] === 0 && expected[i][3] === 0 ? expected[i] : p))).toEqual(expected);
}

const SIZES: [number, number][] = [
  [1, 1],
  [3, 2],
  [5, 7],
  [9, 9],
  [17, 13],
  [33, 3],
];

const CASES = ([0, 2, 3, 4, 6] as ColourType[]).flatMap((ct) => DEPTHS[ct].flatMap((depth) => [false, true].map((interlace) => [ct, depth, interlace] as const)));

describe('decodePng: every colour type x bit depth x interlace, against the source samples and pngjs', () => {
  it.each(CASES)('colour type %i, %i-bit, interlaced %s, sizes 1x1 to 33x3, all filters', async (ct, depth, interlace) => {
    for (const [i, [w, h]] of SIZES.entries()) {
      const spec = makeSpec(ct, depth, w, h, interlace, 1000 * ct + 10 * depth + i);
      spec.filter = (row, pass) => (row + pass + i) % 5;
      await checkBoth(spec);
    }
  });
});

describe('decodePng: filters', () => {
  it.each([
    [0, 'None'],
    [1, 'Sub'],
    [2, 'Up'],
    [3, 'Average'],
    [4, 'Paeth'],
  ])('filter %i (%s) on every row, 1-bit grey, 8-bit RGB, 16-bit RGBA, 8-bit palette', async (type) => {
    for (const [ct, depth] of [[0, 1], [2, 8], [6, 16], [3, 8]] as const) {
      for (const interlace of [false, true]) {
        const spec = makeSpec(ct, depth, 23, 11, interlace, 7 + type);
        spec.filter = () => type;
        await checkBoth(spec);
      }
    }
  });

  it("pngjs' own encoder (adaptive filters) at 8 and 16 bits, colour types 0, 2, 4, 6", async () => {
    for (const colorType of [0, 2, 4, 6] as const) {
      for (const bitDepth of [8, 16] as const) {
        const width = 37;
        const height = 19;
        const max = bitDepth === 16 ? 65535 : 255;
        const grey = colorType === 0 || colorType === 4;
        // Smooth gradients plus noise, so that the adaptive choice uses several filter types.
        const noise = randomSamples(width * height * 4, 16, colorType + bitDepth, 40);
        const rgba = new Uint16Array(width * height * 4);
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const i = (y * width + x) * 4;
            const g = Math.min(max, Math.round(((x * 7 + y * 3) / 200) * max) + noise[i]);
            rgba.set([g, grey ? g : Math.min(max, (y * max) / height + noise[i + 1]) | 0, grey ? g : (x * max) / width | 0, colorType >= 4 ? max - noise[i + 3] * (bitDepth === 16 ? 100 : 5) : max], i);
          }
        }
        const input = bitDepth === 16 ? Buffer.from(rgba.buffer) : Buffer.from(Uint8Array.from(rgba));
        const file = new Uint8Array(pngjs.PNG.sync.write({ width, height, data: input } as pngjs.PNG, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true }));
        const img = await decodePng(file, { name: `pngjs-${colorType}-${bitDepth}.png` });
        const shift = bitDepth === 16 ? 8 : 0;
        const expected = Array.from({ length: width * height }, (_, i) => Array.from(rgba.subarray(i * 4, i * 4 + 4), (v) => v >> shift));
        expect(pixelsOf(img), `colour type ${colorType}, ${bitDepth}-bit`).toEqual(expected);
        expect(img.channels).toBe(colorType >= 4 ? 4 : 3);
      }
    }
  });
});

describe('decodePng: transparency and channels', () => {
  it.each([1, 2, 4, 8, 16])('greyscale %i-bit with a tRNS grey value: hits get alpha 0, colour kept', async (depth) => {
    const spec = makeSpec(0, depth, 13, 5, false, depth);
    spec.trns = [spec.samples[3]];
    await checkBoth(spec);
    expect((await decodePng(encodePng(spec))).channels).toBe(4);
  });

  it.each([8, 16])('RGB %i-bit with a tRNS colour', async (depth) => {
    const spec = makeSpec(2, depth, 6, 4, true, depth);
    spec.trns = Array.from(spec.samples.subarray(9, 12));
    await checkBoth(spec);
  });

  it('16-bit tRNS compares all 16 bits: a key differing in the low byte only is no hit', async () => {
    const samples = Uint16Array.from([0x1234, 0x1235]);
    const img = await decodePng(encodePng({ width: 2, height: 1, colourType: 0, depth: 16, samples, trns: [0x1235] }));
    expect(Array.from(img.data)).toEqual([0x12, 0x12, 0x12, 255, 0x12, 0x12, 0x12, 0]);
  });

  it('a tRNS key that no pixel has leaves the image RGB', async () => {
    const spec = makeSpec(2, 8, 4, 4, false, 3);
    spec.trns = [1, 2, 3];
    spec.samples.fill(9);
    expect((await decodePng(encodePng(spec))).channels).toBe(3);
  });

  it('palette tRNS shorter than the palette: the entries after it are opaque', async () => {
    const spec = makeSpec(3, 4, 11, 7, true, 5);
    spec.trns = [0, 128, 255, 7];
    await checkBoth(spec);
  });

  it('palette tRNS of all 255, and RGBA / grey+alpha with every alpha 255 (16-bit: high byte 255), come back RGB', async () => {
    const pal = makeSpec(3, 2, 5, 5, false, 1);
    pal.trns = [255, 255, 255, 255];
    expect((await decodePng(encodePng(pal))).channels).toBe(3);
    const rgba = makeSpec(6, 16, 5, 5, false, 2);
    for (let i = 3; i < rgba.samples.length; i += 4) rgba.samples[i] = 0xff00 + (i & 255);
    await checkBoth(rgba);
    expect((await decodePng(encodePng(rgba))).channels).toBe(3);
    rgba.samples[7] = 0xfeff;
    expect((await decodePng(encodePng(rgba))).channels).toBe(4);
    const ga = makeSpec(4, 8, 5, 5, true, 3);
    for (let i = 1; i < ga.samples.length; i += 2) ga.samples[i] = 255;
    await checkBoth(ga);
  });
});

describe('decodePng: chunk layout', () => {
  it('image data split over many IDAT chunks (1 and 7 bytes each), and an empty IDAT among them', async () => {
    for (const idatSize of [1, 7]) {
      const spec = makeSpec(6, 8, 9, 9, true, idatSize);
      spec.idatSize = idatSize;
      spec.filter = (row) => row % 5;
      await checkBoth(spec);
    }
    const spec = makeSpec(2, 8, 4, 3, false, 9);
    const z = deflateSync(scanlines(spec));
    const file = Uint8Array.from([
      ...SIGNATURE, ...ihdr(4, 3, 8, 2), ...chunk('IDAT', z.subarray(0, 5)), ...chunk('IDAT', []), ...chunk('IDAT', z.subarray(5)), ...chunk('IEND', []),
    ]);
    expect(pixelsOf(await decodePng(file))).toEqual(expectedPixels(spec));
  });

  it('ancillary chunks are skipped, bytes after IEND ignored', async () => {
    const spec = makeSpec(0, 8, 3, 3, false, 4);
    const z = deflateSync(scanlines(spec));
    const file = Uint8Array.from([
      ...SIGNATURE, ...ihdr(3, 3, 8, 0), ...chunk('gAMA', u32(45455)), ...chunk('IDAT', z), ...chunk('zzZz', [1, 2]), ...chunk('IEND', []), 1, 2, 3,
    ]);
    expect(pixelsOf(await decodePng(file))).toEqual(expectedPixels(spec));
  });

  it('a larger image (600x400 RGB; 16-bit RGBA interlaced), inflated in many stream chunks, decodes like pngjs', async () => {
    for (const [ct, depth, interlace] of [[2, 8, false], [6, 16, true]] as const) {
      const spec = makeSpec(ct, depth, 600, 400, interlace, 11);
      spec.filter = (row) => row % 5;
      const file = encodePng(spec);
      const img = await decodePng(file);
      const oracle = pngjsPixels(file, spec).flat();
      expect(Buffer.from(img.channels === 4 ? img.data : Uint8Array.from(pixelsOf(img).flat())).equals(Buffer.from(oracle))).toBe(true);
    }
  });
});

describe('decodePng: PngSuite (libpng contrib/pngsuite, test/fixtures/image/png/pngsuite/SOURCE.md)', () => {
  const dir = new URL('fixtures/image/png/pngsuite/', import.meta.url);
  const names = [
    ...readdirSync(dir).filter((n) => n.endsWith('.png')),
    ...readdirSync(new URL('interlaced/', dir)).map((n) => `interlaced/${n}`),
  ];

  it('has the 60 files', () => {
    expect(names.length).toBe(60);
  });

  it.each(names)('%s decodes like pngjs', async (name) => {
    const file = new Uint8Array(readFileSync(new URL(name, dir)));
    const img = await decodePng(file, { name });
    const png = pngjs.PNG.sync.read(Buffer.from(file), { skipRescale: true });
    const spec = { width: png.width, height: png.height, colourType: png.colorType as ColourType, depth: png.depth, samples: new Uint16Array(0) };
    const oracle = pngjsPixels(file, spec);
    const ours = pixelsOf(img);
    // pngjs zeroes the colour of tRNS hits; there only alpha compares.
    expect(ours.map((p, i) => (p[3] === 0 && oracle[i][3] === 0 ? oracle[i] : p))).toEqual(oracle);
    // The names say it: 4a / 6a have an alpha channel, ftb* and ftp1* a tRNS that some pixel hits.
    expect(img.channels).toBe(/^(interlaced\/)?i?(basn[46]a|ftb|ftp1)/.test(name) ? 4 : 3);
  });

  it('random damage behind valid CRCs (10 cases per file) gives an image or an ImageDecodeError, nothing else', async () => {
    let failures = 0;
    for (const [k, name] of names.entries()) {
      const good = new Uint8Array(readFileSync(new URL(name, dir)));
      const starts = chunkStarts(good);
      const rnd = randomSamples(40, 16, k + 1, 65535);
      for (let t = 0; t < 10; t++) {
        const bad = good.slice();
        const [start, type] = starts[rnd[t * 4] % starts.length];
        const view = new DataView(bad.buffer);
        const length = view.getUint32(start);
        if (length === 0) continue;
        bad[start + 8 + (rnd[t * 4 + 1] % length)] ^= 1 + (rnd[t * 4 + 2] % 255);
        view.setUint32(start + 8 + length, crc32(bad.subarray(start + 4, start + 8 + length)));
        try {
          await decodePng(bad, { name: `${name} damaged in ${type}` });
        } catch (e) {
          expect(e, `${name} damaged in ${type}: ${String(e)}`).toBeInstanceOf(ImageDecodeError);
          failures++;
        }
      }
    }
    expect(failures).toBeGreaterThan(100);
  });
});

// ---- Hostile and broken files ----

const small = (): { spec: PngSpec; file: Uint8Array } => {
  const spec = makeSpec(3, 2, 6, 4, false, 21);
  spec.trns = [0, 255];
  return { spec, file: encodePng(spec) };
};

/** Byte offsets where each chunk starts, with its type. */
function chunkStarts(file: Uint8Array): [number, string][] {
  const out: [number, string][] = [];
  for (let p = 8; p < file.length; ) {
    const len = new DataView(file.buffer, file.byteOffset).getUint32(p);
    out.push([p, String.fromCharCode(...file.subarray(p + 4, p + 8))]);
    p += 12 + len;
  }
  return out;
}

describe('decodePng: broken files get ImageDecodeError naming what was expected and found', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('truncated at every byte, chunk boundaries included', async () => {
    const { file } = small();
    for (let cut = 0; cut < file.length; cut++) {
      await expect(decodePng(file.subarray(0, cut), { name: 'cut.png' }), `cut at ${cut}`).rejects.toThrow(ImageDecodeError);
    }
    for (const [start, type] of chunkStarts(file)) {
      const cut = file.subarray(0, start);
      const f = decodePng(cut, { name: 'cut.png' });
      await expect(f, `cut before ${type}`).rejects.toThrow(`cannot decode PNG 'cut.png': expected a chunk header (8 bytes) at byte ${start}, found the end of the file: the file is truncated (no IEND chunk)`);
      await expect(decodePng(file.subarray(0, start + 10)), `cut inside ${type}`).rejects.toThrow(new RegExp(`chunk ${type} at byte ${start} is truncated: expected \\d+ data bytes and a 4-byte CRC, found 2 bytes`));
    }
    await expect(decodePng(file.subarray(0, 5))).rejects.toThrow(/expected the PNG signature 89 50 4e 47 0d 0a 1a 0a, found 89 50 4e 47 0d/);
  });

  it('a bad CRC names the chunk and both values', async () => {
    const { file } = small();
    for (const [start, type] of chunkStarts(file)) {
      const bad = file.slice();
      bad[start + 7 + (type === 'IEND' ? 1 : 2)] ^= 0x10; // in the data, or IEND's CRC
      await expect(decodePng(bad), type).rejects.toThrow(new RegExp(`chunk ${type} at byte ${start} has CRC 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}`));
    }
  });

  it('30000x30000 in 69 bytes is refused by maxPixels before anything is inflated', async () => {
    const inflaters = vi.fn();
    const Real = globalThis.DecompressionStream;
    vi.stubGlobal('DecompressionStream', class extends Real {
      constructor(format: CompressionFormat) {
        super(format);
        inflaters();
      }
    });
    const file = concat(SIGNATURE, ihdr(30000, 30000, 8, 2), chunk('IDAT', deflateSync(new Uint8Array(4))), chunk('IEND', []));
    expect(file.length).toBe(69);
    await expect(decodePng(file, { name: 'huge.png' })).rejects.toThrow("cannot decode PNG 'huge.png': 30000x30000 is 900000000 pixels, over the limit of maxPixels = 100000000");
    await expect(decodeImage(file)).rejects.toThrow(/30000x30000 is 900000000 pixels, over the limit of maxPixels = 100000000/);
    expect(inflaters).not.toHaveBeenCalled();
    // The limit is the caller's: 10x10 passes maxPixels 100 and fails 99.
    const ten = encodePng(makeSpec(0, 8, 10, 10, false, 1));
    expect((await decodePng(ten, { maxPixels: 100 })).width).toBe(10);
    await expect(decodePng(ten, { maxPixels: 99 })).rejects.toThrow(/10x10 is 100 pixels, over the limit of maxPixels = 99/);
    expect(inflaters).toHaveBeenCalledTimes(1);
    await expect(decodePng(ten, { maxPixels: 0 })).rejects.toThrow(/maxPixels must be a positive number, got 0/);
  });

  it('a zlib bomb (IDAT inflating to 50 MB for a 1000x1000 greyscale image) is stopped at the expected size', async () => {
    // Count what leaves the inflater: reading must stop soon after the 1,001,000 bytes IHDR implies.
    let inflated = 0;
    const Real = globalThis.DecompressionStream;
    vi.stubGlobal('DecompressionStream', class extends Real {
      readonly counted = super.readable.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, out) {
            inflated += chunk.length;
            out.enqueue(chunk);
          },
        }),
      );
      override get readable(): ReadableStream<Uint8Array> {
        return this.counted;
      }
    });
    const z = deflateSync(new Uint8Array(50e6));
    const file = concat(SIGNATURE, ihdr(1000, 1000, 8, 0), chunk('IDAT', z), chunk('IEND', []));
    await expect(decodePng(file)).rejects.toThrow('IDAT inflates to more than the 1001000 bytes that IHDR implies');
    expect(inflated).toBeGreaterThan(1001000);
    expect(inflated).toBeLessThan(1001000 + 2e6);
  });

  it('too little image data, and a corrupt or truncated zlib stream', async () => {
    const spec = makeSpec(2, 8, 5, 5, false, 2);
    const lines = scanlines(spec);
    const short = Uint8Array.from([...SIGNATURE, ...ihdr(5, 5, 8, 2), ...chunk('IDAT', deflateSync(lines.subarray(0, 40))), ...chunk('IEND', [])]);
    await expect(decodePng(short)).rejects.toThrow('expected 80 bytes of image data from IDAT (as IHDR implies), found 40: the data is truncated');
    const z = deflateSync(lines);
    const cut = Uint8Array.from([...SIGNATURE, ...ihdr(5, 5, 8, 2), ...chunk('IDAT', z.subarray(0, z.length - 6)), ...chunk('IEND', [])]);
    await expect(decodePng(cut)).rejects.toThrow(/the zlib stream in IDAT is corrupt or truncated after \d+ of the expected 80 inflated bytes/);
    const garbage = Uint8Array.from([...SIGNATURE, ...ihdr(5, 5, 8, 2), ...chunk('IDAT', [1, 2, 3, 4, 5]), ...chunk('IEND', [])]);
    await expect(decodePng(garbage)).rejects.toThrow(/the zlib stream in IDAT is corrupt or truncated after 0 of the expected 80 inflated bytes/);
  });

  it("the zlib stream's tail: bytes after it, a wrong or a missing Adler-32 (runtimes' DecompressionStreams differ; we refuse all three)", async () => {
    const spec = makeSpec(2, 8, 5, 5, false, 2);
    const z = deflateSync(scanlines(spec));
    const file = (data: Uint8Array): Uint8Array => concat(SIGNATURE, ihdr(5, 5, 8, 2), chunk('IDAT', data), chunk('IEND', []));
    expect(pixelsOf(await decodePng(file(z)))).toEqual(expectedPixels(spec));
    const adler = Array.from(z.subarray(z.length - 4), (v) => v.toString(16).padStart(2, '0')).join('');
    await expect(decodePng(file(concat(z, [1, 2, 3])))).rejects.toThrow(
      new RegExp(`expected the zlib stream in IDAT to end with the Adler-32 of its data, 0x${adler}, found 0x[0-9a-f]+ \\(a corrupt checksum, or bytes after the zlib stream\\)|corrupt or truncated`),
    );
    const wrong = z.slice();
    wrong[wrong.length - 1] ^= 1;
    await expect(decodePng(file(wrong))).rejects.toThrow(/Adler-32|corrupt or truncated/);
    await expect(decodePng(file(z.subarray(0, z.length - 4)))).rejects.toThrow(/Adler-32|corrupt or truncated/);
  });

  it('no IDAT is an error, not a blank image', async () => {
    const file = Uint8Array.from([...SIGNATURE, ...ihdr(4, 4, 8, 2), ...chunk('IEND', [])]);
    await expect(decodePng(file)).rejects.toThrow('expected image data (IDAT chunks) before IEND, found none');
  });

  it('a palette index past the PLTE entries', async () => {
    const spec: PngSpec = { width: 4, height: 2, colourType: 3, depth: 2, samples: Uint16Array.from([0, 1, 0, 1, 1, 0, 3, 0]), palette: [1, 2, 3, 4, 5, 6] };
    await expect(decodePng(encodePng(spec))).rejects.toThrow('pixel (2, 1) has palette index 3, expected below 2 (the PLTE entries)');
  });

  it('a bad filter type byte, plain and interlaced', async () => {
    const spec = makeSpec(0, 8, 4, 4, false, 1);
    spec.filter = (row) => (row === 2 ? 5 : 0);
    await expect(decodePng(encodePng({ ...spec, filter: () => 0 }))).resolves.toBeDefined();
    const lines = scanlines({ ...spec, filter: () => 0 });
    lines[2 * 5] = 5;
    const file = Uint8Array.from([...SIGNATURE, ...ihdr(4, 4, 8, 0), ...chunk('IDAT', deflateSync(lines)), ...chunk('IEND', [])]);
    await expect(decodePng(file)).rejects.toThrow('scanline 2 has filter type 5, expected 0 to 4 (None, Sub, Up, Average, Paeth)');
    const inter = scanlines({ ...spec, interlace: true });
    inter[inter.length - 5] = 200; // the last line of pass 7 (4 wide, 1 byte per pixel)
    const file2 = Uint8Array.from([...SIGNATURE, ...ihdr(4, 4, 8, 0, 1), ...chunk('IDAT', deflateSync(inter)), ...chunk('IEND', [])]);
    await expect(decodePng(file2)).rejects.toThrow('scanline 1 of Adam7 pass 7 has filter type 200, expected 0 to 4');
  });

  it.each([
    [[0, 4, 8, 2], 'expected width and height from 1 to 2^31-1, found 0x4'],
    [[2 ** 31, 4, 8, 2], 'expected width and height from 1 to 2^31-1, found 2147483648x4'],
    [[4, 4, 4, 2], 'expected bit depth 8, 16 for colour type 2 (truecolour), found 4'],
    [[4, 4, 16, 3], 'expected bit depth 1, 2, 4, 8 for colour type 3 (indexed-colour), found 16'],
    [[4, 4, 1, 4], 'expected bit depth 8, 16 for colour type 4 (greyscale with alpha), found 1'],
    [[4, 4, 2, 6], 'expected bit depth 8, 16 for colour type 6 (truecolour with alpha), found 2'],
    [[4, 4, 3, 0], 'expected bit depth 1, 2, 4, 8, 16 for colour type 0 (greyscale), found 3'],
    [[4, 4, 8, 5], 'expected colour type 0, 2, 3, 4 or 6, found 5'],
  ])('IHDR %j: %s', async ([w, h, depth, ct], message) => {
    const file = Uint8Array.from([...SIGNATURE, ...ihdr(w, h, depth, ct), ...chunk('IDAT', deflateSync(new Uint8Array(100))), ...chunk('IEND', [])]);
    await expect(decodePng(file)).rejects.toThrow(message);
  });

  it('chunks out of place or not allowed', async () => {
    const z = deflateSync(new Uint8Array(4 * 5));
    const idat = chunk('IDAT', z);
    const end = chunk('IEND', []);
    const cases: [number[], string][] = [
      [[...chunk('gAMA', u32(45455)), ...ihdr(4, 4, 8, 0), ...idat, ...end], 'expected IHDR as the first chunk, found gAMA'],
      [[...ihdr(4, 4, 8, 0), ...ihdr(4, 4, 8, 0), ...idat, ...end], 'expected one IHDR chunk, found a second at byte 33'],
      [[...ihdr(4, 4, 8, 0), ...chunk('IDAT', z.subarray(0, 4)), ...chunk('tEXt', [65, 0]), ...chunk('IDAT', z.subarray(4)), ...end], 'expected IDAT chunks to be consecutive, found another at byte 63 after a tEXt chunk'],
      [[...ihdr(4, 4, 8, 0), ...chunk('ABCD', []), ...idat, ...end], 'unknown critical chunk ABCD at byte 33'],
      [[...ihdr(4, 4, 8, 0), ...chunk('PLTE', [1, 2, 3]), ...idat, ...end], 'a PLTE chunk is not allowed in a greyscale image'],
      [[...ihdr(4, 4, 8, 3), ...idat, ...end], 'expected a PLTE chunk in an indexed-colour image, found none'],
      [[...ihdr(4, 4, 8, 3), ...chunk('PLTE', [1, 2, 3, 4]), ...idat, ...end], 'expected PLTE of 3 to 768 bytes in RGB triples, found 4 bytes'],
      [[...ihdr(4, 4, 8, 3), ...chunk('PLTE', [1, 2, 3]), ...chunk('tRNS', [1, 2]), ...idat, ...end], 'expected at most 1 tRNS entries (one per PLTE entry), found 2'],
      [[...ihdr(4, 4, 8, 3), ...chunk('tRNS', [1]), ...chunk('PLTE', [1, 2, 3]), ...idat, ...end], 'expected PLTE before tRNS in an indexed-colour image, found tRNS first'],
      [[...ihdr(4, 4, 8, 2), ...chunk('tRNS', [0, 1]), ...idat, ...end], 'expected a 6-byte tRNS chunk in a truecolour image, found 2 bytes'],
      [[...ihdr(4, 4, 8, 6), ...chunk('tRNS', [0, 1]), ...idat, ...end], 'a tRNS chunk is not allowed in a truecolour with alpha image (it has an alpha channel)'],
      [[...ihdr(4, 4, 8, 0), ...idat, ...chunk('tRNS', [0, 1]), ...end], 'expected tRNS before the first IDAT chunk, found it after'],
      [[...chunk('IHDR', [0, 0, 0, 4, 0, 0, 0, 4, 8, 0, 0, 0]), ...idat, ...end], 'expected IHDR of 13 bytes, found 12'],
      [[...chunk('IHDR', [0, 0, 0, 4, 0, 0, 0, 4, 8, 0, 1, 0, 0]), ...idat, ...end], 'expected compression method 0 (deflate), found 1'],
      [[...chunk('IHDR', [0, 0, 0, 4, 0, 0, 0, 4, 8, 0, 0, 0, 2]), ...idat, ...end], 'expected interlace method 0 (none) or 1 (Adam7), found 2'],
    ];
    for (const [chunks, message] of cases) {
      await expect(decodePng(Uint8Array.from([...SIGNATURE, ...chunks])), message).rejects.toThrow(message);
    }
  });
});
