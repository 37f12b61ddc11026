// Dense and Conv2d in an Engine against float64 references computed here from the DEQUANTIZED
// operands (value = code * 2^exp):
//   forward      y = x W^T + b (conv: over patches), optional fused ReLU
//   input error  dX = dY W (conv: every tap sends dY * W back to the input it read), lr = 0
//   gradient     dY^T patches(X) on codes: exact (an integer), via a "store" GEMM over the views
//   update       with lr making -lr * 2^(expDY+expX-expW) a power of two, the applied update is
//                exactly RNE(-lr * g_float / 2^expW) ("nearest"), or its floor or ceil (stochastic)
// Bounds (see assertWithinStep): a requantized output is within one output step 2^expY of the
// exact value for stochastic rounding (it is the floor or the ceiling) and within half a step for
// round-to-nearest, where it must moreover be exactly RNE. The output exponent is the smallest that
// does not saturate (exact scaling), so the step is as small as the bound claims.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Layer } from "../src/nn/layer.js";
import { Conv2d, type Conv2dOptions } from "../src/nn/layers/conv2d.js";
import { Dense } from "../src/nn/layers/dense.js";
import { BIAS_EXP } from "../src/nn/layers/linear.js";
import type { Rounding } from "../src/runtime/descriptors.js";
import {
  LayerRig, assertWithinStep, biasGradient, convBackwardData, convForward, convWeightGradient, dequantize,
  expectedExponent, geometryOf, maxAbs, roundHalfEven,
} from "./helpers/layer-harness.js";
import { Rng, maxCodeOf, randomCodes } from "./helpers/random.js";

const ACT_BITS = 8;
const STATUS_BITS = 8;
const WEIGHT_BITS = [4, 8, 12] as const;
const ROUNDINGS: Rounding[] = ["stochastic", "nearest"];
const X_EXP = -7;
const DY_EXP = -9;
const BIAS_BITS = 16;

interface Case {
  what: string;
  make: () => Layer;
  input: number[];
  /** The input's storage when a flatten came before (NHWC lines), else the input shape. */
  storage?: number[];
  wBits: number;
  rounding: Rounding;
  seed: number;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

async function check(c: Case): Promise<void> {
  const what = `${c.what} w${c.wBits} ${c.rounding} seed ${c.seed}`;
  const layer = c.make();
  const storage = c.storage ?? c.input;
  const rig = await LayerRig.create(layer, c.input, {
    weightBits: c.wBits, actBits: ACT_BITS, errBits: STATUS_BITS, rounding: c.rounding, seed: c.seed, inputStorage: storage,
  });
  // Stored NHWC codes are in the same order as the flattened features, so one geometry serves.
  const g = geometryOf(layer, storage);
  const rng = new Rng(c.seed);
  const relu = (layer as Dense | Conv2d).relu;

  // Operands: full-range random codes; weights in (-1, 1), biases in (-0.5, 0.5).
  const w = layer.weights()[0];
  assert.equal(w.bits, c.wBits, `${what}: initial weight bits`);
  const wExp = -(c.wBits - 1);
  const wCodes = randomCodes(rng, w.rows * w.cols, c.wBits);
  const bCodes = Int32Array.from({ length: w.rows }, () => rng.int(-2048, 2048));
  rig.setWeights(wCodes, wExp);
  rig.setBias(bCodes);
  const xCodes = randomCodes(rng, size(c.input), ACT_BITS);
  const x = rig.input(xCodes, X_EXP);
  const wv = dequantize(wCodes, wExp), xv = dequantize(xCodes, X_EXP), bv = dequantize(bCodes, BIAS_EXP);

  // ---- forward ----
  const y = layer.forward(x);
  assert.deepEqual([...y.shape], [...rig.outputShape], `${what}: output shape`);
  assert.equal(y.bits, ACT_BITS, `${what}: output bits`);
  const exact = convForward(g, xv, wv, bv);
  const ref = relu ? exact.map((v) => Math.max(0, v)) : exact;
  const yExp = expectedExponent(maxAbs(ref), ACT_BITS, c.rounding, X_EXP + wExp);
  assert.equal(y.exp, yExp, `${what}: forward exponent (max |y| = ${maxAbs(ref)})`);
  const yCodes = rig.codes(y);
  assertWithinStep(`${what}: forward`, ref, yCodes, y.exp, c.rounding);
  if (c.rounding === "nearest") {
    for (let i = 0; i < ref.length; i++) {
      assert.equal(yCodes[i], roundHalfEven(ref[i] * 2 ** -y.exp), `${what}: forward element ${i} is not RNE of ${ref[i]}`);
    }
  }
  if (relu) {
    // Fused ReLU: no negative code, and a non-positive pre-activation gives exactly 0.
    for (let i = 0; i < exact.length; i++) {
      assert.ok(yCodes[i] >= 0, `${what}: negative code ${yCodes[i]} at ${i} after ReLU`);
      if (exact[i] <= 0) assert.equal(yCodes[i], 0, `${what}: pre-activation ${exact[i]} at ${i} not zeroed`);
    }
  } else if (exact.some((v) => v <= -(2 ** y.exp))) {
    // Tiny cases may have no output below -1 step; the bound above already forbids a stray ReLU.
    assert.ok(yCodes.some((q) => q < 0), `${what}: no negative output code without ReLU`);
  }

  // ---- backward, lr = 0: the input error only, weights untouched ----
  const dyCodes = randomCodes(rng, size(rig.outputShape), STATUS_BITS);
  const dy = rig.error(dyCodes, DY_EXP);
  const dyv = dequantize(dyCodes, DY_EXP);
  const dx = layer.backward(dy, 0);
  assert.ok(dx, `${what}: no input error`);
  assert.deepEqual([...dx.shape], [...storage], `${what}: input error shape (as stored)`);
  assert.equal(dx.bits, STATUS_BITS, `${what}: input error bits`);
  const dxRef = convBackwardData(g, dyv, wv);
  assert.equal(dx.exp, expectedExponent(maxAbs(dxRef), STATUS_BITS, c.rounding, DY_EXP + wExp), `${what}: input error exponent`);
  assertWithinStep(`${what}: input error`, dxRef, rig.codes(dx), dx.exp, c.rounding);
  assert.deepEqual(rig.weightCodes(), wCodes, `${what}: lr = 0 changed the weights`);
  assert.deepEqual(rig.biasCodes(), bCodes, `${what}: lr = 0 changed the bias`);

  // ---- weight gradient: exact integer dY^T * patches(X) ----
  const gRef = convWeightGradient(g, dyCodes, xCodes);
  const gGot = rig.gradientByStore(x, dy);
  for (let i = 0; i < gRef.length; i++) {
    if (gGot[i] !== gRef[i]) assert.fail(`${what}: gradient element ${i} (row ${Math.floor(i / w.cols)}, col ${i % w.cols}): want ${gRef[i]}, got ${gGot[i]}`);
  }

  // ---- fused update: lr chosen so the code-unit scale is -2^-s, the largest |update| in [2, 4) ----
  const s = Math.floor(Math.log2(maxAbs(gRef))) - 1;
  const lr = 2 ** (-s - DY_EXP - X_EXP + wExp);
  const wLimit = maxCodeOf(c.wBits), bLimit = maxCodeOf(BIAS_BITS);
  layer.backward(dy, lr);
  const after = rig.weightCodes();
  let changed = 0, saturated = 0, sumAbs = 0;
  for (let i = 0; i < gRef.length; i++) {
    // The real update in codes, from the float gradient: -lr * dL/dW / 2^expW.
    const d = (-lr * gRef[i] * 2 ** (DY_EXP + X_EXP)) / 2 ** wExp;
    sumAbs += Math.abs(d);
    const at = `${what}: update of weight ${i} (code ${wCodes[i]}, exact update ${d})`;
    if (c.rounding === "nearest") {
      const raw = wCodes[i] + roundHalfEven(d);
      const want = Math.max(-wLimit, Math.min(wLimit, raw));
      if (raw !== want) saturated++;
      if (want !== wCodes[i]) changed++;
      assert.equal(after[i], want, at);
    } else {
      const lo = Math.max(-wLimit, Math.min(wLimit, wCodes[i] + Math.floor(d)));
      const hi = Math.max(-wLimit, Math.min(wLimit, wCodes[i] + Math.ceil(d)));
      assert.ok(after[i] === lo || after[i] === hi, `${at}: got ${after[i]}, want ${lo} or ${hi}`);
      if (after[i] !== wCodes[i]) changed++;
    }
  }
  assert.ok(changed > 0, `${what}: the update changed nothing (test too weak)`);
  const stats = layer.lastUpdate();
  assert.ok(stats, `${what}: no update statistics`);
  assert.equal(stats.count, w.rows * w.cols, `${what}: stats.count`);
  assert.equal(stats.changed, changed, `${what}: stats.changed`);
  // Exact equality is fair: every |update| is an integer times 2^-s and the sum stays far below
  // 2^53 of those units, so any summation order gives the same double.
  assert.equal(stats.sumAbs, sumAbs, `${what}: stats.sumAbs (sum of |lr g| / step)`);
  if (c.rounding === "nearest") assert.equal(stats.saturated, saturated, `${what}: stats.saturated`);

  // Bias: b += round(-lr * dL/db / 2^BIAS_EXP), dL/db = sum of dY over positions.
  const gb = biasGradient(g, dyCodes);
  const bAfter = rig.biasCodes();
  for (let o = 0; o < w.rows; o++) {
    const d = (-lr * gb[o] * 2 ** DY_EXP) / 2 ** BIAS_EXP;
    const at = `${what}: bias ${o} (code ${bCodes[o]}, exact update ${d})`;
    if (c.rounding === "nearest") {
      assert.equal(bAfter[o], Math.max(-bLimit, Math.min(bLimit, bCodes[o] + roundHalfEven(d))), at);
    } else {
      assert.ok(bAfter[o] === bCodes[o] + Math.floor(d) || bAfter[o] === bCodes[o] + Math.ceil(d), `${at}: got ${bAfter[o]}`);
    }
  }
}

async function sweep(what: string, make: () => Layer, input: number[], seed: number, storage?: number[]): Promise<void> {
  for (const wBits of WEIGHT_BITS) {
    for (const rounding of ROUNDINGS) await check({ what, make, input, storage, wBits, rounding, seed: seed++ });
  }
}

test("dense, 2-D input [N, F], with and without fused ReLU", async () => {
  await sweep("dense [3, 10] -> 7", () => new Dense(7, false, "dense0"), [3, 10], 100);
  await sweep("dense+relu [3, 10] -> 7", () => new Dense(7, true, "dense0"), [3, 10], 200);
  await sweep("dense [1, 1] -> 1", () => new Dense(1, false, "dense0"), [1, 1], 300);
});

test("dense after flatten: a [N, F] input still stored as NHWC lines (padded rows)", async () => {
  await sweep("dense [2, 30] stored [2, 3, 5, 2] -> 6", () => new Dense(6, false, "dense0"), [2, 30], 600, [2, 3, 5, 2]);
  await sweep("dense+relu [2, 9] stored [2, 3, 3, 1] -> 5", () => new Dense(5, true, "dense0"), [2, 9], 700, [2, 3, 3, 1]);
});

test("dense, 4-D input [N, H, W, C] read through the whole-image view", async () => {
  await sweep("dense [2, 3, 5, 2] -> 6", () => new Dense(6, false, "dense0"), [2, 3, 5, 2], 400);
  await sweep("dense+relu [2, 5, 3, 3] -> 4", () => new Dense(4, true, "dense0"), [2, 5, 3, 3], 500);
});

// Kernel 1, 3, 5 x stride 1, 2 x padding 0, 1, 2; channels 1..3, filters 1..4, odd and
// non-square inputs, ReLU on every other geometry.
const SPATIAL: [number, number, number][] = [[2, 7, 5], [1, 5, 9], [2, 9, 7]];
let geometryIndex = 0;
for (const kernel of [1, 3, 5]) {
  for (const stride of [1, 2]) {
    for (const padding of [0, 1, 2]) {
      const i = geometryIndex++;
      const [n, h, w] = SPATIAL[i % SPATIAL.length];
      const cin = 1 + (i % 3);
      const filters = 1 + ((i + 1) % 4);
      const o: Conv2dOptions = { filters, kernel, stride, padding, relu: i % 2 === 1 };
      const what = `conv k${kernel} s${stride} p${padding} [${n}, ${h}, ${w}, ${cin}] -> ${filters}${o.relu ? " relu" : ""}`;
      test(what, async () => {
        await sweep(what, () => new Conv2d(o, "conv0"), [n, h, w, cin], 1000 + 10 * i);
      });
    }
  }
}

test("conv with rectangular kernel, stride and padding", async () => {
  await sweep("conv k3x5 s2x1 p1x2 [2, 6, 7, 3] -> 2", () => new Conv2d({ filters: 2, kernel: [3, 5], stride: [2, 1], padding: [1, 2] }, "conv0"), [2, 6, 7, 3], 2000);
  await sweep("conv k1x3 s1x2 p0x1 relu [1, 5, 8, 2] -> 3", () => new Conv2d({ filters: 3, kernel: [1, 3], stride: [1, 2], padding: [0, 1], relu: true }, "conv0"), [1, 5, 8, 2], 2100);
  await sweep("conv k5 s1 p0 on exactly 5x5 [1, 5, 5, 1] -> 2", () => new Conv2d({ filters: 2, kernel: 5 }, "conv0"), [1, 5, 5, 1], 2200);
});

test("conv large enough for several GEMM blocks: K = 300 > 256, 84 rows > 64", async () => {
  await sweep("conv k5 s1 p2 [2, 7, 6, 12] -> 5", () => new Conv2d({ filters: 5, kernel: 5, padding: 2 }, "conv0"), [2, 7, 6, 12], 3000);
});
