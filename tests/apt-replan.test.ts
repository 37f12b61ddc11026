// A plan that follows the knob (docs/apt.md): activations and errors are planned at the slot, an
// output held there for SLOT_PATIENCE decisions re-plans one bit wider from a snapshot, never past
// capBits nor the budget; the report's peak is the largest plan used (planned == measured), a
// re-planned learner holds the whole training state, and a run resumed across a re-plan ends
// bit-identical to the uninterrupted one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mlp } from "../src/nn/model.js";
import { COMPACT_WORKSPACE, plannedPeak } from "../src/nn/fit.js";
import { Engine, MIN_WORKSPACE } from "../src/engine/engine.js";
import { fits } from "../src/budget/errors.js";
import { apt } from "../src/train/policy.js";
import { SLOT_PATIENCE } from "../src/train/controller.js";
import { IntegerLearner } from "../src/train/integer.js";
import { modelFileOf } from "../src/model-file/save.js";
import { encodeModelFile } from "../src/model-file/codec.js";
import { train, type TrainOptions } from "../src/train/trainer.js";
import { decodeCheckpoint } from "../src/train/checkpoint.js";
import { validateReport } from "../src/report/schema.js";
import { blobs } from "./helpers/blobs.js";

const data = blobs(400, 9);
const model = () => mlp([16], [12], 3);
// rMin far above any rms code: every output asks for a bit more at every decision, so the slot
// holds it and the run grows the plan as far as it may.
const greedy = (o: { slotBits: number; capBits: number }) => apt({ interval: 2, bMin: 3, bMax: 8, initialBits: 4, rMin: 1e6, rMax: 3e6, ...o });
const base = (policy = greedy({ slotBits: 4, capBits: 6 })): TrainOptions => ({
  model: model(), data, policy, epochs: 2, batch: 16, lr: 0.1, seed: 4, isa: "simd", scaling: "delayed", logEvery: 5,
});

const peakAt = async (bits: number) => plannedPeak(await Engine.create("simd"), model(), {
  batch: 16, seed: 4, actBits: bits, errBits: bits, weightBits: 4, maxWeightBits: 8,
});

test("an output held by its slot re-plans one bit wider at a time, up to capBits, and the peak is the largest plan", async () => {
  const { report } = await train(base());
  assert.deepEqual(report.replans?.map((r) => [r.slotBits, r.refused]), [[5, undefined], [6, undefined]]);
  const interval = 2;
  // The first decision that holds an output is at step 2; SLOT_PATIENCE of them in a row re-plan.
  assert.equal(report.replans![0].step, SLOT_PATIENCE * interval);
  assert.equal(report.memory?.plannedPeakBytes, await peakAt(6));
  assert.equal(report.memory?.measuredPeakBytes, report.memory?.plannedPeakBytes);
  assert.ok((await peakAt(6)) > (await peakAt(4)));
  const outputs = report.bitsHistory.filter((d) => d.tensor === "output");
  assert.ok(outputs.some((d) => d.limitedBy === "slot"), "held by the slot before growing");
  assert.equal(outputs.at(-1)?.limitedBy, "cap", "held by the cap once the plan may not grow");
  assert.ok(outputs.every((d) => d.newBits <= 6));
  assert.deepEqual(validateReport(report), []);
});

test("a budget that cannot hold the next slot stops the growth: logged, and the run goes on inside it", async () => {
  // Wide enough that the slots' plans differ by more than a wasm page, the budget's grain.
  const wide = () => mlp([512], [12], 3);
  const engine = await Engine.create("simd");
  // Under a budget the workspace shrinks to fit, so a plan's size depends on the budget too.
  const at = (bits: number, budget: number) => plannedPeak(engine, wide(), {
    batch: 512, seed: 4, actBits: bits, errBits: bits, weightBits: 4, maxWeightBits: 8,
  }, budget);
  let budgetBytes = 65536;
  while (!(fits(at(5, budgetBytes), budgetBytes) && !fits(at(6, budgetBytes), budgetBytes))) {
    budgetBytes += 65536;
    assert.ok(budgetBytes < 1 << 23, "no budget holds slot 5 but not slot 6");
  }
  const { report } = await train({ ...base(), model: wide(), data: blobs(1400, 9), batch: 512, epochs: 6, budgetBytes });
  assert.deepEqual(report.replans?.map((r) => [r.slotBits, r.refused === undefined]), [[5, true], [6, false]]);
  assert.match(report.replans![1].refused!, /budget/i);
  assert.equal(report.memory?.plannedPeakBytes, at(5, budgetBytes));
  assert.ok(report.memory!.plannedPeakBytes <= budgetBytes);
  assert.equal(report.bitsHistory.filter((d) => d.tensor === "output").at(-1)?.limitedBy, "budget");
});

test("a plan at its cap never grows", async () => {
  const { report } = await train(base(greedy({ slotBits: 5, capBits: 5 })));
  assert.equal(report.replans, undefined);
  assert.equal(report.memory?.plannedPeakBytes, await peakAt(5));
  assert.equal(report.bitsHistory.filter((d) => d.tensor === "output").at(-1)?.limitedBy, "cap");
});

test("a re-planned learner holds the whole training state: weights, exponents, step, ranges, output widths", async () => {
  const a = await IntegerLearner.create(model(), {
    batch: 16, seed: 4, isa: "simd", weightBits: 4, maxWeightBits: 8, actBits: 5, errBits: 5, scaling: "delayed", tieActivations: true, outputBits: 4,
  });
  const images = Float32Array.from({ length: 16 * 12 }, (_, i) => Math.sin(i));
  const labels = Uint8Array.from({ length: 16 }, (_, i) => i % 3);
  for (let s = 0; s < 3; s++) a.trainStep(images, labels, 0.1);
  a.setOutputBits(a.model.layers[0].name, 5);
  const b = await a.replanned(6);
  // The same file but for the planned activation width.
  assert.deepEqual(await encodeModelFile(modelFileOf(b)), await encodeModelFile({ ...modelFileOf(a), actBits: 6 }));
  assert.equal(b.engine.step, a.engine.step);
  assert.deepEqual(b.outputBits(), a.outputBits());
  assert.equal(b.model.options.actBits, 6);
  assert.ok(b.memory().plannedPeakBytes > a.memory().plannedPeakBytes);
  const layers = (l: IntegerLearner) => l.model.layers.filter((x) => "scalingState" in x) as unknown as { scalingState(): { output: number | null; inputError: number | null } }[];
  layers(a).forEach((la, i) => {
    const sa = la.scalingState(), sb = layers(b)[i].scalingState();
    // Stated at the planned widths: the top of the range (exponent + width) is kept.
    assert.equal(sb.output! + 6, sa.output! + 5);
    if (sa.inputError !== null) assert.equal(sb.inputError! + 6, sa.inputError + 5);
  });
});

test("stopped after a re-plan and resumed from the checkpoint, the run ends bit-identical", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-replan-"));
  const path = join(dir, "run.ckpt");
  const whole = await train(base());
  const firstReplan = whole.report.replans![0].step;
  const stopAt = firstReplan + 3;
  await assert.rejects(train({
    ...base(), checkpoint: { path, every: 1 },
    onProgress: (p) => { if (p.step >= stopAt) throw new Error("power lost"); },
  }), /power lost/);
  const saved = await readFile(path);
  const { state } = await decodeCheckpoint(saved);
  assert.ok(state.step > firstReplan && state.slot!.slot >= 5, `checkpoint at step ${state.step}, slot ${state.slot?.slot}`);
  const resumed = await train({ ...base(), resume: saved });
  assert.equal(resumed.report.modelSha256, whole.report.modelSha256);
  assert.deepEqual(resumed.report.bitsHistory, whole.report.bitsHistory);
  assert.deepEqual(resumed.report.replans, whole.report.replans);
  assert.deepEqual(resumed.report.evaluations, whole.report.evaluations);
  assert.equal(resumed.report.memory?.plannedPeakBytes, whole.report.memory?.plannedPeakBytes);
  assert.equal(resumed.report.energy?.totalJoules, whole.report.energy?.totalJoules);
});

test("a compact plan takes the fewest whole pages that hold it, re-planned slots included, and trains the same model", async () => {
  const wide = () => mlp([512], [12], 3);
  const options = (compact: boolean): TrainOptions => ({ ...base({ ...greedy({ slotBits: 4, capBits: 5 }), compact } as never), model: wide(), data: blobs(1400, 9), batch: 512, epochs: 3 });
  const loose = await train(options(false));
  const tight = await train(options(true));
  assert.equal(tight.report.modelSha256, loose.report.modelSha256, "the workspace's size changes blocking, never results");
  const engine = await Engine.create("simd");
  // What the plan holds besides the workspace (a one-byte budget leaves it at MIN_WORKSPACE).
  const rest = plannedPeak(engine, wide(), { batch: 512, seed: 4, actBits: 5, errBits: 5, weightBits: 4, maxWeightBits: 8 }, 1) - MIN_WORKSPACE;
  const keep = Math.min(COMPACT_WORKSPACE, loose.report.memory!.workspaceBytes);
  const peak = tight.report.memory!.plannedPeakBytes;
  assert.equal(peak % 65536, 0, "whole pages");
  assert.ok(tight.report.memory!.workspaceBytes >= keep, `workspace ${tight.report.memory!.workspaceBytes} keeps ${keep}`);
  assert.ok(peak - 65536 < rest + keep, "one page fewer could not hold the plan with that workspace");
  assert.equal(tight.report.memory?.measuredPeakBytes, tight.report.memory?.plannedPeakBytes);
  assert.ok(tight.report.memory!.plannedPeakBytes < loose.report.memory!.plannedPeakBytes);
  assert.deepEqual(tight.report.replans?.map((r) => r.slotBits), [5]);
});
