/** A BatchNorm with no conv to fold into: y = relu?(x * scale[c] + shift[c]) over NCHW. */
import { flatIndexWgsl } from './flat-index.wgsl.js';

export const affineWgsl: string = /* wgsl */ `
${flatIndexWgsl}
struct Params {
  total: u32,  // N * C * H * W
  hw: u32,     // H * W
}

override CHANNELS: u32;
override RELU: bool;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;  // [C]
@group(0) @binding(3) var<storage, read> shift: array<f32>;  // [C]
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.total) {
    return;
  }
  let c = (i / p.hw) % CHANNELS;
  var v = fma(x[i], scale[c], shift[c]);
  if (RELU) {
    v = max(v, 0.0);
  }
  y[i] = v;
}
`;
