// The rounding of the fused weight update.
//  - Stochastic rounding is unbiased: the same fractional update, applied again and again under
//    different engine.step values (the PRNG is keyed by (seed, step, stream, index)), moves a
//    weight by floor(d) or ceil(d), ceil with probability frac(d), so the mean applied update is d.
//    Tolerance: 4 standard errors of a mean of T Bernoulli draws, sqrt(p(1-p)/T) with p = frac(d)
//    (the draws are deterministic, so this either always passes or always fails).
//  - Round-to-nearest drops every update below half a step: the weights do not move although the
//    update statistics report sumAbs > 0 (changed = 0): the underflow the APT controller reacts to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Dense } from "../src/nn/layers/dense.js";
import type { Rounding } from "../src/runtime/descriptors.js";
import { LayerRig, dequantize } from "./helpers/layer-harness.js";

const F = 4, U = 5;
const X_CODES = [1, 2, 3, 5];
const DY_CODES = [1, -1, 3, -7, 6];
const X_EXP = -4, DY_EXP = -6, W_EXP = -7;
const W0 = 0; // every weight starts at code 0 (8 bits)

/** A batch-1 dense layer 4 -> 5 whose weight gradient is the outer product dY^T x. */
async function rig(rounding: Rounding): Promise<{ rig: LayerRig; layer: Dense; real: (lr: number) => Float64Array }> {
  const layer = new Dense(U, false, "dense0");
  const r = await LayerRig.create(layer, [1, F], { rounding, weightBits: 8, needInputError: false, seed: 9 });
  r.setWeights(new Int32Array(U * F).fill(W0), W_EXP);
  layer.forward(r.input(X_CODES, X_EXP));
  r.error(DY_CODES, DY_EXP);
  // The real update in codes from the float gradient: -lr * dL/dW / 2^expW.
  const xv = dequantize(X_CODES, X_EXP), dyv = dequantize(DY_CODES, DY_EXP);
  const real = (lr: number) => {
    const d = new Float64Array(U * F);
    for (let o = 0; o < U; o++) for (let f = 0; f < F; f++) d[o * F + f] = (-lr * dyv[o] * xv[f]) / 2 ** W_EXP;
    return d;
  };
  return { rig: r, layer, real };
}

function applyOnce(r: LayerRig, layer: Dense, lr: number, step: number): Int32Array {
  r.setWeights(new Int32Array(U * F).fill(W0), W_EXP);
  r.engine.step = step;
  layer.backward({ at: r.dyAt, shape: [1, U], bits: 8, exp: DY_EXP }, lr);
  return r.weightCodes();
}

test("stochastic rounding: the mean applied update over many steps is lr * g / step", async () => {
  const { rig: r, layer, real } = await rig("stochastic");
  // lr not a power of two, so the fractional parts are irregular: d = -lr g / 2^expW in about
  // (-0.85, 0.85) (g up to 35 code units of 2^(expDY+expX-expW) = 1/8).
  const lr = 0.1943;
  const d = real(lr);
  const T = 4000;
  const sum = new Float64Array(U * F);
  let changedTotal = 0;
  for (let step = 0; step < T; step++) {
    const w = applyOnce(r, layer, lr, step);
    for (let i = 0; i < w.length; i++) {
      const delta = w[i] - W0;
      assert.ok(delta === Math.floor(d[i]) || delta === Math.ceil(d[i]), `step ${step}, weight ${i}: moved ${delta} for ${d[i]}`);
      sum[i] += delta;
    }
    changedTotal += layer.lastUpdate()!.changed;
  }
  let zSum = 0, varSum = 0;
  for (let i = 0; i < d.length; i++) {
    const p = d[i] - Math.floor(d[i]);
    const se = Math.sqrt((p * (1 - p)) / T);
    const mean = sum[i] / T;
    assert.ok(Math.abs(mean - d[i]) <= 4 * se, `weight ${i}: mean update ${mean}, real ${d[i]}, 4 SE = ${4 * se}`);
    zSum += mean - d[i];
    varSum += se * se;
  }
  // All weights together: the total bias is within 4 standard errors of the sum.
  assert.ok(Math.abs(zSum) <= 4 * Math.sqrt(varSum), `total bias ${zSum}, 4 SE = ${4 * Math.sqrt(varSum)}`);
  // An update below half a step still moves some weights, in proportion to its size.
  const expectedChanges = d.reduce((a, v) => a + Math.abs(v), 0) * T;
  assert.ok(Math.abs(changedTotal - expectedChanges) <= 4 * Math.sqrt(expectedChanges), `changed ${changedTotal}, expected about ${expectedChanges}`);
});

test("stochastic rounding: draws depend on the step (not one fixed rounding replayed)", async () => {
  const { rig: r, layer } = await rig("stochastic");
  const seen = new Set<string>();
  for (let step = 0; step < 8; step++) seen.add(applyOnce(r, layer, 0.1943, step).join(","));
  assert.ok(seen.size >= 4, `only ${seen.size} distinct outcomes over 8 steps`);
  // ...and the same step replays the same draws (reproducible runs).
  assert.equal(applyOnce(r, layer, 0.1943, 3).join(","), applyOnce(r, layer, 0.1943, 3).join(","));
});

test("stochastic rounding: update statistics report G = mean |lr g| / step", async () => {
  const { rig: r, layer, real } = await rig("stochastic");
  applyOnce(r, layer, 0.1943, 0);
  const s = layer.lastUpdate()!;
  const d = real(0.1943);
  assert.equal(s.count, U * F);
  const sumAbs = d.reduce((a, v) => a + Math.abs(v), 0);
  assert.ok(Math.abs(s.sumAbs - sumAbs) <= 1e-12 * sumAbs, `sumAbs ${s.sumAbs}, want ${sumAbs}`);
});

test("nearest: an update below half a step is dropped, and the statistics show the underflow", async () => {
  const { rig: r, layer, real } = await rig("nearest");
  const lr = 0.1117; // largest |update| 0.1117 * 35 / 8 = 0.489 steps
  const d = real(lr);
  const largest = Math.max(...Array.from(d, Math.abs));
  assert.ok(largest < 0.5 && largest > 0.4, `test setup: largest |update| ${largest} should be just under half a step`);
  for (let step = 0; step < 50; step++) {
    const w = applyOnce(r, layer, lr, step);
    assert.ok(w.every((q) => q === W0), `step ${step}: a weight moved: ${w.join(",")}`);
    const s = layer.lastUpdate()!;
    assert.equal(s.changed, 0, "changed");
    assert.ok(s.sumAbs > 0, "sumAbs");
    assert.ok(Math.abs(s.sumAbs - d.reduce((a, v) => a + Math.abs(v), 0)) <= 1e-12, `sumAbs ${s.sumAbs}`);
  }
  // Just above half a step the same layer does move (so the test above could fail).
  const lr2 = (lr * 0.51) / largest;
  const w = applyOnce(r, layer, lr2, 0);
  const moved = w.filter((q) => q !== W0).length;
  const over = real(lr2).filter((v) => Math.abs(v) > 0.5).length;
  assert.ok(over > 0 && moved === over, `moved ${moved}, updates above half a step ${over}`);
  assert.equal(layer.lastUpdate()!.changed, over);
});

test("nearest: updates of exactly k + 1/2 steps round to even", async () => {
  const { rig: r, layer, real } = await rig("nearest");
  // lr such that d = -lr g / 2^expW = -g / 2 in code units: row 0 (dY = 1) gets -x/2, row 1
  // (dY = -1) gets +x/2, x = 1, 2, 3, 5.
  const lr = 4;
  assert.deepEqual([...real(lr).subarray(0, 8)], [-0.5, -1, -1.5, -2.5, 0.5, 1, 1.5, 2.5]);
  const w = applyOnce(r, layer, lr, 0);
  assert.deepEqual([...w.subarray(0, 8)], [0, -1, -2, -2, 0, 1, 2, 2]);
});
