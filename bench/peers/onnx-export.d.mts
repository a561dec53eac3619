import type { Graph } from '../../src/graph.js';

/** Serializes a Graph and its weights as an ONNX ModelProto (opset 17, 19 with dilated average pools). */
export declare function exportOnnx(
  graph: Graph,
  weights: ReadonlyMap<string, { data: Float32Array; shape: readonly number[] }>,
  options?: { inputShape?: readonly number[] },
): Uint8Array;
