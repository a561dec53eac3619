import { it } from 'vitest';
import { createWebGPUBackend } from '../src/backends/webgpu/index.js';
import type { Graph } from '../src/graph.js';
import { Tensor } from '../src/tensor.js';

it('scratch timing', async () => {
  process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
  const dawn = await import('webgpu');
  const gpu = await createWebGPUBackend(process.env.TOGGLES ? { gpu: dawn.create([process.env.TOGGLES]) } : {});
  const mk = (cin: number, cout: number, k: number, h: number, groups = 1): Graph => ({
    name: 'c', input: 'x', inChannels: cin, outputs: { out: 'c' }, primaryOutput: 'out',
    nodes: [{ op: 'conv', name: 'c', input: 'x', output: 'c', inChannels: cin, outChannels: cout, kernel: [k, k], stride: [1, 1], pads: [k >> 1, k >> 1, k >> 1, k >> 1], dilation: [1, 1], groups, params: { weight: 'w' } }],
  });
  for (const [cin, cout, k, h, b, g] of [[4, 4, 1, 1, 1, 1], [64, 64, 3, 8, 1, 1], [64, 64, 3, 16, 4, 1], [256, 64, 1, 16, 4, 1], [128, 128, 3, 16, 4, 32]]) {
    const graph = mk(cin, cout, k, h, g);
    const w = new Map([['w', Tensor.zeros([cout, cin / g, k, k])]]);
    const exe = await gpu.compile(graph, w);
    const x = Tensor.zeros([b, cin, h, h]);
    let t = performance.now();
    await exe.run(x);
    const first = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < 3; i++) await exe.run(x);
    const ms = (performance.now() - t) / 3;
    const macs = b * h * h * cout * (cin / g) * k * k;
    console.log(`conv ${cin}->${cout} k${k} ${h}x${h} b${b} g${g}: first ${first.toFixed(0)} ms, run ${ms.toFixed(1)} ms, ${(macs / ms / 1e6).toFixed(2)} GMAC/s`);
  }
});
