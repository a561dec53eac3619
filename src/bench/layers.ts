/**
 * The per-layer table of `resnet bench --layers`: instrumented forwards of the whole model (each of
 * the backend's nodes timed; see Executable.profile) averaged node by node, with each layer's MACs,
 * GFLOP/s and share of the SIMD peak probed in the same run. Means, not medians, so that the rows
 * and the unattributed rest add up exactly to the mean forward.
 */
import type { ForwardProfile } from '../backends/backend.js';
import type { SummaryRow } from '../models/summary.js';

export interface LayerRow {
  /** Module path (a fused conv: the conv's, its BN, residual add and ReLU included). */
  readonly layer: string;
  readonly op: string;
  /** The kernel that ran it: gemm, winograd, winograd-s2, grouped, stem for convs; the op otherwise. */
  readonly kernel: string;
  readonly outputShape: readonly number[];
  /** Multiply-accumulates of the whole batch (convs and the classifier; 0 for pools, adds, ...). */
  readonly macs: number;
  /** Mean wall-clock ms over the instrumented forwards. */
  readonly ms: number;
  /** 2 x MACs / ms: a Winograd conv shows its effective rate (it can pass 100% of peak); null without MACs. */
  readonly gflops: number | null;
  /** gflops over the probed peak, in percent; null without MACs. */
  readonly peakPercent: number | null;
}

export interface LayerTable {
  readonly rows: LayerRow[];
  /** Instrumented forwards averaged. */
  readonly runs: number;
  /** Mean wall-clock ms of the instrumented forwards (= layersMs + otherMs). */
  readonly totalMs: number;
  /** Sum of the rows' ms. */
  readonly layersMs: number;
  /** Time in the forward outside every node: layout transposes in and out, copying outputs, the timer itself. */
  readonly otherMs: number;
  /** The f32x4 peak the percentages are of, GFLOP/s. */
  readonly peakGflops: number;
}

/** GFLOP/s of `macs` multiply-accumulates (2 flops each) in `ms`. */
export function gflopsOf(macs: number, ms: number): number {
  return (2 * macs) / ms / 1e6;
}

/** MACs per layer name from a model summary's rows (module paths: the same names the backend's nodes carry). */
export function macsByLayer(rows: readonly Pick<SummaryRow, 'name' | 'macs'>[]): Map<string, number> {
  return new Map(rows.map((r) => [r.name, r.macs]));
}

/** Averages instrumented forwards into the per-layer table; every profile must list the same nodes in the same order. */
export function layerTable(profiles: readonly ForwardProfile[], macs: ReadonlyMap<string, number>, peakGflops: number): LayerTable {
  if (profiles.length === 0) throw new RangeError('layerTable: expected at least one profiled forward, got none');
  if (!(peakGflops > 0)) throw new RangeError(`layerTable: expected a positive peak GFLOP/s, got ${peakGflops}`);
  const first = profiles[0].nodes;
  const sums = new Float64Array(first.length);
  let total = 0;
  for (const [i, p] of profiles.entries()) {
    if (p.nodes.length !== first.length) {
      throw new RangeError(`layerTable: profile ${i} has ${p.nodes.length} nodes, expected ${first.length} like profile 0`);
    }
    p.nodes.forEach((n, j) => {
      if (n.name !== first[j].name) throw new RangeError(`layerTable: profile ${i} node ${j} is '${n.name}', expected '${first[j].name}' like profile 0`);
      sums[j] += n.ms;
    });
    total += p.totalMs;
  }
  const runs = profiles.length;
  const rows = first.map((n, j): LayerRow => {
    const ms = sums[j] / runs;
    const m = macs.get(n.name) ?? 0;
    const gflops = m > 0 && ms > 0 ? gflopsOf(m, ms) : null;
    return {
      layer: n.name,
      op: n.op,
      kernel: n.kernel,
      outputShape: [...n.outputShape],
      macs: m,
      ms,
      gflops,
      peakPercent: gflops === null ? null : (100 * gflops) / peakGflops,
    };
  });
  const totalMs = total / runs;
  const layersMs = rows.reduce((a, r) => a + r.ms, 0);
  // Each profile's total brackets all of its nodes, so the rest is never negative but for rounding.
  const otherMs = Math.max(0, totalMs - layersMs);
  return { rows, runs, totalMs: layersMs + otherMs, layersMs, otherMs, peakGflops };
}
