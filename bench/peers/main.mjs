#!/usr/bin/env node
/**
 * Times the peers on one zoo model with seeded weights, from the built library (dist/):
 *
 *   npm run build:ts && node bench/peers/main.mjs resnet50 --size 224 --batch 1 --runs 5 --warmup 1
 *
 * Options: --peers onnxruntime-web,tfjs-wasm,onnxruntime-node (default: all), --seed N,
 * --check (also runs our reference backend once and prints each peer's max relative error on
 * every output; slow for big models), --json (one JSON line instead of the table).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { benchInput, createPeer, PEERS, runPeers } from './index.mjs';

const dist = new URL('../../dist/index.js', import.meta.url);
if (!existsSync(dist)) {
  console.error(`bench/peers: ${dist.pathname} not found; run \`npm run build:ts\` first`);
  process.exit(1);
}
const { createModel } = await import(dist.href);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    size: { type: 'string', default: '224' },
    batch: { type: 'string', default: '1' },
    runs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    seed: { type: 'string', default: '0' },
    peers: { type: 'string', default: PEERS.join(',') },
    check: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const name = positionals[0] ?? 'resnet50';
const size = Number(values.size);
const inputShape = [Number(values.batch), 3, size, size];
const peers = values.peers.split(',');

const model = await createModel(name, { seed: Number(values.seed), backend: 'reference' });
const input = benchInput(inputShape);
const results = await runPeers({ graph: model.graph, weights: model.weights, inputShape, runs: Number(values.runs), warmup: Number(values.warmup), peers, input });

if (values.check) {
  const want = await model.forwardAll(input);
  for (const r of results) {
    if (r.medianMs === null) continue;
    const peer = await createPeer(r.peer, model.graph, model.weights, inputShape);
    const got = await peer.run(input);
    await peer.dispose();
    const errs = Object.keys(want).map((k) => {
      let diff = 0;
      let mag = 0;
      for (let i = 0; i < want[k].data.length; i++) {
        diff = Math.max(diff, Math.abs(got[k].data[i] - want[k].data[i]));
        mag = Math.max(mag, Math.abs(want[k].data[i]));
      }
      return `${k} ${(diff / mag).toExponential(2)}`;
    });
    r.maxRelErrVsReference = errs.join(', ');
  }
}

if (values.json) {
  console.log(JSON.stringify({ model: name, inputShape, results }));
} else {
  console.log(`${name} [${inputShape.join(', ')}], seeded weights ${values.seed}`);
  console.table(
    results.map((r) => ({
      peer: r.peer,
      'median ms': r.medianMs?.toFixed(1) ?? '-',
      'p90 ms': r.p90Ms?.toFixed(1) ?? '-',
      'min ms': r.minMs?.toFixed(1) ?? '-',
      'images/s': r.imagesPerSecond?.toFixed(2) ?? '-',
      ...(values.check ? { 'rel err vs reference': r.maxRelErrVsReference ?? '-' } : {}),
    })),
  );
  for (const r of results) console.log(`  ${r.peer}: ${r.note}`);
}
