// Conv2d on the f32 kernels as the fp32 trainer runs it (im2col + GEMM + bias; backward: GEMM for
// dW, column sums for db, GEMM + col2im for dX) against direct float64 loops, both builds, on small
// shapes with strides, padding, non-square kernels and cropped edges.
// Tolerance: each output is an f32 sum of T products (T = KH*KW*C forward, N*OH*OW for dW and db,
// Co*KH*KW for dX); we allow (T + 2) * 2^-24 * (the same sum over absolute values).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  conv2dBackwardReference, conv2dReference, convOutput, type ConvGeometry,
} from "../src/baselines/fp32/reference.js";
import type { Isa } from "../src/runtime/wasm.js";
import { Fp32Memory, loadFp32 } from "./helpers/fp32-wasm.js";
import { Rng } from "./helpers/random.js";
import { STATUS_DIMENSION } from "../src/runtime/abi-status.js";

const U = 2 ** -24;

function randomF32(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.u32() / 2 ** 32) * 2 - 1);
}

function near(got: ArrayLike<number>, want: ArrayLike<number>, abs: ArrayLike<number>, terms: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const bound = (terms + 2) * U * abs[i] + 1e-30;
    if (!(Math.abs(got[i] - want[i]) <= bound)) assert.fail(`${what}[${i}] = ${got[i]}, reference ${want[i]}, bound ${bound}`);
  }
}

const GEOMETRIES: (ConvGeometry & { co: number })[] = [
  { n: 1, h: 5, w: 5, c: 1, kh: 3, kw: 3, sh: 1, sw: 1, ph: 0, pw: 0, co: 1 },
  { n: 2, h: 6, w: 7, c: 3, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, co: 5 },
  { n: 2, h: 7, w: 6, c: 2, kh: 3, kw: 2, sh: 2, sw: 1, ph: 1, pw: 0, co: 4 },
  { n: 3, h: 8, w: 8, c: 4, kh: 5, kw: 5, sh: 2, sw: 3, ph: 2, pw: 2, co: 9 },
  { n: 1, h: 4, w: 4, c: 3, kh: 4, kw: 4, sh: 1, sw: 1, ph: 3, pw: 3, co: 2 },  // padding wider than the input reach
  { n: 2, h: 9, w: 5, c: 1, kh: 1, kw: 1, sh: 2, sw: 2, ph: 0, pw: 0, co: 8 },  // 1x1, strided (skips inputs)
  { n: 4, h: 28, w: 28, c: 1, kh: 5, kw: 5, sh: 1, sw: 1, ph: 2, pw: 2, co: 6 }, // lenet5 conv1
];

for (const isa of ["simd", "scalar"] as Isa[]) {
  test(`f32 conv2d forward and backward (${isa}) vs float64 loops`, async () => {
    const { exports: abi } = await loadFp32(isa);
    const mem = new Fp32Memory(abi);
    let seed = 1;
    for (const g of GEOMETRIES) {
      const label = `${g.n}x${g.h}x${g.w}x${g.c} k${g.kh}x${g.kw} s${g.sh}x${g.sw} p${g.ph}x${g.pw} co${g.co}`;
      const rng = new Rng(seed++);
      const { oh, ow } = convOutput(g);
      const K = g.kh * g.kw * g.c, P = g.n * oh * ow;
      const x = randomF32(rng, g.n * g.h * g.w * g.c), w = randomF32(rng, g.co * K), b = randomF32(rng, g.co);
      const dy = randomF32(rng, P * g.co);
      mem.reset();
      const xAt = mem.put(x), wAt = mem.put(w), bAt = mem.put(b), dyAt = mem.put(dy);
      const cols = mem.alloc(P * K * 4), yAt = mem.alloc(P * g.co * 4);
      const dwAt = mem.alloc(g.co * K * 4), dbAt = mem.alloc(g.co * 4), dxAt = mem.alloc(x.length * 4);
      const wb = Math.max(abi.f32_gemm_workspace_bytes(P, g.co, K), abi.f32_gemm_workspace_bytes(g.co, K, P), abi.f32_gemm_workspace_bytes(P, K, g.co));
      const work = mem.alloc(wb);
      const geo = [g.n, g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw] as const;

      assert.equal(abi.f32_im2col(xAt, ...geo, cols), 0);
      assert.equal(abi.f32_gemm(cols, wAt, yAt, P, g.co, K, 0, 1, 0, work, wb), 0);
      abi.f32_bias_act(yAt, P, g.co, bAt, 0);
      const absX = x.map(Math.abs), absW = w.map(Math.abs), absB = b.map(Math.abs), absDy = dy.map(Math.abs);
      near(mem.f32(yAt, P * g.co), conv2dReference(x, w, b, g.co, g), conv2dReference(absX, absW, absB, g.co, g), K + 1, `${label} (${isa}) y`);

      assert.equal(abi.f32_gemm(dyAt, cols, dwAt, g.co, K, P, 1, 0, 0, work, wb), 0);
      abi.f32_bias_grad(dyAt, P, g.co, dbAt);
      assert.equal(abi.f32_gemm(dyAt, wAt, cols, P, K, g.co, 0, 0, 0, work, wb), 0);
      assert.equal(abi.f32_col2im(cols, ...geo, dxAt), 0);
      const ref = conv2dBackwardReference(x, w, dy, g.co, g);
      const refAbs = conv2dBackwardReference(absX, absW, absDy, g.co, g);
      near(mem.f32(dwAt, g.co * K), ref.dw, refAbs.dw, P, `${label} (${isa}) dW`);
      near(mem.f32(dbAt, g.co), ref.db, refAbs.db, P, `${label} (${isa}) db`);
      near(mem.f32(dxAt, x.length), ref.dx, refAbs.dx, g.co * g.kh * g.kw, `${label} (${isa}) dX`);
    }
  });
}

test("f32 im2col/col2im refuse a kernel larger than the padded input", async () => {
  const { exports: abi } = await loadFp32("simd");
  const mem = new Fp32Memory(abi);
  const x = mem.alloc(64), cols = mem.alloc(1024);
  assert.equal(abi.f32_im2col(x, 1, 2, 2, 1, 5, 5, 1, 1, 1, 1, cols), STATUS_DIMENSION);
  assert.equal(abi.f32_col2im(cols, 1, 2, 2, 1, 3, 3, 0, 1, 0, 0, x), STATUS_DIMENSION);
});
