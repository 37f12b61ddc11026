// The relaxed-SIMD build: what this engine says about it, the start-up known-answer check (and its
// rejection of a wrong engine, simulated), and the sweep against the SIMD build, in this process
// where the engine validates the build and in a child `node --experimental-wasm-relaxed-simd`
// (Node 20 has relaxed SIMD behind that flag) where it does not.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createKernels, setWasmSource } from "../src/index.js";
import { instantiateAbi, resetRelaxedProbe, type AbiExports } from "../src/runtime/wasm.js";
import { CHECK_N, knownAnswerCheck } from "../src/runtime/relaxed.js";
import { runRawExtremes, runSweep } from "./helpers/relaxed-sweep.js";

const buildUrl = (isa: string) => new URL(`../build/aptkit.${isa}.wasm`, import.meta.url);
const relaxedBytes = new Uint8Array(await readFile(buildUrl("relaxed")));
const simdBytes = new Uint8Array(await readFile(buildUrl("simd")));
/** Whether this engine, as started, accepts relaxed SIMD (Node 20: only with the flag). */
const validatesHere = WebAssembly.validate(relaxedBytes);
const nodeMajor = Number(process.versions.node.split(".")[0]);
const NOT_HERE = "this engine does not validate relaxed SIMD as started (Node 20 without --experimental-wasm-relaxed-simd)";

after(() => {
  setWasmSource("relaxed", null);
  resetRelaxedProbe();
});

test("WebAssembly.validate of the builds on this Node", () => {
  console.log(`# Node ${process.version}: validate(relaxed build) = ${validatesHere}`);
  assert.equal(WebAssembly.validate(simdBytes), true);
  // Node 20 ships relaxed SIMD behind a flag; Node 22 has it on.
  if (nodeMajor === 20 && !process.execArgv.includes("--experimental-wasm-relaxed-simd")) assert.equal(validatesHere, false);
  if (nodeMajor >= 22) assert.equal(validatesHere, true);
});

test("a child node with --experimental-wasm-relaxed-simd validates the relaxed build", { skip: nodeMajor >= 22 && "relaxed SIMD is on by default from Node 22" }, () => {
  const res = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "-e",
    `const fs = require("node:fs"); console.log(WebAssembly.validate(fs.readFileSync(${JSON.stringify(fileURLToPath(buildUrl("relaxed")))})))`],
  { encoding: "utf8" });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), "true");
});

test('"auto" takes the relaxed build only where it validates and passes the check; isaReason says why', async () => {
  resetRelaxedProbe();
  const k = await createKernels();
  console.log(`# auto: ${k.isa} (${k.isaReason})`);
  if (validatesHere) {
    assert.equal(k.isa, "relaxed", k.isaReason);
    assert.match(k.isaReason, /known-answer check/);
  } else {
    assert.equal(k.isa, "simd");
    assert.match(k.isaReason, /^not relaxed: this engine does not validate the relaxed-SIMD build/);
  }
});

test('isa "relaxed" where the engine does not validate it throws, saying what failed', { skip: validatesHere && "this engine validates relaxed SIMD" }, async () => {
  resetRelaxedProbe();
  await assert.rejects(createKernels({ isa: "relaxed" }),
    /isa "relaxed" cannot be used here: this engine does not validate the relaxed-SIMD build .*--experimental-wasm-relaxed-simd/);
});

test("the known-answer check rejects a wrong engine (simulated: C doubled, as Node 20's dot_add was seen) and a plain-path run", async () => {
  const simd = await instantiateAbi(simdBytes);
  const reference = await instantiateAbi(simdBytes);
  // A stand-in for a relaxed instance on a wrong engine: the SIMD build, claiming to be relaxed,
  // whose gemm doubles every result.
  const doubling: AbiExports = {
    ...simd,
    memory: simd.memory,
    has_relaxed_simd: () => 1,
    gemm_relaxed_used: () => 1,
    gemm: (...args: Parameters<AbiExports["gemm"]>) => {
      const status = simd.gemm(...args);
      const c = args[10];
      const C = new Float64Array(simd.memory.buffer, c, 6 * CHECK_N);
      for (let x = 0; x < C.length; x++) C[x] *= 2;
      return status;
    },
  };
  assert.match(knownAnswerCheck(doubling, reference) ?? "", /relaxed-SIMD gemm gave C\[0\]\[0\] = -9786112, the reference -4893056/);
  // Right answers, but not from the relaxed path: the check vouches for nothing then.
  const plain: AbiExports = { ...simd, memory: simd.memory, has_relaxed_simd: () => 1, gemm_relaxed_used: () => 0 };
  assert.match(knownAnswerCheck(plain, reference) ?? "", /did not take its relaxed-SIMD path/);
  // Not the relaxed build at all.
  assert.match(knownAnswerCheck(simd, reference) ?? "", /not the relaxed-SIMD build/);
});

test("a registered \"relaxed\" source that fails the check: auto falls back to SIMD with the reason; explicit throws", async () => {
  // The SIMD build's bytes posing as the relaxed build: valid everywhere, rejected by the check.
  setWasmSource("relaxed", simdBytes);
  try {
    const k = await createKernels();
    assert.equal(k.isa, "simd");
    assert.match(k.isaReason, /^not relaxed: the module given as the relaxed build is not the relaxed-SIMD build/);
    await assert.rejects(createKernels({ isa: "relaxed" }), /isa "relaxed" cannot be used here: the module given as the relaxed build is not/);
  } finally {
    setWasmSource("relaxed", null);
  }
});

test("sweep in this process: relaxed build == SIMD build, bit for bit, relaxed path where it applies", { skip: !validatesHere && NOT_HERE }, async () => {
  resetRelaxedProbe();
  const relaxed = await createKernels({ isa: "relaxed" }), simd = await createKernels({ isa: "simd" });
  const r = runSweep(relaxed, simd);
  assert.deepEqual(r.failures, []);
  assert.ok(r.relaxedRan >= 150 && r.fallbacks >= 20, JSON.stringify(r));
  const x = runRawExtremes(relaxed, simd);
  assert.deepEqual(x.failures, []);
  assert.equal(x.relaxedRan, 49);
});

test("sweep in a child node --experimental-wasm-relaxed-simd: relaxed build == SIMD build", { skip: validatesHere && "ran in this process" }, () => {
  const sweep = fileURLToPath(new URL("./helpers/relaxed-sweep.ts", import.meta.url));
  const res = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--import", "tsx", sweep], { encoding: "utf8", timeout: 120_000 });
  const line = res.stdout.trim().split("\n").pop() ?? "";
  assert.equal(res.status, 0, `child failed: ${line}\n${res.stderr}`);
  const r = JSON.parse(line);
  console.log(`# child ${r.node}: ${r.cases} cases, relaxed path ${r.relaxedRan}, fallbacks ${r.fallbacks}; ${r.isaReason}`);
  assert.deepEqual(r.failures, []);
  assert.ok(r.relaxedRan >= 150 + 49 && r.fallbacks >= 20);
});
