/** Options shared by several commands. */
import type { Backend } from '../backends/backend.js';
import { BACKEND_NAMES, type BackendChoice } from '../backends/index.js';
import type { WeightsReport } from '../models/weights.js';
import { CliError } from './common.js';

export const BACKEND_HELP = `  --backend <b>       wasm (default), webgpu, reference, or auto (webgpu, else wasm, else reference)`;

export function backendOption(value: string | undefined): BackendChoice | Backend | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto' || (BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new CliError(`--backend expects one of ${[...BACKEND_NAMES, 'auto'].join(', ')}, got '${value}'`, 2);
}

/** One or two lines saying how a checkpoint was read and bound. */
export function describeWeights(r: WeightsReport): string {
  const where = r.path ? ` at '${r.path}'` : '';
  const lines = [`weights: ${r.format}${where}, keys read as ${r.scheme}`];
  if (r.missing.length || r.unexpected.length || r.mismatched.length) {
    lines.push(`  not strict: ${r.missing.length} missing, ${r.unexpected.length} unexpected, ${r.mismatched.length} mis-shaped keys left out`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
