import { describe, expect, it } from 'vitest';
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
