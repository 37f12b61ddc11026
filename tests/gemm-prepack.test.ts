// prepareGemm(a, b, { prepackB: true }): B decoded into the kernel's panels once, when prepared,
// and reused by every run(). The result must be the exact product (BigInt), run after run, on the
// same sweeps of edges as the plain call: every micro-tile edge, several N blocks (N > 256, the
// panel buffer holds one panel per (N block, K block)), K below / at / above the cache block, the
// split of wide operands (16 x 16: two panel planes per block), narrow widths, all four layouts.
// Run for both builds.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createKernels, type Kernels } from "../src/index.js";
import { instantiateAbi, resolveIsa } from "../src/runtime/wasm.js";
import { CACHE_K_BLOCK, GemmTester, LAYOUTS, testAll } from "./helpers/gemm-tester.js";

const WIDTHS: readonly [number, number][] = [[8, 8], [4, 8], [2, 8], [16, 8], [16, 16], [3, 13], [8, 2]];

for (const isa of ["simd", "scalar"] as const) {
  describe(`gemm prepackB (${isa})`, () => {
    let kernels: Kernels;
    before(async () => {
      kernels = await createKernels({ isa });
      assert.equal(kernels.isa, isa);
    });

    test("every M and N in 1..9 (micro-tile edges), K = 1 and 17, each layout and width pair", () => {
      testAll(kernels, (function* () {
        let s = 0;
        for (const l of LAYOUTS) {
          for (let m = 1; m <= 9; m += 2) {
            for (let n = 1; n <= 9; n++) {
              for (const k of [1, 17]) {
                const [ba, bb] = WIDTHS[s % WIDTHS.length];
                yield new GemmTester().m(m).n(n).k(k).bits(ba, bb).layout(l).fill(s % 4 === 3 ? "extremes" : "random").seed(++s).prepackB();
              }
            }
          }
        }
      })());
    });

    test("K below, at and above the cache block; N over several N blocks; every width pair of the spread", () => {
      testAll(kernels, (function* () {
        let s = 100;
        for (const [ba, bb] of WIDTHS) {
          for (const k of [CACHE_K_BLOCK - 1, CACHE_K_BLOCK, CACHE_K_BLOCK + 1, 2 * CACHE_K_BLOCK + 3]) {
            yield new GemmTester().m(5).n(9).k(k).bits(ba, bb).fill(s % 2 ? "extremes" : "random").seed(++s).prepackB();
          }
          for (const n of [255, 256, 257, 520]) {
            yield new GemmTester().m(6).n(n).k(33).bits(ba, bb).transB(s % 2 === 0).seed(++s).prepackB();
          }
        }
      })());
    });

    test("M over several M blocks with several K blocks (the panels are read by every M block)", () => {
      testAll(kernels, (function* () {
        let s = 200;
        for (const l of LAYOUTS) {
          yield new GemmTester().m(131).n(19).k(600).bits(8, 8).layout(l).seed(++s).prepackB();
          yield new GemmTester().m(70).n(300).k(300).bits(16, 16).layout(l).extremes().seed(++s).prepackB();
        }
      })());
    });

    test("equals the plain call bit for bit, and runs again after other calls re-place nothing", () => {
      const c = new GemmTester().m(33).n(40).k(50).bits(4, 8).seed(7);
      const { a, b } = c.pack(kernels);
      const plain = kernels.gemm(a, b);
      const prepared = kernels.prepareGemm(a, b, { prepackB: true });
      prepared.run();
      assert.deepEqual(prepared.result(), plain);
      prepared.run();
      assert.deepEqual(prepared.result(), plain);
    });

    test("raw ABI: a panel buffer smaller than the blocking needs is refused (-3) and left as it was", async () => {
      const { bytes } = await resolveIsa(isa);
      const abi = await instantiateAbi(bytes);
      const c = new GemmTester().m(9).n(270).k(300).bits(8, 4).seed(3);
      const { a, b } = c.pack(kernels);
      const M = 9, N = 270, K = 300;
      const work = abi.gemm_workspace_bytes(M, N, K, 8, 4);
      const need = abi.gemm_b_panels_bytes(M, N, K, 8, 4)!;
      assert.ok(need >= N * K * 2, `panels ${need} bytes hold B as i16`);
      assert.equal(abi.gemm_b_panels_bytes(0, N, K, 8, 4), 0);
      assert.equal(abi.gemm_b_panels_bytes(M, N, K, 1, 4), 0);
      const align = (x: number) => (x + 15) & ~15;
      const aAt = align(abi.heap_base()), bAt = align(aAt + a.bytes.length), cAt = align(bAt + b.bytes.length);
      const workAt = align(cAt + M * N * 8), panelsAt = align(workAt + work), end = panelsAt + need;
      const grow = Math.ceil((end - abi.memory.buffer.byteLength) / 65536);
      if (grow > 0) abi.memory.grow(grow);
      const mem = new Uint8Array(abi.memory.buffer);
      mem.set(a.bytes, aAt);
      mem.set(b.bytes, bAt);
      mem.fill(0x5a, panelsAt, end);
      const args = [aAt, M, K, 8, 0, bAt, K, N, 4, 0] as const;
      assert.equal(abi.gemm_prepack_b!(...args, workAt, work, panelsAt, need - 16), -3);
      assert.ok(mem.subarray(panelsAt, end).every((x) => x === 0x5a), "nothing written on refusal");
      assert.equal(abi.gemm_prepack_b!(...args, workAt, work, panelsAt, need), 0);
      assert.equal(abi.gemm_prepacked!(...args, cAt, workAt, work, panelsAt, need - 16), -3);
      assert.equal(abi.gemm_prepacked!(...args, cAt, workAt, work, panelsAt, need), 0);
      const got = new Float64Array(abi.memory.buffer, cAt, M * N).slice();
      assert.deepEqual(got, kernels.gemm(a, b));
    });

    test("an empty product (M, N or K = 0) is all zeros", () => {
      for (const [m, n, k] of [[0, 5, 3], [4, 0, 3], [4, 5, 0]]) {
        const c = new GemmTester().m(m).n(n).k(k).seed(m + n + k);
        const { a, b } = c.pack(kernels);
        const prepared = kernels.prepareGemm(a, b, { prepackB: true });
        prepared.run();
        assert.deepEqual(prepared.result(), new Float64Array(m * n));
      }
    });
  });
}
