/**
 * resnet-ts/node: Node-only helpers on top of the library: image files (with the `jpeg-js`
 * fallback for JPEGs the exact decoder refuses) and, re-exported for convenience, the embedded
 * default model (resnet-ts/default-model, which needs no file system). Nothing here runs at import
 * time that needs a `file:` URL, so a bundled Worker with `nodejs_compat` can import it too.
 */
export { decodeImage, decodeImageFile, ImageDecodeError, type DecodedImage, type DecodeImageOptions } from './image/decode-node.js';
export { createDefaultModel, defaultWeights, DEFAULT_MODEL } from './default-model.js';
export { nodeWeightsCache, nodePretrainedDefaults, defaultCacheDir } from './pretrained/cache-node.js';
