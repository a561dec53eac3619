/**
 * One convention across every `resnet` command (issue 15, items 4, 7, 8): exit codes 0 ok,
 * 1 runtime failure, 2 usage; `--json` prints one JSON object; usage errors name the command's
 * usage and come before any weights load; `--version`, `help <command>` and "did you mean".
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGENET_SYNSETS } from '../src/labels.js';
import { writeNpy } from '../src/npy.js';
import { Tensor } from '../src/tensor.js';
import { expandImageArgs } from '../src/cli/images.js';
import { softwareAdapterWarning } from '../src/cli/options.js';
import { Progress } from '../src/cli/progress.js';
import { ROOT, resnet } from './helpers/cli.js';
import { sharedAvailable, sharedPath } from './helpers/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'resnet-cliconv-'));
const CAT = join(ROOT, 'examples/cifar10/cat-0000.jpg');
const SHIP = join(ROOT, 'examples/cifar10/ship-0000.jpg');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

/** A status line that only a model load prints: usage errors must come before it. */
const LOADED = /^(model|backend|weights):/m;

/** Every command, with a minimal successful --json invocation. */
const EVAL_DIR = join(tmp, 'eval-cifar');
for (const [name, src] of [['cat', CAT], ['ship', SHIP]]) {
  mkdirSync(join(EVAL_DIR, name), { recursive: true });
  copyFileSync(src, join(EVAL_DIR, name, 'img.jpg'));
}
const JSON_RUNS: Record<string, string[]> = {
  classify: ['classify', CAT, '--json'],
  eval: ['eval', '--data', EVAL_DIR, '--json'],
  run: ['run', '--model', 'resnet20', '--input', '', '--output', '', '--json'],
  models: ['models', '--json'],
  summary: ['summary', 'resnet20', '--json'],
  convert: ['convert', join(ROOT, 'assets/weights/cifar10-resnet20-akamaster/resnet20-12fca82f.th'), join(tmp, 'c.safetensors'), '--json'],
  bench: ['bench', '--model', 'resnet20', '--runs', '1', '--warmup', '0', '--json'],
};

describe('exit codes and usage errors, every command', () => {
  it('an unknown option is exit 2 with our message naming the option and the command usage, not parseArgs text', () => {
    for (const cmd of Object.keys(JSON_RUNS)) {
      const r = resnet([cmd, '--bogus-flag']);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toMatch(new RegExp(`resnet ${cmd}: unknown option '--bogus-flag'`));
      expect(r.stderr, cmd).toMatch(new RegExp(`usage: resnet ${cmd}`));
      expect(r.stderr, cmd).not.toMatch(/To specify a positional argument|ERR_PARSE_ARGS/);
    }
  });
  it('summary --model resnet50 says the model is the first argument', () => {
    const r = resnet(['summary', '--model', 'resnet50']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/resnet summary: unknown option '--model'; the model is the first argument: resnet summary resnet50/);
  });
  it('a flag without its value is a usage error', () => {
    const r = resnet(['classify', '--top']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/resnet classify: option '--top <value>' needs a value/);
  });
  it('an unknown model is a usage error (2) in every command that takes one, with a suggestion', () => {
    for (const args of [['summary', 'resnet5O'], ['classify', CAT, '--model', 'resnet5O'], ['eval', '--data', EVAL_DIR, '--model', 'resnet5O'], ['bench', '--model', 'resnet5O']]) {
      const r = resnet(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/unknown model 'resnet5O'; did you mean 'resnet50'/);
    }
  });
  it('--top 0, a bad preset and a missing image fail before the model loads (exit 2)', () => {
    for (const args of [
      ['classify', CAT, '--top', '0'],
      ['classify', CAT, '--preset', 'nope'],
      ['classify', join(tmp, 'missing.jpg')],
      ['eval', '--data', EVAL_DIR, '--preset', 'nope'],
      ['eval', '--data', join(tmp, 'no-such-folder')],
    ]) {
      const r = resnet(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toMatch(LOADED);
    }
    expect(resnet(['classify', join(tmp, 'missing.jpg')]).stderr).toMatch(/image '.*missing\.jpg' does not exist/);
    const x = join(tmp, 'early.npy');
    writeFileSync(x, writeNpy(new Tensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32])));
    for (const [args, message] of [
      [['classify', CAT, '--model', 'resnet20', '--weights', join(tmp, 'missing.th')], /weights file '.*missing\.th' does not exist/],
      [['run', '--model', 'resnet20', '--input', join(tmp, 'missing.npy'), '--output', join(tmp, 'o.npy')], /input file '.*missing\.npy' does not exist/],
      [['run', '--model', 'resnet20', '--input', x, '--output', join(tmp, 'no-dir/o.npy')], /folder '.*no-dir' does not exist/],
      [['convert', join(tmp, 'missing.th'), join(tmp, 'o.safetensors')], /checkpoint '.*missing\.th' does not exist/],
      [['bench', '--model', 'resnet20', '--input-size', '0x3'], /--input-size must be positive/],
    ] as const) {
      const r = resnet([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr, args.join(' ')).not.toMatch(/timed runs|^(model|backend|weights):/m);
    }
  });
  it('run --output must be .npy: y.csv is refused before anything runs, and nothing is written', () => {
    const x = join(tmp, 'x.npy');
    writeFileSync(x, writeNpy(new Tensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32])));
    const r = resnet(['run', '--model', 'resnet20', '--input', x, '--output', join(tmp, 'y.csv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--output must end in \.npy \(a float32 \.npy is written\), got '.*y\.csv'/);
    expect(existsSync(join(tmp, 'y.csv'))).toBe(false);
  });
  it('a mistyped command gets "did you mean", exit 2', () => {
    const r = resnet(['clasify']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'clasify'; did you mean 'classify'\?/);
  });
  it('--version prints the package version; help <command> prints that command\'s help', () => {
    for (const v of ['--version', '-V']) {
      const r = resnet([v]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`resnet-ts ${VERSION}`);
    }
    for (const cmd of Object.keys(JSON_RUNS)) {
      const r = resnet(['help', cmd]);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(new RegExp(`^usage: resnet ${cmd}`));
    }
    const bad = resnet(['help', 'sumary']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/did you mean 'summary'/);
  });
});

describe('--json is one JSON object, every command', () => {
  it('each command prints exactly one line holding one object', () => {
    const x = join(tmp, 'j.npy');
    writeFileSync(x, writeNpy(new Tensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32])));
    const runArgs = JSON_RUNS.run.slice();
    runArgs[4] = x;
    runArgs[6] = join(tmp, 'j-out.npy');
    for (const [cmd, args] of Object.entries({ ...JSON_RUNS, run: runArgs })) {
      if (cmd === 'convert' && !existsSync(args[1])) continue;
      const r = resnet(args);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.length, cmd).toBe(1);
      const v = JSON.parse(lines[0]);
      expect(typeof v === 'object' && v !== null && !Array.isArray(v), cmd).toBe(true);
    }
  });
  it('classify --json is { results, failures }; models --json is { models }', () => {
    const c = JSON.parse(resnet(['classify', CAT, '--json']).stdout);
    expect(c.results[0]).toMatchObject({ image: CAT, top: expect.any(Array) });
    expect(c.results[0].top[0]).toMatchObject({ label: 'cat', index: 3 });
    expect(c.failures).toEqual([]);
    const m = JSON.parse(resnet(['models', '--json']).stdout);
    expect(m.models.length).toBeGreaterThan(60);
  });
});

describe('classify on many files', () => {
  const dir = join(tmp, 'many');
  mkdirSync(join(dir, 'sub/deeper'), { recursive: true });
  copyFileSync(CAT, join(dir, 'a-cat.jpg'));
  copyFileSync(SHIP, join(dir, 'sub/deeper/b-ship.JPG'));
  writeFileSync(join(dir, 'sub/broken.jpg'), 'this is not a JPEG');
  writeFileSync(join(dir, 'notes.txt'), 'not an image, skipped by extension');

  it('expands folders recursively by image extension, and simple * / ? globs', () => {
    expect(expandImageArgs([dir])).toEqual([join(dir, 'a-cat.jpg'), join(dir, 'sub/broken.jpg'), join(dir, 'sub/deeper/b-ship.JPG')]);
    expect(expandImageArgs([join(dir, 'sub/*/?-ship.*')])).toEqual([join(dir, 'sub/deeper/b-ship.JPG')]);
    expect(expandImageArgs([join(dir, '*.jpg')])).toEqual([join(dir, 'a-cat.jpg')]);
    expect(() => expandImageArgs([join(dir, '*.png')])).toThrow(/matches no file/);
  });
  it('one broken file does not abort: the good ones print, the failure is reported at the end, exit 1', () => {
    const r = resnet(['classify', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/a-cat\.jpg\n\s+\d+\.\d\d%  cat \(3\)/);
    expect(r.stdout).toMatch(/b-ship\.JPG\n\s+\d+\.\d\d%  ship \(8\)/);
    expect(r.stderr).toMatch(/1 of 3 images failed:\n\s+.*broken\.jpg: .+/);
    const j = JSON.parse(resnet(['classify', dir, '--json']).stdout);
    expect(j.results.map((x: { image: string }) => x.image)).toEqual([join(dir, 'a-cat.jpg'), join(dir, 'sub/deeper/b-ship.JPG')]);
    expect(j.failures).toEqual([{ image: join(dir, 'sub/broken.jpg'), error: expect.any(String) }]);
  });
  it('--jsonl streams one JSON object per image, failures included, in order', () => {
    const r = resnet(['classify', dir, '--jsonl']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.image, 'error' in l])).toEqual([
      [join(dir, 'a-cat.jpg'), false],
      [join(dir, 'sub/broken.jpg'), true],
      [join(dir, 'sub/deeper/b-ship.JPG'), false],
    ]);
  });
  it('no progress bar when stderr is not a terminal', () => {
    const r = resnet(['classify', dir]);
    expect(r.stderr).not.toMatch(/img\/s|ETA/);
  });
  it('on a terminal the bar redraws in place and clears before a result line', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (t: string) => written.push(t) } as unknown as NodeJS.WriteStream;
    const p = new Progress(2, 'img', tty);
    p.update(1);
    p.clear();
    p.update(2);
    expect(written[0]).toMatch(/^\r\[#{15}\.{15}\] 1\/2 img 50%/);
    expect(written[1]).toBe('\r\x1b[K');
    expect(written.slice(2).join('')).toMatch(/^\r\[#{30}\] 2\/2 img 100%.*\n$/);
  });
});

describe('eval maps class folders by name', () => {
  function folders(root: string, names: string[]): string {
    for (const [i, n] of names.entries()) {
      mkdirSync(join(root, n), { recursive: true });
      copyFileSync([CAT, SHIP][i % 2], join(root, n, 'img.jpg'));
    }
    return root;
  }
  it('CIFAR-10 class names map through CIFAR10_LABELS, whatever subset is present', () => {
    const root = folders(join(tmp, 'cifar-subset'), ['cat', 'ship']);
    const r = resnet(['eval', '--data', root, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e.perClass.map((p: { class: string; index: number }) => [p.class, p.index])).toEqual([['cat', 3], ['ship', 8]]);
    expect(e.top1).toBe(1);
  });
  it('WordNet synset folders map through IMAGENET_SYNSETS (n02123045 is 281, not sorted position 0)', () => {
    const root = folders(join(tmp, 'imagenet-subset'), ['n02123045', 'n01440764']);
    const r = resnet(['eval', '--data', root, '--model', 'resnet18', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(IMAGENET_SYNSETS[281]).toBe('n02123045');
    expect(e.perClass.map((p: { class: string; index: number; label: string }) => [p.class, p.index, p.label])).toEqual([['n01440764', 0, 'tench'], ['n02123045', 281, 'tabby']]);
  });
  it('a real ImageNet validation image in its synset folder is scored against class 332 (Angora)', () => {
    if (!sharedAvailable('data/imagenet/ILSVRC2012_val_00000010.jpeg')) return;
    const root = join(tmp, 'imagenet-real');
    mkdirSync(join(root, 'n02328150'), { recursive: true });
    copyFileSync(sharedPath('data/imagenet/ILSVRC2012_val_00000010.jpeg'), join(root, 'n02328150/ILSVRC2012_val_00000010.jpeg'));
    const r = resnet(['eval', '--data', root, '--model', 'resnet18', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).perClass).toEqual([expect.objectContaining({ class: 'n02328150', index: 332, label: 'Angora', count: 1 })]);
  });
  it('folders that map to nothing the model knows are refused, saying what was expected', () => {
    const root = folders(join(tmp, 'unknown-classes'), ['apples', 'pears']);
    let r = resnet(['eval', '--data', root, '--model', 'resnet18']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/resnet18 has 1000 classes.*WordNet synsets.*n01440764.*found 2 folders: apples, pears/s);
    expect(r.stderr).not.toMatch(LOADED);
    r = resnet(['eval', '--data', folders(join(tmp, 'synsets-on-cifar'), ['n02123045']), '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/resnet20 has 10 classes.*CIFAR-10 class names.*found 1 folder: n02123045/s);
  });
});

describe('webgpu on a software adapter', () => {
  it('warns that it runs on the CPU and is slower than wasm', () => {
    const soft = softwareAdapterWarning({ name: 'webgpu', adapter: 'Google / swiftshader', convKernel: 'registers' });
    expect(soft).toMatch(/warning: the WebGPU adapter 'Google \/ swiftshader' is a software \(CPU\) adapter: .*slower than --backend wasm/);
    expect(softwareAdapterWarning({ name: 'webgpu', adapter: 'nvidia / hopper', convKernel: 'tiled' })).toBeUndefined();
    expect(softwareAdapterWarning({ name: 'wasm' })).toBeUndefined();
  });
  it("classify --backend webgpu on a machine without Vulkan drivers: the warning, and none of the Vulkan loader's noise", () => {
    const env = { ...process.env };
    delete env.VK_ICD_FILENAMES;
    delete env.VK_DRIVER_FILES;
    const r = resnet(['classify', CAT, '--backend', 'webgpu', '--top', '1'], { env });
    if (r.code !== 0 && /no adapter|not installed/.test(r.stderr) && !process.env.CI) {
      console.log(`skipped: no WebGPU adapter here (${r.stderr.trim().split('\n').at(-1)})`);
      return;
    }
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/software \(CPU\) adapter/);
    expect(r.stderr).not.toMatch(/vkCreateInstance|VK_ERROR/);
  });
});

const DEFAULT_TH = join(ROOT, 'assets/weights/cifar10-resnet20-akamaster/resnet20-12fca82f.th');

describe('--non-strict and summary --depth', () => {
  it('--non-strict binds what matches and prints the warning with what was seeded', () => {
    // resnet20's checkpoint on resnet32: the blocks resnet20 lacks (layer1.3, ...) are missing, seeded, and said so.
    const r = resnet(['classify', CAT, '--model', 'resnet32', '--weights', DEFAULT_TH, '--non-strict', '--top', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: resnet32: bound \d+ of \d+ weights; \d+ seeded \(not from the checkpoint\)/);
    expect(r.stderr).toMatch(/missing key\(s\), seeded:\n.*layer1\.3\.conv1\.weight/s);
    const strict = resnet(['classify', CAT, '--model', 'resnet32', '--weights', DEFAULT_TH, '--top', '1']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/missing key/);
  });

  it('summary --depth 1 folds each stage into one row; a bad depth is a usage error', () => {
    const r = resnet(['summary', 'resnet20', '--depth', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^layer1\s+Group \(\d+ layers\)/m);
    expect(r.stdout).not.toMatch(/^layer1\.0/m);
    const json = JSON.parse(resnet(['summary', 'resnet20', '--depth', '1', '--json']).stdout);
    expect(json.rows.map((row: { name: string }) => row.name)).toEqual(['conv1', 'bn1', 'relu', 'layer1', 'layer2', 'layer3', 'avgpool', 'linear']);
    expect(resnet(['summary', 'resnet20', '--depth', '0']).code).toBe(2);
  });
});

describe('classify --input-size', () => {
  it("runs the network at the given side (the resize keeps the preset's ratio); a preset without resizing refuses another size", () => {
    const r = resnet(['classify', CAT, '--model', 'resnet18', '--input-size', '64', '--top', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0].top).toHaveLength(2);
    const cifar = resnet(['classify', CAT, '--input-size', '40', '--json']);
    expect(cifar.code).toBe(1);
    expect(JSON.parse(cifar.stdout).failures[0].error).toMatch(/takes 32x32 images as they are/);
    expect(resnet(['classify', CAT, '--input-size', '0']).code).toBe(2);
  });
});
