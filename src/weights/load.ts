/**
 * One entry point for every checkpoint format: the format is recognised from the first bytes
 * (never from a file name), the file is decoded, and nested containers are flattened to keys
 * joined with '/' (the rule of the shared expected.json files). `extractStateDict` then finds the
 * state dict inside the usual wrappers (`{'state_dict': ...}`, `{'model': ...}`).
 */
import type { CheckpointLimits } from '../limits.js';
import { CheckpointError } from './errors.js';
import { readPaddle } from './paddle.js';
import { NarrowTensor } from './narrow.js';
import { pairStored, storedDType } from './quantize.js';
import { looksLikeSafetensors, readSafetensors } from './safetensors.js';
import { readTorchLegacy, readTorchZip } from './torch.js';
import { CheckpointTensor, type Checkpoint } from './types.js';

/** Which reader a file needs, from its magic bytes; undefined when none matches. */
export function detectFormat(bytes: Uint8Array): Checkpoint['format'] | undefined {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'torch-zip';
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    // A pickle. The legacy torch stream starts with the pickled magic number 0x1950a86a20f9469cfc6c
    // (a LONG1 of 10 bytes); a .pdparams file is a single pickled dict.
    if (bytes.length >= 4 && bytes[2] === 0x8a && bytes[3] === 0x0a) return 'torch-legacy';
    return 'paddle';
  }
  if (looksLikeSafetensors(bytes)) return 'safetensors';
  return undefined;
}

/** A tar archive ('ustar' at offset 257): how torch < 0.1.10 saved checkpoints. */
function isTar(bytes: Uint8Array): boolean {
  return bytes.length > 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar';
}

/** Weight formats of other frameworks, named so that the error says what the file is. */
function otherFormat(bytes: Uint8Array): string | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 4) === 'HDF') return 'an HDF5 file (a Keras .h5 model)';
  if (bytes.length >= 8 && ascii(4, 8) === 'TFL3') return 'a TensorFlow Lite flatbuffer (.tflite)';
  return undefined;
}

function describeStart(bytes: Uint8Array): string {
  const hex = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `${bytes.length} bytes starting ${hex || '(empty)'}`;
}

export interface ReadOptions {
  /** A file name: only prefixes error messages. */
  readonly name?: string;
  /** Raises the readers' limits (src/limits.ts) for a genuine file that exceeds them. */
  readonly limits?: Partial<CheckpointLimits>;
  /**
   * A lean checkpoint's (`resnet convert --dtype`) int8 and fp16 weights stay as stored, as
   * NarrowTensors (views into `bytes`); without it they are widened to float32 CheckpointTensors
   * (int8: dtype float32; fp16: dtype float16).
   */
  readonly narrow?: boolean;
}

/** Reads any supported checkpoint. */
export function readCheckpoint(bytes: Uint8Array, opts?: ReadOptions & { narrow?: false }): Checkpoint;
export function readCheckpoint(bytes: Uint8Array, opts: ReadOptions): Checkpoint<CheckpointTensor | NarrowTensor>;
export function readCheckpoint(bytes: Uint8Array, opts: ReadOptions = {}): Checkpoint<CheckpointTensor | NarrowTensor> {
  try {
    const ckpt = readAny(bytes, opts.name, opts.limits);
    if (opts.narrow || ![...ckpt.tensors.values()].some((t) => t instanceof NarrowTensor)) return ckpt;
    const wide = new Map<string, CheckpointTensor>();
    for (const [k, t] of ckpt.tensors) wide.set(k, t instanceof NarrowTensor ? new CheckpointTensor(t.dtype === 'int8' ? 'float32' : 'float16', t.shape, t.widen()) : t);
    return { ...ckpt, tensors: wide };
  } catch (e) {
    if (e instanceof CheckpointError && opts.name && !e.message.startsWith(`'${opts.name}'`)) e.message = `${opts.name}: ${e.message}`;
    throw e;
  }
}

function readAny(bytes: Uint8Array, name: string | undefined, limits: Partial<CheckpointLimits> | undefined): Checkpoint<CheckpointTensor | NarrowTensor> {
  const what = name ? `'${name}'` : 'checkpoint';
  const format = detectFormat(bytes);
  switch (format) {
    case 'safetensors': {
      // A lean checkpoint (resnet convert --dtype): its I8 and F16 weights come as stored, paired with their scales.
      const f = readSafetensors(bytes, { limits, narrow: true });
      storedDType(f.metadata); // an unknown dtype is an error
      const tensors = f.stored ? pairStored(f.tensors, f.stored) : f.tensors;
      return { format, tensors, others: new Map(), notes: f.notes, metadata: f.metadata };
    }
    case 'torch-zip':
      return readTorchZip(bytes, { limits });
    case 'torch-legacy':
      return readTorchLegacy(bytes, { limits });
    case 'paddle':
      return readPaddle(bytes, { limits });
    case undefined:
      if (isTar(bytes)) {
        throw new CheckpointError(`${what} is a tar archive: the torch < 0.1.10 checkpoint format, which is not supported; re-save it with a current torch`);
      }
      if (otherFormat(bytes)) {
        throw new CheckpointError(`${what} is ${otherFormat(bytes)}, which this library does not read; supported: safetensors, PyTorch .pth/.th (zip or legacy), Paddle .pdparams`);
      }
      throw new CheckpointError(
        `${what} is not a recognised checkpoint (${describeStart(bytes)}); expected safetensors (8-byte header length then '{'), ` +
          `a torch zip ('PK\\x03\\x04'), a legacy torch file or a .pdparams pickle (0x80 0x02..0x05)`,
      );
  }
}

/** Wrapper keys that hold a state dict, most preferred first (EMA copies last). */
const WRAPPERS = ['state_dict', 'model', 'module', 'net', 'network', 'params', 'model_state_dict', 'model_ema', 'state_dict_ema', 'ema'];

export interface StateDict<T = CheckpointTensor> {
  readonly tensors: Map<string, T>;
  /** The container path the tensors came from ('' = top level, 'model/state_dict', ...). */
  readonly path: string;
  readonly notes: string[];
}

function wrapperRank(path: string): number {
  if (path === '') return 0;
  const last = path.slice(path.lastIndexOf('/') + 1);
  const i = WRAPPERS.indexOf(last);
  return i < 0 ? WRAPPERS.length + 1 : i + 1;
}

/**
 * Finds the state dict in a checkpoint: the container holding the most tensors directly
 * (ties go to the preferred wrapper name, so `state_dict` beats `state_dict_ema`).
 * `opts.path` forces a container.
 */
export function extractStateDict<T = CheckpointTensor>(ckpt: Pick<Checkpoint<T>, 'tensors'>, opts: { path?: string } = {}): StateDict<T> {
  const groups = new Map<string, Map<string, T>>();
  for (const [key, t] of ckpt.tensors) {
    const cut = key.lastIndexOf('/');
    const dir = cut < 0 ? '' : key.slice(0, cut);
    let g = groups.get(dir);
    if (!g) groups.set(dir, (g = new Map()));
    g.set(key.slice(cut + 1), t);
  }
  const notes: string[] = [];
  if (opts.path !== undefined) {
    const g = groups.get(opts.path);
    if (!g) {
      throw new CheckpointError(
        `no tensors under '${opts.path}' in the checkpoint; containers with tensors: ${[...groups.keys()].map((k) => `'${k}'`).join(', ') || 'none'}`,
      );
    }
    return { tensors: g, path: opts.path, notes };
  }
  if (groups.size === 0) throw new CheckpointError('the checkpoint holds no tensors');
  const ranked = [...groups].sort(
    ([pa, ga], [pb, gb]) => gb.size - ga.size || wrapperRank(pa) - wrapperRank(pb) || pa.length - pb.length,
  );
  const [path, tensors] = ranked[0];
  if (path !== '') notes.push(`state dict found under '${path}' (${tensors.size} tensors)`);
  const others = ranked.slice(1).map(([p, g]) => `'${p}' (${g.size})`);
  if (others.length) notes.push(`other tensor containers left unused: ${others.slice(0, 10).join(', ')}${others.length > 10 ? ` and ${others.length - 10} more` : ''}`);
  return { tensors, path, notes };
}
