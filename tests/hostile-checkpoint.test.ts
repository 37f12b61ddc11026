// Forged checkpoints: valid checksums, hostile content. Every field is checked against the limits
// the run implies (steps vs epochs, history lengths vs steps done, widths vs the policy, layers vs
// the model), and refused with a CheckpointError naming the field, before the resume path sees it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mlp } from "../src/nn/model.js";
import { apt, fixed } from "../src/train/policy.js";
import { AptController } from "../src/train/controller.js";
import { train, type TrainOptions } from "../src/train/trainer.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type TrainingState } from "../src/train/checkpoint.js";
import type { ModelFile } from "../src/model-file/index.js";
import { blobs } from "./helpers/blobs.js";

// 160 training samples at batch 16: 10 steps per epoch, 2 epochs.
const aptRun: TrainOptions = {
  model: mlp([8], [12], 3), data: blobs(200, 9), policy: apt({ interval: 3, bMin: 3, bMax: 10, initialBits: 5 }),
  epochs: 2, batch: 16, lr: 0.1, seed: 4, isa: "simd", logEvery: 2, scaling: "delayed",
};
const fixedRun: TrainOptions = { ...aptRun, policy: fixed(6), scaling: "exact" };

async function checkpointOf(run: TrainOptions, stopAt: number): Promise<{ model: ModelFile; state: TrainingState; bytes: Uint8Array }> {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-forged-"));
  const path = join(dir, "run.ckpt");
  await train({ ...run, checkpoint: { path, every: 3 }, onProgress: (p) => { if (p.step >= stopAt) throw new Error("stop"); } }).catch(() => {});
  const bytes = new Uint8Array(await readFile(path));
  return { ...(await decodeCheckpoint(bytes)), bytes };
}

const mid = await checkpointOf(aptRun, 14);
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

async function refusedAt(state: unknown, field: string | RegExp, model = mid.model): Promise<CheckpointError> {
  const bytes = await encodeCheckpoint(model, state as TrainingState);
  const e = await decodeCheckpoint(bytes).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${e === null ? "a decoded checkpoint" : `${(e as Error).name}: ${(e as Error).message}`}`);
  if (typeof field === "string") assert.equal(e.field, field, e.message);
  else assert.match(e.field, field, e.message);
  return e;
}

test("the fixture checkpoint is what the checks expect: 12 steps, epoch 1, widths and history consistent", () => {
  assert.equal(mid.state.step, 12);
  assert.equal(mid.state.epoch, 1);
  assert.equal(mid.state.stepInEpoch, 2);
  assert.equal(mid.state.evaluations.length, 1);
  assert.ok(mid.state.bitsHistory.length > 0);
});

test("300,000 bitsHistory entries are refused by length, not a stack overflow in restore", async () => {
  const s = clone(mid.state);
  const entry = s.bitsHistory[0];
  s.bitsHistory = Array.from({ length: 300_000 }, () => entry);
  const e = await refusedAt(s, "state.bitsHistory");
  assert.match(e.message, /has 300000 entries, more than the 16 decisions the steps done allow \(weights and outputs\)/);
});

test("AptController.restore takes a long log without spreading it", () => {
  const c = new AptController(apt({ interval: 3 }) as never, { dense0: 10, dense2: 10 });
  const log = Array.from({ length: 300_000 }, (_, i) => ({ step: 3 * (i + 1), layer: i % 2 ? "dense2" : "dense0", G: 0.1, oldBits: 6, newBits: 6 }));
  c.restore({ dense0: { g: 0.2, n: 1 } }, log);
  assert.equal(c.log.length, 300_000);
  assert.throws(() => c.restore({ convX: { g: 0, n: 0 } }, []), /sums\.convX names "convX", not a tensor this controller moves \(dense0, dense2\)/);
  assert.throws(() => c.restore({}, [{ ...log[0], newBits: 11 }]), /width 11, outside 4\.\.10/);
  assert.throws(() => c.restore({ dense0: { g: 0, n: 3 } }, []), /n in 0\.\.2/);
});

const forgeries: [string, (s: TrainingState) => void, string | RegExp][] = [
  ["a step count past the run's total", (s) => { s.step = 10 ** 9; }, "state.step"],
  ["a step count that disagrees with epoch and batches done", (s) => { s.step = 13; }, "state.step"],
  ["an epoch past the run's epochs", (s) => { s.epoch = 3; }, "state.epoch"],
  ["batches done past an epoch's batches", (s) => { s.stepInEpoch = 10; s.step = 20; }, "state.stepInEpoch"],
  ["an evaluation for an epoch not done", (s) => { s.evaluations.push({ ...s.evaluations[0], step: 20, epoch: 1 }); }, "state.evaluations"],
  ["an evaluation at the wrong step", (s) => { s.evaluations[0].step = 7; }, "state.evaluations[0].step"],
  ["an evaluation accuracy above 1", (s) => { s.evaluations[0].accuracy = 1.5; }, "state.evaluations[0].accuracy"],
  ["no evaluation for an epoch done", (s) => { s.evaluations = []; }, "state.evaluations"],
  ["a loss point past the steps done", (s) => { s.loss.push({ step: 13, epoch: 1, loss: 0.1, accuracy: 0.5 }); }, /^state\.loss/],
  ["loss points out of order", (s) => { s.loss.reverse(); }, /^state\.loss\[1\]\.step$/],
  ["a loss point in the wrong epoch", (s) => { s.loss[0].epoch = 1; }, "state.loss[0].epoch"],
  ["a negative loss", (s) => { s.loss[0].loss = -1; }, "state.loss[0].loss"],
  ["a window that disagrees with the last loss point", (s) => { s.window.steps += 1; }, "state.window.steps"],
  ["more correct answers than samples", (s) => { s.window.correct = 10 ** 6; }, "state.window.correct"],
  ["a decision at a step that is not a decision step", (s) => { s.bitsHistory[0].step = 4; }, /^state\.bitsHistory\[0\]\.step$/],
  ["a decision past the steps done", (s) => { s.bitsHistory[s.bitsHistory.length - 1].step = 15; }, /^state\.bitsHistory\[\d+\]\.step$/],
  ["a decision for a layer the model lacks", (s) => { s.bitsHistory[0].layer = "conv9"; }, "state.bitsHistory[0].layer"],
  ["a decision jumping two bits", (s) => { s.bitsHistory[0].newBits = s.bitsHistory[0].oldBits + 2; }, /^state\.bitsHistory\[0\]\.newBits$/],
  ["a width outside the policy's bMin..bMax", (s) => { s.bitsHistory[0].oldBits = 12; }, "state.bitsHistory[0].oldBits"],
  ["an unknown limitedBy", (s) => { s.bitsHistory[0].limitedBy = "whim"; }, "state.bitsHistory[0].limitedBy"],
  ["a width timeline not starting at step 0", (s) => { s.bitsTimeline[0].step = 1; }, "state.bitsTimeline[0].step"],
  ["a width timeline naming another layer", (s) => { (s.bitsTimeline[0].bits as Record<string, number>).extra = 4; }, "state.bitsTimeline[0].bits.extra"],
  ["a width timeline whose last widths are not the model's", (s) => { s.bitsTimeline = [{ step: 0, bits: { dense0: 3, dense2: 3 } }]; }, /^state\.bitsTimeline\[0\]\.bits\.dense/],
  ["controller sums for an unknown layer", (s) => { s.controller = { ...s.controller, ghost: { g: 0, n: 0 } }; }, "state.controller.ghost"],
  ["more pending observations than steps since the last decision", (s) => { s.controller!.dense0.n = 2; }, "state.controller.dense0.n"],
  ["scaling state for an unknown layer", (s) => { s.scaling.ghost = { output: 0, inputError: 0 }; }, "state.scaling.ghost"],
  ["an energy count of other steps", (s) => { (s.energy as { steps: number }).steps = 99; }, "state.energy.steps"],
  ["a policy outside its own rules", (s) => { (s.fingerprint.policy as { bMin: number }).bMin = 12; }, "state.fingerprint.policy"],
  ["a policy of another kind", (s) => { s.fingerprint.policy = { kind: "qat8" }; }, "state.fingerprint.policy.kind"],
  ["a fingerprint naming another model", (s) => { s.fingerprint.model = "lenet5"; }, "state.fingerprint.model"],
  ["a fingerprint with another batch than the model's", (s) => { s.fingerprint.batch = 8; }, "state.fingerprint.batch"],
  ["a training set smaller than a batch", (s) => { s.fingerprint.trainCount = 3; }, "state.fingerprint.trainCount"],
  ["an unknown schedule", (s) => { s.fingerprint.schedule = "lunar"; }, "state.fingerprint.schedule"],
  ["a learning rate of 0", (s) => { s.fingerprint.lr = 0; }, "state.fingerprint.lr"],
];
for (const [what, forge, field] of forgeries) {
  test(`a checksummed checkpoint with ${what} is refused naming ${field}`, async () => {
    const s = clone(mid.state);
    forge(s);
    await refusedAt(s, field);
  });
}

test("a fixed-width checkpoint may hold no controller and no decisions", async () => {
  const f = await checkpointOf(fixedRun, 14);
  await refusedAt({ ...clone(f.state), controller: {} }, "state.controller", f.model);
  await refusedAt({ ...clone(f.state), bitsHistory: [{ step: 3, layer: "dense0", G: 0, oldBits: 6, newBits: 6 }] }, "state.bitsHistory", f.model);
  await refusedAt({ ...clone(f.state), bitsTimeline: [...clone(f.state.bitsTimeline), { step: 3, bits: { dense0: 6, dense2: 6 } }] }, "state.bitsTimeline", f.model);
});

test("the state a checkpoint decodes to holds the checked fields only, and resumes bit-identically", async () => {
  const s = clone(mid.state) as TrainingState & Record<string, unknown>;
  s.note = "printed as fact?";
  (s.evaluations[0] as unknown as Record<string, unknown>).extra = [1, 2, 3];
  const bytes = await encodeCheckpoint(mid.model, s);
  const { state } = await decodeCheckpoint(bytes);
  assert.equal((state as unknown as Record<string, unknown>).note, undefined);
  assert.deepEqual(Object.keys(state.evaluations[0]).sort(), ["accuracy", "epoch", "loss", "step"]);
  const resumed = await train({ ...aptRun, resume: bytes });
  const straight = await train(aptRun);
  assert.equal(resumed.report.modelSha256, straight.report.modelSha256);
  assert.deepEqual(resumed.report.evaluations, straight.report.evaluations);
  assert.equal(resumed.report.steps, 20);
});
