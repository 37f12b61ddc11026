// The wasm ABI (docs/abi.md) from a non-JavaScript engine: wabt's spectest-interp loads each build
// with no imports, and WAT drivers (tests/wabt/*.wat) that import only its memory and exports pack
// codes above heap_base(), size the workspace, run gemm / gemm_views / gemm_fused and read the
// results; every expected value comes from the TypeScript reference on the same codes.
//
// Needs wabt (wast2json, spectest-interp), which no npm package ships (npm's wabt is the JavaScript
// port, without spectest-interp): without it the tests report themselves skipped with the install
// line; .ci/run installs it and sets APTKIT_REQUIRE_ALL=1, under which its absence fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { abiWast, caseName, type AbiCase } from "./wabt/wast.js";
import { onPath, skipUnless } from "./helpers/system-tool.js";

const CASES: readonly AbiCase[] = [
  { m: 5, n: 9, k: 17, aBits: 8, bBits: 8, seed: 1 },
  { m: 6, n: 10, k: 13, aBits: 4, bBits: 8, seed: 2 },
  // 16 x 16: one pair of products fills an i32 lane, so the wider operand is split into bytes.
  { m: 7, n: 9, k: 11, aBits: 16, bBits: 16, seed: 3 },
  { m: 4, n: 5, k: 9, aBits: 3, bBits: 5, seed: 4 },
  { m: 5, n: 9, k: 12, aBits: 8, bBits: 4, transB: true, seed: 5 },
  { m: 6, n: 7, k: 10, aBits: 4, bBits: 8, transA: true, skew: 3, seed: 6 },
  { m: 3, n: 11, k: 7, aBits: 2, bBits: 12, transA: true, transB: true, seed: 7 },
  // K beyond one K block (256), a workspace that forces the smallest blocking, and the split.
  { m: 9, n: 17, k: 300, aBits: 16, bBits: 16, tight: true, skew: 7, seed: 8 },
];

const skip = skipUnless({
  what: "wabt's wast2json and spectest-interp",
  present: onPath("wast2json") && onPath("spectest-interp"),
  install: "apt-get install wabt",
});

function buildBytes(isa: string): Uint8Array {
  const path = fileURLToPath(new URL(`../build/aptkit.${isa}.wasm`, import.meta.url));
  if (!existsSync(path)) throw new Error(`abi-wabt: ${path} is missing: run npm run build:wasm`);
  return new Uint8Array(readFileSync(path));
}

for (const isa of ["simd", "scalar"] as const) {
  test(`${isa} build: abi_version, return codes and pack -> gemm / gemm_views / gemm_fused in wabt's spectest-interp`, { skip }, () => {
    const wast2json = "wast2json";
    const interp = "spectest-interp";
    const { text, tests } = abiWast(buildBytes(isa), isa === "simd", CASES);

    // Removed only when every assertion passed: a failure message names it.
    const dir = mkdtempSync(join(tmpdir(), `aptkit-abi-${isa}-`));
    const wastPath = join(dir, `abi-${isa}.wast`);
    const jsonPath = join(dir, `abi-${isa}.json`);
    writeFileSync(wastPath, text);
    const convert = spawnSync(wast2json, [wastPath, "-o", jsonPath], { encoding: "utf8" });
    assert.equal(convert.status, 0, `wast2json failed:\n${convert.stderr}${convert.stdout}`);
    const run = spawnSync(interp, [jsonPath], { encoding: "utf8", maxBuffer: 64 << 20 });
    const output = `${run.stdout}${run.stderr}`;
    const summary = /(\d+)\/(\d+) tests passed\./.exec(output);
    const failures = output.split("\n").filter((l) => /error|fail|mismatch|expected/i.test(l)).slice(0, 20).join("\n");
    assert.ok(summary, `spectest-interp printed no summary (exit ${run.status}):\n${output.slice(0, 4000)}`);
    assert.equal(Number(summary[2]), tests, `spectest-interp ran ${summary[2]} tests, the script has ${tests}`);
    assert.equal(Number(summary[1]), tests,
      `${Number(summary[2]) - Number(summary[1])} of ${tests} tests (modules and assertions) failed (script kept in ${dir}; cases: ` +
      `${CASES.map((c, i) => `case${i} = ${caseName(c)}`).join("; ")}):\n${failures}`);
    assert.equal(run.status, 0, `spectest-interp exit status ${run.status}:\n${output.slice(0, 4000)}`);
    rmSync(dir, { recursive: true, force: true });
  });
}
