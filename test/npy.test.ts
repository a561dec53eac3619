import { describe, expect, it } from 'vitest';
import { NpyError, readNpy, writeNpy } from '../src/npy.js';
import { Tensor } from '../src/tensor.js';

/** A .npy file as numpy writes it, with any header text. */
function npy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  let h = header;
  h += ' '.repeat((64 - ((pre + h.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[pre + i] = h.charCodeAt(i);
  out.set(data, pre + h.length);
  return out;
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('npy', () => {
  it('round-trips float32 C-order arrays and aligns the header to 64 bytes', () => {
    const t = new Tensor(Float32Array.from({ length: 24 }, (_, i) => i - 3.5), [2, 3, 2, 2]);
    const bytes = writeNpy(t);
    expect((bytes.length - 24 * 4) % 64).toBe(0);
    const back = readNpy(bytes);
    expect(back.shape).toEqual([2, 3, 2, 2]);
    expect([...back.data]).toEqual([...t.data]);
    expect(readNpy(writeNpy(new Tensor(new Float32Array([7]), [1]))).shape).toEqual([1]);
  });
  it('reads numpy-written headers of versions 1.0 and 2.0, and 0-d arrays', () => {
    expect([...readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32(1, 2))).data]).toEqual([1, 2]);
    expect(readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f32(1, 2), 2)).shape).toEqual([1, 2]);
    expect(readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f32(5))).shape).toEqual([]);
  });
  it('refuses float64, big-endian, Fortran order, truncation and non-npy bytes with specific messages', () => {
    expect(() => readNpy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)))).toThrow(/'<f8'.*float64.*expected little-endian float32/);
    expect(() => readNpy(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", f32(1)))).toThrow(/big-endian/);
    expect(() => readNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f32(1, 2, 3, 4)))).toThrow(/Fortran/);
    expect(() => readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f32(1, 2, 3)))).toThrow(/truncated: shape \[2, 2\] needs 16 data bytes, found 12/);
    expect(() => readNpy(new TextEncoder().encode('hello world, not numpy'))).toThrow(NpyError);
    expect(() => readNpy(npy("{'descr': '<f4', 'shape': (2,), }", f32(1, 2)))).toThrow(/malformed/);
  });
});
