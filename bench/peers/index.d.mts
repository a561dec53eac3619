import type { Graph } from '../../src/graph.js';

export type PeerName = 'onnxruntime-web' | 'tfjs-wasm' | 'onnxruntime-node';
export interface PlainTensor {
  data: Float32Array;
  shape: number[];
}
export interface Peer {
  peer: PeerName;
  note: string;
  run(input: { readonly data: Float32Array; readonly shape: readonly number[] }): Promise<Record<string, PlainTensor>>;
  dispose(): Promise<void> | void;
}
export interface PeerResult {
  peer: PeerName;
  /** null when the peer could not be loaded; `note` says why. */
  medianMs: number | null;
  p90Ms: number | null;
  /** The fastest run: the least disturbed by other load on a shared machine. */
  minMs: number | null;
  imagesPerSecond: number | null;
  note: string;
}

export declare const PEERS: readonly PeerName[];
export declare function createPeer(peer: PeerName, graph: Graph, weights: ReadonlyMap<string, PlainTensor>, inputShape?: readonly number[], opts?: { threads?: number }): Promise<Peer>;
export declare function benchInput(shape: readonly number[], seed?: number): PlainTensor;
export declare function runPeers(options: {
  graph: Graph;
  weights: ReadonlyMap<string, PlainTensor>;
  inputShape: readonly number[];
  runs?: number;
  warmup?: number;
  peers?: readonly PeerName[];
  input?: PlainTensor;
}): Promise<PeerResult[]>;
