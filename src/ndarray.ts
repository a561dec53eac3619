/**
 * Interop with scijs `ndarray` views (`{ data, shape, stride, offset }`: what the `ndarray` package
 * makes and `get-pixels` returns), recognised by their fields so that the core needs no dependency.
 * A view may be strided, offset or transposed; it is read element by element into a C-order copy,
 * so a strided view gives exactly what a contiguous copy of it gives.
 * see: scijs/ndarray README (index = offset + sum_i stride[i] * idx[i]), scijs/get-pixels
 */
import type { ImageDataLike } from './image/image.js';
import { Tensor, shapeToString, sizeOf, type TensorLike } from './tensor.js';

/** A strided view: element (i0, i1, ..) sits at `data[offset + i0 * stride[0] + i1 * stride[1] + ..]`. */
export interface NdArrayLike {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly offset: number;
}

/** True for an ndarray-shaped view: numeric-indexable `data`, and `shape` and `stride` of one length. */
export function isNdArray(x: unknown): x is NdArrayLike {
  if (x === null || typeof x !== 'object') return false;
  const v = x as Partial<NdArrayLike>;
  return (
    Array.isArray(v.shape) && Array.isArray(v.stride) && v.shape.length === v.stride.length &&
    typeof v.offset === 'number' && v.data !== null && typeof v.data === 'object' && typeof (v.data as ArrayLike<number>).length === 'number'
  );
}

/** Checks that every element of the view lies inside its data; the message names both. */
function checkBounds(v: NdArrayLike, what: string): void {
  let lo = v.offset;
  let hi = v.offset;
  for (let i = 0; i < v.shape.length; i++) {
    const d = v.shape[i];
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${what}: invalid dimension ${d} in ndarray shape ${shapeToString(v.shape)}`);
    if (!Number.isInteger(v.stride[i])) throw new RangeError(`${what}: ndarray stride ${shapeToString(v.stride)} is not integers`);
    if (d === 0) return;
    const reach = (d - 1) * v.stride[i];
    if (reach < 0) lo += reach;
    else hi += reach;
  }
  if (!Number.isInteger(v.offset) || lo < 0 || hi >= v.data.length) {
    throw new RangeError(
      `${what}: ndarray view (shape ${shapeToString(v.shape)}, stride ${shapeToString(v.stride)}, offset ${v.offset}) ` +
        `reads elements ${lo}..${hi}, but its data has ${v.data.length}`,
    );
  }
}

/** True when the view is the whole of its data in C order (then its data can be used without a copy). */
function isPackedCOrder(v: NdArrayLike): boolean {
  let expected = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.stride[i] !== expected) return false;
    expected *= v.shape[i];
  }
  return v.offset === 0 && v.data.length === expected;
}

/** Copies the view's elements in C order (last axis fastest) into `out`. */
function gather<T extends { [i: number]: number }>(v: NdArrayLike, out: T): T {
  const rank = v.shape.length;
  const size = sizeOf(v.shape);
  if (size === 0) return out;
  const idx = new Array<number>(rank).fill(0);
  let at = v.offset;
  const last = rank - 1;
  for (let k = 0; k < size; k++) {
    out[k] = v.data[at];
    // Odometer over the indices, innermost first; `at` follows with the strides.
    for (let a = last; a >= 0; a--) {
      if (++idx[a] < v.shape[a]) {
        at += v.stride[a];
        break;
      }
      at -= (v.shape[a] - 1) * v.stride[a];
      idx[a] = 0;
    }
  }
  return out;
}

/**
 * An ndarray view as a float32 Tensor of the same shape, in C order. A packed C-order Float32Array
 * view is used as it is; anything else (strided, offset, transposed, another element type) is copied.
 */
export function fromNdarray(view: NdArrayLike, what = 'ndarray'): Tensor {
  checkBounds(view, what);
  if (view.data instanceof Float32Array && isPackedCOrder(view)) return new Tensor(view.data, view.shape);
  return new Tensor(gather(view, new Float32Array(sizeOf(view.shape))), view.shape);
}

/** A Tensor, or an ndarray view converted with `fromNdarray`. */
export function asTensor(x: TensorLike | NdArrayLike, what = 'input'): TensorLike {
  return isNdArray(x) ? fromNdarray(x, what) : x;
}

/**
 * Axis order of an image view. 'whc' is the scijs convention, what get-pixels returns
 * (`pixels.get(x, y, c)`, shape [width, height, channels]); 'hwc' is [height, width, channels]
 * (numpy's, and `ndarray(rgba, [h, w, 4])` on ImageData bytes).
 */
export type ImageLayout = 'whc' | 'hwc';

/**
 * An 8-bit image view ([W, H, C] or [H, W, C], C = 3 or 4) as packed interleaved pixels for
 * `preprocess`. Values are taken as they are (0..255); other element types are named.
 */
export function ndarrayToImage(view: NdArrayLike, layout: ImageLayout = 'whc'): ImageDataLike & { channels: 3 | 4 } {
  const what = 'image ndarray';
  if (view.shape.length !== 3) {
    const hint = view.shape.length === 4 ? ' (a GIF from get-pixels has frames first: pick one with .pick(i))' : '';
    throw new RangeError(`${what}: expected shape [width, height, channels] ('whc', get-pixels) or [height, width, channels] ('hwc'), got rank ${view.shape.length}: ${shapeToString(view.shape)}${hint}`);
  }
  const channels = view.shape[2];
  if (channels !== 3 && channels !== 4) {
    throw new RangeError(`${what}: expected 3 (RGB) or 4 (RGBA) channels on the last axis, got ${shapeToString(view.shape)}`);
  }
  if (!(view.data instanceof Uint8Array || view.data instanceof Uint8ClampedArray)) {
    const found = (view.data as object).constructor?.name ?? typeof view.data;
    throw new TypeError(`${what}: expected 8-bit samples (Uint8Array or Uint8ClampedArray data), got ${found}`);
  }
  checkBounds(view, what);
  // Read as [height, width, channels]: for 'whc', swap the first two axes of the view.
  const hwc: NdArrayLike =
    layout === 'hwc' ? view : { data: view.data, shape: [view.shape[1], view.shape[0], channels], stride: [view.stride[1], view.stride[0], view.stride[2]], offset: view.offset };
  const [height, width] = hwc.shape;
  const data = isPackedCOrder(hwc) ? (view.data as Uint8Array | Uint8ClampedArray) : gather(hwc, new Uint8Array(width * height * channels));
  return { width, height, data, channels };
}

/**
 * A tensor as an ndarray, made by the constructor you pass (`import ndarray from 'ndarray'`), over
 * the same data (no copy): `toNdarray(logits, ndarray).get(0, 281)`.
 */
export function toNdarray<T>(t: TensorLike, ndarray: (data: Float32Array, shape: number[]) => T): T {
  return ndarray(t.data, [...t.shape]);
}
