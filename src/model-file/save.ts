// Saving: the integer model as it stands (packed codes, exponents, biases, the definition and the
// settings its forward pass depends on) written as a model file (docs/model-file.md).
import { LinearLayer, BIAS_BITS, BIAS_EXP } from "../nn/layers/linear.js";
import { Model } from "../nn/model.js";
import type { Learner } from "../learner/learner.js";
import { checkDefinition } from "./definition.js";
import {
  clearPadding, decodeModelFile, encodeModelFile, findInvalidCode, LIMITS, ModelFileError,
  type LayerRecord, type ModelFile,
} from "./codec.js";

/**
 * A snapshot of a model as a ModelFile (bytes copied, padding bits cleared). Throws RangeError for
 * what a file cannot hold: a qat8 model (fp32 master weights, whose codes are re-derived every
 * forward), a dry-run model, a definition the loader would refuse.
 */
export function modelFileOf(source: Learner | Model): ModelFile {
  // What train() returns is a Learner; only the integer ones (IntegerLearner) hold a Model.
  const inner = source instanceof Model ? source : (source as { model?: unknown }).model;
  if (!(inner instanceof Model)) {
    throw new RangeError(`saveModel: a ${source?.constructor?.name ?? typeof source} keeps float weights; ` +
      "the model file holds integer models (fixed-precision or APT) only");
  }
  const model = inner;
  const what = `saveModel(${JSON.stringify(model.definition.name)})`;
  if (model.engine.dryRun) throw new RangeError(`${what}: a planning-only (dry-run) model has no weights`);
  if (model.options.masterWeights) {
    throw new RangeError(`${what}: qat8 models keep fp32 master weights and re-quantize them every forward pass; ` +
      "the model file holds integer models (fixed-precision or APT) only");
  }
  // The same checks the loader makes, on a plain-data copy, so that a saved file always loads.
  const { definition, weighted } = checkDefinition(JSON.parse(JSON.stringify(model.definition)),
    (path, detail) => { throw new RangeError(`${what}: definition${path === "" ? "" : `.${path}`}: ${detail}`); });
  const linear = model.layers.filter((l): l is LinearLayer => l instanceof LinearLayer);
  if (linear.length !== weighted.length) {
    throw new Error(`${what}: the model has ${linear.length} weighted layers, its definition ${weighted.length}`);
  }
  const layers = linear.map((l, i): LayerRecord => {
    const w = l.weights()[0];
    const want = weighted[i];
    if (l.name !== want.name || w.rows !== want.rows || w.cols !== want.cols) {
      throw new Error(`${what}: layer ${l.name} (${w.rows}x${w.cols}) differs from the definition's ${want.name} (${want.rows}x${want.cols})`);
    }
    if (!Number.isInteger(w.exp) || w.exp < LIMITS.minExp || w.exp > LIMITS.maxExp) {
      throw new RangeError(`${what}: ${l.name} weight exponent ${w.exp} is outside ${LIMITS.minExp}..${LIMITS.maxExp}`);
    }
    const weights = l.weightBytes().slice();
    const bias = l.biasBytes().slice();
    // The kernels may leave padding bits unspecified (readers ignore them); the file stores the
    // canonical form, so equal models give equal files and the loader can insist on zeros.
    clearPadding(weights, w.rows, w.cols, w.bits);
    clearPadding(bias, 1, w.rows, BIAS_BITS);
    for (const [name, bytes, rows, cols, bits] of [["weights", weights, w.rows, w.cols, w.bits], ["bias", bias, 1, w.rows, BIAS_BITS]] as const) {
      const bad = findInvalidCode(bytes, 0, rows, cols, bits);
      if (bad) throw new Error(`${what}: ${l.name} ${name} hold the code -2^${bits - 1} at [${bad.row}, ${bad.col}], outside the symmetric range`);
    }
    // Only qat8 (refused above) moves a bias exponent away from BIAS_EXP.
    return { name: l.name, rows: w.rows, cols: w.cols, bits: w.bits, exp: w.exp, biasBits: BIAS_BITS, biasExp: BIAS_EXP, weights, bias };
  });
  const e = model.engine;
  return {
    definition, layers,
    actBits: model.options.actBits, rounding: e.rounding, seed: e.seed >>> 0, step: e.step, batch: model.options.batch,
  };
}

/**
 * The model file of a trained integer model (an IntegerLearner or a Model): the bytes are
 * checked by the loader's own decoder before they are returned.
 */
export async function saveModel(source: Learner | Model): Promise<Uint8Array> {
  const bytes = await encodeModelFile(modelFileOf(source));
  try {
    await decodeModelFile(bytes);
  } catch (e) {
    if (e instanceof ModelFileError) throw new Error(`saveModel: the written file does not read back: ${e.message}`, { cause: e });
    throw e;
  }
  return bytes;
}
