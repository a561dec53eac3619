/** PNG files byte by byte, for the decoder's tests and issue 17's crafted inputs. */
import { crc32 } from 'node:zlib';
import { concatBytes as concat } from '../../src/bytes.js';

export const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

/** A chunk as bytes: length, type, data, CRC-32 of type and data (node:zlib's crc32). */
export function pngChunk(type: string, data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  out.set(u32(data.length));
  out.set(Array.from(type, (c) => c.charCodeAt(0)), 4);
  out.set(data, 8);
  out.set(u32(crc32(out.subarray(4, 8 + data.length))), 8 + data.length);
  return out;
}

export function concatBytes(...parts: ArrayLike<number>[]): Uint8Array {
  return concat(parts);
}

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
