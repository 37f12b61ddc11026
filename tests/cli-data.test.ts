// Data that does not fit the model or the batch is refused before the first step, as a usage
// error (exit 2) naming the flag; a budget without a batch picks the batch; outputs land whole.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertBuilt, refused, runCli, trainMlp, writeIdxData } from "./helpers/cli-child.js";

let dir: string;
let data: string;
before(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), "aptkit-data-"));
  data = await writeIdxData(join(dir, "data"), { train: 100, test: 20 });
});

const train = trainMlp;

test("data that does not fit: --batch beyond the training set, another image shape, 0 or 1 samples", async () => {
  refused(await train("--data", data, "--batch", "101", "--out", join(dir, "b")), "--batch", /101 exceeds the training set \(data\/train: 100 samples\)/);
  const small = await writeIdxData(join(dir, "small"), { train: 50, test: 10, side: 8 });
  refused(await train("--data", small, "--out", join(dir, "s")), "--model",
    /the model mlp-128 takes \[28, 28, 1\] inputs \(784 values\) but small\/train has 8x8x1 images \(64 values\)/);
  refused(await runCli(["train", "--model", "lenet5", "--data", small, "--out", join(dir, "s")]), "--model", /lenet5 takes \[28, 28, 1\]/);
  for (const count of [0, 1]) {
    const tiny = await writeIdxData(join(dir, `n${count}`), { train: count, test: 5 });
    refused(await train("--data", tiny, "--out", join(dir, "t")), "--data", new RegExp(`n${count}/train has ${count} samples?; training needs at least 2`));
  }
  const noTest = await writeIdxData(join(dir, "notest"), { train: 20, test: 0 });
  refused(await train("--data", noTest, "--out", join(dir, "t")), "--data", /notest\/test has no samples/);
  refused(await train("--data", "idx:/nonexistent/dir", "--out", join(dir, "t")), "--data", /idx:\/nonexistent\/dir: .*missing/);
});

test("predict: a missing model file and data that does not fit the model are usage errors", async () => {
  const out = join(dir, "model");
  const t = await train("--data", data, "--batch", "10", "--out", out);
  assert.equal(t.code, 0, t.stderr);
  const model = join(out, "model.aptkit");
  refused(await runCli(["predict"]), "--model-file", /required/);
  refused(await runCli(["predict", "--model-file", join(dir, "none.aptkit")]), "--model-file", /none\.aptkit: no such file/);
  refused(await runCli(["predict", "--model-file", dir]), "--model-file", /is a directory/);
  const small = await writeIdxData(join(dir, "small-p"), { train: 10, test: 10, side: 8 });
  refused(await runCli(["predict", "--model-file", model, "--data", small]), "--data", /8x8x1 images \(64 values\) but the model in .* takes \[28, 28, 1\]/);
  refused(await runCli(["predict", "--model-file", model, "--data", "idx:/nonexistent"]), "--data", /missing/);
  refused(await runCli(["predict", "--model-file", model, "--batch", "0"]), "--batch", /expected an integer in 1\.\.65536/);
  const ok = await runCli(["predict", "--model-file", model, "--data", data]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /on data\/test: accuracy [\d.]+% \(\d+\/20\)/);
});

test("--budget without --batch trains at the largest batch that fits, and says so", async () => {
  const out = join(dir, "budget");
  const r = await runCli(["train", "--model", "lenet5", "--data", data, "--epochs", "1", "--budget", "256KiB", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const said = /^batch (\d+): the largest that fits 256 KiB$/m.exec(r.stdout);
  assert.ok(said, r.stdout);
  const batch = Number(said[1]);
  assert.ok(batch >= 1 && batch < 32, `batch ${batch}`);
  const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
  assert.equal(report.config.batch, batch);
  assert.ok(report.memory.plannedPeakBytes <= 256 * 1024);
  // The next batch up would not have fitted: the plan says so.
  const plan = await runCli(["plan", "--model", "lenet5", "--budget", "256KiB", "--batch", String(batch + 1)]);
  assert.equal(plan.code, 1, plan.stdout + plan.stderr);
});

test("every output file is written whole (no temporaries left) and a failed check leaves the directory as it was", async () => {
  const out = join(dir, "outputs");
  await mkdir(out);
  await writeFile(join(out, "report.json"), "previous");
  refused(await train("--data", data, "--batch", "1000", "--out", out), "--batch", /exceeds/);
  assert.equal(await readFile(join(out, "report.json"), "utf8"), "previous");
  const r = await train("--data", data, "--batch", "10", "--out", out);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await readdir(out)).sort(), ["model.aptkit", "report.html", "report.json"]);
  assert.equal(JSON.parse(await readFile(join(out, "report.json"), "utf8")).steps, 10);
});
