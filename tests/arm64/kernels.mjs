// arm64 (Raspberry Pi class) correctness: pack, unpack and GEMM of both builds against the
// plain-TypeScript reference, on whatever Node runs this (tests/arm64/run.sh: emulated arm64 Node
// 20 under qemu). Prints "N passed, N failed"; exit code 1 on any failure.
import * as aptkit from "../../dist/index.js";
import { GEMM_CASES, caseName, checkGemm } from "../portable/cases.mjs";

let passed = 0, failed = 0;
console.log(`# node ${process.version} on ${process.arch}`);
for (const isa of ["simd", "scalar"]) {
  let kernels;
  try {
    kernels = await aptkit.createKernels({ isa });
  } catch (e) {
    console.log(`not ok - ${isa}: createKernels failed: ${e.message}`);
    failed += GEMM_CASES.length;
    continue;
  }
  for (const c of GEMM_CASES) {
    let error;
    try {
      error = checkGemm(aptkit, kernels, c);
    } catch (e) {
      error = `threw ${e.stack ?? e}`;
    }
    if (error) {
      failed++;
      console.log(`not ok - ${isa} ${caseName(c)}: ${error}`);
    } else {
      passed++;
      console.log(`ok - ${isa} ${caseName(c)}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
