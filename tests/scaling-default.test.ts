// Delayed scaling is the training default (src/train/defaults.ts); evaluation always runs with exact
// scaling and leaves the exponents delayed scaling carries untouched, so how often a run evaluates
// never changes what it trains, and a report's accuracy is what the saved model predicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { apt, digits, learnerFactory, lenet5, loadModel, saveModel, subset, train, TRAIN_DEFAULTS } from "../src/index.js";
import { IntegerLearner } from "../src/train/integer.js";

const first = (n: number) => Array.from({ length: n }, (_, i) => i);

test("the default scaling is delayed for integer policies and exact for fp32, and the report says which ran", async () => {
  assert.equal(TRAIN_DEFAULTS.scaling, "delayed");
  const d = await digits();
  const data = { train: subset(d.train, first(64)), test: subset(d.test, first(16)) };
  const base = { model: lenet5(), data, epochs: 1, batch: 16, seed: 2, learnerFactory };
  const integer = await train({ ...base, policy: apt() });
  assert.equal(integer.report.config.scaling, "delayed");
  assert.equal((integer.learner as IntegerLearner).engine.scaling, "delayed", "the learner runs the scaling the report names");
  const float = await train({ ...base, policy: { kind: "fp32" } as never });
  assert.equal(float.report.config.scaling, "exact");
});

test("evaluating between steps changes neither the trained model nor delayed scaling's carried exponents", async () => {
  const d = await digits();
  const images = new Float32Array(16 * 784), labels = new Uint8Array(16);
  const batchAt = (k: number) => {
    for (let i = 0; i < 16; i++) {
      images.set(d.train.images.subarray((k * 16 + i) * 784, (k * 16 + i + 1) * 784), i * 784);
      labels[i] = d.train.labels[k * 16 + i];
    }
  };
  const make = () => IntegerLearner.create(lenet5(), { batch: 16, seed: 5, weightBits: 6, maxWeightBits: 10, scaling: "delayed", tieActivations: true });
  const plain = await make(), evaluated = await make();
  const testImages = d.test.images.subarray(0, 16 * 784), testLabels = d.test.labels.subarray(0, 16);
  for (let k = 0; k < 6; k++) {
    batchAt(k);
    plain.trainStep(images, labels, 0.1);
    evaluated.trainStep(images, labels, 0.1);
    // A batch of very different scale: an evaluation that carried its exponents would move them.
    evaluated.evaluate(Float32Array.from(testImages, (x) => x * 50), testLabels, 16);
    assert.equal(evaluated.engine.scaling, "delayed", "evaluation restores the engine's scaling");
  }
  assert.equal(await evaluated.modelSha256(), await plain.modelSha256());
});

test("a delayed-scaling run's reported accuracy is what its saved model file predicts", async () => {
  const d = await digits();
  const data = { train: subset(d.train, first(160)), test: subset(d.test, first(48)) };
  const { report, learner } = await train({ model: lenet5(), data, policy: apt(), epochs: 1, batch: 16, seed: 3, learnerFactory });
  assert.equal(report.config.scaling, "delayed");
  // Grouped as the trainer evaluated: activation exponents are chosen per batch.
  const loaded = await loadModel(await saveModel(learner as IntegerLearner), { batch: 16 });
  const { classes } = loaded.predict(data.test.images, data.test.count);
  let correct = 0;
  for (let i = 0; i < data.test.count; i++) if (classes[i] === data.test.labels[i]) correct++;
  assert.equal(correct / data.test.count, report.accuracy);
});
