// A build is compiled once per process and distinct bytes: learners, kernel sets and budgeted
// engines (whose bytes carry their memory limits) instantiate the kept module instead of compiling
// again and paying its tier-up in their first steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../src/engine/engine.js";

test("engines with the same build and budget compile it once; another budget compiles once more", async () => {
  const compile = WebAssembly.compile;
  let compiles = 0;
  WebAssembly.compile = ((bytes: BufferSource) => { compiles++; return compile(bytes); }) as typeof WebAssembly.compile;
  try {
    for (let i = 0; i < 3; i++) await Engine.create("scalar", { budgetBytes: 3 * 65536 });
    assert.equal(compiles, 1, "three engines under one budget: one compile");
    for (let i = 0; i < 2; i++) await Engine.create("scalar", { budgetBytes: 5 * 65536 });
    assert.equal(compiles, 2, "a second budget is other bytes: one more compile");
    const a = await Engine.create("scalar", { budgetBytes: 3 * 65536 });
    assert.equal(compiles, 2, "the first budget again: none");
    // Instances share code, never memory.
    const b = await Engine.create("scalar", { budgetBytes: 3 * 65536 });
    assert.notEqual(a.abi.memory, b.abi.memory);
  } finally {
    WebAssembly.compile = compile;
  }
});
