/**
 * Convolution as an implicit GEMM tiled in registers only, with the epilogue fused:
 *   y = relu?(conv(x, w) + bias + residual?)
 *
 * Same GEMM view as conv2d-tiled.wgsl.ts (m = output pixel, n = output channel of group g,
 * k = (ci, ky, kx)), but each invocation owns a 4 x 8 tile (4 pixels x 8 channels, the channels
 * as two vec4s) and reads x and w straight from storage: no workgroup memory and no
 * barrier. This is the branch for CPU adapters (SwiftShader, lavapipe, WARP), where barriers
 * are expensive (SwiftShader runs the invocations of a workgroup as coroutines that switch at
 * each one) and the CPU caches already give the reuse that workgroup tiles give a GPU. Measured
 * on SwiftShader: ResNet-18 at 64x64, batch 4 took 27 s with the tiled kernel, 2-4 s with this. Every size is a uniform, so one pipeline serves all convs: on a CPU
 * JIT the pipeline compile, not the arithmetic, dominates small models.
 *
 * w is packed at compile time as [groups][K][ceil(COUT_G / 8) * 2] vec4s, zero-padded channels.
 * On SwiftShader a storage load costs more than a vec4 FMA, so the tile is sized to maximise
 * arithmetic per load: 6 loads (4 taps, 2 weight vec4s) feed 32 multiply-adds. Invocation t
 * takes pixels t, t + Q, t + 2Q, t + 3Q (Q = ceil(M / 4)), so neighbouring invocations (one SIMD
 * vector on a CPU) read neighbouring input pixels of a stride-1 conv, write neighbouring outputs
 * and read the same weights: contiguous or broadcast loads instead of gathers.
 */
export const conv2dRegtileWgsl: string = /* wgsl */ `
struct Params {
  inC: u32,      // input channels, all groups
  inH: u32,
  inW: u32,
  outC: u32,     // output channels, all groups
  outH: u32,
  outW: u32,
  cinG: u32,     // input channels per group
  coutG: u32,    // output channels per group
  kh: u32,
  kw: u32,
  sh: u32,
  sw: u32,
  padT: u32,
  padL: u32,
  dh: u32,
  dw: u32,
  M: u32,        // batch * outH * outW
  quarter: u32,  // Q = ceil(M / 4), the invocations along m
  nBlocks: u32,  // ceil(coutG / 8)
  flags: u32,    // bit 0: ReLU, bit 1: residual
}

const RELU = 1u;
const RESIDUAL = 2u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // NCHW [N, inC, inH, inW]
@group(0) @binding(2) var<storage, read> w: array<vec4f>;       // [groups, K, nBlocks, 2]
@group(0) @binding(3) var<storage, read> bias: array<f32>;      // [outC]
@group(0) @binding(4) var<storage, read> residual: array<f32>;  // like y (bias again when unused)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;   // NCHW [N, outC, outH, outW]

/** Where the window of output pixel m starts: offset of its image's channel g * cinG, top, left. */
struct Window {
  base: u32,
  y0: i32,
  x0: i32,
}

fn window(m: u32, g: u32) -> Window {
  let outHW = p.outH * p.outW;
  let b = m / outHW;
  let pix = m % outHW;
  let y0 = i32((pix / p.outW) * p.sh) - i32(p.padT);
  let x0 = i32((pix % p.outW) * p.sw) - i32(p.padL);
  return Window((b * p.inC + g * p.cinG) * p.inH * p.inW, y0, x0);
}

/** Tap (ky, kx) of a window: where it is in channel 0 of the group, and whether it is inside the input. */
struct Tap {
  index: u32,
  inside: bool,
}

fn tapOf(win: Window, ky: u32, kx: u32) -> Tap {
  let iy = win.y0 + i32(ky * p.dh);
  let ix = win.x0 + i32(kx * p.dw);
  let inside = iy >= 0 && iy < i32(p.inH) && ix >= 0 && ix < i32(p.inW);
  // Outside, read some in-bounds element and discard it: no branch around the load.
  let cy = u32(clamp(iy, 0, i32(p.inH) - 1));
  let cx = u32(clamp(ix, 0, i32(p.inW) - 1));
  return Tap(win.base + cy * p.inW + cx, inside);
}

fn load(t: Tap, plane: u32) -> vec4f {
  return vec4f(select(0.0, x[t.index + plane], t.inside));
}

/** Epilogue of one pixel: bias, residual, ReLU, for the valid channels of a vec4 of channels n0... */
fn store(m: u32, g: u32, n0: u32, acc: vec4f) {
  if (m >= p.M) {
    return;
  }
  let outHW = p.outH * p.outW;
  let b = m / outHW;
  let pix = m % outHW;
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n >= p.coutG) {
      return;
    }
    let co = g * p.coutG + n;
    let idx = (b * p.outC + co) * outHW + pix;
    var v = acc[j] + bias[co];
    if ((p.flags & RESIDUAL) != 0u) {
      v += residual[idx];
    }
    if ((p.flags & RELU) != 0u) {
      v = max(v, 0.0);
    }
    y[idx] = v;
  }
}

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= p.quarter) {
    return;
  }
  let nBlock = gid.y;
  let g = gid.z;
  // The 4 pixels of this invocation, unrolled by hand (a CPU JIT keeps a dynamically indexed
  // private array in memory). Past M, an invocation repeats pixel M - 1 and does not write it.
  let m0 = gid.x;
  let m1 = m0 + p.quarter;
  let m2 = m1 + p.quarter;
  let m3 = m2 + p.quarter;
  let last = p.M - 1u;
  let win0 = window(min(m0, last), g);
  let win1 = window(min(m1, last), g);
  let win2 = window(min(m2, last), g);
  let win3 = window(min(m3, last), g);
  // accPc: pixel P, channels 4c..4c+3 of the block.
  var acc00 = vec4f(0.0);
  var acc01 = vec4f(0.0);
  var acc10 = vec4f(0.0);
  var acc11 = vec4f(0.0);
  var acc20 = vec4f(0.0);
  var acc21 = vec4f(0.0);
  var acc30 = vec4f(0.0);
  var acc31 = vec4f(0.0);

  // k = (ci, ky, kx) with ci innermost: a tap's position and padding test are worked out once per
  // (ky, kx), and the inner loop is loads and FMAs only (a 1x1 conv is a single (ky, kx)).
  let inHW = p.inH * p.inW;
  let taps = p.kh * p.kw;
  for (var ky = 0u; ky < p.kh; ky++) {
    for (var kx = 0u; kx < p.kw; kx++) {
      let t0 = tapOf(win0, ky, kx);
      let t1 = tapOf(win1, ky, kx);
      let t2 = tapOf(win2, ky, kx);
      let t3 = tapOf(win3, ky, kx);
      var wi = ((g * p.cinG * taps + ky * p.kw + kx) * p.nBlocks + nBlock) * 2u;  // w[g][k = (0, ky, kx)][nBlock][0]
      for (var ci = 0u; ci < p.cinG; ci++) {
        let plane = ci * inHW;
        let w0 = w[wi];
        let w1 = w[wi + 1u];
        wi += 2u * taps * p.nBlocks;
        let x0 = load(t0, plane);
        let x1 = load(t1, plane);
        let x2 = load(t2, plane);
        let x3 = load(t3, plane);
        acc00 = fma(x0, w0, acc00);
        acc01 = fma(x0, w1, acc01);
        acc10 = fma(x1, w0, acc10);
        acc11 = fma(x1, w1, acc11);
        acc20 = fma(x2, w0, acc20);
        acc21 = fma(x2, w1, acc21);
        acc30 = fma(x3, w0, acc30);
        acc31 = fma(x3, w1, acc31);
      }
    }
  }

  let n0 = nBlock * 8u;
  store(m0, g, n0, acc00);
  store(m0, g, n0 + 4u, acc01);
  store(m1, g, n0, acc10);
  store(m1, g, n0 + 4u, acc11);
  store(m2, g, n0, acc20);
  store(m2, g, n0 + 4u, acc21);
  store(m3, g, n0, acc30);
  store(m3, g, n0 + 4u, acc31);
}
`;
