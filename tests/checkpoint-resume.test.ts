// Exact resume: a run interrupted after a checkpoint and resumed from it ends bit-identical to
// the same run uninterrupted; damaged checkpoints are refused; a diverging run stops with advice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mlp } from "../src/nn/model.js";
import { apt, fixed, type PolicySpec } from "../src/train/policy.js";
import { DivergenceError, train, type TrainOptions } from "../src/train/trainer.js";
import { CheckpointError, decodeCheckpoint } from "../src/train/checkpoint.js";
import { blobs } from "./helpers/blobs.js";

const data = blobs(400, 9);
const base = (policy: PolicySpec, scaling: "exact" | "delayed"): TrainOptions => ({
  model: mlp([16], [12], 3), data, policy, epochs: 3, batch: 16, lr: 0.1, seed: 4, isa: "simd", scaling, logEvery: 5,
});

for (const [name, policy, scaling] of [
  ["apt, delayed scaling", apt({ interval: 3, bMin: 3, bMax: 10, initialBits: 5 }), "delayed"],
  ["fixed:6, exact scaling", fixed(6), "exact"],
] as const) {
  test(`${name}: stop after a checkpoint, resume, and the final model is bit-identical`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "aptkit-ckpt-"));
    const path = join(dir, "run.ckpt");
    const whole = await train(base(policy, scaling));
    // Interrupt at step 29 (mid-epoch, after the checkpoint at step 28).
    await assert.rejects(train({
      ...base(policy, scaling), checkpoint: { path, every: 7 },
      onProgress: (p) => { if (p.step >= 29) throw new Error("power lost"); },
    }), /power lost/);
    const saved = await readFile(path);
    const { state } = await decodeCheckpoint(saved);
    assert.equal(state.step, 28);
    const resumed = await train({ ...base(policy, scaling), resume: saved, checkpoint: { path, every: 7 } });
    assert.equal(resumed.report.modelSha256, whole.report.modelSha256);
    assert.deepEqual(resumed.report.finalBits, whole.report.finalBits);
    assert.deepEqual(resumed.report.bitsHistory, whole.report.bitsHistory);
    assert.deepEqual(resumed.report.loss, whole.report.loss);
    assert.deepEqual(resumed.report.evaluations, whole.report.evaluations);
    assert.equal(resumed.report.energy?.totalJoules, whole.report.energy?.totalJoules);
  });
}

test("a checkpoint from another run, or a damaged one, is refused with what and where", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-ckpt-"));
  const path = join(dir, "run.ckpt");
  await train({ ...base(fixed(6), "exact"), epochs: 1, checkpoint: { path, every: 5 } });
  const bytes = new Uint8Array(await readFile(path));
  await assert.rejects(train({ ...base(fixed(6), "exact"), epochs: 1, lr: 0.2, resume: bytes }), /resume: the checkpoint belongs to another run \(differs in lr: 0.1 vs 0.2\)/);
  const flipped = bytes.slice();
  flipped[100] ^= 4;
  await assert.rejects(decodeCheckpoint(flipped), (e: unknown) => e instanceof CheckpointError && /checksum/.test((e as Error).message));
  await assert.rejects(decodeCheckpoint(bytes.slice(0, bytes.length - 1)), (e: unknown) => e instanceof CheckpointError && /length/.test((e as Error).message));
  const wrong = bytes.slice();
  wrong[0] = 0;
  await assert.rejects(decodeCheckpoint(wrong), /magic at byte 0/);
});

test("a diverging run stops with a DivergenceError naming the knobs, keeping the last checkpoint", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-ckpt-"));
  const path = join(dir, "run.ckpt");
  const poisoned = blobs(400, 9);
  await assert.rejects(train({
    ...base(fixed(6), "exact"), data: poisoned, checkpoint: { path, every: 5 },
    onProgress: (p) => { if (p.step === 10) poisoned.train.images.fill(Number.NaN); },
  }), (e: unknown) => {
    // A NaN input is refused at the data edge before it can poison the weights.
    assert.ok(e instanceof RangeError || e instanceof DivergenceError, String(e));
    return true;
  });
  const { state } = await decodeCheckpoint(await readFile(path));
  assert.equal(state.step, 10);
  const err = new DivergenceError(12, Number.NaN, 0.1, path);
  assert.match(err.message, /diverged at step 12 \(loss NaN\): lower the learning rate \(now 0.1\), or raise bMin \/ tMin/);
  assert.match(err.message, new RegExp(`last good checkpoint is ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
});
