// The browser example (examples/browser/) in headless Debian Chromium, driven by playwright-core:
// the page trains an MLP in a module worker from dist/ and build/*.wasm served as plain files,
// plots bits per layer live, and reports a test accuracy above a threshold. Once on a slice of the
// real digits (written at test time into .tmp/), once on the page's own synthetic digits with the
// scalar build. The digits run must end with the model that the same training under Node gives,
// bit for bit. Chromium comes from Debian (apt-get install chromium; APTKIT_CHROMIUM points at
// another binary); without it the tests report themselves skipped, and under APTKIT_REQUIRE_ALL=1
// (.ci/run) they fail instead.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Server } from "node:http";
import { chromium, type Browser } from "playwright-core";
import { ROOT, serve } from "../examples/browser/serve.mjs";
import { writeDigitsSubset } from "../examples/browser/make-subset.mjs";
import { trainingOptions } from "../examples/browser/config.js";
import { parseSubset } from "../examples/browser/data.js";
import { train } from "../dist/index.js";
import { skipUnless } from "./helpers/system-tool.js";
import { outputMismatch, readmeExample } from "./helpers/readme.js";
import { spawnSync } from "node:child_process";

const CHROMIUM = process.env.APTKIT_CHROMIUM ?? "/usr/bin/chromium";
const skip = skipUnless({ what: `Chromium at ${CHROMIUM}`, present: existsSync(CHROMIUM), install: "apt-get install chromium" });

// The flags that work on this machine's closed network (see the project's machine notes):
// without the background-networking ones Chromium's own connections are refused many at a time.
const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

const SUBSET = path.join(ROOT, ".tmp", "browser", "digits-14.bin");
let browser: Browser | undefined;
let server: Server | undefined;
let base = "";

before(async () => {
  if (skip) return;
  for (const f of ["dist/index.js", "build/aptkit.simd.wasm", "build/aptkit.scalar.wasm"]) {
    if (!existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run npm run build first`);
  }
  await writeDigitsSubset(SUBSET);
  ({ server, url: base } = await serve(ROOT));
  // Playwright gives each launch a new, empty profile directory of its own.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

interface PageResult {
  state: string;
  accuracy: number;
  isa: string;
  progressEvents: number;
  bitsPaths: number;
  status: string;
  model: string;
  exported: number;
}

async function runPage(query: string, screenshot?: string): Promise<PageResult> {
  const page = await browser!.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  try {
    await page.goto(`${base}/examples/browser/index.html${query}`);
    try {
      await page.waitForFunction(() => document.documentElement.dataset.state !== "running", null, { timeout: 120_000 });
    } catch (e) {
      const status = await page.evaluate(() => `${document.getElementById("status")?.textContent} ${document.getElementById("step")?.textContent}`);
      throw new Error(`the page did not finish in 120 s: ${status}\n${problems.join("\n")}`, { cause: e });
    }
    const result = await page.evaluate(() => ({
      state: document.documentElement.dataset.state ?? "",
      accuracy: Number(document.getElementById("accuracy")?.dataset.value ?? NaN),
      isa: document.documentElement.dataset.isa ?? "",
      progressEvents: Number(document.documentElement.dataset.progress ?? 0),
      bitsPaths: document.querySelectorAll("#bits svg path").length,
      status: document.getElementById("status")?.textContent ?? "",
      model: document.documentElement.dataset.model ?? "",
      exported: Number(document.documentElement.dataset.exported ?? NaN),
    }));
    assert.equal(result.state, "done", `the page did not finish: ${result.status}\n${problems.join("\n")}`);
    // The model saved in the page and loaded back predicts the test set as the trainer evaluated it.
    assert.equal(result.exported, result.accuracy, `exported model accuracy ${result.exported} vs trained ${result.accuracy}`);
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return result;
  } finally {
    await page.close();
  }
}

test("real digits (14x14 slice), SIMD build: trains in a worker, plots bits live, accuracy >= 0.8", { skip, timeout: 180_000 }, async () => {
  const r = await runPage("?data=/.tmp/browser/digits-14.bin", path.join(ROOT, ".tmp", "browser", "digits.png"));
  console.log(`# browser digits: accuracy ${r.accuracy}, isa ${r.isa}, ${r.progressEvents} progress events; ${r.status}`);
  assert.equal(r.isa, "simd");
  assert.ok(r.progressEvents > 10, `only ${r.progressEvents} progress events reached the page`);
  assert.ok(r.bitsPaths > 0, "no bits-per-layer plot was drawn");
  assert.ok(r.accuracy >= 0.8, `test accuracy ${r.accuracy} < 0.8`);
  // The same training under Node, from the same file: the same model, bit for bit.
  const bytes = await readFile(SUBSET);
  const { report } = await train(trainingOptions(parseSubset(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))));
  assert.equal(r.model, report.modelSha256, "the browser trained a different model than Node");
  assert.equal(r.accuracy, report.accuracy);
});

test("synthetic digits, scalar build: accuracy >= 0.85", { skip, timeout: 180_000 }, async () => {
  const r = await runPage("?isa=scalar");
  console.log(`# browser synthetic: accuracy ${r.accuracy}, isa ${r.isa}; ${r.status}`);
  assert.equal(r.isa, "scalar");
  assert.ok(r.accuracy >= 0.85, `test accuracy ${r.accuracy} < 0.85`);
});

// The README's bundler example: an app that imports "aptkit" (here the checkout, linked as
// node_modules/aptkit), bundled by esbuild for the browser with no externals or plugins, then run
// as a page's module script; what it prints must be what the README says.
test("README's bundled app (esbuild --platform=browser) trains in the page and prints what the README says", { skip, timeout: 180_000 }, async () => {
  const block = readmeExample("app.js");
  const dir = path.join(ROOT, ".tmp", "browser", "bundle");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "node_modules"), { recursive: true });
  symlinkSync(ROOT, path.join(dir, "node_modules", "aptkit"), "dir");
  writeFileSync(path.join(dir, block.file!), block.code);
  const args = block.runner!.split(",")[0].trim().split(/\s+/).slice(1);
  const esbuild = spawnSync(path.join(ROOT, "node_modules", ".bin", "esbuild"), args, { cwd: dir, encoding: "utf8" });
  assert.equal(esbuild.status, 0, `esbuild failed:\n${esbuild.stderr}`);
  for (const isa of ["simd", "scalar"]) copyFileSync(path.join(ROOT, "build", `aptkit.${isa}.wasm`), path.join(dir, `aptkit.${isa}.wasm`));
  // The empty icon keeps the browser from asking for /favicon.ico, whose 404 it logs as a console error.
  writeFileSync(path.join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="app.bundle.js"></script>`);
  const page = await browser!.newPage();
  const printed: string[] = [];
  const problems: string[] = [];
  page.on("console", (m) => (m.type() === "log" ? printed.push(m.text()) : m.type() === "error" && problems.push(m.text())));
  page.on("pageerror", (e) => problems.push(e.message));
  try {
    await page.goto(`${base}/.tmp/browser/bundle/index.html`);
    const lines = block.code.split("\n").filter((l) => /prints: /.test(l)).length;
    const deadline = Date.now() + 120_000;
    while (printed.length < lines && problems.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(problems, [], "the bundled app failed in the page");
    assert.equal(outputMismatch(block, printed.join("\n"), true), null);
  } finally {
    await page.close();
  }
});
