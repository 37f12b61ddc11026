// f32 GEMM (assembly/f32/gemm.ts) against the float64 reference, both builds, every layout, edge
// tiles (M mod 4, N mod 8) and the cache blocks (K around 256, N around 512, M around 64).
//
// Tolerance: the operands are f32 values, so the float64 reference is the exact product up to
// 2^-52; an f32 sum of K products in any order (the kernel sums each K block, then adds blocks)
// is within K * u * sum_k |a_ik b_kj| of it (u = 2^-24, first-order bound). We allow
// (K + 2) * 2^-24 * (sum |a b| + |C0|), C0 the accumulated-into value.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gemmReference } from "../src/baselines/fp32/reference.js";
import type { Isa } from "../src/runtime/wasm.js";
import { Fp32Memory, fp32Source, loadFp32 } from "./helpers/fp32-wasm.js";
import { Rng } from "./helpers/random.js";

const U = 2 ** -24;
const LAYOUTS = [[false, false], [false, true], [true, false], [true, true]] as const;

function randomF32(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.u32() / 2 ** 32) * 2 - 1;
  return out;
}

class GemmCase {
  private _m = 1; private _n = 1; private _k = 1;
  private _tA = false; private _tB = false; private _acc = false;
  m(v: number) { this._m = v; return this; }
  n(v: number) { this._n = v; return this; }
  k(v: number) { this._k = v; return this; }
  trans(a: boolean, b: boolean) { this._tA = a; this._tB = b; return this; }
  accumulate(v = true) { this._acc = v; return this; }
  get name() {
    return `${this._m}x${this._n}x${this._k}${this._tA ? " A^T" : ""}${this._tB ? " B^T" : ""}${this._acc ? " +=" : ""}`;
  }

  test(mem: Fp32Memory, seed: number): void {
    const { _m: M, _n: N, _k: K, _tA: tA, _tB: tB, _acc: acc } = this;
    const rng = new Rng(seed);
    const a = randomF32(rng, M * K), b = randomF32(rng, K * N), c0 = randomF32(rng, M * N);
    mem.reset();
    const aAt = mem.put(a), bAt = mem.put(b), cAt = mem.put(c0);
    // A sentinel after C: the kernel must not write past M x N.
    const guard = mem.put([1234.5, 1234.5, 1234.5, 1234.5]);
    const workBytes = mem.abi.f32_gemm_workspace_bytes(M, N, K);
    const work = mem.alloc(workBytes);
    const status = mem.abi.f32_gemm(aAt, bAt, cAt, M, N, K, +tA, +tB, +acc, work, workBytes);
    assert.equal(status, 0, `${this.name}: status`);
    const got = mem.f32(cAt, M * N);
    const { c, abs } = gemmReference(a, b, M, N, K, tA, tB);
    for (let i = 0; i < M * N; i++) {
      const want = c[i] + (acc ? c0[i] : 0);
      const bound = (K + 2) * U * (abs[i] + (acc ? Math.abs(c0[i]) : 0)) + 1e-30;
      if (!(Math.abs(got[i] - want) <= bound)) {
        assert.fail(`${this.name}: C[${Math.floor(i / N)}][${i % N}] = ${got[i]}, reference ${want}, bound ${bound}`);
      }
    }
    assert.deepEqual([...mem.f32(guard, 4)], [1234.5, 1234.5, 1234.5, 1234.5], `${this.name}: wrote past C`);
  }
}

for (const isa of ["simd", "scalar"] as Isa[]) {
  test(`f32 gemm (${isa}): small shapes, every edge tile, all layouts, = and +=`, async () => {
    const { exports: abi } = await loadFp32(isa);
    assert.equal(abi.has_simd(), isa === "simd" ? 1 : 0, `${fp32Source(isa)} module is the ${isa} build`);
    const mem = new Fp32Memory(abi);
    let seed = 1;
    for (const M of [1, 2, 3, 4, 5, 7, 8, 9, 13]) {
      for (const N of [1, 3, 7, 8, 9, 15, 16, 17]) {
        for (const K of [1, 2, 5, 16]) {
          for (const [tA, tB] of LAYOUTS) {
            for (const acc of [false, true]) new GemmCase().m(M).n(N).k(K).trans(tA, tB).accumulate(acc).test(mem, seed++);
          }
        }
      }
    }
  });

  test(`f32 gemm (${isa}): shapes across the cache blocks (MC 64, KC 256, NC 512)`, async () => {
    const mem = new Fp32Memory((await loadFp32(isa)).exports);
    const shapes: [number, number, number][] = [
      [64, 8, 256], [65, 9, 257], [63, 7, 255], [4, 512, 16], [5, 513, 3], [67, 520, 600], [129, 17, 513],
      // The lenet5 batch-32 products: conv2 forward, its weight gradient, fc1's input error.
      [3200, 16, 150], [16, 150, 3200], [32, 400, 120],
    ];
    let seed = 1000;
    for (const [M, N, K] of shapes) {
      for (const [tA, tB] of LAYOUTS) new GemmCase().m(M).n(N).k(K).trans(tA, tB).accumulate(seed % 2 === 0).test(mem, seed++);
    }
  });

  test(`f32 gemm (${isa}): K = 0 gives zeros (or leaves C), a short workspace is refused`, async () => {
    const { exports: abi } = await loadFp32(isa);
    const mem = new Fp32Memory(abi);
    const c = mem.put([1, 2, 3, 4, 5, 6]);
    const work = mem.alloc(abi.f32_gemm_workspace_bytes(2, 3, 0));
    assert.equal(abi.f32_gemm(0, 0, c, 2, 3, 0, 0, 0, 1, work, abi.f32_gemm_workspace_bytes(2, 3, 0)), 0);
    assert.deepEqual([...mem.f32(c, 6)], [1, 2, 3, 4, 5, 6]);
    assert.equal(abi.f32_gemm(0, 0, c, 2, 3, 0, 0, 0, 0, work, abi.f32_gemm_workspace_bytes(2, 3, 0)), 0);
    assert.deepEqual([...mem.f32(c, 6)], [0, 0, 0, 0, 0, 0]);
    const need = abi.f32_gemm_workspace_bytes(9, 9, 9);
    assert.equal(abi.f32_gemm(c, c, c, 9, 9, 9, 0, 0, 0, work, need - 1), -3);
  });
}

test("f32 gemm: SIMD and scalar builds agree within the bound on a lenet5-sized product", async () => {
  const [simd, scalar] = await Promise.all([loadFp32("simd"), loadFp32("scalar")]);
  const M = 25088 / 8, N = 6, K = 25; // conv1 forward, an eighth of batch 32
  const rng = new Rng(7);
  const a = randomF32(rng, M * K), b = randomF32(rng, N * K);
  const run = (abi: typeof simd.exports) => {
    const mem = new Fp32Memory(abi);
    const aAt = mem.put(a), bAt = mem.put(b), cAt = mem.alloc(M * N * 4);
    const wb = abi.f32_gemm_workspace_bytes(M, N, K), work = mem.alloc(wb);
    assert.equal(abi.f32_gemm(aAt, bAt, cAt, M, N, K, 0, 1, 0, work, wb), 0);
    return mem.f32(cAt, M * N);
  };
  const x = run(simd.exports), y = run(scalar.exports);
  const { abs } = gemmReference(a, b, M, N, K, false, true);
  for (let i = 0; i < M * N; i++) assert.ok(Math.abs(x[i] - y[i]) <= 2 * (K + 2) * U * abs[i], `C[${i}]: simd ${x[i]} scalar ${y[i]}`);
});
