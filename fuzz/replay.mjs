/**
 * Replays one input through a target's plain reader (no Jazzer) in a fresh process and measures it
 * against issue 17's bar: the reader loads it or refuses it with a named error, in under 10 s and
 * 1 GiB. The child runs build/fuzz/tool.cjs (fuzz/run.mjs `bundle()` writes it); a child past 2x
 * the time bar is killed, and so is one whose resident memory passes 2 GiB (read from
 * /proc/<pid>/status every 50 ms where there is a /proc), so a regression that comes back cannot
 * take the machine down with it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TIME_BAR_MS = 10_000;
export const RSS_BAR_BYTES = 1024 ** 3;
const KILL_RSS_BYTES = 2 * RSS_BAR_BYTES;

function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * `{ kind: 'ok' | 'refused' | 'finding' | 'killed', error, ms, peakRss, killed? }`; ms and peakRss
 * are measured inside the child around the reader (peakRss: the whole process, Node included).
 */
export function replay(target, file, { timeoutMs = 2 * TIME_BAR_MS } = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [join(ROOT, 'build/fuzz/tool.cjs'), 'replay', target, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed;
    let watchedRss = 0;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t0 = performance.now();
    const timer = setTimeout(() => {
      killed = 'time';
      child.kill('SIGKILL');
    }, timeoutMs);
    const watch = setInterval(() => {
      const rss = rssOf(child.pid);
      if (rss > watchedRss) watchedRss = rss;
      if (rss > KILL_RSS_BYTES) {
        killed = 'memory';
        child.kill('SIGKILL');
      }
    }, 50);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(watch);
      const line = out.trim().split('\n').find((l) => l.startsWith('{'));
      if (line && !killed) {
        resolvePromise(JSON.parse(line));
        return;
      }
      const ms = performance.now() - t0;
      const why = killed === 'time' ? `killed after ${Math.round(ms)} ms` : killed === 'memory' ? `killed at ${Math.round(watchedRss / 2 ** 20)} MiB resident` : `exit ${code ?? signal}`;
      const tail = err.trim().split('\n').slice(-3).join(' | ');
      resolvePromise({ kind: 'killed', error: tail ? `${why}: ${tail}` : why, ms, peakRss: watchedRss, killed: killed ?? 'crash' });
    });
  });
}

/** Why a replay misses the bar, or '' when it meets it. */
export function verdict(r) {
  if (r.kind === 'killed') return `the reader did not finish: ${r.error}`;
  if (r.kind === 'finding') return `unexpected exception (not a named reader error): ${r.error}`;
  if (r.ms >= TIME_BAR_MS) return `took ${Math.round(r.ms)} ms (bar: ${TIME_BAR_MS} ms)`;
  if (r.peakRss >= RSS_BAR_BYTES) return `peak RSS ${Math.round(r.peakRss / 2 ** 20)} MiB (bar: 1024 MiB)`;
  return '';
}
