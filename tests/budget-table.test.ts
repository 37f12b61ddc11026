// The plan as a table and as report numbers, on a hand-built plan whose every offset is known.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Planner } from "../src/plan/plan.js";
import { PADDING, SHARED, breakdown, formatPlan } from "../src/budget/fit-table.js";

/** module 1000 | pad 8 | l1 weights 100 @1008 | pad 12 | l1 output 50 @1120 | pad 14 | work 30 @1184 -> peak 1214. */
function small(): Planner {
  const p = new Planner(1000);
  assert.equal(p.reserve("l1 weights", "weights", "l1", 100), 1008);
  assert.equal(p.reserve("l1 output", "activations", "l1", 50), 1120);
  assert.equal(p.reserve("GEMM workspace", "workspace", null, 30), 1184);
  assert.equal(p.peakBytes, 1214);
  return p;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

test("breakdown: bytes by category and by layer, alignment gaps as padding, each summing to the peak", () => {
  const p = small();
  const b = breakdown(p);
  assert.deepEqual(b.byCategory, { module: 1000, weights: 100, activations: 50, workspace: 30, [PADDING]: 34 });
  assert.deepEqual(b.byLayer, { [SHARED]: 1030, l1: 150, [PADDING]: 34 });
  assert.equal(sum(b.byCategory), p.peakBytes);
  assert.equal(sum(b.byLayer), p.peakBytes);
  // The planner's own byCategory is the same without the padding.
  const { [PADDING]: _padding, ...rest } = b.byCategory;
  assert.deepEqual(rest, p.byCategory());
  assert.deepEqual(Object.keys(b.byCategory), ["module", "weights", "activations", "workspace", PADDING]);
});

test("breakdown: an aligned plan has no padding entry", () => {
  const p = new Planner(64);
  p.reserve("a", "weights", "x", 16);
  p.reserve("b", "biases", "x", 32);
  assert.deepEqual(breakdown(p), { byCategory: { module: 64, weights: 16, biases: 32 }, byLayer: { [SHARED]: 64, x: 48 } });
});

test("formatPlan: one row per reservation with offset, bytes, category, layer and name", () => {
  const text = formatPlan(small());
  const lines = text.split("\n");
  assert.match(lines[0], /^offset\s+bytes\s+category\s+layer\s+name$/);
  assert.match(lines[1], /^-+ +-+ +-+ +-+ +-+$/);
  assert.match(lines[2], /^\s*0\s+1,000\s+module\s+-\s+module data and stack$/);
  assert.match(lines[3], /^\s*1,008\s+100\s+weights\s+l1\s+l1 weights$/);
  assert.match(lines[4], /^\s*1,120\s+50\s+activations\s+l1\s+l1 output$/);
  assert.match(lines[5], /^\s*1,184\s+30\s+workspace\s+-\s+GEMM workspace$/);
  // Columns line up: every row's bytes column ends where the header's does.
  const end = lines[0].indexOf("bytes") + "bytes".length;
  for (const l of lines.slice(2, 6)) assert.match(l.slice(0, end), /\d$/);
  assert.equal(lines[6], "");
  assert.ok(!text.includes("budget"), "no budget lines without a budget");
});

test("formatPlan: totals by category and by layer, with shares of the peak", () => {
  const text = formatPlan(small());
  assert.match(text, /^category\s+bytes\s+share$/m);
  assert.match(text, /^module\s+1,000\s+82\.4%$/m);
  assert.match(text, /^activations\s+50\s+4\.1%$/m);
  assert.match(text, /^\(padding\)\s+34\s+2\.8%$/m);
  assert.match(text, /^layer\s+bytes\s+share$/m);
  assert.match(text, /^\(shared\)\s+1,030\s+84\.8%$/m);
  assert.match(text, /^l1\s+150\s+12\.4%$/m);
  assert.match(text, /^peak\s+1,214 bytes \(1\.19 KiB\): memory of 1 page \(65,536 bytes\)$/m);
});

test("formatPlan: headroom against the budget's whole pages", () => {
  const fitsText = formatPlan(small(), 100_000);
  assert.match(fitsText, /^budget\s+65,536 bytes \(1 page, the whole pages of the 100,000 bytes given\)$/m);
  assert.match(fitsText, /^headroom\s+64,322 bytes \(98\.1% of the budget\): fits$/m);

  const p = new Planner(7376);
  p.reserve("conv0 output", "activations", "conv0", 150_528);
  p.reserve("GEMM workspace", "workspace", null, 152_912);
  assert.equal(p.peakBytes, 310_816);
  const over = formatPlan(p, 262_144);
  assert.match(over, /^budget\s+262,144 bytes \(4 pages\)$/m);
  assert.match(over, /^headroom\s+-48,672 bytes: does not fit, 48,672 bytes over$/m);
  assert.match(over, /^peak\s+310,816 bytes \(303\.5 KiB\): memory of 5 pages \(327,680 bytes\)$/m);
});
