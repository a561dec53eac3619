// Direct grouped convolution for narrow groups (4 or 8 output channels per group, input channels
// per group a multiple of 4: the 3x3 convs of ResNeXt 32x4d stages 1-2). There a GEMM per group
// has only 4-8 columns and 36-72 depth, and gathering plus packing its rows cost as much as its
// multiply-adds (measured: 7-17 GFLOP/s through im2col + GEMM).
//
// out[pixel][g*coutG + o] = bias + sum over taps inside the input and the group's channels of
// in[tap pixel][g*cinG + ci] * w[g][o][ci][ky][kx], in f32x4 lanes over o. The weights are read from
// the GEMM's packed panel (gemm.ts: per group 8 bias floats, then 8 floats per (ky, kx, ci)), so
// both kernels share one weight layout. Four horizontally adjacent output pixels whose windows
// are all inside the row run together: they share each weight load and give four independent
// accumulator chains; border pixels run one at a time with their clipped windows.

import { mac, partStart } from './gemm';

/** relu?(acc + residual?) stored at out (the residual read from res when res != 0). */
// @ts-ignore: decorator
@inline function finish(out: usize, res: usize, acc: v128, relu: bool): void {
  if (res != 0) acc = f32x4.add(acc, v128.load(res));
  if (relu) acc = f32x4.max(acc, f32x4.splat(0));
  v128.store(out, acc);
}

/**
 * Grouped conv (coutG 4 or 8, cinG a multiple of 4) of an NHWC input by weights packed as for
 * conv2d_nhwc (one panel of depth kh*kw*cinG per group), with the fused epilogue
 * relu?(conv + bias + residual?). residual: NHWC of the output's shape, 0 if none.
 */
export function grouped_conv_nhwc(
  n: i32, h: i32, w: i32, cin: i32,
  oh: i32, ow: i32, cout: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, groups: i32,
  input: usize, packed: usize, output: usize, residual: usize, relu: bool,
  part: i32, parts: i32, partBytes: i32,
): void {
  const cinG = cin / groups;
  const coutG = cout / groups;
  const panelB = <usize>(8 + 8 * kh * kw * cinG) << 2;
  const pixB = <usize>cin << 2;
  const outPixB = <usize>cout << 2;
  const tapB = <usize>cinG << 5; // panel bytes of one tap: 8 floats per input channel
  const cinGB = <usize>cinG << 2;
  const stepB = <usize>sw * pixB; // input bytes between horizontally adjacent output pixels
  // Output columns whose whole window row is inside the input: x in [xa, xb).
  let xa = 0;
  while (xa < ow && xa * sw - pl < 0) xa++;
  let xb = ow;
  while (xb > xa && (xb - 1) * sw - pl + (kw - 1) * dw >= w) xb--;
  // Threads: each part takes a range of output rows over all images (see partStart in gemm.ts).
  const r0 = parts > 1 ? partStart(n * oh, part, parts) : 0;
  const r1 = parts > 1 ? partStart(n * oh, part + 1, parts) : n * oh;
  for (let r = r0; r < r1; r++) {
    const b = r / oh;
    const y = r - b * oh;
    const iy0 = y * sh - pt;
    // Kernel rows inside the input: ky in [ky0, ky1).
    let ky0 = 0;
    while (ky0 < kh && iy0 + ky0 * dh < 0) ky0++;
    let ky1 = kh;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * dh >= h) ky1--;
    let x = 0;
    while (x < ow) {
      const quad = x >= xa && x + 4 <= xb;
      const ix0 = x * sw - pl;
      let kx0 = 0;
      let kx1 = kw;
      if (!quad) {
        while (kx0 < kw && ix0 + kx0 * dw < 0) kx0++;
        while (kx1 > kx0 && ix0 + (kx1 - 1) * dw >= w) kx1--;
      }
      const pix = <usize>((b * oh + y) * ow + x);
      const out = output + pix * outPixB;
      const res = residual != 0 ? residual + pix * outPixB : 0;
      // The input pixel of tap (0, 0) (possibly outside: only taps inside are read).
      const origin = input + <usize>((b * h + iy0) * w + ix0) * pixB;
      let wg = packed;
      for (let g = 0; g < groups; g++, wg += panelB) {
        const src0 = origin + <usize>g * cinGB;
        const gOff = <usize>(g * coutG) << 2;
        let p0a = v128.load(wg);
        let p0b = v128.load(wg, 16);
        if (quad) {
          let p1a = p0a, p1b = p0b, p2a = p0a, p2b = p0b, p3a = p0a, p3b = p0b;
          for (let ky = ky0; ky < ky1; ky++) {
            let s = src0 + <usize>(ky * dh * w) * pixB;
            let wp = wg + 32 + <usize>(ky * kw) * tapB;
            for (let kx = 0; kx < kw; kx++, s += <usize>dw * pixB) {
              const sEnd = s + cinGB;
              if (coutG == 8) {
                for (let c = s; c < sEnd; c += 4, wp += 32) {
                  const wa = v128.load(wp);
                  const wb = v128.load(wp, 16);
                  const a0 = v128.load32_splat(c);
                  p0a = mac(p0a, a0, wa);
                  p0b = mac(p0b, a0, wb);
                  const a1 = v128.load32_splat(c + stepB);
                  p1a = mac(p1a, a1, wa);
                  p1b = mac(p1b, a1, wb);
                  const a2 = v128.load32_splat(c + 2 * stepB);
                  p2a = mac(p2a, a2, wa);
                  p2b = mac(p2b, a2, wb);
                  const a3 = v128.load32_splat(c + 3 * stepB);
                  p3a = mac(p3a, a3, wa);
                  p3b = mac(p3b, a3, wb);
                }
              } else {
                for (let c = s; c < sEnd; c += 4, wp += 32) {
                  const wa = v128.load(wp);
                  p0a = mac(p0a, v128.load32_splat(c), wa);
                  p1a = mac(p1a, v128.load32_splat(c + stepB), wa);
                  p2a = mac(p2a, v128.load32_splat(c + 2 * stepB), wa);
                  p3a = mac(p3a, v128.load32_splat(c + 3 * stepB), wa);
                }
              }
            }
          }
          finish(out + gOff, res != 0 ? res + gOff : 0, p0a, relu);
          finish(out + outPixB + gOff, res != 0 ? res + outPixB + gOff : 0, p1a, relu);
          finish(out + 2 * outPixB + gOff, res != 0 ? res + 2 * outPixB + gOff : 0, p2a, relu);
          finish(out + 3 * outPixB + gOff, res != 0 ? res + 3 * outPixB + gOff : 0, p3a, relu);
          if (coutG == 8) {
            finish(out + gOff + 16, res != 0 ? res + gOff + 16 : 0, p0b, relu);
            finish(out + outPixB + gOff + 16, res != 0 ? res + outPixB + gOff + 16 : 0, p1b, relu);
            finish(out + 2 * outPixB + gOff + 16, res != 0 ? res + 2 * outPixB + gOff + 16 : 0, p2b, relu);
            finish(out + 3 * outPixB + gOff + 16, res != 0 ? res + 3 * outPixB + gOff + 16 : 0, p3b, relu);
          }
        } else {
          for (let ky = ky0; ky < ky1; ky++) {
            let s = src0 + <usize>(ky * dh * w + kx0 * dw) * pixB;
            let wp = wg + 32 + <usize>(ky * kw + kx0) * tapB;
            for (let kx = kx0; kx < kx1; kx++, s += <usize>dw * pixB) {
              const sEnd = s + cinGB;
              for (let c = s; c < sEnd; c += 4, wp += 32) {
                const a = v128.load32_splat(c);
                p0a = mac(p0a, a, v128.load(wp));
                p0b = mac(p0b, a, v128.load(wp, 16));
              }
            }
          }
          finish(out + gOff, res != 0 ? res + gOff : 0, p0a, relu);
          if (coutG == 8) finish(out + gOff + 16, res != 0 ? res + gOff + 16 : 0, p0b, relu);
        }
      }
      x += quad ? 4 : 1;
    }
  }
}
