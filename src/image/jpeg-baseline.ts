/**
 * A JPEG decoder (baseline, extended sequential and progressive; Huffman; 8-bit) that reproduces
 * libjpeg-turbo's default output bit for bit, i.e. what PIL's `Image.open(f).convert('RGB')` and
 * OpenCV's `cv2.imdecode` return: the accurate integer IDCT (JDCT_ISLOW), "fancy" (triangle)
 * chroma upsampling (4:2:0, 4:2:2, 4:4:0; replication for other ratios) and the fixed-point
 * YCbCr -> RGB tables. CMYK / YCCK
 * files come out as RGB the way PIL's `convert('RGB')` makes them. Browser-safe: no `node:` imports.
 *
 * see: ITU-T T.81 (the JPEG standard) for the bitstream, Annex G for progressive decoding;
 *      libjpeg-turbo jidctint.c (`jpeg_idct_islow`, after Loeffler, Ligtenberg and Moschytz 1989),
 *      jdsample.c (`h2v1_fancy_upsample`, `h1v2_fancy_upsample`, `h2v2_fancy_upsample`, `int_upsample`),
 *      jdcolor.c (`build_ycc_rgb_table`, `ycc_rgb_convert`, `ycck_cmyk_convert`), jdmaster.c
 *      (`prepare_range_limit_table`), jdapimin.c (`default_decompress_parms`: the colour space).
 *      Checked bit-exact against Pillow 9.4 / libjpeg-turbo 2.1.5 on all 10,000 CIFAR-10 test
 *      JPEGs in shared/data, the ImageNet samples there, and test/fixtures/image/jpeg/.
 *
 * Anything else (arithmetic coding, lossless or hierarchical frames, 12-bit samples, non-integer
 * sampling ratios, progressive files left incomplete, which libjpeg would smooth) throws `JpegUnsupportedError`, so that the caller can fall back to another decoder.
 * Corrupt data throws a plain Error; a frame of more than `maxPixels` a RangeError, from its header.
 */

import { DEFAULT_IMAGE_LIMITS } from '../limits.js';

export class JpegUnsupportedError extends Error {
  override readonly name = 'JpegUnsupportedError';
}

/** Natural (row-major) index of the k-th coefficient in zigzag order. */
const ZIGZAG = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
]);

/** Canonical Huffman table in the T.81 Annex C / F.2.2.3 form. */
interface HuffmanTable {
  readonly maxCode: Int32Array; // [17], -1 when no code of that length
  readonly valPtr: Int32Array; // [17]
  readonly minCode: Int32Array; // [17]
  readonly values: Uint8Array;
}

interface Component {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tq: number;
  /** Blocks allocated per row / column (whole MCUs). */
  blocksPerLine: number;
  blocksPerColumn: number;
  /** Quantised coefficients, natural order, 64 per block; int16 like libjpeg's JCOEF. */
  coefs: Int16Array;
  /** Quantisation table, latched when the component's first scan starts (as libjpeg does). */
  quant: Int32Array | null;
  dcTable: HuffmanTable | null;
  acTable: HuffmanTable | null;
  pred: number;
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly comps: Component[];
  readonly maxH: number;
  readonly maxV: number;
  readonly mcusPerLine: number;
  readonly mcusPerColumn: number;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxCode = new Int32Array(17).fill(-1);
  const valPtr = new Int32Array(17);
  const minCode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    if (n > 0) {
      valPtr[len] = k;
      minCode[len] = code;
      code += n;
      k += n;
      maxCode[len] = code - 1;
    }
    code <<= 1;
  }
  return { maxCode, valPtr, minCode, values };
}

/** Entropy-coded segment reader: removes 0xFF00 stuffing and stops at markers. */
class BitReader {
  private pos: number;
  private acc = 0;
  private bits = 0;
  constructor(
    private readonly data: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  /** Byte offset of the next marker once the segment is done. */
  get offset(): number {
    return this.pos;
  }

  private fill(): void {
    const d = this.data;
    if (this.pos >= d.length) throw new Error('JPEG data ends inside the entropy-coded scan (truncated file)');
    const b = d[this.pos];
    if (b === 0xff) {
      const next = d[this.pos + 1];
      if (next === 0x00) {
        this.pos += 2;
      } else {
        throw new Error(`JPEG scan data hit marker FF ${next?.toString(16)} before its end (corrupt or truncated)`);
      }
    } else {
      this.pos += 1;
    }
    this.acc = (this.acc << 8) | b;
    this.bits += 8;
  }

  bit(): number {
    if (this.bits === 0) this.fill();
    this.bits--;
    return (this.acc >>> this.bits) & 1;
  }

  receive(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | this.bit();
    return v;
  }

  decode(t: HuffmanTable): number {
    let code = this.bit();
    for (let len = 1; len <= 16; len++) {
      if (code <= t.maxCode[len]) return t.values[t.valPtr[len] + code - t.minCode[len]];
      code = (code << 1) | this.bit();
    }
    throw new Error('invalid Huffman code in JPEG scan data (corrupt file)');
  }

  /** Drops the remaining bits of the current byte and expects RSTn. */
  restart(expected: number): void {
    this.bits = 0;
    this.acc = 0;
    const d = this.data;
    if (d[this.pos] !== 0xff || d[this.pos + 1] !== 0xd0 + expected) {
      throw new Error(`expected restart marker RST${expected} at byte ${this.pos} (corrupt JPEG)`);
    }
    this.pos += 2;
  }
}

/** T.81 F.2.2.1 EXTEND: an s-bit magnitude category value to a signed number. */
function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}

function decodeBlock(r: BitReader, c: Component, offset: number, _scan?: Scan): void {
  const out = c.coefs;
  const t = r.decode(c.dcTable!);
  c.pred += t === 0 ? 0 : extend(r.receive(t), t);
  out[offset] = c.pred;
  for (let k = 1; k < 64; ) {
    const rs = r.decode(c.acTable!);
    const run = rs >> 4;
    const size = rs & 15;
    if (size === 0) {
      if (run !== 15) break; // EOB
      k += 16;
      continue;
    }
    k += run;
    if (k > 63) throw new Error('JPEG coefficient index past 63 (corrupt file)');
    out[offset + ZIGZAG[k]] = extend(r.receive(size), size);
    k++;
  }
}

/** Parameters and running state of one scan. */
interface Scan {
  readonly ss: number;
  readonly se: number;
  readonly ah: number;
  readonly al: number;
  readonly progressive: boolean;
  /** Progressive AC: blocks left in the current end-of-band run. */
  eobrun: number;
}

// Progressive decoding, T.81 Annex G.1.2: DC first / refine, AC first / refine.
function decodeDcFirst(r: BitReader, c: Component, offset: number, scan: Scan): void {
  const t = r.decode(c.dcTable!);
  c.pred += t === 0 ? 0 : extend(r.receive(t), t);
  c.coefs[offset] = c.pred * (1 << scan.al);
}

function decodeDcRefine(r: BitReader, c: Component, offset: number, scan: Scan): void {
  if (r.bit()) c.coefs[offset] |= 1 << scan.al;
}

function decodeAcFirst(r: BitReader, c: Component, offset: number, scan: Scan): void {
  if (scan.eobrun > 0) {
    scan.eobrun--;
    return;
  }
  for (let k = scan.ss; k <= scan.se; k++) {
    const rs = r.decode(c.acTable!);
    const run = rs >> 4;
    const size = rs & 15;
    if (size !== 0) {
      k += run;
      if (k > 63) throw new Error('JPEG coefficient index past 63 (corrupt file)');
      c.coefs[offset + ZIGZAG[k]] = extend(r.receive(size), size) * (1 << scan.al);
    } else if (run === 15) {
      k += 15; // ZRL: sixteen zeros
    } else {
      scan.eobrun = (1 << run) - 1 + (run > 0 ? r.receive(run) : 0);
      break;
    }
  }
}

function decodeAcRefine(r: BitReader, c: Component, offset: number, scan: Scan): void {
  const p1 = 1 << scan.al;
  const m1 = -1 << scan.al;
  const coefs = c.coefs;
  // A correction bit for a coefficient that is already nonzero.
  const refine = (i: number): void => {
    if (r.bit() && (coefs[i] & p1) === 0) coefs[i] += coefs[i] >= 0 ? p1 : m1;
  };
  let k = scan.ss;
  if (scan.eobrun === 0) {
    for (; k <= scan.se; k++) {
      const rs = r.decode(c.acTable!);
      let run = rs >> 4;
      const size = rs & 15;
      let value = 0;
      if (size !== 0) {
        if (size !== 1) throw new Error('JPEG AC refinement with a magnitude other than 1 (corrupt file)');
        value = r.bit() ? p1 : m1;
      } else if (run !== 15) {
        scan.eobrun = (1 << run) + (run > 0 ? r.receive(run) : 0);
        break; // the rest of the band is handled as an end-of-band run
      }
      // Skip `run` zero coefficients, refining the nonzero ones passed on the way.
      for (; k <= scan.se; k++) {
        const i = offset + ZIGZAG[k];
        if (coefs[i] !== 0) refine(i);
        else if (--run < 0) break;
      }
      if (value !== 0) {
        if (k > 63) throw new Error('JPEG coefficient index past 63 (corrupt file)');
        coefs[offset + ZIGZAG[k]] = value;
      }
    }
  }
  if (scan.eobrun > 0) {
    for (; k <= scan.se; k++) {
      const i = offset + ZIGZAG[k];
      if (coefs[i] !== 0) refine(i);
    }
    scan.eobrun--;
  }
}

function blockDecoder(scan: Scan): (r: BitReader, c: Component, offset: number, scan: Scan) => void {
  if (!scan.progressive) return decodeBlock;
  if (scan.ss === 0) return scan.ah === 0 ? decodeDcFirst : decodeDcRefine;
  return scan.ah === 0 ? decodeAcFirst : decodeAcRefine;
}

// ---- IDCT: jidctint.c `jpeg_idct_islow`, CONST_BITS = 13, PASS1_BITS = 2 ----
const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** libjpeg's post-IDCT range limit: the 10-bit wrapped value, centred on 128 and clamped. */
function idctLimit(x: number): number {
  const v = (((x & 1023) ^ 512) - 512) + 128;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const descale = (x: number, n: number): number => (x + (1 << (n - 1))) >> n;

/** Inputs and outputs of idct1d (float64, so values stay exactly what the two passes computed before). */
const idctVec = new Float64Array(8);

/**
 * One 8-point islow IDCT of idctVec in place, before descaling: idctVec[k] (coefficient k in
 * natural order) becomes output k. Both passes of idctIslow run it, as libjpeg's do.
 */
function idct1d(v: Float64Array): void {
  // Even part
  let z2 = v[2];
  let z3 = v[6];
  let z1 = (z2 + z3) * FIX_0_541196100;
  let tmp2 = z1 + z3 * -FIX_1_847759065;
  let tmp3 = z1 + z2 * FIX_0_765366865;
  let tmp0 = (v[0] + v[4]) << CONST_BITS;
  let tmp1 = (v[0] - v[4]) << CONST_BITS;
  const tmp10 = tmp0 + tmp3;
  const tmp13 = tmp0 - tmp3;
  const tmp11 = tmp1 + tmp2;
  const tmp12 = tmp1 - tmp2;
  // Odd part
  tmp0 = v[7];
  tmp1 = v[5];
  tmp2 = v[3];
  tmp3 = v[1];
  z1 = tmp0 + tmp3;
  z2 = tmp1 + tmp2;
  z3 = tmp0 + tmp2;
  let z4 = tmp1 + tmp3;
  const z5 = (z3 + z4) * FIX_1_175875602;
  tmp0 *= FIX_0_298631336;
  tmp1 *= FIX_2_053119869;
  tmp2 *= FIX_3_072711026;
  tmp3 *= FIX_1_501321110;
  z1 *= -FIX_0_899976223;
  z2 *= -FIX_2_562915447;
  z3 = z3 * -FIX_1_961570560 + z5;
  z4 = z4 * -FIX_0_390180644 + z5;
  tmp0 += z1 + z3;
  tmp1 += z2 + z4;
  tmp2 += z2 + z3;
  tmp3 += z1 + z4;
  v[0] = tmp10 + tmp3;
  v[7] = tmp10 - tmp3;
  v[1] = tmp11 + tmp2;
  v[6] = tmp11 - tmp2;
  v[2] = tmp12 + tmp1;
  v[5] = tmp12 - tmp1;
  v[3] = tmp13 + tmp0;
  v[4] = tmp13 - tmp0;
}

/**
 * Dequantises and inverse-transforms one block into `out` (8 rows of `stride` bytes at `outOffset`).
 * All products fit in int32 for valid 8-bit data, as in the C code.
 */
function idctIslow(coefs: Int16Array, ci: number, q: Int32Array, ws: Int32Array, out: Uint8Array, outOffset: number, stride: number): void {
  const v = idctVec;
  // Pass 1: columns, from the input into the workspace (scaled up by 2^PASS1_BITS).
  const n1 = CONST_BITS - PASS1_BITS;
  for (let col = 0; col < 8; col++) {
    const i = ci + col;
    if (coefs[i + 8] === 0 && coefs[i + 16] === 0 && coefs[i + 24] === 0 && coefs[i + 32] === 0 && coefs[i + 40] === 0 && coefs[i + 48] === 0 && coefs[i + 56] === 0) {
      const dc = (coefs[i] * q[col]) << PASS1_BITS;
      for (let row = 0; row < 8; row++) ws[row * 8 + col] = dc;
      continue;
    }
    for (let row = 0; row < 8; row++) v[row] = coefs[i + row * 8] * q[col + row * 8];
    idct1d(v);
    for (let row = 0; row < 8; row++) ws[row * 8 + col] = descale(v[row], n1);
  }
  // Pass 2: rows, from the workspace to samples (removes PASS1_BITS and the 8x DCT scale).
  const n2 = CONST_BITS + PASS1_BITS + 3;
  for (let row = 0; row < 8; row++) {
    const w = row * 8;
    const o = outOffset + row * stride;
    if (ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 && ws[w + 5] === 0 && ws[w + 6] === 0 && ws[w + 7] === 0) {
      const dc = idctLimit(descale(ws[w], PASS1_BITS + 3));
      for (let k = 0; k < 8; k++) out[o + k] = dc;
      continue;
    }
    for (let k = 0; k < 8; k++) v[k] = ws[w + k];
    idct1d(v);
    for (let k = 0; k < 8; k++) out[o + k] = idctLimit(descale(v[k], n2));
  }
}

/** One component's samples: `width` x `height` valid pixels in rows of `stride` bytes. */
interface Plane {
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  readonly data: Uint8Array;
}

// ---- Upsampling: jdsample.c, "fancy" (triangle) filters ----

/** 2x horizontal: `h2v1_fancy_upsample` (widths > 2), else sample replication. */
function upsampleH2V1(p: Plane): Plane {
  const w = p.width;
  const outW = w * 2;
  const out = new Uint8Array(outW * p.height);
  for (let y = 0; y < p.height; y++) {
    const s = y * p.stride;
    const o = y * outW;
    const d = p.data;
    if (w <= 2) {
      for (let x = 0; x < w; x++) out[o + 2 * x] = out[o + 2 * x + 1] = d[s + x];
      continue;
    }
    out[o] = d[s];
    out[o + 1] = (d[s] * 3 + d[s + 1] + 2) >> 2;
    for (let x = 1; x < w - 1; x++) {
      const v = d[s + x] * 3;
      out[o + 2 * x] = (v + d[s + x - 1] + 1) >> 2;
      out[o + 2 * x + 1] = (v + d[s + x + 1] + 2) >> 2;
    }
    const last = w - 1;
    out[o + 2 * last] = (d[s + last] * 3 + d[s + last - 1] + 1) >> 2;
    out[o + 2 * last + 1] = d[s + last];
  }
  return { width: outW, height: p.height, stride: outW, data: out };
}

/** Other integer ratios (4:1:1, 3x1, ...): `int_upsample`, plain sample replication. */
function upsampleReplicate(p: Plane, rh: number, rv: number): Plane {
  const outW = p.width * rh;
  const outH = p.height * rv;
  const out = new Uint8Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const s = Math.floor(y / rv) * p.stride;
    for (let x = 0; x < outW; x++) out[y * outW + x] = p.data[s + Math.floor(x / rh)];
  }
  return { width: outW, height: outH, stride: outW, data: out };
}

/** 2x vertical: `h1v2_fancy_upsample`, 3:1 with the row above / below (rounding 1 / 2). */
function upsampleH1V2(p: Plane): Plane {
  const w = p.width;
  const outH = p.height * 2;
  const out = new Uint8Array(w * outH);
  const d = p.data;
  for (let y = 0; y < p.height; y++) {
    const cur = y * p.stride;
    const above = Math.max(y - 1, 0) * p.stride;
    const below = Math.min(y + 1, p.height - 1) * p.stride;
    const o0 = 2 * y * w;
    const o1 = o0 + w;
    for (let x = 0; x < w; x++) {
      out[o0 + x] = (d[cur + x] * 3 + d[above + x] + 1) >> 2;
      out[o1 + x] = (d[cur + x] * 3 + d[below + x] + 2) >> 2;
    }
  }
  return { width: w, height: outH, stride: w, data: out };
}

/**
 * 2x both ways: `h2v2_fancy_upsample` (widths > 2), else sample replication. The rows above the
 * first and below the last are copies of them (libjpeg's context rows).
 */
function upsampleH2V2(p: Plane): Plane {
  const w = p.width;
  const outW = w * 2;
  const outH = p.height * 2;
  const out = new Uint8Array(outW * outH);
  const d = p.data;
  for (let y = 0; y < p.height; y++) {
    const cur = y * p.stride;
    for (let half = 0; half < 2; half++) {
      const o = (2 * y + half) * outW;
      if (w <= 2) {
        for (let x = 0; x < w; x++) out[o + 2 * x] = out[o + 2 * x + 1] = d[cur + x];
        continue;
      }
      const ny = half === 0 ? Math.max(y - 1, 0) : Math.min(y + 1, p.height - 1);
      const nb = ny * p.stride;
      // Column sums 3 * nearer row + farther row, then 3:1 horizontally; rounding 8 / 7 alternates.
      let thisSum = d[cur] * 3 + d[nb];
      let nextSum = d[cur + 1] * 3 + d[nb + 1];
      out[o] = (thisSum * 4 + 8) >> 4;
      out[o + 1] = (thisSum * 3 + nextSum + 7) >> 4;
      let lastSum = thisSum;
      thisSum = nextSum;
      for (let x = 1; x < w - 1; x++) {
        nextSum = d[cur + x + 1] * 3 + d[nb + x + 1];
        out[o + 2 * x] = (thisSum * 3 + lastSum + 8) >> 4;
        out[o + 2 * x + 1] = (thisSum * 3 + nextSum + 7) >> 4;
        lastSum = thisSum;
        thisSum = nextSum;
      }
      const last = w - 1;
      out[o + 2 * last] = (thisSum * 3 + lastSum + 8) >> 4;
      out[o + 2 * last + 1] = (thisSum * 4 + 7) >> 4;
    }
  }
  return { width: outW, height: outH, stride: outW, data: out };
}

// ---- Colour: jdcolor.c fixed-point YCbCr -> RGB (SCALEBITS = 16) ----
const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number): number => Math.floor(x * (1 << SCALEBITS) + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}
const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** a * b / 255 rounded, as PIL's MULDIV255 macro. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

export interface DecodedJpeg {
  readonly width: number;
  readonly height: number;
  /** Packed RGB (greyscale replicated; CMYK converted as PIL does). */
  readonly data: Uint8Array;
  /** Always 3, so that the result goes to `preprocess` as it is (whose `channels` defaults to 4). */
  readonly channels: 3;
}

/**
 * Decodes a Huffman-coded JPEG exactly as libjpeg-turbo does; see the file comment. A frame of more
 * than `maxPixels` (default 100 megapixels) throws a RangeError from its header, before allocating.
 */
export function decodeJpegExact(bytes: Uint8Array, options: { readonly maxPixels?: number } = {}): DecodedJpeg {
  const maxPixels = options.maxPixels ?? DEFAULT_IMAGE_LIMITS.maxPixels;
  const d = bytes;
  if (d.length < 4 || d[0] !== 0xff || d[1] !== 0xd8) throw new Error('not a JPEG file (no SOI marker)');
  const quant: (Int32Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let frame: Frame | null = null;
  let restartInterval = 0;
  let sawJfif = false;
  let adobeTransform = -1;
  let sawEoi = false;
  let progressive = false;
  /** Progressive: per component, the successive-approximation bit each coefficient is known to (-1: never sent). */
  let known: Int8Array[] = [];
  let pos = 2;
  const u16 = (p: number): number => {
    if (p + 1 >= d.length) throw new Error('JPEG file ends inside a marker segment (truncated file)');
    return (d[p] << 8) | d[p + 1];
  };

  while (pos < d.length) {
    if (d[pos] !== 0xff) {
      pos++; // libjpeg skips stray bytes before a marker (with a warning); so do we
      continue;
    }
    const marker = d[pos + 1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    pos += 2;
    if (marker === 0xd9) {
      sawEoi = true;
      break;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // TEM, stray RSTn
    const len = u16(pos);
    const end = pos + len;
    if (end > d.length) throw new Error('JPEG file ends inside a marker segment (truncated file)');
    const body = pos + 2;
    switch (marker) {
      case 0xdb: {
        // DQT: Pq (0 = 8-bit, 1 = 16-bit), Tq, 64 values in zigzag order.
        let p = body;
        while (p < end) {
          const pq = d[p] >> 4;
          const tq = d[p] & 15;
          p++;
          const table = new Int32Array(64);
          for (let k = 0; k < 64; k++) {
            table[ZIGZAG[k]] = pq === 0 ? d[p + k] : u16(p + 2 * k);
          }
          p += pq === 0 ? 64 : 128;
          quant[tq] = table;
        }
        break;
      }
      case 0xc4: {
        // DHT
        let p = body;
        while (p < end) {
          const tc = d[p] >> 4;
          const th = d[p] & 15;
          const counts = d.subarray(p + 1, p + 17);
          const total = counts.reduce((a, b) => a + b, 0);
          const values = d.slice(p + 17, p + 17 + total);
          (tc === 0 ? dcTables : acTables)[th] = buildHuffman(counts, values);
          p += 17 + total;
        }
        break;
      }
      case 0xdd:
        restartInterval = u16(body);
        break;
      case 0xe0:
        // libjpeg's examine_app0: "JFIF\0" and at least 14 bytes of data.
        if (len >= 16 && d[body] === 0x4a && d[body + 1] === 0x46 && d[body + 2] === 0x49 && d[body + 3] === 0x46 && d[body + 4] === 0) sawJfif = true;
        break;
      case 0xee:
        // libjpeg's examine_app14: "Adobe" and at least 12 bytes of data; the transform is the last.
        if (len >= 14 && d[body] === 0x41 && d[body + 1] === 0x64 && d[body + 2] === 0x6f && d[body + 3] === 0x62 && d[body + 4] === 0x65) {
          adobeTransform = d[body + 11];
        }
        break;
      case 0xc0:
      case 0xc1:
      case 0xc2: {
        if (frame !== null) throw new JpegUnsupportedError('more than one frame');
        progressive = marker === 0xc2;
        if (d[body] !== 8) throw new JpegUnsupportedError(`${d[body]}-bit samples`);
        const height = u16(body + 1);
        const width = u16(body + 3);
        const nf = d[body + 5];
        if (width === 0 || height === 0) throw new JpegUnsupportedError('image height defined by a DNL marker');
        if (width * height > maxPixels) throw new RangeError(`${width}x${height} is ${width * height} pixels, over the limit of maxPixels = ${maxPixels}`);
        if (nf !== 1 && nf !== 3 && nf !== 4) throw new JpegUnsupportedError(`${nf} components`);
        const comps: Component[] = [];
        for (let i = 0; i < nf; i++) {
          const p = body + 6 + i * 3;
          comps.push({ id: d[p], h: d[p + 1] >> 4, v: d[p + 1] & 15, tq: d[p + 2], blocksPerLine: 0, blocksPerColumn: 0, coefs: new Int16Array(0), quant: null, dcTable: null, acTable: null, pred: 0 });
        }
        const maxH = Math.max(...comps.map((c) => c.h));
        const maxV = Math.max(...comps.map((c) => c.v));
        for (const c of comps) {
          const rh = maxH / c.h;
          const rv = maxV / c.v;
          // T.81 B.2.2 allows factors 1 to 4; libjpeg refuses others (JERR_BAD_SAMPLING) as corrupt.
          if (c.h > 4 || c.v > 4) throw new Error(`JPEG component ${c.id} has sampling factors ${c.h}x${c.v}, expected 1 to 4 each (corrupt file)`);
          if (c.h < 1 || c.v < 1 || !Number.isInteger(rh) || !Number.isInteger(rv)) {
            throw new JpegUnsupportedError(`sampling factors ${comps.map((k) => `${k.h}x${k.v}`).join(',')}`);
          }
        }
        const mcusPerLine = Math.ceil(width / (8 * maxH));
        const mcusPerColumn = Math.ceil(height / (8 * maxV));
        for (const c of comps) {
          c.blocksPerLine = mcusPerLine * c.h;
          c.blocksPerColumn = mcusPerColumn * c.v;
          c.coefs = new Int16Array(c.blocksPerLine * c.blocksPerColumn * 64);
        }
        frame = { width, height, comps, maxH, maxV, mcusPerLine, mcusPerColumn };
        known = comps.map(() => new Int8Array(64).fill(-1));
        break;
      }
      case 0xda: {
        if (frame === null) throw new Error('JPEG scan before the frame header (corrupt file)');
        const ns = d[body];
        const ss = d[body + 1 + ns * 2];
        const se = d[body + 2 + ns * 2];
        const ah = d[body + 3 + ns * 2] >> 4;
        const al = d[body + 3 + ns * 2] & 15;
        if (!progressive && (ss !== 0 || se !== 63 || ah !== 0 || al !== 0)) {
          throw new Error('spectral selection / successive approximation in a sequential JPEG (corrupt file)');
        }
        if (progressive && (ss > se || se > 63 || al > 13 || (ss === 0 && se !== 0) || (ss > 0 && ns !== 1))) {
          throw new Error(`invalid progressive JPEG scan Ss=${ss} Se=${se} Ah=${ah} Al=${al} (corrupt file)`);
        }
        // Sequential scans code DC and AC; progressive ones only DC (first pass) or only AC.
        const needDc = !progressive || (ss === 0 && ah === 0);
        const needAc = !progressive || ss > 0;
        const scomps: Component[] = [];
        for (let i = 0; i < ns; i++) {
          const cid = d[body + 1 + i * 2];
          const c = frame.comps.find((k) => k.id === cid);
          if (c === undefined) throw new Error(`JPEG scan names unknown component ${cid} (corrupt file)`);
          const dc = dcTables[d[body + 2 + i * 2] >> 4];
          const ac = acTables[d[body + 2 + i * 2] & 15];
          if ((needDc && dc === undefined) || (needAc && ac === undefined)) {
            throw new Error('JPEG scan uses an undefined Huffman table (corrupt file)');
          }
          c.dcTable = dc ?? null;
          c.acTable = ac ?? null;
          if (c.quant === null) {
            const q = quant[c.tq];
            if (q === undefined) throw new Error(`JPEG component ${c.id} uses an undefined quantisation table (corrupt file)`);
            c.quant = q.slice();
          }
          c.pred = 0;
          scomps.push(c);
          if (progressive) {
            const bits = known[frame.comps.indexOf(c)];
            for (let k = ss; k <= se; k++) bits[k] = al;
          }
        }
        const scan: Scan = { ss, se, ah, al, progressive, eobrun: 0 };
        pos = decodeScan(d, end, frame, scomps, restartInterval, scan);
        continue;
      }
      case 0xc3:
      case 0xc5:
      case 0xc6:
      case 0xc7:
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcd:
      case 0xce:
      case 0xcf:
        throw new JpegUnsupportedError(`frame type SOF${marker - 0xc0} (lossless, hierarchical or arithmetic coding)`);
      default:
        break; // APPn, COM, DAC, ...: skipped
    }
    pos = end;
  }
  if (frame === null) throw new Error('JPEG file has no frame header (corrupt or truncated file)');
  if (!sawEoi) throw new Error('JPEG file has no end-of-image marker (truncated file)');
  // libjpeg-turbo smooths blocks whose coefficients are not all fully refined (jdcoefct.c
  // `smoothing_ok`); that is not reproduced, so such files go to the fallback.
  if (progressive && known.some((bits) => bits.some((b) => b !== 0))) {
    throw new JpegUnsupportedError('a progressive file whose scans leave coefficients incomplete');
  }
  const missing = frame.comps.find((c) => c.quant === null);
  if (missing !== undefined) throw new Error(`JPEG component ${missing.id} appears in no scan (corrupt or truncated file)`);
  return reconstruct(frame, colorSpace(frame.comps, sawJfif, adobeTransform));
}

function decodeScan(
  d: Uint8Array,
  start: number,
  frame: Frame,
  scomps: Component[],
  restartInterval: number,
  scan: Scan,
): number {
  const r = new BitReader(d, start);
  const decode = blockDecoder(scan);
  let mcu = 0;
  let rst = 0;
  const nextMcu = (): void => {
    mcu++;
    if (restartInterval > 0 && mcu % restartInterval === 0) {
      r.restart(rst);
      rst = (rst + 1) & 7;
      for (const c of scomps) c.pred = 0;
      scan.eobrun = 0;
    }
  };
  if (scomps.length === 1) {
    // Non-interleaved: the component's own blocks in raster order, covering only its samples.
    const c = scomps[0];
    const bw = Math.ceil(Math.ceil((frame.width * c.h) / frame.maxH) / 8);
    const bh = Math.ceil(Math.ceil((frame.height * c.v) / frame.maxV) / 8);
    const total = bw * bh;
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        decode(r, c, (by * c.blocksPerLine + bx) * 64, scan);
        if (by * bw + bx + 1 < total) nextMcu();
      }
    }
  } else {
    const total = frame.mcusPerLine * frame.mcusPerColumn;
    for (let my = 0; my < frame.mcusPerColumn; my++) {
      for (let mx = 0; mx < frame.mcusPerLine; mx++) {
        for (const c of scomps) {
          for (let v = 0; v < c.v; v++) {
            for (let h = 0; h < c.h; h++) decode(r, c, ((my * c.v + v) * c.blocksPerLine + mx * c.h + h) * 64, scan);
          }
        }
        if (my * frame.mcusPerLine + mx + 1 < total) nextMcu();
      }
    }
  }
  // Skip to the next marker (padding bits were dropped with the last byte).
  let p = r.offset;
  while (p < d.length && !(d[p] === 0xff && d[p + 1] !== 0x00 && !(d[p + 1] >= 0xd0 && d[p + 1] <= 0xd7))) p++;
  return p;
}

type ColorSpace = 'grey' | 'ycbcr' | 'rgb' | 'cmyk' | 'ycck';

// see: jdapimin.c `default_decompress_parms`.
function colorSpace(comps: Component[], sawJfif: boolean, adobeTransform: number): ColorSpace {
  if (comps.length === 1) return 'grey';
  if (comps.length === 4) return adobeTransform < 0 || adobeTransform === 0 ? 'cmyk' : 'ycck';
  if (sawJfif) return 'ycbcr';
  if (adobeTransform >= 0) return adobeTransform === 0 ? 'rgb' : 'ycbcr';
  const [a, b, c] = comps.map((k) => k.id);
  if (a === 82 && b === 71 && c === 66) return 'rgb'; // 'R', 'G', 'B'
  return 'ycbcr';
}

function reconstruct(frame: Frame, space: ColorSpace): DecodedJpeg {
  const { width, height } = frame;
  const ws = new Int32Array(64);
  const planes = frame.comps.map((c): Plane => {
    const stride = c.blocksPerLine * 8;
    const data = new Uint8Array(stride * c.blocksPerColumn * 8);
    const q = c.quant!;
    for (let by = 0; by < c.blocksPerColumn; by++) {
      for (let bx = 0; bx < c.blocksPerLine; bx++) {
        idctIslow(c.coefs, (by * c.blocksPerLine + bx) * 64, q, ws, data, by * 8 * stride + bx * 8, stride);
      }
    }
    // The coefficients (2 bytes a sample) are spent: let them go before the next plane is made, so that
    // the peak is all coefficients + one plane, not all coefficients + all planes (issue 17: memory).
    c.coefs = new Int16Array(0);
    let p: Plane = {
      width: Math.ceil((width * c.h) / frame.maxH),
      height: Math.ceil((height * c.v) / frame.maxV),
      stride,
      data,
    };
    const rh = frame.maxH / c.h;
    const rv = frame.maxV / c.v;
    // see: jdsample.c `jinit_upsampler`, which picks the method in this order.
    if (rh === 2 && rv === 1) p = upsampleH2V1(p);
    else if (rh === 1 && rv === 2) p = upsampleH1V2(p);
    else if (rh === 2 && rv === 2) p = upsampleH2V2(p);
    else if (rh !== 1 || rv !== 1) p = upsampleReplicate(p, rh, rv);
    return p;
  });

  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (space === 'grey') {
        const g = planes[0].data[y * planes[0].stride + x];
        out[o] = out[o + 1] = out[o + 2] = g;
        continue;
      }
      const c0 = planes[0].data[y * planes[0].stride + x];
      const c1 = planes[1].data[y * planes[1].stride + x];
      const c2 = planes[2].data[y * planes[2].stride + x];
      if (space === 'rgb') {
        out[o] = c0;
        out[o + 1] = c1;
        out[o + 2] = c2;
      } else if (space === 'ycbcr') {
        out[o] = clamp255(c0 + CR_R[c2]);
        out[o + 1] = clamp255(c0 + ((CB_G[c1] + CR_G[c2]) >> SCALEBITS));
        out[o + 2] = clamp255(c0 + CB_B[c1]);
      } else {
        const k = planes[3].data[y * planes[3].stride + x];
        let c = c0;
        let m = c1;
        let ye = c2;
        if (space === 'ycck') {
          // jdcolor.c `ycck_cmyk_convert`: YCC -> RGB as above, then C, M, Y = 255 - R, G, B.
          c = 255 - clamp255(c0 + CR_R[c2]);
          m = 255 - clamp255(c0 + ((CB_G[c1] + CR_G[c2]) >> SCALEBITS));
          ye = 255 - clamp255(c0 + CB_B[c1]);
        }
        // PIL reads CMYK JPEGs inverted (rawmode "CMYK;I", Adobe convention) and converts to RGB
        // with `cmyk2rgb`: nk - nk * c / 255 (MULDIV255), where c, nk are the inverted values.
        // see: Pillow JpegImagePlugin.py, libImaging/Convert.c `cmyk2rgb`. (OpenCV converts differently.)
        out[o] = k - mulDiv255(255 - c, k);
        out[o + 1] = k - mulDiv255(255 - m, k);
        out[o + 2] = k - mulDiv255(255 - ye, k);
      }
    }
  }
  return { width, height, data: out, channels: 3 };
}
