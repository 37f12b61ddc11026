// The command's own files: what it reads is bounded (special files and oversized files are usage
// errors naming the flag, within a few seconds and a little memory), and one run owns an output
// directory or a checkpoint path at a time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertBuilt, ROOT, runCli } from "./helpers/cli-child.js";

assertBuilt();

test("--model-file and --resume refuse devices and oversized files before reading them (exit 2, naming the flag)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-cli-files-"));
  const giant = join(dir, "giant.aptkit");
  await writeFile(giant, "");
  await truncate(giant, 8 * 2 ** 30); // sparse: 8 GiB declared by the file system, no disk used
  const cases: [string[], RegExp][] = [
    [["predict", "--model-file", "/dev/zero"], /--model-file: model file \/dev\/zero: .*character device/],
    [["train", "--model", "mlp", "--epochs", "1", "--out", join(dir, "o1"), "--resume", "/dev/zero"], /--resume: checkpoint \/dev\/zero: .*character device/],
    [["predict", "--model-file", dir], /--model-file: model file .*director/],
    [["predict", "--model-file", giant], /--model-file: model file .*giant\.aptkit: .*(larger|limit)/],
  ];
  for (const [args, message] of cases) {
    const t0 = Date.now();
    const r = await runCli(args, { timeoutMs: 20_000 });
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.ok(Date.now() - t0 < 10_000, `${args.join(" ")} took ${Date.now() - t0} ms`);
  }
});

test("a second run on a live run's --out is refused before it trains, naming the owner; the first run finishes", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-cli-lock-"));
  const out = join(dir, "out");
  const args = ["train", "--model", "mlp", "--epochs", "2", "--out", out];
  // The first run: started, then the second is launched once the first holds its lock.
  const first = spawn(process.execPath, [join(ROOT, "dist/bin/aptkit.js"), ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let firstOut = "";
  first.stdout.on("data", (d) => { firstOut += d; });
  first.stderr.on("data", (d) => { firstOut += d; });
  const firstDone = new Promise<number | null>((done) => first.on("close", done));
  for (let i = 0; i < 400 && !(await readdir(dir)).includes("out.lock"); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok((await readdir(dir)).includes("out.lock"), "the first run holds out.lock");
  const second = await runCli(args, { cwd: dir, timeoutMs: 30_000 });
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`--out: .*in use.*${first.pid}`));
  assert.equal(await firstDone, 0, firstOut);
  assert.match(firstOut, /test accuracy/);
  assert.ok(!(await readdir(dir)).includes("out.lock"), "the lock is gone after the run");
  // The directory is free again: a third run may use it.
  const third = await runCli([...args.slice(0, -4), "--epochs", "1", "--out", out], { cwd: dir });
  assert.equal(third.code, 0, third.stderr);
});
