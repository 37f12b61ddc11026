// What the GEMM benchmarks time on, and their plainest baseline: seeded codes (every run times the
// same data) and the textbook loop every aptkit result is checked against before it is timed.
import { maxCode } from "../src/index.js";
import { seededUniform } from "../src/nn/weight-init.js";

/** A seeded PRNG in [0, 1): the one weight initialisation uses (mulberry32). */
export const prng = seededUniform;

/** Uniform symmetric codes in [-(2^(bits-1)-1), 2^(bits-1)-1]. */
export function randomCodes(n: number, bits: number, rand: () => number): Int32Array {
  const m = maxCode(bits);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * (2 * m + 1)) - m;
  return out;
}

/** The textbook i-j-k loop on unpacked codes: A is M x K, B is K x N, C is M x N, row-major. */
export function naiveGemm(A: Int32Array, B: Int32Array, C: Float64Array, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
      C[i * N + j] = s;
    }
  }
}
