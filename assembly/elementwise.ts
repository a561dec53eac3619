// Elementwise ops and layout changes. `count` is in floats; f32x4 steps then a scalar tail.

/** out = relu?(x * scale[ch] + shift[ch]) over `pixels` NHWC rows of c channels (a BatchNorm with no conv to fold into). */
export function affine_nhwc(pixels: i32, c: i32, input: usize, scale: usize, shift: usize, output: usize, relu: bool): void {
  const c4 = c & ~3;
  const rowB = <usize>c << 2;
  const zero = f32x4.splat(0);
  for (let p = 0; p < pixels; p++) {
    const src = input + <usize>p * rowB;
    const dst = output + <usize>p * rowB;
    for (let i = 0; i < c4; i += 4) {
      const o = <usize>i << 2;
      let v = f32x4.add(f32x4.mul(v128.load(src + o), v128.load(scale + o)), v128.load(shift + o));
      if (relu) v = f32x4.max(v, zero);
      v128.store(dst + o, v);
    }
    for (let i = c4; i < c; i++) {
      const o = <usize>i << 2;
      let v = load<f32>(src + o) * load<f32>(scale + o) + load<f32>(shift + o);
      if (relu) v = max(v, 0);
      store<f32>(dst + o, v);
    }
  }
}

/** out = relu?(a + b). */
export function add_f32(count: i32, a: usize, b: usize, output: usize, relu: bool): void {
  const c4 = count & ~3;
  const zero = f32x4.splat(0);
  for (let i = 0; i < c4; i += 4) {
    const o = <usize>i << 2;
    let v = f32x4.add(v128.load(a + o), v128.load(b + o));
    if (relu) v = f32x4.max(v, zero);
    v128.store(output + o, v);
  }
  for (let i = c4; i < count; i++) {
    const o = <usize>i << 2;
    let v = load<f32>(a + o) + load<f32>(b + o);
    if (relu) v = max(v, 0);
    store<f32>(output + o, v);
  }
}

/** out = max(x, 0). */
export function relu_f32(count: i32, input: usize, output: usize): void {
  const c4 = count & ~3;
  const zero = f32x4.splat(0);
  for (let i = 0; i < c4; i += 4) {
    const o = <usize>i << 2;
    v128.store(output + o, f32x4.max(v128.load(input + o), zero));
  }
  for (let i = c4; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(output + o, max(load<f32>(input + o), 0));
  }
}

/**
 * The CIFAR option-A shortcut in NHWC: x[:, ::s, ::s, :] with `pad` zero channels on each side.
 * see: He et al. 2015 sec. 4.2; akamaster/pytorch_resnet_cifar10 LambdaLayer.
 */
export function shortcut_a_nhwc(n: i32, h: i32, w: i32, c: i32, s: i32, pad: i32, input: usize, output: usize): void {
  const oh = (h + s - 1) / s;
  const ow = (w + s - 1) / s;
  const inRowB = <usize>c << 2;
  const padB = <usize>pad << 2;
  let out = output;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        memory.fill(out, 0, padB);
        memory.copy(out + padB, input + <usize>((b * h + y * s) * w + x * s) * inRowB, inRowB);
        memory.fill(out + padB + inRowB, 0, padB);
        out += inRowB + 2 * padB;
      }
    }
  }
}

/** [n, c, hw] -> [n, hw, c]. */
export function nchw_to_nhwc(n: i32, c: i32, hw: i32, input: usize, output: usize): void {
  for (let b = 0; b < n; b++) {
    const src = input + (<usize>b * c * hw << 2);
    const dst = output + (<usize>b * c * hw << 2);
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < hw; p++) {
        store<f32>(dst + (<usize>(p * c + ch) << 2), load<f32>(src + (<usize>(ch * hw + p) << 2)));
      }
    }
  }
}

/** [n, hw, c] -> [n, c, hw]. */
export function nhwc_to_nchw(n: i32, c: i32, hw: i32, input: usize, output: usize): void {
  for (let b = 0; b < n; b++) {
    const src = input + (<usize>b * c * hw << 2);
    const dst = output + (<usize>b * c * hw << 2);
    for (let p = 0; p < hw; p++) {
      for (let ch = 0; ch < c; ch++) {
        store<f32>(dst + (<usize>(ch * hw + p) << 2), load<f32>(src + (<usize>(p * c + ch) << 2)));
      }
    }
  }
}

/**
 * Folds an inference BatchNorm over c channels, in float64 as src/backends/fuse.ts's foldBatchNorm
 * does (the same IEEE operations in the same order, so the results are equal bit for bit):
 * s = gamma / sqrt(var + eps), t = beta - mean * s; scaleOut = f32(s), and shiftOut =
 * f32(bias * s + t) after a conv (its bias, zeros when it has none) or f32(t) alone (bias 0). Here
 * because the JS loops run before V8 optimizes them and box every double: in a cold process the
 * compile's fuse stage took 15.7 ms for ResNet-50 that way, 5.2 with this kernel (medians of 12
 * alternating rounds, Node 20, 2-core AMD EPYC).
 */
export function bn_fold_f32(
  c: i32, eps: f64, gamma: usize, beta: usize, mean: usize, variance: usize,
  bias: usize, scaleOut: usize, shiftOut: usize,
): void {
  for (let i = 0; i < c; i++) {
    const o = <usize>i << 2;
    const s = <f64>load<f32>(gamma + o) / Math.sqrt(<f64>load<f32>(variance + o) + eps);
    const t = <f64>load<f32>(beta + o) - <f64>load<f32>(mean + o) * s;
    store<f32>(scaleOut + o, <f32>s);
    store<f32>(shiftOut + o, bias != 0 ? <f32>(<f64>load<f32>(bias + o) * s + t) : <f32>t);
  }
}
