/**
 * Runs the built CLI on a hostile input in a fresh process and measures what it cost: wall time, peak
 * resident memory (the child reports its own `maxRSS` at exit through a preload, so no platform tool is
 * needed) and the exit code. Issue 17's bar: exit 0 or 1, one-line message, under 10 s and 1 GiB.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Preload that writes this process's peak RSS (bytes) to $RESNET_TS_RSS_FILE at exit. */
const PRELOAD = `
import { writeFileSync } from 'node:fs';
process.on('exit', () => { try { writeFileSync(process.env.RESNET_TS_RSS_FILE, String(process.resourceUsage().maxRSS * 1024)); } catch {} });
`;

export interface HostileRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the child, ms. */
  ms: number;
  /** Peak resident set size, bytes (NaN when the child died before reporting it). */
  peakRss: number;
  timedOut: boolean;
}

export const HOSTILE_TIME_MS = 10_000;
export const HOSTILE_RSS_BYTES = 1024 ** 3;

/** `resnet <args>` in a fresh process, killed after `timeoutMs` (default 2x the 10 s bar, so an overrun is measured, not hidden). */
export function runHostile(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): HostileRun {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npm run build' first (npm test does)`);
  const dir = mkdtempSync(join(tmpdir(), 'resnet-ts-hostile-'));
  try {
    const preload = join(dir, 'rss.mjs');
    const rssFile = join(dir, 'rss');
    writeFileSync(preload, PRELOAD);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--import', preload, MAIN, ...args], {
      cwd: opts.cwd,
      env: { ...(opts.env ?? process.env), RESNET_TS_RSS_FILE: rssFile },
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 2 * HOSTILE_TIME_MS,
      maxBuffer: 64 << 20,
    });
    const ms = performance.now() - t0;
    const peakRss = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : NaN;
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms, peakRss, timedOut: r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why a run misses issue 17's bar, or '' when it meets it (exit 0/1, one-line error, < 10 s, < 1 GiB). */
export function hostileVerdict(r: HostileRun): string {
  const why: string[] = [];
  if (r.timedOut || r.ms > HOSTILE_TIME_MS) why.push(`took ${(r.ms / 1000).toFixed(1)} s (limit ${HOSTILE_TIME_MS / 1000} s)`);
  if (r.code !== 0 && r.code !== 1) why.push(`exit ${r.code ?? r.signal} (expected 0 or 1)`);
  if (!(r.peakRss < HOSTILE_RSS_BYTES)) why.push(`peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB (limit 1024 MiB)`);
  const errLines = r.stderr.split('\n').filter((l) => l.startsWith('resnet: error:'));
  if (r.code === 1 && errLines.length < 1) why.push(`no 'resnet: error:' line in stderr: ${r.stderr.slice(0, 300)}`);
  if (/\n\s+at /.test(r.stderr)) why.push('stderr has a stack trace');
  return why.join('; ');
}
