// Build selection: "auto" picks SIMD where the engine validates the SIMD build, and kernels.isa
// says which build actually runs.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createKernels, type Kernels } from "../src/index.js";
import { GemmTester } from "./helpers/gemm-tester.js";

const buildUrl = (isa: string) => new URL(`../build/aptkit.${isa}.wasm`, import.meta.url);

/** What the loaded module says about itself (its ABI's has_simd export), bypassing kernels.isa. */
function loadedHasSimd(k: Kernels): boolean {
  const abi = (k as unknown as { abi: { has_simd(): number } }).abi;
  assert.equal(typeof abi?.has_simd, "function", "Kernels no longer keeps its ABI in .abi: update this test");
  return abi.has_simd() !== 0;
}

const realValidate = WebAssembly.validate;
afterEach(() => {
  WebAssembly.validate = realValidate;
});

test("this Node validates the SIMD build (the premise of the auto tests)", async () => {
  assert.equal(WebAssembly.validate(await readFile(buildUrl("simd"))), true);
  assert.equal(WebAssembly.validate(await readFile(buildUrl("scalar"))), true);
});

test('createKernels() ("auto", the default) picks "simd" here and runs the SIMD build', async () => {
  for (const k of [await createKernels(), await createKernels({}), await createKernels({ isa: "auto" })]) {
    assert.equal(k.isa, "simd");
    assert.equal(loadedHasSimd(k), true);
    new GemmTester().m(5).n(9).k(17).bits(4, 8).test(k);
  }
});

test('isa "simd" reports simd and runs the SIMD build', async () => {
  const k = await createKernels({ isa: "simd" });
  assert.equal(k.isa, "simd");
  assert.equal(loadedHasSimd(k), true);
});

test('isa "scalar" reports scalar and runs the scalar build', async () => {
  const k = await createKernels({ isa: "scalar" });
  assert.equal(k.isa, "scalar");
  assert.equal(loadedHasSimd(k), false);
  new GemmTester().m(5).n(9).k(17).bits(4, 8).test(k);
});

test('"auto" falls back to scalar, and "simd" refuses, where the engine rejects the SIMD build', async () => {
  // Simulate an engine without SIMD: only the SIMD build fails validation.
  const simdBytes = await readFile(buildUrl("simd"));
  WebAssembly.validate = (bytes: BufferSource) =>
    Buffer.from(bytes as Uint8Array).equals(simdBytes) ? false : realValidate(bytes);
  const k = await createKernels();
  assert.equal(k.isa, "scalar");
  assert.equal(loadedHasSimd(k), false);
  await assert.rejects(createKernels({ isa: "simd" }), /SIMD/);
});
