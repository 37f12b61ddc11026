// SIGINT / SIGTERM stop `aptkit train` after the step in progress: it writes the checkpoint,
// prints the command that resumes, exits 130 / 143, and the resumed run ends bit-identical to an
// uninterrupted one.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { assertBuilt, runCli, writeIdxData } from "./helpers/cli-child.js";

let dir: string;
let data: string;
before(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), "aptkit-signal-"));
  data = await writeIdxData(join(dir, "data"), { train: 2000, test: 50 });
});

// Long enough (2,000 steps) that the signal lands mid-run, however slow the machine.
const args = (out: string, extra: string[] = []) => [
  "train", "--model", "mlp", "--data", data, "--policy", "apt", "--interval", "20", "--epochs", "16", "--batch", "16",
  "--lr", "0.1", "--seed", "7", "--out", out, ...extra,
];

/** Sends `signal` once the checkpoint file exists (training is under way). */
function signalAfterCheckpoint(path: string, signal: NodeJS.Signals) {
  return (child: ChildProcess) => {
    const poll = setInterval(async () => {
      if (await stat(path).then(() => true, () => false)) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 20);
    child.on("close", () => clearInterval(poll));
  };
}

/** Splits a printed shell line (single-quoted words, as the CLI quotes them). */
function words(line: string): string[] {
  return [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replaceAll(`'\\''`, "'") : m[2]));
}

test("SIGINT: checkpoint, the exact resume command, exit 130; the resumed run equals an uninterrupted one", async () => {
  const whole = await runCli(args(join(dir, "whole")));
  assert.equal(whole.code, 0, whole.stderr);

  const checkpoint = join(dir, "run.ckpt");
  const out = join(dir, "stopped");
  const stopped = await runCli(args(out, ["--checkpoint", checkpoint, "--every", "25"]), { started: signalAfterCheckpoint(checkpoint, "SIGINT") });
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /SIGINT: stopping after the current step and writing the checkpoint/);
  const at = /stopped at step (\d+) of 16 epoch\(s\) \(SIGINT\); checkpoint (.*)\n/.exec(stopped.stderr);
  assert.ok(at, stopped.stderr);
  assert.ok(Number(at[1]) >= 25 && Number(at[1]) < 2000, `stopped at ${at[1]}`);
  const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
  assert.deepEqual(report.stopped, { step: Number(at[1]), reason: "SIGINT", checkpoint });
  assert.equal(report.steps, Number(at[1]));

  const line = /^resume with: (aptkit train .*)$/m.exec(stopped.stderr);
  assert.ok(line, stopped.stderr);
  const [program, ...resumeArgs] = words(line[1]);
  assert.equal(program, "aptkit");
  assert.deepEqual(resumeArgs, [...args(out, ["--checkpoint", checkpoint, "--every", "25"]), "--resume", checkpoint]);
  const resumed = await runCli(resumeArgs);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(await readFile(join(out, "model.aptkit")), await readFile(join(dir, "whole/model.aptkit")));
  const final = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
  const reference = JSON.parse(await readFile(join(dir, "whole/report.json"), "utf8"));
  assert.equal(final.stopped, undefined);
  assert.equal(final.modelSha256, reference.modelSha256);
  assert.deepEqual(final.evaluations.map((e: { accuracy: number }) => e.accuracy), reference.evaluations.map((e: { accuracy: number }) => e.accuracy));
});

test("SIGTERM exits 143 with the checkpoint written; without --checkpoint it says the run cannot be resumed", async () => {
  const checkpoint = join(dir, "term.ckpt");
  const r = await runCli(args(join(dir, "term"), ["--checkpoint", checkpoint, "--every", "25"]), { started: signalAfterCheckpoint(checkpoint, "SIGTERM") });
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /\(SIGTERM\); checkpoint .*term\.ckpt\nresume with: aptkit train /);
  const bare = await runCli(args(join(dir, "bare")), {
    started: (child) => { child.stdout!.once("data", () => child.kill("SIGINT")); },
  });
  // The first output is the progress line of step 10: the signal lands mid-run, with no checkpoint
  // to write (and, steps being synchronous, only because the loop lets the handler run).
  assert.equal(bare.code, 130, bare.stderr + bare.stdout);
  assert.match(bare.stderr, /no --checkpoint was given, so it cannot be resumed/);
});
