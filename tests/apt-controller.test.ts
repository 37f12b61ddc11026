// The APT controller on synthetic G sequences: up, down, clamp at the bounds, the interval, the plan.
import { test } from "node:test";
import assert from "node:assert/strict";
import { apt, LEAN_SETTINGS, plannedTensorBits, type AptOptions } from "../src/train/policy.js";
import { AptController } from "../src/train/controller.js";

const options = (o: Partial<AptOptions> = {}): AptOptions => {
  const p = apt({ tMin: 0.1, tMax: 1, bMin: 4, bMax: 8, initialBits: 6, interval: 2, ...o });
  if (p.kind !== "apt") throw new Error("unreachable");
  return p;
};

test("G below tMin adds a bit, above tMax removes one, in between keeps it", () => {
  const c = new AptController(options(), { a: 8, b: 8, c: 8 });
  for (let s = 1; s <= 2; s++) {
    c.observe("a", 0.01);
    c.observe("b", 5);
    c.observe("c", 0.5);
  }
  const d = c.decide(2, { a: 6, b: 6, c: 6 });
  assert.deepEqual(d.map((x) => [x.layer, x.oldBits, x.newBits]), [["a", 6, 7], ["b", 6, 5], ["c", 6, 6]]);
  assert.equal(c.log.length, 3);
  assert.ok(Math.abs(d[0].G - 0.01) < 1e-12);
});

test("decisions happen only at the end of an interval, on the interval's mean G", () => {
  const c = new AptController(options({ interval: 3 }), { a: 8 });
  c.observe("a", 0.0);
  assert.deepEqual(c.decide(1, { a: 6 }), []);
  c.observe("a", 0.0);
  assert.deepEqual(c.decide(2, { a: 6 }), []);
  c.observe("a", 0.9); // mean (0 + 0 + 0.9) / 3 = 0.3: inside [tMin, tMax]
  const d = c.decide(3, { a: 6 });
  assert.equal(d.length, 1);
  assert.ok(Math.abs(d[0].G - 0.3) < 1e-12);
  assert.equal(d[0].newBits, 6);
});

test("widths clamp at bMin and bMax and say so", () => {
  const c = new AptController(options({ interval: 1 }), { lo: 8, hi: 8 });
  c.observe("lo", 10);
  c.observe("hi", 0);
  const d = c.decide(1, { lo: 4, hi: 8 });
  assert.deepEqual(d.map((x) => [x.newBits, x.limitedBy]), [[4, "bMin"], [8, "bMax"]]);
});

test("the controller never exceeds what the plan reserved, and logs the budget as the reason", () => {
  const c = new AptController(options({ interval: 1 }), { a: 6 });
  c.observe("a", 0);
  const [d] = c.decide(1, { a: 6 });
  assert.equal(d.newBits, 6);
  assert.equal(d.limitedBy, "budget");
});

test("apt() refuses inconsistent options, naming them", () => {
  assert.throws(() => apt({ tMin: 2, tMax: 1 }), /tMin \(2\) must not exceed tMax \(1\)/);
  assert.throws(() => apt({ bMin: 9, bMax: 8 }), /bMin \(9\) must not exceed bMax \(8\)/);
  assert.throws(() => apt({ bMin: 1 }), /bMin must be an integer in 2\.\.16/);
  assert.throws(() => apt({ initialBits: 14 }), /initialBits \(14\) must lie in bMin\.\.bMax/);
  assert.throws(() => apt({ interval: 0 }), /interval must be a positive integer/);
  assert.throws(() => apt({ tMin: Number.NaN }), /tMin must be a finite number/);
});

test("an output unit moves by its rms code: few levels used adds a bit, many removes one, within bMin..slotBits", () => {
  const c = new AptController(options({ interval: 2, rMin: 4, rMax: 10, slotBits: 8 }), { a: 8 }, ["a", "b", "c"]);
  for (let s = 1; s <= 2; s++) {
    c.observeOutput("a", 2);
    c.observeOutput("b", 30);
    c.observeOutput("c", 6);
  }
  const d = c.decide(2, { a: 6 }, { a: 6, b: 6, c: 6 });
  assert.deepEqual(d.map((x) => [x.layer, x.tensor, x.oldBits, x.newBits]), [["a", "output", 6, 7], ["b", "output", 6, 5], ["c", "output", 6, 6]]);
});

test("an output at its slot says so; the weights' own decision stays apart", () => {
  const c = new AptController(options({ interval: 1, rMin: 4, rMax: 10, slotBits: 7 }), { a: 8 }, ["a"]);
  c.observe("a", 0.5);
  c.observeOutput("a", 1);
  const d = c.decide(1, { a: 6 }, { a: 7 });
  const w = d.find((x) => x.tensor === undefined)!, o = d.find((x) => x.tensor === "output")!;
  assert.deepEqual([w.oldBits, w.newBits, w.limitedBy], [6, 6, undefined]);
  assert.deepEqual([o.oldBits, o.newBits, o.limitedBy], [7, 7, "slot"]);
});

test("hysteresis: after a one-bit move the statistic (2x) lands inside the band, so the width holds", () => {
  // tMin 0.1, tMax 1: G 0.08 at 6 bits raises to 7; at 7 bits the same updates give G 0.16,
  // inside the band, so the next decision keeps 7 instead of dropping back.
  const c = new AptController(options({ interval: 1 }), { a: 8 });
  c.observe("a", 0.08);
  assert.equal(c.decide(1, { a: 6 })[0].newBits, 7);
  c.observe("a", 0.16);
  assert.equal(c.decide(2, { a: 7 })[0].newBits, 7);
  // A band narrower than HYSTERESIS x is refused: it would let a width flip back and forth.
  assert.throws(() => apt({ tMin: 0.1, tMax: 0.2 }), /tMax \(0\.2\) must be at least 2\.5 x tMin \(0\.1\)/);
  assert.throws(() => apt({ rMin: 4, rMax: 8 }), /rMax \(8\) must be a finite number at least 2\.5 x rMin \(4\)/);
});

test("the knob: each lean setting is APT_DEFAULTS with its changes, and options given beside it win", () => {
  for (const [i, change] of LEAN_SETTINGS.entries()) {
    const p = apt({ lean: i });
    assert.equal(p.kind, "apt");
    if (p.kind !== "apt") return;
    for (const [k, v] of Object.entries(change)) assert.equal((p as unknown as Record<string, unknown>)[k], v, `lean ${i} ${k}`);
  }
  const p = apt({ lean: LEAN_SETTINGS.length - 1, slotBits: 5 });
  assert.equal(p.kind === "apt" && p.slotBits, 5);
  assert.throws(() => apt({ lean: LEAN_SETTINGS.length }), /lean must be an integer in 0\.\./);
  assert.throws(() => apt({ lean: 0.5 }), /lean must be an integer/);
});

test("restore takes back output units and their decisions, and refuses an output width past the slot", () => {
  const c = new AptController(options({ interval: 2, slotBits: 7, capBits: 7 }), { a: 8 }, ["a"]);
  c.restore({ "a:output": { g: 3, n: 1 } }, [{ step: 2, layer: "a", tensor: "output", G: 3, oldBits: 6, newBits: 7 }]);
  assert.deepEqual(c.state(), { "a:output": { g: 3, n: 1 } });
  assert.equal(c.log[0].tensor, "output");
  assert.throws(() => c.restore({}, [{ step: 2, layer: "a", tensor: "output", G: 3, oldBits: 7, newBits: 8 }]), /width 8, outside 4\.\.7/);
});

test("errors planned narrower than the activations: only with untied outputs, and the plan takes both widths", () => {
  assert.throws(() => apt({ errorSlotBits: 6 }), /errorSlotBits \(6\) needs untied outputs/);
  assert.throws(() => apt({ errorSlotBits: 1, tieActivations: false }), /errorSlotBits must be an integer in 2\.\.16/);
  assert.deepEqual(plannedTensorBits(apt({ errorSlotBits: 5, tieActivations: false, slotBits: 7, capBits: 7 })), { actBits: 7, errBits: 5 });
  assert.deepEqual(plannedTensorBits(apt()), { actBits: 8, errBits: 8 });
});
