// The wasm kernels of the library: pointers and sizes only (all f32, NHWC activations).
// Built by scripts/build-wasm.mjs into build/kernels.wasm (SIMD) and build/kernels.relaxed.wasm
// (relaxed SIMD: fused multiply-add, a 6-row GEMM tile); the loader picks one at run time.
export { MR, NR, f32_gemm, linear_f32, gemm_scratch_bytes, gemm_q8_scratch_bytes, conv2d_nhwc, conv_scratch_bytes, conv7x7s2c3_nhwc, stem_scratch_bytes } from './gemm';
export { grouped_conv_nhwc } from './grouped';
export { winograd_nhwc, winograd_scratch_bytes, winograd_block_tiles } from './winograd';
export { pack_gemm_panels, pack_gemm_weights, pack_gemm_weights_q8, pack_gemm_weights_f16, pack_winograd_weights, pack_winograd_part, pack_gemm_part } from './pack';
export { maxpool_nhwc, avgpool_nhwc, global_avgpool_nhwc } from './pool';
export { affine_nhwc, add_f32, relu_f32, shortcut_a_nhwc, nchw_to_nhwc, nhwc_to_nchw, bn_fold_f32 } from './elementwise';
export { peak_probe, peak_probe_flops } from './probe';

import { PACK_TMP_BYTES } from './pack';

/** First free byte after the module's static data and the packer's scratch (pack.ts TMP): the JS side allocates from here. */
export function heap_base(): usize {
  return ((__heap_base + 15) & ~15) + PACK_TMP_BYTES;
}
