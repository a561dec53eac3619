#!/usr/bin/env node
/**
 * Adds an input to the regression corpus: `node fuzz/add-regression.mjs <target> <file>
 * [--source "where it came from"] [--fixed-by "who fixes it"]`.
 *
 * Copies the file to fuzz/corpus/regression/<target>/<its name>, replays it through the
 * plain reader (fuzz/replay.mjs) and records it in manifest.json with what it did: `status` is
 * `passes` when it meets the bar today, else `fails-until-fixed` with the failure, so that the
 * lead sees which entries wait for a fix (test/fuzz-regression.test.ts replays every entry).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, TARGET_NAMES } from './run.mjs';
import { replay, verdict } from './replay.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = join(ROOT, 'fuzz/corpus/regression');

const [target, file, ...rest] = process.argv.slice(2);
const flag = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
if (!TARGET_NAMES.includes(target) || !file || !existsSync(file)) {
  console.error(`resnet fuzz: error: usage: node fuzz/add-regression.mjs <${TARGET_NAMES.join('|')}> <existing file> [--source text] [--fixed-by text]`);
  process.exit(2);
}
const bytes = readFileSync(file);
// The file's own name (crash-<sha1> for a libFuzzer finding); a different file of the same name gets its hash appended.
let name = `${target}/${basename(file)}`;
if (existsSync(join(DIR, name)) && !readFileSync(join(DIR, name)).equals(bytes)) {
  name = `${target}/${basename(file)}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
}
mkdirSync(join(DIR, target), { recursive: true });
copyFileSync(file, join(DIR, name));
await bundle();
const r = await replay(target, join(DIR, name));
const why = verdict(r);
const manifestPath = join(DIR, 'manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const entry = {
  file: name,
  target,
  bytes: bytes.length,
  added: new Date().toISOString().slice(0, 10),
  source: flag('--source') ?? `fuzzing (${file})`,
  status: why ? 'fails-until-fixed' : 'passes',
  ...(why ? { failure: why.split('\n')[0].slice(0, 300), fixedBy: flag('--fixed-by') ?? 'unassigned' } : {}),
  outcome: r.kind === 'refused' ? r.error.slice(0, 200) : r.kind,
};
manifest.entries = [...manifest.entries.filter((e) => e.file !== name), entry].sort((a, b) => a.file.localeCompare(b.file));
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`${name}: ${entry.status}${why ? ` (${why.slice(0, 200)})` : ''}`);
