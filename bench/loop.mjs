#!/usr/bin/env node
/**
 * A loop of forwards from a fresh process, as an app without settle() runs them: import ->
 * createModel -> `--forwards` awaited forwards, each timed, in a fresh `node` per round and build.
 * What it shows: when the workers are taken (the forwards' times fall once they run on threads)
 * and when the lazy final weights are made (the forwards after the first one pay for them).
 *
 *   npm run build && node bench/loop.mjs [--models resnet18,resnet50] [--forwards 8] [--rounds 3]
 *                                        [--dist dist,other-dist] [--entry node|core]
 *
 * Each dist (a built dist/, e.g. a copy of an earlier build, with a package.json that says
 * "type": "module") runs once per round, alternating order. Prints ms per forward and the total
 * from import to the last forward's logits; writes nothing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = fileURLToPath(new URL('.', import.meta.url));

if (process.argv[2] === '--child') {
  const [, , , entry, model, forwards] = process.argv;
  const { createModel } = await import(pathToFileURL(entry).href);
  const t0 = performance.now();
  const m = await createModel(model, { seed: 0, backend: 'wasm' });
  const size = m.config.defaultInputSize;
  const x = { data: new Float32Array(3 * size * size).map((_, i) => Math.sin(i)), shape: [1, 3, size, size] };
  const ms = [];
  for (let i = 0; i < Number(forwards); i++) {
    const t = performance.now();
    await m.forward(x);
    ms.push(performance.now() - t);
  }
  console.log(JSON.stringify({ ms, totalMs: performance.now() - t0, threads: m.threads }));
  m.dispose();
} else {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: 'resnet18,resnet50' },
      forwards: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      dist: { type: 'string', default: join(here, '../dist') },
      entry: { type: 'string', default: 'node' },
    },
  });
  if (!['core', 'node'].includes(values.entry)) throw new Error(`bench/loop: --entry must be core or node, got ${values.entry}`);
  const dists = values.dist.split(',').filter(Boolean);
  for (const model of values.models.split(',').filter(Boolean)) {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const dist of round % 2 ? [...dists].reverse() : dists) {
        const entry = join(dist, values.entry === 'node' ? 'index.node.js' : 'index.js');
        readFileSync(entry); // a clear error when the build is missing
        const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', entry, model, values.forwards], { encoding: 'utf8' });
        if (run.status !== 0) throw new Error(`bench/loop: ${model} with ${dist} failed:\n${run.stderr}`);
        const r = JSON.parse(run.stdout.trim().split('\n').at(-1));
        console.log(`${model} round ${round + 1} ${dist}: forwards ${r.ms.map((t) => t.toFixed(0)).join(' ')} ms; import to last logits ${r.totalMs.toFixed(0)} ms; ${r.threads} threads at the end`);
      }
    }
  }
}
