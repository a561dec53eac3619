/// <reference types="@webgpu/types" />
/**
 * One kernel per fused node (see ../fuse.ts). At compile time a kernel uploads its constant data
 * (packed weights, bias, BN scale/shift) once; for each input shape it is `prepare`d into a
 * dispatch: pipeline, bind group and grid, with every size taken from src/shape.ts.
 *
 * Dispatch branches (explicit, as in onnxruntime-web's conv.ts):
 * - conv on a GPU ('tiled'): the workgroup-tiled implicit GEMM of conv2d-tiled.wgsl.ts, specialised
 *   per geometry with override constants (a 1x1 stride-1 conv folds to a plain GEMM); with too few
 *   tiles to fill a GPU, K is sliced (`splitK` in plan.ts) into the plan's scratch buffer and a
 *   second dispatch (splitk-reduce.wgsl.ts) adds the slices and applies the epilogue;
 * - conv on a CPU adapter ('registers'): the barrier-free register-tiled implicit GEMM of
 *   conv2d-regtile.wgsl.ts, one pipeline for every geometry (see that file for why);
 * - linear: the conv kernel as a 1x1 conv over [N, F, 1, 1];
 * - the rest: one thread per output element.
 */
import { widenWeight, type FusedNode, type FusedWeight } from '../fuse.js';
import { conv2dInfo, pool2dInfo, poolTapCounts } from '../../shape.js';
import { sizeOf, shapeToString } from '../../tensor.js';
import { convTile, gridFor, splitK } from './plan.js';
import { BufferUsage, type PipelineCache, type StorageAccess } from './pipelines.js';
import { addWgsl } from './shaders/add.wgsl.js';
import { affineWgsl } from './shaders/affine.wgsl.js';
import { avgpool2dWgsl } from './shaders/avgpool2d.wgsl.js';
import { conv2dRegtileWgsl } from './shaders/conv2d-regtile.wgsl.js';
import { conv2dTiledWgsl } from './shaders/conv2d-tiled.wgsl.js';
import { ELEMENTWISE_WORKGROUP } from './shaders/flat-index.wgsl.js';
import { windowConstants } from './shaders/window.wgsl.js';
import { globalAvgPoolWgsl } from './shaders/globalavgpool.wgsl.js';
import { maxpool2dWgsl } from './shaders/maxpool2d.wgsl.js';
import { reluWgsl } from './shaders/relu.wgsl.js';
import { shortcutAWgsl } from './shaders/shortcut-a.wgsl.js';
import { splitkReduceWgsl } from './shaders/splitk-reduce.wgsl.js';
import type { ConvKernelKind } from './adapter.js';

/** What a kernel may ask of the plan it is prepared into. */
export interface PlanEnv {
  readonly device: GPUDevice;
  readonly pipelines: PipelineCache;
  readonly maxWorkgroupsPerDim: number;
  shape(value: string): readonly number[];
  buffer(value: string): GPUBuffer;
  /** A buffer owned by the plan (uniform blocks, pool divisors), destroyed with it. */
  upload(data: Uint32Array, usage: 'uniform' | 'storage'): GPUBuffer;
  /** The plan's scratch buffer, at least the largest `scratchBytes` of its kernels. */
  scratch(): GPUBuffer;
}

export interface Dispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly grid: readonly [number, number, number];
}

export interface NodeKernel {
  /** Bytes of constant data uploaded at compile time. */
  readonly weightBytes: number;
  /** Bytes of scratch its dispatches need for these shapes (split-K partial sums); 0 or absent: none. */
  scratchBytes?(shape: (value: string) => readonly number[]): number;
  /** One dispatch, or several run in order. */
  prepare(env: PlanEnv): Promise<Dispatch | readonly Dispatch[]>;
  dispose(): void;
}

function uploadConst(device: GPUDevice, label: string, data: Float32Array): GPUBuffer {
  const buffer = device.createBuffer({ label, size: Math.max(16, data.byteLength), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

async function dispatch(
  env: PlanEnv,
  label: string,
  shader: { name: string; code: string; constants: Record<string, number> },
  uniforms: readonly number[],
  bindings: readonly { buffer: GPUBuffer; access: StorageAccess }[],
  grid: readonly [number, number, number],
): Promise<Dispatch> {
  if (grid.some((g) => g > env.maxWorkgroupsPerDim)) {
    throw new RangeError(`${label}: grid ${grid.join('x')} exceeds the device limit of ${env.maxWorkgroupsPerDim} workgroups per dimension`);
  }
  const access = bindings.map((b) => b.access);
  const pipeline = await env.pipelines.get(shader.name, shader.code, access, shader.constants);
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: env.upload(Uint32Array.from(uniforms), 'uniform') } }];
  bindings.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b.buffer } }));
  const bindGroup = env.device.createBindGroup({ label, layout: env.pipelines.layout(access), entries });
  return { label, pipeline, bindGroup, grid };
}

const elementwiseGrid = (env: PlanEnv, total: number) => gridFor(total, ELEMENTWISE_WORKGROUP, env.maxWorkgroupsPerDim);

/** The conv GEMM as a kernel: weights OIHW [groups * coutG, cinG, kh, kw] packed to [groups, K, coutG]. */
interface GemmConv {
  readonly name: string;
  readonly input: string;
  readonly output: string;
  readonly residual?: string;
  readonly relu: boolean;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly groups: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilation: readonly [number, number];
  /** As bound; a narrow one (a lean checkpoint's) is widened here, at compile. */
  readonly weight: FusedWeight;
  /** Per output channel, multiplied into the weight while packing (a folded BN); none for linear. */
  readonly scale?: Float32Array;
  readonly bias: Float32Array;
  /** [N, C, H, W] for convs; linear passes [N, F] and is read as [N, F, 1, 1]. */
  readonly linear: boolean;
}

/** Which conv kernel a backend uses; see the dispatch branches in the file comment. */

function convKernel(device: GPUDevice, c: GemmConv, kind: ConvKernelKind): NodeKernel {
  const coutG = c.outChannels / c.groups;
  const cinG = c.inChannels / c.groups;
  const k = cinG * c.kernel[0] * c.kernel[1];
  // OIHW is [groups][coutG][K]; both kernels read B[k][n] of a group, so store [groups][K][n]:
  // n runs over coutG ('tiled') or over coutG rounded up to blocks of 8, zero-padded ('registers').
  const nPacked = kind === 'tiled' ? coutG : 8 * Math.ceil(coutG / 8);
  const packed = new Float32Array(c.groups * k * nPacked);
  const w = widenWeight(c.weight);
  for (let g = 0; g < c.groups; g++) {
    for (let n = 0; n < coutG; n++) {
      const s = c.scale ? c.scale[g * coutG + n] : 1;
      for (let t = 0; t < k; t++) packed[(g * k + t) * nPacked + n] = w[(g * coutG + n) * k + t] * s;
    }
  }
  const weight = uploadConst(device, `${c.name}.weight`, packed);
  const bias = uploadConst(device, `${c.name}.bias`, c.bias);
  const geometryOf = (shape: (value: string) => readonly number[]) => {
    const inShape = shape(c.input);
    if (c.linear) return { batch: inShape[0], inH: 1, inW: 1, outH: 1, outW: 1 };
    const info = conv2dInfo(inShape, [c.outChannels, cinG, c.kernel[0], c.kernel[1]], c);
    return { batch: info.batch, inH: info.h.inSize, inW: info.w.inSize, outH: info.h.outSize, outW: info.w.outSize };
  };
  /** The tiled kernel's workgroup shape, grid and K slicing for m output pixels. */
  const tiling = (m: number) => {
    const tile = convTile(m, coutG);
    const tiles = [Math.ceil(m / (4 * tile.wgM)), Math.ceil(coutG / (4 * tile.wgN))] as const;
    return { tile, tiles, split: splitK(tiles[0] * tiles[1] * c.groups, k) };
  };
  return {
    weightBytes: packed.byteLength + c.bias.byteLength,
    scratchBytes(shape) {
      if (kind !== 'tiled') return 0;
      const g = geometryOf(shape);
      const m = g.batch * g.outH * g.outW;
      const { split } = tiling(m);
      return split.slices > 1 ? 4 * split.slices * m * c.outChannels : 0;
    },
    async prepare(env) {
      const geometry = geometryOf(env.shape);
      const m = geometry.batch * geometry.outH * geometry.outW;
      const residual = c.residual ? env.buffer(c.residual) : bias;
      const bindings = [
        { buffer: env.buffer(c.input), access: 'read' as const },
        { buffer: weight, access: 'read' as const },
        { buffer: bias, access: 'read' as const },
        // Without a residual the binding still needs a buffer; the shader never reads it.
        { buffer: residual, access: 'read' as const },
        { buffer: env.buffer(c.output), access: 'write' as const },
      ];
      if (kind === 'registers') {
        const quarter = Math.ceil(m / 4); // invocations along m, 4 pixels each
        const nBlocks = nPacked / 8;
        const uniforms = [
          c.inChannels, geometry.inH, geometry.inW, c.outChannels, geometry.outH, geometry.outW, cinG, coutG,
          c.kernel[0], c.kernel[1], c.stride[0], c.stride[1], c.pads[0], c.pads[1], c.dilation[0], c.dilation[1],
          m, quarter, nBlocks, (c.relu ? 1 : 0) | (c.residual ? 2 : 0),
        ];
        const grid = [Math.ceil(quarter / 64), nBlocks, c.groups] as const;
        return dispatch(env, c.name, { name: 'conv2d-regtile', code: conv2dRegtileWgsl, constants: {} }, uniforms, bindings, grid);
      }
      const { tile, tiles, split } = tiling(m);
      const constants = {
        CIN: c.inChannels,
        COUT: c.outChannels,
        CIN_G: cinG,
        COUT_G: coutG,
        ...windowConstants(c.kernel, c.stride, [c.pads[0], c.pads[1]], c.dilation),
        HAS_RESIDUAL: c.residual ? 1 : 0,
        RELU: c.relu ? 1 : 0,
        WG_M: tile.wgM,
        WG_N: tile.wgN,
        ...(split.slices > 1 ? { SPLIT: split.slices, KS: split.sliceK } : {}),
      };
      const grid = [tiles[0], tiles[1], c.groups * split.slices] as const;
      const uniforms = [geometry.inH, geometry.inW, geometry.outH, geometry.outW, m];
      if (split.slices === 1) {
        return dispatch(env, c.name, { name: 'conv2d-tiled', code: conv2dTiledWgsl, constants }, uniforms, bindings, grid);
      }
      const scratch = env.scratch();
      const partial = { buffer: scratch, access: 'write' as const };
      const total = m * c.outChannels;
      return Promise.all([
        dispatch(env, `${c.name} (${split.slices} slices of K)`, { name: 'conv2d-tiled', code: conv2dTiledWgsl, constants }, uniforms, [...bindings.slice(0, 4), partial], grid),
        dispatch(
          env,
          `${c.name} (sum of the slices)`,
          { name: 'splitk-reduce', code: splitkReduceWgsl, constants: { SPLIT: split.slices, COUT: c.outChannels, HAS_RESIDUAL: c.residual ? 1 : 0, RELU: c.relu ? 1 : 0 } },
          [total, geometry.outH * geometry.outW],
          [
            { buffer: scratch, access: 'read' },
            { buffer: bias, access: 'read' },
            { buffer: residual, access: 'read' },
            { buffer: env.buffer(c.output), access: 'write' },
          ],
          elementwiseGrid(env, total),
        ),
      ]);
    },
    dispose() {
      weight.destroy();
      bias.destroy();
    },
  };
}

/** The kernel of one fused node; constant data is uploaded now. */
export function createKernel(device: GPUDevice, n: FusedNode, convKind: ConvKernelKind): NodeKernel {
  const noWeights = (prepare: NodeKernel['prepare']): NodeKernel => ({ weightBytes: 0, prepare, dispose() {} });
  switch (n.op) {
    case 'conv':
      return convKernel(device, { ...n, linear: false }, convKind);
    case 'linear':
      return convKernel(device, {
        ...n,
        inChannels: n.inFeatures,
        outChannels: n.outFeatures,
        groups: 1,
        kernel: [1, 1],
        stride: [1, 1],
        pads: [0, 0, 0, 0],
        dilation: [1, 1],
        relu: false,
        linear: true,
      }, convKind);
    case 'affine': {
      const scale = uploadConst(device, `${n.name}.scale`, n.scale);
      const shift = uploadConst(device, `${n.name}.shift`, n.shift);
      return {
        weightBytes: n.scale.byteLength + n.shift.byteLength,
        prepare(env) {
          const s = env.shape(n.input);
          if (s.length !== 4 || s[1] !== n.scale.length) {
            throw new RangeError(`${n.name}: batchnorm expects NCHW with ${n.scale.length} channels, got ${shapeToString(s)}`);
          }
          const total = sizeOf(s);
          return dispatch(
            env,
            n.name,
            { name: 'affine', code: affineWgsl, constants: { CHANNELS: n.scale.length, RELU: n.relu ? 1 : 0 } },
            [total, s[2] * s[3]],
            [
              { buffer: env.buffer(n.input), access: 'read' },
              { buffer: scale, access: 'read' },
              { buffer: shift, access: 'read' },
              { buffer: env.buffer(n.output), access: 'write' },
            ],
            elementwiseGrid(env, total),
          );
        },
        dispose() {
          scale.destroy();
          shift.destroy();
        },
      };
    }
    case 'add':
      return noWeights((env) => {
        const total = sizeOf(env.shape(n.output));
        return dispatch(
          env,
          n.name,
          { name: 'add', code: addWgsl, constants: { RELU: n.relu ? 1 : 0 } },
          [total],
          [
            { buffer: env.buffer(n.inputs[0]), access: 'read' },
            { buffer: env.buffer(n.inputs[1]), access: 'read' },
            { buffer: env.buffer(n.output), access: 'write' },
          ],
          elementwiseGrid(env, total),
        );
      });
    case 'relu':
      return noWeights((env) => {
        const total = sizeOf(env.shape(n.output));
        return dispatch(
          env,
          n.name,
          { name: 'relu', code: reluWgsl, constants: {} },
          [total],
          [
            { buffer: env.buffer(n.input), access: 'read' },
            { buffer: env.buffer(n.output), access: 'write' },
          ],
          elementwiseGrid(env, total),
        );
      });
    case 'maxpool':
    case 'avgpool':
      return noWeights((env) => {
        const info = pool2dInfo(env.shape(n.input), n);
        const constants = windowConstants(
          n.kernel,
          [info.h.stride, info.w.stride],
          [info.h.padBegin, info.w.padBegin],
          [info.h.dilation, info.w.dilation],
        );
        const total = sizeOf(info.outShape);
        const uniforms = [total, info.h.inSize, info.w.inSize, info.h.outSize, info.w.outSize];
        const x = { buffer: env.buffer(n.input), access: 'read' as const };
        const y = { buffer: env.buffer(n.output), access: 'write' as const };
        if (n.op === 'maxpool') {
          return dispatch(env, n.name, { name: 'maxpool2d', code: maxpool2dWgsl, constants }, uniforms, [x, y], elementwiseGrid(env, total));
        }
        // Divisors per output row and column; PyTorch's count_include_pad rule, see poolTapCounts.
        const rows = poolTapCounts(info.h);
        const cols = poolTapCounts(info.w);
        const pick = (t: { valid: Int32Array; padded: Int32Array }) => (n.countIncludePad ? t.padded : t.valid);
        const divisors = env.upload(Uint32Array.from([...pick(rows), ...pick(cols)]), 'storage');
        return dispatch(
          env,
          n.name,
          { name: 'avgpool2d', code: avgpool2dWgsl, constants },
          uniforms,
          [x, { buffer: divisors, access: 'read' }, y],
          elementwiseGrid(env, total),
        );
      });
    case 'globalavgpool':
      return noWeights((env) => {
        const [b, c, h, w] = env.shape(n.input);
        return dispatch(
          env,
          n.name,
          { name: 'globalavgpool', code: globalAvgPoolWgsl, constants: {} },
          [b * c, h * w],
          [
            { buffer: env.buffer(n.input), access: 'read' },
            { buffer: env.buffer(n.output), access: 'write' },
          ],
          elementwiseGrid(env, b * c),
        );
      });
    case 'shortcutA':
      return noWeights((env) => {
        const [, c, h, w] = env.shape(n.input);
        const out = env.shape(n.output);
        const total = sizeOf(out);
        return dispatch(
          env,
          n.name,
          { name: 'shortcutA', code: shortcutAWgsl, constants: { CIN: c, PAD_C: n.padChannels, STRIDE: n.stride } },
          [total, h, w, out[2], out[3]],
          [
            { buffer: env.buffer(n.input), access: 'read' },
            { buffer: env.buffer(n.output), access: 'write' },
          ],
          elementwiseGrid(env, total),
        );
      });
  }
}
