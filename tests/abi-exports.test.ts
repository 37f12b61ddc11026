// The wasm ABI's export signatures (docs/abi.md) are declared once, below, and every build must
// export exactly these: the same names, each with the same parameter and result types (read from
// the binary's type section; WebAssembly.Module.exports gives names and kinds only). The
// signatures docs/abi.md states must agree with the table too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import v8 from "node:v8";

import { exportSignatures } from "./helpers/wasm-signatures.js";

// Node 20 compiles the relaxed build only with the flag (docs/abi.md, "The relaxed-SIMD build").
v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

// "(i32 x 13)" as docs/abi.md writes a long parameter list.
function sig(params: number | string, result = "i32"): string {
  const list = typeof params === "number" ? Array(params).fill("i32").join(" ") : params;
  return `(${list}) -> ${result}`;
}

const DECLARED: Readonly<Record<string, string>> = {
  memory: "memory",
  ABI_VERSION: "global i32",
  abi_version: sig(0),
  has_simd: sig(0),
  has_relaxed_simd: sig(0),
  heap_base: sig(0),
  packed_row_stride: sig(2),
  pack: sig(5),
  unpack: sig(5),
  gemm_workspace_bytes: sig(5),
  gemm_fused_workspace_bytes: sig(5),
  gemm_relaxed_used: sig(0),
  gemm_views: sig(5),
  gemm_fused: sig(6),
  gemm: sig(13),
  gemm_b_panels_bytes: sig(5),
  gemm_prepack_b: sig(14),
  gemm_prepacked: sig(15),
  random_bits: sig(5),
  change_precision: sig(10),
  pool_output_size: sig(3),
  max_pool_forward: sig(11),
  max_pool_backward: sig(14),
  avg_pool_forward: sig(15),
  avg_pool_backward: sig(15),
  relu_forward: sig(4),
  relu_backward: sig(7),
  flatten_nhwc: sig(7),
  unflatten_nhwc: sig(7),
  quantize_f32: sig(10),
  max_abs_codes: sig(4),
  softmax_cross_entropy: sig(16),
  input_max_abs_f32: sig(2, "f64"),
  input_round_f32: sig(8),
  F32_ABI_VERSION: "global i32",
  f32_abi_version: sig(0),
  f32_gemm_workspace_bytes: sig(3),
  f32_gemm: sig(11),
  f32_im2col: sig(12),
  f32_col2im: sig(12),
  f32_bias_act: sig(5),
  f32_bias_grad: sig(4),
  f32_relu_forward: sig(3),
  f32_relu_backward: sig(4),
  f32_sgd: sig("i32 i32 i32 f32"),
  f32_max_pool_forward: sig(10),
  f32_max_pool_backward: sig(11),
  f32_avg_pool_forward: sig(10),
  f32_avg_pool_backward: sig(10),
  f32_softmax_xent: sig(6),
};

for (const build of ["simd", "scalar", "relaxed"]) {
  test(`the ${build} build exports exactly the declared signatures`, async () => {
    const binary = await readFile(new URL(`../build/aptkit.${build}.wasm`, import.meta.url));
    const actual = exportSignatures(binary);
    // The parse and the engine agree on the names and kinds (a check of the parser itself).
    const kinds = Object.fromEntries(WebAssembly.Module.exports(new WebAssembly.Module(binary)).map((e) => [e.name, e.kind]));
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(kinds).sort());
    for (const [name, kind] of Object.entries(kinds)) {
      assert.equal(actual[name].split(" ")[0].startsWith("(") ? "function" : actual[name].split(" ")[0], kind, name);
    }
    assert.deepEqual(actual, DECLARED);
  });
}

test("docs/abi.md states the declared signatures", async () => {
  const doc = await readFile(new URL("../docs/abi.md", import.meta.url), "utf8");
  const rows = [...doc.matchAll(/^\| `(\w+)(?:\([^)]*\))?` \| `(\([^`]*\) -> \w+)` \|/gm)];
  // The identity, packed-format and GEMM tables (17 rows) and f32_abi_version at least.
  assert.ok(rows.length >= 18, `found only ${rows.length} signature rows`);
  for (const [, name, stated] of rows) {
    const expanded = stated.replace(/\((\w+) x (\d+)\)/, (_, t: string, n: string) => `(${Array(Number(n)).fill(t).join(" ")})`);
    assert.equal(expanded, DECLARED[name], `docs/abi.md row for ${name}`);
  }
});
