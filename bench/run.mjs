#!/usr/bin/env node
/**
 * The benchmarks: `npm run bench` (or `node bench/run.mjs [options]`). Both kernel builds run side
 * by side with the peers; on Node 20 the bench enables relaxed SIMD for itself with V8's flag.
 * Runs straight from the TypeScript sources (the hooks of ts-hooks.mjs strip types on import).
 *
 *   --suites layers,profile,models,peers   which suites (default: all four)
 *   --models resnet18,resnet50,resnext50_32x4d     --batches 1,8     --size 224
 *   --runs 10 --warmup 2           timed and untimed iterations per model (ours and each peer)
 *   --layer-time 300               ms of samples per conv shape
 *   --builds simd,relaxed          which of our kernel builds to measure (default both)
 *   --quick                        a short smoke run: batch 1, 3 runs, 100 ms per layer
 *   --out bench/results            where wasm-<stamp>.json/.md and wasm-latest.json/.md go
 */
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
const { main } = await import('./main.mjs');
await main(process.argv.slice(2));
