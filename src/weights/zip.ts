/**
 * A minimal zip reader for torch.save archives: central directory (zip64 included), STORED
 * entries only, CRC-32 checked. torch writes every entry STORED with the data-descriptor flag,
 * so local headers carry size 0 and sizes come from the central directory.
 * see: PKWARE APPNOTE.TXT sections 4.3.7 (local header), 4.3.12 (central directory), 4.3.14-16 (zip64, EOCD)
 */
import { quote } from './budget.js';
import { ZipError } from './errors.js';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;

function u64(v: DataView, at: number, what: string): number {
  const hi = v.getUint32(at + 4, true);
  if (hi >= 0x200000) throw new ZipError(`zip: ${what} at offset ${at} is beyond 2^53`);
  return hi * 4294967296 + v.getUint32(at, true);
}

/** Reads the central directory. */
export function readZipDirectory(bytes: Uint8Array): ZipEntry[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 65535); i--) {
    if (v.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError(`zip: no end-of-central-directory record in the last ${Math.min(n, 65557)} bytes (truncated file?)`);
  let count = v.getUint16(eocd + 10, true);
  let cdSize = v.getUint32(eocd + 12, true);
  let cdOffset = v.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || v.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) throw new ZipError('zip: zip64 sizes announced but no zip64 locator found');
    const z = u64(v, loc + 8, 'zip64 EOCD offset');
    if (z + 56 > n || v.getUint32(z, true) !== SIG_ZIP64_EOCD) throw new ZipError(`zip: no zip64 end-of-central-directory record at offset ${z}`);
    count = u64(v, z + 32, 'entry count');
    cdSize = u64(v, z + 40, 'central directory size');
    cdOffset = u64(v, z + 48, 'central directory offset');
  }
  if (cdOffset + cdSize > n) {
    throw new ZipError(`zip: central directory [${cdOffset}, ${cdOffset + cdSize}) lies outside the ${n}-byte file`);
  }
  if (count > cdSize / 46) throw new ZipError(`zip: ${count} entries cannot fit a ${cdSize}-byte central directory`);
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  const end = cdOffset + cdSize;
  const decoder = new TextDecoder('utf-8');
  for (let i = 0; i < count; i++) {
    if (p + 46 > end || v.getUint32(p, true) !== SIG_CENTRAL) throw new ZipError(`zip: central directory entry ${i} at offset ${p} is malformed`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc32 = v.getUint32(p + 16, true);
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let localHeaderOffset = v.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > end) throw new ZipError(`zip: central directory entry ${i} runs past the directory`);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information (header id 1): present fields replace those set to 0xffffffff.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        const qEnd = Math.min(q + len, p + 46 + nameLen + extraLen);
        const next = (what: string) => {
          if (q + 8 > qEnd) throw new ZipError(`zip: zip64 field ${what} of ${quote(name)} is missing`);
          const x = u64(v, q, what);
          q += 8;
          return x;
        };
        if (size === 0xffffffff) size = next('size');
        if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next('local header offset');
      }
      e += 4 + len;
    }
    entries.push({ name, method, flags, crc32, compressedSize, size, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

let crcTables: Uint32Array[] | undefined;

/**
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zip uses; slicing-by-8 (8 bytes per step).
 * see: Kounavis & Berry, "A Systematic Approach to Building High Performance Software-based CRC Generators" (2005)
 */
export function crc32(data: Uint8Array): number {
  if (!crcTables) {
    const t = Array.from({ length: 8 }, () => new Uint32Array(256));
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[0][i] = c >>> 0;
    }
    for (let i = 0; i < 256; i++) for (let k = 1; k < 8; k++) t[k][i] = (t[k - 1][i] >>> 8) ^ t[0][t[k - 1][i] & 0xff];
    crcTables = t;
  }
  const [t0, t1, t2, t3, t4, t5, t6, t7] = crcTables;
  let c = 0xffffffff;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    const b = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    c = t7[a & 0xff] ^ t6[(a >>> 8) & 0xff] ^ t5[(a >>> 16) & 0xff] ^ t4[a >>> 24] ^
      t3[b & 0xff] ^ t2[(b >>> 8) & 0xff] ^ t1[(b >>> 16) & 0xff] ^ t0[b >>> 24];
  }
  for (; i < n; i++) c = t0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The bytes of a STORED entry (a view into `bytes`), CRC-checked. */
export function zipEntryData(bytes: Uint8Array, entry: ZipEntry): Uint8Array {
  if (entry.flags & 1) throw new ZipError(`zip: entry ${quote(entry.name)} is encrypted`);
  if (entry.method !== 0) {
    throw new ZipError(
      `zip: entry ${quote(entry.name)} is compressed (method ${entry.method}${entry.method === 8 ? ', deflate' : ''}); ` +
        `torch.save writes STORED entries, so this archive was re-zipped: extract and re-save it uncompressed`,
    );
  }
  if (entry.compressedSize !== entry.size) {
    throw new ZipError(`zip: STORED entry ${quote(entry.name)} has compressed size ${entry.compressedSize} != size ${entry.size}`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = entry.localHeaderOffset;
  if (h + 30 > bytes.length || v.getUint32(h, true) !== SIG_LOCAL) {
    throw new ZipError(`zip: no local header for ${quote(entry.name)} at offset ${h}`);
  }
  const start = h + 30 + v.getUint16(h + 26, true) + v.getUint16(h + 28, true);
  if (start + entry.size > bytes.length) {
    throw new ZipError(`zip: data of ${quote(entry.name)} [${start}, ${start + entry.size}) runs past the end of the ${bytes.length}-byte file`);
  }
  const data = bytes.subarray(start, start + entry.size);
  const crc = crc32(data);
  if (crc !== entry.crc32) {
    throw new ZipError(`zip: entry ${quote(entry.name)} is corrupt: CRC-32 ${crc.toString(16)} != recorded ${entry.crc32.toString(16)}`);
  }
  return data;
}

/**
 * An archive's entries and their data, refusing to read more bytes in all than the archive holds:
 * central-directory records that point at the same local data (overlapping entries, a zip bomb that
 * needs no compression) would otherwise make one stored megabyte cost a CRC pass per record.
 * Duplicate names resolve to the last record, as Python's zipfile does.
 */
export class ZipArchive {
  readonly entries: ZipEntry[];
  readonly byName: Map<string, ZipEntry>;
  private bytesRead = 0;
  constructor(readonly bytes: Uint8Array) {
    this.entries = readZipDirectory(bytes);
    this.byName = new Map(this.entries.map((e) => [e.name, e]));
  }

  data(entry: ZipEntry): Uint8Array {
    this.bytesRead += entry.size;
    if (this.bytesRead > this.bytes.length) {
      throw new ZipError(
        `zip: entry ${quote(entry.name)} brings the bytes read to ${this.bytesRead}, more than the ${this.bytes.length}-byte archive holds: its entries overlap; refusing`,
      );
    }
    return zipEntryData(this.bytes, entry);
  }
}
