/**
 * The CIFAR "option A" shortcut: y = zero-pad channels(x[:, :, ::S, ::S]) with PAD_C zero channels
 * on each side (He et al. 2015, sec. 4.2; akamaster's LambdaLayer). One thread per output element.
 */
import { flatIndexWgsl } from './flat-index.wgsl.js';

export const shortcutAWgsl: string = /* wgsl */ `
${flatIndexWgsl}
struct Params {
  total: u32,  // N * (CIN + 2 * PAD_C) * outH * outW
  inH: u32,
  inW: u32,
  outH: u32,
  outW: u32,
}

override CIN: u32;
override PAD_C: u32;
override STRIDE: u32;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // NCHW [N, CIN, inH, inW]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // NCHW [N, CIN + 2 * PAD_C, outH, outW]

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.total) {
    return;
  }
  let cout = CIN + 2u * PAD_C;
  let ox = i % p.outW;
  let oy = (i / p.outW) % p.outH;
  let c = (i / (p.outW * p.outH)) % cout;
  let b = i / (p.outW * p.outH * cout);
  var v = 0.0;
  if (c >= PAD_C && c < PAD_C + CIN) {
    v = x[((b * CIN + c - PAD_C) * p.inH + oy * STRIDE) * p.inW + ox * STRIDE];
  }
  y[i] = v;
}
`;
