// Deno: pack and GEMM of both builds against the plain-TypeScript reference (dist/, as published).
import * as aptkit from "../../dist/index.js";
import { GEMM_CASES, caseName, checkGemm } from "../portable/cases.mjs";

for (const isa of ["simd", "scalar"] as const) {
  Deno.test(`${isa} build: pack, unpack and gemm match the reference`, async (t) => {
    const kernels = await aptkit.createKernels({ isa });
    if (kernels.isa !== isa) throw new Error(`asked for ${isa}, got ${kernels.isa}`);
    for (const c of GEMM_CASES) {
      await t.step(caseName(c), () => {
        const error = checkGemm(aptkit, kernels, c);
        if (error) throw new Error(`${isa} ${caseName(c)}: ${error}`);
      });
    }
  });
}

Deno.test('"auto" picks the relaxed-SIMD build on Deno (2.9 validates it and passes the known-answer check)', async () => {
  const kernels = await aptkit.createKernels();
  if (kernels.isa !== "relaxed") throw new Error(`auto picked ${kernels.isa}: ${kernels.isaReason}`);
});
