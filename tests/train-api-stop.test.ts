// train({ signal }): the run stops after the step in progress, writes its checkpoint, returns the
// learner and a report marked stopped; resuming from that checkpoint ends bit-identical to the
// uninterrupted run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mlp } from "../src/nn/model.js";
import { apt, fixed, type PolicySpec } from "../src/train/policy.js";
import { train, type TrainOptions } from "../src/train/trainer.js";
import { decodeCheckpoint } from "../src/train/checkpoint.js";
import { validateReport } from "../src/report/schema.js";
import { blobs } from "./helpers/blobs.js";

const data = blobs(400, 5);
const base = (policy: PolicySpec): TrainOptions => ({
  model: mlp([16], [12], 3), data, policy, epochs: 3, batch: 16, lr: 0.1, seed: 9, isa: "simd", logEvery: 1,
});

for (const [name, policy, stopAt] of [
  ["apt, mid-epoch", apt({ interval: 3, bMin: 3, bMax: 10, initialBits: 5 }), 23],
  ["fixed:6, at an epoch's last step", fixed(6), 20],
] as const) {
  test(`${name}: stop at step ${stopAt}, checkpoint, resume, and the model is bit-identical`, async () => {
    const whole = await train(base(policy));
    const path = join(await mkdtemp(join(tmpdir(), "aptkit-stop-")), "run.ckpt");
    const stop = new AbortController();
    const stopped = await train({
      ...base(policy), checkpoint: { path, every: 1000 }, signal: stop.signal,
      onProgress: (p) => { if (p.step === stopAt) stop.abort("enough"); },
    });
    assert.deepEqual(stopped.report.stopped, { step: stopAt, reason: "enough", checkpoint: path });
    assert.equal(stopped.report.steps, stopAt);
    assert.deepEqual(validateReport(stopped.report), []);
    // The report's accuracy is the stopped model's, evaluated after the checkpoint was written.
    assert.equal(stopped.report.evaluations.at(-1)!.step, stopAt);
    const { state } = await decodeCheckpoint(new Uint8Array(await readFile(path)));
    assert.equal(state.step, stopAt);
    // 20 steps an epoch: the checkpoint holds the evaluations of whole epochs only.
    assert.deepEqual(state.evaluations.map((e) => e.step), whole.report.evaluations.map((e) => e.step).filter((s) => s <= stopAt));
    assert.equal(stopped.report.evaluations.filter((e) => e.step === stopAt).length, 1);

    const resumed = await train({ ...base(policy), resume: new Uint8Array(await readFile(path)) });
    assert.equal(resumed.report.stopped, undefined);
    assert.equal(resumed.report.modelSha256, whole.report.modelSha256);
    assert.deepEqual(resumed.report.evaluations, whole.report.evaluations.map((e, i) => ({ ...e, loss: resumed.report.evaluations[i].loss })));
    assert.deepEqual(resumed.report.bitsHistory, whole.report.bitsHistory);
  });
}

test("a signal already aborted stops before the first step; without a checkpoint the report says none", async () => {
  const stop = new AbortController();
  stop.abort();
  const { report, learner } = await train({ ...base(fixed(8)), signal: stop.signal });
  assert.equal(report.steps, 0);
  assert.equal(report.stopped!.step, 0);
  assert.equal(report.stopped!.checkpoint, null);
  assert.match(report.stopped!.reason, /abort/i);
  assert.equal(learner.batch, 16);
  assert.deepEqual(validateReport(report), []);
});
