/**
 * The reference backend: interprets the graph node by node, as written (no BatchNorm folding, no
 * fusion), with the naive ops in ./ops. It is slow on purpose and is the oracle every other
 * backend is tested against (see STYLE.md principle 5).
 *
 * Every op sums in float64 (a JS number) and stores float32, so its own rounding stays far below
 * the tolerances the fast float32 backends are held to. Ops never write into their inputs.
 */
import { graphParams, inferShapes, nodeInputs, type Graph, type GraphNode } from '../../graph.js';
import { sameShape, shapeToString, sizeOf, type Tensor } from '../../tensor.js';
import { floatTensor } from '../../weights/narrow.js';
import type { Backend, Executable, WeightMap } from '../backend.js';
import { batchNorm } from './ops/batchnorm.js';
import { conv2d } from './ops/conv2d.js';
import { add, relu } from './ops/elementwise.js';
import { linear, transpose2d } from './ops/linear.js';
import { avgPool2d, globalAvgPool, maxPool2d } from './ops/pool2d.js';
import { shortcutA } from './ops/reshape.js';

export { batchNorm } from './ops/batchnorm.js';
export { conv2d, type Conv2dOptions } from './ops/conv2d.js';
export { add, relu } from './ops/elementwise.js';
export { linear, transpose2d } from './ops/linear.js';
export { avgPool2d, globalAvgPool, maxPool2d, type AvgPool2dOptions, type Pool2dOptions } from './ops/pool2d.js';
export { flatten, shortcutA } from './ops/reshape.js';
export { softmax } from './ops/softmax.js';

export const referenceBackend: Backend = {
  name: 'reference',
  async compile(graph: Graph, weights: WeightMap): Promise<Executable> {
    return new ReferenceExecutable(graph, resolveWeights(graph, weights));
  },
};

/**
 * Looks up every state-dict key the graph reads (`node.params.*`) and checks its shape. All
 * problems are reported at once, each naming the key, its node and both shapes. Narrow weights
 * (a lean checkpoint's) are widened here: the oracle computes in float32 / float64 only.
 */
function resolveWeights(graph: Graph, weights: WeightMap): Map<string, Tensor> {
  const found = new Map<string, Tensor>();
  const problems: string[] = [];
  for (const p of graphParams(graph)) {
    const t = weights.get(p.key);
    if (!t) {
      problems.push(`missing '${p.key}' (node ${p.node}), expected shape ${shapeToString(p.shape)}`);
    } else if (!sameShape(t.shape, p.shape)) {
      problems.push(`'${p.key}' (node ${p.node}) has shape ${shapeToString(t.shape)}, expected ${shapeToString(p.shape)}`);
    } else {
      found.set(p.key, floatTensor(t));
    }
  }
  if (problems.length > 0) {
    throw new Error(`reference backend: ${problems.length} weight problem(s) for graph ${graph.name}:\n  ${problems.join('\n  ')}`);
  }
  return found;
}

/** Index of the last node that reads each value; values not read again can be dropped. */
function lastUses(graph: Graph): Map<string, number> {
  const last = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    for (const v of nodeInputs(n)) last.set(v, i);
  });
  return last;
}

class ReferenceExecutable implements Executable {
  private disposed = false;
  private readonly lastUse: Map<string, number>;
  private readonly keep: Set<string>;

  constructor(
    private readonly graph: Graph,
    private readonly weights: Map<string, Tensor>,
  ) {
    this.lastUse = lastUses(graph);
    this.keep = new Set(Object.values(graph.outputs));
  }

  async run(input: Tensor): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new Error(`reference backend: graph ${this.graph.name} was disposed`);
    // Validates the input (rank, channels, NHWC hint) and gives the shape every node must produce.
    const shapes = inferShapes(this.graph, input.shape);
    const values = new Map<string, Tensor>([[this.graph.input, input]]);
    this.graph.nodes.forEach((node, i) => {
      const read = (v: string): Tensor => values.get(v)!; // inferShapes checked the order
      const out = this.runNode(node, read);
      const want = shapes.get(node.output)!;
      if (!sameShape(out.shape, want)) {
        throw new Error(`reference backend: node ${node.name} produced ${shapeToString(out.shape)}, graph expects ${shapeToString(want)}`);
      }
      values.set(node.output, out);
      for (const v of nodeInputs(node)) {
        if (this.lastUse.get(v) === i && !this.keep.has(v)) values.delete(v);
      }
    });
    const result: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(this.graph.outputs)) {
      const t = values.get(value);
      if (!t) throw new Error(`reference backend: output '${name}' names value '${value}', which no node produces`);
      result[name] = t;
    }
    return result;
  }

  private runNode(node: GraphNode, read: (v: string) => Tensor): Tensor {
    const w = (key: string): Tensor => this.weights.get(key)!; // resolveWeights checked every key
    switch (node.op) {
      case 'conv':
        return conv2d(read(node.input), w(node.params.weight), node.params.bias ? w(node.params.bias) : undefined, node);
      case 'batchnorm': {
        const p = node.params;
        return batchNorm(read(node.input), w(p.weight), w(p.bias), w(p.mean), w(p.var), node.eps);
      }
      case 'relu':
        return relu(read(node.input));
      case 'add':
        return add(read(node.inputs[0]), read(node.inputs[1]));
      case 'maxpool':
        return maxPool2d(read(node.input), node);
      case 'avgpool':
        return avgPool2d(read(node.input), node);
      case 'globalavgpool':
        return globalAvgPool(read(node.input));
      case 'linear': {
        // Paddle stores [in, out]; linear takes torch's [out, in].
        const weight = node.weightLayout === 'oi' ? w(node.params.weight) : transpose2d(w(node.params.weight));
        return linear(read(node.input), weight, node.params.bias ? w(node.params.bias) : undefined);
      }
      case 'shortcutA':
        return shortcutA(read(node.input), node.stride, node.padChannels);
    }
  }

  memoryBytes(inputShape: readonly number[]): { weights: number; activations: number; peak: number } {
    const shapes = inferShapes(this.graph, inputShape);
    const bytes = (v: string): number => 4 * sizeOf(shapes.get(v)!);
    let weights = 0;
    for (const t of this.weights.values()) weights += 4 * t.data.length;
    // Live values follow run(): a value is freed after its last reader unless it is an output.
    let live = bytes(this.graph.input);
    let activations = live;
    let peak = live;
    this.graph.nodes.forEach((node, i) => {
      live += bytes(node.output);
      activations += bytes(node.output);
      peak = Math.max(peak, live);
      for (const v of new Set(nodeInputs(node))) {
        if (this.lastUse.get(v) === i && !this.keep.has(v)) live -= bytes(v);
      }
    });
    return { weights, activations, peak: weights + peak };
  }

  dispose(): void {
    this.disposed = true;
    this.weights.clear();
  }
}
