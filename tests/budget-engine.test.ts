// The plan is the allocator and the engine enforces the budget: planned == measured after real
// steps, a plan over budget is refused before training with its numbers, and the memory cannot grow.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../src/engine/engine.js";
import { lenet5, mlp, type ModelDefinition } from "../src/nn/model.js";
import { buildWithinBudget } from "../src/nn/fit.js";
import { BudgetError } from "../src/budget/errors.js";
import { breakdown } from "../src/budget/fit-table.js";
import { IntegerLearner } from "../src/train/integer.js";

function batchOf(def: ModelDefinition, batch: number, seed: number) {
  const per = def.input.reduce((a, b) => a * b, 1);
  let s = seed >>> 0;
  const images = new Float32Array(batch * per).map(() => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
  const labels = new Uint8Array(batch).map((_, i) => i % def.classes);
  return { images, labels };
}

for (const c of [
  { def: mlp([32], [64], 4), batch: 16, weightBits: 6, maxWeightBits: 10, budget: 256 * 1024 },
  { def: mlp([128, 64], [28, 28, 1], 10), batch: 8, weightBits: 8, maxWeightBits: 8, budget: 512 * 1024 },
  { def: lenet5(), batch: 4, weightBits: 6, maxWeightBits: 12, budget: 256 * 1024 },
  { def: lenet5(), batch: 8, weightBits: 4, maxWeightBits: 8, budget: 256 * 1024 },
]) {
  test(`${c.def.name}, batch ${c.batch}, widths ${c.weightBits}..${c.maxWeightBits} in ${c.budget} bytes: measured peak == planned peak`, async () => {
    const learner = await IntegerLearner.create(c.def, {
      batch: c.batch, seed: 3, isa: "simd", weightBits: c.weightBits, maxWeightBits: c.maxWeightBits, budgetBytes: c.budget,
    });
    const { images, labels } = batchOf(c.def, c.batch, 5);
    for (let i = 0; i < 3; i++) learner.trainStep(images, labels, 0.05);
    // Widen every layer to the reservation: the widest weights must still stay inside the plan.
    for (const name of Object.keys(learner.weightBits())) learner.setBits(name, c.maxWeightBits);
    learner.trainStep(images, labels, 0.05);
    const m = learner.memory();
    assert.equal(m.budgetBytes, c.budget);
    assert.ok(m.plannedPeakBytes <= c.budget, `planned ${m.plannedPeakBytes} within ${c.budget}`);
    assert.equal(m.measuredPeakBytes, m.plannedPeakBytes);
    const sum = Object.values(m.breakdown.byCategory).reduce((a, b) => a + b, 0);
    assert.equal(sum, m.plannedPeakBytes, "the breakdown adds up to the peak");
    assert.equal(learner.engine.memory.byteLength, Math.ceil(m.plannedPeakBytes / 65536) * 65536, "memory holds the plan's pages");
  });
}

test("the memory cannot grow past the budget: from JavaScript Memory.grow throws", async () => {
  const learner = await IntegerLearner.create(mlp([16], [16], 4), {
    batch: 4, seed: 1, isa: "simd", weightBits: 8, maxWeightBits: 8, budgetBytes: 128 * 1024,
  });
  const memory = learner.engine.abi.memory;
  const pages = memory.buffer.byteLength / 65536;
  assert.ok(pages <= 2);
  if (pages < 2) memory.grow(2 - pages);
  assert.throws(() => memory.grow(1), RangeError);
  assert.equal(memory.buffer.byteLength, 128 * 1024);
});

test("a plan over budget is refused before training with the total, the largest items and what would fit", async () => {
  const engine = await Engine.create("simd", { budgetBytes: 256 * 1024 });
  const options = { batch: 32, seed: 1, actBits: 8, errBits: 8, weightBits: 6, maxWeightBits: 12 };
  let error: unknown;
  try {
    buildWithinBudget(engine, lenet5(), options, 4);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof BudgetError, String(error));
  const e = error as BudgetError;
  assert.equal(e.budgetBytes, 256 * 1024);
  assert.ok(e.plannedBytes > 256 * 1024);
  // The numbers are the plan's own: the largest item is lenet5's first conv output at batch 32.
  assert.equal(e.largest[0].name, "conv2d0 output");
  assert.equal(e.largest[0].bytes, 32 * 28 * Math.ceil((28 * 6 * 8) / 32) * 4);
  assert.match(e.message, /conv2d0 output/);
  assert.match(e.message, /262,144/);
  assert.ok(e.suggestions.some((s) => /^batch \d+ fits/.test(s)), e.suggestions.join("; "));
  // The suggested batch really fits.
  const batch = Number(/^batch (\d+) fits/.exec(e.suggestions.find((s) => /^batch \d+ fits/.test(s))!)![1]);
  const ok = await Engine.create("simd", { budgetBytes: 256 * 1024 });
  buildWithinBudget(ok, lenet5(), { ...options, batch }, 4);
  assert.ok(ok.plan.peakBytes <= 256 * 1024);
  assert.equal(breakdown(ok.plan).byCategory.weights > 0, true);
});

test("fp32 training of the same model and batch needs more than 256 KiB (the planner says how much)", async () => {
  const { Fp32Learner } = await import("../src/baselines/fp32/learner.js");
  const f = await Fp32Learner.create(lenet5(), { batch: 8, seed: 1, isa: "simd" });
  assert.ok(f.plan.peakBytes > 256 * 1024, `fp32 plan ${f.plan.peakBytes}`);
});
