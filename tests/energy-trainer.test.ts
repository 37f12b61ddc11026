// The energy account as the trainer fills it (src/train/trainer.ts): every policy's report carries
// a valid `energy` section; only training steps are counted (not evaluation); a fixed-width run
// costs the same every step; the fp32 trainer reports its float work, qat8 its master copy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createDataset, type Dataset, type Split } from "../src/data/index.js";
import { conv2d, dense, flatten, maxPool, relu, sequential } from "../src/nn/model.js";
import { apt, fixed, fp32, qat8, type PolicySpec } from "../src/train/policy.js";
import { train } from "../src/train/trainer.js";
import { learnerFactory } from "../src/baselines/factory.js";
import { validateReport } from "../src/report/schema.js";
import { renderReport } from "../src/report/html.js";
import { Rng } from "./helpers/random.js";

const model = () => sequential("tiny", [6, 6, 1], 3, [
  conv2d({ filters: 2, kernel: 3, padding: 1 }), relu(), maxPool(2), flatten(), dense({ units: 5, relu: true }), dense({ units: 3 }),
]);

function data(name: string, count: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 3);
  const images = Float32Array.from({ length: count * 36 }, (_, i) => (labels[Math.floor(i / 36)] === (i % 36) % 3 ? 0.8 : 0.1) + (rng.u32() / 2 ** 32) * 0.1);
  return createDataset({ name, count, height: 6, width: 6, channels: 1, classes: 3, images, labels });
}

const split = (testCount: number): Split => ({ train: data("tiny/train", 48, 1), test: data("tiny/test", testCount, 2) });

async function run(policy: PolicySpec, o: { testCount?: number; epochs?: number } = {}) {
  const { report } = await train({ model: model(), data: split(o.testCount ?? 12), policy, epochs: o.epochs ?? 1, batch: 8, lr: 0.05, learnerFactory, scaling: "exact" });
  return report;
}

test("every policy's report carries a valid energy account of its training steps", async () => {
  for (const policy of [fixed(8), apt(), qat8(), fp32()]) {
    const r = await run(policy);
    const e = r.energy!;
    assert.ok(e, `${r.policy}: no energy`);
    assert.deepEqual(validateReport(r), [], r.policy);
    assert.equal(e.steps, r.steps);
    assert.equal(e.arithmetic, policy.kind === "fp32" ? "float" : "integer");
    assert.ok(e.totalJoules > 0 && e.computeJoules > 0 && e.memoryJoules > 0);
    assert.ok(e.fp32Joules >= e.totalJoules, `${r.policy}: fp32 repricing below the run`);
    const pairs = Object.keys(e.opCounts.macs);
    if (policy.kind === "fp32") {
      assert.deepEqual(pairs, ["32x32"]);
      assert.ok(Object.keys(e.byWhat).some((w) => w.endsWith("im2col")) && Object.keys(e.byWhat).some((w) => w.endsWith("weight update")));
      assert.ok(Math.abs(e.fp32Joules - e.totalJoules) <= 1e-12 * e.totalJoules);
    } else {
      assert.ok(pairs.every((p) => /^\d+x\d+$/.test(p) && p !== "32x32"), pairs.join());
    }
    if (policy.kind === "qat8") assert.ok(Object.keys(e.byWhat).some((w) => w.includes("master")), "qat8: master work not counted");
    if (policy.kind === "apt") assert.equal(e.rounding, "stochastic");
    assert.match(renderReport(r), /same run priced as fp32/);
  }
});

test("evaluation is not counted: a larger test set leaves the training energy unchanged", async () => {
  for (const policy of [fixed(6), fp32()]) {
    const a = await run(policy, { testCount: 6 }), b = await run(policy, { testCount: 30 });
    assert.equal(a.energy!.totalJoules, b.energy!.totalJoules, policy.kind);
    assert.deepEqual(a.energy!.opCounts, b.energy!.opCounts);
  }
});

test("a fixed-width run costs the same every step: two epochs cost twice one", async () => {
  const one = await run(fixed(8), { epochs: 1 }), two = await run(fixed(8), { epochs: 2 });
  assert.equal(two.steps, 2 * one.steps);
  const e1 = one.energy!, e2 = two.energy!;
  assert.ok(Math.abs(e2.totalJoules - 2 * e1.totalJoules) <= 1e-12 * e2.totalJoules);
  assert.ok(Math.abs(e2.perStepJoules - e1.perStepJoules) <= 1e-12 * e1.perStepJoules);
});

test("wider weights cost more training energy; integer costs less than fp32", async () => {
  const e4 = (await run(fixed(4))).energy!.totalJoules;
  const e8 = (await run(fixed(8))).energy!.totalJoules;
  const e16 = (await run(fixed(16))).energy!.totalJoules;
  const f = (await run(fp32())).energy!.totalJoules;
  assert.ok(e4 < e8 && e8 < e16 && e16 < f, `${e4} ${e8} ${e16} ${f}`);
});
