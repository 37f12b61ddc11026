// `aptkit compare` writes where --out says, by default into a new runs/compare-<time> directory,
// never over a docs/results.md of the directory it runs in; an --out it cannot use is refused first.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertBuilt, runCli } from "./helpers/cli-child.js";
import { defaultCompareDir } from "../src/cli/compare.js";

before(assertBuilt);

test("the default output directory is new for every run and lies under runs/", () => {
  assert.equal(defaultCompareDir(new Date("2025-01-31T12:34:56.789Z")), "runs/compare-2025-01-31T12-34-56");
});

test("without --out it leaves ./docs/results.md alone and writes under runs/compare-*", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "aptkit-compare-"));
  await mkdir(join(cwd, "docs"));
  await writeFile(join(cwd, "docs/results.md"), "a page of someone else's");
  const r = await runCli(["compare", "--quick", "--train", "40", "--test", "20", "--epochs", "1", "--runs", "fixed:8", "--jobs", "1"], { cwd });
  // Fashion-MNIST may not be installed: then the run fails (exit 1, a message, no stack) after choosing its directory.
  assert.ok(r.code === 0 || (r.code === 1 && /Fashion-MNIST not found/.test(r.stderr) && !/\n\s+at /.test(r.stderr)), `${r.code}: ${r.stderr}`);
  assert.equal(await readFile(join(cwd, "docs/results.md"), "utf8"), "a page of someone else's");
  assert.deepEqual(await readdir(join(cwd, "docs")), ["results.md"]);
  const made = await readdir(join(cwd, "runs"));
  assert.equal(made.length, 1);
  assert.match(made[0], /^compare-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d$/);
  if (r.code === 0) assert.ok((await readdir(join(cwd, "runs", made[0]))).includes("results.md"));
});

test("an --out that is a file is refused before any run", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "aptkit-compare-"));
  await writeFile(join(cwd, "results.md"), "keep");
  const r = await runCli(["compare", "--quick", "--out", join(cwd, "results.md")], { cwd });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^aptkit compare: --out: .*results\.md: cannot create the directory/);
  assert.doesNotMatch(r.stdout, /runs,/);
  assert.equal(await readFile(join(cwd, "results.md"), "utf8"), "keep");
});
