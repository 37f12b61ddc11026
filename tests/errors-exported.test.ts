// Every error class aptkit throws at users is exported from the package entry with a stable
// code, and no message points at a file the package does not ship (src/, tests/, bench/, assembly/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import * as aptkit from "../src/index.js";
import { ROOT } from "./helpers/cli-child.js";

test("every exported error class carries its APTKIT_ code, and is an Error with its own name", () => {
  const made: [Error & { code: string }, string, string][] = [
    [new aptkit.DivergenceError(3, NaN, 0.1, null), "APTKIT_DIVERGENCE", "DivergenceError"],
    [new aptkit.CheckpointError("magic", 0, "not one"), "APTKIT_CHECKPOINT", "CheckpointError"],
    [new aptkit.DatasetError("bad", { file: "f", offset: 1 }), "APTKIT_DATASET", "DatasetError"],
    [new aptkit.UsageError("--batch", "bad"), "APTKIT_USAGE", "UsageError"],
    [new aptkit.BudgetError({ budgetBytes: 65536, plannedBytes: 70000, largest: [], suggestions: [] }), "APTKIT_BUDGET", "BudgetError"],
    [new aptkit.ModelFileError("magic", 0, "bad"), "APTKIT_MODEL_FILE", "ModelFileError"],
    [new aptkit.StaleGemmError("operand a changed width"), "APTKIT_STALE_GEMM", "StaleGemmError"],
    [new aptkit.InputFileError("/dev/zero", "model file", "not-a-file", 0, "a character device, not a regular file or a pipe"), "APTKIT_INPUT_FILE", "InputFileError"],
    [new aptkit.LockedError("runs/a", "runs/a.lock", 42, "h", "held by pid 42"), "APTKIT_LOCKED", "LockedError"],
  ];
  for (const [e, code, name] of made) {
    assert.ok(e instanceof Error);
    assert.equal(e.code, code);
    assert.equal(e.name, name);
  }
  // Every class the package entry exports whose name ends in Error is among them.
  const exported = Object.entries(aptkit).filter(([k, v]) => typeof v === "function" && /Error$/.test(k)).map(([k]) => k).sort();
  assert.deepEqual(exported, made.map(([, , n]) => n).sort());
  assert.equal(new aptkit.UsageError("--out", "is a file").message, "--out: is a file");
});

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await sources(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

test("no error or console message names a file outside the package (src/, tests/, bench/, assembly/, a .ts file)", async () => {
  const offenders: string[] = [];
  for (const file of await sources(join(ROOT, "src"))) {
    const text = await readFile(file, "utf8");
    // A message: the arguments of an Error constructor or a console call, up to the statement's end.
    for (const m of text.matchAll(/(?:new \w*Error\(|console\.(?:error|log|warn)\()[\s\S]*?\);/g)) {
      const message = m[0].replace(/\/\/.*$/gm, "");
      if (/["'`][^"'`]*(?:\b(?:src|tests|bench|assembly)\/|\w\.ts\b)/.test(message)) {
        offenders.push(`${relative(ROOT, file)}: ${message.slice(0, 160)}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});
