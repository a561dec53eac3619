#!/usr/bin/env node
/**
 * Threads side by side: our wasm backend on 1 and 2 threads against onnxruntime-web on 2 threads,
 * tfjs-backend-wasm (1 thread: it has none under Node) and native onnxruntime-node on 2 intra-op
 * threads, same graph, seeded weights and input, in interleaved rounds (each round runs every
 * engine once), at batch 1 and 8.
 *
 *   node bench/threads.mjs [--models resnet50,resnet18] [--batches 1,8] [--size 224] [--runs 10] [--warmup 2]
 *                          [--threads 2] [--out bench/results]
 *
 * Ours: createWasmBackend({ threads }) on both kernel builds (--builds simd,relaxed: plain SIMD,
 * what Node 20 runs by default, and relaxed SIMD, what Chrome 114+ and Node 22+ run; enabled here
 * with V8's flag), Winograd sets made at compile. Reported per model and batch: wall median and p90 (ms), images/s, and the ratios
 * this run measured: ours on T threads over ours on 1 (latency), over each peer, and images/s on T
 * threads over 1. onnxruntime-web's thread count is fixed per process by its first session, so it
 * runs with T threads only. Results: results/threads-<stamp>.json|md and threads-latest.*.
 */
import { register } from 'node:module';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';

register('./ts-hooks.mjs', import.meta.url);
// Node 20 validates relaxed SIMD only behind this flag (Node 22+ and Chrome 114+ have it on); set
// before the first feature probe. The peers' wasm builds do not use it.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
await import('../src/backends/wasm/threads-node.ts');
const { createWasmBackend } = await import('../src/backends/wasm/index.ts');
const { machine, measureInterleaved } = await import('./lib.mjs');
const { modelSetup } = await import('./models.mjs');
const peers = await import('./peers/index.mjs');

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'resnet50,resnet18' },
    batches: { type: 'string', default: '1,8' },
    size: { type: 'string', default: '224' },
    runs: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    builds: { type: 'string', default: 'simd,relaxed' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const T = Number(values.threads);
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const size = Number(values.size);

const report = { started: new Date().toISOString(), machine: machine(), options: { ...values }, results: [] };
for (const model of list(values.models)) {
  for (const batch of list(values.batches).map(Number)) {
    const setup = modelSetup(model, batch, size);
    const engines = [];
    for (const build of list(values.builds)) {
      for (const threads of [1, T]) {
        const exe = await createWasmBackend({ winograd: 'eager', relaxed: build === 'relaxed', threads }).compile(setup.graph, setup.weights);
        await exe.threadsReady;
        if (exe.threads !== threads) throw new Error(`ours: asked for ${threads} threads, runs on ${exe.threads}: ${exe.threadsNote}`);
        const key = `ours${threads}${build === 'relaxed' ? 'r' : ''}`;
        engines.push({ name: `resnet-ts wasm ${build === 'relaxed' ? 'relaxed SIMD' : 'SIMD'}, ${threads} thread${threads > 1 ? 's' : ''}`, key, fn: () => exe.run(setup.input), dispose: () => exe.dispose() });
      }
    }
    const failed = [];
    for (const [peer, threads] of [['onnxruntime-web', T], ['tfjs-wasm', 1], ['onnxruntime-node', T]]) {
      try {
        const p = await peers.createPeer(peer, setup.graph, setup.weights, setup.input.shape, { threads });
        engines.push({ name: p.note, key: peer, fn: () => p.run(setup.input), dispose: () => p.dispose() });
      } catch (e) {
        failed.push({ engine: peer, note: `unavailable: ${e instanceof Error ? e.message : e}` });
      }
    }
    const times = await measureInterleaved(engines, { rounds: runs, warmup });
    for (const e of engines) await e.dispose();
    const rows = engines.map((e, i) => ({ key: e.key, engine: e.name, wallMedianMs: times[i].wall.median, wallP90Ms: times[i].wall.p90, imagesPerSecond: (batch * 1000) / times[i].wall.median }));
    const by = Object.fromEntries(rows.map((r) => [r.key, r]));
    const ratios = {};
    for (const b of ['', 'r']) {
      const one = by[`ours1${b}`];
      const many = by[`ours${T}${b}`];
      if (!one || !many) continue;
      ratios[`ours${T}${b} / ours1${b}`] = many.wallMedianMs / one.wallMedianMs;
      ratios[`images/s ours${T}${b} / ours1${b}`] = many.imagesPerSecond / one.imagesPerSecond;
      for (const r of rows) if (!r.key.startsWith('ours')) ratios[`ours${T}${b} / ${r.key}`] = many.wallMedianMs / r.wallMedianMs;
    }
    report.results.push({ model, batch, size, rows, failed, ratios });
    console.log(`${model} b${batch}: ${rows.map((r) => `${r.key} ${r.wallMedianMs.toFixed(1)} ms`).join(', ')}; ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
  }
}

const md = [
  `# Threads side by side (${report.started})`,
  '',
  `${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}, load average ${report.machine.loadAverage.map((x) => x.toFixed(2)).join(' ')}; ${runs} interleaved rounds after ${warmup} warmup runs each; seeded weights, input ${size}x${size}. Ours: Winograd sets made at compile; \`ours2\` is the plain SIMD build on 2 threads, \`ours2r\` the relaxed SIMD one (fused multiply-add; what Chrome 114+ and Node 22+ run; Node 20 here with --experimental-wasm-relaxed-simd).`,
  '',
  '| model | batch | engine | median ms | p90 ms | images/s |',
  '| --- | ---: | --- | ---: | ---: | ---: |',
  ...report.results.flatMap((r) => r.rows.map((x) => `| ${r.model} | ${r.batch} | ${x.engine} | ${x.wallMedianMs.toFixed(1)} | ${x.wallP90Ms.toFixed(1)} | ${x.imagesPerSecond.toFixed(2)} |`)),
  '',
  '| model | batch | ratio | value |',
  '| --- | ---: | --- | ---: |',
  ...report.results.flatMap((r) => Object.entries(r.ratios).map(([k, v]) => `| ${r.model} | ${r.batch} | ${k} | ${v.toFixed(3)} |`)),
  ...report.results.flatMap((r) => r.failed.map((f) => `\n${r.model} b${r.batch}: ${f.engine} ${f.note}`)),
  '',
].join('\n');
await mkdir(values.out, { recursive: true });
const stamp = report.started.replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
for (const name of [`threads-${stamp}`, 'threads-latest']) {
  await writeFile(join(values.out, `${name}.json`), `${JSON.stringify(report, null, 1)}\n`);
  await writeFile(join(values.out, `${name}.md`), md);
}
console.log(md);
