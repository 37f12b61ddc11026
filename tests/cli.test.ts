// The CLI's argument errors name the flag; a short run writes a report that validates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { parseTrainArgs } from "../src/cli/train.js";
import { UsageError } from "../src/cli/usage.js";
import { validateReport } from "../src/report/schema.js";

function refuses(args: string[], pattern: RegExp): void {
  assert.throws(() => parseTrainArgs(args), (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match((e as Error).message, pattern);
    return true;
  });
}

test("unknown flags and bad values are usage errors naming the flag", () => {
  refuses(["--bogus", "1"], /--bogus/);
  refuses(["--lr=-1"], /--lr: expected a positive number, got "-1"/);
  refuses(["--lr", "fast"], /--lr/);
  refuses(["--tmin", "0.5", "--tmax", "0.1"], /--tmin\/--tmax: tMin \(0\.5\) must not exceed tMax \(0\.1\)/);
  refuses(["--bmin", "9", "--bmax", "5"], /--bmin\/--bmax: bMin \(9\) must not exceed bMax \(5\)/);
  refuses(["--bmax", "17"], /--bmax: expected an integer in 2\.\.16, got "17"/);
  refuses(["--epochs", "0"], /--epochs/);
  refuses(["--batch", "2.5"], /--batch/);
  refuses(["--model", "resnet"], /--model: unknown model "resnet"/);
  refuses(["--policy", "fixed:x"], /--policy/);
  refuses(["--isa", "avx"], /--isa/);
  refuses(["--budget", "256XB"], /--budget: budget "256XB"/);
  refuses(["--budget", "0"], /--budget: budget "0"/);
  refuses(["--budget=-5"], /--budget: budget "-5"/);
  refuses(["--activations", "wide"], /--activations: expected tied or fixed, got "wide"/);
  refuses(["--policy", "fixed:8", "--activations", "tied"], /--activations: does not apply to --policy fixed:8 \(it applies to apt\)/);
});

test("missing data is an error naming --data, with exit code 2", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    const code = await main(["train", "--data", "idx:/nonexistent/dir", "--out", join(tmpdir(), "aptkit-none")]);
    assert.equal(code, 2);
  } finally {
    console.error = original;
  }
  assert.match(errors.join("\n"), /--data: idx:\/nonexistent\/dir/);
});

test("a short training run's loss falls and its report.json validates against the documented schema", async () => {
  const out = await mkdtemp(join(tmpdir(), "aptkit-cli-"));
  const log = console.log;
  console.log = () => {};
  let code: number;
  try {
    code = await main(["train", "--model", "mlp", "--data", "digits", "--policy", "apt", "--interval", "10",
      "--epochs", "1", "--batch", "64", "--lr", "0.1", "--out", out]);
  } finally {
    console.log = log;
  }
  assert.equal(code, 0);
  const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
  assert.deepEqual(validateReport(report), []);
  assert.ok(report.loss.length >= 3);
  assert.ok(report.loss[report.loss.length - 1].loss < 0.6 * report.loss[0].loss, "loss falls");
  assert.ok(report.accuracy > 0.8, `accuracy ${report.accuracy}`);
  assert.ok(report.bitsHistory.length > 0, "the controller logged decisions");
  const html = await readFile(join(out, "report.html"), "utf8");
  assert.ok((html.match(/<svg/g) ?? []).length >= 3);
  // The exported model predicts the test split exactly as the trainer's last evaluation did.
  const lines: string[] = [];
  console.log = (m: string) => lines.push(m);
  try {
    assert.equal(await main(["predict", "--model-file", join(out, "model.aptkit"), "--data", "digits", "--batch", "64"]), 0);
  } finally {
    console.log = log;
  }
  const printed = /accuracy ([\d.]+)%/.exec(lines.join("\n"));
  assert.ok(printed, lines.join("\n"));
  assert.equal(Number(printed[1]), Number((100 * report.accuracy).toFixed(2)));
});
