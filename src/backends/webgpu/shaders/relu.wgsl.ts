/** y = max(x, 0), for a ReLU that no other kernel could absorb. */
import { flatIndexWgsl } from './flat-index.wgsl.js';

export const reluWgsl: string = /* wgsl */ `
${flatIndexWgsl}
struct Params {
  total: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.total) {
    return;
  }
  y[i] = max(x[i], 0.0);
}
`;
