import type { Graph } from '../../src/graph.js';

export interface TfjsModel {
  run(input: { data: Float32Array; shape: readonly number[] }): Promise<Record<string, { data: Float32Array; shape: number[] }>>;
  dispose(): void;
}
/** Builds the graph with tfjs ops; `tf` is the @tensorflow/tfjs-core module with a backend set. */
export declare function buildTfjsModel(
  tf: typeof import('@tensorflow/tfjs-core'),
  graph: Graph,
  weights: ReadonlyMap<string, { data: Float32Array; shape: readonly number[] }>,
): TfjsModel;
