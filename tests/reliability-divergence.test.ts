// The divergence guard end to end (docs/reliability.md): a run whose progress statistic stops being
// finite stops with a DivergenceError that names the knobs and the last good checkpoint, that
// checkpoint is intact, and a run resumed from it ends bit-identical to one that never diverged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { access, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Split } from "../src/data/index.js";
import { mlp } from "../src/nn/model.js";
import { apt } from "../src/train/policy.js";
import { DivergenceError, train, type TrainOptions } from "../src/train/trainer.js";
import { decodeCheckpoint } from "../src/train/checkpoint.js";
import { blobs } from "./helpers/blobs.js";

// lr 1e300 keeps G = mean(|lr * grad|) / step finite on [0, 1] inputs; inputs of 3e38 (finite, so
// the data edge takes them) push lr * grad past float64 and G to NaN.
const options = (data: Split): TrainOptions => ({
  model: mlp([16], [12], 3), data, policy: apt({ interval: 1 }), epochs: 3, batch: 16, lr: 1e300, seed: 4, isa: "simd", logEvery: 1,
});

test("a diverging run stops with a DivergenceError naming lr, bMin / tMin and the intact last checkpoint; resuming from it is exact", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-diverge-"));
  const path = join(dir, "run.ckpt");
  const poisoned = blobs(400, 9);
  let caught: unknown;
  await train({
    ...options(poisoned), checkpoint: { path, every: 5 },
    onProgress: (p) => { if (p.step === 10) poisoned.train.images.fill(3e38); },
  }).catch((e) => { caught = e; });
  assert.ok(caught instanceof DivergenceError, `expected a DivergenceError, got ${caught}`);
  const e = caught as DivergenceError;
  assert.equal(e.step, 11);
  assert.equal(e.checkpoint, path);
  assert.match(e.message, /training diverged at step 11 \(dense\d+'s progress statistic G is (NaN|Infinity)\)/);
  assert.match(e.message, /lower the learning rate \(now [0-9.e+]+\), or raise bMin \/ tMin/);
  assert.ok(e.message.endsWith(`the last good checkpoint is ${path}`), e.message);

  // The checkpoint is the one written at step 10, before the poisoned batch: whole and resumable.
  const saved = new Uint8Array(await readFile(path));
  const { state } = await decodeCheckpoint(saved);
  assert.equal(state.step, 10);
  const clean = blobs(400, 9);
  const whole = await train(options(clean));
  const resumed = await train({ ...options(blobs(400, 9)), resume: saved });
  assert.equal(resumed.report.modelSha256, whole.report.modelSha256);
  assert.deepEqual(resumed.report.loss, whole.report.loss);
  assert.deepEqual(resumed.report.bitsHistory, whole.report.bitsHistory);
});

test("a run diverging before its first checkpoint names no checkpoint file that does not exist", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-diverge-"));
  const path = join(dir, "run.ckpt");
  // lr 1e308: G is infinite at step 1, before the first checkpoint (step 5).
  const e = await train({ ...options(blobs(400, 9)), lr: 1e308, checkpoint: { path, every: 5 } }).then(() => null, (x) => x);
  assert.ok(e instanceof DivergenceError, `expected a DivergenceError, got ${e}`);
  assert.equal(e.step, 1);
  if (e.checkpoint !== null) await access(e.checkpoint);
  assert.doesNotMatch(e.message, /last good checkpoint/);
});
