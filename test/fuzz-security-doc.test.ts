/**
 * SECURITY.md stays true to the code: it names every limit field of src/limits.ts, and every
 * file or folder it links to exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const doc = readFileSync(join(ROOT, 'SECURITY.md'), 'utf8');
const limits = readFileSync(join(ROOT, 'src/limits.ts'), 'utf8');

/** `Interface.field` for each readonly field of the exported limit interfaces. */
function limitFields(): string[] {
  const out: string[] = [];
  for (const m of limits.matchAll(/export interface (\w+Limits) \{([\s\S]*?)\n\}/g)) {
    for (const f of m[2].matchAll(/^\s*readonly (\w+)\s*:/gm)) out.push(`${m[1]}.${f[1]}`);
  }
  return out;
}

describe('SECURITY.md', () => {
  it('names every field of CheckpointLimits and ImageLimits (src/limits.ts) as `Interface.field`', () => {
    const fields = limitFields();
    expect(fields).toContain('ImageLimits.maxPixels');
    expect(fields.filter((f) => !doc.includes(`\`${f}\``))).toEqual([]);
  });

  it('links only to files and folders that exist', () => {
    const links = [...doc.matchAll(/\]\(((?!https?:)[^)#]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(3);
    expect(links.filter((l) => !existsSync(join(ROOT, l)))).toEqual([]);
  });
});
