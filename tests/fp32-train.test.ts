// The fp32 reference trainer (src/baselines/fp32/learner.ts): its start matches the integer trainer's floats,
// its gradients match a float64 network and finite differences, an mlp learns, and the SIMD and
// scalar builds agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Fp32Learner, heUniformFloats } from "../src/baselines/fp32/learner.js";
import { networkReference } from "../src/baselines/fp32/reference.js";
import { heUniformCodes, layerSeed, seededUniform } from "../src/nn/weight-init.js";
import { avgPool, conv2d, dense, flatten, layerName, lenet5, maxPool, mlp, relu, sequential, type ModelDefinition } from "../src/nn/model.js";
import { testLoader } from "./helpers/fp32-wasm.js";
import { Rng } from "./helpers/random.js";

const uniform = (rng: Rng) => rng.u32() / 2 ** 32;

function randomBatch(def: ModelDefinition, n: number, seed: number): { images: Float32Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const per = def.input.reduce((a, b) => a * b, 1);
  return {
    images: Float32Array.from({ length: n * per }, () => uniform(rng)),
    labels: Uint8Array.from({ length: n }, () => rng.int(0, def.classes - 1)),
  };
}

/** conv (fused ReLU) -> max pool -> strided conv -> ReLU layer -> flatten -> dense(relu) -> dense. */
const tinyConvNet = () => sequential("tiny-conv", [6, 6, 2], 3, [
  conv2d({ filters: 3, kernel: 3, padding: 1 }), relu(), maxPool(2),
  conv2d({ filters: 4, kernel: [2, 3], stride: [1, 2], padding: [0, 1] }), relu(),
  flatten(), dense({ units: 5, relu: true }), dense({ units: 3 }),
]);

/** Smooth everywhere (no ReLU, no max): finite differences need no kink luck. */
const smoothConvNet = () => sequential("smooth-conv", [5, 5, 2], 3, [
  conv2d({ filters: 3, kernel: 3, padding: 1, stride: 2 }), avgPool({ size: 2, stride: 1 }), flatten(), dense({ units: 3 }),
]);

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

test("fp32 init: the integer trainer's floats (same seededUniform draws and per-layer seeds), zero biases", async () => {
  const def = lenet5();
  const seed = 12345;
  const learner = await Fp32Learner.create(def, { batch: 2, seed, isa: "simd", loader: testLoader });
  const params = learner.parameters();
  const weighted = def.layers.map((s, i) => [s, i] as const).filter(([s]) => s.type === "conv2d" || s.type === "dense");
  assert.deepEqual(Object.keys(params), weighted.map(([s, i]) => layerName(s, i)));
  for (const [s0, index] of weighted) {
    const p = params[layerName(s0, index)];
    assert.deepEqual(p.w, heUniformFloats(p.rows * p.cols, p.cols, layerSeed(seed, index)));
    assert.ok(p.b.every((v) => v === 0));
    // The float64 draws of src/nn/weight-init.ts, rounded once to f32.
    const random = seededUniform(layerSeed(seed, index));
    const limit = Math.sqrt(6 / p.cols);
    const draws = Float64Array.from({ length: p.rows * p.cols }, () => (2 * random() - 1) * limit);
    assert.deepEqual(p.w, Float32Array.from(draws));
    // Quantized as src/nn/weight-init.ts does, these floats give the integer trainer's codes, except
    // where rounding the draw to f32 moved it across a half-step (then by one code).
    for (const bits of [4, 8, 12, 16]) {
      const { codes, exp } = heUniformCodes(p.rows * p.cols, p.cols, bits, layerSeed(seed, index));
      const m = 2 ** (bits - 1) - 1, s = 2 ** -exp;
      for (let i = 0; i < codes.length; i++) {
        const mine = Math.max(-m, Math.min(m, Math.round(p.w[i] * s)));
        if (mine === codes[i]) continue;
        const half = (mine + codes[i]) / 2;
        assert.ok(Math.abs(mine - codes[i]) === 1 && (draws[i] * s - half) * (p.w[i] * s - half) <= 0,
          `${layerName(s0, index)}[${i}] at ${bits} bits: code ${mine} vs ${codes[i]}`);
      }
    }
  }
  assert.deepEqual(learner.weightBits(), { conv2d0: 32, conv2d3: 32, dense7: 32, dense9: 32, dense11: 32 });
  assert.deepEqual(learner.weightCounts(), { conv2d0: 150, conv2d3: 2400, dense7: 48000, dense9: 10080, dense11: 840 });
  assert.equal(learner.layers().reduce((s, l) => s + l.parameters, 0), 61706);
  assert.deepEqual(learner.layers().map((l) => l.outputShape.join("x")),
    ["2x28x28x6", "2x28x28x6", "2x14x14x6", "2x10x10x16", "2x10x10x16", "2x5x5x16", "2x400", "2x120", "2x120", "2x84", "2x84", "2x10"]);
});

for (const isa of ["simd", "scalar"] as const) {
  test(`fp32 gradients (${isa}) match a float64 network on a tiny conv net`, async () => {
    const def = tinyConvNet();
    const batch = 3;
    const learner = await Fp32Learner.create(def, { batch, seed: 7, isa, loader: testLoader });
    // Non-zero biases so that every bias path is exercised.
    const rng = new Rng(3);
    for (const [name, p] of Object.entries(learner.parameters())) {
      learner.setParameters(name, { b: Float32Array.from(p.b, () => uniform(rng) * 0.2 - 0.1) });
    }
    const { images, labels } = randomBatch(def, batch, 11);
    const got = learner.gradients(images, labels);
    const ref = networkReference(def, learner.parameters(), images, labels, batch);
    assert.ok(Math.abs(got.loss - ref.loss) <= 1e-5 * ref.loss, `loss ${got.loss} vs ${ref.loss}`);
    assert.equal(got.correct, ref.correct);
    for (const [name, g] of Object.entries(ref.grads)) {
      for (const part of ["w", "b"] as const) {
        const scale = maxAbs(g[part]);
        assert.ok(scale > 0, `${name}.${part} has a gradient`);
        for (let i = 0; i < g[part].length; i++) {
          const d = Math.abs(got.grads[name][part][i] - g[part][i]);
          assert.ok(d <= 1e-4 * scale, `${name}.${part}[${i}]: ${got.grads[name][part][i]} vs ${g[part][i]}`);
        }
      }
    }
  });
}

test("fp32 float64 reference network agrees with central finite differences (tiny conv net)", async () => {
  const def = tinyConvNet();
  const batch = 3;
  const learner = await Fp32Learner.create(def, { batch, seed: 7, loader: testLoader, isa: "simd" });
  const params = Object.fromEntries(Object.entries(learner.parameters()).map(([k, v]) => [k, { w: Float64Array.from(v.w), b: Float64Array.from(v.b) }]));
  const { images, labels } = randomBatch(def, batch, 11);
  const ref = networkReference(def, params, images, labels, batch);
  const eps = 1e-6;
  const rng = new Rng(5);
  for (const [name, p] of Object.entries(params)) {
    for (let t = 0; t < 8; t++) {
      const part = t % 2 === 0 ? "w" : "b";
      const i = rng.int(0, p[part].length - 1);
      const keep = p[part][i];
      p[part][i] = keep + eps;
      const up = networkReference(def, params, images, labels, batch).loss;
      p[part][i] = keep - eps;
      const down = networkReference(def, params, images, labels, batch).loss;
      p[part][i] = keep;
      const fd = (up - down) / (2 * eps);
      assert.ok(Math.abs(fd - ref.grads[name][part][i]) <= 1e-6 + 1e-4 * Math.abs(fd), `${name}.${part}[${i}]: fd ${fd} vs ${ref.grads[name][part][i]}`);
    }
  }
});

test("fp32 trainer's own gradients agree with finite differences of its f32 loss (smooth conv net)", async () => {
  const def = smoothConvNet();
  const batch = 4;
  const learner = await Fp32Learner.create(def, { batch, seed: 21, isa: "simd", loader: testLoader });
  const { images, labels } = randomBatch(def, batch, 4);
  const { grads } = learner.gradients(images, labels);
  const eps = 1e-2;
  for (const [name, p] of Object.entries(learner.parameters())) {
    for (const part of ["w", "b"] as const) {
      for (let i = 0; i < p[part].length; i += Math.max(1, Math.floor(p[part].length / 10))) {
        const v = p[part].slice();
        v[i] = p[part][i] + eps;
        learner.setParameters(name, { [part]: v });
        const up = learner.evaluate(images, labels, batch).loss;
        v[i] = p[part][i] - eps;
        learner.setParameters(name, { [part]: v });
        const down = learner.evaluate(images, labels, batch).loss;
        learner.setParameters(name, { [part]: p[part] });
        const fd = (up - down) / (2 * eps);
        // f32 loss noise ~ 2.3 * 2^-24 / (2 eps) ~ 1e-5; the O(eps^2) term is of the same order.
        assert.ok(Math.abs(fd - grads[name][part][i]) <= 1e-4 + 1e-2 * Math.abs(fd), `${name}.${part}[${i}]: fd ${fd} vs ${grads[name][part][i]}`);
      }
    }
  }
});

/** Four Gaussian blobs in 16 dimensions: linearly separable with margin. */
function blobs(n: number, seed: number): { images: Float32Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 4 }, (_, k) => Float32Array.from({ length: 16 }, (_, j) => (j % 4 === k ? 1 : 0)));
  const images = new Float32Array(n * 16), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(0, 3);
    labels[i] = k;
    for (let j = 0; j < 16; j++) images[i * 16 + j] = centres[k][j] + (uniform(rng) - 0.5) * 0.6;
  }
  return { images, labels };
}

test("fp32: an mlp learns a small synthetic dataset; SIMD and scalar stay together", async () => {
  const def = mlp([32], [16], 4);
  const batch = 16;
  const data = blobs(batch * 20, 1);
  const test = blobs(batch, 2);
  const run = async (isa: "simd" | "scalar") => {
    const learner = await Fp32Learner.create(def, { batch, seed: 99, isa, loader: testLoader });
    assert.equal(learner.isa, isa);
    const losses: number[] = [];
    for (let epoch = 0; epoch < 5; epoch++) {
      for (let s = 0; s < 20; s++) {
        const r = learner.trainStep(data.images.subarray(s * batch * 16, (s + 1) * batch * 16), data.labels.subarray(s * batch, (s + 1) * batch), 0.1);
        losses.push(r.loss);
      }
    }
    return { learner, losses, evalResult: learner.evaluate(test.images, test.labels, batch) };
  };
  const simd = await run("simd");
  const scalar = await run("scalar");
  const first = simd.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = simd.losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < first / 4, `loss fell from ${first.toFixed(3)} to ${last.toFixed(3)}`);
  assert.ok(simd.evalResult.correct >= 15, `held-out accuracy ${simd.evalResult.correct}/16`);
  for (let i = 0; i < simd.losses.length; i++) {
    assert.ok(Math.abs(simd.losses[i] - scalar.losses[i]) <= 1e-5 * simd.losses[i], `step ${i}: simd ${simd.losses[i]}, scalar ${scalar.losses[i]}`);
  }
  const ps = simd.learner.parameters(), pc = scalar.learner.parameters();
  for (const name of Object.keys(ps)) {
    const scale = maxAbs(ps[name].w);
    for (let i = 0; i < ps[name].w.length; i++) assert.ok(Math.abs(ps[name].w[i] - pc[name].w[i]) <= 1e-5 * scale, `${name}.w[${i}]`);
  }
});

test("fp32 lenet5: a step runs, evaluate takes a short batch, the hash follows the weights", async () => {
  const def = lenet5();
  const batch = 4;
  const a = await Fp32Learner.create(def, { batch, seed: 1, isa: "simd", loader: testLoader });
  const b = await Fp32Learner.create(def, { batch, seed: 1, isa: "simd", loader: testLoader });
  const c = await Fp32Learner.create(def, { batch, seed: 2, isa: "simd", loader: testLoader });
  const h0 = await a.modelSha256();
  assert.match(h0, /^[0-9a-f]{64}$/);
  assert.equal(await b.modelSha256(), h0);
  assert.notEqual(await c.modelSha256(), h0);
  const { images, labels } = randomBatch(def, batch, 3);
  const r1 = a.trainStep(images, labels, 0.05);
  assert.ok(Number.isFinite(r1.loss) && r1.loss > 0);
  assert.notEqual(await a.modelSha256(), h0);
  b.trainStep(images, labels, 0.05);
  assert.equal(await b.modelSha256(), await a.modelSha256(), "same seed, same batch: same weights, bit for bit");
  // Repeating the step on one batch lowers its loss.
  let r = r1;
  for (let i = 0; i < 5; i++) r = a.trainStep(images, labels, 0.05);
  assert.ok(r.loss < r1.loss, `loss ${r1.loss} -> ${r.loss}`);
  const e = a.evaluate(images.subarray(0, 2 * 784), labels.subarray(0, 2), 2);
  assert.ok(Number.isFinite(e.loss) && e.correct >= 0 && e.correct <= 2);
  const full = a.predict(images, batch), part = a.predict(images.subarray(0, 784), 1);
  assert.deepEqual([...part], [...full.subarray(0, 10)], "a sample's logits do not depend on the rest of the batch");
});

test("fp32: bad input is refused with RangeErrors that say what", async () => {
  const def = mlp([8], [4], 3);
  const learner = await Fp32Learner.create(def, { batch: 2, seed: 1, isa: "simd", loader: testLoader });
  const x = new Float32Array(8);
  assert.throws(() => learner.trainStep(x, new Uint8Array(1), 0.1), /expected 2 labels/);
  assert.throws(() => learner.trainStep(x, Uint8Array.of(0, 3), 0.1), /label 3 of sample 1/);
  assert.throws(() => learner.trainStep(new Float32Array(7), Uint8Array.of(0, 1), 0.1), /expected 2x4 input values/);
  assert.throws(() => learner.trainStep(Float32Array.of(0, 0, NaN, 0, 0, 0, 0, 0), Uint8Array.of(0, 1), 0.1), /NaN at sample 0, element 2/);
  assert.throws(() => learner.evaluate(x, Uint8Array.of(0, 1), 3), /count must be an integer in 1..2/);
  await assert.rejects(Fp32Learner.create(sequential("bad", [4, 4, 1], 2, [conv2d({ filters: 2, kernel: 5 })]), { batch: 1, seed: 0, loader: testLoader }),
    /conv2d0: kernel 5x5 is larger than the padded input 4x4/);
  await assert.rejects(Fp32Learner.create(sequential("bad", [4], 2, [dense({ units: 3 })]), { batch: 1, seed: 0, loader: testLoader }),
    /gives \[3\] per sample, expected \[2\] logits/);
  await assert.rejects(Fp32Learner.create(def, { batch: 0, seed: 0, loader: testLoader }), /batch must be a positive integer/);
});
