// Lean weights on real data (issue 19): the pretrained CIFAR-10 ResNets on the 10,000 CIFAR-10 test
// JPEGs with float32, fp16 and int8 checkpoints, in one run. For each model the float32 file is
// read, its bound weights are written as fp16 and int8 safetensors (what `resnet convert --dtype`
// writes) and read back through createModel like any checkpoint; every image goes through the
// three models in the same batches. Reported per dtype: top-1, its difference from float32 in
// points, per-image top-1 agreement with float32, the smallest logits cosine and the largest
// max |logits - float32| / max |float32| over the images.
//
//   node --import ./bench/ts-loader.mjs bench/lean.mjs [--limit N] [--backend wasm] [--batch 100] [--out bench/results]
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createModel } from '../src/api.ts';
import { decodeImage } from '../src/image/index.ts';
import { preprocess } from '../src/image/index.ts';
import { stackBatch } from '../src/image/normalize.ts';
import { CIFAR10_LABELS } from '../src/labels.ts';
import { narrowWeights, writeSafetensors } from '../src/weights/index.ts';

const SHARED = process.env.RESNET_SHARED_DIR ?? fileURLToPath(new URL('../../shared', import.meta.url));
export const CIFAR_DIR = join(SHARED, 'data/cifar10-test');
export const CIFAR_WEIGHTS = {
  resnet20: join(SHARED, 'weights/cifar10-resnet-akamaster/resnet20-12fca82f.th'),
  resnet32: join(SHARED, 'weights/cifar10-resnet-akamaster/resnet32-d509ac18.th'),
  resnet44: join(SHARED, 'weights/cifar10-resnet-akamaster/resnet44-014dd654.th'),
  resnet56: join(SHARED, 'weights/cifar10-resnet-akamaster/resnet56-4bfd9763.th'),
};

/** The first `limit` images of the CIFAR-10 test folder, taken in turn from each class, decoded and preprocessed ('cifar'). */
export async function loadCifar(dir = CIFAR_DIR, limit = Infinity) {
  const byClass = CIFAR10_LABELS.map((c) => readdirSync(join(dir, c)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => join(dir, c, f)));
  const items = [];
  for (let i = 0; items.length < limit && byClass.some((b) => i < b.length); i++) {
    byClass.forEach((b, label) => {
      if (i < b.length && items.length < limit) items.push({ path: b[i], label });
    });
  }
  const out = [];
  for (const it of items) {
    const img = await decodeImage(readFileSync(it.path), { name: it.path });
    out.push({ input: preprocess(img, 'cifar'), label: it.label });
  }
  return out;
}

function logitStats(got, want) {
  let dot = 0, ng = 0, nw = 0, maxDiff = 0, maxRef = 0;
  for (let i = 0; i < want.length; i++) {
    dot += got[i] * want[i];
    ng += got[i] * got[i];
    nw += want[i] * want[i];
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    maxRef = Math.max(maxRef, Math.abs(want[i]));
  }
  return { cosine: dot / Math.sqrt(ng * nw), rel: maxDiff / maxRef };
}

const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

/**
 * Top-1 of float32, fp16 and int8 weights of one model on the same images, same batches.
 * weights: the float32 checkpoint's bytes. Returns { model, count, bytes, float32, fp16, int8 }.
 */
export async function compareDTypes(model, weights, images, { backend = 'wasm', batch = 100 } = {}) {
  const base = await createModel(model, { weights, backend });
  const files = { float32: writeSafetensors(base.weights) };
  for (const d of ['fp16', 'int8']) {
    const n = narrowWeights(base.weights, d);
    files[d] = writeSafetensors(n.tensors, n.metadata, { dtypes: n.dtypes });
  }
  const models = { float32: base };
  for (const d of ['fp16', 'int8']) models[d] = await createModel(model, { weights: files[d], backend });
  for (const m of Object.values(models)) await m.settle();
  const acc = Object.fromEntries(Object.keys(models).map((d) => [d, { correct: 0, agree: 0, minCosine: 1, maxRel: 0 }]));
  for (let i = 0; i < images.length; i += batch) {
    const chunk = images.slice(i, i + batch);
    const x = stackBatch(chunk.map((c) => c.input));
    const out = {};
    for (const [d, m] of Object.entries(models)) out[d] = (await m.forward(x)).data;
    const width = out.float32.length / chunk.length;
    chunk.forEach((c, r) => {
      const ref = out.float32.subarray(r * width, (r + 1) * width);
      const refTop = argmax(ref);
      for (const d of Object.keys(models)) {
        const got = out[d].subarray(r * width, (r + 1) * width);
        const top = argmax(got);
        const a = acc[d];
        if (top === c.label) a.correct++;
        if (top === refTop) a.agree++;
        const s = logitStats(got, ref);
        a.minCosine = Math.min(a.minCosine, s.cosine);
        a.maxRel = Math.max(a.maxRel, s.rel);
      }
    });
  }
  for (const m of Object.values(models)) m.dispose();
  const count = images.length;
  const result = { model, backend, count, bytes: Object.fromEntries(Object.entries(files).map(([d, f]) => [d, f.length])) };
  const top1 = acc.float32.correct / count;
  for (const [d, a] of Object.entries(acc)) {
    result[d] = { top1: a.correct / count, deltaPoints: 100 * (a.correct / count - top1), agreement: a.agree / count, minCosine: a.minCosine, maxRel: a.maxRel };
  }
  return result;
}

function markdown(results, meta) {
  const lines = [`# Lean weights: CIFAR-10 test set (${meta.date}, backend ${meta.backend}, node ${process.version})`, ''];
  lines.push('| model | images | dtype | file bytes | top-1 % | vs float32 (points) | top-1 agreement | min cosine | max rel |');
  lines.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    for (const d of ['float32', 'fp16', 'int8']) {
      const s = r[d];
      lines.push(`| ${r.model} | ${r.count} | ${d} | ${r.bytes[d]} | ${(100 * s.top1).toFixed(2)} | ${s.deltaPoints >= 0 ? '+' : ''}${s.deltaPoints.toFixed(2)} | ${(100 * s.agreement).toFixed(2)}% | ${s.minCosine.toFixed(6)} | ${s.maxRel.toExponential(2)} |`);
    }
  }
  if (meta.missing.length) lines.push('', `Not measured (no checkpoint here): ${meta.missing.join(', ')}.`);
  return lines.join('\n') + '\n';
}

async function main(argv) {
  const { values } = parseArgs({ args: argv, options: { limit: { type: 'string' }, backend: { type: 'string' }, batch: { type: 'string' }, out: { type: 'string' } } });
  const limit = values.limit ? Number(values.limit) : Infinity;
  const backend = values.backend ?? 'wasm';
  const images = await loadCifar(CIFAR_DIR, limit);
  const results = [];
  const missing = [];
  for (const [model, path] of Object.entries(CIFAR_WEIGHTS)) {
    if (!existsSync(path)) {
      missing.push(`${model} (${path})`);
      continue;
    }
    const r = await compareDTypes(model, readFileSync(path), images, { backend, batch: Number(values.batch ?? 100) });
    console.log(JSON.stringify(r));
    results.push(r);
  }
  const out = values.out ?? fileURLToPath(new URL('./results', import.meta.url));
  mkdirSync(out, { recursive: true });
  const date = new Date().toISOString();
  const stamp = date.slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  const meta = { date, backend, missing };
  for (const name of [`lean-${stamp}`, 'lean-latest']) {
    writeFileSync(join(out, `${name}.json`), JSON.stringify({ ...meta, results }, null, 2) + '\n');
    writeFileSync(join(out, `${name}.md`), markdown(results, meta));
  }
  process.stdout.write(markdown(results, meta));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
