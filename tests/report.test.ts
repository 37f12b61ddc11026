// report.json schema, report.html rendering and the SVG line charts behind it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { renderReport } from "../src/report/html.js";
import { validateReport, type ReportWithExtras } from "../src/report/schema.js";
import { lineChart, niceTicks } from "../src/report/svg.js";
import type { TrainReport } from "../src/learner/run-report.js";

/** A small consistent APT run: conv1 4 -> 5 -> 6 bits, fc 8 -> 7 bits, relu without weights. */
function baseReport(): TrainReport {
  return {
    version: 1,
    model: "tiny",
    dataset: "digits",
    policy: "apt",
    config: { epochs: 2, batch: 8, lr: 0.05, tMin: 0.05 },
    isa: "simd",
    accuracy: 0.875,
    loss: [
      { step: 5, epoch: 0, loss: 2.1, accuracy: 0.2 },
      { step: 10, epoch: 0, loss: 1.2, accuracy: 0.6 },
      { step: 15, epoch: 1, loss: 0.7, accuracy: 0.8 },
      { step: 20, epoch: 1, loss: 0.5, accuracy: 0.85 },
    ],
    evaluations: [
      { step: 10, epoch: 0, accuracy: 0.7, loss: 0.9 },
      { step: 20, epoch: 1, accuracy: 0.875, loss: 0.45 },
    ],
    steps: 20,
    layers: [
      { name: "conv1", kind: "conv2d", parameters: 60, outputShape: [6, 6, 6] },
      { name: "relu1", kind: "relu", parameters: 0, outputShape: [6, 6, 6] },
      { name: "fc", kind: "dense", parameters: 2170, outputShape: [10] },
    ],
    bitsHistory: [
      { step: 5, layer: "conv1", G: 0.01, oldBits: 4, newBits: 5 },
      { step: 5, layer: "fc", G: 0.2, oldBits: 8, newBits: 8 },
      { step: 10, layer: "conv1", G: 0.02, oldBits: 5, newBits: 6 },
      { step: 10, layer: "fc", G: 0.6, oldBits: 8, newBits: 7 },
      { step: 15, layer: "conv1", G: 0.03, oldBits: 6, newBits: 6, limitedBy: "bMax" },
    ],
    bitsTimeline: [
      { step: 0, bits: { conv1: 4, fc: 8 } },
      { step: 5, bits: { conv1: 5, fc: 8 } },
      { step: 10, bits: { conv1: 6, fc: 7 } },
      { step: 15, bits: { conv1: 6, fc: 7 } },
    ],
    finalBits: { conv1: 6, fc: 7 },
    averageWeightBits: (60 * 6 + 2170 * 7) / 2230,
    modelSha256: "ab".repeat(32),
    timings: { totalSeconds: 3.5, trainSeconds: 2.9, evalSeconds: 0.4, msPerStep: 145 },
  };
}

/** The fp32 reference policy: widths are 32 and nothing is decided. */
function floatReport(): TrainReport {
  const r = baseReport();
  r.policy = "fp32";
  r.bitsHistory = [];
  r.bitsTimeline = [{ step: 0, bits: { conv1: 32, fc: 32 } }];
  r.finalBits = { conv1: 32, fc: 32 };
  r.averageWeightBits = 32;
  return r;
}

/** Problems of a copy of the base report after `corrupt`; asserts at least one names `pattern`. */
function rejects(corrupt: (r: Record<string, any>) => void, pattern: RegExp, base = baseReport): void {
  const r = structuredClone(base()) as Record<string, any>;
  corrupt(r);
  const problems = validateReport(r);
  assert.ok(problems.length > 0, `expected a problem matching ${pattern}, got none`);
  assert.ok(problems.some((p) => pattern.test(p)), `no problem matches ${pattern}:\n${problems.join("\n")}`);
}

describe("validateReport", () => {
  test("accepts a consistent report, with and without the optional memory/energy sections", () => {
    assert.deepEqual(validateReport(baseReport()), []);
    const extended: ReportWithExtras = { ...baseReport(), memory: { peakBytes: 1234 }, energy: { perStepMicrojoules: 1.5 } };
    assert.deepEqual(validateReport(extended), []);
    assert.deepEqual(validateReport(JSON.parse(JSON.stringify(baseReport()))), [], "survives a JSON round trip");
  });

  test("accepts a float-policy report (widths 32, no decisions) and a fixed run with no log", () => {
    assert.deepEqual(validateReport(floatReport()), []);
    const fixed = baseReport();
    fixed.policy = "fixed";
    fixed.bitsHistory = [];
    assert.deepEqual(validateReport(fixed), []);
  });

  test("rejects a non-object, a wrong version and missing fields", () => {
    for (const x of [null, undefined, 7, "report", [baseReport()]]) {
      assert.match(validateReport(x).join("\n"), /^report: expected an object/);
    }
    rejects((r) => { r.version = 2; }, /^version: expected 1, got 2/);
    rejects((r) => { delete r.version; }, /^version: expected 1, got nothing/);
    rejects((r) => { delete r.timings; }, /^timings: expected an object/);
    rejects((r) => { delete r.layers; }, /^layers: expected an array/);
  });

  test("rejects empty or non-string names and a non-object config", () => {
    rejects((r) => { r.model = ""; }, /^model: expected a non-empty string/);
    rejects((r) => { r.dataset = 3; }, /^dataset: expected a non-empty string, got 3/);
    rejects((r) => { delete r.policy; }, /^policy:/);
    rejects((r) => { r.isa = null; }, /^isa:/);
    rejects((r) => { r.config = [1, 2]; }, /^config: expected an object, got an array of 2/);
  });

  test("rejects accuracy outside 0..1 and steps that are not a non-negative integer", () => {
    for (const bad of [1.5, -0.01, NaN, Infinity, "0.9"]) rejects((r) => { r.accuracy = bad; }, /^accuracy: expected a finite number in 0\.\.1/);
    for (const bad of [-1, 2.5, NaN, "20"]) rejects((r) => { r.steps = bad; }, /^steps: expected an integer >= 0/);
  });

  test("rejects bad curve points: ranges, steps past the run, out of order", () => {
    rejects((r) => { r.loss[1].accuracy = 1.2; }, /^loss\[1\]\.accuracy: expected a finite number in 0\.\.1, got 1\.2/);
    rejects((r) => { r.loss[0].loss = -0.5; }, /^loss\[0\]\.loss: expected a finite number >= 0/);
    rejects((r) => { r.loss[0].loss = null; }, /^loss\[0\]\.loss:/);
    rejects((r) => { r.loss[3].step = 21; }, /^loss\[3\]\.step: expected an integer in 0\.\.20, got 21/);
    rejects((r) => { r.loss[2].step = 2; }, /^loss\[2\]\.step: 2 comes after step 10/);
    rejects((r) => { r.evaluations[0].epoch = -1; }, /^evaluations\[0\]\.epoch/);
    rejects((r) => { r.evaluations[1].accuracy = -0.1; }, /^evaluations\[1\]\.accuracy/);
    rejects((r) => { r.evaluations[1] = 5; }, /^evaluations\[1\]: expected an object, got 5/);
  });

  test("rejects bad layers: duplicate names, parameter counts, shapes", () => {
    rejects((r) => { r.layers[1].name = "conv1"; }, /^layers\[1\]\.name: duplicate layer name "conv1"/);
    rejects((r) => { r.layers[0].parameters = -3; }, /^layers\[0\]\.parameters: expected an integer >= 0/);
    rejects((r) => { r.layers[0].parameters = 1.5; }, /^layers\[0\]\.parameters/);
    rejects((r) => { r.layers[2].outputShape = []; }, /^layers\[2\]\.outputShape: expected a non-empty array of positive integers/);
    rejects((r) => { r.layers[2].outputShape = [0]; }, /^layers\[2\]\.outputShape/);
    rejects((r) => { delete r.layers[2].kind; }, /^layers\[2\]\.kind/);
  });

  test("rejects final widths outside 2..16 (or not 32 for a float policy) and wrong layer sets", () => {
    for (const bad of [1, 17, 4.5, 32, "6"]) {
      rejects((r) => { r.finalBits.fc = bad; }, /^finalBits\["fc"\]: expected an integer in 2\.\.16/);
    }
    rejects((r) => { r.finalBits.fc = 8; }, /^finalBits\["fc"\]: expected 32 \(float policy "fp32"\), got 8/, floatReport);
    rejects((r) => { r.finalBits.ghost = 8; }, /^finalBits\["ghost"\]: "ghost" is not in layers/);
    rejects((r) => { delete r.finalBits.fc; }, /^finalBits: missing weighted layer "fc"/);
    rejects((r) => { r.finalBits.relu1 = 8; }, /^finalBits\["relu1"\]: layer has no parameters/);
  });

  test("rejects a decision log that jumps, breaks its chain or disagrees with finalBits", () => {
    rejects((r) => { r.bitsHistory[0].newBits = 6; }, /^bitsHistory\[0\]: width moved 4 -> 6: a decision changes it by at most 1 bit/);
    rejects((r) => { r.bitsHistory[2].oldBits = 4; r.bitsHistory[2].newBits = 5; }, /^bitsHistory\[2\]\.oldBits: 4, but the previous decision for "conv1" left it at 5/);
    rejects((r) => { r.finalBits.fc = 8; }, /^finalBits\["fc"\]: 8, but the last decision for that layer set 7/);
    rejects((r) => { r.bitsHistory[1].layer = "ghost"; }, /^bitsHistory\[1\]\.layer: "ghost" is not in layers/);
    rejects((r) => { r.bitsHistory[1].G = -0.1; }, /^bitsHistory\[1\]\.G: expected a finite number >= 0/);
    rejects((r) => { r.bitsHistory[1].G = NaN; }, /^bitsHistory\[1\]\.G/);
    rejects((r) => { r.bitsHistory[3].step = 1; }, /^bitsHistory\[3\]\.step: 1 comes after step 10/);
    rejects((r) => { r.bitsHistory[3].newBits = 1; }, /^bitsHistory\[3\]\.newBits: expected an integer in 2\.\.16, got 1/);
    rejects((r) => { r.bitsHistory[4].limitedBy = ""; }, /^bitsHistory\[4\]\.limitedBy/);
    rejects((r) => { r.bitsHistory = [{ step: 1, layer: "fc", G: 0.1, oldBits: 32, newBits: 32 }]; }, /^bitsHistory: float policy "fp32" makes no precision decisions/, floatReport);
  });

  test("rejects a bad bits timeline", () => {
    rejects((r) => { r.bitsTimeline[1].bits.fc = 40; }, /^bitsTimeline\[1\]\.bits\["fc"\]: expected an integer in 2\.\.16, got 40/);
    rejects((r) => { r.bitsTimeline[3].step = 99; }, /^bitsTimeline\[3\]\.step: expected an integer in 0\.\.20/);
    rejects((r) => { r.bitsTimeline[2].bits.ghost = 8; }, /"ghost" is not in layers/);
    rejects((r) => { r.bitsTimeline[2].bits = null; }, /^bitsTimeline\[2\]\.bits: expected an object/);
  });

  test("rejects averageWeightBits that is not positive or lies outside the final widths", () => {
    for (const bad of [0, -1, NaN, null]) rejects((r) => { r.averageWeightBits = bad; }, /^averageWeightBits: expected a finite number > 0/);
    rejects((r) => { r.averageWeightBits = 9; }, /^averageWeightBits: 9 lies outside the final widths' range 6\.\.7/);
  });

  test("rejects a model hash that is not 64 hex characters", () => {
    for (const bad of ["ab".repeat(31), "zz".repeat(32), "ab".repeat(33), 42]) {
      rejects((r) => { r.modelSha256 = bad; }, /^modelSha256: expected 64 hexadecimal characters/);
    }
  });

  test("rejects negative or inconsistent timings", () => {
    rejects((r) => { r.timings.msPerStep = -1; }, /^timings\.msPerStep: expected a finite number >= 0/);
    rejects((r) => { delete r.timings.evalSeconds; }, /^timings\.evalSeconds/);
    rejects((r) => { r.timings.trainSeconds = 10; }, /^timings: trainSeconds \+ evalSeconds \(10 \+ 0\.4\) exceeds totalSeconds \(3\.5\)/);
  });

  test("rejects optional sections that are not objects", () => {
    rejects((r) => { r.memory = [1]; }, /^memory: expected an object when present/);
    rejects((r) => { r.energy = 3; }, /^energy: expected an object when present, got 3/);
  });
});

// --- HTML ---------------------------------------------------------------------------------------

const VOID = new Set(["meta", "br", "hr", "img", "input", "link"]);

/** Every tag closed in order (void elements excepted), no stray '<' or '&' in text. */
function assertWellFormed(html: string): void {
  assert.match(html, /^<!doctype html>\n<html lang="en">/);
  assert.match(html, /<\/html>\n$/);
  const doc = html.slice("<!doctype html>".length);
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(doc); m; m = tag.exec(doc)) {
    const text = doc.slice(last, m.index);
    last = tag.lastIndex;
    const where = `before <${m[1]}${m[2]}> at ${m.index}`;
    assert.doesNotMatch(text, /</, `stray '<' ${where}`);
    assert.doesNotMatch(text, /&(?!(?:amp|lt|gt|quot|#39);)/, `unescaped '&' ${where}`);
    const [, closing, name, attrs, selfClosing] = m;
    assert.doesNotMatch(attrs, /&(?!(?:amp|lt|gt|quot|#39);)/, `unescaped '&' in an attribute at ${m.index}`);
    const lower = name.toLowerCase();
    if (closing) assert.equal(stack.pop(), lower, `mismatched </${name}> at ${m.index}`);
    else if (!selfClosing && !VOID.has(lower)) stack.push(lower);
  }
  assert.deepEqual(stack, [], "unclosed elements");
}

function svgs(html: string): string[] {
  return html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
}

describe("renderReport", () => {
  test("produces well-formed HTML with one <svg> per plot, deterministically", () => {
    const html = renderReport(baseReport());
    assertWellFormed(html);
    const charts = svgs(html);
    assert.equal(charts.length, 3);
    assert.deepEqual(charts.map((s) => /aria-label="([^"]*)"/.exec(s)?.[1]), ["Weight bits per layer", "Loss", "Accuracy"]);
    assert.equal(renderReport(baseReport()), html);
    assert.doesNotMatch(html, /NaN|undefined|<script/);
    assert.doesNotMatch(html, /does not match the schema/);
  });

  test("shows the header facts, the layer table and the decision log", () => {
    const html = renderReport(baseReport());
    for (const s of ["87.50 %", "6.97", "145 ms", "ab".repeat(32), "<b>simd</b>", "<b>apt</b>", "2,170", "6 × 6 × 6", "4 → 5", "bMax"]) {
      assert.ok(html.includes(s), `missing ${s}`);
    }
    assert.equal((html.match(/<tr class="(up|down|held)">/g) ?? []).length, 5);
  });

  test("the bits plot has one step path per weighted layer", () => {
    const html = renderReport(baseReport());
    const bits = svgs(html)[0];
    const paths = [...bits.matchAll(/<path class="series" data-series="([^"]*)" d="([^"]*)"/g)];
    assert.deepEqual(paths.map((p) => p[1]), ["conv1", "fc"]);
    for (const [, , d] of paths) assert.match(d, /^M[\d.]+ [\d.]+(H[\d.]+(V[\d.]+)?)+$/, "a step path is made of H and V moves");
  });

  test("escapes a layer named <script>, everywhere it appears", () => {
    const r = baseReport();
    const evil = `<script>alert("x")</script> & co`;
    r.layers[2].name = evil;
    r.finalBits = { conv1: 6, [evil]: 7 };
    r.bitsHistory = r.bitsHistory.map((d) => (d.layer === "fc" ? { ...d, layer: evil } : d));
    r.bitsTimeline = r.bitsTimeline.map((e) => ({ step: e.step, bits: { conv1: e.bits.conv1, [evil]: e.bits.fc } }));
    assert.deepEqual(validateReport(r), []);
    const html = renderReport(r);
    assert.doesNotMatch(html, /<script/i);
    assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
    assertWellFormed(html);
    assert.equal([...svgs(html)[0].matchAll(/<path class="series"/g)].length, 2);
  });

  test("renders memory and energy sections when present", () => {
    const html = renderReport({ ...baseReport(), memory: { peakBytes: 201352, byCategory: { weights: 30842 } }, energy: { source: "Horowitz <2014>" } });
    assertWellFormed(html);
    assert.match(html, /<h2>Memory<\/h2>/);
    assert.match(html, /<h2>Energy<\/h2>/);
    assert.ok(html.includes("byCategory.weights") && html.includes("201,352") && html.includes("Horowitz &lt;2014&gt;"));
    assert.doesNotMatch(renderReport(baseReport()), /<h2>(Memory|Energy)<\/h2>/);
  });

  test("truncates a long decision log to the first and last 200 rows with a note", () => {
    const r = baseReport();
    r.bitsHistory = Array.from({ length: 450 }, (_, i) => ({ step: Math.floor(i / 30), layer: "fc", G: 0.2, oldBits: 7, newBits: 7 }));
    const html = renderReport(r);
    assertWellFormed(html);
    assert.equal((html.match(/<tr class="held">/g) ?? []).length, 400);
    assert.match(html, /450 decisions; showing the first 200 and the last 200 \(50 omitted\)/);
    assert.match(html, /… 50 decisions omitted …/);
  });

  test("renders an invalid report with its problems listed, without crashing", () => {
    const r = structuredClone(baseReport()) as Record<string, any>;
    r.accuracy = 2;
    delete r.loss;
    r.bitsTimeline = "nope";
    const html = renderReport(r as TrainReport);
    assertWellFormed(html);
    assert.match(html, /This report does not match the schema \(3 problems\)/);
    assert.equal(svgs(html).length, 3);
    assert.doesNotMatch(html, /NaN/);
  });
});

// --- SVG ----------------------------------------------------------------------------------------

describe("lineChart", () => {
  const chart = (series: Parameters<typeof lineChart>[0]["series"], extra = {}) =>
    lineChart({ title: "T", xLabel: "x", yLabel: "y", series, ...extra });

  test("is deterministic, and different content gets a different clip id", () => {
    const s = [{ name: "a", points: [[0, 1], [1, 3], [2, 2]] as const }, { name: "b", points: [[0, 2], [2, 5]] as const, step: true }];
    assert.equal(chart(s), chart(s));
    const id = (svg: string) => /clipPath id="([^"]+)"/.exec(svg)?.[1];
    assert.notEqual(id(chart(s)), id(chart([s[0]])));
  });

  test("a single point, a constant series and empty input draw without NaN", () => {
    const cases = [
      chart([{ name: "one", points: [[5, 0.5]] }]),
      chart([{ name: "zero", points: [[0, 0]] }]),
      chart([{ name: "flat", points: [[0, 3], [10, 3], [20, 3]] }]),
      chart([{ name: "flat step", points: [[0, 8], [10, 8]], step: true }], { yIntegerTicks: true }),
      chart([{ name: "empty", points: [] }]),
      chart([]),
      chart([{ name: "bad", points: [[NaN, 1], [1, Infinity]] }]),
      chart([{ name: "fixed", points: [[0, 1]] }], { yMin: 1, yMax: 1 }),
      chart([{ name: "below", points: [[0, -5], [1, -6]] }], { yMin: 0 }),
    ];
    for (const svg of cases) {
      assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
      assert.match(svg, /^<svg [^>]*viewBox="0 0 720 360"/);
      assert.match(svg, /<\/svg>$/);
    }
    assert.match(cases[0], /<circle /, "a lone point gets a marker");
    assert.match(cases[4], />no data</);
    assert.match(cases[5], />no data</);
  });

  test("step series use H/V moves; plain series use L; points are drawn in x order", () => {
    const svg = chart([
      { name: "steps", points: [[0, 4], [10, 4], [20, 5], [30, 5]], step: true },
      { name: "line", points: [[20, 1], [0, 0], [10, 2]] },
    ]);
    const d = [...svg.matchAll(/ d="([^"]*)" stroke=/g)].map((m) => m[1]);
    assert.match(d[0], /^M\S+ \S+H\S+V\S+H\S+$/, "a repeated value adds no vertex");
    assert.match(d[1], /^M\S+ \S+L\S+ \S+L\S+ \S+$/);
    const xs = [...d[1].matchAll(/[ML]([\d.]+) /g)].map((m) => Number(m[1]));
    assert.deepEqual(xs, [...xs].sort((a, b) => a - b));
  });

  test("escapes the title, labels and series names; legend has one entry per series", () => {
    const svg = lineChart({ title: "a<b", xLabel: "x&y", yLabel: `"q"`, series: [{ name: "<s>", points: [[0, 1]] }, { name: "t", points: [] }] });
    assert.doesNotMatch(svg, /a<b|x&y|<s>/);
    assert.ok(svg.includes("a&lt;b") && svg.includes("x&amp;y") && svg.includes("&quot;q&quot;") && svg.includes("&lt;s&gt;"));
    assert.equal((svg.match(/<g class="legend"[\s\S]*?<\/g>/)?.[0].match(/<text /g) ?? []).length, 2);
  });

  test("nice ticks: 1/2/5 steps covering the data; integer ticks for bit widths", () => {
    assert.deepEqual(niceTicks(0, 937, 6), { lo: 0, hi: 1000, step: 200, values: [0, 200, 400, 600, 800, 1000] });
    assert.deepEqual(niceTicks(0.1, 0.3, 5).values, [0.1, 0.15, 0.2, 0.25, 0.3]);
    assert.deepEqual(niceTicks(3, 5, 6, { integer: true, fixedLo: true, fixedHi: true }).values, [3, 4, 5]);
    assert.deepEqual(niceTicks(7, 7, 6, { integer: true }).values, [6, 7, 8]);
    assert.deepEqual(niceTicks(0, 100, 6, { fixedHi: true }).values, [0, 20, 40, 60, 80, 100]);
  });

  test("a long run renders (no spread-argument overflow on 300k points)", () => {
    const points = Array.from({ length: 300_000 }, (_, i) => [i, Math.sin(i / 1000)] as const);
    const svg = lineChart({ title: "long", xLabel: "step", yLabel: "v", series: [{ name: "s", points }] });
    assert.doesNotMatch(svg, /NaN/);
  });
});
