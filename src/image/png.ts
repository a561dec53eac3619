/**
 * A PNG decoder with no dependencies: chunks, CRCs, unfiltering, Adam7 and the colour conversion are
 * ours; inflating is the web-standard `DecompressionStream('deflate')` (zlib-wrapped deflate), which
 * Node 18+, Deno, Bun, workerd and browsers all have, hence the async API. Browser-safe: no `node:`
 * imports.
 *
 * see: W3C PNG Specification (Third Edition), sections 5 (datastream, chunk layout, CRC),
 *      7.2 (scanlines), 8.2 (Adam7), 9 (filters; the Paeth predictor), 11.2 (IHDR, PLTE, IDAT,
 *      IEND), 11.3.2.1 (tRNS); RFC 1950 (the zlib wrapper).
 *
 * Output, as PIL's `Image.open(f).convert('RGB' or 'RGBA')` gives it:
 * - RGB (3 channels) when every pixel is opaque, RGBA (4) when some pixel's alpha (an alpha channel
 *   or a tRNS hit) is below 255 after the 8-bit conversion below.
 * - Greyscale becomes R = G = B. Samples of 1, 2 and 4 bits are scaled to 8 bits exactly
 *   (x 255, x 85, x 17); palette entries are already 8-bit.
 * - 16-bit samples keep their high byte (`v >> 8`), for every colour type and for alpha. That is what
 *   PIL does for RGB and RGBA (rawmodes `RGB;16B`, `RGBA;16B`); PIL's 16-bit greyscale differs (mode
 *   `I;16` clipped to 255 by `convert('RGB')`), and we keep the high byte there too, so that a 16-bit
 *   grey file looks like its 8-bit version.
 * - tRNS compares the full-precision sample (16-bit, or 1/2/4-bit before scaling); a hit sets alpha 0
 *   and keeps the colour.
 *
 * Hostile input is bounded: IHDR (size, bit depth, colour type, the `maxPixels` limit) is checked and
 * every chunk's CRC verified before anything is inflated; the inflated size is known exactly from IHDR,
 * IDAT data too small to inflate to it (deflate expands 1032:1 at most) is refused before the pixel
 * buffer is allocated, and reading stops as soon as the stream gives more. The compressed data is fed in pieces of
 * `INFLATE_PIECE` bytes, so a zlib bomb leaves at most about 1032 x that (deflate's largest ratio)
 * queued in the stream before we see it. Rows are unfiltered and converted as they arrive: the only
 * large buffer is the output. The stream's Adler-32 is checked here too, so that every runtime
 * refuses the same damaged tails (see inflateInto).
 */
import { imageLimits, type ImageLimits } from '../limits.js';
import { ImageDecodeError } from './image.js';

/** What `decodePng` returns: interleaved 8-bit samples, row-major, index = (y * width + x) * channels + c. */
export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  readonly channels: 3 | 4;
}

export interface DecodePngOptions {
  /** Largest width x height accepted, checked before inflating; default 100 megapixels (shorthand for `limits.maxPixels`). */
  readonly maxPixels?: number;
  /** Raised (or lowered) limits; see ImageLimits in limits.ts. */
  readonly limits?: Partial<ImageLimits>;
  /** Names the image in error messages (a file name, say). */
  readonly name?: string;
}

/** Compressed bytes written to the DecompressionStream at a time; see the file comment (the bomb bound). */
const INFLATE_PIECE = 16 * 1024;

/**
 * Deflate's largest expansion: a length-258 match coded in 2 bits (1-bit literal/length and distance
 * codes) gives 1032 output bytes per input byte (RFC 1951). IDAT data that cannot inflate to what IHDR
 * implies is refused before the pixel buffer is allocated.
 */
const DEFLATE_MAX_RATIO = 1032;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Samples per pixel by colour type (11.2.1, Table 8), and the bit depths each allows. */
const COLOUR_TYPES: Record<number, { readonly samples: number; readonly depths: readonly number[]; readonly name: string }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16], name: 'greyscale' },
  2: { samples: 3, depths: [8, 16], name: 'truecolour' },
  3: { samples: 1, depths: [1, 2, 4, 8], name: 'indexed-colour' },
  4: { samples: 2, depths: [8, 16], name: 'greyscale with alpha' },
  6: { samples: 4, depths: [8, 16], name: 'truecolour with alpha' },
};

/** Adam7 passes (8.2): first column and row, then the step between pixels, per pass. */
const ADAM7 = [
  { x0: 0, y0: 0, dx: 8, dy: 8 },
  { x0: 4, y0: 0, dx: 8, dy: 8 },
  { x0: 0, y0: 4, dx: 4, dy: 8 },
  { x0: 2, y0: 0, dx: 4, dy: 4 },
  { x0: 0, y0: 2, dx: 2, dy: 4 },
  { x0: 1, y0: 0, dx: 2, dy: 2 },
  { x0: 0, y0: 1, dx: 1, dy: 2 },
] as const;

const FILTER_NAMES = ['None', 'Sub', 'Up', 'Average', 'Paeth'];

/** CRC-32 (ISO 3309, polynomial 0xEDB88320 reflected), table-driven; see PNG spec Annex D. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

interface Header {
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  readonly colourType: number;
  readonly interlaced: boolean;
}

/** One pass of the image as stored: its size and where its pixels go. A plain image is one pass. */
interface Pass {
  readonly index: number;
  readonly x0: number;
  readonly y0: number;
  readonly dx: number;
  readonly dy: number;
  readonly width: number;
  readonly height: number;
  /** Bytes per scanline, without the filter-type byte. */
  readonly rowBytes: number;
}

/** What the chunk walk collects; nothing is inflated yet. */
interface Layout {
  readonly header: Header;
  /** PLTE as RGB triples; null without a PLTE chunk. */
  readonly palette: Uint8Array | null;
  /** tRNS of an indexed-colour image: the alpha of the first `trns.length` palette entries. */
  readonly trns: Uint8Array | null;
  /** tRNS of a greyscale or truecolour image: the transparent grey, or R, G, B, at full sample precision. */
  readonly trnsKey: readonly number[] | null;
  readonly idat: Uint8Array[];
}

/** Decodes a PNG file to 8-bit RGB or RGBA; see the file comment for the conversion rules. */
export async function decodePng(bytes: Uint8Array, options: DecodePngOptions = {}): Promise<DecodedPng> {
  const label = options.name !== undefined ? `'${options.name}'` : 'image';
  const fail = (what: string): ImageDecodeError => new ImageDecodeError(`cannot decode PNG ${label}: ${what}`);
  const { maxPixels } = imageLimits({ ...options.limits, ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}) });

  const layout = readChunks(bytes, maxPixels, fail);
  const { header } = layout;
  const passes = passesOf(header);
  const expected = passes.reduce((n, p) => n + p.height * (1 + p.rowBytes), 0);
  const compressed = layout.idat.reduce((n, c) => n + c.length, 0);
  const most = DEFLATE_MAX_RATIO * (compressed + 1);
  if (most < expected) {
    const size = `${header.width}x${header.height}, ${header.depth}-bit ${COLOUR_TYPES[header.colourType].name}${header.interlaced ? ', Adam7' : ''}`;
    throw fail(`IDAT holds ${compressed} bytes, which inflate to at most ${most} bytes, but IHDR (${size}) implies ${expected}: the image data is missing or truncated`);
  }
  const image = new PixelWriter(layout, fail);
  const rows = new Scanlines(passes, header, image, fail);
  await inflateInto(layout.idat, expected, rows, fail);
  return image.finish();
}

/**
 * Walks the chunks: signature, IHDR first (checked, with the pixel limit, before anything else), CRCs,
 * PLTE / tRNS / IDAT in their allowed order, IEND. Unknown ancillary chunks are skipped (after their
 * CRC check); unknown critical chunks are refused, as the spec requires (5.4).
 */
function readChunks(bytes: Uint8Array, maxPixels: number, fail: (what: string) => ImageDecodeError): Layout {
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) {
    const head = Array.from(bytes.subarray(0, 8), (v) => v.toString(16).padStart(2, '0')).join(' ');
    throw fail(`expected the PNG signature 89 50 4e 47 0d 0a 1a 0a, found ${head === '' ? 'no bytes' : head}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | null = null;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  let trnsKey: number[] | null = null;
  const idat: Uint8Array[] = [];
  /** The first non-IDAT chunk after the image data began; a later IDAT is an error. */
  let afterIdat: string | null = null;
  let pos = 8;
  for (;;) {
    if (pos + 8 > bytes.length) {
      const found = pos === bytes.length ? 'the end of the file' : `${bytes.length - pos} bytes`;
      throw fail(`expected a chunk header (8 bytes) at byte ${pos}, found ${found}: the file is truncated (no IEND chunk)`);
    }
    const length = view.getUint32(pos);
    const typeBytes = bytes.subarray(pos + 4, pos + 8);
    const type = String.fromCharCode(...typeBytes);
    if (!typeBytes.every((c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) {
      throw fail(`expected a chunk type of four ASCII letters at byte ${pos + 4}, found bytes ${Array.from(typeBytes, (v) => v.toString(16).padStart(2, '0')).join(' ')}`);
    }
    if (length > 0x7fffffff) throw fail(`chunk ${type} at byte ${pos} declares ${length} data bytes, more than the 2^31-1 the format allows`);
    const end = pos + 12 + length;
    if (end > bytes.length) {
      throw fail(`chunk ${type} at byte ${pos} is truncated: expected ${length} data bytes and a 4-byte CRC, found ${bytes.length - pos - 8} bytes`);
    }
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    const stored = view.getUint32(pos + 8 + length);
    const computed = crc32(bytes.subarray(pos + 4, pos + 8 + length));
    if (stored !== computed) throw fail(`chunk ${type} at byte ${pos} has CRC ${hex32(stored)}, expected ${hex32(computed)} (corrupt file)`);

    if (type === 'IHDR') {
      if (header !== null) throw fail(`expected one IHDR chunk, found a second at byte ${pos}`);
      header = readHeader(data, maxPixels, fail);
      pos = end;
      continue;
    }
    if (header === null) throw fail(`expected IHDR as the first chunk, found ${type}`);
    const ct = header.colourType;
    if (idat.length > 0 && type !== 'IDAT' && afterIdat === null) afterIdat = type;
    switch (type) {
      case 'PLTE':
        if (ct === 0 || ct === 4) throw fail(`a PLTE chunk is not allowed in a ${COLOUR_TYPES[ct].name} image`);
        if (palette !== null) throw fail(`expected one PLTE chunk, found a second at byte ${pos}`);
        if (idat.length > 0) throw fail('expected PLTE before the first IDAT chunk, found it after');
        if (length % 3 !== 0 || length === 0 || length > 768) throw fail(`expected PLTE of 3 to 768 bytes in RGB triples, found ${length} bytes`);
        palette = data;
        break;
      case 'tRNS':
        if (idat.length > 0) throw fail('expected tRNS before the first IDAT chunk, found it after');
        if (ct === 3) {
          if (palette === null) throw fail('expected PLTE before tRNS in an indexed-colour image, found tRNS first');
          if (length > palette.length / 3) throw fail(`expected at most ${palette.length / 3} tRNS entries (one per PLTE entry), found ${length}`);
          trns = data;
        } else if (ct === 0 || ct === 2) {
          const want = ct === 0 ? 2 : 6;
          if (length !== want) throw fail(`expected a ${want}-byte tRNS chunk in a ${COLOUR_TYPES[ct].name} image, found ${length} bytes`);
          trnsKey = ct === 0 ? [view.getUint16(pos + 8)] : [view.getUint16(pos + 8), view.getUint16(pos + 10), view.getUint16(pos + 12)];
        } else {
          throw fail(`a tRNS chunk is not allowed in a ${COLOUR_TYPES[ct].name} image (it has an alpha channel)`);
        }
        break;
      case 'IDAT':
        if (afterIdat !== null) throw fail(`expected IDAT chunks to be consecutive, found another at byte ${pos} after a ${afterIdat} chunk`);
        idat.push(data);
        break;
      case 'IEND':
        if (idat.length === 0) throw fail('expected image data (IDAT chunks) before IEND, found none');
        if (ct === 3 && palette === null) throw fail('expected a PLTE chunk in an indexed-colour image, found none');
        return { header, palette, trns, trnsKey, idat };
      default:
        // Bit 5 of the first byte clear (an upper-case letter) marks a critical chunk (5.4).
        if ((typeBytes[0] & 0x20) === 0) throw fail(`unknown critical chunk ${type} at byte ${pos}`);
    }
    pos = end;
  }
}

function readHeader(data: Uint8Array, maxPixels: number, fail: (what: string) => ImageDecodeError): Header {
  if (data.length !== 13) throw fail(`expected IHDR of 13 bytes, found ${data.length}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const [depth, colourType, compression, filter, interlace] = data.subarray(8, 13);
  const inRange = (v: number): boolean => v > 0 && v <= 0x7fffffff;
  if (!inRange(width) || !inRange(height)) throw fail(`expected width and height from 1 to 2^31-1, found ${width}x${height}`);
  const type = COLOUR_TYPES[colourType];
  if (type === undefined) throw fail(`expected colour type 0, 2, 3, 4 or 6, found ${colourType}`);
  if (!type.depths.includes(depth)) throw fail(`expected bit depth ${type.depths.join(', ')} for colour type ${colourType} (${type.name}), found ${depth}`);
  if (compression !== 0) throw fail(`expected compression method 0 (deflate), found ${compression}`);
  if (filter !== 0) throw fail(`expected filter method 0, found ${filter}`);
  if (interlace !== 0 && interlace !== 1) throw fail(`expected interlace method 0 (none) or 1 (Adam7), found ${interlace}`);
  if (width * height > maxPixels) throw fail(`${width}x${height} is ${width * height} pixels, over the limit of maxPixels = ${maxPixels}`);
  return { width, height, depth, colourType, interlaced: interlace === 1 };
}

/** The passes as stored, skipping Adam7 passes that hold no pixels (they have no scanlines at all, 8.2). */
function passesOf(h: Header): Pass[] {
  const bitsPerPixel = COLOUR_TYPES[h.colourType].samples * h.depth;
  const grid = h.interlaced ? ADAM7 : [{ x0: 0, y0: 0, dx: 1, dy: 1 }];
  const passes: Pass[] = [];
  grid.forEach((g, index) => {
    const width = Math.ceil((h.width - g.x0) / g.dx);
    const height = Math.ceil((h.height - g.y0) / g.dy);
    if (width > 0 && height > 0) passes.push({ index, ...g, width, height, rowBytes: Math.ceil((width * bitsPerPixel) / 8) });
  });
  return passes;
}

/**
 * Feeds the IDAT data through `DecompressionStream('deflate')` and hands the output to `rows`, which
 * must take exactly `expected` bytes: more is refused at once (the reader is cancelled), less is
 * refused at the end.
 */
async function inflateInto(idat: Uint8Array[], expected: number, rows: Scanlines, fail: (what: string) => ImageDecodeError): Promise<void> {
  if (typeof DecompressionStream !== 'function') {
    throw new Error("PNG decoding needs the web-standard DecompressionStream('deflate') (Node 18+, Deno, Bun, workerd, browsers); this runtime has none");
  }
  const stream = new DecompressionStream('deflate');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const writing = (async (): Promise<void> => {
    for (const chunk of idat) {
      for (let p = 0; p < chunk.length; p += INFLATE_PIECE) {
        const piece = chunk.subarray(p, p + INFLATE_PIECE);
        // Streams take views of plain ArrayBuffers only (BufferSource); a SharedArrayBuffer's bytes are copied.
        await writer.write(piece.buffer instanceof ArrayBuffer ? (piece as Uint8Array<ArrayBuffer>) : piece.slice());
      }
    }
    await writer.close();
  })();
  // A corrupt stream rejects both sides; the reader's error is the one reported.
  writing.catch(() => undefined);
  let total = 0;
  const adler = new Adler32();
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw fail(`the zlib stream in IDAT is corrupt or truncated after ${total} of the expected ${expected} inflated bytes (${why})`);
      }
      if (result.done) break;
      const chunk = result.value;
      if (total + chunk.length > expected) {
        throw fail(`IDAT inflates to more than the ${expected} bytes that IHDR implies (a zlib bomb, or IHDR does not match the data)`);
      }
      total += chunk.length;
      adler.update(chunk);
      rows.push(chunk);
    }
  } catch (e) {
    reader.cancel().catch(() => undefined);
    writer.abort().catch(() => undefined);
    throw e;
  }
  if (total < expected) throw fail(`expected ${expected} bytes of image data from IDAT (as IHDR implies), found ${total}: the data is truncated`);
  // Runtimes differ on a zlib stream's tail: Deno's DecompressionStream accepts a missing Adler-32,
  // Node's ignores bytes after the stream. Checking the checksum here, against the last 4 bytes of
  // the IDAT data (RFC 1950: where the stream ends when nothing follows it), refuses both everywhere.
  const tail = lastBytes(idat, 4);
  const stored = tail.length === 4 ? ((tail[0] << 24) | (tail[1] << 16) | (tail[2] << 8) | tail[3]) >>> 0 : -1;
  if (stored !== adler.value()) {
    const found = tail.length === 4 ? hex32(stored) : `only ${tail.length} bytes`;
    throw fail(`expected the zlib stream in IDAT to end with the Adler-32 of its data, ${hex32(adler.value())}, found ${found} (a corrupt checksum, or bytes after the zlib stream)`);
  }
}

/** The last `n` bytes of the concatenated chunks (fewer when there are fewer). */
function lastBytes(chunks: readonly Uint8Array[], n: number): number[] {
  const out: number[] = [];
  for (let c = chunks.length - 1; c >= 0 && out.length < n; c--) {
    for (let i = chunks[c].length - 1; i >= 0 && out.length < n; i--) out.unshift(chunks[c][i]);
  }
  return out;
}

/**
 * Adler-32 (RFC 1950, 2.2 and 8.2): two sums mod 65521. They are reduced every ADLER_BLOCK bytes:
 * b <= n * 65520 + 255 * n * (n + 1) / 2 stays below 2^31 for n = 3800, so both stay small integers.
 */
const ADLER_BLOCK = 3800;

class Adler32 {
  private a = 1;
  private b = 0;

  update(bytes: Uint8Array): void {
    let { a, b } = this;
    for (let start = 0; start < bytes.length; start += ADLER_BLOCK) {
      const end = Math.min(bytes.length, start + ADLER_BLOCK);
      for (let i = start; i < end; i++) {
        a += bytes[i];
        b += a;
      }
      a %= 65521;
      b %= 65521;
    }
    this.a = a;
    this.b = b;
  }

  value(): number {
    return ((this.b << 16) | this.a) >>> 0;
  }
}

/**
 * Cuts the inflated stream into scanlines, undoes each line's filter (9.2) against the previous line
 * of the same pass, and hands the line to the pixel writer.
 */
class Scanlines {
  private passIndex = 0;
  private row = 0;
  /** Filter byte + scanline being filled, and the previous unfiltered scanline of the pass (zeros at its start). */
  private cur: Uint8Array;
  private prev: Uint8Array;
  private fill = 0;
  /** Bytes per complete pixel, at least 1: the distance to the byte "a" that filters refer to. */
  private readonly bpp: number;

  constructor(
    private readonly passes: readonly Pass[],
    header: Header,
    private readonly out: PixelWriter,
    private readonly fail: (what: string) => ImageDecodeError,
  ) {
    const widest = Math.max(...passes.map((p) => p.rowBytes));
    this.cur = new Uint8Array(1 + widest);
    this.prev = new Uint8Array(1 + widest);
    this.bpp = Math.max(1, (COLOUR_TYPES[header.colourType].samples * header.depth) >> 3);
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const pass = this.passes[this.passIndex];
      const lineBytes = 1 + pass.rowBytes;
      const n = Math.min(lineBytes - this.fill, chunk.length - at);
      this.cur.set(chunk.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill < lineBytes) return;
      this.unfilter(pass);
      this.out.writeRow(pass, this.row, this.cur.subarray(1, lineBytes));
      [this.cur, this.prev] = [this.prev, this.cur];
      this.fill = 0;
      if (++this.row === pass.height) {
        this.row = 0;
        this.passIndex++;
        this.prev.fill(0);
      }
    }
  }

  /** In place on `cur[1..]`; `prev[1..]` is the line above (9.2, Table 9). */
  private unfilter(pass: Pass): void {
    const { cur, prev, bpp } = this;
    const n = 1 + pass.rowBytes;
    const type = cur[0];
    switch (type) {
      case 0: // None
        break;
      case 1: // Sub: + a
        for (let i = 1 + bpp; i < n; i++) cur[i] = (cur[i] + cur[i - bpp]) & 0xff;
        break;
      case 2: // Up: + b
        for (let i = 1; i < n; i++) cur[i] = (cur[i] + prev[i]) & 0xff;
        break;
      case 3: // Average: + floor((a + b) / 2), a = 0 in the first pixel
        for (let i = 1; i < Math.min(n, 1 + bpp); i++) cur[i] = (cur[i] + (prev[i] >> 1)) & 0xff;
        for (let i = 1 + bpp; i < n; i++) cur[i] = (cur[i] + ((cur[i - bpp] + prev[i]) >> 1)) & 0xff;
        break;
      case 4: // Paeth (9.4): a = c = 0 in the first pixel, where the predictor is b
        for (let i = 1; i < Math.min(n, 1 + bpp); i++) cur[i] = (cur[i] + prev[i]) & 0xff;
        for (let i = 1 + bpp; i < n; i++) cur[i] = (cur[i] + paeth(cur[i - bpp], prev[i], prev[i - bpp])) & 0xff;
        break;
      default: {
        const where = pass.index === 0 && pass.dx === 1 ? `scanline ${this.row}` : `scanline ${this.row} of Adam7 pass ${pass.index + 1}`;
        throw this.fail(`${where} has filter type ${type}, expected 0 to 4 (${FILTER_NAMES.join(', ')})`);
      }
    }
  }
}

/** The Paeth predictor (9.4): whichever of a (left), b (above), c (above left) is closest to a + b - c; ties in that order. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** Unpacked scanline samples -> 8-bit RGB(A) pixels at their place in the image. */
class PixelWriter {
  private readonly width: number;
  private readonly height: number;
  private readonly depth: number;
  private readonly colourType: number;
  private readonly channels: 3 | 4;
  private readonly data: Uint8Array;
  private readonly samples: Uint16Array;
  /** Bitwise AND of every alpha written: 255 exactly when all pixels are opaque. */
  private alphaAnd = 255;
  /** Sub-8-bit greyscale -> 8 bits: 255 / (2^depth - 1), an integer (255, 85, 17); 1 otherwise. */
  private readonly greyScale: number;
  /** Palette as RGBA, 4 bytes per entry (alpha 255 where tRNS gives none). */
  private readonly paletteRgba: Uint8Array | null;
  private readonly paletteSize: number;
  private readonly trnsKey: readonly number[] | null;

  constructor(
    layout: Layout,
    private readonly fail: (what: string) => ImageDecodeError,
  ) {
    const { header, palette, trns, trnsKey } = layout;
    this.width = header.width;
    this.height = header.height;
    this.depth = header.depth;
    this.colourType = header.colourType;
    this.trnsKey = trnsKey;
    this.greyScale = header.colourType === 0 && header.depth < 8 ? 255 / ((1 << header.depth) - 1) : 1;
    this.paletteSize = palette === null ? 0 : palette.length / 3;
    this.paletteRgba = null;
    if (header.colourType === 3 && palette !== null) {
      const rgba = new Uint8Array(this.paletteSize * 4).fill(255);
      for (let i = 0; i < this.paletteSize; i++) {
        rgba.set(palette.subarray(i * 3, i * 3 + 3), i * 4);
        if (trns !== null && i < trns.length) rgba[i * 4 + 3] = trns[i];
      }
      this.paletteRgba = rgba;
    }
    // RGBA only where some alpha below 255 can occur; finish() drops it again if none did.
    const mayHaveAlpha =
      header.colourType === 4 || header.colourType === 6 || trnsKey !== null || (trns !== null && trns.some((a) => a !== 255));
    this.channels = mayHaveAlpha ? 4 : 3;
    this.data = new Uint8Array(header.width * header.height * this.channels);
    this.samples = new Uint16Array(header.width * COLOUR_TYPES[header.colourType].samples);
  }

  writeRow(pass: Pass, row: number, line: Uint8Array): void {
    const { samples, depth, data, channels } = this;
    const count = pass.width * COLOUR_TYPES[this.colourType].samples;
    // Unpack: big-endian 16-bit, bytes, or 1/2/4-bit fields from the most significant bit (7.2).
    if (depth === 16) {
      for (let i = 0; i < count; i++) samples[i] = (line[2 * i] << 8) | line[2 * i + 1];
    } else if (depth === 8) {
      for (let i = 0; i < count; i++) samples[i] = line[i];
    } else {
      const mask = (1 << depth) - 1;
      const perByte = 8 / depth;
      for (let i = 0; i < count; i++) samples[i] = (line[(i / perByte) | 0] >> (8 - depth * ((i % perByte) + 1))) & mask;
    }
    const shift = depth === 16 ? 8 : 0;
    const y = pass.y0 + row * pass.dy;
    let o = (y * this.width + pass.x0) * channels;
    const step = pass.dx * channels;
    let alphaAnd = this.alphaAnd;
    const key = this.trnsKey;
    switch (this.colourType) {
      case 0: {
        const scale = this.greyScale;
        for (let i = 0; i < pass.width; i++, o += step) {
          const s = samples[i];
          const v = (s >> shift) * scale;
          data[o] = v;
          data[o + 1] = v;
          data[o + 2] = v;
          if (channels === 4) alphaAnd &= data[o + 3] = key !== null && s === key[0] ? 0 : 255;
        }
        break;
      }
      case 2:
        for (let i = 0; i < pass.width; i++, o += step) {
          const r = samples[3 * i];
          const g = samples[3 * i + 1];
          const b = samples[3 * i + 2];
          data[o] = r >> shift;
          data[o + 1] = g >> shift;
          data[o + 2] = b >> shift;
          if (channels === 4) alphaAnd &= data[o + 3] = key !== null && r === key[0] && g === key[1] && b === key[2] ? 0 : 255;
        }
        break;
      case 3: {
        const pal = this.paletteRgba as Uint8Array;
        for (let i = 0; i < pass.width; i++, o += step) {
          const k = samples[i];
          if (k >= this.paletteSize) {
            throw this.fail(`pixel (${pass.x0 + i * pass.dx}, ${y}) has palette index ${k}, expected below ${this.paletteSize} (the PLTE entries)`);
          }
          data[o] = pal[4 * k];
          data[o + 1] = pal[4 * k + 1];
          data[o + 2] = pal[4 * k + 2];
          if (channels === 4) alphaAnd &= data[o + 3] = pal[4 * k + 3];
        }
        break;
      }
      case 4:
        for (let i = 0; i < pass.width; i++, o += step) {
          const v = samples[2 * i] >> shift;
          data[o] = v;
          data[o + 1] = v;
          data[o + 2] = v;
          alphaAnd &= data[o + 3] = samples[2 * i + 1] >> shift;
        }
        break;
      case 6:
        for (let i = 0; i < pass.width; i++, o += step) {
          data[o] = samples[4 * i] >> shift;
          data[o + 1] = samples[4 * i + 1] >> shift;
          data[o + 2] = samples[4 * i + 2] >> shift;
          alphaAnd &= data[o + 3] = samples[4 * i + 3] >> shift;
        }
        break;
    }
    this.alphaAnd = alphaAnd;
  }

  /** RGBA, or RGB when every alpha came out 255. */
  finish(): DecodedPng {
    const { width, height, data } = this;
    if (this.channels === 3 || this.alphaAnd !== 255) return { width, height, data, channels: this.channels };
    const n = width * height;
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      rgb[3 * i] = data[4 * i];
      rgb[3 * i + 1] = data[4 * i + 1];
      rgb[3 * i + 2] = data[4 * i + 2];
    }
    return { width, height, data: rgb, channels: 3 };
  }
}
