// kernels.gemm against a BigInt product of the raw codes, on targeted sweeps: every edge of the
// 4x8 micro-tile, the M/N cache blocks, K below / at / above the cache block and every width
// pair's overflow block, large K, all four layouts and all 225 width pairs with extreme codes.
// Run for both builds. Not a full cross product: each sweep varies one thing and holds the rest
// at values that still reach the edge cases (M=5, N=9 hit full and partial tiles).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createKernels, type Kernels } from "../src/index.js";
import {
  ALL_BITS, CACHE_K_BLOCK, GemmTester, LAYOUTS, overflowBlocks, testAll, type Fill,
} from "./helpers/gemm-tester.js";

/** A spread of width pairs for sweeps over other dimensions: narrow, byte, mixed, wide, split. */
const SPREAD: readonly [number, number][] = [
  [8, 8], [4, 4], [2, 16], [16, 2], [3, 5], [16, 16], [12, 12], [7, 11], [16, 8], [5, 14],
];

/** Blocks up to here get the full below / at / above treatment on a 5x9 output. */
const SMALL_BLOCK = 1100;

for (const isa of ["simd", "scalar"] as const) {
  describe(`gemm sweep (${isa})`, () => {
    let kernels: Kernels;
    before(async () => {
      kernels = await createKernels({ isa });
      assert.equal(kernels.isa, isa);
    });

    test("every M and N in 1..9 (4x8 micro-tile edges), K = 1 and K = 17, each layout", () => {
      testAll(kernels, (function* () {
        let s = 0;
        for (const l of LAYOUTS) {
          for (let m = 1; m <= 9; m++) {
            for (let n = 1; n <= 9; n++) {
              for (const k of [1, 17]) {
                const [ba, bb] = SPREAD[s % SPREAD.length];
                const fill: Fill = s % 5 === 4 ? "extremes" : "random";
                yield new GemmTester().m(m).n(n).k(k).bits(ba, bb).layout(l).fill(fill).seed(++s);
              }
            }
          }
        }
      })());
    });

    test("larger M and N (16, 17, 33, 65) crossing the M cache block, each layout", () => {
      testAll(kernels, (function* () {
        let s = 100;
        const sizes = [1, 8, 9, 16, 17, 33, 65];
        for (const l of LAYOUTS) {
          for (const m of sizes) {
            for (const n of sizes) {
              if (m < 16 && n < 16) continue; // covered by the 1..9 sweep
              const [ba, bb] = SPREAD[s % SPREAD.length];
              yield new GemmTester().m(m).n(n).k(11).bits(ba, bb).layout(l).seed(++s);
            }
          }
        }
      })());
    });

    test("M or N = 257, crossing the N cache block (256) and several M blocks, each layout", () => {
      testAll(kernels, (function* () {
        let s = 200;
        for (const l of LAYOUTS) {
          yield new GemmTester().m(257).n(3).k(7).bits(8, 8).layout(l).seed(++s);
          yield new GemmTester().m(3).n(257).k(7).bits(4, 12).layout(l).seed(++s);
          yield new GemmTester().m(6).n(257).k(5).bits(16, 16).layout(l).extremes().seed(++s);
        }
        yield new GemmTester().m(257).n(257).k(3).bits(5, 9).seed(++s);
      })());
    });

    test("K = 1, 2, 3 and below / at / above the cache K block (256) and its multiples, each layout", () => {
      testAll(kernels, (function* () {
        let s = 300;
        const ks = [1, 2, 3, 255, 256, 257, 511, 512, 513, 769];
        for (const l of LAYOUTS) {
          for (const k of ks) {
            for (const [ba, bb] of [[8, 8], [4, 4], [16, 2], [13, 16]] as const) {
              yield new GemmTester().m(5).n(9).k(k).bits(ba, bb).layout(l).seed(++s);
            }
            yield new GemmTester().m(5).n(9).k(k).bits(16, 16).layout(l).extremes().seed(++s);
          }
        }
      })());
    });

    test("K below / at / above each width pair's overflow block (blocks <= 1100), extreme codes", () => {
      // e.g. (16,8): 2*floor((2^31-1)/(2*32767*127)) = 516; (12,12): 512; (16,11): 64, where 32
      // pairs of 32767*1023 products come within 0.1% of 2^31; (16,16) split: 256.
      testAll(kernels, (function* () {
        let s = 400;
        for (const ba of ALL_BITS) {
          for (const bb of ALL_BITS) {
            for (const block of overflowBlocks(ba, bb)) {
              if (block > SMALL_BLOCK) continue;
              for (const k of new Set([Math.max(1, block - 1), block, block + 1, 2 * block + 1])) {
                const l = LAYOUTS[s % LAYOUTS.length];
                yield new GemmTester().m(5).n(9).k(k).bits(ba, bb).layout(l).extremes().seed(++s);
              }
            }
          }
        }
      })());
    });

    test("K just above each larger overflow block (1100 < block < 65536), extreme codes", () => {
      testAll(kernels, (function* () {
        let s = 2000;
        for (const ba of ALL_BITS) {
          for (const bb of ALL_BITS) {
            for (const block of overflowBlocks(ba, bb)) {
              if (block <= SMALL_BLOCK) continue;
              // 1 x 2: C[0][0] = -K*maxA*maxB and C[0][1] = +K*maxA*maxB.
              const l = LAYOUTS[s % LAYOUTS.length];
              yield new GemmTester().m(1).n(2).k(block + 1).bits(ba, bb).layout(l).extremes().seed(++s);
            }
          }
        }
      })());
    });

    test("all 225 width pairs, each layout, extreme codes at a K crossing the overflow (or cache) block", () => {
      let count = 0;
      testAll(kernels, (function* () {
        let s = 3000;
        for (const ba of ALL_BITS) {
          for (const bb of ALL_BITS) {
            const blocks = overflowBlocks(ba, bb).filter((b) => b <= SMALL_BLOCK);
            const k = Math.max(CACHE_K_BLOCK, ...blocks) + 1;
            for (const l of LAYOUTS) {
              count++;
              yield new GemmTester().m(5).n(9).k(k).bits(ba, bb).layout(l).extremes().seed(++s);
            }
          }
        }
      })());
      assert.equal(count, 225 * 4);
    });

    test("all 225 width pairs, random and random-sign codes, rotating layouts", () => {
      testAll(kernels, (function* () {
        let s = 5000;
        for (const ba of ALL_BITS) {
          for (const bb of ALL_BITS) {
            yield new GemmTester().m(7).n(10).k(37).bits(ba, bb).layout(LAYOUTS[s % 4]).seed(++s);
            yield new GemmTester().m(4).n(8).k(300).bits(ba, bb).layout(LAYOUTS[s % 4]).randomSigns().seed(++s);
          }
        }
      })());
    });

    test("large K (4099) and K = 65536, small M and N, each layout", () => {
      testAll(kernels, (function* () {
        let s = 6000;
        for (const l of LAYOUTS) {
          yield new GemmTester().m(3).n(9).k(4099).bits(16, 16).layout(l).extremes().seed(++s);
          yield new GemmTester().m(5).n(4).k(4099).bits(7, 13).layout(l).seed(++s);
          yield new GemmTester().m(2).n(3).k(65536).bits(16, 16).layout(l).extremes().seed(++s);
          yield new GemmTester().m(1).n(2).k(65536).bits(16, 8).layout(l).randomSigns().seed(++s);
        }
      })());
    });

    test("K = 2^22, the largest K accepted, with 16-bit extremes: |C| = 2^22 * 32767^2 is exact", () => {
      // Built byte-wise (the generic tester's bit-by-bit reference pack would take minutes here).
      // At 16 bits a row of K codes is exactly K little-endian halfwords, no padding.
      const K = 2 ** 22;
      const fill = (codes: number[]) => {
        const bytes = new Uint8Array(codes.length * K * 2);
        codes.forEach((code, r) => {
          const lo = code & 0xff, hi = (code >> 8) & 0xff;
          for (let x = r * K * 2; x < (r + 1) * K * 2; x += 2) { bytes[x] = lo; bytes[x + 1] = hi; }
        });
        return bytes;
      };
      const a = { rows: 1, cols: K, bits: 16, bytes: fill([32767]) };
      const b = { rows: 3, cols: K, bits: 16, bytes: fill([-32767, 32767, -1]) };
      const c = kernels.gemm(a, b, { transB: true });
      const most = BigInt(K) * 32767n * 32767n;
      assert.deepEqual(Array.from(c, BigInt), [-most, most, -BigInt(K) * 32767n]);
    });

    test("empty shapes: M, N or K = 0 give an all-zero (or empty) result", () => {
      // Beyond the brief's sweep, but the kernel's early return is its own path.
      for (const l of LAYOUTS) {
        for (const [m, n, k] of [[0, 3, 4], [3, 0, 4], [3, 4, 0]] as const) {
          new GemmTester().m(m).n(n).k(k).bits(6, 10).layout(l).test(kernels);
        }
      }
    });
  });
}
