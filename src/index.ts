// aptkit public API.
export { createKernels, Kernels, StaleGemmError, type KernelsOptions, type PreparedGemm } from "./kernels/kernels.js";
export {
  MIN_BITS, MAX_BITS, maxCode, rowStrideBytes, packedByteLength,
  type PackedMatrix, type GemmOptions,
} from "./format/packed.js";
export type { Isa, IsaChoice } from "./runtime/wasm.js";
export * as reference from "./reference/index.js";

// Runtimes without a file system (browsers, workers) or with the .wasm elsewhere: init().
export { init, type InitOptions } from "./runtime/init.js";
export { setWasmSource, type WasmSource } from "./runtime/wasm.js";

// Training. Nothing below imports a node: module at load time (the dataset readers import
// node:fs / node:zlib when called), so this entry point also loads in browsers, workers and Deno.
export {
  train, evaluate, learningRate, largestBatchThatFits, DivergenceError,
  type TrainOptions, type TrainResult, type Progress, type LrSchedule,
} from "./train/trainer.js";
export { TRAIN_DEFAULTS } from "./train/defaults.js";
export { CheckpointError } from "./train/checkpoint.js";
export { IntegerLearner, type IntegerLearnerOptions } from "./train/integer.js";
export type { Learner, BatchResult } from "./learner/learner.js";
export type { TrainReport, BitsDecision } from "./learner/run-report.js";
export { apt, fixed, qat8, fp32, type PolicySpec, type AptOptions } from "./train/policy.js";
export { AptController } from "./train/controller.js";
export { learnerFactory } from "./baselines/factory.js";
export { Engine, type EngineOptions } from "./engine/engine.js";
export {
  sequential, mlp, lenet5, dense, conv2d, relu, maxPool, avgPool, flatten,
  type ModelDefinition, type LayerSpec,
} from "./nn/model.js";
export {
  createDataset, subset, split, batches, gather, sampleSize, loadDataset, digits,
  type Dataset, type Split,
} from "./data/index.js";
export { DatasetError } from "./data/error.js";

// Trained models leave the trainer as versioned files (docs/model-file.md) for inference anywhere.
export { saveModel, loadModel, readModelFile, LoadedModel, ModelFileError, type LoadOptions, type Prediction } from "./model-file/index.js";
// Files a user names are read within bounds (InputFileError); one writer per path (LockedError).
export { InputFileError, LockedError } from "./io/index.js";
export { parseBudget, type Budget } from "./budget/budget.js";
export { BudgetError } from "./budget/errors.js";
// The command line's refusal (exit code 2), for programs that drive it through main().
export { UsageError } from "./cli/usage.js";
