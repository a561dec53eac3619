/**
 * Backend selection. Backends are imported lazily so that a program asking for the reference
 * backend never loads wasm or WebGPU code, and the optional `webgpu` package is touched only when
 * WebGPU is asked for (or probed by 'auto').
 */
import type { Backend, BackendName } from './backend.js';

export type BackendChoice = BackendName | 'auto';

export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'webgpu', 'reference'];

/** The backend used when none is named. */
export const DEFAULT_BACKEND: BackendName = 'wasm';

export interface BackendSelection {
  readonly backend: Backend;
  /** Why this backend was used. */
  readonly reason: string;
  /** Backends tried before it under 'auto', each with the reason it was passed over. */
  readonly passedOver: readonly { name: BackendName; reason: string }[];
}

async function load(name: BackendName): Promise<Backend> {
  switch (name) {
    case 'reference':
      return (await import('./reference/index.js')).referenceBackend;
    case 'wasm': {
      const wasm = await import('./wasm/index.js');
      const backend = wasm.createWasmBackend();
      // Compile now (once per process), so that a runtime that validates wasm but forbids compiling
      // it (Cloudflare Workers without the 'workerd' entry) fails here, where 'auto' can fall back.
      await wasm.initWasm();
      return backend;
    }
    case 'webgpu':
      return (await import('./webgpu/index.js')).createWebGPUBackend();
  }
}

/** What 'auto' learns about WebGPU (see webgpu/index.ts `webgpuAvailability`). */
export interface GpuProbe {
  readonly ok: boolean;
  readonly reason: string;
  readonly adapter?: string;
  /** A CPU (software) adapter such as SwiftShader or lavapipe. */
  readonly software?: boolean;
}

async function probeWebGPU(): Promise<GpuProbe> {
  return (await import('./webgpu/index.js')).webgpuAvailability();
}

/**
 * Resolves a backend name, 'auto' or a Backend object. 'auto' takes WebGPU on a hardware adapter,
 * else wasm, else reference, and records why each one before it was passed over. A software
 * adapter (SwiftShader, lavapipe) is passed over: it runs on the CPU, slower than wasm SIMD; name
 * 'webgpu' to use it anyway.
 */
export async function selectBackend(choice: BackendChoice | Backend = DEFAULT_BACKEND, probe: () => Promise<GpuProbe> = probeWebGPU): Promise<BackendSelection> {
  if (typeof choice === 'object') return { backend: choice, reason: 'given by the caller', passedOver: [] };
  if (choice !== 'auto') {
    if (!BACKEND_NAMES.includes(choice)) {
      throw new RangeError(`unknown backend '${choice}'; expected one of ${[...BACKEND_NAMES, 'auto'].join(', ')}`);
    }
    return { backend: await load(choice), reason: choice === DEFAULT_BACKEND ? 'the default backend' : 'asked for by name', passedOver: [] };
  }
  const passedOver: { name: BackendName; reason: string }[] = [];
  const gpu = await probe();
  if (gpu.ok && gpu.software) {
    passedOver.push({ name: 'webgpu', reason: `only a software adapter (${gpu.adapter ?? 'unknown'}), which runs on the CPU and is slower than wasm SIMD; use --backend webgpu to run on it anyway` });
  } else if (gpu.ok) {
    try {
      return { backend: await load('webgpu'), reason: `auto: a WebGPU adapter is available (${gpu.adapter ?? 'unknown adapter'})`, passedOver };
    } catch (e) {
      passedOver.push({ name: 'webgpu', reason: `adapter found but the backend failed to start: ${(e as Error).message}` });
    }
  } else {
    passedOver.push({ name: 'webgpu', reason: gpu.reason });
  }
  try {
    return { backend: await load('wasm'), reason: 'auto: WebAssembly SIMD is available and its kernels compiled', passedOver };
  } catch (e) {
    passedOver.push({ name: 'wasm', reason: (e as Error).message });
  }
  return { backend: await load('reference'), reason: 'auto: the pure-TypeScript reference backend always works', passedOver };
}
