/**
 * The second half of a split-K conv (conv2d-tiled.wgsl.ts): y = relu?(sum of the SPLIT slices'
 * partial sums + bias + residual?), one thread per output element of NCHW y. The slices are added
 * in order, so a run is deterministic.
 */
import { flatIndexWgsl } from './flat-index.wgsl.js';

export const splitkReduceWgsl: string = /* wgsl */ `
${flatIndexWgsl}
struct Params {
  total: u32,  // elements of y: N * COUT * outH * outW
  outHW: u32,
}

override SPLIT: u32;
override COUT: u32;
override HAS_RESIDUAL: bool;
override RELU: bool;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;   // [SPLIT][total]
@group(0) @binding(2) var<storage, read> bias: array<f32>;      // [COUT]
@group(0) @binding(3) var<storage, read> residual: array<f32>;  // like y (bias again when unused)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.total) {
    return;
  }
  var sum = 0.0;
  for (var s = 0u; s < SPLIT; s++) {
    sum += partial[s * p.total + i];
  }
  var v = sum + bias[(i / p.outHW) % COUT];
  if (HAS_RESIDUAL) {
    v += residual[i];
  }
  if (RELU) {
    v = max(v, 0.0);
  }
  y[i] = v;
}
`;
