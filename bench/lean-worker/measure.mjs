// The whole isolate in workerd (issue 19): for each mode (int8 weights kept as stored; widened to
// float32 as before), starts `wrangler dev --local` afresh, reads the resident memory of its
// workerd process (Linux /proc) once the worker is up and again after its ResNet-50 224 b1 request
// (createModel, a forward, settle, a forward), and keeps the worker's JSON (wasm memory, planned
// peak). workerd reports no JS heap figure of its own; the RSS growth over the idle process is the
// isolate's model (JS heap, array buffers, wasm memory) plus what workerd allocates for it.
//   npm run build && node bench/lean-worker/make-weights.mjs && node bench/lean-worker/measure.mjs
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const MiB = 2 ** 20;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resident bytes of every workerd process under `pid` (VmRSS), and their peak (VmHWM). */
function workerdMemory(pid) {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  const procs = out.trim().split('\n').map((l) => l.trim().split(/\s+/)).map(([p, pp, c]) => ({ pid: +p, ppid: +pp, comm: c }));
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (tree.has(p.ppid) && !tree.has(p.pid)) (tree.add(p.pid), (grew = true));
  }
  let rss = 0;
  let hwm = 0;
  for (const p of procs) {
    if (!tree.has(p.pid) || p.comm !== 'workerd') continue;
    const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
    rss += Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
    hwm += Number(/VmHWM:\s+(\d+)/.exec(status)[1]) * 1024;
  }
  return { rss, hwm };
}

async function run(mode, port) {
  const child = spawn('npx', ['wrangler', 'dev', '--local', '--port', String(port)], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  try {
    for (let i = 0; ; i++) {
      if (i > 120) throw new Error(`wrangler did not start: ${log.slice(-2000)}`);
      await sleep(1000);
      if (/Ready on/.test(log)) break;
    }
    await sleep(2000);
    const idle = workerdMemory(child.pid);
    const t0 = Date.now();
    const result = await (await fetch(`http://127.0.0.1:${port}/?mode=${mode}`)).json();
    const ms = Date.now() - t0;
    await sleep(1000);
    const after = workerdMemory(child.pid);
    return { mode, idleRss: idle.rss, rss: after.rss, peakRss: after.hwm, growth: after.rss - idle.rss, requestMs: ms, result };
  } finally {
    process.kill(-child.pid, 'SIGTERM');
    await sleep(1000);
  }
}

const version = execFileSync('npx', ['wrangler', '--version'], { cwd: dir, encoding: 'utf8' }).trim();
const rows = [];
for (const [i, mode] of ['narrow', 'widened'].entries()) rows.push(await run(mode, 8787 + i));
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const report = { date, runtime: `workerd via wrangler ${version} dev --local`, model: 'resnet50', input: [1, 3, 224, 224], rows };
writeFileSync(new URL('../results/lean-worker-latest.json', import.meta.url), JSON.stringify(report) + '\n');
for (const r of rows) {
  console.log(`${r.mode}: workerd RSS idle ${(r.idleRss / MiB).toFixed(1)} MiB, after the request ${(r.rss / MiB).toFixed(1)} MiB (+${(r.growth / MiB).toFixed(1)}), peak ${(r.peakRss / MiB).toFixed(1)} MiB; wasm memory ${(r.result.wasmMemoryBytes / MiB).toFixed(1)} MiB; ${r.result.reason}; top ${r.result.top}`);
}
