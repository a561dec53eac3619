/// <reference types="@webgpu/types" />
/**
 * Compute pipelines, created once per (shader, override constants) and cached for the device's
 * lifetime, shared by every executable compiled on it. Bind group layouts are explicit (not
 * 'auto'), so a binding the specialised shader happens not to read can still be bound.
 */

/** WebGPU's numeric flags, spelled out because Node's Dawn does not install the GPU* globals. */
export const BufferUsage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
export const MAP_MODE_READ = 0x1;
const SHADER_STAGE_COMPUTE = 0x4;

/** Binding 0 is always the uniform block; the rest are storage buffers read or written. */
export type StorageAccess = 'read' | 'write';

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly device: GPUDevice) {}

  layout(storage: readonly StorageAccess[]): GPUBindGroupLayout {
    const key = storage.join(',');
    let layout = this.layouts.get(key);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'uniform' } }];
      storage.forEach((access, i) =>
        entries.push({ binding: i + 1, visibility: SHADER_STAGE_COMPUTE, buffer: { type: access === 'read' ? 'read-only-storage' : 'storage' } }),
      );
      layout = this.device.createBindGroupLayout({ label: `layout(${key})`, entries });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  /** The pipeline of `code` specialised with `constants`; compiled on first request. */
  get(name: string, code: string, storage: readonly StorageAccess[], constants: Readonly<Record<string, number>>): Promise<GPUComputePipeline> {
    const key = `${name}|${Object.entries(constants).map(([k, v]) => `${k}=${v}`).join(',')}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      let module = this.modules.get(code);
      if (!module) {
        module = this.device.createShaderModule({ label: name, code });
        this.modules.set(code, module);
      }
      const shader = module;
      pipeline = this.device
        .createComputePipelineAsync({
          label: key,
          layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layout(storage)] }),
          compute: { module, entryPoint: 'main', constants: { ...constants } },
        })
        .catch(async (e: unknown) => {
          // A failed compile is not cached; the error carries the WGSL compiler's messages.
          this.pipelines.delete(key);
          const info = await shader.getCompilationInfo();
          const lines = info.messages.map((m) => `${m.type} at ${name}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`);
          throw new Error(`webgpu: pipeline ${key} failed: ${(e as Error).message}${lines.length ? `\n  ${lines.join('\n  ')}` : ''}`);
        });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  get size(): number {
    return this.pipelines.size;
  }
}
