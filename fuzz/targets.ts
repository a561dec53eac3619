/** Every fuzz target, by name: one per parser (issue 17). fuzz/run.mjs bundles each file of targets/ on its own. */
import type { Target } from './outcome.js';
import { target as jpeg } from './targets/jpeg.js';
import { target as npy } from './targets/npy.js';
import { target as pdparams } from './targets/pdparams.js';
import { target as pickle } from './targets/pickle.js';
import { target as png } from './targets/png.js';
import { target as safetensors } from './targets/safetensors.js';
import { target as torch } from './targets/torch.js';
import { target as zip } from './targets/zip.js';

export const TARGETS: Readonly<Record<string, Target>> = { pickle, zip, torch, safetensors, pdparams, npy, jpeg, png };
