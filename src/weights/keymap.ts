/** Key translation between checkpoint naming schemes (one table). Placeholder: strips `module.`. */
import type { Tensor } from '../tensor.js';

export interface AdaptResult {
  readonly tensors: Map<string, Tensor>;
  readonly scheme: string;
  readonly renamed: number;
  readonly transposed: string[];
  readonly notes: string[];
}

export function adaptStateDict(
  tensors: ReadonlyMap<string, Tensor>,
  _expected: readonly { key: string; shape: readonly number[] }[],
  _opts: { from?: string } = {},
): AdaptResult {
  const out = new Map<string, Tensor>();
  let renamed = 0;
  for (const [k, t] of tensors) {
    const nk = k.startsWith('module.') ? k.slice(7) : k;
    if (nk !== k) renamed++;
    out.set(nk, t);
  }
  return { tensors: out, scheme: 'identity', renamed, transposed: [], notes: [] };
}
