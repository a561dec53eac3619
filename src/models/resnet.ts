/**
 * The one builder: turns a ModelConfig row into a Graph whose module paths equal the source
 * library's state-dict keys. The forward pass reads top to bottom like torchvision's
 * (`identity = x` ... `out += identity`), except that the shortcut branch is emitted before the
 * main branch so that fast backends can fuse the residual add into the last conv's epilogue.
 * see: torchvision/models/resnet.py, timm/models/resnet.py, ppcls/arch/backbone/legendary_models/resnet.py,
 * ppcls/arch/backbone/model_zoo/resnext*.py, akamaster/pytorch_resnet_cifar10/resnet.py
 */
import type { Graph, GraphNode, ModuleOutput } from '../graph.js';
import type { Pads4 } from '../shape.js';
import type { ModelConfig, Naming } from './config.js';

export interface BuildOptions {
  /** Classifier width (default: the config's, 1000 or 10). */
  readonly numClasses?: number;
  /** Drop the classifier: the primary output is the pooled features [N, C]; stem and stage maps are outputs too. */
  readonly featuresOnly?: boolean;
  /** CIFAR models only: 'A' (akamaster's default, parameter-free) or 'B' (1x1 conv + BN projections). */
  readonly cifarShortcut?: 'A' | 'B';
}

/** Key spelling of one conv+BN unit and of the other modules, per library. */
interface Names {
  conv(unit: string): string;
  bn(unit: string): string;
  bnParams(bn: string): { weight: string; bias: string; mean: string; var: string };
  stem(index: number): string;
  maxpool: string;
  block(stage: number, index: number, globalIndex: number): string;
  /** Unit names inside a block, in order (conv1, conv2[, conv3]). */
  units(kind: 'basic' | 'bottleneck'): string[];
  /** The projection unit of a block and its avg pool. */
  shortcut: { conv: string; bn: string; pool: string };
  globalPool: string;
  fc: string;
  fcLayout: 'oi' | 'io';
}

const torchBn = (bn: string) => ({ weight: `${bn}.weight`, bias: `${bn}.bias`, mean: `${bn}.running_mean`, var: `${bn}.running_var` });
const paddleBn = (bn: string) => ({ weight: `${bn}.weight`, bias: `${bn}.bias`, mean: `${bn}._mean`, var: `${bn}._variance` });

function namesFor(naming: Naming, cfg: ModelConfig): Names {
  switch (naming) {
    case 'torch':
    case 'cifar': {
      // torch: a conv unit `convK` pairs with `bnK`; the stem of a deep stem is Sequential conv1.{0,1,3,4,6} + bn1.
      const avg = cfg.shortcut === 'avg';
      return {
        conv: (u) => u,
        bn: (u) => u.replace(/conv(\d)$/, 'bn$1'),
        bnParams: torchBn,
        stem: (i) => `conv1.${i}`,
        maxpool: 'maxpool',
        block: (s, i) => `layer${s + 1}.${i}`,
        units: (k) => (k === 'basic' ? ['conv1', 'conv2'] : ['conv1', 'conv2', 'conv3']),
        // timm avg_down: Sequential(pool, conv, bn) keeps the conv at index 1 even when the pool is Identity.
        shortcut:
          naming === 'cifar'
            ? { conv: 'shortcut.0', bn: 'shortcut.1', pool: 'shortcut' }
            : avg
              ? { conv: 'downsample.1', bn: 'downsample.2', pool: 'downsample.0' }
              : { conv: 'downsample.0', bn: 'downsample.1', pool: 'downsample.0' },
        globalPool: naming === 'cifar' ? 'avgpool' : cfg.source === 'timm' ? 'global_pool' : 'avgpool',
        fc: naming === 'cifar' ? 'linear' : 'fc',
        fcLayout: 'oi',
      };
    }
    case 'paddle':
      return {
        conv: (u) => `${u}.conv`,
        bn: (u) => `${u}.bn`,
        bnParams: paddleBn,
        stem: (i) => `stem.${i}`,
        maxpool: 'max_pool',
        block: (_s, _i, g) => `blocks.${g}`,
        units: (k) => (k === 'basic' ? ['conv0', 'conv1'] : ['conv0', 'conv1', 'conv2']),
        shortcut: { conv: 'short.conv', bn: 'short.bn', pool: 'short.avg_pool' },
        globalPool: 'avg_pool',
        fc: 'fc',
        fcLayout: 'io',
      };
    case 'paddle-zoo':
      return {
        conv: (u) => `${u}._conv`,
        bn: (u) => `${u}._batch_norm`,
        bnParams: paddleBn,
        stem: (i) => (cfg.stem === 'deep' ? `conv1_${i + 1}` : 'conv'),
        maxpool: 'pool2d_max',
        block: (s, i) => `bb_${s}_${i}`,
        units: () => ['conv0', 'conv1', 'conv2'],
        shortcut: { conv: 'short._conv', bn: 'short._batch_norm', pool: 'short._pool2d_avg' },
        globalPool: 'pool2d_avg',
        fc: 'out',
        fcLayout: 'io',
      };
  }
}

class Builder {
  readonly nodes: GraphNode[] = [];
  private readonly used = new Set<string>();
  constructor(
    private readonly names: Names,
    private readonly eps: number,
  ) {}

  /** Parameter-free modules may be applied several times (torchvision's one `relu`): suffix repeats. */
  private unique(name: string): string {
    let n = name;
    for (let k = 2; this.used.has(n); k++) n = `${name}:${k}`;
    this.used.add(n);
    return n;
  }

  conv(name: string, input: string, cin: number, cout: number, k: number, stride: number, groups = 1): string {
    const p = Math.floor((k - 1) / 2);
    const pads: Pads4 = [p, p, p, p];
    const n = this.unique(name);
    this.nodes.push({
      op: 'conv', name: n, input, output: n, inChannels: cin, outChannels: cout, kernel: [k, k], stride: [stride, stride],
      pads, dilation: [1, 1], groups, params: { weight: `${name}.weight` },
    });
    return n;
  }

  bn(name: string, input: string, channels: number): string {
    const n = this.unique(name);
    this.nodes.push({ op: 'batchnorm', name: n, input, output: n, channels, eps: this.eps, params: this.names.bnParams(name) });
    return n;
  }

  relu(name: string, input: string): string {
    const n = this.unique(name);
    this.nodes.push({ op: 'relu', name: n, input, output: n });
    return n;
  }

  /** conv -> BN (-> ReLU) as one library unit. */
  convBn(unit: string, input: string, cin: number, cout: number, k: number, stride: number, relu: boolean, groups = 1, reluName?: string): string {
    let x = this.conv(this.names.conv(unit), input, cin, cout, k, stride, groups);
    x = this.bn(this.names.bn(unit), x, cout);
    return relu ? this.relu(reluName ?? `${unit}.relu`, x) : x;
  }

  push(node: GraphNode): string {
    const n = this.unique(node.name);
    this.nodes.push({ ...node, name: n, output: n });
    return n;
  }
}

/** Builds the graph of a model config. */
export function buildResNet(cfg: ModelConfig, opts: BuildOptions = {}): Graph {
  const numClasses = opts.numClasses ?? cfg.numClasses;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`numClasses must be a positive integer, got ${numClasses}`);
  const cifarShortcut = opts.cifarShortcut ?? 'A';
  if (opts.cifarShortcut && cfg.stem !== 'cifar') throw new RangeError(`cifarShortcut applies to the CIFAR ResNets only, not ${cfg.name}`);
  const names = namesFor(cfg.naming, cfg);
  const b = new Builder(names, cfg.bnEps);
  const outputs: Record<string, string> = {};
  // Module outputs as forward hooks see them (Graph.modules): torch modules by their paths; a Paddle
  // ConvBNLayer (stem.0, conv1_1) ends with its ReLU; timm calls torchvision's `relu` act1.
  const modules: ModuleOutput[] = [];
  const hook = (path: string, value: string, keepDims?: boolean) => modules.push(keepDims ? { path, value, keepDims } : { path, value });
  const torchLike = cfg.naming === 'torch' || cfg.naming === 'cifar';

  // --- stem ---
  let x = 'input';
  let channels: number;
  if (cfg.stem === 'conv7') {
    // torch: conv1 + bn1 + relu; Paddle: stem.0 / conv as one ConvBN unit.
    const unit = cfg.naming === 'torch' ? 'conv1' : names.stem(0);
    x = b.conv(names.conv(unit), x, 3, cfg.stemWidth, 7, 2);
    if (torchLike) hook('conv1', x);
    x = b.bn(cfg.naming === 'torch' ? 'bn1' : names.bn(unit), x, cfg.stemWidth);
    if (torchLike) hook('bn1', x);
    x = b.relu(cfg.naming === 'torch' ? 'relu' : `${unit}.relu`, x);
    hook(torchLike ? (cfg.source === 'timm' ? 'act1' : 'relu') : unit, x);
    if (cfg.naming === 'paddle') hook('stem', x);
    channels = cfg.stemWidth;
  } else if (cfg.stem === 'deep') {
    const w = cfg.stemWidth;
    const widths = [w, w, 2 * w];
    let cin = 3;
    for (let i = 0; i < 3; i++) {
      const stride = i === 0 ? 2 : 1;
      if (cfg.naming === 'torch') {
        // timm: conv1 = Sequential(conv, bn, act, conv, bn, act, conv) then bn1 / act1.
        x = b.conv(`conv1.${3 * i}`, x, cin, widths[i], 3, stride);
        hook(`conv1.${3 * i}`, x);
        if (i === 2) hook('conv1', x); // the Sequential's output: its last conv's
        x = i < 2 ? b.bn(`conv1.${3 * i + 1}`, x, widths[i]) : b.bn('bn1', x, widths[i]);
        hook(i < 2 ? `conv1.${3 * i + 1}` : 'bn1', x);
        x = b.relu(i < 2 ? `conv1.${3 * i + 2}` : 'act1', x);
        hook(i < 2 ? `conv1.${3 * i + 2}` : 'act1', x);
      } else {
        x = b.convBn(names.stem(i), x, cin, widths[i], 3, stride, true);
        hook(names.stem(i), x);
      }
      cin = widths[i];
    }
    if (cfg.naming === 'paddle') hook('stem', x);
    channels = 2 * w;
  } else {
    // akamaster: F.relu(self.bn1(self.conv1(x))); the ReLU is a function, no module sees it.
    x = b.conv('conv1', x, 3, cfg.stemWidth, 3, 1);
    hook('conv1', x);
    x = b.bn('bn1', x, cfg.stemWidth);
    hook('bn1', x);
    x = b.relu('relu', x);
    channels = cfg.stemWidth;
  }
  if (cfg.stem !== 'cifar') {
    x = b.push({ op: 'maxpool', name: names.maxpool, input: x, output: '', kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], ceilMode: false });
    hook(names.maxpool, x);
  }
  outputs.stem = x;

  // --- stages ---
  const expansion = cfg.block === 'bottleneck' ? 4 : 1;
  let globalIndex = 0;
  cfg.layers.forEach((count, s) => {
    const planes = cfg.stageWidths[s];
    const outC = planes * expansion;
    const width = cfg.block === 'bottleneck' ? Math.floor((planes * cfg.widthPerGroup) / 64) * cfg.groups : planes;
    for (let i = 0; i < count; i++, globalIndex++) {
      const stride = i === 0 && s > 0 ? 2 : 1;
      const prefix = names.block(s, i, globalIndex);
      const identity = x;
      const needsProjection = stride !== 1 || channels !== outC || (i === 0 && cfg.firstStageProjection);

      // Shortcut first (see the file comment), then the main branch.
      let shortcut = identity;
      if (needsProjection) {
        if (cfg.shortcut === 'A' && cifarShortcut === 'A') {
          // akamaster LambdaLayer: x[:, :, ::2, ::2] zero-padded by planes//4 channels on each side.
          shortcut = b.push({ op: 'shortcutA', name: `${prefix}.shortcut`, input: identity, output: '', stride, padChannels: Math.floor(planes / 4) });
        } else {
          let src = identity;
          let convStride = stride;
          if (cfg.shortcut === 'avg' && stride > 1) {
            // ResNet-D: AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) then a stride-1 1x1 conv.
            src = b.push({
              op: 'avgpool', name: `${prefix}.${names.shortcut.pool}`, input: identity, output: '', kernel: [2, 2], stride: [stride, stride],
              pads: [0, 0, 0, 0], ceilMode: true, countIncludePad: false,
            });
            convStride = 1;
          }
          shortcut = b.conv(`${prefix}.${names.shortcut.conv}`, src, channels, outC, 1, convStride);
          shortcut = b.bn(`${prefix}.${names.shortcut.bn}`, shortcut, outC);
        }
      }

      const units = names.units(cfg.block).map((u) => `${prefix}.${u}`);
      const relu = `${prefix}.relu`;
      let y: string;
      if (cfg.block === 'basic') {
        y = b.convBn(units[0], identity, channels, planes, 3, stride, true, 1, relu);
        y = b.convBn(units[1], y, planes, planes, 3, 1, false);
      } else {
        const s1 = cfg.strideOn === 'first' ? stride : 1;
        const s2 = cfg.strideOn === 'first' ? 1 : stride;
        y = b.convBn(units[0], identity, channels, width, 1, s1, true, 1, relu);
        y = b.convBn(units[1], y, width, width, 3, s2, true, cfg.groups, relu);
        y = b.convBn(units[2], y, width, outC, 1, 1, false);
      }
      y = b.push({ op: 'add', name: `${prefix}.add`, inputs: [y, shortcut], output: '' });
      x = b.relu(relu, y);
      hook(prefix, x);
      channels = outC;
    }
    if (torchLike) hook(`layer${s + 1}`, x);
    outputs[`stage${s + 1}`] = x;
  });
  if (cfg.naming === 'paddle') hook('blocks', x);

  // --- head ---
  const pooled = b.push({ op: 'globalavgpool', name: names.globalPool, input: x, output: '' });
  if (cfg.naming === 'paddle') {
    hook('avg_pool', pooled, true);
    hook('flatten', pooled);
  } else if (cfg.naming === 'paddle-zoo') {
    hook(names.globalPool, pooled, true);
  } else if (cfg.naming === 'torch' && cfg.source === 'timm') {
    // SelectAdaptivePool2d('avg', flatten=True): pool = AdaptiveAvgPool2d(1), then nn.Flatten.
    hook('global_pool.pool', pooled, true);
    hook('global_pool.flatten', pooled);
    hook('global_pool', pooled);
  } else if (cfg.naming === 'torch') {
    hook('avgpool', pooled, true);
  } // akamaster pools with F.avg_pool2d: no module
  if (opts.featuresOnly) {
    outputs.features = pooled;
    return { name: cfg.name, input: 'input', inChannels: 3, nodes: b.nodes, outputs, primaryOutput: 'features', modules };
  }
  const logits = b.push({
    op: 'linear', name: names.fc, input: pooled, output: '', inFeatures: channels, outFeatures: numClasses, weightLayout: names.fcLayout,
    params: { weight: `${names.fc}.weight`, bias: `${names.fc}.bias` },
  });
  hook(names.fc, logits);
  return { name: cfg.name, input: 'input', inChannels: 3, nodes: b.nodes, outputs: { logits }, primaryOutput: 'logits', modules };
}
