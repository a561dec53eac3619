import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { selectBackend } from '../src/backends/index.js';

describe("backend selection ('auto' and names)", () => {
  it('falls back to wasm with the reason WebGPU was passed over', async () => {
    const none = await selectBackend('auto', async () => ({ ok: false, reason: 'no navigator.gpu and the webgpu package is not installed' }));
    expect(none.backend.name).toBe('wasm');
    expect(none.reason).toMatch(/auto/);
    expect(none.passedOver).toEqual([{ name: 'webgpu', reason: 'no navigator.gpu and the webgpu package is not installed' }]);
    const soft = await selectBackend('auto', async () => ({ ok: true, reason: 'webgpu package', adapter: 'google / swiftshader', software: true }));
    expect(soft.backend.name).toBe('wasm');
    expect(soft.passedOver[0].reason).toMatch(/software adapter \(google \/ swiftshader\).*slower than wasm/);
  });
  it('takes WebGPU when the adapter is a hardware one (here: the probe says so; the device comes from whatever adapter exists)', async () => {
    const { webgpuAvailability } = await import('../src/backends/webgpu/index.js');
    const real = await webgpuAvailability();
    const choice = await selectBackend('auto', async () => ({ ok: true, reason: 'test probe', adapter: 'Test GPU', software: false }));
    if (real.ok) {
      expect(choice.backend.name).toBe('webgpu');
      expect(choice.reason).toBe('auto: a WebGPU adapter is available (Test GPU)');
    } else {
      if (process.env.CI) throw new Error(`CI needs a WebGPU adapter (SwiftShader): ${real.reason}`);
      expect(choice.passedOver[0].reason).toMatch(/failed to start/);
    }
  });
  it('names resolve directly; unknown names are refused with the list', async () => {
    expect((await selectBackend('reference')).backend.name).toBe('reference');
    expect((await selectBackend()).backend.name).toBe('wasm');
    await expect(selectBackend('tpu' as never)).rejects.toThrow(/unknown backend 'tpu'; expected one of wasm, webgpu, reference, auto/);
  });
});

describe('a runtime that validates wasm but forbids compiling bytes (Cloudflare Workers without the workerd entry)', () => {
  const realCompile = WebAssembly.compile;
  afterEach(() => {
    WebAssembly.compile = realCompile;
    vi.resetModules();
  });
  const forbid = () => {
    WebAssembly.compile = () => Promise.reject(new WebAssembly.CompileError('WebAssembly.compile(): Wasm code generation disallowed by embedder'));
  };

  it("'auto' falls back to reference and says why; 'wasm' fails at createModel naming both ways that work", async () => {
    vi.resetModules();
    forbid();
    const { selectBackend: select } = await import('../src/backends/index.js');
    const noGpu = async () => ({ ok: false, reason: 'no WebGPU here' });
    const auto = await select('auto', noGpu);
    expect(auto.backend.name).toBe('reference');
    expect(auto.passedOver.map((p) => p.name)).toEqual(['webgpu', 'wasm']);
    expect(auto.passedOver[1].reason).toMatch(/could not compile its kernels from bytes: .*disallowed by embedder.*'workerd' export condition.*initWasm\(\{ module: kernels \}\)/);
    await expect(select('wasm')).rejects.toThrow(/could not compile its kernels from bytes/);
  });

  it('a precompiled kernels.wasm registered with initWasm({ module }) serves every later wasm backend', async () => {
    vi.resetModules();
    const kernels = new WebAssembly.Module(readFileSync(new URL('../dist/backends/wasm/kernels.wasm', import.meta.url)));
    forbid();
    const { createModel, initWasm } = await import('../src/index.js');
    await expect(initWasm({ module: {} as object })).rejects.toThrow(/expected a WebAssembly.Module of resnet-ts kernels.wasm, got Object/);
    expect(await initWasm({ module: kernels })).toBe('simd');
    const model = await createModel('resnet20', { backend: 'wasm', seed: 3 });
    const ref = await createModel('resnet20', { backend: 'reference', seed: 3 });
    const x = { data: new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i)), shape: [1, 3, 32, 32] };
    const [a, b] = [await model.forward(x), await ref.forward(x)];
    const maxRef = Math.max(...b.data.map(Math.abs));
    expect(Math.max(...a.data.map((v, i) => Math.abs(v - b.data[i])))).toBeLessThan(1e-4 * maxRef);
    expect((await createModel('resnet20', { backend: 'auto' })).backend.name).not.toBe('reference');
  });
});
