// The APT controller on synthetic G sequences: up, down, clamp at the bounds, the interval, the plan.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AptController, apt, type AptOptions } from "../src/train/policy.js";

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
