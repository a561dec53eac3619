/** Images from files to model inputs, for classify and eval. Node-only. */
import { decodeImage } from '../image/decode-node.js';
import { preprocessBatch } from '../image/preprocess.js';
import { getPreset, type PresetName } from '../image/presets.js';
import type { ModelConfig } from '../models/config.js';
import type { Tensor } from '../tensor.js';
import { CliError, readBytes } from './common.js';

/** The preset a model's published weights were evaluated with, unless the user names one. */
export function presetFor(cfg: ModelConfig, requested?: string): PresetName {
  if (requested === undefined) return cfg.preset;
  try {
    return getPreset(requested).name as PresetName;
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
}

/** Decodes and preprocesses image files into one NCHW batch. */
export async function loadBatch(paths: readonly string[], preset: PresetName): Promise<Tensor> {
  const images = [];
  for (const p of paths) {
    const img = await decodeImage(readBytes(p, 'image'), { name: p });
    images.push({ width: img.width, height: img.height, data: img.data, channels: img.channels });
  }
  return preprocessBatch(images, preset);
}
