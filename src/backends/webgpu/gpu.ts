/// <reference types="@webgpu/types" />
/**
 * Finding a WebGPU implementation: `navigator.gpu` in browsers, workers and Deno; in Node the
 * optional `webgpu` package (Dawn), loaded with a dynamic import only when WebGPU is asked for.
 *
 * Node on a Linux machine without a GPU: Dawn's Vulkan backend finds no adapter unless a software
 * Vulkan driver is visible. If none is found and `VK_ICD_FILENAMES` is unset, we retry once with
 * the SwiftShader driver that Debian/Ubuntu's `chromium` package ships, when that file exists.
 */
import { importOptional, nodeProcess, type NodeProcess } from '../../runtime.js';

/** Vulkan ICD manifests of software drivers tried, in order, when no adapter is found. */
export const SOFTWARE_VULKAN_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'];

export interface GpuProbe {
  readonly gpu?: GPU;
  readonly adapter?: GPUAdapter;
  /** Why there is no adapter, or where the adapter came from. */
  readonly reason: string;
}

interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

let probed: Promise<GpuProbe> | undefined;

/** Probes once per process: which GPU object to use and whether it gives an adapter. */
export function probeGpu(): Promise<GpuProbe> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<GpuProbe> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    const adapter = await requestAdapter(nav.gpu);
    return adapter
      ? { gpu: nav.gpu, adapter, reason: 'navigator.gpu' }
      : { reason: 'navigator.gpu exists but requestAdapter() returned no adapter (WebGPU blocked or no usable GPU)' };
  }
  const proc = nodeProcess();
  if (!proc) return { reason: 'navigator.gpu is missing: this runtime has no WebGPU (browsers need it enabled; Node needs the webgpu package)' };

  let dawn: DawnModule;
  try {
    dawn = (await importOptional('webgpu')) as DawnModule;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    const missing = /Cannot find (package|module) 'webgpu'/.test(why);
    return {
      reason: missing
        ? "Node has no navigator.gpu, and the 'webgpu' package (Dawn's Node binding, an optional peer dependency of resnet-ts) is not installed: npm install webgpu"
        : `Node has no navigator.gpu and the optional 'webgpu' package (Dawn) could not be loaded: ${why}`,
    };
  }
  // The software driver to fall back to, found only when no driver variable is set. With no Vulkan
  // driver installed at all it is used from the start: Dawn's first instance would only print the
  // Vulkan loader's 'incompatible driver' warnings to stderr.
  const icd = await softwareIcd(proc);
  const softwareFirst = icd !== undefined && (await noVulkanDrivers());
  // The Vulkan loader reads VK_ICD_FILENAMES when Dawn creates its instance, so a new instance sees it.
  if (softwareFirst) proc.env.VK_ICD_FILENAMES = icd;
  let gpu = dawn.create([]);
  let adapter = await requestAdapter(gpu);
  if (adapter) return { gpu, adapter, reason: `the 'webgpu' package (Dawn)${softwareFirst ? ` on the software Vulkan driver ${icd}` : ''}` };

  if (!icd) {
    return {
      reason:
        "the 'webgpu' package (Dawn) found no GPU adapter, and no software Vulkan driver to fall back to " +
        `(VK_ICD_FILENAMES is ${proc.env.VK_ICD_FILENAMES ? `'${proc.env.VK_ICD_FILENAMES}'` : 'unset'}; ` +
        'on Debian/Ubuntu install chromium and libvulkan1 for SwiftShader, see scripts/ci-webgpu-setup.sh)',
    };
  }
  if (!softwareFirst) {
    proc.env.VK_ICD_FILENAMES = icd;
    gpu = dawn.create([]);
    adapter = await requestAdapter(gpu);
  }
  if (adapter) return { gpu, adapter, reason: `the 'webgpu' package (Dawn) on the software Vulkan driver ${icd}` };
  return { reason: `the 'webgpu' package (Dawn) found no adapter, not even with VK_ICD_FILENAMES=${icd} (is libvulkan1 installed?)` };
}

async function requestAdapter(gpu: GPU): Promise<GPUAdapter | undefined> {
  try {
    return (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Where the Vulkan loader looks for driver manifests when no variable names one. */
const VULKAN_ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** No driver manifest in the Vulkan loader's folders (Linux): no hardware Vulkan driver is installed. */
async function noVulkanDrivers(): Promise<boolean> {
  const fs = (await importOptional('node:fs')) as { readdirSync(path: string): string[] };
  return VULKAN_ICD_DIRS.every((dir) => {
    try {
      return !fs.readdirSync(dir).some((f) => f.endsWith('.json'));
    } catch {
      return true;
    }
  });
}

/** The first software Vulkan driver manifest on disk, when VK_ICD_FILENAMES is not already set. */
async function softwareIcd(proc: NodeProcess): Promise<string | undefined> {
  if (proc.platform !== 'linux' || proc.env.VK_ICD_FILENAMES || proc.env.VK_DRIVER_FILES) return undefined;
  const fs = (await importOptional('node:fs')) as { existsSync(path: string): boolean };
  return SOFTWARE_VULKAN_ICDS.find((p) => fs.existsSync(p));
}

