/**
 * A paddle.summary-style table of a graph: one row per layer, then totals.
 * Conventions (those of ../shared/reference/model-facts.json):
 *   params              conv weights (+bias) + BN gamma/beta + fc weight/bias (torch `parameters()`)
 *   paramsWithBnStats   params + BN running mean/var (Paddle's "Total params")
 * A row's `params` counts as paddle.summary's "Param #" does: a BatchNorm row has 4C (weight, bias,
 * mean, variance), of which `trainable` 2C and `buffers` 2C; so the column sums to paramsWithBnStats.
 *   macs                conv + fc multiply-accumulates (torchvision's published "GFLOPS" are these)
 * Memory is float32, in MiB (bytes / 2^20), as paddle.summary prints "MB".
 */
import type { Graph, GraphNode } from '../graph.js';
import { inferShapes } from '../graph.js';
import { sizeOf } from '../tensor.js';

export interface SummaryRow {
  readonly name: string;
  readonly type: string;
  readonly inputShape: number[];
  readonly outputShape: number[];
  /** Every parameter the layer holds, paddle.summary's "Param #": BN counts weight, bias, mean and variance (4C). */
  readonly params: number;
  /** The trainable ones (torch `parameters()`): params minus buffers. */
  readonly trainable: number;
  /** BN running statistics held by the layer (not trainable). */
  readonly buffers: number;
  readonly macs: number;
}

export interface Summary {
  readonly model: string;
  readonly inputShape: number[];
  readonly rows: SummaryRow[];
  /** torch `parameters()`: the trainable parameters (= trainableParams). */
  readonly params: number;
  /** Every parameter, BN running statistics included: paddle.summary's "Total params", the sum of the rows' params. */
  readonly paramsWithBnStats: number;
  readonly trainableParams: number;
  /** BN running mean and variance. */
  readonly nonTrainableParams: number;
  /** Multiply-accumulates of the whole batch. */
  readonly macs: number;
  readonly macsPerImage: number;
  readonly inputMB: number;
  /** Sum of every layer's output, forward pass only. */
  readonly activationsMB: number;
  readonly paramsMB: number;
  readonly totalMB: number;
  /** What the compiled backend holds for this input (weights, activation plan, peak), when it reports it. */
  readonly backendMemory?: { weights: number; activations: number; peak: number };
}

const TYPE: Record<GraphNode['op'], string> = {
  conv: 'Conv2D',
  batchnorm: 'BatchNorm2D',
  relu: 'ReLU',
  add: 'Add',
  maxpool: 'MaxPool2D',
  avgpool: 'AvgPool2D',
  globalavgpool: 'AdaptiveAvgPool2D',
  linear: 'Linear',
  shortcutA: 'ShortcutA',
};

const MB = 1024 * 1024;

export function summarize(g: Graph, inputShape: readonly number[]): Summary {
  const shapes = inferShapes(g, inputShape);
  const batch = inputShape[0];
  const rows: SummaryRow[] = [];
  let params = 0;
  let buffers = 0;
  let macs = 0;
  let activations = 0;
  for (const n of g.nodes) {
    const inShape = shapes.get(n.op === 'add' ? n.inputs[0] : n.input)!;
    const outShape = shapes.get(n.output)!;
    let p = 0;
    let buf = 0;
    let m = 0;
    if (n.op === 'conv') {
      const perOut = (n.inChannels / n.groups) * n.kernel[0] * n.kernel[1];
      p = n.outChannels * perOut + (n.params.bias ? n.outChannels : 0);
      m = sizeOf(outShape) * perOut;
    } else if (n.op === 'batchnorm') {
      p = 2 * n.channels;
      buf = 2 * n.channels;
    } else if (n.op === 'linear') {
      p = n.inFeatures * n.outFeatures + (n.params.bias ? n.outFeatures : 0);
      m = batch * n.inFeatures * n.outFeatures;
    }
    rows.push({ name: n.name, type: TYPE[n.op], inputShape: inShape, outputShape: outShape, params: p + buf, trainable: p, buffers: buf, macs: m });
    params += p;
    buffers += buf;
    macs += m;
    activations += sizeOf(outShape);
  }
  const inputMB = (sizeOf(inputShape) * 4) / MB;
  const activationsMB = (activations * 4) / MB;
  const paramsMB = ((params + buffers) * 4) / MB;
  return {
    model: g.name,
    inputShape: [...inputShape],
    rows,
    params,
    paramsWithBnStats: params + buffers,
    trainableParams: params,
    nonTrainableParams: buffers,
    macs,
    macsPerImage: macs / batch,
    inputMB,
    activationsMB,
    paramsMB,
    totalMB: inputMB + activationsMB + paramsMB,
  };
}

/**
 * The rows with every layer deeper than `depth` dotted name segments folded into its ancestor, like
 * torchinfo's `depth`: for torch names depth 1 gives conv1, bn1, ..., layer1, layer2, ..., fc; depth 2
 * gives the blocks (layer1.0, ...). A folded row sums params, trainable, buffers and MACs, takes the
 * first layer's input shape and the last one's output shape, and is typed `Group (n layers)`.
 */
export function rowsAtDepth(rows: readonly SummaryRow[], depth: number): SummaryRow[] {
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`summary depth must be an integer of at least 1, got ${String(depth)}`);
  const out: { key: string; members: SummaryRow[] }[] = [];
  for (const r of rows) {
    const key = r.name.split('.').slice(0, depth).join('.');
    const last = out.at(-1);
    if (last && last.key === key) last.members.push(r);
    else out.push({ key, members: [r] });
  }
  return out.map(({ key, members }) => {
    if (members.length === 1 && members[0].name === key) return members[0];
    const total = (f: (r: SummaryRow) => number) => members.reduce((a, r) => a + f(r), 0);
    return {
      name: key,
      type: `Group (${members.length} layers)`,
      inputShape: members[0].inputShape,
      outputShape: members[members.length - 1].outputShape,
      params: total((r) => r.params),
      trainable: total((r) => r.trainable),
      buffers: total((r) => r.buffers),
      macs: total((r) => r.macs),
    };
  });
}

const fmt = (n: number) => n.toLocaleString('en-US');
const shape = (s: number[]) => `[${s.join(', ')}]`;

/** The summary as a fixed-width text table, like paddle.summary prints it; `depth` folds deeper layers (see rowsAtDepth). */
export function formatSummary(s: Summary, opts: { depth?: number } = {}): string {
  const rows = opts.depth === undefined ? s.rows : rowsAtDepth(s.rows, opts.depth);
  const head = ['Layer (name)', 'Type', 'Input Shape', 'Output Shape', 'Params', 'Trainable', 'MACs'];
  const body = rows.map((r) => [r.name, r.type, shape(r.inputShape), shape(r.outputShape), fmt(r.params), fmt(r.trainable), fmt(r.macs)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const rule = '-'.repeat(widths.reduce((a, w) => a + w + 2, -2));
  const mb = (x: number) => x.toFixed(2);
  return [
    rule,
    line(head),
    rule.replace(/-/g, '='),
    ...body.map(line),
    rule.replace(/-/g, '='),
    `Model: ${s.model}    input ${shape(s.inputShape)}`,
    `Total params: ${fmt(s.paramsWithBnStats)}`,
    `Trainable params: ${fmt(s.trainableParams)}`,
    `Non-trainable params: ${fmt(s.nonTrainableParams)} (BN running mean and variance)`,
    `MACs: ${fmt(s.macs)} (${(s.macs / 1e9).toFixed(3)} G${s.inputShape[0] > 1 ? `, ${(s.macsPerImage / 1e9).toFixed(3)} G per image` : ''})`,
    rule,
    `Input size (MB): ${mb(s.inputMB)}`,
    `Forward pass size (MB): ${mb(s.activationsMB)}`,
    `Params size (MB): ${mb(s.paramsMB)}`,
    `Estimated Total Size (MB): ${mb(s.totalMB)}`,
    rule,
  ].join('\n');
}
