/**
 * resnet-ts for Cloudflare Workers and other runtimes that run only the wasm modules a bundler
 * imported at deploy time (compiling bytes is "disallowed by embedder" there). Selected by the
 * `workerd` export condition, which wrangler applies by itself: it
 * imports the plain-SIMD kernels as a module, registers them for every wasm backend, and is
 * otherwise exactly the core entry (src/index.ts).
 */
// kernels.wasm is copied next to this file by scripts/build-wasm.mjs; bundlers for Workers turn a
// `.wasm` import into a compiled WebAssembly.Module (wrangler's default CompiledWasm rule).
// @ts-ignore: TypeScript has no module type for a .wasm import (Workers' own types declare one)
import kernels from './backends/wasm/kernels.wasm';
import { registerKernelModule } from './backends/wasm/kernels.js';

// A failure (not our kernels) surfaces at the first compile; keep it from being unhandled here.
registerKernelModule(kernels as object).catch(() => {});

export * from './index.js';
