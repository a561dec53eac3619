/** Images from files to model inputs, for classify and eval. Node-only. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { readImageHeader } from '../image/decode.js';
import { decodeImage } from '../image/decode-node.js';
import { checkPreprocess, preprocess } from '../image/preprocess.js';
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

/**
 * One image file -> a model input [1, 3, S, S]; `size` overrides the preset's crop (the resize keeps
 * its ratio). Only a regular file is read (readBytes). Its size is checked from the header before
 * anything is decoded: the decoders refuse more than maxPixels, and checkPreprocess a resize target
 * over maxResizePixels (a 1x20000 image) or a size the preset cannot take. `warning` says when the
 * jpeg-js fallback decoded the file, because the exact decoder refused it.
 */
export async function loadImage(path: string, preset: PresetName, size?: number): Promise<{ input: Tensor; warning?: string }> {
  const bytes = readBytes(path, 'image');
  const options = size === undefined ? {} : { size };
  const header = readImageHeader(bytes);
  if (header !== null) checkPreprocess(header.width, header.height, preset, options);
  const img = await decodeImage(bytes, { name: path });
  const input = preprocess({ width: img.width, height: img.height, data: img.data, channels: img.channels }, preset, options);
  if (img.decoder !== 'jpeg-js') return { input };
  return { input, warning: `warning: '${path}': the exact JPEG decoder refused it (${img.fallbackReason ?? 'unknown reason'}); decoded by the jpeg-js fallback, whose pixels differ slightly from libjpeg's` };
}

/** A file that failed in a batch command: its path and the problem, on one line. */
export interface ItemFailure {
  readonly image: string;
  readonly error: string;
}

export function itemFailure(image: string, e: unknown): ItemFailure {
  const message = e instanceof Error ? e.message : String(e);
  return { image, error: message.replace(/\s*\n\s*/g, ' ') };
}

/**
 * The end-of-run report of a batch command's failures, on stderr: a `resnet: error:` line with the
 * count, then one line per file naming it and its problem. The caller sets exit code 1.
 */
export function failureReport(failures: readonly ItemFailure[], total: number): string {
  return `resnet: error: ${failures.length} of ${total} images failed:\n${failures.map((f) => `  ${f.image}: ${f.error}`).join('\n')}`;
}
