/**
 * CI's short fuzzing run: each Jazzer.js target (fuzz/targets/) for a few seconds from its seeds
 * (../shared and test/fixtures), with the bar of SECURITY.md (any exception other than the reader's
 * named errors, an input over 10 s or the process over 1 GiB is a finding). The long campaigns
 * are `npm run fuzz -- --time 600`. Jazzer's prebuilt addon needs glibc 2.38; on an older glibc
 * scripts/jazzer-glibc.mjs patches it first, and the test fails, naming why, if it still cannot load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs scripts without declarations
import { bundle, parseLibFuzzerLog, runTarget, TARGET_NAMES } from '../fuzz/run.mjs';
// @ts-expect-error: plain .mjs scripts without declarations
import { ensureJazzerLoads, loadError, patchElf, prebuildPath } from '../scripts/jazzer-glibc.mjs';

/** Seconds of fuzzing per target; with Jazzer's start-up (instrumenting, loading seeds) 8 targets take about 80 s. */
const SECONDS = Number(process.env.FUZZ_CI_SECONDS) || 4;

beforeAll(async () => {
  ensureJazzerLoads();
  await bundle();
}, 120_000);

describe('scripts/jazzer-glibc.mjs', () => {
  it('leaves a loadable addon: unpatched, or the deterministic patch of the kept original (C23 strtol/strtoul renamed, two version needs weak)', () => {
    const path = prebuildPath();
    expect(loadError(path)).toBe('');
    if (!existsSync(`${path}.orig`)) return; // this system's glibc loads the prebuild as shipped
    const { bytes, changes } = patchElf(readFileSync(`${path}.orig`));
    expect(changes).toEqual([
      '__isoc23_strtol@GLIBC_2.38 -> strtol@GLIBC_2.2.5',
      '__isoc23_strtoul@GLIBC_2.38 -> strtoul@GLIBC_2.2.5',
      '_ZSt21ios_base_library_initv@GLIBCXX_3.4.32 (no relocation) -> @GLIBCXX_3.4',
      'version need libc.so.6 GLIBC_2.38 marked weak',
      'version need libstdc++.so.6 GLIBCXX_3.4.32 marked weak',
    ]);
    expect(Buffer.compare(bytes, readFileSync(path))).toBe(0);
    // Patching the patched file finds nothing left to change.
    expect(patchElf(readFileSync(path)).changes).toEqual([]);
  });
});

describe('fuzz/ sources', () => {
  it('type-check against the readers they call (fuzz/tsconfig.json; esbuild only strips types)', () => {
    const tsc = join(import.meta.dirname, '../node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(import.meta.dirname, '../fuzz/tsconfig.json')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});

describe('parseLibFuzzerLog', () => {
  it('reads executions, exec/s and the coverage counts at start and end from libFuzzer output', () => {
    const log = [
      '#5\tINITED cov: 40 ft: 48 corp: 4/922b exec/s: 0 rss: 157Mb',
      '#13\tNEW    cov: 49 ft: 57 corp: 6/1290b lim: 322 exec/s: 0 rss: 157Mb L: 116/322 MS: 2 CopyPart-EraseBytes-',
      'Done 331092 runs in 11 second(s)',
      'stat::number_of_executed_units: 331092',
      'stat::average_exec_per_sec:     30099',
      'stat::new_units_added:          166',
      'stat::peak_rss_mb:              169',
    ].join('\n');
    expect(parseLibFuzzerLog(log)).toEqual({
      executions: 331092, execPerSec: 30099, newUnits: 166, peakRssMb: 169, cov: { start: 40, end: 49 }, ft: { start: 48, end: 57 }, corpus: 6,
    });
  });
});

describe(`fuzz targets: ${SECONDS} s each, no crash, hang or out-of-memory`, () => {
  for (const target of TARGET_NAMES as string[]) {
    it(target, async () => {
      const r = await runTarget(target, SECONDS);
      const summary = `${target}: ${r.executions} executions, cov ${JSON.stringify(r.cov)}; log ${r.log}; ${r.error ?? r.message ?? ''}`;
      expect(r.error, summary).toBeUndefined();
      expect(r.findings, summary).toEqual([]);
      expect(r.seeds, summary).toBeGreaterThan(0);
      // The target ran past its seeds and the instrumentation saw the reader's code.
      expect(r.executions, summary).toBeGreaterThan(r.seeds);
      expect(r.cov?.start, summary).toBeGreaterThan(20);
    }, (SECONDS + 90) * 1000);
  }
});
