// The SIMD and scalar builds train identically: the same small conv net, the same seed and data,
// gives bit-identical losses, outputs, errors and updated weights after every step. Every buffer
// the plan holds for the model (weights, biases, activations, errors, input) is compared byte for
// byte, by name, after each step: stochastic rounding draws are a pure function of (seed, step,
// stream, index), so any difference is a kernel difference, not noise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine, type Scaling } from "../src/engine/engine.js";
import { LinearLayer } from "../src/nn/layers/linear.js";
import {
  Model, avgPool, conv2d, dense, flatten, maxPool, relu, sequential, type LayerSpec, type ModelOptions,
} from "../src/nn/model.js";
import type { Rounding } from "../src/runtime/descriptors.js";
import { hex } from "./helpers/packed.js";
import { Rng } from "./helpers/random.js";

const COMPARED = new Set(["weights", "biases", "activations", "errors", "input"]);

interface Run {
  engine: Engine;
  model: Model;
}

async function build(isa: "simd" | "scalar", layers: LayerSpec[], input: number[], classes: number, o: ModelOptions,
  rounding: Rounding, scaling: Scaling): Promise<Run> {
  const engine = await Engine.create(isa);
  assert.equal(engine.isa, isa);
  engine.seed = 77;
  engine.rounding = rounding;
  engine.scaling = scaling;
  const model = new Model(sequential("net", input, classes, layers), engine, o);
  return { engine, model };
}

function planned(run: Run): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const r of run.engine.plan.reservations) {
    if (COMPARED.has(r.category)) out.set(r.name, new Uint8Array(run.engine.memory, r.offset, r.bytes).slice());
  }
  return out;
}

function assertSameBuffers(a: Run, b: Run, when: string): number {
  const sa = planned(a), sb = planned(b);
  assert.deepEqual([...sa.keys()], [...sb.keys()], `${when}: planned buffers`);
  let bytes = 0;
  for (const [name, x] of sa) {
    const y = sb.get(name)!;
    assert.equal(x.length, y.length, `${when}: ${name} size`);
    const i = x.findIndex((v, k) => v !== y[k]);
    if (i >= 0) {
      assert.fail(`${when}: "${name}" differs first at byte ${i}: simd ${hex(x.subarray(i, i + 8))} vs scalar ${hex(y.subarray(i, i + 8))}`);
    }
    bytes += x.length;
  }
  return bytes;
}

function data(seed: number, batch: number, per: number, classes: number): { images: Float32Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = Float32Array.from({ length: batch * per }, () => rng.int(0, 1000) / 1000 - 0.3);
  const labels = Uint8Array.from({ length: batch }, () => rng.int(0, classes - 1));
  return { images, labels };
}

async function compare(what: string, layers: LayerSpec[], input: number[], rounding: Rounding, scaling: Scaling, steps = 4): Promise<void> {
  const classes = 5, batch = 6;
  const o: ModelOptions = { batch, seed: 5, actBits: 8, errBits: 8, weightBits: 6, maxWeightBits: 12 };
  const simd = await build("simd", layers, input, classes, o, rounding, scaling);
  const scalar = await build("scalar", layers, input, classes, o, rounding, scaling);
  assertSameBuffers(simd, scalar, `${what}: after initialisation`);
  const per = input.reduce((a, b) => a * b, 1);
  let changedWeights = 0;
  for (let step = 0; step < steps; step++) {
    const { images, labels } = data(100 + step, batch, per, classes);
    const before = planned(simd);
    const rs = simd.model.trainStep(images, labels, 0.1);
    const rx = scalar.model.trainStep(images, labels, 0.1);
    assert.ok(Object.is(rs.loss, rx.loss), `${what}: step ${step}: loss simd ${rs.loss} vs scalar ${rx.loss}`);
    assert.equal(rs.correct, rx.correct, `${what}: step ${step}: correct`);
    const bytes = assertSameBuffers(simd, scalar, `${what}: after step ${step}`);
    assert.ok(bytes > 0);
    for (const l of simd.model.layers) {
      if (!(l instanceof LinearLayer)) continue;
      const w = before.get(`${l.name} weights`)!, now = l.weightBytes();
      if (now.some((v, k) => v !== w[k])) changedWeights++;
      assert.deepEqual(l.lastUpdate(), scalar.model.layers.find((m) => m.name === l.name)!.lastUpdate(), `${what}: step ${step}: ${l.name} update stats`);
    }
  }
  // The comparison means something only if training moved the weights.
  assert.ok(changedWeights > 0, `${what}: no weight changed in ${steps} steps`);
  // And the forward pass alone (predict) agrees too.
  const { images } = data(999, batch, per, classes);
  const ps = simd.model.predict(images, batch), px = scalar.model.predict(images, batch);
  assert.deepEqual(ps, px, `${what}: predictions`);
}

const CONV_NET: LayerSpec[] = [
  conv2d({ filters: 4, kernel: 3, padding: 1 }), relu(), maxPool(2), flatten(), dense({ units: 5 }),
];

for (const rounding of ["stochastic", "nearest"] as const) {
  for (const scaling of ["exact", "delayed"] as const) {
    test(`conv -> relu -> maxpool -> flatten -> dense, ${rounding} rounding, ${scaling} scaling`, async () => {
      await compare(`convnet ${rounding} ${scaling}`, CONV_NET, [9, 7, 2], rounding, scaling);
    });
  }
}

test("a deeper net: strided conv, avg-pool, unfused relu, two dense layers, K across GEMM blocks", async () => {
  const layers: LayerSpec[] = [
    conv2d({ filters: 12, kernel: 3, padding: 1, stride: 2 }), relu(),
    conv2d({ filters: 6, kernel: 5, padding: 2 }), avgPool({ size: 2, stride: 1 }), relu(),
    flatten(), dense({ units: 9 }), relu(), dense({ units: 5 }),
  ];
  await compare("deep stochastic", layers, [11, 9, 3], "stochastic", "exact", 3);
});
