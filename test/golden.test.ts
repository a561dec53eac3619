/**
 * Whole-model golden test: `resnet run --backend reference` against an independent float64 numpy
 * implementation (test/golden/numpy_resnet.py, written from the libraries' semantics, sharing no
 * code with src/). Each case draws seeded random weights in the library's own key names and file
 * format (safetensors for torchvision/timm/akamaster, a paddle.save pickle for PaddleClas) at an
 * odd input size, so what is checked is the network structure: stride placement per variant, deep
 * stems, avg-pool shortcuts with ceil_mode on odd sizes, Paddle's stage-1 projection, option-A
 * shortcuts, grouped widths and key names.
 *
 * Tolerance: max |ours - theirs| <= 2e-4 * max |theirs| (issue 3).
 * Sizes 33 / 65 / 97 (= 32k + 1) make every stage input odd (e.g. 97 -> 49 -> 25 -> 13 -> 7), so
 * every downsampling avg-pool takes its ceil_mode overhang; 33x65 and 65x33 catch H/W mix-ups.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../src/npy.js';
import { resnet, ROOT } from './helpers/cli.js';

const SCRIPT = join(ROOT, 'test', 'golden', 'numpy_resnet.py');
const TOLERANCE = 2e-4;
const NUM_CLASSES = 10;

interface Case {
  model: string;
  batch: number;
  size: string; // S or HxW
  what: string;
}

// Reference-backend cost is ~6 s per GMAC here: keep the sum small (see README.md for the figures).
const CASES: Case[] = [
  { model: 'resnet18', batch: 1, size: '97', what: 'torchvision basic blocks, 7x7 stem' },
  { model: 'resnet50', batch: 2, size: '33x65', what: 'torchvision v1.5: stride on the 3x3, non-square input' },
  { model: 'resnext50_32x4d', batch: 2, size: '33', what: 'torchvision ResNeXt: 32 groups, width 128..1024' },
  { model: 'wide_resnet50_2', batch: 1, size: '33', what: 'torchvision Wide: base width 128' },
  { model: 'resnet50_va', batch: 2, size: '33', what: 'va: stride on the first 1x1, torch keys' },
  { model: 'resnet50c', batch: 2, size: '33', what: 'timm c: deep stem conv1.0/1/3/4/6, 1x1 strided downsample.0/1' },
  { model: 'resnet50d', batch: 2, size: '65x33', what: 'timm d: deep stem, downsample.1/2 after a ceil-mode avg-pool' },
  { model: 'resnet18d', batch: 1, size: '97', what: 'timm d basic blocks: no stage-1 downsample' },
  { model: 'resnet26d', batch: 1, size: '65', what: 'timm d [2,2,2,2] bottleneck: stage-1 downsample without a pool' },
  { model: 'resnet50s', batch: 2, size: '33', what: 'timm s: deep stem 64-64-128, stage 1 from 128 channels' },
  { model: 'ResNet18', batch: 1, size: '97', what: 'PaddleClas: stage-1 projection blocks.0.short, fc [in,out]' },
  { model: 'ResNet50_vd', batch: 2, size: '33', what: "PaddleClas vd: AvgPool2D 'SAME' ceil_mode before short" },
  { model: 'ResNeXt50_vd_32x4d', batch: 2, size: '33', what: 'PaddleClas model_zoo: conv1_1.._conv, bb_s_i, out [in,out]' },
  { model: 'resnet20', batch: 3, size: '33', what: "akamaster: option-A shortcuts, 'module.' keys, linear" },
  { model: 'resnet56', batch: 1, size: '45', what: 'akamaster: 27 blocks' },
];

/** python3 with numpy, or the reason it is unusable. */
function pythonProblem(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import numpy, sys; print(numpy.__version__, sys.version.split()[0])'], { encoding: 'utf8' });
  if (r.error) return `python3 could not be started (${r.error.message})`;
  if (r.status !== 0) return `python3 cannot import numpy (${r.stderr.trim().split('\n').at(-1)})`;
  return undefined;
}

const problem = pythonProblem();
const tmp = mkdtempSync(join(tmpdir(), 'resnet-golden-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * Writes the numpy case for `c.model` into dir, runs our CLI as `ourModel` on the same files and
 * returns max |ours - theirs| / max |theirs|.
 */
function measure(c: Case, dir: string, ourModel = c.model): number {
  const py = spawnSync(
    'python3',
    [SCRIPT, '--model', c.model, '--batch', String(c.batch), '--size', c.size, '--seed', '1', '--num-classes', String(NUM_CLASSES), '--out', dir],
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(py.status, `numpy_resnet.py failed:\n${py.stderr}`).toBe(0);
  const weights = readdirSync(dir).find((f) => f.startsWith('weights.'));
  expect(weights, `no weights file in ${dir}`).toBeDefined();

  const ours = join(dir, 'ours.npy');
  const r = resnet(['run', '--model', ourModel, '--weights', join(dir, weights!), '--input', join(dir, 'input.npy'), '--output', ours, '--backend', 'reference', '--num-classes', String(NUM_CLASSES)]);
  expect(r.code, `resnet run failed:\n${r.stderr}`).toBe(0);

  const theirs = readNpy(readFileSync(join(dir, 'logits.npy')), 'numpy logits');
  const got = readNpy(readFileSync(ours), 'our logits');
  expect(got.shape).toEqual([c.batch, NUM_CLASSES]);
  expect(got.shape).toEqual(theirs.shape);
  let maxDiff = 0;
  for (let i = 0; i < got.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - theirs.data[i]));
  const scale = maxAbs(theirs.data);
  expect(Number.isFinite(scale) && scale > 0, `numpy logits are degenerate (max |x| = ${scale})`).toBe(true);
  const ratio = maxDiff / scale;
  console.log(`golden ${c.model}${ourModel === c.model ? '' : ` run as ${ourModel}`} [${c.batch},3,${c.size}]: max|ours-theirs| = ${maxDiff.toExponential(3)}, max|theirs| = ${scale.toFixed(4)}, ratio ${ratio.toExponential(3)}`);
  expect(Number.isNaN(ratio), 'NaN in our logits').toBe(false);
  return ratio;
}

/** Skips (with a reason) or fails (under CI) when python3 + numpy is missing; else runs `body` in a fresh dir. */
function withPython(name: string, body: (dir: string) => void): void {
  if (problem) {
    if (process.env.CI) throw new Error(`python3 + numpy needed: ${problem}`);
    console.warn(`${name}: skipped, ${problem}`);
    return;
  }
  const dir = join(tmp, name);
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true }); // wide_resnet50_2's weights alone are 270 MB
  }
}

describe('whole models on the reference backend match an independent numpy forward', () => {
  for (const c of CASES) {
    it(`${c.model} batch ${c.batch} ${c.size}: ${c.what}`, () => {
      withPython(c.model, (dir) => {
        expect(measure(c, dir), `${c.model}: max |ours - theirs| / max |theirs|`).toBeLessThanOrEqual(TOLERANCE);
      });
    });
  }

  // The comparison has power: resnet50 and resnet50_va have identical keys and shapes and differ
  // only in where a bottleneck's stride sits; that alone moves the logits by ~2e-2 of their size.
  it('control: torchvision resnet50 weights run as resnet50_va disagree', () => {
    withPython('control-va', (dir) => {
      expect(measure({ model: 'resnet50', batch: 1, size: '33', what: 'control' }, dir, 'resnet50_va')).toBeGreaterThan(10 * TOLERANCE);
    });
  });
});
