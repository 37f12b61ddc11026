// End to end: a two-layer network (dense -> relu -> dense) trained on a small, fixed, synthetic
// data set with integer weights only (packed codes, no float master copy). The loss must fall
// (the last epoch's mean loss below half the first's) and the classifier must work (training
// accuracy in the last epoch and accuracy on held-out samples above 90%), for stochastic and for
// round-to-nearest updates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../src/engine/engine.js";
import { LinearLayer } from "../src/nn/layers/linear.js";
import { Model, dense, relu, sequential } from "../src/nn/model.js";
import type { Rounding } from "../src/runtime/descriptors.js";
import { Rng } from "./helpers/random.js";

const F = 16, CLASSES = 4, BATCH = 32, EPOCHS = 10, LR = 0.1;

/** Gaussian-ish clusters around fixed random centres; sample i has class i mod CLASSES. */
function dataset(seed: number, n: number, centres: Float64Array[]): { x: Float32Array; y: Uint8Array } {
  const rng = new Rng(seed);
  const u = () => rng.u32() / 2 ** 32;
  const x = new Float32Array(n * F), y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % CLASSES;
    y[i] = c;
    for (let f = 0; f < F; f++) x[i * F + f] = centres[c][f] + (u() + u() + u() - 1.5) * 0.6;
  }
  return { x, y };
}

function centres(seed: number): Float64Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: CLASSES }, () => Float64Array.from({ length: F }, () => rng.u32() / 2 ** 31 - 1));
}

async function train(rounding: Rounding): Promise<string> {
  const engine = await Engine.create("simd");
  engine.seed = 3;
  engine.rounding = rounding;
  const model = new Model(sequential("two-layer", [F], CLASSES, [dense({ units: 32 }), relu(), dense({ units: CLASSES })]),
    engine, { batch: BATCH, seed: 1, actBits: 8, errBits: 8, weightBits: 8, maxWeightBits: 8 });
  // Integer weights only: nothing float is planned, and every weight is a packed 8-bit code.
  assert.equal(engine.plan.byCategory().master ?? 0, 0, "a float master copy was planned");
  const linear = model.layers.filter((l): l is LinearLayer => l instanceof LinearLayer);
  assert.equal(linear.length, 2);
  for (const l of linear) {
    const w = l.weights()[0];
    assert.equal(w.bits, 8);
    assert.equal(l.weightBytes().length, w.rows * Math.ceil((w.cols * 8) / 32) * 4, `${l.name}: packed size`);
  }
  const c = centres(42);
  const train = dataset(7, 512, c);
  const held = dataset(8, 256, c);
  const losses: number[] = [], accuracies: number[] = [];
  const start = linear.map((l) => l.weightBytes().slice());
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    let loss = 0, correct = 0, steps = 0;
    for (let b = 0; b + BATCH <= train.y.length; b += BATCH) {
      const r = model.trainStep(train.x.subarray(b * F, (b + BATCH) * F), train.y.subarray(b, b + BATCH), LR);
      assert.ok(Number.isFinite(r.loss), `epoch ${epoch}: loss ${r.loss}`);
      loss += r.loss; correct += r.correct; steps++;
    }
    losses.push(loss / steps);
    accuracies.push(correct / (steps * BATCH));
  }
  const report = `${rounding}: losses ${losses.map((l) => l.toFixed(3)).join(" ")}; accuracy ${accuracies.map((a) => a.toFixed(2)).join(" ")}`;
  assert.ok(linear.every((l, i) => l.weightBytes().some((v, k) => v !== start[i][k])), `${report}: some layer never changed`);
  assert.ok(losses[EPOCHS - 1] < 0.5 * losses[0], `${report}: loss did not halve`);
  assert.ok(accuracies[EPOCHS - 1] > 0.9, `${report}: final training accuracy`);
  let heldCorrect = 0;
  for (let b = 0; b < held.y.length; b += BATCH) {
    const logits = model.predict(held.x.subarray(b * F, (b + BATCH) * F), BATCH);
    for (let n = 0; n < BATCH; n++) {
      const row = Array.from(logits.subarray(n * CLASSES, (n + 1) * CLASSES));
      if (row.indexOf(Math.max(...row)) === held.y[b + n]) heldCorrect++;
    }
  }
  assert.ok(heldCorrect / held.y.length > 0.9, `${report}: held-out accuracy ${heldCorrect / held.y.length}`);
  return `${report}; held-out ${(heldCorrect / held.y.length).toFixed(3)}`;
}

for (const rounding of ["stochastic", "nearest"] as const) {
  test(`dense -> relu -> dense learns the clusters with ${rounding} updates`, async (t) => {
    t.diagnostic(await train(rounding));
  });
}
