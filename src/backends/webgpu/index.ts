/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend: compiles the fused graph (../fuse.ts) into one compute dispatch per fused node
 * (two for a conv whose K is sliced, see kernels.ts).
 *
 * - compile: weights packed and uploaded once, kernels built (kernels.ts); convs run as a
 *   workgroup-tiled implicit GEMM on GPUs and a barrier-free register-tiled one on CPU adapters;
 * - first run at an input shape: a plan is made and kept (up to PLAN_CACHE per executable): every
 *   size from src/shape.ts, pipelines taken from the device-wide cache (pipelines.ts), intermediate
 *   values placed in shared buffers by a liveness plan (plan.ts), bind groups created;
 * - each run: one input upload, one command buffer, one readback (`mapAsync` once for all outputs).
 *
 * The GPU comes from `navigator.gpu` or, in Node, the optional `webgpu` package (gpu.ts).
 */
import type { Backend, Executable, WeightMap } from '../backend.js';
import { fuseGraph } from '../fuse.js';
import type { Graph } from '../../graph.js';
import { inferShapes } from '../../graph.js';
import { Tensor, shapeToString, sizeOf } from '../../tensor.js';
import { probeGpu } from './gpu.js';
import { describeAdapter, isCpuAdapter, type ConvKernelKind, type WebGPUDeviceLike, type WebGPUProvider } from './adapter.js';
import { createKernel, type Dispatch, type NodeKernel, type PlanEnv } from './kernels.js';
import { BufferUsage, MAP_MODE_READ, PipelineCache } from './pipelines.js';
import { planMemory } from './plan.js';

export { describeAdapter, isCpuAdapter, type ConvKernelKind, type WebGPUAdapterInfo, type WebGPUAdapterLike, type WebGPUDeviceLike, type WebGPUProvider } from './adapter.js';

/** Input shapes whose plans one executable keeps; the oldest is dropped beyond this. */
const PLAN_CACHE = 4;

export interface WebGPUAvailability {
  readonly ok: boolean;
  /** Where the adapter came from, or why there is none. */
  readonly reason: string;
  /** The adapter, in words (vendor / architecture / description). */
  readonly adapter?: string;
  /**
   * The adapter runs on the CPU (SwiftShader, lavapipe, WARP): it works, but WebAssembly SIMD is
   * likely faster, which 'auto' may weigh.
   */
  readonly software?: boolean;
}

/** Whether this runtime has a WebGPU adapter, and why not. Probes once per process. */
export async function webgpuAvailability(): Promise<WebGPUAvailability> {
  const p = await probeGpu();
  if (!p.adapter) return { ok: false, reason: p.reason };
  return { ok: true, reason: p.reason, adapter: describeAdapter(p.adapter), software: isCpuAdapter(p.adapter) };
}

export interface WebGPUBackend extends Backend {
  readonly name: 'webgpu';
  /** The adapter, in words. */
  readonly adapter: string;
  /** The `GPUDevice` (typed structurally; cast to `GPUDevice` with @webgpu/types). */
  readonly device: WebGPUDeviceLike;
  /** The conv kernel in use: 'tiled' on GPUs, 'registers' on CPU adapters (see kernels.ts). */
  readonly convKernel: ConvKernelKind;
}

export interface WebGPUBackendOptions {
  /** A WebGPU implementation to use instead of `navigator.gpu` or the `webgpu` package. */
  readonly gpu?: WebGPUProvider;
  /** Forces a conv kernel; by default 'registers' on a CPU adapter, else 'tiled'. */
  readonly convKernel?: ConvKernelKind;
}

/** Requests an adapter and a device; throws with the reason when there is none. */
export async function createWebGPUBackend(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  // A fresh adapter per backend: an adapter gives one device only ("consumed" afterwards).
  let gpu = opts.gpu as GPU | undefined;
  if (!gpu) {
    const probe = await probeGpu();
    if (!probe.gpu) throw new Error(`webgpu: no adapter: ${probe.reason}`);
    gpu = probe.gpu;
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(`webgpu: requestAdapter() returned no adapter${opts.gpu ? ' from the given GPU object' : ''}`);
  // Large inputs (224x224 at big batches) need more than the default 128 MiB per binding.
  const device = await adapter.requestDevice({
    label: 'resnet-ts',
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const state = { lost: undefined as string | undefined };
  void device.lost.then((info) => {
    state.lost = `${info.reason}: ${info.message}`;
  });
  const pipelines = new PipelineCache(device);
  const adapterName = describeAdapter(adapter);
  const convKernel = opts.convKernel ?? (isCpuAdapter(adapter) ? 'registers' : 'tiled');
  return {
    name: 'webgpu',
    adapter: adapterName,
    device,
    convKernel,
    async compile(graph: Graph, weights: WeightMap): Promise<Executable> {
      if (state.lost) throw new Error(`webgpu: the device was lost (${state.lost})`);
      const fused = fuseGraph(graph, weights);
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      const kernels = fused.nodes.map((n) => createKernel(device, n, convKernel));
      const validation = await device.popErrorScope();
      const oom = await device.popErrorScope();
      const error = validation ?? oom;
      if (error) {
        kernels.forEach((k) => k.dispose());
        throw new Error(`webgpu: uploading the weights of ${graph.name} failed: ${error.message}`);
      }
      return new WebGPUExecutable(device, pipelines, graph, fused, kernels, state);
    },
  };
}

/** Everything one input shape needs: buffers, bind groups and the dispatch list. */
interface Plan {
  readonly shapes: Map<string, number[]>;
  readonly input: GPUBuffer;
  readonly dispatches: readonly Dispatch[];
  readonly outputs: readonly { name: string; buffer: GPUBuffer; offset: number; shape: number[] }[];
  readonly readback: GPUBuffer;
  readonly owned: readonly GPUBuffer[];
}

class WebGPUExecutable implements Executable {
  private readonly plans = new Map<string, Promise<Plan>>();
  /** Runs are serialised: a plan has one readback buffer. */
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  constructor(
    private readonly device: GPUDevice,
    private readonly pipelines: PipelineCache,
    private readonly graph: Graph,
    private readonly fused: ReturnType<typeof fuseGraph>,
    private readonly kernels: readonly NodeKernel[],
    private readonly state: { lost: string | undefined },
  ) {}

  run(input: Tensor): Promise<Record<string, Tensor>> {
    const result = this.queue.then(() => this.runNow(input));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private memoryPlan(shapes: Map<string, number[]>) {
    const outputs = Object.values(this.fused.outputs);
    return planMemory(this.fused.input, this.fused.nodes, outputs, (v) => 4 * sizeOf(shapes.get(v)!));
  }

  memoryBytes(inputShape: readonly number[]): { weights: number; activations: number; peak: number } {
    const shapes = inferShapes(this.graph, inputShape);
    const weights = this.kernels.reduce((s, k) => s + k.weightBytes, 0);
    const activations = this.memoryPlan(shapes).slotBytes.reduce((s, b) => s + b, 0) + this.scratchBytes(shapes);
    return { weights, activations, peak: weights + activations };
  }

  /** The split-K scratch: one buffer, as large as the largest need, shared by every split conv (they run in turn). */
  private scratchBytes(shapes: Map<string, number[]>): number {
    return Math.max(0, ...this.kernels.map((k) => k.scratchBytes?.((v) => shapes.get(v)!) ?? 0));
  }

  dispose(): void {
    this.disposed = true;
    for (const plan of this.plans.values()) void plan.then(destroyPlan, () => undefined);
    this.plans.clear();
    this.kernels.forEach((k) => k.dispose());
  }

  private plan(shape: readonly number[]): Promise<Plan> {
    const key = shape.join('x');
    let plan = this.plans.get(key);
    if (!plan) {
      if (this.plans.size >= PLAN_CACHE) {
        const [oldestKey, oldest] = this.plans.entries().next().value!;
        this.plans.delete(oldestKey);
        void oldest.then(destroyPlan, () => undefined);
      }
      plan = this.makePlan(shape);
      plan.catch(() => this.plans.delete(key));
      this.plans.set(key, plan);
    }
    return plan;
  }

  private async makePlan(inputShape: readonly number[]): Promise<Plan> {
    const device = this.device;
    const shapes = inferShapes(this.graph, inputShape);
    const memory = this.memoryPlan(shapes);
    const owned: GPUBuffer[] = [];
    const create = (label: string, size: number, usage: number) => {
      const b = device.createBuffer({ label, size: Math.max(16, Math.ceil(size / 16) * 16), usage });
      owned.push(b);
      return b;
    };
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const slots = memory.slotBytes.map((bytes, i) =>
      create(`activations[${i}]`, bytes, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST),
    );
    const scratchBytes = this.scratchBytes(shapes);
    const scratch = scratchBytes > 0 ? create('split-K scratch', scratchBytes, BufferUsage.STORAGE) : undefined;
    const env: PlanEnv = {
      device,
      pipelines: this.pipelines,
      maxWorkgroupsPerDim: device.limits.maxComputeWorkgroupsPerDimension,
      shape: (v) => shapes.get(v)!,
      buffer: (v) => slots[memory.slotOf.get(v)!],
      upload: (data, usage) => {
        const b = create(usage, data.byteLength, (usage === 'uniform' ? BufferUsage.UNIFORM : BufferUsage.STORAGE) | BufferUsage.COPY_DST);
        device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
        return b;
      },
      scratch: () => {
        if (!scratch) throw new Error('webgpu: a kernel asked for scratch it did not count in scratchBytes');
        return scratch;
      },
    };
    let dispatches: Dispatch[] = [];
    let failure: unknown;
    try {
      dispatches = (await Promise.all(this.kernels.map((k) => k.prepare(env)))).flat();
    } catch (e) {
      failure = e;
    }
    let offset = 0;
    const outputs = Object.entries(this.fused.outputs).map(([name, value]) => {
      const shape = shapes.get(value)!;
      const o = { name, buffer: env.buffer(value), offset, shape };
      offset += 4 * sizeOf(shape);
      return o;
    });
    const readback = create('readback', offset, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    const error = failure ?? validation ?? oom;
    if (error) {
      owned.forEach((b) => b.destroy());
      const message = error instanceof Error ? error.message : (error as GPUError).message;
      throw new Error(`webgpu: preparing ${this.graph.name} for input ${shapeToString(inputShape)} failed: ${message}`);
    }
    return { shapes, input: env.buffer(this.fused.input), dispatches, outputs, readback, owned };
  }

  private async runNow(input: Tensor): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new Error('webgpu: this executable was disposed');
    if (this.state.lost) throw new Error(`webgpu: the device was lost (${this.state.lost})`);
    const plan = await this.plan(input.shape);
    const device = this.device;
    device.pushErrorScope('validation');
    device.queue.writeBuffer(plan.input, 0, input.data.buffer, input.data.byteOffset, input.data.byteLength);
    const encoder = device.createCommandEncoder({ label: this.graph.name });
    const pass = encoder.beginComputePass({ label: this.graph.name });
    for (const d of plan.dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
    }
    pass.end();
    for (const o of plan.outputs) encoder.copyBufferToBuffer(o.buffer, 0, plan.readback, o.offset, 4 * sizeOf(o.shape));
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) throw new Error(`webgpu: running ${this.graph.name} failed: ${error.message}`);

    await plan.readback.mapAsync(MAP_MODE_READ);
    try {
      const mapped = plan.readback.getMappedRange();
      const result: Record<string, Tensor> = {};
      for (const o of plan.outputs) result[o.name] = new Tensor(new Float32Array(mapped, o.offset, sizeOf(o.shape)).slice(), o.shape);
      return result;
    } finally {
      plan.readback.unmap();
    }
  }
}

function destroyPlan(plan: Plan): void {
  plan.owned.forEach((b) => b.destroy());
}
