// experiments/results-table.ts on synthetic runs (nothing trained): the mean and spread over seeds,
// the main table built on them, the issue's figures judged on the means, the lean setting that
// figure 1 points at, and summary.json's shape and its checker.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  COLUMNS, buildRows, buildSummary, figure1Choice, formatSummary, issueChecks, parseTable, resultsTable, spread, spreadCell, summarize,
  validateSummary, type Check, type RunResult,
} from "../experiments/results-table.js";
import { fakeRun, move, type FakeRun } from "./helpers/fake-runs.js";

/** One spec over two seeds: `perSeed` gives each seed's differences from `base`, `over` the
 *  differences of both seeds from those. */
function twoSeeds(base: FakeRun, perSeed: [Partial<FakeRun>, Partial<FakeRun>] = [{}, {}], over: Partial<FakeRun> = {}): RunResult[] {
  return perSeed.map((p, i) => fakeRun({ ...base, ...p, ...over, seed: i + 1 }));
}

/** A set where lean 0 meets figures 2..5 and lean 2 meets figure 1 (lean 1 saves too little). */
function scenario(over: Partial<Record<string, Partial<FakeRun>>> = {}): RunResult[] {
  const spec = (f: FakeRun, perSeed?: [Partial<FakeRun>, Partial<FakeRun>]) => twoSeeds(f, perSeed, over[f.label]);
  return [
    ...spec({ label: "fp32", kind: "fp32", accuracy: 0.9, joules: 1, peakBytes: 4_000_000, bits: 32, cpuSeconds: 100 }, [{}, { cpuSeconds: 110 }]),
    ...spec({ label: "qat8", kind: "qat8", accuracy: 0.895, joules: 0.4, peakBytes: 1_000_000, bits: 8, cpuSeconds: 30 }),
    ...spec({ label: "fixed:8", kind: "fixed", accuracy: 0.892, joules: 0.3, peakBytes: 600_000, bits: 8, cpuSeconds: 20 }, [{ accuracy: 0.889 }, { accuracy: 0.893 }]),
    ...spec({ label: "apt lean 0 (default)", kind: "apt", lean: 0, accuracy: 0.892, joules: 0.25, peakBytes: 500_000, bits: 7.5, cpuSeconds: 18 }, [
      { accuracy: 0.891, joules: 0.24, finalBits: { conv: 5, fc: 7 }, bitsHistory: [move("conv", 6, 5), move("fc", 6, 7), move("conv", 8, 7, true)] },
      { accuracy: 0.893, joules: 0.26, finalBits: { conv: 6, fc: 7 }, bitsHistory: [move("fc", 6, 7), move("fc", 8, 7, true)] },
    ]),
    ...spec({ label: "apt lean 1", kind: "apt", lean: 1, accuracy: 0.888, joules: 0.22, peakBytes: 450_000, bits: 7, cpuSeconds: 16 }),
    ...spec({ label: "apt lean 2", kind: "apt", lean: 2, accuracy: 0.885, joules: 0.19, peakBytes: 390_000, bits: 6.5, cpuSeconds: 14 }),
    ...spec({ label: "apt lean 0, constant lr", kind: "apt", lean: 0, variant: "constant lr", schedule: "constant", accuracy: 0.89, joules: 0.25,
      peakBytes: 500_000, bits: 6, finalBits: { conv: 6, fc: 6 } }),
  ];
}

const byTarget = (checks: readonly Check[], pattern: RegExp) => {
  const found = checks.filter((c) => pattern.test(c.target));
  assert.equal(found.length, 1, `one check matching ${pattern}: ${checks.map((c) => c.target).join("; ")}`);
  return found[0];
};

test("spread: the mean, the lowest and the highest value; a cell shows the range only where it shows a difference", () => {
  assert.deepEqual(spread([1, 2, 6]), { mean: 3, min: 1, max: 6 });
  assert.deepEqual(spread([0.5]), { mean: 0.5, min: 0.5, max: 0.5 });
  assert.throws(() => spread([]), RangeError);
  assert.equal(spreadCell(spread([0.891, 0.893]), 2, "%", 100), "89.20 % (89.10–89.30)");
  assert.equal(spreadCell(spread([0.891]), 2, "%", 100), "89.10 %");
  // Seeds that differ below the precision shown give the mean alone.
  assert.equal(spreadCell(spread([7.501, 7.502]), 2), "7.50");
});

test("summarize groups a spec's seeds (seed ascending) and takes means; CPU time is unknown when one run lacks it", () => {
  const runs = scenario();
  const specs = summarize([...runs].reverse());
  assert.deepEqual(specs.map((s) => s.label).reverse(), [...new Set(runs.map((r) => r.label))]);
  const lean0 = specs.find((s) => s.label === "apt lean 0 (default)")!;
  assert.deepEqual(lean0.runs.map((r) => r.seed), [1, 2]);
  assert.ok(Math.abs(lean0.accuracy.mean - 0.892) < 1e-12);
  assert.deepEqual([lean0.joules.min, lean0.joules.max], [0.24, 0.26]);
  assert.ok(lean0.isDefaultApt);
  assert.deepEqual(specs.find((s) => s.kind === "fp32")!.cpuSeconds, { mean: 105, min: 100, max: 110 });
  const partial = summarize(twoSeeds({ label: "fixed:8", kind: "fixed", accuracy: 0.9, joules: 1, peakBytes: 1, bits: 8 }, [{}, { cpuSeconds: null }]));
  assert.equal(partial[0].cpuSeconds, null);
  assert.throws(() => summarize([...runs, runs[0]]), /fp32: seed 1 appears twice/);
});

test("an integer run whose planned peak differs from its measured one stops the page; fp32 keeps no mark", () => {
  const ok = summarize([fakeRun({ label: "fp32", kind: "fp32", accuracy: 0.9, joules: 1, peakBytes: 100, bits: 32 })]);
  assert.equal(ok[0].runs[0].report.memory!.measuredPeakBytes, null);
  const differs = fakeRun({ label: "apt lean 1", kind: "apt", lean: 1, seed: 3, accuracy: 0.9, joules: 1, peakBytes: 100, bits: 6, measuredPeakBytes: 104 });
  assert.throws(() => summarize([differs]), /apt lean 1, seed 3: planned peak 100 bytes but measured 104/);
  const unmeasured = fakeRun({ label: "fixed:8", kind: "fixed", accuracy: 0.9, joules: 1, peakBytes: 100, bits: 8, measuredPeakBytes: null });
  assert.throws(() => summarize([unmeasured]), /fixed:8, seed 1: planned peak 100 bytes but measured null/);
});

test("the table: every column, one row per spec, means with their range, savings computed on means", () => {
  const specs = summarize(scenario());
  const cells = parseTable(resultsTable(buildRows(specs)));
  assert.deepEqual(cells[0], [...COLUMNS]);
  assert.ok(COLUMNS.indexOf("training CPU s") === COLUMNS.indexOf("training energy") + 3, "CPU seconds beside the energy and its savings");
  const body = cells.slice(2);
  assert.deepEqual(body.map((r) => r[0]), specs.map((s) => s.label));
  for (const row of body) assert.equal(row.length, COLUMNS.length, row.join(" | "));
  const col = (name: string, nth = 0) => COLUMNS.map((c, i) => [c, i] as const).filter(([c]) => c === name)[nth][1];
  const lean0 = body.find((r) => r[0] === "apt lean 0 (default)")!;
  assert.equal(lean0[col("test acc")], "89.20 % (89.10–89.30)");
  assert.equal(lean0[col("Δ acc vs fp32")], "-0.80 pt");
  assert.equal(lean0[col("training energy")], "250.000 mJ (240.000–260.000)");
  assert.equal(lean0[col("vs fp32", 0)], "75.0 %");
  assert.equal(lean0[col("vs qat8", 0)], "37.5 %");
  assert.equal(lean0[col("training CPU s")], "18.00");
  assert.equal(lean0[col("peak memory")], "488.3 KiB");
  assert.equal(lean0[col("vs fp32", 1)], "87.5 %");
  assert.equal(lean0[col("avg weight bits")], "7.50");
  assert.equal(body.find((r) => r[0] === "fp32")![col("training CPU s")], "105.00 (100.00–110.00)");
  // The baselines against themselves, and a spec dearer than the baseline.
  const fp = body.find((r) => r[0] === "fp32")!;
  assert.deepEqual([fp[col("vs fp32", 0)], fp[col("Δ acc vs fp32")], fp[col("vs qat8", 0)]], ["0.0 %", "+0.00 pt", "-150.0 %"]);
  // Without a qat8 spec its columns say so instead of inventing numbers.
  const noQat = parseTable(resultsTable(buildRows(summarize(scenario().filter((r) => r.kind !== "qat8"))))).slice(2);
  for (const row of noQat) for (const [c, i] of COLUMNS.map((c, i) => [c, i] as const)) if (/qat8/.test(c)) assert.equal(row[i], "—");
});

test("the issue's figures on the means: every figure met in the scenario", () => {
  const checks = issueChecks(summarize(scenario()));
  assert.deepEqual([...new Set(checks.map((c) => c.figure))], ["F1", "F2", "F3", "F4", "F5"]);
  const f1 = checks.find((c) => c.figure === "F1")!;
  assert.equal(f1.met, true);
  assert.match(f1.measured, /^apt lean 2: 24\.0 % less energy, 22\.0 % less peak memory, 0\.70 points less accurate than lean 0$/);
  assert.match(byTarget(checks, /accuracy >= fixed:8's/).measured, /89\.20 % vs 89\.10 %: 0\.10 points higher/);
  assert.match(byTarget(checks, /energy <= 0\.85/).measured, /0\.833 ×/);
  assert.match(byTarget(checks, /peak memory <= 0\.9/).measured, /0\.833 ×/);
  assert.match(byTarget(checks, /CPU seconds <= fixed:8's/).measured, /18\.00 s vs 20\.00 s/);
  assert.match(byTarget(checks, />= 70 % less training energy/).measured, /^75\.0 % less than the fp32 run .*; 80\.0 % less than the same runs priced as fp32$/);
  assert.match(byTarget(checks, />= 60 % less peak memory/).measured, /^87\.5 % less/);
  assert.match(byTarget(checks, /<= 1 point below fp32/).measured, /0\.80 points lower/);
  assert.match(byTarget(checks, /<= 10 bits/).measured, /7\.50 bits/);
  assert.match(byTarget(checks, /goes down/).measured, /seed 1: 2 down \(weights 1, outputs 1\); seed 2: 1 down \(weights 0, outputs 1\)/);
  assert.match(byTarget(checks, /not all equal/).measured, /seed 1: 5\/7; seed 2: 6\/7 \(conv\/fc\)/);
  const constant = byTarget(checks, /constant lr/);
  assert.equal(constant.met, null, "reported beside the default, no target");
  assert.match(constant.measured, /seed 1: cosine 5\/7, constant 6\/6; seed 2: cosine 6\/7, constant 6\/6/);
  const f5 = checks.find((c) => c.figure === "F5")!;
  assert.match(f5.target, /lean 0 > lean 1 > lean 2/);
  assert.equal(f5.measured, "lean 0 18.00 s, lean 1 16.00 s, lean 2 14.00 s");
  for (const c of checks) if (c !== constant) assert.equal(c.met, true, `${c.figure} ${c.target}: ${c.measured}`);
});

test("the issue's figures fail where the means miss the bars, and say what they lack", () => {
  const bad = issueChecks(summarize(scenario({
    "apt lean 0 (default)": { accuracy: 0.85, joules: 0.29, peakBytes: 590_000, bits: 11, cpuSeconds: 21, finalBits: { conv: 7, fc: 7 }, bitsHistory: [move("fc", 6, 7)] },
    "apt lean 1": { cpuSeconds: 22, joules: 0.28, peakBytes: 580_000 },
    "apt lean 2": { accuracy: 0.83 },
  })));
  const unmet = bad.filter((c) => c.met === false).map((c) => c.target);
  assert.equal(bad.filter((c) => c.met === true).length, 2, `only F3's energy and memory still hold: ${bad.filter((c) => c.met).map((c) => c.target).join("; ")}`);
  assert.equal(unmet.length, bad.length - 3, unmet.join("; "));
  // Figure 1 still names the setting it judged: none saves 20 % within a point, lean 1 is the one within it.
  assert.match(bad[0].measured, /^apt lean 1: 3\.4 % less energy, 1\.7 % less peak memory, 3\.80 points more accurate than lean 0$/);
  // A missing reference: not measured, not failed.
  const fewer = issueChecks(summarize(scenario().filter((r) => r.label !== "fixed:8" && r.variant === undefined && r.lean !== 1 && r.lean !== 2)));
  for (const c of fewer.filter((x) => x.figure === "F2" || x.figure === "F1" || x.figure === "F5")) assert.equal(c.met, null, c.target);
  assert.match(byTarget(fewer, /constant lr/).measured, /^needs a lean 0 run with a constant learning rate$/);
  // The lower of the two energy savings against fp32 decides: here the runs priced as fp32 save 60 %.
  const repriced = scenario().map((r) => (r.isDefaultApt ? { ...r, report: { ...r.report, energy: { ...r.report.energy, fp32Joules: r.report.energy.totalJoules / 0.4 } } } : r));
  const energy = byTarget(issueChecks(summarize(repriced)), />= 70 % less training energy/);
  assert.match(energy.measured, /^75\.0 % less than the fp32 run .*; 60\.0 % less than the same runs priced as fp32$/);
  assert.equal(energy.met, false);
  // CPU time missing in some run: the CPU figures are not measurable.
  const noCpu = issueChecks(summarize(scenario({ "apt lean 1": { cpuSeconds: null } })));
  assert.equal(noCpu.find((c) => c.figure === "F5")!.met, null);
});

test("figure 1 points at a setting that meets it, else the largest saving within a point, else the most accurate", () => {
  const base = scenario().filter((r) => r.kind === "apt" && r.variant === undefined && r.lean === 0);
  const lean = (n: number, accuracy: number, joules: number, peakBytes: number) =>
    fakeRun({ label: `apt lean ${n}`, kind: "apt", lean: n, accuracy, joules, peakBytes, bits: 6 });
  // lean 0: mean 0.892, 0.25 J, 500,000 bytes.
  const meetingBeatsBigger = figure1Choice(summarize([...base, lean(1, 0.887, 0.125, 450_000), lean(2, 0.884, 0.19, 390_000)]))!;
  assert.equal(meetingBeatsBigger.choice.setting.label, "apt lean 2", "50 % + 10 % saves more, but only lean 2 meets both bars");
  assert.equal(meetingBeatsBigger.choice.meetsFigure1, true);
  const withinPoint = figure1Choice(summarize([...base, lean(1, 0.887, 0.225, 475_000), lean(2, 0.884, 0.2, 450_000)]))!;
  assert.equal(withinPoint.choice.setting.label, "apt lean 2");
  assert.equal(withinPoint.choice.meetsFigure1, false);
  const mostAccurate = figure1Choice(summarize([...base, lean(1, 0.87, 0.2, 400_000), lean(2, 0.80, 0.1, 300_000)]))!;
  assert.equal(mostAccurate.choice.setting.label, "apt lean 1");
  assert.ok(Math.abs(mostAccurate.choice.accuracyDrop - 2.2) < 1e-9);
  assert.equal(figure1Choice(summarize(base)), null, "no other setting to point at");
});

test("summary.json: one record per run, the lean setting with its flags, a shape its checker accepts", () => {
  const runs = scenario();
  const config = { mode: "custom", seeds: [1, 2], runs: [...new Set(runs.map((r) => r.label))] };
  const summary = buildSummary(runs, config, "2026-12-01T10:00:00.000Z");
  const text = formatSummary(summary);
  const parsed = JSON.parse(text);
  assert.deepEqual(parsed, JSON.parse(JSON.stringify(summary)));
  assert.deepEqual(validateSummary(parsed), []);
  // One line per run record, so a rerun's diff names the runs that moved.
  assert.equal(text.split("\n").filter((l) => l.startsWith("  {\"label\"")).length, runs.length);
  assert.equal(parsed.runs.length, runs.length);
  for (const label of config.runs) assert.deepEqual(parsed.runs.filter((r: { label: string }) => r.label === label).map((r: { seed: number }) => r.seed), [1, 2]);
  const lean0 = parsed.runs.find((r: { label: string; seed: number }) => r.label === "apt lean 0 (default)" && r.seed === 2);
  assert.deepEqual(lean0, {
    label: "apt lean 0 (default)", policy: "apt", lean: 0, variant: null, schedule: "cosine", seed: 2, accuracy: 0.893, trainingJoules: 0.26,
    plannedPeakBytes: 500_000, measuredPeakBytes: 500_000, trainCpuSeconds: 18, averageWeightBits: 7.5,
  });
  assert.equal(parsed.runs.find((r: { policy: string }) => r.policy === "fp32").measuredPeakBytes, null);
  assert.deepEqual(parsed.runs.find((r: { variant: string | null }) => r.variant !== null).schedule, "constant");
  assert.equal(parsed.lean.setting, 2);
  assert.deepEqual(parsed.lean.flags, ["--policy", "apt", "--lean", "2"]);
  assert.equal(parsed.lean.meetsFigure1, true);
  assert.ok(Math.abs(parsed.lean.energySavingPercent - 24) < 1e-9 && Math.abs(parsed.lean.memorySavingPercent - 22) < 1e-9);
  assert.ok(Math.abs(parsed.lean.accuracyDropPoints - 0.7) < 1e-9);
  assert.equal(parsed.figures.length, issueChecks(summarize(runs)).length);

  // Nothing to point at: the lean fields are null, and still valid.
  const alone = JSON.parse(formatSummary(buildSummary(runs.filter((r) => r.lean !== 1 && r.lean !== 2), config, "2026-12-01T10:00:00.000Z")));
  assert.deepEqual(alone.lean, { setting: null, label: null, flags: null, meetsFigure1: null, accuracyDropPoints: null, energySavingPercent: null, memorySavingPercent: null });
  assert.deepEqual(validateSummary(alone), []);
});

test("the summary checker names what is wrong", () => {
  const good = () => JSON.parse(formatSummary(buildSummary(scenario(), { mode: "custom", seeds: [1, 2], runs: [] }, "2026-12-01T10:00:00.000Z")));
  // Loosely typed: each case breaks the shape on purpose.
  const broken = (edit: (s: any) => void) => {
    const s = good();
    edit(s);
    return validateSummary(s);
  };
  assert.deepEqual(validateSummary([]), ["summary: expected an object"]);
  assert.match(broken((s) => { delete s.runs[0].seed; }).join("\n"), /runs\[0\]\.seed: missing/);
  assert.match(broken((s) => { s.runs[3].extra = 1; }).join("\n"), /runs\[3\]\.extra: not a field of the summary/);
  assert.match(broken((s) => { s.runs.push(s.runs[0]); }).join("\n"), /fp32 seed 1 appears twice/);
  assert.match(broken((s) => { s.runs[0].accuracy = 1.5; }).join("\n"), /runs\[0\]\.accuracy: expected a finite number >= 0 <= 1/);
  assert.match(broken((s) => { s.runs[0].lean = 1; }).join("\n"), /runs\[0\]\.lean: expected null for a policy without the knob/);
  assert.match(broken((s) => { s.runs[4].measuredPeakBytes = null; }).join("\n"), /runs\[4\]\.measuredPeakBytes: expected an integer >= 1, got null/);
  assert.match(broken((s) => { s.lean.flags = ["--lean", "2"]; }).join("\n"), /lean\.flags: expected \["--policy","apt","--lean","2"\]/);
  assert.match(broken((s) => { s.lean.meetsFigure1 = "yes"; }).join("\n"), /lean\.meetsFigure1: expected true or false/);
  assert.match(broken((s) => { s.config.seeds = []; }).join("\n"), /config\.seeds: expected a non-empty array/);
  assert.match(broken((s) => { s.figures[0].met = "no"; }).join("\n"), /figures\[0\]\.met: expected true, false or null/);
  assert.match(broken((s) => { s.generated = "yesterday"; }).join("\n"), /generated: expected a date/);
});
