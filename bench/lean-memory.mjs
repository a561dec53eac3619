// Lean weights in wasm memory (issue 19): ResNet-50 at 224x224, batch 1, from a float32 and from an
// int8 checkpoint (`resnet convert --dtype int8` layout, seeded weights), side by side in one
// process. The int8 model runs in the wasm backend's lean mode (what createModel picks for an int8
// checkpoint: int8 GEMM panels widened inside the GEMM, Winograd sets within a budget). Reported:
// planned peak wasm memory (summary().backendMemory.peak), the wasm memory actually grown, the
// convs left on the direct GEMM, and wall/CPU latency medians measured interleaved (tinybench).
//
//   node --import ./bench/ts-loader.mjs bench/lean-memory.mjs [--model resnet50] [--size 224] [--rounds 15] [--budgets 48] [--out bench/results]
//
// --isolate: the whole isolate instead (JS heap + wasm memory, against the 128 MB of a Cloudflare
// Worker): a fresh `node --expose-gc` per row runs the built library (dist/, `npm run build` first)
// on the int8 file read from disk: createModel, a forward, settle, a forward, then gc and
// process.memoryUsage(). Isolate = heapUsed + external (external holds the array buffers and the
// wasm memory). Rows: the weights kept narrow (what createModel does), and the same file widened to
// float32 by readCheckpoint and bound as a map in the lean mode (what it did before, for comparison).
//   node --import ./bench/ts-loader.mjs bench/lean-memory.mjs --isolate [--model resnet50] [--size 224]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';

// The library's sources (through ts-loader) and lib.mjs (which imports them) are imported where
// used, so that an --isolate child loads only dist/.
const src = async () => ({
  ...(await import('./lib.mjs')),
  ...(await import('../src/api.ts')),
  ...(await import('../src/backends/wasm/index.ts')),
  ...(await import('../src/tensor.ts')),
  ...(await import('../src/weights/index.ts')),
});

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const MiB = 2 ** 20;

/** This process's peak resident set (Linux VmHWM, which exec resets; getrusage's maxRSS would carry the parent's). */
function peakRss() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return process.resourceUsage().maxRSS * 1024;
}

/** One row of --isolate, in this (fresh, --expose-gc) process: see the file comment. */
async function isolateChild(file, mode, name, size) {
  const lib = await import('../dist/index.js');
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  // heapUsed + external at each stage: the isolate's size along the way (the largest is its peak at those points).
  const stages = {};
  const stage = (label) => {
    const m = process.memoryUsage();
    stages[label] = m.heapUsed + m.external;
  };
  globalThis.gc();
  stage('imported');
  const bytes = readFileSync(file); // a Buffer is a Uint8Array: no copy
  stage('read');
  const model = mode === 'narrow'
    ? await lib.createModel(name, { weights: bytes })
    : await lib.createModel(name, { weights: new Map(lib.readCheckpoint(bytes).tensors), lean: true });
  stage('created');
  const input = new lib.Tensor(Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i * 0.001)), [1, 3, size, size]);
  await model.forward(input);
  stage('first forward');
  await model.settle();
  stage('settled');
  const logits = (await model.forward(input)).data;
  stage('second forward');
  const wasm = (await model.profile(input)).memoryBytes;
  let narrowBytes = 0;
  let floatBytes = 0;
  for (const t of model.weights.values()) {
    if (t instanceof lib.NarrowTensor) narrowBytes += t.byteLength;
    else floatBytes += t.data.byteLength;
  }
  globalThis.gc();
  const after = process.memoryUsage();
  process.stdout.write(JSON.stringify({
    mode, backend: model.backendChoice.reason, fileBytes: bytes.length, narrowWeightBytes: narrowBytes, float32WeightBytes: floatBytes,
    heapUsed: after.heapUsed, external: after.external, arrayBuffers: after.arrayBuffers, wasmMemory: wasm, rss: after.rss,
    isolate: after.heapUsed + after.external, stages, peakStage: Math.max(...Object.values(stages)), peakRss: peakRss(),
    top1: logits.indexOf(Math.max(...logits)),
    timings: model.timings,
  }));
}

async function isolate(name, size, outDir) {
  const { createModel, narrowWeights, writeSafetensors, machine } = await src();
  const base = await createModel(name, { backend: 'reference' });
  const n = narrowWeights(base.weights, 'int8');
  const dir = mkdtempSync(join(tmpdir(), 'lean-isolate-'));
  const file = join(dir, `${name}-int8.safetensors`);
  writeFileSync(file, writeSafetensors(n.tensors, n.metadata, { dtypes: n.dtypes }));
  const rows = [];
  try {
    for (const mode of ['narrow', 'widened']) {
      const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', file, '--mode', mode, '--model', name, '--size', String(size)], { encoding: 'utf8', maxBuffer: 1 << 20 });
      rows.push(JSON.parse(out));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const date = new Date().toISOString();
  const report = { date, model: name, size, batch: 1, machine: machine(), node: process.version, rows };
  const mib = (b) => (b / MiB).toFixed(1);
  const lines = [
    `# Whole isolate: ${name} ${size}x${size} batch 1, int8 checkpoint (${date}, Node ${process.version}, after gc)`,
    '',
    '| weights in the JS heap | file MiB | weights held: narrow MiB | float32 MiB | JS heap (heapUsed) MiB | array buffers MiB | wasm memory MiB | isolate (heapUsed + external) MiB | largest at a stage MiB | RSS MiB | peak RSS MiB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.mode === 'narrow' ? 'narrow (int8 as stored)' : 'widened to float32 (before)'} | ${mib(r.fileBytes)} | ${mib(r.narrowWeightBytes)} | ${mib(r.float32WeightBytes)} | ${mib(r.heapUsed)} | ${mib(r.arrayBuffers)} | ${mib(r.wasmMemory)} | ${mib(r.isolate)} | ${mib(r.peakStage)} | ${mib(r.rss)} | ${mib(r.peakRss)} |`),
    '',
    `Stages (heapUsed + external, MiB): ${rows.map((r) => `${r.mode}: ${Object.entries(r.stages).map(([k, v]) => `${k} ${mib(v)}`).join(', ')}`).join('; ')}.`,
    '',
    `Load ms (model.timings: read, bind, compile with its pack stage, first run; the widened row read its file before createModel, uncounted): ${rows.map((r) => `${r.mode}: ${['read', 'bind', 'compile'].map((k) => `${k} ${r.timings[k].toFixed(0)}`).join(', ')} (pack ${r.timings.compileStages.pack.toFixed(0)}), first run ${r.timings.firstRun.toFixed(0)}`).join('; ')}.`,
    '',
  ];
  mkdirSync(outDir, { recursive: true });
  const stamp = date.slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  for (const f of [`lean-isolate-${stamp}`, 'lean-isolate-latest']) {
    writeFileSync(join(outDir, `${f}.json`), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(outDir, `${f}.md`), lines.join('\n'));
  }
  process.stdout.write(lines.join('\n'));
}

async function main(argv) {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, size: { type: 'string' }, rounds: { type: 'string' }, budgets: { type: 'string' }, out: { type: 'string' }, isolate: { type: 'boolean' }, child: { type: 'string' }, mode: { type: 'string' } } });
  const name = values.model ?? 'resnet50';
  const size = Number(values.size ?? 224);
  if (values.child) return isolateChild(values.child, values.mode, name, size);
  if (values.isolate) return isolate(name, size, values.out ?? fileURLToPath(new URL('./results', import.meta.url)));
  const { createModel, createWasmBackend, LEAN_WASM_OPTIONS, Tensor, narrowWeights, writeSafetensors, machine, measureInterleaved, randomFloats } = await src();
  const rounds = Number(values.rounds ?? 15);
  const base = await createModel(name, { backend: 'reference' });
  const f32File = writeSafetensors(base.weights);
  const n = narrowWeights(base.weights, 'int8');
  const i8File = writeSafetensors(n.tensors, n.metadata, { dtypes: n.dtypes });
  const h = narrowWeights(base.weights, 'fp16');
  const f16File = writeSafetensors(h.tensors, h.metadata, { dtypes: h.dtypes });
  const input = new Tensor(randomFloats(3 * size * size, 1), [1, 3, size, size]);

  const variants = [
    { label: 'float32', model: await createModel(name, { weights: f32File }), file: f32File },
    { label: 'int8 (lean, default budget)', model: await createModel(name, { weights: i8File }), file: i8File },
    { label: 'fp16 (lean, default budget)', model: await createModel(name, { weights: f16File }), file: f16File },
  ];
  // Other Winograd budgets (MiB) of the lean mode, for the memory / latency trade.
  for (const mib of (values.budgets ?? '').split(',').filter(Boolean).map(Number)) {
    variants.push({ label: `int8, Winograd budget ${mib} MiB`, model: await createModel(name, { weights: i8File, backend: createWasmBackend({ ...LEAN_WASM_OPTIONS, winogradBudget: mib * MiB }) }), file: i8File });
  }
  for (const v of variants) {
    await v.model.forward(input);
    await v.model.settle();
  }
  const ref = (await variants[0].model.forward(input)).data;
  const timed = await measureInterleaved(variants.map((v) => ({ name: v.label, fn: () => v.model.forward(input) })), { rounds, warmup: 2 });
  const rows = [];
  for (const [i, v] of variants.entries()) {
    const exe = v.model.executable;
    const mem = v.model.summary({ inputSize: size, batch: 1 }).backendMemory;
    const out = (await v.model.forward(input)).data;
    let dot = 0, a = 0, b = 0;
    for (let j = 0; j < out.length; j++) {
      dot += out[j] * ref[j];
      a += out[j] ** 2;
      b += ref[j] ** 2;
    }
    rows.push({
      label: v.label,
      fileBytes: v.file.length,
      storage: exe.storage,
      plannedPeakBytes: mem.peak,
      weightBytes: mem.weights,
      activationBytes: mem.activations,
      wasmMemoryBytes: (await v.model.profile(input)).memoryBytes,
      directConvs: exe.directConvs,
      wallMedianMs: timed[i].wall.median,
      cpuMedianMs: timed[i].cpu.median,
      latencyRatio: timed[i].wall.median / timed[0].wall.median,
      cpuRatio: timed[i].cpu.median / timed[0].cpu.median,
      logitsCosine: dot / Math.sqrt(a * b),
    });
  }
  const date = new Date().toISOString();
  const report = { date, model: name, size, batch: 1, rounds, machine: machine(), variant: variants[0].model.executable.variant, rows };
  const lines = [
    `# Lean weights in wasm memory: ${name} ${size}x${size} batch 1 (${date}, ${report.variant}, ${rounds} interleaved rounds)`,
    '',
    '| weights | file MiB | planned peak MiB | weights MiB | activations MiB | wasm memory MiB | p50 wall ms | vs float32 | p50 CPU ms | vs float32 | logits cosine | 3x3 convs on direct GEMM |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) =>
      `| ${r.label} | ${(r.fileBytes / MiB).toFixed(1)} | ${(r.plannedPeakBytes / MiB).toFixed(1)} | ${(r.weightBytes / MiB).toFixed(1)} | ${(r.activationBytes / MiB).toFixed(1)} | ${(r.wasmMemoryBytes / MiB).toFixed(1)} | ${r.wallMedianMs.toFixed(1)} | ${r.latencyRatio.toFixed(3)}x | ${r.cpuMedianMs.toFixed(1)} | ${r.cpuRatio.toFixed(3)}x | ${r.logitsCosine.toFixed(6)} | ${r.directConvs.length ? r.directConvs.map((c) => c.name).join(', ') : 'none'} |`),
    '',
  ];
  const out = values.out ?? fileURLToPath(new URL('./results', import.meta.url));
  mkdirSync(out, { recursive: true });
  const stamp = date.slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  for (const f of [`lean-memory-${stamp}`, 'lean-memory-latest']) {
    writeFileSync(join(out, `${f}.json`), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(out, `${f}.md`), lines.join('\n'));
  }
  process.stdout.write(lines.join('\n'));
}

await main(process.argv.slice(2));
