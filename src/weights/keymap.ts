/**
 * Key translation between the ResNet naming schemes (the one table of ARCHITECTURES.md section 4).
 * A checkpoint in one scheme is adapted to a model named in another by going through a canonical
 * spelling:
 *
 *   canonical                     torch / timm / cifar             Paddle legendary             Paddle model_zoo
 *   stem.J.conv / stem.J.bn       conv1, bn1 (J=0) or timm deep:   stem.J.conv / stem.J.bn      conv._conv / conv._batch_norm,
 *                                 conv1.0/1, conv1.3/4, conv1.6+bn1                             conv1_{J+1}._conv / ._batch_norm
 *   layerS.I.convK / bnK          layerS.I.convK / bnK             blocks.G.conv{K-1}.conv/bn   bb_{S-1}_I.conv{K-1}._conv/_batch_norm
 *   layerS.I.short.conv / .bn     downsample.0/1 (timm 'd': 1/2),  blocks.G.short.conv/bn       bb_{S-1}_I.short._conv/_batch_norm
 *                                 cifar option B: shortcut.0/1
 *   fc (weight [out, in])         fc (cifar: linear)               fc, weight [in, out]         out, weight [in, out]
 *   BN running_mean/running_var   running_mean/running_var         _mean/_variance              _mean/_variance
 *
 * G is Paddle's global block index over all stages (ResNet50: blocks.0..15), so converting needs the
 * blocks per stage: read from whichever side names stages (torch, zoo), else the standard depths.
 */
import { Tensor } from '../tensor.js';
import { NarrowTensor } from './narrow.js';
import { CheckpointError } from './errors.js';

export type KeyScheme = 'torch' | 'cifar' | 'paddle' | 'paddle-zoo';
export const KEY_SCHEMES: readonly KeyScheme[] = ['torch', 'cifar', 'paddle', 'paddle-zoo'];

/** What a set of keys says about the network: stem, shortcut indices, head name, stage sizes. */
interface Layout {
  deepStem: boolean;
  /** timm avg_down: downsample.1 (conv) / downsample.2 (BN). */
  avgDown: boolean;
  /** Blocks per stage, when the keys name stages. */
  stages?: number[];
}

interface SchemeDef {
  /** Linear weight layout: torch [out, in], Paddle [in, out]. */
  readonly fcLayout: 'oi' | 'io';
  layout(keys: readonly string[]): Layout;
  /** Checkpoint key -> canonical key (undefined: not a ResNet key, passed through unchanged). */
  toCanon(key: string, l: Layout): string | undefined;
  /** Canonical key -> this scheme (undefined: no counterpart, e.g. num_batches_tracked in Paddle). */
  fromCanon(key: string, l: Layout): string | undefined;
}

const PADDLE_BN: Record<string, string> = { _mean: 'running_mean', _variance: 'running_var' };
const TORCH_BN: Record<string, string> = { running_mean: '_mean', running_var: '_variance' };
const paddleParam = (p: string) => PADDLE_BN[p] ?? p;
const torchToPaddleParam = (p: string): string | undefined => (p === 'num_batches_tracked' ? undefined : (TORCH_BN[p] ?? p));

/** Stage numbers beyond this are not a ResNet's (they have 4): such keys are passed through, not counted. */
const MAX_STAGES = 64;

/**
 * Blocks per stage from keys like `layer2.3.` (torch, 1-based stages) or `bb_1_3.` (zoo, 0-based).
 * The stage number comes from the file, so it is bounded before it sizes the array (issue 17:
 * `layer4000000000.0.` made a 4e9-element array).
 */
function stagesFrom(keys: readonly string[], re: RegExp, base: number): number[] | undefined {
  const counts: number[] = [];
  for (const k of keys) {
    const m = re.exec(k);
    if (!m) continue;
    const s = Number(m[1]) - base;
    if (!(s >= 0 && s < MAX_STAGES) || !Number.isSafeInteger(Number(m[2]))) continue;
    counts[s] = Math.max(counts[s] ?? 0, Number(m[2]) + 1);
  }
  if (counts.length === 0) return undefined;
  for (let s = 0; s < counts.length; s++) counts[s] ??= 0;
  return counts;
}

/** Standard depths by total block count (PaddleClas NET_CONFIG; 18 and 34 share nothing else). */
const STANDARD_STAGES: Readonly<Record<number, number[]>> = {
  8: [2, 2, 2, 2], 16: [3, 4, 6, 3], 33: [3, 4, 23, 3], 50: [3, 8, 36, 3], 66: [3, 12, 48, 3],
};

function torchLike(head: 'fc' | 'linear', short: 'downsample' | 'shortcut'): SchemeDef {
  return {
    fcLayout: 'oi',
    layout: (keys) => ({
      deepStem: keys.some((k) => k.startsWith('conv1.0.')),
      avgDown: keys.some((k) => new RegExp(`\\.${short}\\.2\\.`).test(k)),
      stages: stagesFrom(keys, /^layer(\d+)\.(\d+)\./, 1),
    }),
    toCanon(key, l) {
      let m: RegExpExecArray | null;
      if (l.deepStem && (m = /^conv1\.(\d)\.(.+)$/.exec(key))) {
        const unit = ['stem.0.conv', 'stem.0.bn', undefined, 'stem.1.conv', 'stem.1.bn', undefined, 'stem.2.conv'][Number(m[1])];
        return unit && `${unit}.${m[2]}`;
      }
      if ((m = /^bn1\.(.+)$/.exec(key))) return `stem.${l.deepStem ? 2 : 0}.bn.${m[1]}`;
      if (!l.deepStem && (m = /^conv1\.(weight|bias)$/.exec(key))) return `stem.0.conv.${m[1]}`;
      if ((m = /^layer(\d+)\.(\d+)\.((?:conv|bn)\d)\.(.+)$/.exec(key))) return key;
      if ((m = new RegExp(`^layer(\\d+)\\.(\\d+)\\.${short}\\.(\\d)\\.(.+)$`).exec(key))) {
        const idx = Number(m[3]) - (l.avgDown ? 1 : 0);
        if (idx !== 0 && idx !== 1) return undefined;
        return `layer${m[1]}.${m[2]}.short.${idx === 0 ? 'conv' : 'bn'}.${m[4]}`;
      }
      if ((m = new RegExp(`^${head}\\.(weight|bias)$`).exec(key))) return `fc.${m[1]}`;
      return undefined;
    },
    fromCanon(key, l) {
      let m: RegExpExecArray | null;
      if ((m = /^stem\.(\d)\.(conv|bn)\.(.+)$/.exec(key))) {
        const j = Number(m[1]);
        if (!l.deepStem) return j === 0 ? `${m[2] === 'conv' ? 'conv1' : 'bn1'}.${m[3]}` : undefined;
        const name = m[2] === 'conv' ? ['conv1.0', 'conv1.3', 'conv1.6'][j] : ['conv1.1', 'conv1.4', 'bn1'][j];
        return name && `${name}.${m[3]}`;
      }
      if ((m = /^layer(\d+)\.(\d+)\.short\.(conv|bn)\.(.+)$/.exec(key))) {
        const idx = (m[3] === 'conv' ? 0 : 1) + (l.avgDown ? 1 : 0);
        return `layer${m[1]}.${m[2]}.${short}.${idx}.${m[4]}`;
      }
      if ((m = /^fc\.(weight|bias)$/.exec(key))) return `${head}.${m[1]}`;
      return key;
    },
  };
}

function globalToStage(g: number, stages: number[]): [number, number] | undefined {
  let first = 0;
  for (let s = 0; s < stages.length; s++) {
    if (g < first + stages[s]) return [s + 1, g - first];
    first += stages[s];
  }
  return undefined;
}

function stageToGlobal(s: number, i: number, stages: number[]): number | undefined {
  if (s < 1 || s > stages.length || i >= stages[s - 1]) return undefined;
  return stages.slice(0, s - 1).reduce((a, b) => a + b, 0) + i;
}

const paddleLegendary: SchemeDef = {
  fcLayout: 'io',
  layout: (keys) => ({ deepStem: keys.some((k) => k.startsWith('stem.1.')), avgDown: false }),
  toCanon(key, l) {
    let m: RegExpExecArray | null;
    if ((m = /^stem\.(\d)\.(conv|bn)\.(.+)$/.exec(key))) return `stem.${m[1]}.${m[2]}.${paddleParam(m[3])}`;
    if ((m = /^blocks\.(\d+)\.(conv(\d)|short)\.(conv|bn)\.(.+)$/.exec(key))) {
      const si = l.stages && globalToStage(Number(m[1]), l.stages);
      if (!si) return undefined;
      const unit = m[3] !== undefined ? `${m[4]}${Number(m[3]) + 1}` : `short.${m[4]}`;
      return `layer${si[0]}.${si[1]}.${unit}.${paddleParam(m[5])}`;
    }
    if ((m = /^fc\.(weight|bias)$/.exec(key))) return key;
    return undefined;
  },
  fromCanon(key, l) {
    let m: RegExpExecArray | null;
    if ((m = /^stem\.(\d)\.(conv|bn)\.(.+)$/.exec(key))) {
      const p = torchToPaddleParam(m[3]);
      return p && `stem.${m[1]}.${m[2]}.${p}`;
    }
    if ((m = /^layer(\d+)\.(\d+)\.(?:(conv|bn)(\d)|short\.(conv|bn))\.(.+)$/.exec(key))) {
      const g = l.stages && stageToGlobal(Number(m[1]), Number(m[2]), l.stages);
      const p = torchToPaddleParam(m[6]);
      if (g === undefined || !p) return p && key;
      const unit = m[3] ? `conv${Number(m[4]) - 1}.${m[3]}` : `short.${m[5]}`;
      return `blocks.${g}.${unit}.${p}`;
    }
    return key;
  },
};

const paddleZoo: SchemeDef = {
  fcLayout: 'io',
  layout: (keys) => ({
    deepStem: keys.some((k) => k.startsWith('conv1_1.')),
    avgDown: false,
    stages: stagesFrom(keys, /^bb_(\d+)_(\d+)\./, 0),
  }),
  toCanon(key) {
    let m: RegExpExecArray | null;
    const unit = (u: string) => (u === 'conv' ? 'conv' : 'bn');
    if ((m = /^conv\._(conv|batch_norm)\.(.+)$/.exec(key))) return `stem.0.${unit(m[1])}.${paddleParam(m[2])}`;
    if ((m = /^conv1_(\d)\._(conv|batch_norm)\.(.+)$/.exec(key))) return `stem.${Number(m[1]) - 1}.${unit(m[2])}.${paddleParam(m[3])}`;
    if ((m = /^bb_(\d+)_(\d+)\.conv(\d)\._(conv|batch_norm)\.(.+)$/.exec(key))) {
      return `layer${Number(m[1]) + 1}.${m[2]}.${unit(m[4])}${Number(m[3]) + 1}.${paddleParam(m[5])}`;
    }
    if ((m = /^bb_(\d+)_(\d+)\.short\._(conv|batch_norm)\.(.+)$/.exec(key))) {
      return `layer${Number(m[1]) + 1}.${m[2]}.short.${unit(m[3])}.${paddleParam(m[4])}`;
    }
    if ((m = /^out\.(weight|bias)$/.exec(key))) return `fc.${m[1]}`;
    return undefined;
  },
  fromCanon(key, l) {
    let m: RegExpExecArray | null;
    const unit = (u: string) => (u === 'conv' ? '_conv' : '_batch_norm');
    if ((m = /^stem\.(\d)\.(conv|bn)\.(.+)$/.exec(key))) {
      const p = torchToPaddleParam(m[3]);
      if (!p) return undefined;
      return l.deepStem ? `conv1_${Number(m[1]) + 1}.${unit(m[2])}.${p}` : m[1] === '0' ? `conv.${unit(m[2])}.${p}` : undefined;
    }
    if ((m = /^layer(\d+)\.(\d+)\.(?:(conv|bn)(\d)|short\.(conv|bn))\.(.+)$/.exec(key))) {
      const p = torchToPaddleParam(m[6]);
      if (!p) return undefined;
      const u = m[3] ? `conv${Number(m[4]) - 1}.${unit(m[3])}` : `short.${unit(m[5])}`;
      return `bb_${Number(m[1]) - 1}_${m[2]}.${u}.${p}`;
    }
    if ((m = /^fc\.(weight|bias)$/.exec(key))) return `out.${m[1]}`;
    return key;
  },
};

const SCHEMES: Readonly<Record<KeyScheme, SchemeDef>> = {
  torch: torchLike('fc', 'downsample'),
  cifar: torchLike('linear', 'shortcut'),
  paddle: paddleLegendary,
  'paddle-zoo': paddleZoo,
};

/** Which naming a set of keys uses (prefixes such as `module.` already removed). */
export function detectKeyScheme(keys: Iterable<string>): KeyScheme {
  const list = [...keys];
  if (list.some((k) => /^bb_\d+_\d+\./.test(k) || /\._(conv|batch_norm)\./.test(k))) return 'paddle-zoo';
  if (list.some((k) => /^(stem|blocks)\.\d+\./.test(k) || /\._(mean|variance)$/.test(k))) return 'paddle';
  if (list.some((k) => /^linear\.weight$/.test(k)) && !list.some((k) => /^fc\.weight$/.test(k))) return 'cifar';
  return 'torch';
}

/** Wrappers added around a module's keys by training tools: DataParallel, torch.compile. */
const KEY_PREFIXES = ['module.', '_orig_mod.'];

export interface AdaptResult<T = Tensor> {
  readonly tensors: Map<string, T>;
  /** The scheme the checkpoint was read as. */
  readonly scheme: KeyScheme;
  /** The scheme of the model's keys. */
  readonly target: KeyScheme;
  /** How many keys changed name (prefix removal included). */
  readonly renamed: number;
  /** Target keys whose tensor was transposed ([out, in] <-> [in, out] linear weights). */
  readonly transposed: string[];
  readonly notes: string[];
}

/** A narrow weight is widened first: its scales belong to the axis being moved. */
function transpose2d(t: Tensor | NarrowTensor): Tensor {
  const [r, c] = t.shape;
  const data = t instanceof NarrowTensor ? t.widen() : t.data;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = data[i * c + j];
  return new Tensor(out, [c, r]);
}

/**
 * Renames (and where needed transposes) checkpoint tensors into the model's key scheme, detected
 * from `expected` keys; the checkpoint's scheme is detected from its keys unless `opts.from` says.
 * Keys that are not ResNet parameters pass through unchanged, so the binder reports them.
 */
export function adaptStateDict<T extends Tensor | NarrowTensor = Tensor>(
  tensors: ReadonlyMap<string, T>,
  expected: readonly { key: string; shape: readonly number[] }[],
  opts: { from?: string } = {},
): AdaptResult<T | Tensor> {
  const notes: string[] = [];
  let renamed = 0;
  // 1. Drop wrapper prefixes that every key carries.
  let entries = [...tensors];
  for (const prefix of KEY_PREFIXES) {
    if (entries.length && entries.every(([k]) => k.startsWith(prefix)) && !expected.some((e) => e.key.startsWith(prefix))) {
      entries = entries.map(([k, t]) => [k.slice(prefix.length), t]);
      renamed += entries.length;
      notes.push(`removed the '${prefix}' prefix from ${entries.length} keys`);
    }
  }
  const keys = entries.map(([k]) => k);
  const expectedKeys = expected.map((e) => e.key);

  // 2. Schemes on both sides.
  if (opts.from !== undefined && !(KEY_SCHEMES as readonly string[]).includes(opts.from)) {
    throw new CheckpointError(`unknown key scheme '${opts.from}'; expected one of ${KEY_SCHEMES.join(', ')}`);
  }
  const scheme = (opts.from as KeyScheme | undefined) ?? detectKeyScheme(keys);
  const target = expected.length ? detectKeyScheme(expectedKeys) : scheme;
  const sameFamily = scheme === target || (scheme === 'torch' && target === 'cifar') || (scheme === 'cifar' && target === 'torch');
  if (scheme === target || (sameFamily && expected.length === 0)) {
    return { tensors: new Map(entries), scheme, target, renamed, transposed: [], notes };
  }

  // 3. Translate through the canonical names.
  const from = SCHEMES[scheme];
  const to = SCHEMES[target];
  const src = from.layout(keys);
  const dst = to.layout(expectedKeys);
  const stages = src.stages ?? dst.stages;
  if (!stages && (scheme === 'paddle' || target === 'paddle')) {
    const blocks = new Set<string>();
    for (const k of scheme === 'paddle' ? keys : expectedKeys) {
      const m = /^blocks\.(\d+)\./.exec(k);
      if (m) blocks.add(m[1]);
    }
    const std = STANDARD_STAGES[blocks.size];
    if (std) {
      src.stages = dst.stages = std;
      notes.push(`Paddle block numbering: assumed stages [${std.join(', ')}] for ${blocks.size} blocks`);
    }
  } else {
    src.stages ??= stages;
    dst.stages ??= stages;
  }
  const transposeFc = from.fcLayout !== to.fcLayout;
  const out = new Map<string, T | Tensor>();
  const transposed: string[] = [];
  let passed = 0;
  let dropped = 0;
  for (const [key, t] of entries) {
    const canon = from.toCanon(key, src);
    if (canon === undefined) {
      passed++;
      out.set(key, t);
      continue;
    }
    const nk = to.fromCanon(canon, dst);
    if (nk === undefined) {
      dropped++;
      continue;
    }
    let value: T | Tensor = t;
    if (transposeFc && canon === 'fc.weight' && t.shape.length === 2) {
      value = transpose2d(t);
      transposed.push(nk);
    }
    if (nk !== key) renamed++;
    if (out.has(nk)) throw new CheckpointError(`key translation ${scheme} -> ${target} maps two tensors to '${nk}' (one is '${key}')`);
    out.set(nk, value);
  }
  notes.push(`translated keys from the ${scheme} scheme to ${target}`);
  if (transposed.length) notes.push(`transposed ${transposed.join(', ')} (${from.fcLayout === 'oi' ? '[out, in] -> [in, out]' : '[in, out] -> [out, in]'})`);
  if (passed) notes.push(`${passed} key(s) outside the ResNet naming table kept as they were`);
  if (dropped) notes.push(`${dropped} key(s) with no counterpart in ${target} dropped (e.g. num_batches_tracked)`);
  return { tensors: out, scheme, target, renamed, transposed, notes };
}
