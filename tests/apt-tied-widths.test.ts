// APT's "same precision forward and backward" (Model.outputBits, docs/apt.md): in a training step
// each weighted layer's output activations and the error flowing back into them share the width
// the controller gives that output, within the planned 8 bits and whatever the weights' width;
// inference stays at the planned widths; untied runs keep every tensor at 8 bits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { conv2d, dense, flatten, maxPool, relu, sequential } from "../src/nn/model.js";
import type { OpRecord } from "../src/engine/engine.js";
import { IntegerLearner } from "../src/train/integer.js";
import { Rng } from "./helpers/random.js";

const model = () => sequential("tiny", [6, 6, 1], 3, [
  conv2d({ filters: 2, kernel: 3, padding: 1 }), relu(), maxPool(2), flatten(), dense({ units: 5, relu: true }), dense({ units: 3 }),
]);
const BATCH = 4;

async function learner(tie: boolean, weightBits: number, outputBits = weightBits) {
  const l = await IntegerLearner.create(model(), {
    batch: BATCH, seed: 3, isa: "simd", weightBits, maxWeightBits: 12, tieActivations: tie, scaling: "delayed", outputBits,
  });
  const records: OpRecord[] = [];
  l.engine.onOp = (r) => records.push(r);
  return { l, records };
}

function batch(seed: number) {
  const rng = new Rng(seed);
  const images = Float32Array.from({ length: BATCH * 36 }, () => rng.u32() / 2 ** 32);
  const labels = Uint8Array.from({ length: BATCH }, (_, i) => i % 3);
  return { images, labels };
}

/** outBits of the gemm requant records, by call site. */
function widths(records: OpRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) if (r.kind === "gemm" && r.mode === "requant") out[r.what] = r.outBits;
  return out;
}

test("tied: each output and the error into it share the output's width, whatever the weights'", async () => {
  const { l, records } = await learner(true, 9, 5);
  const names = Object.keys(l.weightBits());
  l.setOutputBits(names[1], 7);
  l.setOutputBits(names[2], 8);
  assert.throws(() => l.setOutputBits(names[2], 9), /output width 9 outside the planned 2\.\.8/);
  assert.throws(() => l.setOutputBits("nope", 6), /no tied output named "nope"/);
  const { images, labels } = batch(1);
  l.trainStep(images, labels, 0.05);
  const w = widths(records);
  // Forward: each layer writes its output at its output width (the weights are 9 bits).
  assert.equal(w[`${names[0]} forward`], 5);
  assert.equal(w[`${names[1]} forward`], 7);
  assert.equal(w[`${names[2]} forward`], 8);
  // Backward: the error into a layer's output has that layer's activation width.
  assert.equal(w[`${names[1]} input error`], 5);
  assert.equal(w[`${names[2]} input error`], 7);
  // The stored error and activation tensors the next kernels read carry the same widths.
  const update = records.filter((r): r is Extract<OpRecord, { kind: "gemm" }> => r.kind === "gemm" && r.what === `${names[0]} weight update`);
  assert.ok(update.length > 0 && update.every((r) => r.aBits === 5), JSON.stringify(update));
});

test("tied widths apply to training only: inference runs at the planned 8 bits", async () => {
  const { l, records } = await learner(true, 5);
  const { images } = batch(2);
  l.model.predict(images, BATCH);
  const w = widths(records);
  for (const name of Object.keys(l.weightBits())) assert.equal(w[`${name} forward`], 8, name);
});

test("untied: every activation and error stays at 8 bits whatever the weight width", async () => {
  const { l, records } = await learner(false, 5);
  const { images, labels } = batch(3);
  l.trainStep(images, labels, 0.05);
  for (const [what, bits] of Object.entries(widths(records))) assert.equal(bits, 8, what);
});

test("delayed scaling keeps its range across a width change (no step of saturated codes)", async () => {
  // One fewer bit means one higher exponent for the same range: the carried exponent is kept as
  // exponent + width, so narrowing a layer mid-run must not halve the range of its next outputs
  // (which would saturate every code in the upper half).
  const run = async (narrow: boolean) => {
    const { l } = await learner(true, 6);
    const { images, labels } = batch(4);
    for (let s = 0; s < 3; s++) l.trainStep(images, labels, 0);
    const before = l.engine.saturatedCodes;
    if (narrow) for (const name of Object.keys(l.weightBits())) l.setOutputBits(name, 5);
    l.trainStep(images, labels, 0);
    return l.engine.saturatedCodes - before;
  };
  const kept = await run(false), narrowed = await run(true);
  assert.ok(narrowed <= kept + 2, `narrowing saturated ${narrowed} codes, against ${kept} when kept`);
});
