#!/usr/bin/env node
/**
 * Writes the hand-crafted hostile inputs of issue 17 that a parser target can replay, so that the
 * regression corpus holds every input class that ever failed, not only what the fuzzer found:
 * `node scripts/fuzz-crafted.mjs <outDir>` prints `<target> <file> <source>` per input, which
 * fuzz/add-regression.mjs then files (the committed copies live in fuzz/corpus/regression/).
 * Each is built opcode by opcode (see: Python's Lib/pickletools.py for the opcodes; PNG
 * specification section 5 for chunks) and is small: the amplification is in the reader.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/fuzz-crafted.mjs <outDir>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const u32le = (n) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const ascii = (s) => [...s].map((c) => c.charCodeAt(0));
const PROTO = (v) => [0x80, v];
const STOP = 0x2e;
const MARK = 0x28;
const POP = 0x30;
const EMPTY_DICT = 0x7d;
const NONE = 0x4e;
const SETITEM = 0x73;
const SETITEMS = 0x75;
const TUPLE = 0x74;
const TUPLE1 = 0x85;
const LIST = 0x6c;
const REDUCE = 0x52;
const BINPUT = (i) => [0x71, i];
const BINGET = (i) => [0x68, i];
const BININT1 = (v) => [0x4b, v];
const BININT2 = (v) => [0x4d, v & 0xff, v >> 8];
const BINUNICODE = (s) => [0x58, ...u32le(s.length), ...ascii(s)];
const SHORT_BINUNICODE = (s) => [0x8c, s.length, ...ascii(s)];
const GLOBAL = (module, name) => [0x63, ...ascii(`${module}\n${name}\n`)];

const inputs = [];
function add(target, name, bytes, source) {
  const file = join(out, name);
  writeFileSync(file, Uint8Array.from(bytes.flat(Infinity)));
  inputs.push(`${target} ${file} ${source}`);
}

// Item 3: builtins.list copies its argument on every call: one list of 20,000 Nones, copied 20,000
// times through a memoised reference (6 bytes a call): 4e8 array slots from a 140 KB file.
{
  const calls = [];
  for (let i = 0; i < 20000; i++) calls.push(BINGET(0), BINGET(1), TUPLE1, REDUCE);
  add('pickle', 'list-copy-amplification.pkl', [PROTO(2), GLOBAL('builtins', 'list'), BINPUT(0), MARK, new Array(20000).fill(NONE), LIST, BINPUT(1), calls, STOP],
    'issue 17 item 3 (pickle copy amplification), crafted by scripts/fuzz-crafted.mjs');
}

// Item 4: key paths. A spine of 60 dicts, each keyed by the same memoised 1000-character string,
// over 20,000 leaves: every leaf's path is 60,000 characters (1.2e9 in all) from an 82 KB file.
{
  const leaves = [];
  for (let i = 0; i < 20000; i++) leaves.push(BININT2(i), NONE);
  // Stack: root, key, d1, (key, d2) ... (key, d60); the leaves go into d60, then 60 SETITEMs nest them.
  const spine = [];
  for (let i = 1; i < 60; i++) spine.push(BINGET(0), EMPTY_DICT);
  add('pdparams', 'key-path-amplification.pdparams',
    [PROTO(2), EMPTY_DICT, BINUNICODE('k'.repeat(1000)), BINPUT(0), EMPTY_DICT, spine, MARK, leaves, SETITEMS, new Array(60).fill(SETITEM), STOP],
    'issue 17 item 4 (key-path amplification in weights/tree.ts), crafted by scripts/fuzz-crafted.mjs');
}

// Item 5: a tuple key of tuples of tuples (30 memoised references each, 4 levels) around a
// 1000-character string: keyString joins it to 1000 * 30^4 = 810 million characters; 1.3 KB.
{
  // Each level is memoised and popped; the fourth stays on the stack as the key.
  const levels = [];
  for (let level = 1; level <= 4; level++) levels.push(MARK, new Array(30).fill(BINGET(level - 1)), TUPLE, level < 4 ? [BINPUT(level), POP] : []);
  add('pdparams', 'tuple-key-amplification.pdparams', [PROTO(2), EMPTY_DICT, BINUNICODE('x'.repeat(1000)), BINPUT(0), POP, levels, BININT1(1), SETITEM, STOP],
    'issue 17 item 5 (tuple-key amplification, keyString), crafted by scripts/fuzz-crafted.mjs');
}

// Item 7: 10,000 nested dicts ({'a': {'a': ...}}), 50 KB: the Paddle unwrapping recursed once per level.
{
  const open = [];
  for (let i = 0; i < 10000; i++) open.push(EMPTY_DICT, SHORT_BINUNICODE('a'));
  add('pdparams', 'nested-dicts-10000.pdparams', [PROTO(4), open, EMPTY_DICT, new Array(10000).fill(SETITEM), STOP],
    'issue 17 item 7 (unbounded recursion in the Paddle unwrapping), crafted by scripts/fuzz-crafted.mjs');
}

// Item 2: PNG headers that declare huge images over a few bytes of data.
function png(width, height, depth, colourType, idat) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const be32 = (n) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const chunk = (type, data) => {
    const body = [...ascii(type), ...data];
    return [...be32(data.length), ...body, ...be32(crc(body))];
  };
  return [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], chunk('IHDR', [...be32(width), ...be32(height), depth, colourType, 0, 0, 0]), chunk('IDAT', [...idat]), chunk('IEND', [])];
}
add('png', 'png-30000x30000-rgb-empty.png', png(30000, 30000, 8, 2, deflateSync(Buffer.alloc(0))), 'issue 17 item 2 (30000x30000 PNG of 69 bytes), crafted by scripts/fuzz-crafted.mjs');
add('png', 'png-10000x10000-grey16-no-data.png', png(10000, 10000, 16, 0, deflateSync(Buffer.alloc(0))), 'issue 17 item 2 (10000x10000 16-bit PNG without image data), crafted by scripts/fuzz-crafted.mjs');
// A zlib bomb: 7,000 x 7,000 greyscale, every row filter 0 and zero pixels, 49 MB inflated from 48 KB
// (a valid image under maxPixels: it must decode, in bounded time and memory).
add('png', 'png-7000x7000-zlib-bomb.png', png(7000, 7000, 8, 0, deflateSync(Buffer.alloc(7001 * 7000), { level: 9 })), 'issue 17 item 2 (PNG whose IDAT inflates 1000x), crafted by scripts/fuzz-crafted.mjs');

console.log(inputs.join('\n'));
