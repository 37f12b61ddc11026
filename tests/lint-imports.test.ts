// The import rules (docs/architecture.md, Floors) hold for src/, and the checker that enforces them
// fails on what they forbid: an import up a floor, one across a floor, a circle of files, a file
// in no part. Each violation is planted in a temporary copy of the sources, never in src/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFile, cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CRUISER = join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

async function copyOfSources(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-imports-"));
  await cp(join(ROOT, "src"), join(dir, "src"), { recursive: true });
  await cp(join(ROOT, "docs", "architecture.md"), join(dir, "docs", "architecture.md"));
  await cp(join(ROOT, ".dependency-cruiser.cjs"), join(dir, ".dependency-cruiser.cjs"));
  await cp(join(ROOT, "tsconfig.json"), join(dir, "tsconfig.json"));
  return dir;
}

function cruise(cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CRUISER, "src", "--config", ".dependency-cruiser.cjs"], { cwd }, (e, stdout, stderr) => {
      resolve({ code: e === null ? 0 : typeof e.code === "number" ? e.code : 1, out: stdout + stderr });
    });
  });
}

test("src/ keeps the floors and has no circle of files", async () => {
  const r = await cruise(ROOT);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /no dependency violations found/);
});

test("an import up a floor fails: format importing the trainer", async () => {
  const dir = await copyOfSources();
  await appendFile(join(dir, "src/format/packed.ts"), '\nexport { train as upward } from "../train/trainer.js";\n');
  const r = await cruise(dir);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /floor-format: src\/format\/packed\.ts → (\s*)src\/train\/trainer\.ts/);
});

test("a type-only import across one floor fails: engine naming a type of nn", async () => {
  const dir = await copyOfSources();
  await appendFile(join(dir, "src/engine/quant.ts"), '\nexport type { ModelDefinition as Upward } from "../nn/model.js";\n');
  const r = await cruise(dir);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /floor-engine: src\/engine\/quant\.ts → (\s*)src\/nn\/model\.ts/);
});

test("two parts on the same floor may not import each other: kernels and engine", async () => {
  const dir = await copyOfSources();
  await appendFile(join(dir, "src/kernels/kernels.ts"), '\nexport { STREAMS as sideways } from "../engine/engine.js";\n');
  const r = await cruise(dir);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /floor-kernels: src\/kernels\/kernels\.ts → (\s*)src\/engine\/engine\.ts/);
});

test("a circle of files inside one part fails", async () => {
  const dir = await copyOfSources();
  await writeFile(join(dir, "src/runtime/loop-a.ts"), 'import { b } from "./loop-b.js";\nexport const a = () => b;\n');
  await writeFile(join(dir, "src/runtime/loop-b.ts"), 'import { a } from "./loop-a.js";\nexport const b = () => a;\n');
  const r = await cruise(dir);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /no-circular: src\/runtime\/loop-(a|b)\.ts/);
});

test("a file in no part of the floors block is refused, and so is a malformed block", async () => {
  const dir = await copyOfSources();
  await writeFile(join(dir, "src/stray.ts"), "export const stray = 1;\n");
  const r = await cruise(dir);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /src\/stray\.ts belongs to no part/);

  const bad = await copyOfSources();
  const doc = join(bad, "docs", "architecture.md");
  await writeFile(doc, (await readFile(doc, "utf8")).replace(/^3 +runtime +src\/runtime$/m, "runtime src/runtime"));
  const r2 = await cruise(bad);
  assert.notEqual(r2.code, 0, r2.out);
  assert.match(r2.out, /floors block line \d+: expected/);
});
