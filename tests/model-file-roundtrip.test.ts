// Model file round trip: train a small integer model (mlp, lenet5) with its layers at different
// widths, save it, load it, and predict: the loaded model's logits equal the trained model's own
// predict() bit for bit (same codes, same exponents, same rounding draws), batch by batch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LinearLayer } from "../src/nn/layers/linear.js";
import { lenet5, mlp, Model, dense, relu, sequential, type ModelDefinition } from "../src/nn/model.js";
import { Engine } from "../src/engine/engine.js";
import { rowStrideBytes } from "../src/format/packed.js";
import type { Rounding } from "../src/runtime/descriptors.js";
import { IntegerLearner } from "../src/train/integer.js";
import {
  decodeModelFile, encodeModelFile, FORMAT_VERSION, HEADER, HEADER_BYTES, loadModel, MAGIC, saveModel, type LoadedModel,
} from "../src/model-file/index.js";
import { Rng } from "./helpers/random.js";

function samples(seed: number, count: number, per: number): { x: Float32Array; y: Uint8Array } {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: count * per }, () => rng.u32() / 2 ** 32);
  const y = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { x, y };
}

/** A learner trained a few steps, then its weighted layers set to `widths` and trained again (so
 *  the saved codes are ones the engine produced at those widths). */
async function trained(def: ModelDefinition, widths: number[], o: { batch: number; rounding?: Rounding; steps?: number }): Promise<IntegerLearner> {
  const learner = await IntegerLearner.create(def, { batch: o.batch, seed: 7, weightBits: 8, maxWeightBits: 16, rounding: o.rounding });
  const per = def.input.reduce((a, b) => a * b, 1);
  const data = samples(11, o.batch, per);
  const labels = data.y.map((v) => v % def.classes);
  const steps = o.steps ?? 2;
  for (let s = 0; s < steps; s++) learner.trainStep(data.x, labels, 0.05);
  const names = Object.keys(learner.weightBits());
  assert.equal(names.length, widths.length);
  names.forEach((n, i) => learner.setBits(n, widths[i]));
  for (let s = 0; s < steps; s++) learner.trainStep(data.x, labels, 0.05);
  assert.deepEqual(Object.values(learner.weightBits()), widths);
  return learner;
}

/** Predicts `count` samples on both, grouped in the learner's batch, and requires equal logits. */
function assertSameLogits(learner: IntegerLearner, loaded: LoadedModel, count: number, seed: number): void {
  const def = learner.model.definition;
  const per = def.input.reduce((a, b) => a * b, 1);
  const { x } = samples(seed, count, per);
  const got = loaded.predict(x, count);
  assert.equal(got.logits.length, count * def.classes);
  assert.equal(got.classes.length, count);
  const batch = learner.batch;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const want = learner.model.predict(x.subarray(start * per, (start + n) * per), n);
    for (let i = 0; i < want.length; i++) {
      const at = start * def.classes + i;
      if (!Object.is(want[i], got.logits[at])) {
        assert.fail(`${def.name}: logit ${i % def.classes} of sample ${start + Math.floor(i / def.classes)} is ${got.logits[at]}, the trained model gives ${want[i]}`);
      }
    }
  }
  for (let s = 0; s < count; s++) {
    const row = Array.from(got.logits.subarray(s * def.classes, (s + 1) * def.classes));
    assert.equal(got.classes[s], row.indexOf(Math.max(...row)), `class of sample ${s}`);
  }
}

test("mlp at 3, 12 and 16 bits: saved, loaded, identical logits (stochastic rounding, short last batch)", async () => {
  const learner = await trained(mlp([24, 12], [6, 6, 1], 4), [3, 12, 16], { batch: 8 });
  const bytes = await saveModel(learner);
  const loaded = await loadModel(bytes, { batch: learner.batch });
  assert.deepEqual(loaded.weightBits(), learner.weightBits());
  assertSameLogits(learner, loaded, 21, 5);
});

test("mlp at 5, 9 and 2 bits with round-to-nearest: identical logits", async () => {
  const learner = await trained(mlp([16, 8], [20], 3), [5, 9, 2], { batch: 4, rounding: "nearest" });
  const loaded = await loadModel(await saveModel(learner), { batch: 4 });
  assert.equal(loaded.file.rounding, "nearest");
  assertSameLogits(learner, loaded, 10, 6);
});

test("lenet5 at 3, 5, 9, 12 and 16 bits: identical logits, on the SIMD and the scalar build", async () => {
  const learner = await trained(lenet5(), [3, 5, 9, 12, 16], { batch: 8, steps: 1 });
  const bytes = await saveModel(learner);
  for (const isa of ["simd", "scalar"] as const) {
    const loaded = await loadModel(bytes, { batch: 8, isa });
    assert.equal(loaded.isa, isa);
    assert.deepEqual(loaded.weightBits(), { conv2d0: 3, conv2d3: 5, dense7: 9, dense9: 12, dense11: 16 });
    assertSameLogits(learner, loaded, 12, 8);
  }
});

test("the file holds exactly the model's codes, widths and exponents, and the header describes it", async () => {
  const learner = await trained(mlp([10], [7], 3), [5, 13], { batch: 4 });
  const bytes = await saveModel(learner);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), MAGIC);
  assert.equal(view.getUint16(HEADER.version, true), FORMAT_VERSION);
  assert.equal(view.getUint32(HEADER.headerLength, true), HEADER_BYTES);
  assert.equal(view.getUint32(HEADER.fileLength, true), bytes.length);
  assert.equal(view.getUint32(HEADER.layerCount, true), 2);
  const file = await decodeModelFile(bytes);
  assert.deepEqual(file.definition, JSON.parse(JSON.stringify(learner.model.definition)));
  assert.equal(file.batch, 4);
  assert.equal(file.step, learner.model.engine.step);
  assert.equal(file.seed, learner.model.engine.seed);
  const linear = learner.model.layers.filter((l): l is LinearLayer => l instanceof LinearLayer);
  file.layers.forEach((rec, i) => {
    const w = linear[i].weights()[0];
    assert.deepEqual({ name: rec.name, rows: rec.rows, cols: rec.cols, bits: rec.bits, exp: rec.exp },
      { name: linear[i].name, rows: w.rows, cols: w.cols, bits: w.bits, exp: w.exp });
    assert.equal(rec.weights.length, w.rows * rowStrideBytes(w.cols, w.bits));
    // Codes equal; padding (which the engine may leave unspecified) is zero in the file.
    const mem = linear[i].weightBytes();
    const stride = rowStrideBytes(w.cols, w.bits);
    const usedBits = w.cols * w.bits;
    for (let r = 0; r < w.rows; r++) {
      for (let b = 0; b < stride; b++) {
        const keep = b < usedBits >> 3 ? 0xff : b === usedBits >> 3 ? (1 << (usedBits & 7)) - 1 : 0;
        assert.equal(rec.weights[r * stride + b], mem[r * stride + b] & keep, `${rec.name}: byte ${b} of row ${r}`);
      }
    }
  });
  // Canonical: the same model saves to the same bytes, and decode -> encode reproduces them.
  assert.deepEqual(await saveModel(learner), bytes);
  assert.deepEqual(await encodeModelFile(file), bytes);
});

test("a Model built directly saves too; the default batch is 32; predict of 0 samples is empty", async () => {
  const engine = await Engine.create("auto");
  engine.seed = 3;
  const model = new Model(sequential("tiny", [6], 3, [dense({ units: 5 }), relu(), dense({ units: 3 })]), engine,
    { batch: 2, seed: 1, actBits: 8, errBits: 8, weightBits: 6, maxWeightBits: 6 });
  const loaded = await loadModel(await saveModel(model));
  assert.equal(loaded.batch, 32);
  assert.equal(loaded.file.batch, 2);
  const empty = loaded.predict(new Float32Array(0), 0);
  assert.equal(empty.logits.length, 0);
  assert.equal(empty.classes.length, 0);
  const { x } = samples(1, 40, 6);
  const p = loaded.predict(x, 40);
  assert.equal(p.logits.length, 120);
  assert.ok(p.logits.every(Number.isFinite));
  assert.throws(() => loaded.predict(x, 39), RangeError);
});

test("saveModel refuses a qat8 learner (fp32 master weights) with a RangeError", async () => {
  const learner = await IntegerLearner.create(mlp([4], [5], 3), { batch: 2, seed: 1, weightBits: 8, maxWeightBits: 8, masterWeights: true });
  await assert.rejects(saveModel(learner), (e: unknown) => e instanceof RangeError && /qat8/.test(e.message));
});

test("the comparison is sensitive: a different step (stochastic draws) or exponent changes the logits", async () => {
  const learner = await trained(mlp([24, 12], [36], 4), [6, 10, 8], { batch: 8 });
  const file = await decodeModelFile(await saveModel(learner));
  const { x } = samples(9, 8, 36);
  const logits = async (f: typeof file) => (await loadModel(await encodeModelFile(f), { batch: 8 })).predict(x, 8).logits;
  const base = await logits(file);
  assert.deepEqual(base, learner.model.predict(x, 8));
  assert.notDeepEqual(await logits({ ...file, step: file.step + 1 }), base);
  assert.notDeepEqual(await logits({ ...file, layers: file.layers.map((l, i) => (i === 1 ? { ...l, exp: l.exp + 1 } : l)) }), base);
});
