// Careless and hostile command lines are refused before any work, as usage errors (exit 2) that
// name the flag: outputs that cannot be written, flags the policy would ignore, data that does
// not fit the model, unknown model names that are Object properties.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertBuilt, refused, runCli, trainMlp, writeIdxData } from "./helpers/cli-child.js";
import { probeRelaxed } from "../src/runtime/wasm.js";

let dir: string;
let data: string;
before(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), "aptkit-guards-"));
  data = await writeIdxData(join(dir, "data"), { train: 100, test: 20 });
});

const train = trainMlp;

test("--out that is a file, lies under a file, or cannot be written: refused before the data loads", async () => {
  const file = join(dir, "a-file");
  await writeFile(file, "keep me");
  // A bad --data as well: the output check comes first, so the message names --out.
  refused(await train("--data", "idx:/nonexistent", "--out", file), "--out", /a-file: is a file, not a directory/);
  refused(await train("--data", data, "--out", join(file, "sub/dir")), "--out", /a-file is a file, not a directory/);
  assert.equal(await readFile(file, "utf8"), "keep me");
  if (process.getuid?.() === 0) {
    // Permission bits do not stop root: a read-only file system does.
    refused(await train("--data", data, "--out", "/sys/aptkit-out"), "--out", /cannot create the directory/);
    refused(await train("--data", data, "--out", "/sys"), "--out", /cannot write into the directory/);
  } else {
    const locked = join(dir, "locked");
    await mkdir(locked, { mode: 0o555 });
    refused(await train("--data", data, "--out", join(locked, "out")), "--out", /cannot create the directory: permission denied/);
    refused(await train("--data", data, "--out", locked), "--out", /cannot write into the directory: permission denied/);
  }
  refused(await train("--data", data, "--out", join(dir, "ok"), "--checkpoint", join(file, "run.ckpt")), "--checkpoint", /a-file is a file/);
  refused(await train("--data", data, "--out", join(dir, "ok"), "--checkpoint", dir), "--checkpoint", /is a directory, not a file/);
  refused(await train("--data", data, "--resume", join(dir, "missing.ckpt")), "--resume", /missing\.ckpt: no such file/);
});

test("flags the policy would ignore are refused, checkpoints included", async () => {
  refused(await train("--policy", "fixed:8", "--tmin", "0.1"), "--tmin", /does not apply to --policy fixed:8 \(it applies to apt\)/);
  refused(await train("--policy", "qat8", "--rounding", "nearest"), "--rounding", /does not apply to --policy qat8/);
  refused(await train("--policy", "fp32", "--scaling", "delayed"), "--scaling", /does not apply to --policy fp32/);
  refused(await train("--policy", "fixed:6", "--bmax", "8"), "--bmax", /does not apply/);
  for (const policy of ["qat8", "fp32"]) {
    refused(await train("--policy", policy, "--checkpoint", join(dir, "x.ckpt")), "--checkpoint", new RegExp(`does not apply to --policy ${policy} \\(it applies to apt, fixed:N\\)`));
    refused(await train("--policy", policy, "--resume", join(dir, "x.ckpt")), "--resume", /does not apply/);
  }
  refused(await train("--every", "5"), "--every", /needs --checkpoint PATH/);
  refused(await train("--policy", "fixed:8", "--lean", "1"), "--lean", /does not apply to --policy fixed:8 \(it applies to apt\)/);
  refused(await train("--lean", "4"), "--lean", /expected an integer in 0\.\.3, got "4"/);
  refused(await train("--lean", "2", "--bmin", "8"), "--lean/--bmin", /bMin \(8\) must not exceed slotBits \(7\)/);
});

test("model names that are Object properties, and an ISA the engine declines, are usage errors", async () => {
  for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
    refused(await runCli(["train", "--model", name]), "--model", new RegExp(`unknown model "${name}" \\(known: lenet5, mlp\\)`));
    refused(await runCli(["plan", "--model", name]), "--model", /unknown model/);
  }
  const { bytes, failure } = await probeRelaxed();
  if (bytes === null) {
    refused(await train("--data", data, "--isa", "relaxed", "--out", join(dir, "relaxed")), "--isa", new RegExp(`relaxed: .*${failure!.slice(0, 20).replace(/[()]/g, "\\$&")}`));
  } else {
    const r = await train("--data", data, "--isa", "relaxed", "--batch", "10", "--out", join(dir, "relaxed"));
    assert.equal(r.code, 0, r.stderr);
  }
});
