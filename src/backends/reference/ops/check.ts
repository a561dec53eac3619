/**
 * Boundary checks shared by the reference ops. Each throws a RangeError that names the op, what it
 * expected and what it found; the loops behind them trust their inputs.
 */
import { sameShape, shapeToString, type Tensor } from '../../../tensor.js';

/** `t` must have rank `rank`; `layout` names the axes, e.g. 'NCHW'. */
export function expectRank(op: string, what: string, t: Tensor, rank: number, layout: string): void {
  if (t.shape.length !== rank) {
    throw new RangeError(`${op}: ${what} must be ${layout} (rank ${rank}), got rank ${t.shape.length}: ${shapeToString(t.shape)}`);
  }
}

/** `t` must have exactly `shape`. */
export function expectShape(op: string, what: string, t: Tensor, shape: readonly number[]): void {
  if (!sameShape(t.shape, shape)) {
    throw new RangeError(`${op}: ${what} must have shape ${shapeToString(shape)}, got ${shapeToString(t.shape)}`);
  }
}

/** A per-channel vector ([C]) of a channel-wise op. */
export function expectVector(op: string, what: string, t: Tensor, length: number): void {
  expectShape(op, what, t, [length]);
}

/** An axis in [-rank, rank) resolved to [0, rank). */
export function resolveAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(`${op}: axis must be an integer in [${-rank}, ${rank - 1}] for a rank-${rank} input, got ${axis}`);
  }
  return axis < 0 ? axis + rank : axis;
}
