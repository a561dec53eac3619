/**
 * The one tensor type of the library: float32 data in C order (row-major) with a shape.
 * Images and feature maps are NCHW: index = ((n * C + c) * H + h) * W + w.
 */

/** Anything with float32 data and a shape: what the public API accepts. */
export interface TensorLike {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export class Tensor implements TensorLike {
  readonly data: Float32Array;
  readonly shape: number[];

  constructor(data: Float32Array, shape: readonly number[]) {
    const expected = sizeOf(shape);
    if (data.length !== expected) {
      throw new RangeError(
        `Tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${expected}`,
      );
    }
    this.data = data;
    this.shape = [...shape];
  }

  static zeros(shape: readonly number[]): Tensor {
    return new Tensor(new Float32Array(sizeOf(shape)), shape);
  }

  static from(t: TensorLike): Tensor {
    return t instanceof Tensor ? t : new Tensor(t.data, t.shape);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Same data, new shape (sizes must agree). */
  reshape(shape: readonly number[]): Tensor {
    return new Tensor(this.data, shape);
  }
}

/** Number of elements of a shape; [] is a scalar (1 element). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function shapeToString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
