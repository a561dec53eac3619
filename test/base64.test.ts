/**
 * decodeBase64 (src/base64.ts) takes the runtime's native decoder where there is one
 * (`Uint8Array.fromBase64`, Node's `Buffer`), else `atob` and a loop; every way gives the same
 * bytes, in an ArrayBuffer of their own.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeBase64 } from '../src/base64.js';
import { mulberry32 } from '../src/models/init.js';

function randomBytes(n: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

const CASES = [0, 1, 2, 3, 4, 5, 63, 64, 65, 4095, 4096, 70_001, 1_100_000].map((n, i) => randomBytes(n, i + 1));

/** Equal bytes (a loop: deep equality on a megabyte is slow). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function own(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length;
}

describe('decodeBase64', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it("with Node's Buffer (this runtime): the bytes, each in a buffer of its own (not a view into Buffer's pool)", () => {
    const texts = CASES.map((want) => Buffer.from(want).toString('base64'));
    const from = vi.spyOn(Buffer, 'from');
    CASES.forEach((want, i) => {
      const got = decodeBase64(texts[i]);
      expect(same(got, want), `${want.length} bytes`).toBe(true);
      expect(own(got), `${want.length} bytes`).toBe(true);
    });
    expect(from).toHaveBeenCalledTimes(CASES.length);
  });

  it('without Buffer (browsers, Deno, workerd): atob and a loop give the same bytes', () => {
    vi.stubGlobal('Buffer', undefined);
    for (const want of CASES) {
      const text = globalThis.btoa(String.fromCharCode(...want.subarray(0, Math.min(want.length, 70_001))));
      const got = decodeBase64(text);
      expect(same(got, want.subarray(0, Math.min(want.length, 70_001)))).toBe(true);
      expect(own(got)).toBe(true);
    }
  });

  it('Uint8Array.fromBase64, where the engine has it, comes first', () => {
    const fromBase64 = vi.fn((s: string) => new Uint8Array(Buffer.from(s, 'base64')));
    Object.defineProperty(Uint8Array, 'fromBase64', { value: fromBase64, configurable: true });
    try {
      expect(decodeBase64('AQID')).toEqual(new Uint8Array([1, 2, 3]));
      expect(fromBase64).toHaveBeenCalledWith('AQID');
    } finally {
      delete (Uint8Array as { fromBase64?: unknown }).fromBase64;
    }
  });
});
