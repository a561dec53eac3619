/**
 * Average pooling, one thread per output element. Taps in the padding add nothing; the divisor of
 * output (oy, ox) is divH[oy] * divW[ox], precomputed on the host by `poolTapCounts` (src/shape.ts)
 * so that ceil_mode and count_include_pad follow PyTorch exactly.
 */
import { flatIndexWgsl } from './flat-index.wgsl.js';
import { windowOverridesWgsl } from './window.wgsl.js';

export const avgpool2dWgsl: string = /* wgsl */ `
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
@group(0) @binding(1) var<storage, read> x: array<f32>;         // NCHW
@group(0) @binding(2) var<storage, read> divisors: array<u32>;  // [outH] taps per row, then [outW] per column
@group(0) @binding(3) var<storage, read_write> y: array<f32>;   // NCHW

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
  var sum = 0.0;
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
      sum += x[base + u32(iy) * p.inW + u32(ix)];
    }
  }
  y[i] = sum / f32(divisors[oy] * divisors[p.outH + ox]);
}
`;
