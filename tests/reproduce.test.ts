// `npm run reproduce` (experiments/compare.ts, run with tsx from a checkout) writes where --out
// says, by default --quick under .tmp/ and never over a docs/results.md of the directory it runs
// in; an --out or a --seeds it cannot use is refused before any run; --seeds runs every spec once
// per seed. The package's CLI has no such command.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertBuilt, runCli } from "./helpers/cli-child.js";

const SCRIPT = fileURLToPath(new URL("../experiments/compare.ts", import.meta.url));
// tsx resolved from the checkout, not from the temporary directory the script runs in.
const TSX = import.meta.resolve("tsx");

function runScript(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", TSX, SCRIPT, ...args], { cwd, timeout: 300_000 }, (e, stdout, stderr) => {
      resolve({ code: e === null ? 0 : typeof e.code === "number" ? e.code : 1, stdout, stderr });
    });
  });
}

before(assertBuilt);

test("--quick without --out leaves ./docs/results.md alone and writes under .tmp/results-quick", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "aptkit-compare-"));
  await mkdir(join(cwd, "docs"));
  await writeFile(join(cwd, "docs/results.md"), "a page of someone else's");
  const r = await runScript(["--quick", "--train", "40", "--test", "20", "--epochs", "1", "--runs", "fixed:8", "--jobs", "1"], cwd);
  // Fashion-MNIST may not be installed: then the run fails (exit 1) after choosing its directory.
  assert.ok(r.code === 0 || (r.code === 1 && /Fashion-MNIST not found/.test(r.stderr)), `${r.code}: ${r.stderr}`);
  assert.equal(await readFile(join(cwd, "docs/results.md"), "utf8"), "a page of someone else's");
  assert.deepEqual(await readdir(join(cwd, "docs")), ["results.md"]);
  assert.ok((await readdir(join(cwd, ".tmp"))).includes("results-quick"));
  if (r.code === 0) assert.ok((await readdir(join(cwd, ".tmp/results-quick"))).includes("results.md"));
});

test("an --out that is a file is refused before any run", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "aptkit-compare-"));
  await writeFile(join(cwd, "results.md"), "keep");
  const r = await runScript(["--quick", "--out", join(cwd, "results.md")], cwd);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^compare: --out: .*results\.md: cannot create the directory/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.doesNotMatch(r.stdout, /runs,/);
  assert.equal(await readFile(join(cwd, "results.md"), "utf8"), "keep");
});

test("--seeds runs every spec once per seed: summary.json holds one record per spec and seed", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "aptkit-compare-"));
  const r = await runScript(["--quick", "--train", "40", "--test", "20", "--runs", "fixed:8;apt lean 0 (default)", "--seeds", "1,2", "--jobs", "1", "--out", "out"], cwd);
  if (r.code === 1 && /Fashion-MNIST not found/.test(r.stderr)) return;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 runs x 2 seeds \(1, 2\)/);
  const summary = JSON.parse(await readFile(join(cwd, "out/results/summary.json"), "utf8"));
  assert.deepEqual(summary.config.seeds, [1, 2]);
  assert.deepEqual(summary.runs.map((x: { label: string; seed: number }) => `${x.label} ${x.seed}`),
    ["fixed:8 1", "fixed:8 2", "apt lean 0 (default) 1", "apt lean 0 (default) 2"]);
  assert.match(await readFile(join(cwd, "out/results.md"), "utf8"), /Every spec runs once per seed \(1, 2\)/);
});

test("a --seeds list it cannot use is refused before any run", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "aptkit-compare-"));
  for (const seeds of ["1,x", "1,1", "", "1,-2", "1.5"]) {
    const r = await runScript(["--quick", "--seeds", seeds, "--out", "out"], cwd);
    assert.equal(r.code, 2, `${seeds}: ${r.stderr}`);
    assert.match(r.stderr, /^compare: --seeds: /, seeds);
    assert.doesNotMatch(r.stdout, /runs x/);
  }
});

test("the shipped command line has no compare command", async () => {
  const r = await runCli(["compare", "--quick"], { cwd: tmpdir() });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "compare"/);
  const help = await runCli(["--help"], { cwd: tmpdir() });
  assert.doesNotMatch(help.stdout, /^\s+compare\s/m);
  assert.match(help.stdout, /npm run reproduce -- --out DIR/);
});
