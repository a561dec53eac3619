/** Mean over H and W: [N, C, H, W] -> [N, C], one thread per (n, c) plane. */
import { flatIndexWgsl } from './flat-index.wgsl.js';

export const globalAvgPoolWgsl: string = /* wgsl */ `
${flatIndexWgsl}
struct Params {
  planes: u32,  // N * C
  hw: u32,      // H * W
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // NCHW
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // [N, C]

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let plane = flatIndex(wid, nwg, lid);
  if (plane >= p.planes) {
    return;
  }
  let base = plane * p.hw;
  var sum = 0.0;
  for (var i = 0u; i < p.hw; i++) {
    sum += x[base + i];
  }
  y[plane] = sum / f32(p.hw);
}
`;
