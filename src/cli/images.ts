/** Images from files to model inputs, for classify and eval. Node-only. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { decodeImage } from '../image/decode-node.js';
import { preprocessBatch } from '../image/preprocess.js';
import { getPreset, type PresetName } from '../image/presets.js';
import type { ModelConfig } from '../models/config.js';
import type { Tensor } from '../tensor.js';
import { CliError, readBytes } from './common.js';

/** The files classify and eval read from folders: JPEG and PNG, by extension. */
export const IMAGE_FILE = /\.(jpe?g|png)$/i;

/** Checks a --preset name before anything loads (a usage error, exit 2). */
export function checkPreset(requested: string | undefined): PresetName | undefined {
  if (requested === undefined) return undefined;
  try {
    return getPreset(requested).name as PresetName;
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
}

/** The preset a model's published weights were evaluated with, unless the user names one. */
export function presetFor(cfg: ModelConfig, requested?: string): PresetName {
  return checkPreset(requested) ?? cfg.preset;
}

/**
 * classify's arguments as a list of files, checked before any model loads: a file as given (any
 * extension: a non-image is reported when it fails to decode), a folder as every image file under
 * it (recursively, sorted), a pattern with `*` or `?` as the paths it matches (for shells that do
 * not expand them, and quoted patterns). A path that names nothing is a usage error (exit 2).
 */
export function expandImageArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (existsSync(arg)) {
      if (statSync(arg).isDirectory()) {
        const found = imagesUnder(arg);
        if (!found.length) throw new CliError(`folder '${arg}' has no .jpg/.jpeg/.png files (searched recursively)`, 2);
        out.push(...found);
      } else out.push(arg);
    } else if (/[*?]/.test(arg)) {
      const found = glob(arg);
      if (!found.length) throw new CliError(`pattern '${arg}' matches no file`, 2);
      out.push(...found);
    } else throw new CliError(`image '${arg}' does not exist`, 2);
  }
  return out;
}

function imagesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => (e.isDirectory() ? imagesUnder(join(dir, e.name)) : IMAGE_FILE.test(e.name) ? [join(dir, e.name)] : []));
}

/** `*` and `?` within one path segment (no `**`, no brackets); files only, sorted per folder. */
function glob(pattern: string): string[] {
  const segments = pattern.split(sep);
  const first = segments.findIndex((s) => /[*?]/.test(s));
  const fixed = segments.slice(0, first).join(sep);
  let paths = [fixed === '' && pattern.startsWith(sep) ? sep : fixed || '.'];
  for (let i = first; i < segments.length; i++) {
    const seg = segments[i];
    if (!/[*?]/.test(seg)) {
      paths = paths.map((p) => join(p, seg)).filter((p) => existsSync(p));
      continue;
    }
    const re = new RegExp(`^${seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    paths = paths.flatMap((p) =>
      existsSync(p) && statSync(p).isDirectory()
        ? readdirSync(p)
            .filter((n) => re.test(n) && !n.startsWith('.'))
            .sort()
            .map((n) => (fixed === '' && first === 0 ? n : join(p, n)))
        : [],
    );
  }
  return paths.filter((p) => statSync(p).isFile());
}

/** Decodes and preprocesses image files into one NCHW batch. */
/** Decodes and preprocesses files into one batch; `size` overrides the preset's crop (the resize keeps its ratio). */
export async function loadBatch(paths: readonly string[], preset: PresetName, size?: number): Promise<Tensor> {
  const images = [];
  for (const p of paths) {
    const img = await decodeImage(readBytes(p, 'image'), { name: p });
    images.push({ width: img.width, height: img.height, data: img.data, channels: img.channels });
  }
  return preprocessBatch(images, preset, size === undefined ? {} : { size });
}
