// Loading: a checked model file becomes an inference model on the integer engine, with the file's
// codes written into the buffers the plan gave its layers.
import { Engine } from "../engine/engine.js";
import { LinearLayer } from "../nn/layers/linear.js";
import { Model, type ModelDefinition, type ModelOptions } from "../nn/model.js";
import type { IsaChoice } from "../runtime/wasm.js";
import { decodeModelFile, HEADER, HEADER_BYTES, ModelFileError, type ModelFile } from "./codec.js";

export interface LoadOptions {
  /** Which wasm build runs the model (default "auto"). Both give the same codes. */
  isa?: IsaChoice;
  /** Samples per forward pass (default 32). Activation exponents are chosen per batch, so the
   *  logits equal the saved model's own predict() bit for bit when this is the file's training
   *  batch (LoadedModel.file.batch) and samples are grouped the same way. */
  batch?: number;
  /** Refuse a model whose memory plan at `batch` exceeds this many bytes (default 256 MiB): a
   *  small file can declare a large network, and its plan is laid out before memory is grown. */
  maxMemoryBytes?: number;
}

export const DEFAULT_BATCH = 32;
export const DEFAULT_MAX_MEMORY_BYTES = 256 * 2 ** 20;

export interface Prediction {
  /** count x classes logits (value = code * 2^exp of the last layer's output). */
  logits: Float64Array;
  /** The arg-max class of each sample (the first on ties). */
  classes: Uint8Array;
}

export class LoadedModel {
  /** @internal Use loadModel. */
  constructor(readonly file: ModelFile, readonly engine: Engine, readonly model: Model) {}

  get definition(): ModelDefinition {
    return this.file.definition;
  }

  get batch(): number {
    return this.model.options.batch;
  }

  get isa(): string {
    return this.engine.isa;
  }

  /** Weight width of each weighted layer, as in the file. */
  weightBits(): Record<string, number> {
    return Object.fromEntries(this.file.layers.map((l) => [l.name, l.bits]));
  }

  /** Logits and classes of `count` samples (count x per-sample input values), in chunks of batch. */
  predict(images: Float32Array, count: number): Prediction {
    if (!(images instanceof Float32Array)) throw new TypeError(`predict: images must be a Float32Array, got ${images === null ? "null" : typeof images}`);
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`predict: count must be a non-negative integer, got ${count}`);
    const per = this.definition.input.reduce((a, b) => a * b, 1);
    if (images.length !== count * per) throw new RangeError(`predict: expected ${count}x${per} = ${count * per} input values, got ${images.length}`);
    const k = this.definition.classes;
    const logits = new Float64Array(count * k);
    const classes = new Uint8Array(count);
    const batch = this.batch;
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      logits.set(this.model.predict(images.subarray(start * per, (start + n) * per), n), start * k);
    }
    for (let s = 0; s < count; s++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (logits[s * k + j] > logits[s * k + best]) best = j;
      classes[s] = best;
    }
    return { logits, classes };
  }
}

/** A definition the checker accepted but the Model refused: report it at the definition section. */
function asFileError(e: unknown, what: string): never {
  if (e instanceof RangeError) throw new ModelFileError("definition", HEADER_BYTES, `${what}: ${e.message}`);
  throw e;
}

/**
 * Checks the whole file (decodeModelFile: every failure a ModelFileError naming field and byte
 * offset), then builds an Engine and a Model at `batch` with weights reserved at the widest width
 * in the file, and writes each layer's codes, width and exponent, and bias into the model.
 */
export async function loadModel(bytes: Uint8Array, options: LoadOptions = {}): Promise<LoadedModel> {
  const batch = options.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(batch) || batch < 1 || batch > 65536) throw new RangeError(`loadModel: batch must be an integer in 1..65536, got ${batch}`);
  const limit = options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
  if (!(limit > 0)) throw new RangeError(`loadModel: maxMemoryBytes must be a positive number, got ${limit}`);
  const file = await decodeModelFile(bytes);

  const maxBits = file.layers.reduce((m, l) => Math.max(m, l.bits), 2);
  const modelOptions: ModelOptions = {
    // seed only draws the initial weights, which the file's replace.
    batch, seed: 0, actBits: file.actBits,
    // Inference never writes an error tensor: the narrowest width keeps those buffers small.
    errBits: 2,
    weightBits: maxBits, maxWeightBits: maxBits,
  };
  const engine = await Engine.create(options.isa ?? "auto");
  engine.seed = file.seed;
  engine.step = file.step;
  engine.rounding = file.rounding;
  // A loaded model has no previous step to carry exponents from: every output's exponent is
  // found from its own maximum, so nothing saturates.
  engine.scaling = "exact";

  // Lay the plan out on a dry engine first: refuse before any memory grows.
  const dry = engine.dry(null);
  try {
    new Model(file.definition, dry, modelOptions);
  } catch (e) {
    asFileError(e, "the model cannot be built");
  }
  if (dry.plan.peakBytes > limit) {
    throw new ModelFileError("definition", HEADER_BYTES,
      `the model needs ${dry.plan.peakBytes} bytes of engine memory at batch ${batch}, more than maxMemoryBytes (${limit})`);
  }
  let model: Model;
  try {
    model = new Model(file.definition, engine, modelOptions);
  } catch (e) {
    asFileError(e, "the model cannot be built");
  }

  applyModelFile(model, file);
  return new LoadedModel(file, engine, model);
}

/** Writes a checked file's codes, widths, exponents and biases into a model built from its
 *  definition (weights reserved at least as wide as the file's). */
export function applyModelFile(model: Model, file: ModelFile): void {
  const linear = model.layers.filter((l): l is LinearLayer => l instanceof LinearLayer);
  if (linear.length !== file.layers.length) {
    throw new ModelFileError("layerCount", HEADER.layerCount, `the built model has ${linear.length} weighted layers, the file ${file.layers.length}`);
  }
  linear.forEach((l, i) => {
    const rec = file.layers[i];
    const w = l.weights()[0];
    if (l.name !== rec.name || w.rows !== rec.rows || w.cols !== rec.cols) {
      throw new ModelFileError(`layers[${i}]`, HEADER_BYTES,
        `the built model's layer ${l.name} is ${w.rows}x${w.cols}, the file's ${rec.name} ${rec.rows}x${rec.cols}`);
    }
    if (rec.bits > w.maxBits) {
      throw new ModelFileError(`layers[${i}].bits`, HEADER_BYTES, `${rec.name} is ${rec.bits} bits wide, the model reserved ${w.maxBits}`);
    }
    // The plan reserved every layer's weights at maxBits >= rec.bits, so the codes fit in place;
    // width and exponent live in the layer's WeightTensor, as a precision change leaves them.
    w.bits = rec.bits;
    w.exp = rec.exp;
    l.weightBytes().set(rec.weights);
    l.biasBytes().set(rec.bias);
  });
}
