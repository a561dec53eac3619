/**
 * The model zoo as data: one row per named network, one builder (./resnet.ts) for all of them.
 * A variant is a set of arguments, never a function (timm's `ResNet(...)` rows are the model).
 * Facts per row come from the libraries' sources; see ../shared/reference/ARCHITECTURES.md.
 *
 * Variants (Bag of Tricks, He et al. 2019, arXiv 1812.01187):
 *   va  original paper: stride on the bottleneck's first 1x1; 7x7 stem
 *   vb  "v1.5" (torchvision, timm plain, Paddle ResNetXX): stride on the 3x3
 *   vc  deep 3x3 stem (32-32-64)
 *   vd  deep stem + avg-pool-then-1x1 projection shortcut
 *   vs  timm's 's': deep stem 64-64-128, plain 1x1 projection
 */

export type Source = 'torchvision' | 'timm' | 'paddle' | 'cifar';

/** How module paths (state-dict keys) are spelled. */
export type Naming =
  /** torchvision / timm: conv1, bn1, layer1.0.conv1, downsample.0/1 (timm avg_down: downsample.1/2), fc */
  | 'torch'
  /** PaddleClas legendary_models/resnet.py: stem.N.conv/bn, blocks.G.convK.conv/bn, short, fc ([in, out]) */
  | 'paddle'
  /** PaddleClas model_zoo (resnext*.py, resnet_vc.py): conv1_1._conv/_batch_norm, bb_S_I.convK, short, out ([in, out]) */
  | 'paddle-zoo'
  /** akamaster/pytorch_resnet_cifar10: conv1, bn1, layerS.I.convK/bnK, shortcut.0/1 (option B), linear */
  | 'cifar';

export type Stem =
  /** conv 7x7/2 (pad 3) to 64, BN, ReLU, maxpool 3x3/2 pad 1 */
  | 'conv7'
  /** three 3x3 convs (stride 2 on the first) of widths w, w, 2w, each with BN+ReLU, then maxpool */
  | 'deep'
  /** conv 3x3/1 to 16, BN, ReLU; no maxpool (CIFAR) */
  | 'cifar';

export type Shortcut =
  /** 1x1 conv with the block's stride, then BN */
  | 'conv'
  /** AvgPool 2x2/2 (ceil_mode, count_include_pad=False) then 1x1 conv stride 1, then BN; no pool at stride 1 */
  | 'avg'
  /** CIFAR option A: subsample by the stride, zero-pad channels; no parameters */
  | 'A';

export interface ModelConfig {
  readonly name: string;
  readonly source: Source;
  readonly family: 'resnet' | 'resnext' | 'wide_resnet' | 'cifar_resnet';
  readonly variant: 'va' | 'vb' | 'vc' | 'vd' | 'vs' | 'cifar-A' | 'cifar-B';
  readonly naming: Naming;
  readonly block: 'basic' | 'bottleneck';
  readonly layers: readonly number[];
  readonly stem: Stem;
  /** Width of the first stem conv: 64 for conv7; w of a deep stem (32, or 64 for 's'); 16 for CIFAR. */
  readonly stemWidth: number;
  readonly shortcut: Shortcut;
  /** Where a downsampling bottleneck puts its stride: 'first' = the first 1x1 (va), 'middle' = the 3x3. */
  readonly strideOn: 'first' | 'middle';
  readonly groups: number;
  readonly widthPerGroup: number;
  /** PaddleClas: a projection in block 0 of every stage, stage 1 included (matters for BasicBlock nets). */
  readonly firstStageProjection: boolean;
  /** Base widths of the stages (64, 128, 256, 512; CIFAR 16, 32, 64). */
  readonly stageWidths: readonly number[];
  readonly numClasses: number;
  readonly defaultInputSize: number;
  readonly bnEps: number;
  /** Image preprocessing preset that matches this model's published weights. */
  readonly preset: 'torchvision' | 'timm' | 'paddleclas' | 'cifar';
}

const IMAGENET = { numClasses: 1000, defaultInputSize: 224, bnEps: 1e-5, stageWidths: [64, 128, 256, 512] } as const;
const CIFAR = { numClasses: 10, defaultInputSize: 32, bnEps: 1e-5, stageWidths: [16, 32, 64] } as const;

const BASIC = 'basic' as const;
const BOTTLE = 'bottleneck' as const;
const L18 = [2, 2, 2, 2];
const L26 = [2, 2, 2, 2];
const L34 = [3, 4, 6, 3];
const L50 = [3, 4, 6, 3];
const L101 = [3, 4, 23, 3];
const L152 = [3, 8, 36, 3];
const L200_TIMM = [3, 24, 36, 3];
const L200_PADDLE = [3, 12, 48, 3];

type Row = Omit<ModelConfig, 'numClasses' | 'defaultInputSize' | 'bnEps' | 'stageWidths' | 'firstStageProjection' | 'groups' | 'widthPerGroup' | 'strideOn'> &
  Partial<Pick<ModelConfig, 'groups' | 'widthPerGroup' | 'strideOn' | 'firstStageProjection'>>;

// Each row function takes its name as a literal type parameter, so that ModelName is the union of
// the table's names without a second list of them.

/** torchvision/timm 'b' rows: 7x7 stem, 1x1 strided projection, stride on the 3x3. */
function plain<N extends string>(name: N, source: Source, block: 'basic' | 'bottleneck', layers: number[], groups = 1, widthPerGroup = 64): Row & { name: N } {
  const family = groups > 1 ? 'resnext' : widthPerGroup > 64 ? 'wide_resnet' : 'resnet';
  return { name, source, family, variant: 'vb', naming: 'torch', block, layers, stem: 'conv7', stemWidth: 64, shortcut: 'conv', groups, widthPerGroup, preset: source === 'timm' ? 'timm' : 'torchvision' };
}

/** timm deep-stem rows: 'c' (deep stem), 'd' (deep stem + avg_down), 's' (deep stem of 64). */
function timmDeep<N extends string>(name: N, variant: 'vc' | 'vd' | 'vs', block: 'basic' | 'bottleneck', layers: number[], groups = 1, widthPerGroup = 64): Row & { name: N } {
  return {
    name, source: 'timm', family: groups > 1 ? 'resnext' : 'resnet', variant, naming: 'torch', block, layers,
    stem: 'deep', stemWidth: variant === 'vs' ? 64 : 32, shortcut: variant === 'vd' ? 'avg' : 'conv', groups, widthPerGroup, preset: 'timm',
  };
}

/** PaddleClas legendary_models/resnet.py: vb or vd, always with the stage-1 projection. */
function paddle<N extends string>(name: N, variant: 'vb' | 'vd', block: 'basic' | 'bottleneck', layers: number[]): Row & { name: N } {
  return {
    name, source: 'paddle', family: 'resnet', variant, naming: 'paddle', block, layers,
    stem: variant === 'vd' ? 'deep' : 'conv7', stemWidth: variant === 'vd' ? 32 : 64, shortcut: variant === 'vd' ? 'avg' : 'conv',
    firstStageProjection: true, preset: 'paddleclas',
  };
}

/** PaddleClas model_zoo resnext.py / resnext_vd.py. */
function paddleResNeXt<D extends 50 | 101 | 152, C extends 32 | 64>(depth: D, cardinality: C, vd: boolean): Row & { name: `ResNeXt${D}${'' | '_vd'}_${C}x4d` } {
  const layers = depth === 50 ? L50 : depth === 101 ? L101 : L152;
  return {
    name: `ResNeXt${depth}${vd ? '_vd' : ''}_${cardinality}x4d` as `ResNeXt${D}${'' | '_vd'}_${C}x4d`, source: 'paddle', family: 'resnext', variant: vd ? 'vd' : 'vb',
    naming: 'paddle-zoo', block: BOTTLE, layers, stem: vd ? 'deep' : 'conv7', stemWidth: vd ? 32 : 64, shortcut: vd ? 'avg' : 'conv',
    groups: cardinality, widthPerGroup: 4, preset: 'paddleclas',
  };
}

function cifar<N extends string>(name: N, n: number): Row & { name: N } {
  return { name, source: 'cifar', family: 'cifar_resnet', variant: 'cifar-A', naming: 'cifar', block: BASIC, layers: [n, n, n], stem: 'cifar', stemWidth: 16, shortcut: 'A', preset: 'cifar' };
}

const ROWS = [
  // torchvision (timm's plain names are the same networks with the same keys)
  plain('resnet18', 'torchvision', BASIC, L18),
  plain('resnet34', 'torchvision', BASIC, L34),
  plain('resnet50', 'torchvision', BOTTLE, L50),
  plain('resnet101', 'torchvision', BOTTLE, L101),
  plain('resnet152', 'torchvision', BOTTLE, L152),
  plain('resnext50_32x4d', 'torchvision', BOTTLE, L50, 32, 4),
  plain('resnext101_32x8d', 'torchvision', BOTTLE, L101, 32, 8),
  plain('resnext101_64x4d', 'torchvision', BOTTLE, L101, 64, 4),
  plain('wide_resnet50_2', 'torchvision', BOTTLE, L50, 1, 128),
  plain('wide_resnet101_2', 'torchvision', BOTTLE, L101, 1, 128),
  // timm-only plain names
  plain('resnet26', 'timm', BOTTLE, L26),
  plain('resnet200', 'timm', BOTTLE, L200_TIMM),
  plain('resnext101_32x4d', 'timm', BOTTLE, L101, 32, 4),
  plain('resnext101_32x16d', 'timm', BOTTLE, L101, 32, 16),
  // timm c / d / s
  timmDeep('resnet50c', 'vc', BOTTLE, L50),
  timmDeep('resnet101c', 'vc', BOTTLE, L101),
  timmDeep('resnet152c', 'vc', BOTTLE, L152),
  timmDeep('resnet18d', 'vd', BASIC, L18),
  timmDeep('resnet26d', 'vd', BOTTLE, L26),
  timmDeep('resnet34d', 'vd', BASIC, L34),
  timmDeep('resnet50d', 'vd', BOTTLE, L50),
  timmDeep('resnet101d', 'vd', BOTTLE, L101),
  timmDeep('resnet152d', 'vd', BOTTLE, L152),
  timmDeep('resnet200d', 'vd', BOTTLE, L200_TIMM),
  timmDeep('resnext50d_32x4d', 'vd', BOTTLE, L50, 32, 4),
  timmDeep('resnet50s', 'vs', BOTTLE, L50),
  timmDeep('resnet101s', 'vs', BOTTLE, L101),
  timmDeep('resnet152s', 'vs', BOTTLE, L152),
  // va: the original paper's stride on the first 1x1 (no library ships such weights; torch naming)
  { ...plain('resnet50_va', 'torchvision', BOTTLE, L50), variant: 'va', strideOn: 'first' },
  { ...plain('resnet101_va', 'torchvision', BOTTLE, L101), variant: 'va', strideOn: 'first' },
  { ...plain('resnet152_va', 'torchvision', BOTTLE, L152), variant: 'va', strideOn: 'first' },
  // PaddleClas, names exactly as spelled there
  paddle('ResNet18', 'vb', BASIC, L18),
  paddle('ResNet18_vd', 'vd', BASIC, L18),
  paddle('ResNet34', 'vb', BASIC, L34),
  paddle('ResNet34_vd', 'vd', BASIC, L34),
  paddle('ResNet50', 'vb', BOTTLE, L50),
  paddle('ResNet50_vd', 'vd', BOTTLE, L50),
  paddle('ResNet101', 'vb', BOTTLE, L101),
  paddle('ResNet101_vd', 'vd', BOTTLE, L101),
  paddle('ResNet152', 'vb', BOTTLE, L152),
  paddle('ResNet152_vd', 'vd', BOTTLE, L152),
  paddle('ResNet200_vd', 'vd', BOTTLE, L200_PADDLE),
  {
    name: 'ResNet50_vc', source: 'paddle', family: 'resnet', variant: 'vc', naming: 'paddle-zoo', block: BOTTLE, layers: L50,
    stem: 'deep', stemWidth: 32, shortcut: 'conv', preset: 'paddleclas',
  },
  ...([50, 101, 152] as const).flatMap((d) => ([32, 64] as const).flatMap((c) => [paddleResNeXt(d, c, false), paddleResNeXt(d, c, true)])),
  // CIFAR ResNets (He et al. 2015, sec. 4.2), akamaster naming, option A shortcut by default
  cifar('resnet20', 3),
  cifar('resnet32', 5),
  cifar('resnet44', 7),
  cifar('resnet56', 9),
  cifar('resnet110', 18),
  cifar('resnet1202', 200),
] as const satisfies readonly Row[];

/**
 * Every name of the zoo, as a type: `createModel` and `getModelConfig` take `ModelName | (string & {})`,
 * so editors complete the names while any string (a library prefix, a name from user input) still
 * type-checks and is looked up at run time, with "did you mean" suggestions when unknown.
 */
export type ModelName = (typeof ROWS)[number]['name'];

function complete(r: Row): ModelConfig {
  const base = r.source === 'cifar' ? CIFAR : IMAGENET;
  return {
    ...base,
    groups: 1,
    widthPerGroup: 64,
    strideOn: 'middle',
    firstStageProjection: false,
    ...r,
  };
}

export const MODELS: readonly ModelConfig[] = ROWS.map(complete);

const BY_NAME = new Map(MODELS.map((m) => [m.name, m]));

/** Library prefixes a user may put before a name (`timm:resnet50d`, `paddle:ResNet50_vd`). */
const PREFIXES = ['torchvision:', 'timm:', 'paddle:', 'cifar:', 'reference:'];

/** Looks a model up by name (with an optional library prefix); unknown names get suggestions. */
export function getModelConfig(name: ModelName | (string & {})): ModelConfig {
  let bare = name;
  for (const p of PREFIXES) if (bare.startsWith(p)) bare = bare.slice(p.length);
  const found = BY_NAME.get(bare);
  if (found) return found;
  const suggestions = closestNames(bare, [...BY_NAME.keys()], 3);
  throw new UnknownModelError(name, suggestions);
}

export class UnknownModelError extends Error {
  constructor(
    readonly requested: string,
    readonly suggestions: string[],
  ) {
    super(`unknown model '${requested}'` + (suggestions.length ? `; did you mean ${suggestions.map((s) => `'${s}'`).join(', ')}?` : '') + ` (run 'resnet models' for the full list)`);
    this.name = 'UnknownModelError';
  }
}

/** Edit distance (case-insensitive), for "did you mean". */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

export function closestNames(query: string, names: readonly string[], count: number): string[] {
  return names
    .map((n) => ({ n, d: distance(query, n) }))
    .filter(({ d }) => d <= Math.max(3, Math.floor(query.length / 2)))
    .sort((x, y) => x.d - y.d || x.n.localeCompare(y.n))
    .slice(0, count)
    .map(({ n }) => n);
}
