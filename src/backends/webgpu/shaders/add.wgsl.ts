/** Elementwise y = relu?(a + b) of equal shapes: the residual add that no conv could absorb. */
import { flatIndexWgsl } from './flat-index.wgsl.js';

export const addWgsl: string = /* wgsl */ `
${flatIndexWgsl}
struct Params {
  total: u32,
}

override RELU: bool;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.total) {
    return;
  }
  var v = a[i] + b[i];
  if (RELU) {
    v = max(v, 0.0);
  }
  y[i] = v;
}
`;
