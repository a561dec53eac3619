/**
 * Warms a freshly compiled kernels module: V8 compiles wasm functions lazily, each first with its
 * baseline compiler (Liftoff, about 3x slower code here) and moves a function to optimized code
 * (TurboFan, compiled in the background) only after it has run for a while, and never in the middle
 * of a call. Left alone, a model's first forward runs mostly on baseline code: ResNet-18's took
 * about 40 ms longer than with optimized code from the start (Node 20, 2-core AMD EPYC). So each
 * kernel a forward uses runs here a few dozen times on a tiny input, in an instance of its own on
 * a small memory, which starts its optimization; the compile to optimized code then overlaps the
 * rest of model creation. Values are zeros and the results are thrown away; the instance goes to
 * the module's first executable (kernels.ts takeInstance), whose plans overwrite what they use.
 * Some of that compile is still running when the first forward starts (ResNet-18's first
 * forward took 92-105 ms after a 300 ms pause, 108-140 without, 4 rounds), but neither way of
 * getting it done sooner paid (measured 2026-12-04): every function optimized up front (node
 * --no-liftoff) took 20 ms off the first forward and added 25 to model creation (5 rounds), and
 * warming before the weights are bound rather than after left import to logits the same (15
 * alternating rounds). In Node's entry the stem's first bands usually still run on baseline code
 * (about 2.2 ms each instead of 0.6; 7 to 10 of 10 cold starts of ResNet-18), its optimized code
 * queued behind others': V8 compiles first the functions that passed their budget most often.
 * Warming the stem before the other kernels did not change that (9 of 10); 8 more stem calls on a
 * 16x16 input did (0 of 10), but import to logits did not move (+2.7 ms, paired median of 15): the
 * other kernels then waited longer for theirs. The one spare core's TurboFan work (about 15 ms) is
 * the limit. One turn of the event loop before the first forward (setImmediate) also made the
 * stem fast, every time, but the turn itself took 6-9 ms of this thread (V8's pending tasks),
 * about what it saved (2026-12-04).
 */
import type { KernelExports } from './kernels.js';
import { growTo } from './plan.js';

/** Calls per kernel: enough to pass V8's tiering budget with these shapes (measured, Node 20). */
const CALLS = 24;

/** Runs every kernel of a forward and of weight packing on tiny shapes in `k` (see the file comment). */
export function warmKernels(k: KernelExports): void {
  const c = 16; // channels in and out
  const hw = 8; // input height and width
  const base = (k.heap_base() + 63) & ~63;
  const input = base;
  const output = input + hw * hw * c * 4;
  const packed = output + hw * hw * c * 4;
  const raw = packed + 36 * 2 * (8 + 8 * c) * 4; // the largest packed weights here: Winograd sets
  const scratch = raw + c * c * 49 * 4;
  const scratchBytes = Math.max(
    k.conv_scratch_bytes(hw * hw, 3, 3, 1, 1, 1, 1, c, 1),
    k.winograd_scratch_bytes(c, c, 1),
    k.winograd_scratch_bytes(c, c, 2),
    k.stem_scratch_bytes(hw),
    k.gemm_scratch_bytes(1, c),
  );
  const need = scratch + scratchBytes + 64;
  const memory = k.memory;
  growTo(memory, need);
  for (let i = 0; i < CALLS; i++) {
    k.pack_gemm_panels(c, c, 3, 3, 1, 0, 0, raw, 0, 0, 0, packed, 0);
    k.pack_winograd_weights(1, c, c, 0, c, raw, 0, packed, 0);
    k.nchw_to_nhwc(1, c, hw * hw, input, output);
    k.nhwc_to_nchw(1, c, hw * hw, output, input);
    k.conv7x7s2c3_nhwc(1, hw, hw, hw / 2, hw / 2, 8, 3, 3, input, packed, output, 0, 1, scratch, 0, 1, 0);
    k.maxpool_nhwc(1, hw, hw, c, hw / 2, hw / 2, 3, 3, 2, 2, 1, 1, 1, 1, input, output, 0, 1, 0);
    k.conv2d_nhwc(1, hw, hw, c, hw, hw, c, 1, 1, 1, 1, 0, 0, 1, 1, 1, input, packed, output, input, 1, scratch, 0, 0, 0, 1, 0);
    k.conv2d_nhwc(1, hw, hw, c, hw, hw, c, 3, 3, 1, 1, 1, 1, 1, 1, 1, input, packed, output, 0, 1, scratch, 0, 0, 0, 1, 0);
    k.winograd_nhwc(1, 1, hw, hw, c, hw, hw, c, 1, 1, input, packed, 0, output, input, 1, scratch, 0, 0, 1, 0);
    k.winograd_nhwc(2, 1, hw, hw, c, hw / 2, hw / 2, c, 1, 1, input, packed, 0, output, 0, 1, scratch, 0, 0, 1, 0);
    k.global_avgpool_nhwc(1, hw * hw, c, input, output);
    k.linear_f32(1, c, c, input, packed, output, scratch, 0, 0, 0, 1, 0);
  }
}
