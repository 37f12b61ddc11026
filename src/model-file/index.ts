// The model file: save a trained integer model, load it back for inference (docs/model-file.md).
export { saveModel, modelFileOf } from "./save.js";
export { loadModel, LoadedModel, DEFAULT_BATCH, DEFAULT_MAX_MEMORY_BYTES, type LoadOptions, type Prediction } from "./load.js";
export {
  ModelFileError, decodeModelFile, encodeModelFile, MAGIC, FORMAT_VERSION, HEADER, RECORD, HEADER_BYTES, RECORD_BYTES,
  CHECKSUM_BYTES, LIMITS, type LayerRecord, type ModelFile, type ModelSettings,
} from "./codec.js";
export { checkDefinition, type WeightedShape } from "./definition.js";
export { readModelFile, MODEL_FILE_MAX_BYTES, MODEL_FILE_LENGTH } from "./read.js";
