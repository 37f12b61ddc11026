// train() checks its options before any work, as TypeError / RangeError naming the option; a
// budget without a batch picks the largest batch that fits; every policy reports its memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createDataset, split, type Split } from "../src/data/index.js";
import { mlp } from "../src/nn/model.js";
import { apt, fixed, fp32, qat8, type PolicySpec } from "../src/train/policy.js";
import { largestBatchThatFits, train, type TrainOptions } from "../src/train/trainer.js";
import { TRAIN_DEFAULTS } from "../src/train/defaults.js";
import { Fp32Learner } from "../src/baselines/fp32/learner.js";
import { saveModel } from "../src/model-file/index.js";
import { validateReport } from "../src/report/schema.js";
import { blobs } from "./helpers/blobs.js";

const data = blobs(120, 3);
const base = (over: Partial<TrainOptions> = {}): TrainOptions => ({
  model: mlp([8], [12], 3), data, policy: fixed(8), epochs: 1, batch: 8, lr: 0.1, isa: "simd", ...over,
});

/** train(options) rejects with `type` whose message matches, before a single step ran. */
async function refuses(over: Record<string, unknown>, type: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, message: RegExp): Promise<void> {
  let steps = 0;
  const o = { ...base(), onProgress: () => { steps++; }, logEvery: 1, ...over } as TrainOptions;
  await assert.rejects(train(o), (e: unknown) => {
    assert.ok(e instanceof type, `${JSON.stringify(Object.keys(over))}: ${String(e)}`);
    assert.match((e as Error).message, message);
    return true;
  });
  assert.equal(steps, 0, "a step ran before the refusal");
}

test("values of the wrong type or range are refused with the option's name", async () => {
  await refuses({ scaling: "bogus" }, RangeError, /^scaling must be "exact" or "delayed", got "bogus"$/);
  for (const every of [0, NaN, -3, 2.5]) await refuses({ checkpoint: { path: "x.ckpt", every } }, RangeError, /^checkpoint\.every must be an integer in 1\.\./);
  await refuses({ checkpoint: { path: "", every: 1 } }, TypeError, /^checkpoint\.path must be a non-empty string/);
  await refuses({ checkpoint: "x.ckpt" }, TypeError, /^checkpoint must be \{ path, every \}/);
  await refuses({ policy: null }, TypeError, /^policy must be a policy \(apt\(\), fixed\(bits\), qat8\(\) or fp32\(\)\), got null$/);
  await refuses({ policy: { kind: "wide" } }, TypeError, /^policy must be .* got kind "wide"$/);
  await refuses({ policy: { ...apt(), bMax: 40 } }, RangeError, /^policy: bMax must be an integer in 2\.\.16, got 40$/);
  await refuses({ policy: { kind: "fixed", bits: 1, rounding: "nearest" } }, RangeError, /^policy: fixed bits must be an integer in 2\.\.16/);
  await refuses({ data: { train: data.train } }, TypeError, /^data\.test must be a dataset/);
  await refuses({ data: null }, TypeError, /^data must be a split/);
  await refuses({ model: undefined }, TypeError, /^model must be a model definition/);
  await refuses({ epochs: 0 }, RangeError, /^epochs must be an integer in 1\.\./);
  await refuses({ epochs: "2" }, TypeError, /^epochs must be an integer/);
  await refuses({ lr: -1 }, RangeError, /^lr must be a positive finite number, got -1$/);
  await refuses({ schedule: "linear" }, RangeError, /^schedule must be "constant", "cosine" or "step", got "linear"$/);
  await refuses({ isa: "avx" }, RangeError, /^isa must be "auto", "simd", "scalar" or "relaxed", got "avx"$/);
  await refuses({ actBits: 1 }, RangeError, /^actBits must be an integer in 2\.\.16, got 1$/);
  await refuses({ budgetBytes: 1000 }, RangeError, /^budgetBytes must be a finite number of bytes of at least one 64 KiB wasm page/);
  await refuses({ resume: [1, 2, 3] }, TypeError, /^resume must be the checkpoint's bytes/);
  await refuses({ onProgress: "log" }, TypeError, /^onProgress must be a function/);
  await refuses({ signal: {} }, TypeError, /^signal must be an AbortSignal/);
});

test("options the policy would ignore are refused, checkpoints for qat8 and fp32 included", async () => {
  for (const policy of [qat8(), fp32()]) {
    await refuses({ policy, checkpoint: { path: "x.ckpt", every: 5 } }, RangeError, new RegExp(`^checkpoint does not apply to policy ${policy.kind}: checkpoints hold integer models \\(apt, fixed\\) only$`));
    await refuses({ policy, resume: new Uint8Array(64) }, RangeError, new RegExp(`^resume does not apply to policy ${policy.kind}`));
  }
  await refuses({ policy: fp32(), scaling: "delayed" }, RangeError, /^scaling "delayed" does not apply to policy fp32/);
  await refuses({ policy: fp32(), actBits: 8 }, RangeError, /^actBits 8 does not apply to policy fp32/);
  await refuses({ policy: qat8(), errBits: 6 }, RangeError, /^errBits 6 does not apply to policy qat8 \(it runs every activation and error at 8 bits\)$/);
});

test("a model that does not fit the data is refused before the first step, naming both sides", async () => {
  await refuses({ model: mlp([8], [12], 10) }, RangeError, /^model: the model mlp-8 predicts 10 classes but blobs\/train has 3$/);
  await refuses({ model: mlp([8], [16], 3) }, RangeError, /^model: the model mlp-8 takes \[16\] inputs \(16 values\) but blobs\/train has 1x12x1 images \(12 values\)$/);
  await refuses({ model: mlp([8], [12, 1, 1], 3) }, RangeError, /^model: the model mlp-8 takes \[12, 1, 1\] inputs/);
  const one = createDataset({ name: "one", count: 1, height: 1, width: 12, channels: 1, classes: 3, images: new Float32Array(12), labels: new Uint8Array(1) });
  const none = createDataset({ ...one, name: "none", count: 0, images: new Float32Array(0), labels: new Uint8Array(0) });
  await refuses({ data: { train: one, test: data.test }, batch: 1 }, RangeError, /^data: one has 1 sample; training needs at least 2$/);
  await refuses({ data: { train: none, test: data.test }, batch: 1 }, RangeError, /^data: none has 0 samples/);
  await refuses({ data: { train: data.train, test: none } }, RangeError, /^data: none has no samples to evaluate on$/);
  await refuses({ batch: 97 }, RangeError, /^batch \(97\) exceeds the training set \(blobs\/train: 96 samples\)$/);
});

/** 4096 features: at 128 KiB, fixed:8 fits batch 12 but not the default 32. */
function wide(count: number): Split {
  const F = 4096;
  const images = new Float32Array(count * F), labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 3;
    for (let f = 0; f < F; f++) images[i * F + f] = ((f * 7 + i * 13) % 17) / 17 * (f % 3 === labels[i] ? 1 : 0.2);
  }
  return split(createDataset({ name: "wide", count, height: 1, width: F, channels: 1, classes: 3, images, labels }), Math.floor(count * 0.75), 2);
}

test("a budget and no batch: the largest batch up to the default that fits, recorded in the report", async () => {
  const model = mlp([16], [4096], 3);
  const budgetBytes = 128 * 1024;
  const fitting = await largestBatchThatFits(model, fixed(8), budgetBytes, { upTo: TRAIN_DEFAULTS.batch, isa: "simd" });
  assert.ok(fitting !== null && fitting > 1 && fitting < TRAIN_DEFAULTS.batch, `batch ${fitting}`);
  // The one above does not fit: asking for it is refused.
  await assert.rejects(train({ model, data: wide(64), policy: fixed(8), epochs: 1, batch: fitting + 1, budgetBytes, isa: "simd" }), /budget: the plan needs/);
  const { report } = await train({ model, data: wide(64), policy: fixed(8), epochs: 1, budgetBytes, isa: "simd" });
  assert.equal(report.config.batch, fitting);
  assert.equal(report.config.batchChosenBy, "budget");
  assert.ok(report.memory!.plannedPeakBytes <= budgetBytes);
  // Given a batch, the run keeps it and says nothing of a choice.
  const given = await train({ model, data: wide(64), policy: fixed(8), epochs: 1, batch: 4, budgetBytes, isa: "simd" });
  assert.equal(given.report.config.batch, 4);
  assert.equal(given.report.config.batchChosenBy, undefined);
});

test("every policy's report has the same sections, memory included (fp32 and qat8: their own plan's peak)", async () => {
  const policies: PolicySpec[] = [apt({ interval: 4 }), fixed(6), qat8(), fp32()];
  const reports = [];
  for (const policy of policies) {
    const { report, learner } = await train(base({ policy }));
    assert.deepEqual(validateReport(report), [], policy.kind);
    reports.push(report);
    if (policy.kind === "fp32") {
      assert.equal(report.memory!.plannedPeakBytes, (learner as Fp32Learner).plan.peakBytes);
      assert.equal(report.memory!.fp32Bytes, report.memory!.plannedPeakBytes);
      assert.equal(report.memory!.measuredPeakBytes, null);
      // What train() returns is accepted by saveModel, which refuses float weights at run time.
      await assert.rejects(saveModel(learner), /saveModel: a Fp32Learner keeps float weights/);
    } else {
      assert.ok(report.memory!.measuredPeakBytes! > 0);
    }
    if (policy.kind === "qat8") assert.equal(report.memory!.qat8Bytes, report.memory!.plannedPeakBytes);
  }
  const sections = reports.map((r) => Object.keys(r).sort().join(","));
  assert.equal(new Set(sections).size, 1, sections.join("\n"));
  const memoryKeys = reports.map((r) => Object.keys(r.memory!).sort().join(","));
  assert.equal(new Set(memoryKeys).size, 1, memoryKeys.join("\n"));
});

test("fp32 trains without a learnerFactory (the built-in one loads on demand)", async () => {
  const { report } = await train(base({ policy: fp32() }));
  assert.equal(report.policy, "fp32");
  assert.equal(report.steps, 12);
});
