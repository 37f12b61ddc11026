// The package as users get it: `npm pack` the built package, install the tarball into an empty
// project, and run every README example there (tests/helpers/readme.ts says how blocks are
// marked), comparing what each prints with its `prints:` comments. The examples import "aptkit"
// and "aptkit/build/..." only, so a README that leans on the repository's layout (src/, a
// devDependency, a path relative to the checkout) fails here. The browser example is bundled with
// esbuild --platform=browser (no externals, no plugins), checked to hold no node: specifier, and
// run in Deno, whose fetch reads the .wasm beside the bundle as a browser would; tests/browser.test.ts
// runs the same bundle in Chromium.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT, outputMismatch, readmeBlocks, type ReadmeBlock } from "./helpers/readme.js";

const BIN = path.join(ROOT, "node_modules", ".bin");
// The user's npm and npx, not the old npm that a devDependency brings into node_modules/.bin
// (which `npm test` puts first on PATH).
const PATH = (process.env.PATH ?? "").split(path.delimiter).filter((d) => !d.includes(`node_modules${path.sep}.bin`)).join(path.delimiter);
const ENV = { ...process.env, PATH, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", npm_config_update_notifier: "false" };
const blocks = readmeBlocks();
let work = "";
let app = "";
let tarball = "";

function run(command: string, args: string[], cwd: string, timeout = 60_000): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, env: ENV, encoding: "utf8", timeout, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${command} ${args.join(" ")}: ${r.error.message}`, { cause: r.error });
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} exited with ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

before(() => {
  for (const f of ["dist/index.js", "build/aptkit.simd.wasm", "build/digits-images-idx3-ubyte.gz"]) {
    if (!existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run npm run build first`);
  }
  work = mkdtempSync(path.join(tmpdir(), "aptkit-package-"));
  const packed = JSON.parse(ok(run("npm", ["pack", "--json", "--pack-destination", work], ROOT), "npm pack")) as { filename: string }[];
  tarball = path.join(work, packed[0].filename);
  app = path.join(work, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "readme-app", private: true, type: "module" }, null, 2));
  ok(run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], app, 120_000), "npm install <tarball>");
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the tarball holds dist/, the builds, the bundled digits and the docs, and no sources or tests", () => {
  const listed = ok(run("tar", ["-tzf", tarball], work), "tar").split("\n").filter(Boolean).map((f) => f.replace(/^package\//, ""));
  for (const f of ["package.json", "README.md", "dist/index.js", "dist/index.d.ts", "dist/runtime/files.browser.js",
    "build/aptkit.simd.wasm", "build/aptkit.scalar.wasm", "build/aptkit.relaxed.wasm",
    "build/digits-images-idx3-ubyte.gz", "build/digits-labels-idx1-ubyte.gz", "docs/architecture.md"]) {
    assert.ok(listed.includes(f), `the tarball lacks ${f}`);
  }
  const stray = listed.filter((f) => /^(src|tests|bench|assembly|scripts|examples)\//.test(f) || f.endsWith(".wat"));
  assert.deepEqual(stray, [], "the tarball ships files users do not need");
  const installed = JSON.parse(readFileSync(path.join(app, "node_modules", "aptkit", "package.json"), "utf8"));
  assert.deepEqual(Object.keys(installed.dependencies ?? {}), [], "aptkit has no runtime dependencies");
});

test("every README code block is marked as an example, the install line or repository commands", () => {
  const unmarked = blocks.filter((b) => b.kind === null).map((b) => `README.md:${b.line}`);
  assert.deepEqual(unmarked, [], "each code block needs <!-- example FILE: RUNNER -->, <!-- install: ... --> or <!-- repository: ... --> above it");
  assert.ok(blocks.filter((b) => b.kind === "example").length >= 6, "the README's examples went missing");
  for (const b of blocks.filter((b) => b.kind === "example")) {
    assert.doesNotMatch(b.code, /["'](\.\.?\/)*(src|dist|build)\//, `README.md:${b.line}: an example imports by a repository path`);
  }
});

function exampleTest(block: ReadmeBlock, body: () => void): void {
  test(`README example ${block.file} (README.md:${block.line}, ${block.runner!.split(",")[0]})`, { timeout: 90_000 }, body);
}

for (const block of blocks.filter((b) => b.kind === "example")) {
  const runner = block.runner!;
  exampleTest(block, () => {
    writeFileSync(path.join(app, block.file!), block.code);
    let r: SpawnSyncReturns<string>;
    let exact = true;
    if (runner === "node") {
      r = run(process.execPath, [block.file!], app);
    } else if (runner === "sh") {
      // Run as a user would, through the app's own npx and node_modules/.bin.
      r = run("bash", ["-e", block.file!], app);
      exact = false;
    } else if (runner.startsWith("deno ")) {
      const [, ...args] = runner.split(/\s+/);
      r = run(path.join(BIN, "deno"), args, app);
    } else if (runner.startsWith("esbuild ")) {
      const [, ...args] = runner.split(",")[0].trim().split(/\s+/);
      ok(run(path.join(BIN, "esbuild"), args, app), "esbuild");
      const outfile = args.find((a) => a.startsWith("--outfile="))!.slice("--outfile=".length);
      const bundle = readFileSync(path.join(app, outfile), "utf8");
      const nodeSpecifiers = [...new Set(bundle.match(/(?:\bimport\s*\(|\bfrom|\brequire\s*\()\s*["']node:[\w/]+["']/g) ?? [])];
      assert.deepEqual(nodeSpecifiers, [], "the browser bundle imports Node modules");
      for (const f of readdirSync(path.join(app, "node_modules", "aptkit", "build")).filter((f) => f.endsWith(".wasm"))) {
        copyFileSync(path.join(app, "node_modules", "aptkit", "build", f), path.join(app, f));
      }
      // Deno: a browser-like runtime whose fetch() reads file: URLs, as a page fetches beside it.
      r = run(path.join(BIN, "deno"), ["run", "--allow-read", outfile], app);
    } else {
      throw new Error(`README.md:${block.line}: unknown runner ${JSON.stringify(runner)}`);
    }
    assert.equal(r.status, 0, `${block.file} exited with ${r.status}:\n${r.stderr}\n${r.stdout}`);
    const mismatch = outputMismatch(block, r.stdout, exact);
    assert.equal(mismatch, null, `README.md:${block.line} (${block.file}): ${mismatch}`);
  });
}
