// Lean weights in wasm memory (issue 19): ResNet-50 at 224x224, batch 1, from a float32 and from an
// int8 checkpoint (`resnet convert --dtype int8` layout, seeded weights), side by side in one
// process. The int8 model runs in the wasm backend's lean mode (what createModel picks for an int8
// checkpoint: int8 GEMM panels widened inside the GEMM, Winograd sets within a budget). Reported:
// planned peak wasm memory (summary().backendMemory.peak), the wasm memory actually grown, the
// convs left on the direct GEMM, and wall/CPU latency medians measured interleaved (tinybench).
//
//   node --import ./bench/ts-loader.mjs bench/lean-memory.mjs [--model resnet50] [--size 224] [--rounds 15] [--budgets 48] [--out bench/results]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { createModel } from '../src/api.ts';
import { createWasmBackend, LEAN_WASM_OPTIONS } from '../src/backends/wasm/index.ts';
import { Tensor } from '../src/tensor.ts';
import { narrowWeights, writeSafetensors } from '../src/weights/index.ts';
import { machine, measureInterleaved, randomFloats } from './lib.mjs';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const MiB = 2 ** 20;

async function main(argv) {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, size: { type: 'string' }, rounds: { type: 'string' }, budgets: { type: 'string' }, out: { type: 'string' } } });
  const name = values.model ?? 'resnet50';
  const size = Number(values.size ?? 224);
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
