// The small f32 kernels around the GEMM (assembly/f32/ops.ts) against the float64 reference, both
// builds: pooling (ties, overlapping and strided windows), ReLU, bias, SGD, softmax cross-entropy.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  avgPoolBackwardReference, avgPoolReference, maxPoolBackwardReference, maxPoolReference, poolOutput,
  softmaxXentReference, type PoolGeometry,
} from "../src/baselines/fp32/reference.js";
import type { Isa } from "../src/runtime/wasm.js";
import { Fp32Memory, loadFp32 } from "./helpers/fp32-wasm.js";
import { Rng } from "./helpers/random.js";
import { STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE } from "../src/runtime/abi-status.js";

const U = 2 ** -24;
const uniform = (rng: Rng) => (rng.u32() / 2 ** 32) * 2 - 1;
/** Small integers: ties everywhere, and every sum exact in f32. */
const smallInt = (rng: Rng) => rng.int(-3, 3);

function closeTo(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const bound = rel * Math.max(1, Math.abs(want[i]));
    if (!(Math.abs(got[i] - want[i]) <= bound)) assert.fail(`${what}[${i}] = ${got[i]}, reference ${want[i]}`);
  }
}

const POOLS: PoolGeometry[] = [
  { n: 2, h: 4, w: 4, c: 3, kh: 2, kw: 2, sh: 2, sw: 2 },
  { n: 1, h: 5, w: 7, c: 5, kh: 3, kw: 2, sh: 1, sw: 2 },   // overlapping rows, odd edges dropped
  { n: 3, h: 6, w: 6, c: 8, kh: 3, kw: 3, sh: 2, sw: 2 },   // overlapping, C a multiple of 4
  { n: 2, h: 7, w: 5, c: 6, kh: 2, kw: 3, sh: 3, sw: 1 },
  { n: 1, h: 3, w: 3, c: 1, kh: 3, kw: 3, sh: 1, sw: 1 },
];

for (const isa of ["simd", "scalar"] as Isa[]) {
  test(`f32 max/avg pool forward and backward (${isa})`, async () => {
    const { exports: abi } = await loadFp32(isa);
    const mem = new Fp32Memory(abi);
    let seed = 1;
    for (const g of POOLS) {
      const label = `${g.n}x${g.h}x${g.w}x${g.c} window ${g.kh}x${g.kw} stride ${g.sh}x${g.sw} (${isa})`;
      for (const draw of [smallInt, uniform]) {
        const rng = new Rng(seed++);
        const { oh, ow } = poolOutput(g);
        const x = Float32Array.from({ length: g.n * g.h * g.w * g.c }, () => draw(rng));
        const dy = Float32Array.from({ length: g.n * oh * ow * g.c }, () => smallInt(rng));
        mem.reset();
        const xAt = mem.put(x), dyAt = mem.put(dy), yAt = mem.alloc(dy.length * 4), dxAt = mem.alloc(x.length * 4);
        const geo = [g.n, g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw] as const;
        assert.equal(abi.f32_max_pool_forward(xAt, ...geo, yAt), 0);
        assert.deepEqual([...mem.f32(yAt, dy.length)], [...maxPoolReference(x, g)], `${label}: max forward`);
        assert.equal(abi.f32_max_pool_backward(xAt, ...geo, dyAt, dxAt), 0);
        // Integer-valued dY: the sums are exact, so the first-max routing is checked exactly.
        assert.deepEqual([...mem.f32(dxAt, x.length)], [...maxPoolBackwardReference(x, dy, g)], `${label}: max backward (first max wins)`);
        assert.equal(abi.f32_avg_pool_forward(xAt, ...geo, yAt), 0);
        closeTo(mem.f32(yAt, dy.length), avgPoolReference(x, g), (g.kh * g.kw + 2) * U, `${label}: avg forward`);
        assert.equal(abi.f32_avg_pool_backward(dyAt, ...geo, dxAt), 0);
        closeTo(mem.f32(dxAt, x.length), avgPoolBackwardReference(dy, g), (g.kh * g.kw + 2) * 4 * U, `${label}: avg backward`);
      }
    }
    const x = mem.alloc(64);
    assert.equal(abi.f32_max_pool_forward(x, 1, 2, 2, 1, 3, 3, 1, 1, x), STATUS_WINDOW_TOO_LARGE, "window larger than input");
    assert.equal(abi.f32_avg_pool_forward(x, 1, 2, 2, 1, 1, 1, 0, 1, x), STATUS_WINDOW, "zero stride");
  });

  test(`f32 relu, bias, sgd (${isa})`, async () => {
    const { exports: abi } = await loadFp32(isa);
    const mem = new Fp32Memory(abi);
    const rng = new Rng(42);
    const rows = 5, cols = 11, n = rows * cols;
    const x = Float32Array.from({ length: n }, () => (rng.int(0, 4) === 0 ? 0 : uniform(rng)));
    x[3] = -0;
    const xAt = mem.put(x), yAt = mem.alloc(n * 4);
    abi.f32_relu_forward(xAt, n, yAt);
    const y = mem.f32(yAt, n);
    assert.deepEqual([...y], [...x].map((v) => (v > 0 ? v : 0)), "relu forward");
    assert.ok(Object.is(y[3], 0), "relu(-0) is +0");
    const dy = Float32Array.from({ length: n }, () => uniform(rng));
    const dyAt = mem.put(dy), dxAt = mem.alloc(n * 4);
    abi.f32_relu_backward(yAt, dyAt, n, dxAt);
    assert.deepEqual([...mem.f32(dxAt, n)], [...dy].map((v, i) => (y[i] > 0 ? v : 0)), "relu backward");

    const b = Float32Array.from({ length: cols }, () => uniform(rng));
    const bAt = mem.put(b);
    for (const relu of [0, 1]) {
      const zAt = mem.put(x);
      abi.f32_bias_act(zAt, rows, cols, bAt, relu);
      const want = [...x].map((v, i) => { const s = Math.fround(v + b[i % cols]); return relu && !(s > 0) ? 0 : s; });
      assert.deepEqual([...mem.f32(zAt, n)], want, `bias_act relu=${relu}`);
    }
    const dbAt = mem.alloc(cols * 4);
    abi.f32_bias_grad(dyAt, rows, cols, dbAt);
    const db = Array.from({ length: cols }, (_, j) => { let s = 0; for (let r = 0; r < rows; r++) s = Math.fround(s + dy[r * cols + j]); return s; });
    assert.deepEqual([...mem.f32(dbAt, cols)], db, "bias_grad sums rows in order");

    const wAt = mem.put(x);
    abi.f32_sgd(wAt, dyAt, n, 0.125);
    assert.deepEqual([...mem.f32(wAt, n)], [...x].map((v, i) => Math.fround(v - Math.fround(0.125 * dy[i]))), "sgd");
  });

  test(`f32 softmax cross-entropy (${isa})`, async () => {
    const { exports: abi } = await loadFp32(isa);
    const mem = new Fp32Memory(abi);
    const rng = new Rng(9);
    const N = 7, classes = 10;
    const logits = Float32Array.from({ length: N * classes }, () => uniform(rng) * 20);
    logits.set([5, 5, 5, 5, 5, 5, 5, 5, 5, 5], 0); // all tied: the first class is the prediction
    const labels = Uint8Array.from({ length: N }, () => rng.int(0, classes - 1));
    labels[0] = 0;
    const lAt = mem.put(logits), labAt = mem.putBytes(labels), gAt = mem.alloc(N * classes * 4), out = mem.alloc(16);
    assert.equal(abi.f32_softmax_xent(lAt, N, classes, labAt, gAt, out), 0);
    const ref = softmaxXentReference(logits, labels, N, classes);
    const loss = new Float64Array(abi.memory.buffer, out, 1)[0], correct = new Int32Array(abi.memory.buffer, out + 8, 1)[0];
    assert.ok(Math.abs(loss - ref.loss) <= 1e-12 * Math.max(1, ref.loss), `loss ${loss} vs ${ref.loss}`);
    assert.equal(correct, ref.correct);
    const g = mem.f32(gAt, N * classes);
    for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i] - ref.dlogits[i]) <= 2 * U * Math.abs(ref.dlogits[i]) + 1e-12, `dlogits[${i}]`);
    // Without a gradient buffer only loss and count are written.
    assert.equal(abi.f32_softmax_xent(lAt, N, classes, labAt, 0, out), 0);
    assert.equal(new Float64Array(abi.memory.buffer, out, 1)[0], loss);
    labels[4] = classes;
    const badAt = mem.putBytes(labels);
    assert.equal(abi.f32_softmax_xent(lAt, N, classes, badAt, gAt, out), 5, "label 4 out of range -> 4 + 1");
  });
}
