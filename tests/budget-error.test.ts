// Refusing a plan that does not fit: the message's numbers, and the search for what would fit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Planner } from "../src/plan/plan.js";
import { BudgetError, checkPlan, fitSuggestions, fits, largestItems, type PlanFor } from "../src/budget/errors.js";
import { Rng } from "./helpers/random.js";

/** A plan of 204,800 + padding bytes: module 4,000 and six buffers of known sizes. */
function plan(): Planner {
  const p = new Planner(4000);
  p.reserve("input batch", "input", null, 25_088);
  p.reserve("conv0 weights", "weights", "conv0", 240);
  p.reserve("conv0 output", "activations", "conv0", 150_528);
  p.reserve("pool1 input error", "errors", "pool1", 37_632);
  p.reserve("dense2 weights", "weights", "dense2", 72_000);
  p.reserve("GEMM workspace", "workspace", null, 52_912);
  return p;
}

test("the message gives the total, the five largest items, the budget and what fits", () => {
  const p = plan();
  assert.equal(p.peakBytes, 342_400);
  const e = BudgetError.fromPlan(p, 270_336, ["batch 8 fits (241,664 bytes)", "bMax 6 fits at batch 32 (255,104 bytes)"]);
  assert.ok(e instanceof Error && e instanceof BudgetError);
  assert.equal(e.name, "BudgetError");
  assert.equal(e.budgetBytes, 270_336);
  assert.equal(e.plannedBytes, 342_400);
  assert.equal(e.budgetPages, 4);
  assert.equal(e.overBytes, 342_400 - 262_144);
  assert.deepEqual(e.largest.map((r) => [r.name, r.bytes]), [
    ["conv0 output", 150_528], ["dense2 weights", 72_000], ["GEMM workspace", 52_912],
    ["pool1 input error", 37_632], ["input batch", 25_088],
  ]);
  assert.deepEqual(e.largest[0], { name: "conv0 output", category: "activations", layer: "conv0", bytes: 150_528 });
  const lines = e.message.split("\n");
  assert.equal(lines[0], "budget: the plan needs 342,400 bytes (6 pages of 64 KiB) but the budget holds 262,144 bytes " +
    "(4 pages, the whole pages of the 270,336 bytes given, 256 KiB): 80,256 bytes over");
  assert.equal(lines[1], "largest items:");
  assert.match(lines[2], /^ {2}conv0 output\s+150,528 bytes\s+44\.0%\s+activations, layer conv0$/);
  assert.match(lines[4], /^ {2}GEMM workspace\s+52,912 bytes\s+15\.5%\s+workspace$/);
  assert.match(lines[6], /^ {2}input batch\s+25,088 bytes/);
  assert.ok(!e.message.includes("module data and stack"), "only the top five are listed");
  assert.equal(lines[7], "would fit: batch 8 fits (241,664 bytes); bMax 6 fits at batch 32 (255,104 bytes)");
  assert.equal(lines.length, 8);
});

test("a budget of whole pages says so without the remainder; no suggestions, no 'would fit' line", () => {
  const e = new BudgetError({
    budgetBytes: 65_536, plannedBytes: 70_000, suggestions: [],
    largest: [{ name: "w", category: "weights", layer: "d", bytes: 60_000 }],
  });
  assert.equal(e.message.split("\n")[0],
    "budget: the plan needs 70,000 bytes (2 pages of 64 KiB) but the budget holds 65,536 bytes (1 page, 64 KiB): 4,464 bytes over");
  const one = new BudgetError({ budgetBytes: 65_536, plannedBytes: 65_536 + 1, largest: [], suggestions: [] });
  assert.match(one.message, /^budget: the plan needs 65,537 bytes \(2 pages of 64 KiB\)/);
  assert.ok(!one.message.includes("largest items"));
  assert.ok(!e.message.includes("would fit"));
});

test("fits and checkPlan count whole pages; suggestions are computed only on refusal", () => {
  assert.ok(fits(262_144, 262_144));
  assert.ok(fits(262_144, 270_336));
  assert.ok(!fits(262_145, 270_336));
  const p = plan();
  let asked = 0;
  checkPlan(p, 6 * 65_536, () => { asked++; return []; });
  assert.equal(asked, 0);
  assert.throws(() => checkPlan(p, 5 * 65_536 + 65_535, () => { asked++; return ["batch 1 fits (1 bytes)"]; }), (e: unknown) => {
    assert.ok(e instanceof BudgetError);
    assert.deepEqual(e.suggestions, ["batch 1 fits (1 bytes)"]);
    return true;
  });
  assert.equal(asked, 1);
  assert.deepEqual(largestItems(p, 2).map((r) => r.name), ["conv0 output", "dense2 weights"]);
});

// peak = 64 KiB + batch * (1000 + 500 * bits): monotone in both, and every answer is arithmetic.
const linear: PlanFor = (batch, bits) => 65_536 + batch * (1000 + 500 * bits);

test("fitSuggestions: the largest batch at bMax and the widest bMax at the batch asked for", () => {
  const calls: [number, number][] = [];
  const r = fitSuggestions((b, w) => { calls.push([b, w]); return linear(b, w); },
    { budgetBytes: 262_144, batch: 32, maxBits: 12, minBits: 4 });
  assert.equal(r.fitsAsAsked, false);
  // batch: b * 7000 <= 196,608 -> 28; bits: 32 * (1000 + 500 w) <= 196,608 -> w = 10. A width
  // fits the whole batch, so no "batch N with bMax 4" is offered.
  assert.deepEqual(r.batch, { batch: 28, maxBits: 12, bytes: 261_536 });
  assert.deepEqual(r.bits, { batch: 32, maxBits: 10, bytes: 257_536 });
  assert.equal(r.both, null);
  assert.equal(r.smallest, null);
  assert.equal(r.neededPages, 5); // 289,536 bytes as asked
  assert.deepEqual(r.suggestions, [
    "batch 28 fits (261,536 bytes)",
    "bMax 10 fits at batch 32 (257,536 bytes)",
    "a budget of 5 pages (327,680 bytes, 320 KiB) holds the plan as asked",
  ]);
  // Binary searches, memoized: far fewer plans than the 31 + 8 + 31 a scan would build.
  assert.ok(calls.length <= 16, `${calls.length} calls`);
  assert.equal(new Set(calls.map(([b, w]) => `${b}/${w}`)).size, calls.length);
  for (const [b, w] of calls) assert.ok(b >= 1 && b <= 32 && w >= 4 && w <= 12, `${b}/${w}`);
});

test("fitSuggestions: a plan that fits as asked needs no suggestion", () => {
  const r = fitSuggestions(linear, { budgetBytes: 1 << 20, batch: 32, maxBits: 12, minBits: 4 });
  assert.equal(r.fitsAsAsked, true);
  assert.deepEqual(r.suggestions, []);
});

test("fitSuggestions: without minBits only the batch is searched; a custom label names the width", () => {
  const r = fitSuggestions(linear, { budgetBytes: 262_144, batch: 32, maxBits: 12, bitsLabel: "fixed" });
  assert.deepEqual([r.batch?.batch, r.bits, r.both], [28, null, null]);
  assert.deepEqual(r.suggestions, [
    "batch 28 fits (261,536 bytes)",
    "a budget of 5 pages (327,680 bytes, 320 KiB) holds the plan as asked",
  ]);
  // At batch 64 no width in 8..11 fits, but 8 bits buys batch 39 where 12 bits allow 28.
  const r2 = fitSuggestions(linear, { budgetBytes: 262_144, batch: 64, maxBits: 12, minBits: 8, bitsLabel: (w) => `fixed:${w}` });
  assert.equal(r2.bits, null);
  assert.deepEqual(r2.both, { batch: 39, maxBits: 8, bytes: 260_536 });
  assert.deepEqual(r2.suggestions, [
    "batch 28 fits (261,536 bytes)",
    "batch 39 with fixed:8 fits (260,536 bytes)",
    "a budget of 8 pages (524,288 bytes, 512 KiB) holds the plan as asked",
  ]);
});

test("fitSuggestions: when nothing fits it says what the smallest plan needs", () => {
  const r = fitSuggestions((b, w) => 300_000 + b * w, { budgetBytes: 262_144, batch: 16, maxBits: 12, minBits: 4 });
  assert.deepEqual([r.batch, r.bits, r.both], [null, null, null]);
  assert.deepEqual(r.smallest, { batch: 1, maxBits: 4, bytes: 300_004 });
  assert.deepEqual(r.suggestions, [
    "nothing smaller fits: even batch 1 at bMax 4 needs 300,004 bytes",
    "a budget of 5 pages (327,680 bytes, 320 KiB) holds the plan as asked",
  ]);
});

test("fitSuggestions agrees with an exhaustive scan on random monotone plans", () => {
  const rng = new Rng(20240611);
  for (let trial = 0; trial < 300; trial++) {
    const base = rng.int(0, 200_000), perSample = rng.int(1, 20_000), perBit = rng.int(0, 3000), cross = rng.int(0, 400);
    const planFor: PlanFor = (b, w) => base + b * perSample + w * perBit + b * w * cross;
    const batch = rng.int(1, 64), minBits = rng.int(2, 8), maxBits = minBits + rng.int(0, 8);
    const budgetBytes = 65_536 * rng.int(1, 12) + rng.int(0, 65_535);
    const limit = Math.floor(budgetBytes / 65_536) * 65_536;
    const r = fitSuggestions(planFor, { budgetBytes, batch, maxBits, minBits });
    const scanBatch = (w: number) => {
      let best = 0;
      for (let b = 1; b < batch; b++) if (planFor(b, w) <= limit) best = b;
      return best;
    };
    let bestBits = 0;
    for (let w = minBits; w < maxBits; w++) if (planFor(batch, w) <= limit) bestBits = w;
    const ctx = JSON.stringify({ base, perSample, perBit, cross, batch, minBits, maxBits, budgetBytes });
    assert.equal(r.fitsAsAsked, planFor(batch, maxBits) <= limit, ctx);
    if (r.fitsAsAsked) continue;
    assert.equal(r.batch?.batch ?? 0, scanBatch(maxBits), ctx);
    assert.equal(r.bits?.maxBits ?? 0, bestBits, ctx);
    const atMin = minBits < maxBits && bestBits === 0 ? scanBatch(minBits) : 0;
    assert.equal(r.both?.batch ?? 0, atMin > scanBatch(maxBits) ? atMin : 0, ctx);
  }
});

test("fitSuggestions refuses a bad query and a bad planFor answer", () => {
  assert.throws(() => fitSuggestions(linear, { budgetBytes: 65_536, batch: 0, maxBits: 8 }), /batch must be a positive integer, got 0/);
  assert.throws(() => fitSuggestions(linear, { budgetBytes: 65_536, batch: 4, maxBits: 4, minBits: 6 }), /minBits \(6\) exceeds maxBits \(4\)/);
  assert.throws(() => fitSuggestions(() => NaN, { budgetBytes: 65_536, batch: 4, maxBits: 8 }), /planFor\(4, 8\) gave NaN/);
});

test("with no budget set, a refusal names the wasm32 ceiling, not a budget", () => {
  const ceiling = 65536 * 65536;
  const plan = { reservations: [], peakBytes: ceiling + 65536 * 3 };
  const e = BudgetError.fromPlan(plan, ceiling, [], "wasm32");
  assert.equal(e.limit, "wasm32");
  assert.equal(e.budgetBytes, ceiling);
  assert.match(e.message, /^budget: the plan needs 4,295,163,904 bytes \(65,539 pages of 64 KiB\) but the wasm32 memory ceiling \(no budget is set\) holds 4,294,967,296 bytes \(65,536 pages, 4(\.0)? GiB\): 196,608 bytes over$/);
  assert.doesNotMatch(e.message, /the budget holds/);
  // A budget the caller set is still called one.
  const set = BudgetError.fromPlan(plan, ceiling);
  assert.equal(set.limit, "budget");
  assert.match(set.message, /but the budget holds 4,294,967,296 bytes/);
});

test("fitSuggestions never suggests a budget past 65,536 pages (no wasm32 memory holds it)", () => {
  const GiB = 2 ** 30;
  // 1 GiB per sample: batch 3 fits the 4 GiB ceiling, batch 8 as asked needs 8 GiB.
  const perSample = (b: number) => b * GiB;
  const r = fitSuggestions(perSample, { budgetBytes: 4 * GiB, batch: 8, maxBits: 8 });
  assert.equal(r.neededPages, 131_072);
  assert.deepEqual(r.suggestions, ["batch 4 fits (4,294,967,296 bytes)"]);
  // A budget given past the ceiling is searched against what a wasm32 memory holds.
  const past = fitSuggestions(perSample, { budgetBytes: 16 * GiB, batch: 8, maxBits: 8 });
  assert.equal(past.fitsAsAsked, false);
  assert.deepEqual(past.suggestions, ["batch 4 fits (4,294,967,296 bytes)"]);
  // Just at the ceiling the budget is still suggested.
  const at = fitSuggestions((b) => b * GiB, { budgetBytes: 2 * GiB, batch: 4, maxBits: 8 });
  assert.deepEqual(at.suggestions.at(-1), "a budget of 65,536 pages (4,294,967,296 bytes, 4 GiB) holds the plan as asked");
});
