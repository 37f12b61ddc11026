// Max-pool, avg-pool, ReLU and flatten layers, forward and backward, against float references
// computed here on the dequantized tensors. These layers keep the exponent of what they consume, so:
//   max-pool forward, ReLU, flatten: exact (they only select or move codes)
//   max-pool backward: exact; each dY goes to the FIRST maximum of its window in row-major order,
//     overlapping windows sum, the sum is clamped once to +-maxCode(errBits)
//   avg-pool forward / backward: one rounding of an exact mean, so within 0.5 step (nearest, and
//     then exactly RNE) or under 1 step (stochastic) of the float reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine } from "../src/engine/engine.js";
import type { Layer } from "../src/nn/layer.js";
import { Flatten, Pool2d, ReLU } from "../src/nn/layers/shape-only.js";
import { Conv2d } from "../src/nn/layers/conv2d.js";
import { Dense } from "../src/nn/layers/dense.js";
import { Model, conv2d, dense, flatten, maxPool, relu, sequential } from "../src/nn/model.js";
import type { Rounding } from "../src/runtime/descriptors.js";
import {
  LayerRig, assertWithinStep, dequantize, expectedExponent, maxAbs, readCodes, roundHalfEven,
} from "./helpers/layer-harness.js";
import { Rng, maxCodeOf, randomCodes } from "./helpers/random.js";

type Nhwc = [number, number, number, number];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const at = ([, H, W, C]: Nhwc, n: number, y: number, x: number, c: number) => ((n * H + y) * W + x) * C + c;

interface PoolGeometry { kh: number; kw: number; sh: number; sw: number }

function outShape([N, H, W, C]: Nhwc, p: PoolGeometry): Nhwc {
  return [N, Math.floor((H - p.kh) / p.sh) + 1, Math.floor((W - p.kw) / p.sw) + 1, C];
}

/** Every window: its output index and the input indices it covers in row-major order. */
function windows(s: Nhwc, p: PoolGeometry): { out: number; cover: number[] }[] {
  const o = outShape(s, p);
  const list: { out: number; cover: number[] }[] = [];
  for (let n = 0; n < s[0]; n++) for (let oy = 0; oy < o[1]; oy++) for (let ox = 0; ox < o[2]; ox++) for (let c = 0; c < s[3]; c++) {
    const cover: number[] = [];
    for (let i = 0; i < p.kh; i++) for (let j = 0; j < p.kw; j++) cover.push(at(s, n, oy * p.sh + i, ox * p.sw + j, c));
    list.push({ out: at(o, n, oy, ox, c), cover });
  }
  return list;
}

function maxPoolRef(x: Float64Array, s: Nhwc, p: PoolGeometry): { y: Float64Array; argmax: Int32Array } {
  const ws = windows(s, p);
  const y = new Float64Array(ws.length), argmax = new Int32Array(ws.length);
  for (const w of ws) {
    let best = w.cover[0];
    for (const i of w.cover) if (x[i] > x[best]) best = i; // strictly greater: the first maximum wins
    y[w.out] = x[best];
    argmax[w.out] = best;
  }
  return { y, argmax };
}

function avgPoolRef(x: Float64Array, s: Nhwc, p: PoolGeometry): Float64Array {
  const ws = windows(s, p);
  const y = new Float64Array(ws.length);
  for (const w of ws) y[w.out] = w.cover.reduce((a, i) => a + x[i], 0) / w.cover.length;
  return y;
}

function avgPoolBackwardRef(dy: Float64Array, s: Nhwc, p: PoolGeometry): Float64Array {
  const dx = new Float64Array(size(s));
  for (const w of windows(s, p)) for (const i of w.cover) dx[i] += dy[w.out] / w.cover.length;
  return dx;
}

interface PoolCase {
  kind: "maxPool" | "avgPool";
  input: Nhwc;
  pool: PoolGeometry;
  /** Input codes drawn from -range..range (small ranges make ties). */
  range?: number;
  actBits?: number;
  errBits?: number;
  rounding?: Rounding;
  seed: number;
}

async function checkPool(c: PoolCase): Promise<void> {
  const actBits = c.actBits ?? 8, errBits = c.errBits ?? 8, rounding = c.rounding ?? "stochastic";
  const p = c.pool;
  const what = `${c.kind} ${p.kh}x${p.kw}/${p.sh}x${p.sw} [${c.input.join(", ")}] a${actBits} e${errBits} ${rounding} seed ${c.seed}`;
  const layer = new Pool2d(c.kind, { size: [p.kh, p.kw], stride: [p.sh, p.sw] }, "pool0");
  const rig = await LayerRig.create(layer, c.input, { actBits, errBits, rounding, seed: c.seed });
  const o = outShape(c.input, p);
  assert.deepEqual(rig.outputShape, o, `${what}: output shape`);
  const rng = new Rng(c.seed);
  const range = c.range ?? maxCodeOf(actBits);
  const xCodes = Int32Array.from({ length: size(c.input) }, () => rng.int(-range, range));
  const xExp = -5, dyExp = -11;
  const x = rig.input(xCodes, xExp);
  const xv = dequantize(xCodes, xExp);

  const y = layer.forward(x);
  assert.deepEqual([...y.shape], o, `${what}: forward shape`);
  assert.equal(y.bits, actBits, `${what}: forward bits`);
  assert.equal(y.exp, xExp, `${what}: forward keeps the exponent`);
  const yCodes = rig.codes(y);

  const dyCodes = randomCodes(rng, size(o), errBits);
  const dy = rig.error(dyCodes, dyExp);
  const dyv = dequantize(dyCodes, dyExp);
  const dx = layer.backward(dy);
  assert.ok(dx, `${what}: no input error`);
  assert.deepEqual([...dx.shape], c.input, `${what}: input error shape`);
  assert.equal(dx.bits, errBits, `${what}: input error bits`);
  assert.equal(dx.exp, dyExp, `${what}: input error keeps dY's exponent`);
  const dxCodes = rig.codes(dx);

  if (c.kind === "maxPool") {
    const { y: yRef, argmax } = maxPoolRef(xv, c.input, p);
    assert.deepEqual(dequantize(yCodes, y.exp), yRef, `${what}: window maxima`);
    const limit = maxCodeOf(errBits) * 2 ** dyExp;
    const dxRef = new Float64Array(size(c.input));
    argmax.forEach((i, out) => { dxRef[i] += dyv[out]; });
    let clamped = 0;
    for (let i = 0; i < dxRef.length; i++) {
      if (Math.abs(dxRef[i]) > limit) { dxRef[i] = Math.sign(dxRef[i]) * limit; clamped++; }
    }
    const got = dequantize(dxCodes, dx.exp);
    for (let i = 0; i < dxRef.length; i++) {
      if (got[i] !== dxRef[i]) assert.fail(`${what}: dX element ${i}: want ${dxRef[i]}, got ${got[i]} (x ${xv[i]})`);
    }
    assert.equal(rig.engine.lastStat(), clamped, `${what}: clamped dX count`);
  } else {
    const yRef = avgPoolRef(xv, c.input, p);
    assertWithinStep(`${what}: forward`, yRef, yCodes, y.exp, rounding);
    const dxRef = avgPoolBackwardRef(dyv, c.input, p);
    assertWithinStep(`${what}: input error`, dxRef, dxCodes, dx.exp, rounding);
    if (rounding === "nearest") {
      yRef.forEach((v, i) => assert.equal(yCodes[i], roundHalfEven(v * 2 ** -y.exp), `${what}: forward ${i} not RNE`));
      dxRef.forEach((v, i) => assert.equal(dxCodes[i], roundHalfEven(v * 2 ** -dx.exp), `${what}: dX ${i} not RNE`));
    }
  }
}

const GEOMETRIES: { input: Nhwc; pool: PoolGeometry; note: string }[] = [
  { input: [2, 6, 5, 3], pool: { kh: 2, kw: 2, sh: 2, sw: 2 }, note: "disjoint, last column uncovered" },
  { input: [1, 7, 9, 2], pool: { kh: 3, kw: 3, sh: 2, sw: 2 }, note: "overlapping 3/2" },
  { input: [2, 5, 4, 1], pool: { kh: 2, kw: 2, sh: 1, sw: 1 }, note: "overlapping 2/1" },
  { input: [1, 6, 7, 2], pool: { kh: 2, kw: 3, sh: 1, sw: 2 }, note: "rectangular, overlapping in y" },
  { input: [1, 3, 3, 4], pool: { kh: 3, kw: 3, sh: 3, sw: 3 }, note: "one window, the whole image" },
  { input: [2, 9, 7, 1], pool: { kh: 2, kw: 2, sh: 3, sw: 3 }, note: "stride > window: gaps" },
];

test("max-pool forward is the window maximum and backward routes dY to the first maximum", async () => {
  let seed = 1;
  for (const g of GEOMETRIES) {
    await checkPool({ kind: "maxPool", ...g, seed: seed++ });
    await checkPool({ kind: "maxPool", ...g, range: 2, seed: seed++ }); // many ties
    await checkPool({ kind: "maxPool", ...g, range: 0, seed: seed++ }); // all tied: top-left wins
  }
});

test("max-pool: input and error widths differ (x 4 bits, dY 12 bits; x 12 bits, dY 3 bits)", async () => {
  await checkPool({ kind: "maxPool", input: [1, 7, 9, 2], pool: { kh: 3, kw: 3, sh: 2, sw: 2 }, actBits: 4, errBits: 12, seed: 50 });
  await checkPool({ kind: "maxPool", input: [2, 5, 4, 1], pool: { kh: 2, kw: 2, sh: 1, sw: 1 }, actBits: 12, errBits: 3, range: 1, seed: 51 });
});

test("max-pool backward: overlapping windows that pick the same input sum, and the sum clamps", async () => {
  // 1 x 3 x 3 x 1, window 2 stride 1: the centre (code 9) is the maximum of all four windows.
  const layer = new Pool2d("maxPool", { size: 2, stride: 1 }, "pool0");
  const rig = await LayerRig.create(layer, [1, 3, 3, 1]);
  const x = rig.input([1, 2, 3, 4, 9, 5, 6, 7, 8], -4);
  const y = layer.forward(x);
  assert.deepEqual([...rig.codes(y)], [9, 9, 9, 9]);
  // dY codes 100 + 100 + 100 - 20 = 280 > 127: clamps to 127, one element clamped.
  const dx = layer.backward(rig.error([100, 100, 100, -20], -8))!;
  assert.deepEqual([...rig.codes(dx)], [0, 0, 0, 0, 127, 0, 0, 0, 0]);
  assert.equal(rig.engine.lastStat(), 1, "clamped count");
  // Sums that stay in range are exact: 10 + 20 + 30 + 40.
  const dx2 = layer.backward(rig.error([10, 20, 30, 40], -8))!;
  assert.deepEqual([...rig.codes(dx2)], [0, 0, 0, 0, 100, 0, 0, 0, 0]);
  assert.equal(rig.engine.lastStat(), 0, "clamped count");
});

test("max-pool backward: ties go to the first maximum in row-major order (top-most, then left-most)", async () => {
  // 1 x 4 x 4 x 1, window 2 stride 2. Window (0,0): 5 at (0,1) and (1,0) -> (0,1). Window (0,1):
  // all equal -> (0,2). Window (1,0): 7 at (3,0) and (3,1) -> (3,0). Window (1,1): negative, max -1
  // at (2,3) and (3,2) -> (2,3).
  const layer = new Pool2d("maxPool", { size: 2 }, "pool0");
  const rig = await LayerRig.create(layer, [1, 4, 4, 1]);
  const x = rig.input([
    1, 5, 3, 3,
    5, 2, 3, 3,
    0, 6, -4, -1,
    7, 7, -1, -2,
  ], -3);
  const y = layer.forward(x);
  assert.deepEqual([...rig.codes(y)], [5, 3, 7, -1]);
  const dx = layer.backward(rig.error([11, 12, 13, 14], -6))!;
  assert.deepEqual([...rig.codes(dx)], [
    0, 11, 12, 0,
    0, 0, 0, 0,
    0, 0, 0, 14,
    13, 0, 0, 0,
  ]);
});

test("avg-pool forward and backward within one rounding of the float mean", async () => {
  let seed = 100;
  for (const g of GEOMETRIES) {
    for (const rounding of ["stochastic", "nearest"] as const) {
      await checkPool({ kind: "avgPool", ...g, rounding, seed: seed++ });
    }
  }
  await checkPool({ kind: "avgPool", input: [1, 7, 9, 2], pool: { kh: 3, kw: 3, sh: 2, sw: 2 }, actBits: 5, errBits: 12, rounding: "nearest", seed: 150 });
});

test("avg-pool, nearest: halves round to even", async () => {
  // Window sums 2, 6, -2, -6 over 4 codes: means 0.5, 1.5, -0.5, -1.5 -> 0, 2, -0, -2.
  const layer = new Pool2d("avgPool", { size: [1, 4] }, "pool0");
  const rig = await LayerRig.create(layer, [1, 4, 4, 1], { rounding: "nearest" });
  const x = rig.input([1, 1, 0, 0, 3, 3, 0, 0, -1, -1, 0, 0, -3, -3, 0, 0], 0);
  assert.deepEqual([...rig.codes(layer.forward(x))], [0, 2, 0, -2]);
});

test("pooling as the first layer (no input error needed) returns null from backward", async () => {
  for (const kind of ["maxPool", "avgPool"] as const) {
    const layer = new Pool2d(kind, { size: 2 }, "pool0");
    const rig = await LayerRig.create(layer, [1, 4, 4, 1], { needInputError: false });
    layer.forward(rig.input(new Int32Array(16).fill(1), 0));
    assert.equal(layer.backward(rig.error([1, 2, 3, 4], 0)), null, kind);
  }
});

for (const shape of [[2, 5, 3, 3], [3, 11]] as number[][]) {
  test(`ReLU (not fused) on [${shape.join(", ")}]: forward max(x, 0) in place, backward masks dY by y > 0`, async () => {
    const layer = new ReLU("relu0");
    const rig = await LayerRig.create(layer, shape);
    const rng = new Rng(7);
    const xCodes = randomCodes(rng, size(shape), 8);
    xCodes[0] = 0; // the boundary: y = 0 passes no error
    const x = rig.input(xCodes, -6);
    const y = layer.forward(x);
    assert.equal(y.exp, -6);
    const yv = rig.values(y);
    const xv = dequantize(xCodes, -6);
    assert.deepEqual(yv, xv.map((v) => Math.max(0, v)), "forward");
    const dyCodes = randomCodes(rng, size(shape), 8);
    const dx = layer.backward(rig.error(dyCodes, -9));
    assert.ok(dx);
    assert.equal(dx.exp, -9);
    assert.deepEqual([...dx.shape], shape);
    const want = dequantize(dyCodes, -9).map((v, i) => (xv[i] > 0 ? v : 0));
    assert.deepEqual(rig.values(dx), want, "backward");
  });
}

test("ReLU fused into the layer before: forward leaves the codes alone, backward still masks", async () => {
  const layer = new ReLU("relu1");
  layer.fusedIntoPrevious = true;
  const rig = await LayerRig.create(layer, [2, 6]);
  // Negative codes stay: the layer before was trusted to have zeroed them already.
  const xCodes = [3, -2, 0, 5, -7, 1, 0, 0, 9, -1, 2, 4];
  const y = layer.forward(rig.input(xCodes, 0));
  assert.deepEqual([...rig.codes(y)], xCodes);
  const dx = layer.backward(rig.error([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 0))!;
  assert.deepEqual([...rig.codes(dx)], [1, 0, 0, 4, 0, 6, 0, 0, 9, 0, 11, 12]);
});

test("Model fuses relu() after conv2d/dense into them, not after pooling", async () => {
  const engine = await Engine.create("simd");
  const def = sequential("fuse", [6, 6, 1], 3, [
    conv2d({ filters: 2, kernel: 3 }), relu(), maxPool(2), relu(), flatten(), dense({ units: 3 }),
  ]);
  const model = new Model(def, engine, { batch: 2, seed: 1, actBits: 8, errBits: 8, weightBits: 8, maxWeightBits: 8 });
  const [conv, r1, , r2] = model.layers as [Conv2d, ReLU, Layer, ReLU];
  assert.equal(conv.relu, true, "conv takes the ReLU");
  assert.equal(r1.fusedIntoPrevious, true);
  assert.equal(r2.fusedIntoPrevious, false, "a ReLU after pooling runs on its own");
});

test("flatten: the NHWC tensor passes unchanged; dense after it reads features in (h, w, c) order", async () => {
  const engine = await Engine.create("simd");
  engine.rounding = "nearest";
  const [H, W, C, units, batch] = [3, 2, 2, 4, 2];
  const def = sequential("flat", [H, W, C], units, [flatten(), dense({ units })]);
  const model = new Model(def, engine, { batch, seed: 3, actBits: 8, errBits: 8, weightBits: 8, maxWeightBits: 8 });
  const fl = model.layers[0] as Flatten, dn = model.layers[1] as Dense;
  // Flatten describes the tensor as [N, H*W*C]; its codes stay where they are (no copy).
  assert.deepEqual((await LayerRig.create(new Flatten("fl"), [batch, H, W, C])).outputShape, [batch, H * W * C]);
  const probe = { at: 4096, shape: [batch, H, W, C], bits: 8, exp: -2 };
  assert.equal(fl.forward(probe), probe, "flatten forward copies nothing");
  // Images exactly representable at exponent -6 (codes up to 127), so loading them is exact.
  const rng = new Rng(11);
  const images = Float32Array.from({ length: batch * H * W * C }, () => rng.int(-127, 127) / 64);
  images[0] = 127 / 64;
  const w = dn.weights()[0];
  const wCodes = readCodes(engine, { at: w.at, shape: [w.rows, w.cols], bits: w.bits });
  const y = model.forward(images);
  // images are given in (h, w, c) order per sample, which is exactly NHWC: feature f = (h*W + w)*C + c.
  const ref = new Float64Array(batch * units);
  for (let n = 0; n < batch; n++) for (let o = 0; o < units; o++) {
    let s = 0;
    for (let f = 0; f < H * W * C; f++) s += images[n * H * W * C + f] * wCodes[o * w.cols + f] * 2 ** w.exp;
    ref[n * units + o] = s;
  }
  assert.equal(y.exp, expectedExponent(maxAbs(ref), 8, "nearest", -6 + w.exp), "logits exponent");
  assertWithinStep("flatten -> dense logits", ref, readCodes(engine, y), y.exp, "nearest");
  // Backward through flatten is the identity on the error tensor.
  const dyT = { at: 12345, shape: [batch, H, W, C], bits: 8, exp: -3 };
  assert.equal(fl.backward(dyT), dyT);
});
