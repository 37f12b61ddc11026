// Deno: the relaxed-SIMD build, where this Deno validates it and it passes the known-answer check
// (Deno 2.9 does), gives the SIMD build's results bit for bit on 8-bit products whose A codes are
// 0..127, through its relaxed path; a negative A code falls back to the plain path, still exact.
import * as aptkit from "../../dist/index.js";
import { codes } from "../portable/cases.mjs";

const CASES = [
  { m: 1, n: 1, k: 1, aBits: 8, bBits: 8 },
  { m: 6, n: 11, k: 301, aBits: 8, bBits: 8 },
  { m: 64, n: 40, k: 513, aBits: 7, bBits: 8, transB: true },
  { m: 13, n: 17, k: 260, aBits: 8, bBits: 4, transA: true },
  { m: 5, n: 9, k: 17, aBits: 2, bBits: 8, transA: true, transB: true },
];

function same(x: Float64Array, y: Float64Array): boolean {
  return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
}

Deno.test("relaxed build: nonnegative-A products equal the SIMD build and the reference, via the relaxed path", async (t) => {
  const relaxed = await aptkit.createKernels({ isa: "relaxed" });
  const simd = await aptkit.createKernels({ isa: "simd" });
  for (const c of CASES) {
    await t.step(`${c.m}x${c.n}x${c.k} @ ${c.aBits}x${c.bBits}${c.transA ? " A^T" : ""}${c.transB ? " B^T" : ""}`, () => {
      const aCodes = codes(c.m * c.k, c.aBits, 7).map(Math.abs);
      const bCodes = codes(c.k * c.n, c.bBits, 11);
      const a = simd.pack(aCodes, c.transA ? c.k : c.m, c.transA ? c.m : c.k, c.aBits);
      const b = simd.pack(bCodes, c.transB ? c.n : c.k, c.transB ? c.k : c.n, c.bBits);
      const options = { transA: !!c.transA, transB: !!c.transB };
      const got = relaxed.gemm(a, b, options);
      if (!relaxed.lastGemmUsedRelaxed()) throw new Error("the relaxed path did not run");
      if (!same(got, simd.gemm(a, b, options))) throw new Error("relaxed and SIMD builds differ");
      if (!same(got, aptkit.reference.gemm(a, b, options))) throw new Error("relaxed build and reference differ");
      // One negative A code: the plain path, the same exact product.
      aCodes[aCodes.length - 1] = -1;
      const a2 = simd.pack(aCodes, c.transA ? c.k : c.m, c.transA ? c.m : c.k, c.aBits);
      const got2 = relaxed.gemm(a2, b, options);
      if (relaxed.lastGemmUsedRelaxed()) throw new Error("a negative A code did not fall back");
      if (!same(got2, simd.gemm(a2, b, options))) throw new Error("fallback result differs from the SIMD build");
    });
  }
});
