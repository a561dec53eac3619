/**
 * Host-side planning for the WebGPU backend, free of any GPU object so it can be tested anywhere:
 * the liveness plan that lets intermediate values share buffers, dispatch grids and conv tiles.
 */
import type { FusedNode } from '../fuse.js';

/** The values a fused node reads. */
export function fusedInputs(n: FusedNode): readonly string[] {
  if (n.op === 'add') return n.inputs;
  if (n.op === 'conv' && n.residual) return [n.input, n.residual];
  return [n.input];
}

export interface MemoryPlan {
  /** Size in bytes of each shared buffer. */
  readonly slotBytes: number[];
  /** The buffer each value lives in. */
  readonly slotOf: Map<string, number>;
}

/**
 * Greedy liveness plan over the node order. A node's output gets a buffer before the node's inputs
 * are released, so no kernel ever reads and writes the same buffer. A released buffer is reused by
 * the next value that fits it best (the smallest big enough, else the largest, which then grows).
 * Graph outputs stay live to the end: they are read back after the last kernel.
 */
export function planMemory(
  input: string,
  nodes: readonly FusedNode[],
  outputs: readonly string[],
  bytesOf: (value: string) => number,
): MemoryPlan {
  const lastUse = new Map<string, number>();
  nodes.forEach((n, i) => fusedInputs(n).forEach((v) => lastUse.set(v, i)));
  for (const v of outputs) lastUse.set(v, Infinity);

  const slotBytes: number[] = [];
  const slotOf = new Map<string, number>();
  const free: number[] = [];
  const take = (value: string) => {
    const need = bytesOf(value);
    let best = -1;
    for (const s of free) {
      const fits = slotBytes[s] >= need;
      const bestFits = best >= 0 && slotBytes[best] >= need;
      if (best < 0 || (fits && (!bestFits || slotBytes[s] < slotBytes[best])) || (!fits && !bestFits && slotBytes[s] > slotBytes[best])) best = s;
    }
    if (best < 0) {
      best = slotBytes.length;
      slotBytes.push(need);
    } else {
      free.splice(free.indexOf(best), 1);
      slotBytes[best] = Math.max(slotBytes[best], need);
    }
    slotOf.set(value, best);
  };
  const release = (value: string, i: number) => {
    if (lastUse.get(value) === i) free.push(slotOf.get(value)!);
  };

  take(input);
  if (!lastUse.has(input)) lastUse.set(input, -1);
  nodes.forEach((n, i) => {
    take(n.output);
    new Set(fusedInputs(n)).forEach((v) => release(v, i));
    // A value nobody reads (not an output either) is free as soon as it is written.
    if (!lastUse.has(n.output)) free.push(slotOf.get(n.output)!);
  });
  return { slotBytes, slotOf };
}

/** WebGPU's default limit on workgroups per grid dimension. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/** A 1-D problem of `total` threads on a 2-D grid of `workgroupSize`-thread groups. */
export function gridFor(total: number, workgroupSize: number, maxPerDim = MAX_WORKGROUPS_PER_DIM): [number, number, number] {
  const groups = Math.max(1, Math.ceil(total / workgroupSize));
  const x = Math.min(groups, maxPerDim);
  const y = Math.ceil(groups / x);
  if (y > maxPerDim) throw new RangeError(`${total} elements need ${groups} workgroups, more than ${maxPerDim}^2`);
  return [x, y, 1];
}

export interface ConvTile {
  /** Threads along m (output pixels) and n (output channels); each thread owns 4 x 4 outputs. */
  readonly wgM: number;
  readonly wgN: number;
}

const pow2ceil = (v: number) => 2 ** Math.ceil(Math.log2(Math.max(1, v)));

/**
 * Threads of a conv workgroup for an M x N GEMM (M output pixels, N output channels of a group):
 * just enough to cover small problems (the last stage at batch 1, a 4-channel ResNeXt group, the
 * linear layer at batch 1), else 16 x 16 threads for a 64 x 64 tile. Bounded by 256 threads and by
 * 16 KiB of workgroup memory (tiles of 16 x 4*wgM and 16 x 4*wgN floats: wgM + wgN <= 64).
 */
export function convTile(m: number, n: number): ConvTile {
  let wgM = Math.min(32, pow2ceil(Math.ceil(m / 4)));
  let wgN = Math.min(32, pow2ceil(Math.ceil(n / 4)));
  while (wgM * wgN > 256 || wgM + wgN > 48) {
    if (wgN >= wgM) wgN /= 2;
    else wgM /= 2;
  }
  return { wgM, wgN };
}

/** The conv kernel's k step (TK in conv2d-tiled.wgsl.ts). */
export const CONV_TK = 16;
/**
 * Workgroups a conv should have to keep a large GPU busy; fewer are made up by slicing K. Measured
 * on an NVIDIA H200 (132 SMs) against 128 and 512, and slices of at least 16 k steps: this pair was
 * fastest at batch 1 (ResNet-50 3.2 ms, 4.9 with 128/16) and within noise of the best at batch 8.
 */
export const SPLIT_K_TARGET_WORKGROUPS = 256;
/** The fewest k steps (of CONV_TK) a slice of K walks: 8, i.e. 128 k; 16 was slower on the H200 at batch 1. */
export const SPLIT_K_MIN_STEPS = 8;
/** At most this many slices. */
export const SPLIT_K_MAX = 32;

export interface SplitK {
  /** Slices of K (1: no split). */
  readonly slices: number;
  /** k per slice, a multiple of CONV_TK. */
  readonly sliceK: number;
}

/**
 * How a tiled conv's K is sliced: a conv of `workgroups` M x N tiles (all groups) that cannot fill
 * SPLIT_K_TARGET_WORKGROUPS gets ceil(target / workgroups) slices, as many as leave each slice at
 * least SPLIT_K_MIN_STEPS k steps. ResNet-50 at batch 1: layer4's 3x3 convs (8 tiles, K = 4608)
 * take 32 slices of 144, layer3's (16 tiles, K = 2304) 16 of 144, the linear layer 16 of 128,
 * layer1's 3x3 convs (49 tiles, K = 576) 4 of 144.
 */
export function splitK(workgroups: number, k: number): SplitK {
  const steps = Math.ceil(k / CONV_TK);
  const want = Math.ceil(SPLIT_K_TARGET_WORKGROUPS / Math.max(1, workgroups));
  const most = Math.floor(steps / SPLIT_K_MIN_STEPS);
  const slices = Math.min(want, most, SPLIT_K_MAX);
  if (slices < 2) return { slices: 1, sliceK: k };
  const sliceSteps = Math.ceil(steps / slices);
  // Rounding the slice up can leave the last one empty: recount.
  return { slices: Math.ceil(steps / sliceSteps), sliceK: sliceSteps * CONV_TK };
}
