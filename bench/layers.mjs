// Per-layer bench: every distinct conv of the given models at 224x224 run alone through the wasm
// conv kernels (the same dispatch and packing as the backend), with the fused epilogue it has in
// the model. Reports CPU and wall ms, GFLOP/s on CPU time (2 x the direct conv's MACs / time, so
// Winograd shows its effective rate) and the percentage of the measured peak.
import { inferShapes } from '../src/graph.ts';
import { fuseGraph } from '../src/backends/fuse.ts';
import { convMethod, convPackedFloats, convScratchBytes, packConv, runConv } from '../src/backends/wasm/conv.ts';
import { instantiateKernels, loadKernelModule } from '../src/backends/wasm/kernels.ts';
import { getModelConfig } from '../src/models/config.ts';
import { buildResNet } from '../src/models/resnet.ts';
import { seededWeights } from '../src/models/init.ts';
import { gflopsOf } from '../src/bench/layers.ts';
import { measure, probeGflops, randomFloats } from './lib.mjs';

/** Distinct convs of a model (by geometry and input size), with how often each occurs. */
export function distinctConvs(model, batch = 1, size = 224) {
  const g = buildResNet(getModelConfig(model));
  const fused = fuseGraph(g, seededWeights(g, 1));
  const shapes = inferShapes(g, [batch, 3, size, size]);
  const byKey = new Map();
  for (const n of fused.nodes) {
    if (n.op !== 'conv') continue;
    const inShape = shapes.get(n.input);
    const outShape = shapes.get(n.output);
    const key = [inShape.join('x'), n.outChannels, n.kernel.join('x'), n.stride[0], n.pads.join(','), n.groups].join('|');
    const row = byKey.get(key);
    if (row) row.count++;
    else byKey.set(key, { model, name: n.name, node: n, inShape, outShape, count: 1 });
  }
  return [...byKey.values()];
}

export function convLabel({ node: n, inShape }) {
  const g = n.groups > 1 ? ` g${n.groups}` : '';
  return `${inShape[1]}x${inShape[2]}x${inShape[3]} -> ${n.outChannels} k${n.kernel[0]} s${n.stride[0]} p${n.pads[0]}${g}`;
}

export function convMacs({ node: n, outShape }) {
  const [b, o, h, w] = outShape;
  return b * o * h * w * (n.inChannels / n.groups) * n.kernel[0] * n.kernel[1];
}

/** Runs every distinct conv of `models`; each row's % of peak uses a probe taken just before it. */
export async function runLayers({ models = ['resnet50', 'resnext50_32x4d'], batch = 1, time = 400, kernelOptions = {}, log = console.log } = {}) {
  const { module, variant } = await loadKernelModule(kernelOptions);
  const rows = [];
  const seen = new Set();
  for (const model of models) {
    for (const conv of distinctConvs(model, batch)) {
      const label = convLabel(conv);
      if (seen.has(label)) continue;
      seen.add(label);
      const k = await instantiateKernels(module);
      const n = conv.node;
      const inFloats = conv.inShape.reduce((a, b) => a * b, 1);
      const outFloats = conv.outShape.reduce((a, b) => a * b, 1);
      let top = Math.ceil(k.heap_base() / 64) * 64;
      const take = (bytes) => {
        const p = top;
        top = Math.ceil((top + bytes) / 64) * 64;
        return p;
      };
      const buf = {
        input: take(inFloats * 4),
        packed: take(convPackedFloats(n) * 4),
        bias: take(n.outChannels * 4),
        output: take(outFloats * 4),
        residual: n.residual ? take(outFloats * 4) : 0,
        scratch: take(convScratchBytes(k, n, conv.outShape)),
      };
      // The raw OIHW weight and BN scale, packed from wasm memory as the backend does at load.
      const raw = { weight: take(n.weight.length * 4), scale: n.scale ? take(n.outChannels * 4) : 0, bias: buf.bias };
      k.memory.grow(Math.ceil((top + 64) / 65536));
      const f32 = new Float32Array(k.memory.buffer);
      f32.set(randomFloats(inFloats, 1), buf.input / 4);
      if (buf.residual) f32.set(randomFloats(outFloats, 2), buf.residual / 4);
      f32.set(n.bias, buf.bias / 4);
      f32.set(n.weight, raw.weight / 4);
      if (n.scale) f32.set(n.scale, raw.scale / 4);
      packConv(k, n, buf.packed, raw);
      // The peak is probed again right before each layer: this machine's speed drifts over minutes.
      const localPeak = probeGflops(k);
      const t = await measure(label, () => runConv(k, n, conv.inShape, conv.outShape, buf), { time, iterations: 5 });
      const macs = convMacs(conv);
      const gflops = gflopsOf(macs, t.cpu.median);
      const row = {
        build: variant, model, layer: conv.name, shape: label, method: convMethod(n), count: conv.count,
        mflop: (2 * macs) / 1e6, cpuMs: t.cpu.median, wallMs: t.wall.median, gflops, peakGflops: localPeak, peakPct: (100 * gflops) / localPeak,
      };
      rows.push(row);
      log(`${variant.padEnd(12)} ${model.padEnd(16)} ${label.padEnd(34)} ${row.method.padEnd(8)} x${conv.count}  cpu ${row.cpuMs.toFixed(3).padStart(8)} ms  wall ${row.wallMs.toFixed(3).padStart(8)} ms  ${gflops.toFixed(1).padStart(6)} GFLOP/s  ${row.peakPct.toFixed(0).padStart(4)}% of ${localPeak.toFixed(1)}`);
    }
  }
  return rows;
}
