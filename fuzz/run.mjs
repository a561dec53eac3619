#!/usr/bin/env node
/**
 * Coverage-guided fuzzing of every parser with Jazzer.js (libFuzzer in Node): `npm run fuzz --
 * [--target pickle,zip,...] [--time 600] [--jobs 2] [--json]`.
 *
 * For each target it (1) bundles fuzz/targets/<t>.ts with the library sources to CommonJS under
 * build/fuzz/ (Jazzer instruments CommonJS through require hooks; --includes names the bundle, so
 * the whole reader is instrumented), (2) writes the seed corpus from ../shared and test/fixtures
 * plus the fuzzer-found regression entries that pass (fuzz/tool.ts), (3) runs Jazzer for --time seconds with
 * the bar of issue 17: an input taking over 10 s (-timeout) or the process going over 1 GiB
 * (-rss_limit_mb) is a finding, as is any exception other than the reader's named errors
 * (fuzz/outcome.ts); fuzz/dict/<t>.dict, when there is one, gives libFuzzer the format's tokens.
 * New corpus entries go to build/fuzz/corpus/<t>/ (kept between runs), findings to
 * build/fuzz/findings/<t>/, the log to build/fuzz/logs/<t>.log. Instrumentation slows a reader
 * 5-10x, so a timeout finding is confirmed by replaying it plainly (fuzz/add-regression.mjs does).
 *
 * Prints per target: executions, executions/s, coverage (libFuzzer's cov/ft counts at start and
 * end) and findings; exit 1 when any target has a finding, 2 on a usage error. A finding is added
 * to the regression corpus with fuzz/add-regression.mjs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ensureJazzerLoads } from '../scripts/jazzer-glibc.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'build/fuzz');
export const TARGET_NAMES = ['pickle', 'zip', 'torch', 'safetensors', 'pdparams', 'npy', 'jpeg', 'png'];
/** Targets whose parser returns a promise (Jazzer's async mode); the others run with --sync, several times faster. */
const ASYNC = new Set(['png']);
const REGRESSION = join(ROOT, 'fuzz/corpus/regression');
const TIMEOUT_S = 10;
const RSS_LIMIT_MB = 1024;

function usage(message) {
  console.error(`resnet fuzz: error: ${message}`);
  console.error('usage: npm run fuzz -- [--target name[,name...]] [--time seconds per target (default 60)] [--jobs N] [--json]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { targets: TARGET_NAMES, time: 60, jobs: 1, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--target') {
      opts.targets = value().split(',');
      const bad = opts.targets.filter((t) => !TARGET_NAMES.includes(t));
      if (bad.length) usage(`unknown target ${bad.map((b) => `'${b}'`).join(', ')}; expected ${TARGET_NAMES.join(', ')}`);
    } else if (a === '--time' || a === '--jobs') {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 1) usage(`${a} must be a positive integer, got '${argv[i]}'`);
      opts[a.slice(2)] = v;
    } else if (a === '--json') opts.json = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run fuzz -- [--target name[,name...]] [--time seconds per target (default 60)] [--jobs N] [--json]');
      console.log(`targets: ${TARGET_NAMES.join(', ')}`);
      process.exit(0);
    } else usage(`unknown option '${a}'`);
  }
  return opts;
}

/** Bundles each target and the tool to CommonJS; returns nothing, throws esbuild's errors. */
export async function bundle() {
  const entryPoints = Object.fromEntries(TARGET_NAMES.map((t) => [`targets/${t}`, join(ROOT, `fuzz/targets/${t}.ts`)]));
  entryPoints.tool = join(ROOT, 'fuzz/tool.ts');
  await build({ entryPoints, bundle: true, platform: 'node', format: 'cjs', target: 'node20', outdir: OUT, outExtension: { '.js': '.cjs' }, keepNames: true, logLevel: 'error' });
}

/** The regression manifest: [{ file, target, status, ... }] (fuzz/corpus/regression/manifest.json). */
export function readManifest() {
  return JSON.parse(readFileSync(join(REGRESSION, 'manifest.json'), 'utf8')).entries;
}

function prepareSeeds(target) {
  const dir = join(OUT, 'seeds', target);
  rmSync(dir, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [join(OUT, 'tool.cjs'), 'seeds', target, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`seeds for ${target}: ${r.stderr.trim()}`);
  const info = JSON.parse(r.stdout);
  // Regression entries the fuzzer found, once they pass, seed it too (those waiting for a fix would stop it
  // at once). Crafted ones are left to test/fuzz-regression.test.ts: a 100-megapixel zlib bomb takes 3 s
  // plain and over the 10 s timeout instrumented.
  for (const e of readManifest().filter((x) => x.target === target && x.status === 'passes' && x.source.startsWith('fuzzing'))) {
    const bytes = readFileSync(join(REGRESSION, e.file));
    writeFileSync(join(dir, `regression-${e.file.replace(/\//g, '_')}`), bytes);
    info.seeds++;
    info.maxBytes = Math.max(info.maxBytes, bytes.length);
  }
  return { dir, ...info };
}

/** The target's libFuzzer dictionary: the pickle targets share one. */
const dictionary = (target) => join(ROOT, 'fuzz/dict', `${['torch', 'pdparams'].includes(target) ? 'pickle' : target}.dict`);

/** Parses libFuzzer's status lines (`#N INITED cov: C ft: F corp: ...`) and final stats. */
export function parseLibFuzzerLog(log) {
  const lines = log.split('\n');
  const status = lines.map((l) => /^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+)(?: corp: (\d+)\/)?/.exec(l)).filter(Boolean);
  const inited = status.find((m) => m[2] === 'INITED');
  const last = status.at(-1);
  const stat = (name) => {
    const m = new RegExp(`^stat::${name}:\\s*(\\d+)`, 'm').exec(log);
    return m ? Number(m[1]) : undefined;
  };
  return {
    executions: stat('number_of_executed_units') ?? (last ? Number(last[1]) : 0),
    execPerSec: stat('average_exec_per_sec'),
    newUnits: stat('new_units_added'),
    peakRssMb: stat('peak_rss_mb'),
    cov: inited && last ? { start: Number(inited[3]), end: Number(last[3]) } : undefined,
    ft: inited && last ? { start: Number(inited[4]), end: Number(last[4]) } : undefined,
    corpus: last?.[5] !== undefined ? Number(last[5]) : undefined,
  };
}

/** The message of a finding, from Jazzer's report in the log. */
function findingMessage(log) {
  const lines = log.split('\n');
  const at = lines.findIndex((l) => /Uncaught Exception|ERROR: libFuzzer|==\d+== ERROR|out-of-memory|timeout after|JavaScript heap out of memory|Maximum call stack/.test(l));
  if (at < 0) return undefined;
  return lines.slice(at, at + 3).map((l) => l.trim()).filter(Boolean).join(' | ').slice(0, 500);
}

/** Runs one target for `seconds`; resolves with its report. */
export async function runTarget(target, seconds) {
  const seeds = prepareSeeds(target);
  const corpus = join(OUT, 'corpus', target);
  const findings = join(OUT, 'findings', target);
  const logs = join(OUT, 'logs');
  for (const d of [corpus, findings, logs]) mkdirSync(d, { recursive: true });
  const before = new Set(readdirSync(findings));
  const bundlePath = join(OUT, 'targets', `${target}.cjs`);
  const args = [
    join(ROOT, 'node_modules/@jazzer.js/core/dist/cli.js'),
    bundlePath,
    corpus,
    seeds.dir,
    '--includes', bundlePath,
    '--timeout', String(TIMEOUT_S * 1000),
    ...(ASYNC.has(target) ? [] : ['--sync']),
    '--',
    `-max_total_time=${seconds}`,
    `-timeout=${TIMEOUT_S}`,
    `-rss_limit_mb=${RSS_LIMIT_MB}`,
    `-max_len=${Math.max(4096, seeds.maxBytes)}`,
    `-artifact_prefix=${findings}/`,
    '-print_final_stats=1',
    ...(existsSync(dictionary(target)) ? [`-dict=${dictionary(target)}`] : []),
  ];
  const t0 = Date.now();
  const log = await new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    // libFuzzer stops itself at -max_total_time; this only guards against a wedged process.
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 120) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolvePromise(`${text}\n[exit ${code ?? signal}]\n`);
    });
  });
  writeFileSync(join(logs, `${target}.log`), log);
  const found = readdirSync(findings).filter((f) => !before.has(f) && /^(crash|timeout|oom|leak)-/.test(f));
  const exit = /\[exit (\S+)\]\n$/.exec(log)?.[1];
  const stats = parseLibFuzzerLog(log);
  const failedToRun = found.length === 0 && exit !== '0' && stats.executions === 0;
  return {
    target,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    seeds: seeds.seeds,
    ...stats,
    findings: found.map((f) => join('build/fuzz/findings', target, f)),
    message: found.length || exit !== '0' ? findingMessage(log) : undefined,
    error: failedToRun ? `jazzer exited ${exit} without running (see build/fuzz/logs/${target}.log): ${log.trim().split('\n').slice(-6).join(' | ')}` : undefined,
    exit,
    log: join('build/fuzz/logs', `${target}.log`),
  };
}

function formatRow(r) {
  const cov = r.cov ? `${r.cov.start}->${r.cov.end}` : '-';
  const ft = r.ft ? `${r.ft.start}->${r.ft.end}` : '-';
  const outcome = r.error ? `ERROR ${r.error}` : r.findings.length ? `FINDING ${r.findings.join(' ')}: ${r.message ?? `exit ${r.exit}`}` : 'no findings';
  return `${r.target.padEnd(12)} ${String(r.seconds).padStart(6)} s ${String(r.executions).padStart(9)} execs ${String(r.execPerSec ?? '-').padStart(6)}/s  cov ${cov.padEnd(11)} ft ${ft.padEnd(13)} ${outcome}`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = opts.json ? (m) => console.error(m) : (m) => console.log(m);
  log(ensureJazzerLoads());
  await bundle();
  const queue = [...opts.targets];
  const reports = [];
  const worker = async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
      log(`fuzzing ${t} for ${opts.time} s ...`);
      const r = await runTarget(t, opts.time);
      reports.push(r);
      log(formatRow(r));
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.jobs, queue.length) }, worker));
  reports.sort((a, b) => TARGET_NAMES.indexOf(a.target) - TARGET_NAMES.indexOf(b.target));
  const bad = reports.filter((r) => r.findings.length || r.error);
  if (opts.json) console.log(JSON.stringify({ time: opts.time, reports }));
  else {
    console.log('\ntarget         time      executions   exec/s  coverage (start->end)            outcome');
    for (const r of reports) console.log(formatRow(r));
    if (bad.length) console.log(`\n${bad.length} target(s) with findings or errors; add each finding with: node fuzz/add-regression.mjs <target> <file> '<error>'`);
  }
  process.exit(bad.length ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`resnet fuzz: error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
