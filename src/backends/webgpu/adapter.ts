/**
 * The WebGPU objects that appear in resnet-ts's public API, typed by the members we use, so that a
 * consumer type-checks our declarations without `@webgpu/types` (with it, `GPU`, `GPUAdapter` and
 * `GPUDevice` are assignable to these). No `GPU*` name may appear in a public signature: the
 * published `.d.ts` would not compile for a consumer without WebGPU's types (test/types.test.ts).
 */

/** `navigator.gpu` or the `webgpu` package's `create([])`: anything that gives adapters. */
export interface WebGPUProvider {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<unknown>;
}

/** The identifying strings of an adapter (`GPUAdapter.info`). */
export interface WebGPUAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}

export interface WebGPUAdapterLike {
  readonly info: WebGPUAdapterInfo;
}

/** The device a WebGPU backend runs on (a `GPUDevice`). */
export interface WebGPUDeviceLike {
  readonly label: string;
  destroy(): void;
}

/** Conv kernel of the WebGPU backend: 'tiled' (workgroup-tiled implicit GEMM) or 'registers' (barrier-free, for CPU adapters). */
export type ConvKernelKind = 'tiled' | 'registers';

/** The adapter in words: vendor / architecture / description. */
export function describeAdapter(adapter: WebGPUAdapterLike): string {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.description || info.device].filter((s) => s);
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ? ' (software fallback)' : '';
  return (parts.join(' / ') || 'unnamed adapter') + fallback;
}

/** Whether an adapter runs on the CPU (software rasteriser), where workgroup barriers are costly. */
export function isCpuAdapter(adapter: WebGPUAdapterLike): boolean {
  const info = adapter.info as WebGPUAdapterInfo & { isFallbackAdapter?: boolean };
  if (info.isFallbackAdapter) return true;
  const words = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|warp|microsoft basic render/.test(words);
}
