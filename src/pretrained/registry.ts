/**
 * Published pretrained weights, as data: one row per (model, tag), each with its source URL, what
 * the download is checked against, its license, its eval preprocessing and its published accuracy.
 *
 * Tags follow the source: torchvision's weight enums (`IMAGENET1K_V1`, `IMAGENET1K_V2`, and
 * `DEFAULT` as an alias), timm's pretrained tags (`a1_in1k`, `ra2_in1k`), PaddleClas's file stems
 * (`pretrained`, `ssld_pretrained`), akamaster's CIFAR-10 files (`cifar10`).
 *
 * Hashes: torchvision, timm's GitHub releases and akamaster name their files `<stem>-<hex>.<ext>`,
 * where `<hex>` is the start of the file's sha256 (torch.hub's `check_hash` convention:
 * `HASH_REGEX = -([a-f0-9]*)\.`; timm's clean_checkpoint.py writes `<base>-<sha256[:8]>.pth`); those
 * entries are checked against that prefix. The akamaster
 * files were hashed in full here (../shared/weights/cifar10-resnet-akamaster). PaddleClas
 * publishes no hash: its entries are checked for size (Content-Length) and format only, and say so.
 */
import type { Checkpoint } from '../weights/types.js';
import type { PresetName } from '../image/presets.js';

export type WeightSource = 'torchvision' | 'timm' | 'paddleclas' | 'akamaster';

/**
 * What a download is checked against, besides Content-Length:
 * - `sha256`: the full digest (64 hex digits);
 * - `sha256-prefix`: the leading hex digits the source puts in its file name;
 * - `none`: no hash is published; the bytes must only parse as `format` (the reason is in `note`).
 */
export type Verification =
  | { readonly kind: 'sha256'; readonly hex: string }
  | { readonly kind: 'sha256-prefix'; readonly hex: string }
  | { readonly kind: 'none'; readonly note: string };

export interface PublishedAccuracy {
  readonly dataset: 'ImageNet-1K' | 'CIFAR-10';
  /** Percent. */
  readonly top1: number;
  /** The input size the number was measured at. */
  readonly inputSize: number;
  /** Where the number was copied from. */
  readonly source: string;
}

export interface PretrainedEntry {
  /** A model name of src/models/config.ts. */
  readonly model: string;
  readonly tag: string;
  readonly source: WeightSource;
  readonly url: string;
  /**
   * The container the source publishes. torch-zip and torch-legacy are checked as one family: which
   * of the two a torchvision file is was not verified (ARCHITECTURES.md section 7).
   */
  readonly format: Checkpoint['format'];
  readonly verify: Verification;
  /** SPDX identifier where the source states one, with where it says so. */
  readonly license: string;
  /** The eval preprocessing (src/image/presets.ts) these weights were evaluated with. */
  readonly preset: PresetName;
  /** Side of the eval input (the center crop). */
  readonly inputSize: number;
  readonly accuracy: PublishedAccuracy;
  /** Where the URL and hash were read. */
  readonly provenance: string;
}

// ---------------------------------------------------------------------------------------------
// torchvision (see: pytorch/vision torchvision/models/resnet.py, the *_Weights enums; numbers also
// in ../shared/reference/model-facts.json "published")

const TV_PROVENANCE = 'pytorch/vision torchvision/models/resnet.py *_Weights (url, transforms, _metrics acc@1)';
const TV_LICENSE = 'BSD-3-Clause (pytorch/vision LICENSE; timm cfg license=bsd-3-clause)';

function torchvision(model: string, tag: 'IMAGENET1K_V1' | 'IMAGENET1K_V2', file: string, top1: number, resize: 256 | 232): PretrainedEntry {
  return {
    model,
    tag,
    source: 'torchvision',
    url: `https://download.pytorch.org/models/${file}`,
    format: 'torch-zip',
    verify: { kind: 'sha256-prefix', hex: hashInName(file) },
    license: TV_LICENSE,
    preset: resize === 232 ? 'torchvision-v2' : 'torchvision',
    inputSize: 224,
    accuracy: { dataset: 'ImageNet-1K', top1, inputSize: 224, source: 'torchvision *_Weights meta _metrics ImageNet-1K acc@1' },
    provenance: TV_PROVENANCE,
  };
}

// ---------------------------------------------------------------------------------------------
// timm (see: huggingface/pytorch-image-models timm/models/resnet.py default_cfgs; accuracy from
// results-imagenet.csv as copied in ../shared/reference/ARCHITECTURES.md section 3)

const TIMM_PROVENANCE =
  'huggingface/pytorch-image-models timm/models/resnet.py default_cfgs (url = the GitHub release file; its hex = sha256[:8] per clean_checkpoint.py)';
const TIMM_LICENSE = 'Apache-2.0 (huggingface/pytorch-image-models LICENSE; the cfg states none for timm-trained tags)';

function timm(model: string, tag: string, url: string, preset: 'timm' | 'timm-rsb', top1: number): PretrainedEntry {
  return {
    model,
    tag,
    source: 'timm',
    url,
    // clean_checkpoint.py saves with _use_new_zipfile_serialization=False where torch allows it.
    format: 'torch-legacy',
    verify: { kind: 'sha256-prefix', hex: hashInName(url) },
    license: TIMM_LICENSE,
    preset,
    inputSize: 224,
    accuracy: { dataset: 'ImageNet-1K', top1, inputSize: 224, source: 'timm results-imagenet.csv (ARCHITECTURES.md section 3)' },
    provenance: TIMM_PROVENANCE,
  };
}

const TIMM_RELEASES = 'https://github.com/huggingface/pytorch-image-models/releases/download';
const RW_RELEASES = 'https://github.com/rwightman/pytorch-image-models/releases/download';

// ---------------------------------------------------------------------------------------------
// PaddleClas (see: PaddlePaddle/PaddleClas ppcls/arch/backbone/legendary_models/resnet.py MODEL_URLS;
// top-1 from docs/en/algorithm_introduction/ImageNet_models_en.md, as a fraction there)

function paddleclas(model: string, ssld: boolean, top1: number): PretrainedEntry {
  const tag = ssld ? 'ssld_pretrained' : 'pretrained';
  return {
    model,
    tag,
    source: 'paddleclas',
    url: `https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/${model}_${tag}.pdparams`,
    format: 'paddle',
    verify: { kind: 'none', note: 'PaddleClas publishes no hash: checked for Content-Length and .pdparams (pickle) format only' },
    license: 'Apache-2.0 (PaddlePaddle/PaddleClas LICENSE)',
    preset: 'paddleclas',
    inputSize: 224,
    accuracy: { dataset: 'ImageNet-1K', top1, inputSize: 224, source: 'PaddleClas docs ImageNet_models (Top-1 Acc)' },
    provenance: 'PaddlePaddle/PaddleClas ppcls/arch/backbone/legendary_models/resnet.py MODEL_URLS; docs ImageNet_models download links',
  };
}

// ---------------------------------------------------------------------------------------------
// akamaster CIFAR-10 (see: akamaster/pytorch_resnet_cifar10 @ d5489e8 pretrained_models/, README)

const AKAMASTER_COMMIT = 'd5489e8995e81e91ce6b1d69dcc98ad579b0b153';

function akamaster(model: string, sha256: string, top1: number): PretrainedEntry {
  return {
    model,
    tag: 'cifar10',
    source: 'akamaster',
    url: `https://github.com/akamaster/pytorch_resnet_cifar10/raw/${AKAMASTER_COMMIT}/pretrained_models/${model}-${sha256.slice(0, 8)}.th`,
    format: 'torch-legacy',
    verify: { kind: 'sha256', hex: sha256 },
    license: 'BSD-2-Clause (akamaster/pytorch_resnet_cifar10 LICENSE, Copyright (c) 2018 Yerlan Idelbayev)',
    preset: 'cifar',
    inputSize: 32,
    accuracy: { dataset: 'CIFAR-10', top1, inputSize: 32, source: 'akamaster README (100 - test error)' },
    provenance: `akamaster/pytorch_resnet_cifar10 @ ${AKAMASTER_COMMIT} pretrained_models/; sha256 of the files in ../shared/weights/cifar10-resnet-akamaster`,
  };
}

/** The hex run of a `<stem>-<hex>.<ext>` file name (torch.hub's HASH_REGEX). */
function hashInName(urlOrFile: string): string {
  const m = /-([a-f0-9]{6,})\.[a-z]+$/.exec(urlOrFile);
  if (!m) throw new Error(`registry: no sha256 prefix in '${urlOrFile}' (expected <stem>-<hex>.<ext>)`);
  return m[1]!;
}

export const PRETRAINED: readonly PretrainedEntry[] = [
  torchvision('resnet18', 'IMAGENET1K_V1', 'resnet18-f37072fd.pth', 69.758, 256),
  torchvision('resnet34', 'IMAGENET1K_V1', 'resnet34-b627a593.pth', 73.314, 256),
  torchvision('resnet50', 'IMAGENET1K_V1', 'resnet50-0676ba61.pth', 76.13, 256),
  torchvision('resnet50', 'IMAGENET1K_V2', 'resnet50-11ad3fa6.pth', 80.858, 232),
  torchvision('resnet101', 'IMAGENET1K_V1', 'resnet101-63fe2227.pth', 77.374, 256),
  torchvision('resnet101', 'IMAGENET1K_V2', 'resnet101-cd907fc2.pth', 81.886, 232),
  torchvision('resnet152', 'IMAGENET1K_V1', 'resnet152-394f9c45.pth', 78.312, 256),
  torchvision('resnet152', 'IMAGENET1K_V2', 'resnet152-f82ba261.pth', 82.284, 232),
  torchvision('resnext50_32x4d', 'IMAGENET1K_V1', 'resnext50_32x4d-7cdf4587.pth', 77.618, 256),
  torchvision('resnext50_32x4d', 'IMAGENET1K_V2', 'resnext50_32x4d-1a0047aa.pth', 81.198, 232),
  torchvision('resnext101_32x8d', 'IMAGENET1K_V1', 'resnext101_32x8d-8ba56ff5.pth', 79.312, 256),
  torchvision('resnext101_32x8d', 'IMAGENET1K_V2', 'resnext101_32x8d-110c445d.pth', 82.834, 232),
  // Its only weights, trained with the V2 recipe: resize 232.
  torchvision('resnext101_64x4d', 'IMAGENET1K_V1', 'resnext101_64x4d-173b62eb.pth', 83.246, 232),
  torchvision('wide_resnet50_2', 'IMAGENET1K_V1', 'wide_resnet50_2-95faca4d.pth', 78.468, 256),
  torchvision('wide_resnet50_2', 'IMAGENET1K_V2', 'wide_resnet50_2-9ba9bcbe.pth', 81.602, 232),
  torchvision('wide_resnet101_2', 'IMAGENET1K_V1', 'wide_resnet101_2-32ee1156.pth', 78.848, 256),
  torchvision('wide_resnet101_2', 'IMAGENET1K_V2', 'wide_resnet101_2-d733dc28.pth', 82.51, 232),

  timm('resnet18', 'a1_in1k', `${TIMM_RELEASES}/v0.1-rsb-weights/resnet18_a1_0-d63eafa0.pth`, 'timm-rsb', 71.504),
  timm('resnet18d', 'ra2_in1k', `${RW_RELEASES}/v0.1-weights/resnet18d_ra2-48a79e06.pth`, 'timm', 72.296),
  timm('resnet34d', 'ra2_in1k', `${RW_RELEASES}/v0.1-weights/resnet34d_ra2-f8dcfcaf.pth`, 'timm', 77.108),
  timm('resnet50', 'a1_in1k', `${RW_RELEASES}/v0.1-rsb-weights/resnet50_a1_0-14fe96d1.pth`, 'timm-rsb', 80.382),
  timm('resnet50d', 'ra2_in1k', `${RW_RELEASES}/v0.1-weights/resnet50d_ra2-464e36ba.pth`, 'timm', 80.546),
  timm('resnet101', 'a1h_in1k', `${RW_RELEASES}/v0.1-rsb-weights/resnet101_a1h-36d3f2aa.pth`, 'timm-rsb', 81.95),
  timm('resnet152', 'a1h_in1k', `${RW_RELEASES}/v0.1-rsb-weights/resnet152_a1h-dc400468.pth`, 'timm-rsb', 82.818),

  paddleclas('ResNet18', false, 71.0),
  paddleclas('ResNet18_vd', false, 72.3),
  paddleclas('ResNet34', false, 74.6),
  paddleclas('ResNet34_vd', false, 76.0),
  paddleclas('ResNet50', false, 76.5),
  paddleclas('ResNet50_vd', false, 79.1),
  paddleclas('ResNet50_vd', true, 83.0),
  paddleclas('ResNet101', false, 77.6),
  paddleclas('ResNet101_vd', false, 80.2),
  paddleclas('ResNet101_vd', true, 83.73),
  paddleclas('ResNet152', false, 78.26),
  paddleclas('ResNet152_vd', false, 80.59),
  paddleclas('ResNet200_vd', false, 80.93),

  akamaster('resnet20', '12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8', 91.73),
  akamaster('resnet32', 'd509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850', 92.63),
  akamaster('resnet44', '014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4', 93.1),
  akamaster('resnet56', '4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367', 93.39),
];

/**
 * The tag used when none is given: torchvision's `DEFAULT` (V2 where there is one), else the first
 * row of the model (timm's default tag is the first cfg of the arch; PaddleClas: the plain file).
 */
function defaultTag(model: string): string | undefined {
  const rows = PRETRAINED.filter((e) => e.model === model);
  return (rows.find((e) => e.tag === 'IMAGENET1K_V2') ?? rows[0])?.tag;
}

/** Splits timm-style names: `resnet50.a1_in1k` and `timm/resnet50.a1_in1k` -> { model, tag }. */
export function parseModelName(name: string): { model: string; tag?: string } {
  const bare = name.startsWith('timm/') ? name.slice('timm/'.length) : name;
  const dot = bare.indexOf('.');
  if (dot < 0) return { model: bare };
  return { model: bare.slice(0, dot), tag: bare.slice(dot + 1) };
}

export class UnknownPretrainedError extends Error {
  override name = 'UnknownPretrainedError';
}

/**
 * The registry entry for a model name (timm-style tag allowed in it) and an optional tag.
 * `tag` wins over a tag in the name only when they agree; `DEFAULT` or no tag gives the default.
 */
export function resolvePretrained(name: string, tag?: string, registry: readonly PretrainedEntry[] = PRETRAINED): PretrainedEntry {
  const parsed = parseModelName(name);
  if (tag !== undefined && parsed.tag !== undefined && tag !== parsed.tag) {
    throw new UnknownPretrainedError(`'${name}' names tag '${parsed.tag}' but tag '${tag}' was also given; give one`);
  }
  const model = parsed.model;
  const wanted = tag ?? parsed.tag;
  const rows = registry.filter((e) => e.model === model);
  if (rows.length === 0) {
    const known = [...new Set(registry.map((e) => e.model))].join(', ');
    throw new UnknownPretrainedError(`no pretrained weights for model '${model}'; models with pretrained weights: ${known}`);
  }
  const pick = wanted === undefined || wanted === 'DEFAULT' ? (registry === PRETRAINED ? defaultTag(model) : rows[0]!.tag) : wanted;
  const entry = rows.find((e) => e.tag === pick);
  if (!entry) {
    throw new UnknownPretrainedError(`no pretrained weights '${model}.${wanted}'; tags of '${model}': ${rows.map((e) => e.tag).join(', ')}, DEFAULT`);
  }
  return entry;
}

/** Every entry as `model.tag`, in table order. */
export function listPretrained(): string[] {
  return PRETRAINED.map((e) => `${e.model}.${e.tag}`);
}
