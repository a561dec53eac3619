/**
 * Max pooling, one thread per output element; taps in the padding are skipped (PyTorch pads with
 * -inf). Window geometry is specialised with overrides; sizes come from src/shape.ts via the uniforms.
 */
import { flatIndexWgsl } from './flat-index.wgsl.js';
import { windowOverridesWgsl } from './window.wgsl.js';

export const maxpool2dWgsl: string = /* wgsl */ `
${flatIndexWgsl}
struct Params {
  total: u32,  // N * C * outH * outW
  inH: u32,
  inW: u32,
  outH: u32,
  outW: u32,
}

${windowOverridesWgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // NCHW
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // NCHW

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.total) {
    return;
  }
  let ox = i % p.outW;
  let oy = (i / p.outW) % p.outH;
  let plane = i / (p.outW * p.outH);  // n * C + c
  let base = plane * p.inH * p.inW;
  // -inf; a constant expression may not be infinite in WGSL, so it is built at run time.
  let negInfBits = 0xff800000u;
  var best = bitcast<f32>(negInfBits);
  for (var ky = 0u; ky < KH; ky++) {
    let iy = i32(oy * SH + ky * DH) - i32(PAD_T);
    if (iy < 0 || iy >= i32(p.inH)) {
      continue;
    }
    for (var kx = 0u; kx < KW; kx++) {
      let ix = i32(ox * SW + kx * DW) - i32(PAD_L);
      if (ix < 0 || ix >= i32(p.inW)) {
        continue;
      }
      best = max(best, x[base + u32(iy) * p.inW + u32(ix)]);
    }
  }
  y[i] = best;
}
`;
