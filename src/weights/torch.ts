/**
 * PyTorch checkpoints written by `torch.save`:
 * - the zip container (torch >= 1.6): `<prefix>/data.pkl` (pickle whose tensors name storages by
 *   persistent id `('storage', StorageType, key, location, numel)`), `<prefix>/data/<key>` raw
 *   little-endian storages, optional `<prefix>/byteorder`; the prefix is arbitrary.
 * - the legacy stream (torch < 1.6): pickles of the magic number, protocol version 1001 and
 *   sys_info, then the object (persistent id `('storage', StorageType, root_key, location, numel,
 *   view_metadata)`), then the sorted storage keys, then each storage as an int64 element count
 *   followed by its bytes.
 * see: pytorch torch/serialization.py (_save, _legacy_save, _load, _legacy_load)
 */
import type { CheckpointLimits } from '../limits.js';
import { quote, resolveLimits } from './budget.js';
import { type DType, ITEM_SIZE, decodeToFloat32, gatherStrided, isContiguous, lanes, viewExtent } from './dtype.js';
import { TorchFormatError } from './errors.js';
import { NumpyArray, TorchStorageType, TorchTensorRef, describe, pickleCopyBudget, unpickle } from './pickle.js';
import { AllocationBudget, flattenTree, numpyToTensor } from './tree.js';
import { CheckpointTensor, type Checkpoint } from './types.js';
import { ZipArchive } from './zip.js';

/** A storage ready to read: its bytes, element type and byte order. */
class Storage {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    readonly bytes: Uint8Array,
    readonly byteOffset: number,
    readonly littleEndian: boolean,
  ) {}
}

/** A legacy view into a root storage: element offset and size (view_metadata). */
class StorageView {
  constructor(readonly root: Storage | LegacyRoot, readonly offset: number, readonly numel: number) {}
}

/** A legacy root storage whose bytes come after the pickle. */
class LegacyRoot {
  storage: Storage | undefined;
  constructor(readonly key: string, readonly dtype: DType, readonly numel: number) {}
}

function isIdx(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Parses ('storage', StorageType, key, location, numel[, view_metadata]). */
function parseStoragePid(pid: unknown, locations: Set<string>): {
  dtype: DType; key: string; numel: number; view: unknown;
} {
  if (!Array.isArray(pid) || pid.length < 5) {
    throw new TorchFormatError(`torch: persistent id must be ('storage', type, key, location, size), found ${describe(pid)}`);
  }
  const [tag, type, key, location, numel, view] = pid;
  if (tag !== 'storage') {
    throw new TorchFormatError(
      `torch: persistent id of kind ${describe(tag)} (not 'storage'): the file pickles a whole module, not a state dict`,
    );
  }
  if (!(type instanceof TorchStorageType)) throw new TorchFormatError(`torch: storage type must be a torch.*Storage, found ${describe(type)}`);
  if (typeof key !== 'string' && !isIdx(key)) throw new TorchFormatError(`torch: storage key must be a string, found ${describe(key)}`);
  if (!isIdx(numel)) throw new TorchFormatError(`torch: storage ${quote(String(key))} size must be a non-negative integer, found ${describe(numel)}`);
  if (typeof location === 'string') locations.add(location);
  return { dtype: type.dtype, key: String(key), numel, view };
}

/** Materialises a tensor view as float32 in C order (non-contiguous views are copied). */
function tensorFromRef(ref: TorchTensorRef, key: string, budget: AllocationBudget): CheckpointTensor {
  let s = ref.storage;
  let base = 0;
  let limit: number;
  if (s instanceof StorageView) {
    base = s.offset;
    limit = s.numel;
    const root: Storage | LegacyRoot = s.root;
    s = root instanceof LegacyRoot ? root.storage : root;
    if (!s) throw new TorchFormatError(`torch: tensor ${quote(key)} uses a storage whose data is missing`);
  } else if (s instanceof Storage) {
    limit = s.numel;
  } else {
    throw new TorchFormatError(`torch: tensor ${quote(key)} is not backed by a storage (found ${describe(s)})`);
  }
  const storage = s as Storage;
  const { shape, stride } = ref;
  const count = shape.reduce((p, d) => p * d, 1);
  const extent = viewExtent(ref.offset, shape, stride);
  if (extent >= limit) {
    throw new TorchFormatError(
      `torch: tensor ${quote(key)} [${shape.join(', ')}] (offset ${ref.offset}, stride [${stride.join(', ')}]) reaches element ${extent} of a ${limit}-element storage ${quote(storage.key)}`,
    );
  }
  budget.take(count * lanes(storage.dtype), key);
  const size = ITEM_SIZE[storage.dtype];
  const first = storage.byteOffset + (base + ref.offset) * size;
  if (count === 0) return new CheckpointTensor(storage.dtype, shape, new Float32Array(0));
  if (isContiguous(shape, stride)) {
    return new CheckpointTensor(storage.dtype, shape, decodeToFloat32(storage.bytes, first, count, storage.dtype, storage.littleEndian));
  }
  // Decode the span the view touches, then walk it with the view's strides.
  const span = extent - ref.offset + 1;
  budget.take(span * lanes(storage.dtype), key);
  const src = decodeToFloat32(storage.bytes, first, span, storage.dtype, storage.littleEndian);
  return new CheckpointTensor(storage.dtype, shape, gatherStrided(src, 0, shape, stride, lanes(storage.dtype)));
}

function toTensor(budget: AllocationBudget) {
  return (x: unknown, key: string): CheckpointTensor | undefined => {
    if (x instanceof TorchTensorRef) return tensorFromRef(x, key, budget);
    if (x instanceof NumpyArray) return numpyToTensor(x, key, budget);
    return undefined;
  };
}

/** Reads a torch zip checkpoint (any archive prefix). */
export function readTorchZip(bytes: Uint8Array, opts: { limits?: Partial<CheckpointLimits> } = {}): Checkpoint {
  const limits = resolveLimits(opts.limits);
  const zip = new ZipArchive(bytes);
  const { entries, byName } = zip;
  // Duplicate names: the last record wins (byName), as in Python's zipfile.
  const pkls = [...byName.values()].filter((e) => e.name === 'data.pkl' || e.name.endsWith('/data.pkl'));
  const isTorchScript = entries.some((e) => /(^|\/)code\/__torch__\//.test(e.name) || /(^|\/)constants\.pkl$/.test(e.name));
  if (isTorchScript) {
    throw new TorchFormatError(
      'torch: this is a TorchScript archive (torch.jit.save: code/__torch__/..., constants.pkl), which holds a compiled program, ' +
        'not a state dict; in Python, load it and save model.state_dict() with torch.save or safetensors',
    );
  }
  if (pkls.length === 0) {
    const names = entries.slice(0, 5).map((e) => quote(e.name)).join(', ');
    throw new TorchFormatError(`torch: zip archive has no data.pkl entry (entries: ${names}${entries.length > 5 ? ', ...' : ''}); not a torch.save checkpoint`);
  }
  pkls.sort((a, b) => a.name.length - b.name.length);
  const prefix = pkls[0].name.slice(0, -'data.pkl'.length);
  const notes: string[] = [];
  let littleEndian = true;
  const bo = byName.get(`${prefix}byteorder`);
  if (bo) {
    const text = new TextDecoder().decode(zip.data(bo)).trim();
    if (text !== 'little' && text !== 'big') throw new TorchFormatError(`torch: byteorder record must be 'little' or 'big', found ${quote(text, 20)}`);
    littleEndian = text === 'little';
  }
  const locations = new Set<string>();
  const storages = new Map<string, Storage>();
  const pkl = zip.data(pkls[0]);
  const { value } = unpickle(pkl, {
    limits,
    copyBudget: pickleCopyBudget(limits, bytes.length),
    persistentLoad(pid) {
      const { dtype, key, numel } = parseStoragePid(pid, locations);
      let s = storages.get(key);
      if (!s) {
        const entry = byName.get(`${prefix}data/${key}`);
        if (!entry) throw new TorchFormatError(`torch: storage ${quote(key)} has no entry ${quote(`${prefix}data/${key}`)} in the archive`);
        const data = zip.data(entry);
        if (data.length < numel * ITEM_SIZE[dtype]) {
          throw new TorchFormatError(`torch: storage ${quote(key)} holds ${data.length} bytes, but ${numel} ${dtype} elements need ${numel * ITEM_SIZE[dtype]}`);
        }
        s = new Storage(key, dtype, numel, data, 0, littleEndian);
        storages.set(key, s);
      } else if (s.dtype !== dtype) {
        throw new TorchFormatError(`torch: storage ${quote(key)} is used as both ${s.dtype} and ${dtype}`);
      }
      return s;
    },
  });
  if (locations.size) notes.push(`torch: storage locations ${[...locations].join(', ')} (read on the CPU)`);
  const budget = new AllocationBudget(limits, bytes.length);
  const { tensors, others } = flattenTree(value, toTensor(budget), notes, limits, bytes.length);
  return { format: 'torch-zip', tensors, others, notes };
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** Reads a legacy (pre-1.6) torch.save stream. */
export function readTorchLegacy(bytes: Uint8Array, opts: { limits?: Partial<CheckpointLimits> } = {}): Checkpoint {
  const limits = resolveLimits(opts.limits);
  const copyBudget = pickleCopyBudget(limits, bytes.length);
  const magic = unpickle(bytes, { limits, copyBudget });
  if (magic.value !== LEGACY_MAGIC) {
    throw new TorchFormatError(`torch: legacy stream must start with the magic number ${LEGACY_MAGIC}, found ${describe(magic.value)}`);
  }
  const proto = unpickle(bytes, { offset: magic.end, limits, copyBudget });
  if (proto.value !== LEGACY_PROTOCOL) {
    throw new TorchFormatError(`torch: legacy protocol version must be ${LEGACY_PROTOCOL}, found ${describe(proto.value)}`);
  }
  const sys = unpickle(bytes, { offset: proto.end, limits, copyBudget });
  let littleEndian = true;
  if (sys.value instanceof Map && sys.value.get('little_endian') === false) littleEndian = false;
  const locations = new Set<string>();
  const roots = new Map<string, LegacyRoot>();
  const obj = unpickle(bytes, {
    offset: sys.end,
    limits,
    copyBudget,
    persistentLoad(pid) {
      const { dtype, key, numel, view } = parseStoragePid(pid, locations);
      let root = roots.get(key);
      if (!root) roots.set(key, (root = new LegacyRoot(key, dtype, numel)));
      else if (root.dtype !== dtype || root.numel !== numel) {
        throw new TorchFormatError(`torch: storage ${quote(key)} is declared as both ${root.dtype}[${root.numel}] and ${dtype}[${numel}]`);
      }
      if (view === null || view === undefined) return new StorageView(root, 0, numel);
      // view_metadata = (view_key, offset, view_size), in elements of the root.
      if (!Array.isArray(view) || view.length !== 3 || !isIdx(view[1]) || !isIdx(view[2]) || view[1] + view[2] > numel) {
        throw new TorchFormatError(`torch: storage view ${describe(view)} does not fit storage ${quote(key)} of ${numel} elements`);
      }
      return new StorageView(root, view[1], view[2]);
    },
  });
  const keysPickle = unpickle(bytes, { offset: obj.end, limits, copyBudget });
  const keys = keysPickle.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' || isIdx(k))) {
    throw new TorchFormatError(`torch: legacy storage key list must be a list of strings, found ${describe(keys)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keysPickle.end;
  for (const k of keys.map(String)) {
    const root = roots.get(k);
    if (!root) throw new TorchFormatError(`torch: storage ${quote(k)} is listed but no tensor uses it`);
    if (pos + 8 > bytes.length) throw new TorchFormatError(`torch: file truncated before the size of storage ${quote(k)} (offset ${pos} of ${bytes.length})`);
    const lo = view.getUint32(pos + (littleEndian ? 0 : 4), littleEndian);
    const hi = view.getUint32(pos + (littleEndian ? 4 : 0), littleEndian);
    const numel = hi * 4294967296 + lo;
    if (numel !== root.numel) {
      throw new TorchFormatError(`torch: storage ${quote(k)} records ${numel} elements in the data section but ${root.numel} in the pickle`);
    }
    const start = pos + 8;
    const length = numel * ITEM_SIZE[root.dtype];
    if (start + length > bytes.length) {
      throw new TorchFormatError(`torch: storage ${quote(k)} needs ${length} bytes at offset ${start}, but the file ends at ${bytes.length}`);
    }
    root.storage = new Storage(k, root.dtype, numel, bytes, start, littleEndian);
    pos = start + length;
  }
  const notes: string[] = [];
  for (const [k, root] of roots) {
    if (!root.storage) throw new TorchFormatError(`torch: storage ${quote(k)} is used by a tensor but missing from the key list`);
  }
  if (pos !== bytes.length) notes.push(`torch: ${bytes.length - pos} trailing bytes after the last storage`);
  if (locations.size) notes.push(`torch: storage locations ${[...locations].join(', ')} (read on the CPU)`);
  const budget = new AllocationBudget(limits, bytes.length);
  const { tensors, others } = flattenTree(obj.value, toTensor(budget), notes, limits, bytes.length);
  return { format: 'torch-legacy', tensors, others, notes };
}

