/**
 * The memory plan: where every activation lives in wasm memory for one input shape. Values whose
 * lifetimes (first write .. last read, in node order) overlap never share bytes; the others reuse
 * them. Placement is greedy by size, largest first, at the lowest offset that fits (see: Pisarchyk
 * & Lee 2020, "Efficient Memory Management for Deep Neural Net Inference", Greedy by Size).
 */

/** One value to place: its size and the node steps it is live over (inclusive). */
export interface Lifetime {
  readonly name: string;
  readonly bytes: number;
  readonly first: number;
  readonly last: number;
}

export interface Placement {
  /** Byte offset of each value from the arena start. */
  readonly offsets: Map<string, number>;
  /** Arena size in bytes. */
  readonly bytes: number;
}

/** Alignment of every buffer (a cache line). */
export const ALIGN = 64;

export const alignUp = (x: number, a = ALIGN): number => Math.ceil(x / a) * a;

export function placeBuffers(values: readonly Lifetime[]): Placement {
  const order = [...values].sort((a, b) => b.bytes - a.bytes || a.first - b.first);
  const placed: { off: number; end: number; first: number; last: number }[] = [];
  const offsets = new Map<string, number>();
  let total = 0;
  for (const v of order) {
    const size = alignUp(v.bytes);
    // Intervals of already placed values that are live at the same time, by offset.
    const busy = placed.filter((p) => p.first <= v.last && v.first <= p.last).sort((a, b) => a.off - b.off);
    let off = 0;
    for (const p of busy) {
      if (p.off - off >= size) break;
      off = Math.max(off, p.end);
    }
    placed.push({ off, end: off + size, first: v.first, last: v.last });
    offsets.set(v.name, off);
    total = Math.max(total, off + size);
  }
  return { offsets, bytes: total };
}

/** Bytes of a wasm memory page. */
const WASM_PAGE = 65536;

/** Grows `memory` to at least `bytes` (whole 64 KiB pages): the executable's memory plan, the warm-up and the BatchNorm fold. */
export function growTo(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (have < bytes) memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
}

