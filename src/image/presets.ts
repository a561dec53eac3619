/**
 * Eval-time preprocessing of each weight source, as data. A preset says how to resize, crop and
 * normalise; `preprocess` (preprocess.ts) runs it. A custom preset is a spread of one of these
 * with fields changed, e.g. `{ ...PRESETS.timm, cropPct: 0.95 }`.
 */
import type { CropOffset } from './crop.js';
import type { Normalization, Triple } from './normalize.js';

/**
 * - `pil-bilinear` / `pil-bicubic`: PIL `Image.resize` with antialiasing (resize-pil.ts).
 * - `cv2-linear`: `cv2.resize(..., INTER_LINEAR)`, no antialiasing (resize-cv2.ts).
 */
export type ResizeMethod = 'pil-bilinear' | 'pil-bicubic' | 'cv2-linear';

export interface ResizeStep {
  readonly method: ResizeMethod;
  /**
   * Target of the shorter side for the preset's own `cropSize`. For another crop size the
   * ratio is kept: `floor(size * shortSide / cropSize)`. Ignored when `cropPct` is set.
   */
  readonly shortSide?: number;
  /** timm: shorter side = `floor(size / cropPct)` (see: timm/data/transforms_factory.py). */
  readonly cropPct?: number;
  /**
   * How the longer side follows the shorter one:
   * - `trunc`: torchvision `int(size * long / short)`
   *   (see: torchvision/transforms/functional.py `_compute_resized_output_size`).
   * - `round`: PaddleClas `int(round(long * (size / short)))`, Python's half-to-even round
   *   (see: ppcls/data/preprocess/ops/operators.py `ResizeImage`).
   */
  readonly longSide: 'trunc' | 'round';
}

export interface Preset {
  readonly name: string;
  /** The file the numbers come from. */
  readonly source: string;
  /** `null`: no resize and no crop; the image must already be `cropSize` x `cropSize`. */
  readonly resize: ResizeStep | null;
  /** Side of the square network input (the center crop). */
  readonly cropSize: number;
  readonly cropOffset: CropOffset;
  readonly normalization: Normalization;
}

/** ImageNet mean / std, shared by torchvision, timm (IMAGENET_DEFAULT_*), PaddleClas and akamaster. */
export const IMAGENET_MEAN: Triple = [0.485, 0.456, 0.406];
export const IMAGENET_STD: Triple = [0.229, 0.224, 0.225];

const TORCH_NORMALIZE: Normalization = { toFloat: 'divide', mean: IMAGENET_MEAN, std: IMAGENET_STD };

export const PRESETS = {
  /** torchvision V1 weights (`IMAGENET1K_V1`): Resize(256, bilinear, antialias) -> CenterCrop(224). */
  torchvision: {
    name: 'torchvision',
    source:
      'pytorch/vision torchvision/transforms/_presets.py ImageClassification(crop_size=224, resize_size=256); torchvision/models/resnet.py',
    resize: { method: 'pil-bilinear', shortSide: 256, longSide: 'trunc' },
    cropSize: 224,
    cropOffset: 'round',
    normalization: TORCH_NORMALIZE,
  },
  /** torchvision V2 weights (`IMAGENET1K_V2`, and resnext101_64x4d V1): Resize(232) -> CenterCrop(224). */
  'torchvision-v2': {
    name: 'torchvision-v2',
    source:
      'pytorch/vision torchvision/transforms/_presets.py ImageClassification(crop_size=224, resize_size=232); torchvision/models/resnet.py',
    resize: { method: 'pil-bilinear', shortSide: 232, longSide: 'trunc' },
    cropSize: 224,
    cropOffset: 'round',
    normalization: TORCH_NORMALIZE,
  },
  /**
   * timm's usual ResNet eval config (ra2 / bt / gluon tags, e.g. resnet50d.ra2_in1k): bicubic,
   * crop_pct 0.875 -> Resize(256) -> CenterCrop(224).
   */
  timm: {
    name: 'timm',
    source:
      'huggingface/pytorch-image-models timm/data/transforms_factory.py transforms_imagenet_eval; timm/models/resnet.py _ttcfg/_gcfg (crop_pct 0.875, bicubic)',
    resize: { method: 'pil-bicubic', cropPct: 0.875, longSide: 'trunc' },
    cropSize: 224,
    cropOffset: 'round',
    normalization: TORCH_NORMALIZE,
  },
  /**
   * timm "ResNet strikes back" tags (a1 / a1h / a2, e.g. resnet50.a1_in1k): bicubic, crop_pct 0.95
   * -> Resize(235) -> CenterCrop(224). ra2 resnet101d/152d/200d use this with size 256.
   */
  'timm-rsb': {
    name: 'timm-rsb',
    source:
      'huggingface/pytorch-image-models timm/data/transforms_factory.py transforms_imagenet_eval; timm/models/resnet.py _rcfg (crop_pct 0.95, bicubic)',
    resize: { method: 'pil-bicubic', cropPct: 0.95, longSide: 'trunc' },
    cropSize: 224,
    cropOffset: 'round',
    normalization: TORCH_NORMALIZE,
  },
  /**
   * PaddleClas eval / infer: DecodeImage -> ResizeImage(resize_short=256, cv2 INTER_LINEAR) ->
   * CropImage(224) -> NormalizeImage(scale=1/255, ImageNet mean/std) -> ToCHWImage.
   */
  paddleclas: {
    name: 'paddleclas',
    source:
      'PaddlePaddle/PaddleClas ppcls/configs/ImageNet/ResNet/ResNet50_vd.yaml (Eval / Infer); ppcls/data/preprocess/ops/operators.py',
    resize: { method: 'cv2-linear', shortSide: 256, longSide: 'round' },
    cropSize: 224,
    cropOffset: 'floor',
    normalization: { toFloat: 'multiply', mean: IMAGENET_MEAN, std: IMAGENET_STD },
  },
  /** akamaster CIFAR-10 ResNets: ToTensor + Normalize(ImageNet mean/std) on the native 32x32 image. */
  cifar: {
    name: 'cifar',
    source: 'akamaster/pytorch_resnet_cifar10 trainer.py (val_loader: ToTensor, Normalize)',
    resize: null,
    cropSize: 32,
    cropOffset: 'round',
    normalization: TORCH_NORMALIZE,
  },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;

export function listPresets(): PresetName[] {
  return Object.keys(PRESETS) as PresetName[];
}

export function getPreset(name: string): Preset {
  if (!Object.prototype.hasOwnProperty.call(PRESETS, name)) {
    throw new RangeError(`unknown preprocessing preset '${name}'; expected one of: ${listPresets().join(', ')}`);
  }
  return PRESETS[name as PresetName];
}
