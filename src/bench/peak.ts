/**
 * The f32x4 multiply-add peak of this engine on this machine (assembly/probe.ts, shipped in both
 * kernel builds): 12 independent accumulator chains in registers, no memory traffic. It is the 100%
 * of the per-layer table's "% of peak", probed in the same process as the layers it rates.
 */
import type { WasmBackendOptions } from '../backends/wasm/features.js';
import { instantiateKernels, loadKernelModule, type KernelExports, type KernelVariant } from '../backends/wasm/kernels.js';
import { cpuClock } from './timing.js';

/** Which clock rates the probe: this process's CPU time, or wall time (what the per-layer table's ms are). */
export type ProbeClock = 'cpu' | 'wall';

export interface Peak {
  /** GFLOP/s: best of the probe's runs. */
  readonly gflops: number;
  readonly clock: ProbeClock;
  /** The kernel build probed (plain or relaxed SIMD: relaxed fuses the multiply-add). */
  readonly variant: KernelVariant;
}

/** The probe for a kernel build (`opts` as for createWasmBackend: `relaxed`, `module`). */
export async function peakProbe(opts: WasmBackendOptions = {}, { iters = 5_000_000, repeats = 7, clock = 'cpu' as ProbeClock } = {}): Promise<Peak> {
  const { module, variant } = await loadKernelModule(opts);
  const k = await instantiateKernels(module);
  k.peak_probe(Math.min(iters, 1_000_000), 1); // warm-up: tier-up before the timed runs
  return { gflops: probeGflops(k, iters, repeats, clock), clock, variant };
}

/** The probe on a kernel instance: best GFLOP/s of `repeats` runs of `iters` steps, on CPU time (default) or wall time. */
export function probeGflops(k: KernelExports, iters = 2_000_000, repeats = 5, clock: ProbeClock = 'cpu'): number {
  const now = clock === 'cpu' ? () => cpuClock.fn() as number : () => performance.now();
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = now();
    k.peak_probe(iters, 1 + r);
    const seconds = (now() - t0) / 1e3;
    if (seconds > 0) best = Math.max(best, k.peak_probe_flops(iters) / seconds / 1e9);
  }
  if (best === 0) throw new Error(`peak probe: ${repeats} runs of ${iters} steps took no measurable CPU time; expected a positive duration`);
  return best;
}
