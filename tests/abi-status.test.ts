// The status codes of the wasm exports come from one table (src/runtime/abi-status.ts), compiled
// into both the kernels and the host: every value distinct, every one decoded by the host, the
// same numbers as docs/abi.md's table, and no status defined apart from it in assembly/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";

import * as status from "../src/runtime/abi-status.js";
import { ABI_STATUS, abiStatusMessage, kernelStatusError } from "../src/runtime/descriptors.js";

const entries = Object.entries(status) as [string, number][];

test("every status has its own value, and the host decodes each one", () => {
  const values = entries.map(([, v]) => v);
  assert.equal(new Set(values).size, values.length, "distinct values");
  for (const [name, v] of entries) {
    assert.ok(Number.isInteger(v) && v <= 0, `${name} = ${v}`);
    if (v !== 0) assert.ok(ABI_STATUS[v], `${name} (${v}) has no message`);
  }
  assert.deepEqual(Object.keys(ABI_STATUS).map(Number).sort((a, b) => a - b), values.filter((v) => v !== 0).sort((a, b) => a - b));
});

test("docs/abi.md lists the same codes under the same names", async () => {
  const doc = await readFile(new URL("../docs/abi.md", import.meta.url), "utf8");
  const rows = [...doc.matchAll(/^\| (-?\d+) \| `(STATUS_\w+)` \|/gm)].map((m) => [m[2], Number(m[1])]);
  assert.deepEqual(Object.fromEntries(rows), Object.fromEntries(entries));
});

test("a refusal names the operation, the export and the meaning", () => {
  const e = kernelStatusError("relu1 forward", "relu_forward", status.STATUS_RANGE);
  assert.ok(e instanceof RangeError);
  assert.equal(e.status, -6);
  assert.match(e.message, /^relu1 forward: kernel refused its arguments \(relu_forward status -6: a buffer lies outside wasm memory/);
  assert.equal(abiStatusMessage(3), "status 3: bad data element 2");
  assert.equal(abiStatusMessage(-99), "status -99: unknown status");
});

test("assembly/ defines no status of its own: every ERR constant is the shared one", async () => {
  const dir = new URL("../assembly/", import.meta.url);
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".ts"));
  assert.ok(files.length > 5);
  for (const f of files) {
    const text = await readFile(new URL(f, dir), "utf8");
    for (const m of text.matchAll(/^export const (\w*ERR\w*|\w*_OK): i32 = (.+);$/gm)) {
      assert.match(m[2], /^STATUS_\w+$/, `${f}: ${m[1]} = ${m[2]}`);
    }
    assert.doesNotMatch(text, /\breturn -\d+;/, `${f}: a literal negative return`);
  }
});
