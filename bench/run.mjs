#!/usr/bin/env node
/**
 * The benchmarks: `npm run bench` (or `node bench/run.mjs [options]`; add
 * `--experimental-wasm-relaxed-simd` before the script on Node 20 to measure the relaxed build).
 * Runs straight from the TypeScript sources (the hooks of ts-hooks.mjs strip types on import).
 *
 *   --suites layers,models,peers   which suites (default: all three)
 *   --models resnet18,resnet50,resnext50_32x4d     --batches 1,8     --size 224
 *   --runs 10 --warmup 2           timed and untimed iterations per model (ours and each peer)
 *   --layer-time 300               ms of samples per conv shape
 *   --relaxed / --no-relaxed       force the kernel build (default: relaxed when it validates)
 *   --quick                        a short smoke run: batch 1, 3 runs, 100 ms per layer
 *   --out bench/results            where wasm-<stamp>.json/.md and wasm-latest.json/.md go
 */
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
const { main } = await import('./main.mjs');
await main(process.argv.slice(2));
