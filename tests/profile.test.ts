// The step profile: train({ profile: true }) and `aptkit train --profile` measure where a step's
// time goes, per layer and stage, and the rows add up to the measured step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apt, digits, fixed, fp32, lenet5, subset, train } from "../src/index.js";
import { validateReport } from "../src/report/schema.js";
import { formatProfile } from "../src/energy/profile.js";
import { assertBuilt, runCli } from "./helpers/cli-child.js";

const first = (n: number) => Array.from({ length: n }, (_, i) => i);

test("a profiled run files every kernel call under its layer and stage, and the rows add up to the step", async () => {
  const d = await digits();
  const data = { train: subset(d.train, first(128)), test: subset(d.test, first(32)) };
  const { report } = await train({ model: lenet5(), data, policy: apt(), epochs: 1, batch: 16, seed: 2, profile: true });
  const p = report.profile!;
  assert.ok(p, "report.profile is present");
  assert.equal(p.steps, report.steps);
  for (const stage of ["input", "product", "relu", "pool", "loss", "update", "host"]) {
    assert.ok((p.byStage[stage] ?? 0) > 0, `stage ${stage} has time`);
  }
  for (const layer of report.layers) {
    if (layer.kind === "flatten") continue; // moves no codes: a view change, no kernel call
    assert.ok((p.byLayer[layer.name] ?? 0) > 0, `layer ${layer.name} has time`);
  }
  const sum = p.rows.reduce((a, r) => a + r.msPerStep, 0);
  assert.ok(Math.abs(sum - p.msPerStep) <= 1e-9 * Math.max(1, p.msPerStep), `rows add up to the step: ${sum} vs ${p.msPerStep}`);
  const shares = p.rows.reduce((a, r) => a + r.share, 0);
  assert.ok(Math.abs(shares - 1) < 1e-9, `shares add up to 1: ${shares}`);
  // Calls per step: every weighted layer's forward product and update run once a step at least.
  const conv = p.rows.find((r) => r.layer === "conv2d0" && r.stage === "update");
  assert.ok(conv && conv.calls >= 2, "conv2d0's weight and bias updates are both counted each step");
  assert.deepEqual(validateReport(JSON.parse(JSON.stringify(report))), []);
  assert.ok(report.timings.trainCpuSeconds !== null && report.timings.trainCpuSeconds > 0, "CPU time of training is reported");
  const table = formatProfile(p);
  for (const name of ["conv2d0", "maxpool2", "host", "input", "all"]) assert.match(table, new RegExp(`^${name}\\b`, "m"));
});

test("an fp32 run's profile files its f32 kernel calls under the integer engine's stages, and the rows add up to the step", async () => {
  const d = await digits();
  const data = { train: subset(d.train, first(64)), test: subset(d.test, first(16)) };
  const { report } = await train({ model: lenet5(), data, policy: fp32(), epochs: 1, batch: 16, seed: 2, profile: true });
  const p = report.profile!;
  assert.ok(p, "report.profile is present");
  assert.equal(p.steps, report.steps);
  for (const stage of ["input", "product", "relu", "pool", "loss", "update", "gradient", "host"]) {
    assert.ok((p.byStage[stage] ?? 0) > 0, `stage ${stage} has time`);
  }
  const sum = p.rows.reduce((a, r) => a + r.msPerStep, 0);
  assert.ok(Math.abs(sum - p.msPerStep) <= 1e-9 * Math.max(1, p.msPerStep), `rows add up to the step: ${sum} vs ${p.msPerStep}`);
  // Per layer: conv2d0's SGD runs twice a step (weights, biases); its dW and db are its own.
  const update = p.rows.find((r) => r.layer === "conv2d0" && r.stage === "update");
  assert.ok(update && update.calls === 2, "conv2d0's weight and bias updates are both timed each step");
  assert.ok(p.rows.some((r) => r.layer === "conv2d0" && r.stage === "gradient"), "conv2d0's gradient is filed under its layer");
  assert.deepEqual(validateReport(JSON.parse(JSON.stringify(report))), []);
});

test("without profile the report has none, and a wrong profile option is refused before training", async () => {
  const d = await digits();
  const data = { train: subset(d.train, first(64)), test: subset(d.test, first(16)) };
  const { report } = await train({ model: lenet5(), data, policy: fixed(8), epochs: 1, batch: 16, seed: 2 });
  assert.equal(report.profile, undefined);
  await assert.rejects(train({ model: lenet5(), data, policy: fixed(8), epochs: 1, batch: 16, profile: "yes" as unknown as boolean }),
    (e: Error) => e instanceof TypeError && /profile must be true or false, got "yes"/.test(e.message));
});

test("aptkit train --profile prints the table and writes the profile into report.json", async () => {
  assertBuilt();
  const out = await mkdtemp(join(tmpdir(), "aptkit-profile-"));
  try {
    const r = await runCli(["train", "--model", "mlp", "--epochs", "1", "--profile", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /where a step's time goes/);
    assert.match(r.stdout, /^dense\d+ /m);
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    assert.ok(report.profile.steps > 0);
    assert.ok(report.timings.trainCpuSeconds > 0);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
