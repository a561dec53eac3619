/**
 * The regression corpus (fuzz/corpus/regression/): every input that ever failed a parser, found by
 * fuzzing or crafted for issue 17, replayed through the plain reader (no Jazzer) in a fresh
 * process, each held to the bar of SECURITY.md: it loads or is refused with the reader's named
 * error, in under 10 s and 1 GiB. manifest.json says where each came from; entries marked
 * `fails-until-fixed` are expected to pass once the fix they name is merged (then the lead sets
 * them to `passes`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs scripts without declarations
import { bundle, TARGET_NAMES } from '../fuzz/run.mjs';
// @ts-expect-error: plain .mjs scripts without declarations
import { replay, verdict } from '../fuzz/replay.mjs';

interface Entry {
  file: string;
  target: string;
  bytes: number;
  source: string;
  status: 'passes' | 'fails-until-fixed';
  fixedBy?: string;
  failure?: string;
}

const DIR = join(import.meta.dirname, '../fuzz/corpus/regression');
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { entries: Entry[] };

beforeAll(async () => {
  await bundle();
}, 60_000);

describe('fuzz regression corpus: manifest', () => {
  it('lists every file in the corpus once, with a known target and status, and each file exists with its recorded size', () => {
    const onDisk = (TARGET_NAMES as string[]).flatMap((t) => (existsSync(join(DIR, t)) ? readdirSync(join(DIR, t)).map((f) => `${t}/${f}`) : [])).sort();
    const listed = manifest.entries.map((e) => e.file).sort();
    expect(listed).toEqual(onDisk);
    expect(new Set(listed).size).toBe(listed.length);
    for (const e of manifest.entries) {
      expect(TARGET_NAMES, e.file).toContain(e.target);
      expect(e.file.startsWith(`${e.target}/`), e.file).toBe(true);
      expect(['passes', 'fails-until-fixed'], e.file).toContain(e.status);
      expect(readFileSync(join(DIR, e.file)).length, e.file).toBe(e.bytes);
    }
  });
});

describe('fuzz regression corpus: each input loads or is refused with a named error, in < 10 s and < 1 GiB (fresh process)', () => {
  for (const e of manifest.entries) {
    const pending = e.status === 'fails-until-fixed' ? ` [fails until fixed: ${e.fixedBy}]` : '';
    it(`${e.file} (${e.source})${pending}`, async () => {
      const r = await replay(e.target, join(DIR, e.file));
      expect(verdict(r), JSON.stringify(r).slice(0, 600)).toBe('');
    }, 30_000);
  }
});
