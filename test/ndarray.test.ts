/**
 * ndarray interop (issue 16 part 4): forward, preprocess and verify take scijs ndarray views
 * (recognised by their fields; the core imports no `ndarray`), a strided, offset or transposed view
 * gives exactly what a contiguous copy gives (bit for bit: the same float32 values reach the same
 * code), and tensors convert to ndarrays over the same data.
 */
import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import { dump, verify } from '../src/golden.js';
import { preprocess } from '../src/image/preprocess.js';
import { fromNdarray, isNdArray, ndarrayToImage, toNdarray } from '../src/ndarray.js';
import { Tensor } from '../src/tensor.js';

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

describe('fromNdarray reads any view in C order', () => {
  it('a transposed NHWC buffer viewed as NCHW equals the transposed copy', () => {
    const [n, h, w, c] = [2, 3, 4, 3];
    const nhwc = ndarray(seeded(n * h * w * c, 1), [n, h, w, c]);
    const nchw = nhwc.transpose(0, 3, 1, 2); // shape [n, c, h, w], strides [hwc, 1, wc, c]
    const t = fromNdarray(nchw);
    expect(t.shape).toEqual([n, c, h, w]);
    for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      expect(t.data[((b * c + ch) * h + y) * w + x]).toBe(nhwc.get(b, y, x, ch));
    }
  });

  it('a packed float32 view is used without a copy; offset, stepped and float64 views are copied', () => {
    const data = seeded(24, 2);
    expect(fromNdarray(ndarray(data, [2, 3, 4])).data).toBe(data);
    const stepped = ndarray(data, [2, 3, 4]).step(1, -1, 2).lo(0, 1, 0); // reversed rows, every other column, offset
    const t = fromNdarray(stepped);
    expect(t.shape).toEqual([2, 2, 2]);
    expect(t.data[0]).toBe(stepped.get(0, 0, 0));
    expect(t.data[7]).toBe(stepped.get(1, 1, 1));
    const f64 = fromNdarray(ndarray(Float64Array.from([1.5, -2, 3]), [3]));
    expect(f64.data).toBeInstanceOf(Float32Array);
    expect([...f64.data]).toEqual([1.5, -2, 3]);
  });

  it('a view that reads past its data is named with its shape, strides and offset', () => {
    expect(() => fromNdarray({ data: new Float32Array(10), shape: [2, 3], stride: [3, 1], offset: 5 }, 'x')).toThrow(
      /x: ndarray view \(shape \[2, 3\], stride \[3, 1\], offset 5\) reads elements 5\.\.10, but its data has 10/,
    );
    expect(isNdArray({ data: new Float32Array(4), shape: [4] })).toBe(false); // a Tensor-like, not a view
  });

  it('toNdarray wraps a tensor without a copy', () => {
    const t = new Tensor(seeded(6, 3), [2, 3]);
    const a = toNdarray(t, ndarray);
    expect(a.data).toBe(t.data);
    expect(a.shape).toEqual([2, 3]);
    expect(a.get(1, 2)).toBe(t.data[5]);
  });
});

describe('the API takes ndarray views', () => {
  it('model.forward on a strided NCHW view equals forward on the contiguous copy, on wasm and reference', async () => {
    for (const backend of ['wasm', 'reference'] as const) {
      const model = await createModel('resnet20', { backend, seed: 4 });
      const nhwc = ndarray(seeded(2 * 32 * 32 * 3, 5), [2, 32, 32, 3]);
      const view = nhwc.transpose(0, 3, 1, 2);
      const copy = fromNdarray(view);
      expect(copy.data).not.toBe(nhwc.data);
      const a = await model.forward(view);
      const b = await model.forward(new Tensor(Float32Array.from(copy.data), copy.shape));
      expect(a.shape).toEqual([2, 10]);
      expect([...a.data]).toEqual([...b.data]);
      model.dispose();
    }
  });

  it('an NHWC view passed as it is is named, as an NHWC tensor is', async () => {
    const model = await createModel('resnet20', { backend: 'reference' });
    await expect(model.forward(ndarray(new Float32Array(32 * 32 * 3), [1, 32, 32, 3]))).rejects.toThrow(/looks like NHWC/);
    model.dispose();
  });

  it("preprocess: get-pixels' [width, height, 4] view, an [H, W, 4] view and a cropped view equal the ImageData path", () => {
    const [width, height] = [40, 30];
    const rgba = new Uint8Array(width * height * 4);
    rgba.forEach((_, i) => (rgba[i] = (i * 37 + (i >> 5)) & 255));
    const image = { width, height, data: rgba };
    const want = preprocess(image, 'torchvision', { size: 24 });
    // get-pixels: ndarray(data, [h, w, 4]).transpose(1, 0) for JPEG, or [w, h, 4] with strides [4, 4w, 1] for PNG.
    const getPixels = ndarray(rgba, [height, width, 4]).transpose(1, 0);
    expect(getPixels.shape).toEqual([width, height, 4]);
    expect([...preprocess(getPixels, 'torchvision', { size: 24 }).data]).toEqual([...want.data]);
    expect([...preprocess(ndarray(rgba, [width, height, 4], [4, 4 * width, 1]), 'torchvision', { size: 24 }).data]).toEqual([...want.data]);
    expect([...preprocess(ndarray(rgba, [height, width, 4]), 'torchvision', { size: 24, layout: 'hwc' }).data]).toEqual([...want.data]);
    // A cropped view (rows 5..24, columns 8..35) against a packed copy of the crop.
    const crop = ndarray(rgba, [height, width, 4]).hi(25, 36, 4).lo(5, 8, 0);
    const packed = new Uint8Array(20 * 28 * 4);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 28; x++) for (let c = 0; c < 4; c++) packed[(y * 28 + x) * 4 + c] = crop.get(y, x, c);
    expect([...preprocess(crop, 'timm', { size: 16, layout: 'hwc' }).data]).toEqual([...preprocess({ width: 28, height: 20, data: packed }, 'timm', { size: 16 }).data]);
  });

  it('image views that are not 8-bit [W, H, 3|4] are named', () => {
    expect(() => ndarrayToImage(ndarray(new Uint8Array(2 * 5 * 5 * 4), [2, 5, 5, 4]))).toThrow(/got rank 4: \[2, 5, 5, 4\] \(a GIF from get-pixels has frames first/);
    expect(() => ndarrayToImage(ndarray(new Uint8Array(5 * 5 * 2), [5, 5, 2]))).toThrow(/expected 3 \(RGB\) or 4 \(RGBA\) channels on the last axis, got \[5, 5, 2\]/);
    expect(() => ndarrayToImage(ndarray(new Float32Array(5 * 5 * 3), [5, 5, 3]))).toThrow(/expected 8-bit samples \(Uint8Array or Uint8ClampedArray data\), got Float32Array/);
  });

  it('verify takes the input and the golden tensors as ndarray views', async () => {
    const model = await createModel('resnet20', { backend: 'reference', seed: 6 });
    const nhwc = ndarray(seeded(32 * 32 * 3, 7), [1, 32, 32, 3]);
    const input = nhwc.transpose(0, 3, 1, 2);
    const golden = await dump(model, input);
    const views = new Map([...golden].map(([k, t]) => [k, toNdarray(t, ndarray)]));
    const r = await verify(model, input, views);
    expect(r.pass, r.summary).toBe(true);
    expect(r.tensors.every((t) => t.maxAbs === 0)).toBe(true); // same backend, same input: identical
    const logits = golden.get('linear')!;
    const flipped = ndarray(Float32Array.from(logits.data).reverse(), [1, 10]).step(1, -1); // the same values through a reversed view
    expect((await verify(model, input, flipped)).pass).toBe(true);
    model.dispose();
  });
});
