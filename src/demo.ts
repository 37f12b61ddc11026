// `npm run demo`: multiplies bit-packed matrices on both builds and shows that the results are exact.
import { createKernels, reference, rowStrideBytes } from "./index.js";

function randomCodes(n: number, bits: number, seed: number): Int32Array {
  const max = (1 << (bits - 1)) - 1;
  const out = new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s % (2 * max + 1)) - max;
  }
  return out;
}

const M = 32, K = 784, N = 128;
for (const isa of ["simd", "scalar"] as const) {
  const kernels = await createKernels({ isa });
  for (const [aBits, bBits] of [[8, 8], [4, 8], [2, 8], [16, 16]]) {
    const a = kernels.pack(randomCodes(M * K, aBits, 1), M, K, aBits);
    const b = kernels.pack(randomCodes(K * N, bBits, 2), K, N, bBits);
    const started = performance.now();
    const c = kernels.gemm(a, b);
    const ms = performance.now() - started;
    const expected = reference.gemm(a, b);
    const exact = c.every((v, i) => v === expected[i]);
    console.log(
      `${isa.padEnd(6)} A ${M}x${K} @ ${String(aBits).padStart(2)} bits (${a.bytes.length} B, row stride ${rowStrideBytes(K, aBits)} B)` +
        ` x B ${K}x${N} @ ${String(bBits).padStart(2)} bits (${b.bytes.length} B): C ${M}x${N}` +
        ` in ${ms.toFixed(2)} ms, exact vs reference: ${exact ? "yes" : "NO"}`,
    );
    if (!exact) process.exitCode = 1;
  }
}
