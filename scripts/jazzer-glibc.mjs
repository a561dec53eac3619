#!/usr/bin/env node
/**
 * Makes Jazzer.js 4.0.0's prebuilt libFuzzer addon load on glibc 2.36 (Debian 12), where it fails
 * with `GLIBC_2.38 not found` (then `GLIBCXX_3.4.32 not found`). It does nothing when the addon
 * already loads. The prebuild was linked against glibc 2.38 / GCC 13 and asks for three symbols
 * an older system lacks:
 *
 * - `__isoc23_strtol`, `__isoc23_strtoul` (GLIBC_2.38): C23 strtol/strtoul, which differ from the
 *   C99 ones only in accepting a `0b` prefix. They are renamed to `strtol`/`strtoul` and given the
 *   version GLIBC_2.2.5 that the addon's other libc symbols (malloc, ...) use. `.dynstr` already
 *   holds those names as suffixes of the C23 ones, so only `st_name` moves: no string is written,
 *   and undefined symbols are not in `.gnu.hash`.
 * - `_ZSt21ios_base_library_initv` (GLIBCXX_3.4.32): GCC 13's <iostream> makes a `.globl`
 *   reference to it so that the library is linked; nothing calls it. The script checks that no
 *   relocation refers to it (then the dynamic linker never looks it up) and gives it GLIBCXX_3.4.
 *
 * In `.gnu.version_r` the two version needs become `VER_FLG_WEAK`, so their absence is a warning,
 * not a refusal; the script first checks that no other symbol uses them. The original is kept
 * beside the prebuild as `<name>.orig`; the patched copy replaces the prebuild (in node_modules,
 * shared by every checkout that links it); running it again is a no-op. Pure JS, no tools.
 * see: System V gABI (ELF64 Sym, Rela); LSB Core 5.0 sections 10.7.2-10.7.4 (versym, verneed)
 *
 * Usage: node scripts/jazzer-glibc.mjs [--check]   (--check: report only, exit 1 if it does not load)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const SHT_RELA = 4;
const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const VER_FLG_WEAK = 0x2;

/** Symbols to rename: the new name must be a suffix of the old (it reuses the old string's tail). */
const RENAME = [
  { from: '__isoc23_strtol', to: 'strtol', version: 'GLIBC_2.38', newVersion: 'GLIBC_2.2.5', file: 'libc.so.6' },
  { from: '__isoc23_strtoul', to: 'strtoul', version: 'GLIBC_2.38', newVersion: 'GLIBC_2.2.5', file: 'libc.so.6' },
];
/** Symbols referenced by no relocation, only re-versioned so that their version need can be weak. */
const UNUSED = [{ name: '_ZSt21ios_base_library_initv', version: 'GLIBCXX_3.4.32', newVersion: 'GLIBCXX_3.4', file: 'libstdc++.so.6' }];

export function prebuildPath() {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@jazzer.js/fuzzer/package.json');
  return join(dirname(pkg), 'prebuilds', `fuzzer-${process.platform}-${process.arch}.node`);
}

/** Loads the addon in a fresh process; returns '' when it loads, else the loader's error line. */
export function loadError(path) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)})`], { encoding: 'utf8' });
  if (r.status === 0) return '';
  return (r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr.trim()).trim();
}

function cstr(buf, at) {
  let end = at;
  while (buf[end] !== 0) end++;
  return buf.toString('latin1', at, end);
}

/** Returns a patched copy of the ELF bytes and a list of what changed; throws naming any unexpected layout. */
export function patchElf(input) {
  const buf = Buffer.from(input);
  const fail = (what) => {
    throw new Error(`jazzer-glibc: ${what}; the addon was left unchanged`);
  };
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) fail('expected a little-endian ELF64 file');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    sections.push({
      type: buf.readUInt32LE(at + 4),
      offset: Number(buf.readBigUInt64LE(at + 24)),
      size: Number(buf.readBigUInt64LE(at + 32)),
      link: buf.readUInt32LE(at + 40),
      info: buf.readUInt32LE(at + 44),
      entsize: Number(buf.readBigUInt64LE(at + 56)),
    });
  }
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (!dynsym || !versym || !verneed) fail('expected .dynsym, .gnu.version and .gnu.version_r sections');
  const dynstr = sections[dynsym.link];
  const name = (off) => cstr(buf, dynstr.offset + off);

  // Version needs: (file, version name) -> { index, flagsAt }.
  const needs = [];
  let vn = verneed.offset;
  for (let i = 0; i < verneed.info; i++) {
    const file = name(buf.readUInt32LE(vn + 4));
    let aux = vn + buf.readUInt32LE(vn + 8);
    for (let j = 0; j < buf.readUInt16LE(vn + 2); j++) {
      needs.push({ file, version: name(buf.readUInt32LE(aux + 8)), index: buf.readUInt16LE(aux + 6), flagsAt: aux + 4 });
      aux += buf.readUInt32LE(aux + 12);
    }
    vn += buf.readUInt32LE(vn + 12);
  }
  const need = (file, version) => needs.find((n) => n.file === file && n.version === version);

  const count = dynsym.size / 24;
  const symbols = [];
  for (let i = 0; i < count; i++) {
    const at = dynsym.offset + i * 24;
    symbols.push({ index: i, at, name: name(buf.readUInt32LE(at)), versionAt: versym.offset + 2 * i });
  }
  const relocated = new Set();
  for (const s of sections.filter((x) => x.type === SHT_RELA)) {
    if (s.link !== sections.indexOf(dynsym)) continue;
    for (let at = s.offset; at < s.offset + s.size; at += 24) relocated.add(Number(buf.readBigUInt64LE(at + 8) >> 32n));
  }

  const changes = [];
  const weakVersions = new Map(); // version index -> need
  const plan = [
    ...RENAME.map((r) => ({ ...r, name: r.from })),
    ...UNUSED.map((u) => ({ ...u, to: undefined })),
  ];
  for (const p of plan) {
    const sym = symbols.find((s) => s.name === p.name);
    if (!sym) continue; // a different build: nothing to do for this one
    const old = need(p.file, p.version);
    const target = need(p.file, p.newVersion);
    if (!old || !target) fail(`expected version needs ${p.file} ${p.version} and ${p.newVersion}`);
    const index = buf.readUInt16LE(sym.versionAt) & 0x7fff;
    if (index === target.index) continue; // patched already
    if (index !== old.index) fail(`expected ${p.name} to need ${p.version}`);
    if (p.to === undefined && relocated.has(sym.index)) fail(`expected no relocation to refer to ${p.name}`);
    if (p.to !== undefined) {
      if (!p.from.endsWith(p.to)) fail(`${p.to} is not a suffix of ${p.from}`);
      buf.writeUInt32LE(buf.readUInt32LE(sym.at) + (p.from.length - p.to.length), sym.at);
      changes.push(`${p.from}@${p.version} -> ${p.to}@${p.newVersion}`);
    } else {
      changes.push(`${p.name}@${p.version} (no relocation) -> @${p.newVersion}`);
    }
    buf.writeUInt16LE(target.index, sym.versionAt);
    weakVersions.set(old.index, old);
  }
  for (const [index, n] of weakVersions) {
    const users = symbols.filter((s) => s.index > 0 && (buf.readUInt16LE(s.versionAt) & 0x7fff) === index);
    if (users.length) fail(`expected no other symbol to need ${n.version}, found ${users.map((u) => u.name).join(', ')}`);
    buf.writeUInt16LE(buf.readUInt16LE(n.flagsAt) | VER_FLG_WEAK, n.flagsAt);
    changes.push(`version need ${n.file} ${n.version} marked weak`);
  }
  return { bytes: buf, changes };
}

/** Patches the prebuild when (and only when) it does not load. Returns a one-line status. */
export function ensureJazzerLoads() {
  const path = prebuildPath();
  const before = loadError(path);
  if (!before) return `jazzer-glibc: ${path} loads; nothing to do`;
  if (!/GLIBC_2\.38|GLIBCXX_3\.4\.32/.test(before)) throw new Error(`jazzer-glibc: the addon fails to load for another reason: ${before}`);
  const orig = `${path}.orig`;
  if (!existsSync(orig)) copyFileSync(path, orig);
  const { bytes, changes } = patchElf(readFileSync(orig));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
  const after = loadError(path);
  if (after) throw new Error(`jazzer-glibc: patched ${path} (${changes.join('; ')}) but it still does not load: ${after}`);
  return `jazzer-glibc: patched ${path} (original kept as .orig): ${changes.join('; ')}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    if (process.argv.includes('--check')) {
      const err = loadError(prebuildPath());
      console.log(err ? `jazzer-glibc: does not load: ${err}` : 'jazzer-glibc: loads');
      process.exit(err ? 1 : 0);
    }
    console.log(ensureJazzerLoads());
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
