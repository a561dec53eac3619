#!/usr/bin/env node
/**
 * Cold start: import to first logits in FRESH processes, ours side by side with onnxruntime-web.
 *
 *   npm run build && node bench/cold.mjs [--models resnet50,resnet18] [--rounds 7] [--warm 5] [--out bench/results]
 *                                        [--dist dist]   (a built dist/ to measure, e.g. a copy of it)
 *                                        [--entry core|node]   (core: dist/index.js, one thread, what a Worker
 *                                         or a page gets; node: dist/index.node.js, the cores in threads)
 *
 *                                        [--bytes touched,fresh]   (how the weight bytes are held; see below)
 *
 * For each model the parent writes, once and untimed, the seeded weights (src/models/init.ts) as
 * safetensors and the same graph and weights as ONNX (bench/peers/onnx-export.mjs). Then, in each
 * round, for each model and each way of holding the bytes, it spawns one `node` child per engine,
 * the order alternating by round:
 *   ours  reads the .safetensors file, then times: import dist/index.js -> createModel(name,
 *         { weights: bytes, backend: 'wasm' }) -> first forward; then `--warm` more forwards
 *         (their median is the warm forward of the same process) and model.timings (the stages).
 *   ort   reads the .onnx file, then times: import onnxruntime-web -> InferenceSession.create
 *         (wasm EP, SIMD, 1 thread, binary from node_modules) -> first run.
 * The bytes, for both engines alike:
 *   touched  read with readFileSync, then one byte of every 4 KiB page read before the timer starts:
 *            bytes as an app holds them after fetch(), a bundler's import or any copy in user space.
 *   fresh    straight from readFileSync. On some virtual machines (this one: Firecracker with
 *            shadow paging) the first user-space read of each page the kernel filled costs several
 *            microseconds (about 6 here, 70 ms for ResNet-18's 45 MiB); on ordinary hardware
 *            readFileSync's pages are already mapped. Whichever engine reads the bytes first pays it.
 * A third child per round writes 64 MiB of fresh wasm memory: what first touching a page costs on
 * this machine (the packing writes every byte of the packed weights, `packedMB`, for the first time).
 * Node runs our plain SIMD build (Node 20 validates relaxed SIMD only behind a flag). Reported:
 * medians over rounds of each stage, and the ratios that this run measured side by side: ours
 * import-to-logits over onnxruntime-web's session create + first run (and over its
 * import-to-logits), and over our own warm forward. Results: results/cold-<stamp>.json|md and
 * results/cold-latest.json|md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { benchInput } from './input.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One child: times one engine from import to first logits (or the first touch of fresh memory) and prints one JSON line. */
async function child(engine, dist, model, file, size, warm, held) {
  if (engine === 'touch') {
    const memory = new WebAssembly.Memory({ initial: 1 });
    memory.grow(1024); // 64 MiB
    const t0 = performance.now();
    new Float32Array(memory.buffer).fill(1);
    return { totalMs: performance.now() - t0, msPerMB: (performance.now() - t0) / 64 };
  }
  const bytes = readFileSync(file);
  if (held === 'touched') {
    let sum = 0;
    for (let i = 0; i < bytes.length; i += 4096) sum += bytes[i];
    globalThis.touchedSum = sum;
  }
  const x = benchInput([1, 3, size, size]);
  if (engine === 'ours') {
    const t0 = performance.now();
    const { createModel } = await import(pathToFileURL(dist).href);
    const t1 = performance.now();
    const m = await createModel(model, { weights: bytes, backend: 'wasm' });
    const t2 = performance.now();
    await m.forward(x);
    const t3 = performance.now();
    // The second forward also makes lazy Winograd sets (about as long as it runs); the rest wait
    // for settle(), which is timed apart, so the warm forwards are the settled model's.
    await m.forward(x);
    const t4 = performance.now();
    await m.settle();
    const t5 = performance.now();
    const warmMs = [];
    for (let i = 0; i < warm; i++) {
      const t = performance.now();
      await m.forward(x);
      warmMs.push(performance.now() - t);
    }
    const packedMB = (m.summary().backendMemory?.weights ?? 0) / 2 ** 20;
    const threads = m.threads;
    m.dispose();
    return { importMs: t1 - t0, createMs: t2 - t1, firstForwardMs: t3 - t2, totalMs: t3 - t0, secondForwardMs: t4 - t3, settleMs: t5 - t4, warmMs: median(warmMs), packedMB, threads, timings: m.timings };
  }
  const t0 = performance.now();
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = readFileSync(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
  const t1 = performance.now();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const t2 = performance.now();
  await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) });
  const t3 = performance.now();
  return { importMs: t1 - t0, createMs: t2 - t1, firstRunMs: t3 - t2, createRunMs: t3 - t1, totalMs: t3 - t0, version: ort.env.versions.web };
}

async function parent(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      models: { type: 'string', default: 'resnet50,resnet18' },
      rounds: { type: 'string', default: '7' },
      warm: { type: 'string', default: '5' },
      out: { type: 'string', default: join(here, 'results') },
      dist: { type: 'string', default: join(here, '../dist') },
      entry: { type: 'string', default: 'core' },
      bytes: { type: 'string', default: 'touched,fresh' },
    },
  });
  const helds = values.bytes.split(',').filter(Boolean);
  if (helds.length === 0 || helds.some((h) => !['touched', 'fresh'].includes(h))) throw new Error(`bench/cold: --bytes takes touched and/or fresh, got ${values.bytes}`);
  if (!['core', 'node'].includes(values.entry)) throw new Error(`bench/cold: --entry must be core or node, got ${values.entry}`);
  const dist = join(values.dist, values.entry === 'node' ? 'index.node.js' : 'index.js');
  if (!existsSync(dist)) throw new Error(`bench/cold: ${dist} not found; run \`npm run build\` first`);
  const { createModel, writeSafetensors } = await import(pathToFileURL(dist).href);
  const { exportOnnx } = await import('./peers/onnx-export.mjs');
  const models = values.models.split(',').filter(Boolean);
  const rounds = Number(values.rounds);
  const tmp = join(os.tmpdir(), `resnet-ts-cold-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const files = {};
  for (const model of models) {
    const m = await createModel(model, { backend: 'reference' });
    const size = m.config.defaultInputSize;
    files[model] = { size, ours: join(tmp, `${model}.safetensors`), ort: join(tmp, `${model}.onnx`) };
    writeFileSync(files[model].ours, writeSafetensors(m.weights));
    writeFileSync(files[model].ort, exportOnnx(m.graph, m.weights, { inputShape: [1, 3, size, size] }));
  }
  const samples = Object.fromEntries(models.map((m) => [m, Object.fromEntries(helds.map((h) => [h, { ours: [], ort: [] }]))]));
  const touch = [];
  const spawn = (...args) => {
    const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', ...args.map(String)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`bench/cold: ${args.slice(0, 3).join(' ')} failed:\n${run.stderr}`);
    return JSON.parse(run.stdout.trim().split('\n').at(-1));
  };
  for (let r = 0; r < rounds; r++) {
    touch.push(spawn('touch', dist, '', '', 0, 0, '').msPerMB);
    for (const model of models) {
      for (const held of helds) {
        const order = r % 2 ? ['ort', 'ours'] : ['ours', 'ort'];
        for (const engine of order) {
          const f = files[model];
          const result = spawn(engine, dist, model, f[engine], f.size, values.warm, held);
          samples[model][held][engine].push(result);
          process.stderr.write(`round ${r + 1}/${rounds} ${model} ${held} bytes ${engine}: ${result.totalMs.toFixed(0)} ms\n`);
        }
      }
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  const results = models.flatMap((model) => helds.map((held) => summarise(model, held, samples[model][held])));
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
  const report = {
    date: new Date().toISOString(), node: process.version, cpus: os.cpus()[0]?.model, loadavg: os.loadavg(), rounds, warmRuns: Number(values.warm), entry: values.entry,
    freshMemoryMsPerMB: median(touch), results, samples,
  };
  mkdirSync(values.out, { recursive: true });
  const md = markdown(report);
  const tag = values.entry === 'node' ? '-node' : '';
  for (const name of [`cold${tag}-${stamp}`, `cold${tag}-latest`]) {
    writeFileSync(join(values.out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(values.out, `${name}.md`), md);
  }
  process.stdout.write(md);
}

/** Medians over rounds of each stage, and the ratios per round (ours / theirs in the same round), then their median. */
function summarise(model, bytes, { ours, ort }) {
  const med = (list, key) => median(list.map((x) => x[key]));
  const stage = (key) => median(ours.map((x) => x.timings[key] ?? 0));
  const stages = {};
  for (const s of Object.keys(ours[0].timings.compileStages ?? {})) stages[s] = median(ours.map((x) => x.timings.compileStages[s]));
  return {
    model,
    bytes,
    ours: {
      threads: ours[0].threads, importMs: med(ours, 'importMs'), createMs: med(ours, 'createMs'), firstForwardMs: med(ours, 'firstForwardMs'), totalMs: med(ours, 'totalMs'), secondForwardMs: med(ours, 'secondForwardMs'), settleMs: med(ours, 'settleMs'), warmMs: med(ours, 'warmMs'), packedMB: ours[0].packedMB,
      stages: { read: stage('read'), bind: stage('bind'), build: stage('build'), backend: stage('backend'), compile: stage('compile'), ...stages, firstRun: stage('firstRun') },
    },
    ort: { version: ort[0].version, importMs: med(ort, 'importMs'), createMs: med(ort, 'createMs'), firstRunMs: med(ort, 'firstRunMs'), createRunMs: med(ort, 'createRunMs'), totalMs: med(ort, 'totalMs') },
    ratios: {
      oursOverOrtCreateRun: median(ours.map((o, i) => o.totalMs / ort[i].createRunMs)),
      oursOverOrtTotal: median(ours.map((o, i) => o.totalMs / ort[i].totalMs)),
      oursOverOwnWarm: median(ours.map((o) => o.totalMs / o.warmMs)),
    },
  };
}

function markdown(r) {
  const f = (x) => x.toFixed(1);
  const lines = [
    `# Cold start, import to first logits, fresh processes (${r.date})`,
    '',
    `Node ${r.node}, ${r.cpus}, load average ${r.loadavg.map((x) => x.toFixed(2)).join(' ')}; ${r.rounds} rounds, engines alternating in order; batch 1, seeded weights;`,
    `ours: safetensors bytes -> createModel(..., { backend: 'wasm' }) -> forward (plain SIMD), imported from the ${r.entry} entry (warm forwards on ${[...new Map(r.results.map((x) => [x.model, x.ours.threads]))].map(([m, t]) => `${m} ${t}`).join(', ')} threads); onnxruntime-web: ONNX bytes -> InferenceSession.create (wasm, SIMD, 1 thread) -> run.`,
    'Medians over rounds; each ratio is the median of the per-round ratios (both engines measured in the same round, holding the bytes the same way).',
    'bytes: touched = every page of the weight bytes read once before the timer (as bytes from fetch(), an import or a copy are); fresh = straight from readFileSync (on this VM the first read of each page the kernel filled costs several microseconds, for both engines).',
    `Writing fresh wasm memory costs ${r.freshMemoryMsPerMB.toFixed(2)} ms per MiB here (median over rounds; each page's first touch); our packed weights: ${[...new Map(r.results.map((x) => [x.model, x.ours.packedMB]))].map(([m, mb]) => `${m} ${mb.toFixed(0)} MiB`).join(', ')}.`,
    '',
    '| model | bytes | ours import | ours createModel | ours first forward | **ours import to logits** | ours second forward | ours settle | ours warm forward | ort import | ort session create | ort first run | **ort create + run** |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const x of r.results) {
    lines.push(`| ${x.model} | ${x.bytes} | ${f(x.ours.importMs)} | ${f(x.ours.createMs)} | ${f(x.ours.firstForwardMs)} | **${f(x.ours.totalMs)}** | ${f(x.ours.secondForwardMs)} | ${f(x.ours.settleMs)} | ${f(x.ours.warmMs)} | ${f(x.ort.importMs)} | ${f(x.ort.createMs)} | ${f(x.ort.firstRunMs)} | **${f(x.ort.createRunMs)}** |`);
  }
  lines.push('', '| model | bytes | ours / ort create + run | ours / ort import to logits | ours / ours warm forward |', '| --- | --- | ---: | ---: | ---: |');
  for (const x of r.results) lines.push(`| ${x.model} | ${x.bytes} | ${x.ratios.oursOverOrtCreateRun.toFixed(3)} | ${x.ratios.oursOverOrtTotal.toFixed(3)} | ${x.ratios.oursOverOwnWarm.toFixed(2)} |`);
  lines.push('', 'Our stages (model.timings, medians, ms):', '', `| model | bytes | ${Object.keys(r.results[0].ours.stages).join(' | ')} |`, `| --- | --- |${Object.keys(r.results[0].ours.stages).map(() => ' ---: |').join('')}`);
  for (const x of r.results) lines.push(`| ${x.model} | ${x.bytes} | ${Object.values(x.ours.stages).map(f).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

if (process.argv[2] === '--child') {
  const [, , , engine, dist, model, file, size, warm, held] = process.argv;
  process.stdout.write(`${JSON.stringify(await child(engine, dist, model, file, Number(size), Number(warm), held))}\n`);
} else {
  await parent(process.argv.slice(2));
}
