/**
 * Convolution as a tiled implicit GEMM, with the whole epilogue fused:
 *   y = relu?(conv(x, w) + bias + residual?)
 *
 * GEMM view of group g (one layer of the grid per group, `workgroup_id.z`):
 *   C[m, n] = sum_k A[m, k] * B[k, n]
 *   m = (batch, oy, ox), the output pixels          M = N * outH * outW
 *   n = output channel inside the group             COUT_G
 *   k = (ci, ky, kx), the group's input taps        K = CIN_G * KH * KW (the OIHW weight order)
 * A is never materialised (no im2col buffer): each TK-wide slice of it is gathered from x straight
 * into workgroup memory, zero where a tap falls into the padding. B is the weight packed at
 * compile time as [GROUPS][K][COUT_G] so that a tile row is contiguous.
 *
 * Each thread owns TPM x TPN accumulators; its rows are WG_M apart and its columns WG_N apart, so
 * neighbouring threads write neighbouring pixels of the NCHW output.
 * The geometry is specialised with `override` constants (a 1x1 stride-1 conv folds to a plain
 * GEMM); sizes that depend on the input (batch, H, W) come in the uniform block.
 *
 * Split K: where the M x N tiles are too few to fill a GPU (the last stages and the linear layer at
 * small batches: ResNet-50's layer4 at batch 1 is 8 workgroups, each walking K = 4608), the grid's
 * z axis also runs over SPLIT slices of K, KS wide (a multiple of TK). Each slice writes its raw
 * sums to y, then laid out as [SPLIT][N, COUT, outH, outW] in a scratch buffer, and
 * splitk-reduce.wgsl.ts adds the slices and applies the epilogue.
 * The branch for GPUs; CPU adapters take conv2d-regtile.wgsl.ts (see there why).
 * see: the implicit GEMM formulation in NVIDIA CUTLASS docs (implicit_gemm_convolution.md) and
 * onnxruntime-web's conv2d_mm; the linear layer runs through this kernel as a 1x1 conv on [N, F, 1, 1].
 */
import { CONV_TK } from '../plan.js';
import { windowOverridesWgsl } from './window.wgsl.js';

export const conv2dTiledWgsl: string = /* wgsl */ `
struct Params {
  inH: u32,
  inW: u32,
  outH: u32,
  outW: u32,
  M: u32,      // batch * outH * outW
}

override CIN: u32;        // input channels, all groups
override COUT: u32;       // output channels, all groups
override CIN_G: u32;      // input channels per group
override COUT_G: u32;     // output channels per group
${windowOverridesWgsl}
override HAS_RESIDUAL: bool;
override RELU: bool;
override WG_M: u32 = 16u;  // threads along m
override WG_N: u32 = 16u;  // threads along n
override SPLIT: u32 = 1u;  // slices of K (grid z = groups * SPLIT); > 1: y holds the raw partial sums

const TK: u32 = ${CONV_TK}u;   // k step of one tile
const TPM: u32 = 4u;   // output rows (pixels) per thread
const TPN: u32 = 4u;   // output columns (channels) per thread

override K: u32 = CIN_G * KH * KW;
override KS: u32 = K;      // k per slice, a multiple of TK when SPLIT > 1
override TILE_M: u32 = TPM * WG_M;
override TILE_N: u32 = TPN * WG_N;
override THREADS: u32 = WG_M * WG_N;
override TILE_A_LEN: u32 = TK * TILE_M;
override TILE_B_LEN: u32 = TK * TILE_N;
// Gathering the A tile: each thread fills the same ROWS (pixels) at every k step, so their
// windows are worked out once. With fewer threads than rows (WG_N < 4) a thread takes up to 4
// rows, THREADS apart, at every k of the step; otherwise one row at every K_STRIDE-th k.
override ROWS: u32 = max(1u, TILE_M / THREADS);
override K_STRIDE: u32 = max(1u, THREADS / TILE_M);

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // NCHW [N, CIN, inH, inW]
@group(0) @binding(2) var<storage, read> w: array<f32>;         // [GROUPS, K, COUT_G]
@group(0) @binding(3) var<storage, read> bias: array<f32>;      // [COUT]
@group(0) @binding(4) var<storage, read> residual: array<f32>;  // like y (bias again when unused)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;   // NCHW [N, COUT, outH, outW]

var<workgroup> tileA: array<f32, TILE_A_LEN>;  // [TK][TILE_M]
var<workgroup> tileB: array<f32, TILE_B_LEN>;  // [TK][TILE_N]

/** Where the window of output pixel m starts: offset of its image's channel g * CIN_G, top, left. */
struct Window {
  base: u32,
  y0: i32,
  x0: i32,
  valid: bool,  // m < M
}

fn window(m: u32, g: u32) -> Window {
  let outHW = p.outH * p.outW;
  let b = m / outHW;
  let pix = m % outHW;
  let y0 = i32((pix / p.outW) * SH) - i32(PAD_T);
  let x0 = i32((pix % p.outW) * SW) - i32(PAD_L);
  return Window((b * CIN + g * CIN_G) * p.inH * p.inW, y0, x0, m < p.M);
}

/** A[m, k]: tap k = (ci, ky, kx) of a pixel's window, 0 in the padding or past M or K. */
fn loadA(win: Window, k: u32) -> f32 {
  if (!win.valid || k >= K) {
    return 0.0;
  }
  let ci = k / (KH * KW);
  let tap = k % (KH * KW);
  let iy = win.y0 + i32((tap / KW) * DH);
  let ix = win.x0 + i32((tap % KW) * DW);
  if (iy < 0 || iy >= i32(p.inH) || ix < 0 || ix >= i32(p.inW)) {
    return 0.0;
  }
  return x[win.base + (ci * p.inH + u32(iy)) * p.inW + u32(ix)];
}

@compute @workgroup_size(WG_M, WG_N)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) lidx: u32,
) {
  let g = wid.z / SPLIT;
  let slice = wid.z % SPLIT;
  let kBegin = slice * KS;
  let kEnd = min(K, kBegin + KS);
  let m0 = wid.x * TILE_M;
  let n0 = wid.y * TILE_N;
  var acc: array<array<f32, TPN>, TPM>;

  // The A-tile rows this thread gathers, and the k offsets inside a step it gathers them at.
  let row0 = lidx % TILE_M;
  let kStart = lidx / TILE_M;
  var windows: array<Window, 4>;
  for (var r = 0u; r < ROWS; r++) {
    windows[r] = window(m0 + row0 + r * THREADS, g);
  }

  for (var k0 = kBegin; k0 < kEnd; k0 += TK) {
    for (var r = 0u; r < ROWS; r++) {
      for (var kk = kStart; kk < TK; kk += K_STRIDE) {
        tileA[kk * TILE_M + row0 + r * THREADS] = loadA(windows[r], k0 + kk);
      }
    }
    for (var e = lidx; e < TILE_B_LEN; e += THREADS) {
      let k = k0 + e / TILE_N;
      let n = n0 + e % TILE_N;
      var v = 0.0;
      if (k < K && n < COUT_G) {
        v = w[(g * K + k) * COUT_G + n];
      }
      tileB[e] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var a: array<f32, TPM>;
      var b: array<f32, TPN>;
      for (var i = 0u; i < TPM; i++) {
        a[i] = tileA[kk * TILE_M + lid.x + i * WG_M];
      }
      for (var j = 0u; j < TPN; j++) {
        b[j] = tileB[kk * TILE_N + lid.y + j * WG_N];
      }
      for (var i = 0u; i < TPM; i++) {
        for (var j = 0u; j < TPN; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }

  // Epilogue: bias, residual, ReLU, one write per output element; a slice of K writes its raw sums.
  let outHW = p.outH * p.outW;
  let sliceBase = slice * p.M * COUT;
  for (var i = 0u; i < TPM; i++) {
    let m = m0 + lid.x + i * WG_M;
    if (m >= p.M) {
      continue;
    }
    let b = m / outHW;
    let pix = m % outHW;
    for (var j = 0u; j < TPN; j++) {
      let n = n0 + lid.y + j * WG_N;
      if (n >= COUT_G) {
        continue;
      }
      let co = g * COUT_G + n;
      let idx = (b * COUT + co) * outHW + pix;
      if (SPLIT > 1u) {
        y[sliceBase + idx] = acc[i][j];
        continue;
      }
      var v = acc[i][j] + bias[co];
      if (HAS_RESIDUAL) {
        v += residual[idx];
      }
      if (RELU) {
        v = max(v, 0.0);
      }
      y[idx] = v;
    }
  }
}
`;
