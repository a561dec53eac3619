/** safetensors: dtype decoding, round trip, and a specific error for each kind of bad header. */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/tensor.js';
import { readCheckpoint, readSafetensors, SafetensorsError, writeSafetensors } from '../src/weights/index.js';
import { concat, f32bytes, rawSafetensors, u32le } from './weights-fixtures.js';
import { readShared, sharedAvailable } from './helpers/shared.js';

describe('safetensors: reading dtypes', () => {
  it('F16 (normals, subnormals, inf), BF16, I64, I32 and BOOL decode to float32', () => {
    // F16: 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), -inf
    const f16 = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0xfc00];
    // BF16: 1.5 = 0x3fc0, -3 = 0xc040
    const bf16 = [0x3fc0, 0xc040];
    const le16 = (xs: number[]) => xs.flatMap((x) => [x & 0xff, x >> 8]);
    const i64 = [...u32le(0xfffffffe), ...u32le(0xffffffff), ...u32le(7504), ...u32le(0)]; // -2, 7504
    const i32 = u32le(0xffffff85); // -123
    const data = concat([le16(f16), le16(bf16), i64, i32, [1, 0]]);
    const file = rawSafetensors(
      {
        a: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 12] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [12, 16] },
        c: { dtype: 'I64', shape: [2], data_offsets: [16, 32] },
        d: { dtype: 'I32', shape: [], data_offsets: [32, 36] },
        e: { dtype: 'BOOL', shape: [2], data_offsets: [36, 38] },
        __metadata__: { format: 'pt' },
      },
      data,
    );
    const f = readSafetensors(file);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.tensors.get('a')!.data]).toEqual([1, -2, 0.5, 65504, 2 ** -24, -Infinity]);
    expect(f.tensors.get('a')!.shape).toEqual([2, 3]);
    expect([...f.tensors.get('b')!.data]).toEqual([1.5, -3]);
    expect(f.tensors.get('c')!.dtype).toBe('int64');
    expect([...f.tensors.get('c')!.data]).toEqual([-2, 7504]);
    expect([...f.tensors.get('d')!.data]).toEqual([-123]);
    expect(f.tensors.get('d')!.shape).toEqual([]);
    expect([...f.tensors.get('e')!.data]).toEqual([1, 0]);
  });

  it('reads data at unaligned offsets', () => {
    // A 3-byte header puts the data at byte 11 of the file.
    const header = '{ }';
    expect(readSafetensors(rawSafetensors(header)).tensors.size).toBe(0);
    const h = JSON.stringify({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }) + ' ';
    const file = rawSafetensors(h, f32bytes([3.25, -1]));
    expect((8 + h.length) % 4).not.toBe(0);
    expect([...readSafetensors(file).tensors.get('x')!.data]).toEqual([3.25, -1]);
  });

  it('reads aligned F32 tensors as views into the file, without a copy; unaligned ones and other dtypes as copies', () => {
    const bytes = writeSafetensors(new Map([['a', new Tensor(Float32Array.of(1, 2, 3), [3])], ['b', new Tensor(Float32Array.of(-4), [1])]]));
    const aligned = readSafetensors(bytes).tensors;
    for (const t of aligned.values()) expect(t.data.buffer).toBe(bytes.buffer);
    bytes[bytes.length - 1] ^= 0x80; // the view follows the bytes: b's sign flips
    expect([...aligned.get('b')!.data]).toEqual([4]);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const copied = readSafetensors(shifted.subarray(1)).tensors;
    expect(copied.get('a')!.data.buffer).not.toBe(shifted.buffer);
    expect([...copied.get('a')!.data]).toEqual([1, 2, 3]);
  });
});

describe('safetensors: writing', () => {
  it('round trips F32 tensors and metadata, header 8-byte aligned', () => {
    const tensors = new Map<string, Tensor>([
      ['conv1.weight', new Tensor(Float32Array.from({ length: 2 * 3 * 3 * 3 }, (_, i) => i / 7 - 1), [2, 3, 3, 3])],
      ['scalar', new Tensor(Float32Array.of(Math.PI), [])],
      ['empty', new Tensor(new Float32Array(0), [0, 4])],
      ['odd.name:with/chars', new Tensor(Float32Array.of(-0, Infinity, 1e-40), [3])],
    ]);
    const bytes = writeSafetensors(tensors, { source: 'test' });
    const headerLength = new DataView(bytes.buffer).getUint32(0, true);
    expect((8 + headerLength) % 8).toBe(0);
    const back = readCheckpoint(bytes);
    expect(back.format).toBe('safetensors');
    expect(back.metadata).toEqual({ source: 'test' });
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [k, t] of tensors) {
      expect(back.tensors.get(k)!.shape).toEqual(t.shape);
      expect(back.tensors.get(k)!.dtype).toBe('float32');
      expect(Object.is(back.tensors.get(k)!.data[0], t.data[0]) || t.data.length === 0).toBe(true);
      expect([...back.tensors.get(k)!.data]).toEqual([...t.data]);
    }
  });

  it('round trips a real file (silero-vad) value for value', () => {
    const rel = 'weights/formats/silero-vad/silero_vad_16k.safetensors';
    if (!sharedAvailable(rel)) return;
    const original = readSafetensors(new Uint8Array(readShared(rel)));
    const again = readSafetensors(writeSafetensors(original.tensors));
    expect(again.tensors.size).toBe(15);
    for (const [k, t] of original.tensors) {
      const u = again.tensors.get(k)!;
      expect(u.shape).toEqual(t.shape);
      expect(Buffer.from(u.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
    }
  });

  it('refuses a tensor whose data does not match its shape', () => {
    const bad = { data: new Float32Array(5), shape: [2, 3] };
    expect(() => writeSafetensors([['w', bad]])).toThrow(/'w' has shape \[2, 3\] \(6 elements\) but 5 values/);
  });
});

describe('safetensors: invalid files give specific errors', () => {
  const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than the length field', Uint8Array.of(1, 2, 3), /3 bytes, fewer than the 8-byte header length/],
    ['header length beyond the file', concat([[0xe8, 0x03, 0, 0, 0, 0, 0, 0], [0x7b, 0x7d]]), /header length 1000 runs past the end of the file \(10 bytes, at most 2 available\)/],
    ['header is not JSON', rawSafetensors('{"w": [', []), /not valid UTF-8 JSON/],
    ['header is an array', rawSafetensors('[1, 2]'), /must be a JSON object, found an array/],
    ['unknown dtype', rawSafetensors({ w: { dtype: 'Q4', shape: [2], data_offsets: [0, 1] } }, [0]), /tensor 'w' has unknown or unsupported dtype "Q4"/],
    ['negative dimension', rawSafetensors({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /tensor 'w' has an invalid shape \[-1\]/],
    ['offsets outside the data', rawSafetensors(ok, f32bytes([1])), /tensor 'w' data_offsets \[0, 8\] lie outside the 4-byte data section/],
    ['offsets reversed', rawSafetensors({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32bytes([1])), /data_offsets \[4, 0\] lie outside/],
    ['size does not match dtype x shape', rawSafetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32bytes([1, 2])), /'w' is F32 \[3\] = 12 bytes, but data_offsets \[0, 8\] span 8/],
    [
      'overlapping tensors',
      rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32bytes([1, 2, 3])),
      /tensors 'a' \[0, 8\] and 'b' \[4, 12\] overlap/,
    ],
    ['metadata not strings', rawSafetensors({ __metadata__: { n: 3 } }), /__metadata__ value 'n' must be a string, found number/],
    ['entry not an object', rawSafetensors({ w: 5 }), /entry 'w' must be an object/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      let error: unknown;
      try {
        readSafetensors(bytes);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SafetensorsError);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('refuses bytes that belong to no tensor (the format forbids them; issue 17)', () => {
    expect(() => readSafetensors(rawSafetensors(ok, f32bytes([1, 2, 3])))).toThrow(
      /safetensors: 4 of the 12 data bytes belong to no tensor \(expected the tensors to cover the data section exactly/,
    );
  });
});
