// Models and layers refuse bad input with a RangeError whose message names the layer (or the batch
// / option) and the argument at fault, before anything is trained: shapes that do not chain, a
// kernel larger than the padded input, stride 0, negative padding, widths outside 2..16, NaN or
// Inf pixels, labels outside the classes. A refused step leaves the weights as they were and the
// model usable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../src/engine/engine.js";
import { Conv2d } from "../src/nn/layers/conv2d.js";
import { Dense } from "../src/nn/layers/dense.js";
import { LinearLayer } from "../src/nn/layers/linear.js";
import {
  Model, avgPool, conv2d, dense, flatten, maxPool, relu, sequential, type LayerSpec, type ModelOptions,
} from "../src/nn/model.js";
import { LayerRig } from "./helpers/layer-harness.js";

const OPTIONS: ModelOptions = { batch: 2, seed: 1, actBits: 8, errBits: 8, weightBits: 8, maxWeightBits: 8 };

async function model(input: number[], classes: number, layers: LayerSpec[], o: Partial<ModelOptions> = {}): Promise<Model> {
  return new Model(sequential("net", input, classes, layers), await Engine.create("simd"), { ...OPTIONS, ...o });
}

/** `make()` must throw a RangeError whose message matches every pattern. */
async function refuses(what: string, make: () => unknown, ...patterns: RegExp[]): Promise<void> {
  let thrown: unknown;
  try {
    await make();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, `${what}: accepted`);
  assert.ok(thrown instanceof RangeError, `${what}: threw ${String(thrown)}, want a RangeError`);
  for (const p of patterns) assert.match(thrown.message, p, `${what}: message "${thrown.message}"`);
}

// ---- shapes ----------------------------------------------------------------------------------

test("dense after a shape that is neither [N, F] nor [N, H, W, C]", async () => {
  // Given to the layer directly...
  await refuses("Dense.setup on [2, 4, 4]", () => LayerRig.create(new Dense(3, false, "fc"), [2, 4, 4]), /\bfc\b/, /input/, /\[2, 4, 4\]/);
  await refuses("Dense.setup on [2, 2, 2, 2, 2]", () => LayerRig.create(new Dense(3, false, "fc"), [2, 2, 2, 2, 2]), /\bfc\b/, /input/);
  // ...or as a model input, which the model refuses before any layer sees it.
  await refuses("model input [4, 4]", () => model([4, 4], 3, [dense({ units: 3, name: "fc" })]), /\b(net|fc)\b/, /input/, /\[4, 4\]/);
  await refuses("model input [2, 2, 2, 2]", () => model([2, 2, 2, 2], 3, [dense({ units: 3, name: "fc" })]), /\b(net|fc)\b/, /input/);
});

test("conv2d and pooling on a 2-D input", async () => {
  await refuses("Conv2d.setup on [2, 8]", () => LayerRig.create(new Conv2d({ filters: 2, kernel: 3 }, "convA"), [2, 8]), /\bconvA\b/, /input/, /\[2, 8\]/);
  await refuses("conv on [N, 8]", () => model([8], 3, [conv2d({ filters: 2, kernel: 3, name: "convA" }), flatten(), dense({ units: 3 })]),
    /\bconvA\b/, /input/, /\[N, H, W, C\]/);
  await refuses("conv after dense", () => model([8], 3, [dense({ units: 4, name: "fc" }), conv2d({ filters: 2, kernel: 1, name: "convB" }), dense({ units: 3 })]),
    /\bconvB\b/, /input/, /\[2, 4\]/);
  await refuses("max-pool on [N, 9]", () => model([9], 3, [maxPool({ size: 2, name: "poolA" }), dense({ units: 3 })]), /\bpoolA\b/, /input/);
  await refuses("avg-pool after dense", () => model([9], 3, [dense({ units: 4 }), avgPool({ size: 2, name: "poolB" }), dense({ units: 3 })]), /\bpoolB\b/, /input/);
});

test("conv2d or pooling after flatten (a logically 2-D [N, F] input)", async () => {
  await refuses("conv after flatten", () => model([6, 6, 1], 3, [flatten("fl"), conv2d({ filters: 2, kernel: 3, name: "convA" }), flatten(), dense({ units: 3 })]),
    /\bconvA\b/, /input/);
  await refuses("pool after flatten", () => model([6, 6, 1], 3, [flatten(), maxPool({ size: 2, name: "poolA" }), dense({ units: 3 })]), /\bpoolA\b/, /input/);
});

test("a last layer that does not give [N, classes] logits names the model", async () => {
  await refuses("5 logits for 3 classes", () => model([4], 3, [dense({ units: 5 })]), /\bnet\b/, /\[2, 5\]/, /\[2, 3\]/);
  await refuses("4-D output", () => model([4, 4, 1], 3, [conv2d({ filters: 3, kernel: 4 })]), /\bnet\b/, /logits/);
});

test("a kernel or window larger than the (padded) input", async () => {
  await refuses("5x5 on 3x3, no padding", () => model([3, 3, 1], 3, [conv2d({ filters: 1, kernel: 5, name: "convA" }), flatten(), dense({ units: 3 })]),
    /\bconvA\b/, /kernel 5x5/, /padded input 3x3/);
  await refuses("1x4 on 3x3 padded by [1, 0]", () => model([3, 3, 1], 3, [conv2d({ filters: 1, kernel: [1, 4], padding: [1, 0], name: "convA" }), flatten(), dense({ units: 3 })]),
    /\bconvA\b/, /kernel 1x4/, /5x3/);
  // Padding that makes it fit is accepted: 5x5 on 3x3 padded by 1 is a 1x1 output.
  const ok = await model([3, 3, 1], 3, [conv2d({ filters: 1, kernel: 5, padding: 1 }), flatten(), dense({ units: 3 })]);
  assert.deepEqual(ok.layers.length, 3);
  await refuses("pool window 4 on 3x3", () => model([3, 3, 1], 3, [maxPool({ size: 4, name: "poolA" }), flatten(), dense({ units: 3 })]),
    /\bpoolA\b/, /window 4x4/, /3x3/);
});

test("zero-sized or fractional dimensions in the input shape", async () => {
  await refuses("input [0]", () => model([0], 3, [dense({ units: 3 })]), /\bnet\b/, /input/, /\[0\]/);
  await refuses("input [4, 0, 1]", () => model([4, 0, 1], 3, [flatten(), dense({ units: 3 })]), /\bnet\b/, /input/, /\[4, 0, 1\]/);
  await refuses("input [2.5]", () => model([2.5], 3, [dense({ units: 3 })]), /\bnet\b/, /input/);
});

// ---- layer arguments -------------------------------------------------------------------------

test("stride 0, negative padding, zero or fractional sizes", async () => {
  const tail = [flatten(), dense({ units: 3 })];
  const conv = (o: object) => model([6, 6, 1], 3, [conv2d({ filters: 2, kernel: 3, name: "convA", ...o }), ...tail]);
  await refuses("conv stride 0", () => conv({ stride: 0 }), /\bconvA\b/, /stride height/, /got 0/);
  await refuses("conv stride [1, 0]", () => conv({ stride: [1, 0] }), /\bconvA\b/, /stride width/, /got 0/);
  await refuses("conv stride -1", () => conv({ stride: -1 }), /\bconvA\b/, /stride/);
  await refuses("conv padding -1", () => conv({ padding: -1 }), /\bconvA\b/, /padding height/, /non-negative/, /-1/);
  await refuses("conv padding [0, -2]", () => conv({ padding: [0, -2] }), /\bconvA\b/, /padding width/, /-2/);
  await refuses("conv padding 0.5", () => conv({ padding: 0.5 }), /\bconvA\b/, /padding/);
  await refuses("conv filters 0", () => conv({ filters: 0 }), /\bconvA\b/, /filters/);
  await refuses("conv kernel 0", () => conv({ kernel: 0 }), /\bconvA\b/, /kernel height/);
  await refuses("conv kernel 2.5", () => conv({ kernel: 2.5 }), /\bconvA\b/, /kernel/, /2\.5/);
  await refuses("pool stride 0", () => model([6, 6, 1], 3, [maxPool({ size: 2, stride: 0, name: "poolA" }), ...tail]), /\bpoolA\b/, /stride/, /got 0/);
  await refuses("pool window 0", () => model([6, 6, 1], 3, [avgPool({ size: 0, name: "poolA" }), ...tail]), /\bpoolA\b/, /window/, /got 0/);
  await refuses("dense units 0", () => model([4], 3, [dense({ units: 0, name: "fc" })]), /\bfc\b/, /units/, /got 0/);
  await refuses("dense units 2.5", () => model([4], 3, [dense({ units: 2.5, name: "fc" })]), /\bfc\b/, /units/);
  await refuses("batch 0", () => model([4], 3, [dense({ units: 3 })], { batch: 0 }), /batch/, /got 0/);
});

// ---- widths ----------------------------------------------------------------------------------

const net = (): LayerSpec[] => [dense({ units: 4, name: "fc1" }), relu(), dense({ units: 3, name: "fc2" })];
const WIDTH_CASES: [string, Partial<ModelOptions>, RegExp][] = [
  ["actBits 1", { actBits: 1 }, /actBits/],
  ["actBits 17", { actBits: 17 }, /actBits/],
  ["errBits 0", { errBits: 0 }, /errBits/],
  ["errBits 17", { errBits: 17 }, /errBits/],
  ["weightBits 1", { weightBits: 1 }, /weightBits/],
  ["weightBits 17", { weightBits: 17, maxWeightBits: 17 }, /weightBits/],
  ["weightBits 8.5", { weightBits: 8.5 }, /weightBits/],
  ["maxWeightBits 17", { maxWeightBits: 17 }, /maxWeightBits/],
  ["maxWeightBits 6 < weightBits 8", { maxWeightBits: 6 }, /maxWeightBits/],
];

test("widths outside 2..16 (or max below initial) are refused when the model is built, naming the option", async () => {
  // Every case is tried, so the failure lists all that are not refused properly.
  const wrong: string[] = [];
  for (const [what, o, name] of WIDTH_CASES) {
    try {
      await refuses(what, () => model([5], 3, net(), o), /\bnet\b/, name);
    } catch (e) {
      wrong.push((e as Error).message.split("\n")[0]);
    }
  }
  assert.deepEqual(wrong, []);
});

// ---- data ------------------------------------------------------------------------------------

async function small(): Promise<{ m: Model; x: Float32Array; y: Uint8Array; weights: () => string }> {
  const m = await model([4], 3, net());
  const x = Float32Array.from({ length: 8 }, (_, i) => (i % 5) / 4 - 0.5);
  const y = new Uint8Array([0, 2]);
  const weights = () => m.layers.filter((l): l is LinearLayer => l instanceof LinearLayer)
    .map((l) => Buffer.from(l.weightBytes()).toString("hex") + Buffer.from(l.biasBytes()).toString("hex")).join("|");
  return { m, x, y, weights };
}

test("NaN or Inf in the float input: refused naming the sample and element; nothing trained; model still usable", async () => {
  for (const [bad, pattern] of [[NaN, /NaN/], [Infinity, /Infinity/], [-Infinity, /-Infinity/]] as const) {
    const { m, x, y, weights } = await small();
    const before = weights();
    const img = x.slice();
    img[5] = bad; // sample 1, element 1
    await refuses(`trainStep with ${bad}`, () => m.trainStep(img, y, 0.5), /input/, pattern, /sample 1/, /element 1/);
    await refuses(`predict with ${bad}`, () => m.predict(img, 2), /input/, pattern, /sample 1/);
    assert.equal(weights(), before, `${bad}: a refused step changed the weights`);
    const r = m.trainStep(x, y, 0.5);
    assert.ok(Number.isFinite(r.loss), `${bad}: the next step's loss is ${r.loss}`);
    assert.notEqual(weights(), before, `${bad}: the next step trained nothing`);
  }
});

test("labels outside 0..classes-1, or the wrong number of labels or pixels", async () => {
  const { m, x, weights } = await small();
  const before = weights();
  await refuses("label 3 of 3 classes", () => m.trainStep(x, new Uint8Array([0, 3]), 0.5), /label 3/, /sample 1/, /0\.\.2/);
  await refuses("label 255", () => m.trainStep(x, new Uint8Array([255, 0]), 0.5), /label 255/, /sample 0/);
  await refuses("one label for a batch of 2", () => m.trainStep(x, new Uint8Array([0]), 0.5), /labels/, /expected 2/, /got 1/);
  await refuses("7 pixels for 2 x 4", () => m.trainStep(x.subarray(0, 7), new Uint8Array([0, 1]), 0.5), /input values/, /2x4/, /got 7/);
  assert.equal(weights(), before, "a refused step changed the weights");
});

test("a learning rate that is NaN, infinite or negative; nothing trained", async () => {
  const { m, x, y, weights } = await small();
  const before = weights();
  for (const lr of [NaN, -1, Infinity, -Infinity]) await refuses(`lr ${lr}`, () => m.trainStep(x, y, lr), /trainStep/, /\blr\b/, new RegExp(String(lr)));
  assert.equal(weights(), before, "a refused step changed the weights");
  m.trainStep(x, y, 0); // lr = 0 is allowed: a step without update
  assert.equal(weights(), before, "lr = 0 changed the weights");
});
