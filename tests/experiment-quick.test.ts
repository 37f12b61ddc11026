// The experiment's page and summary (experiments/compare.ts): the run set follows the knob, the page
// is generated from the runs (setup, table of means, figures, observations), and a tiny real run
// over two seeds goes through the whole pipeline (train, write results.md, plots, raw reports and
// summary.json) where Fashion-MNIST is installed. The tables' arithmetic is tests/results-table.test.ts's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FASHION_MNIST_DIR, IDX_FILES } from "../src/data/index.js";
import { LEAN_SETTINGS } from "../src/train/policy.js";
import { TRAIN_DEFAULTS } from "../src/train/defaults.js";
import { COLUMNS, buildRows, checksTable, issueChecks, parseTable, resultsTable, summarize, validateSummary } from "../experiments/results-table.js";
import { PRESETS, allSpecs, renderResults, runSet, writeResults, type ExperimentConfig } from "../experiments/compare.js";
import { validateReport } from "../src/report/schema.js";
import { filesIn, skipUnless } from "./helpers/system-tool.js";
import { fakeRun, move } from "./helpers/fake-runs.js";

test("the run set: the baselines, one APT spec per lean setting, and the default beside a constant lr and untied outputs", () => {
  const specs = allSpecs();
  const labels = specs.map((s) => s.label);
  assert.equal(new Set(labels).size, labels.length, "labels are unique");
  assert.deepEqual(labels.slice(0, 3), ["fp32", "qat8", "fixed:8"]);
  const settings = specs.filter((s) => s.kind === "apt" && s.variant === undefined);
  assert.deepEqual(settings.map((s) => s.lean), LEAN_SETTINGS.map((_, i) => i));
  for (const s of settings) assert.equal(s.policy.kind === "apt" && s.policy.lean, s.lean);
  assert.equal(settings[0].label, "apt lean 0 (default)");
  const constant = specs.find((s) => s.schedule !== undefined)!;
  assert.equal(constant.schedule, "constant");
  assert.deepEqual(constant.policy, settings[0].policy, "the same policy as the default, only the schedule differs");
  // Lean settings may untie their outputs too; the variant beside the default is the one marked so.
  const untied = specs.find((s) => s.variant === "outputs at the slot")!;
  assert.ok(untied.policy.kind === "apt" && !untied.policy.tieActivations);
  assert.equal(untied.lean, 0);
  assert.equal(untied.schedule, undefined);
  for (const mode of ["quick", "medium", "full"] as const) for (const l of PRESETS[mode].runs) assert.ok(labels.includes(l), `${mode}: ${l}`);
  assert.deepEqual(PRESETS.quick.seeds, [1]);
  assert.deepEqual([PRESETS.medium.seeds, PRESETS.full.seeds], [[1, 2, 3], [1, 2, 3]]);
  assert.deepEqual(PRESETS.full.runs, labels);
  assert.deepEqual(PRESETS.quick.runs, ["fp32", "fixed:8", "apt lean 0 (default)", `apt lean ${LEAN_SETTINGS.length - 1}`]);
});

/** Two seeds of a small set, with the widths and re-plans the observations speak of. */
function synthetic() {
  const both = (f: Parameters<typeof fakeRun>[0], second: Partial<Parameters<typeof fakeRun>[0]> = {}) =>
    [fakeRun({ ...f, seed: 1 }), fakeRun({ ...f, ...second, seed: 2 })];
  return [
    ...both({ label: "fp32", kind: "fp32", accuracy: 0.9, joules: 1, peakBytes: 4_000_000, bits: 32 }),
    ...both({ label: "fixed:8", kind: "fixed", accuracy: 0.89, joules: 0.3, peakBytes: 600_000, bits: 8 }),
    ...both({ label: "apt lean 0 (default)", kind: "apt", lean: 0, accuracy: 0.89, joules: 0.25, peakBytes: 500_000, bits: 7,
      finalBits: { conv: 6, fc: 8 }, bitsHistory: [move("conv", 6, 5), move("conv", 5, 6, false, 100), move("fc", 6, 8), move("fc", 6, 5, true)] },
    { accuracy: 0.892, finalBits: { conv: 7, fc: 7 }, bitsHistory: [move("conv", 6, 7), move("fc", 6, 7)] }),
    ...both({ label: "apt lean 2", kind: "apt", lean: 2, accuracy: 0.88, joules: 0.2, peakBytes: 400_000, bits: 6,
      replans: [{ step: 150, slotBits: 7, plannedPeakBytes: 400_000 }] }),
    ...both({ label: "apt lean 0, constant lr", kind: "apt", lean: 0, variant: "constant lr", schedule: "constant", accuracy: 0.887, joules: 0.25,
      peakBytes: 500_000, bits: 6, finalBits: { conv: 6, fc: 6 } }),
  ];
}

const CONFIG: ExperimentConfig = {
  mode: "custom", dataset: "fashion-mnist", trainSamples: 6000, testSamples: 2000, epochs: 1, batch: 32, lr: 0.05, schedule: "cosine", seeds: [1, 2],
  runs: ["fp32", "fixed:8", "apt lean 0 (default)", "apt lean 2", "apt lean 0, constant lr"],
};

const sectionOf = (md: string, heading: string) => {
  const start = md.indexOf(`${heading}\n`);
  assert.ok(start >= 0, heading);
  const end = md.indexOf("\n#", start + heading.length);
  return md.slice(start, end < 0 ? undefined : end);
};

test("results.md is generated from the runs: setup, table of means, figures, observations, widths, plots, reports", () => {
  const runs = synthetic();
  const reports = Object.fromEntries(CONFIG.runs.map((l) => [l, [1, 2].map((seed) => ({ seed, file: `results/${l}-${seed}.json` }))]));
  const md = renderResults(runs, CONFIG, {
    wallSeconds: 60, jobs: 2, plots: { energy: "e.svg", memory: "m.svg", bits: "b.svg" }, reports, summary: "results/summary.json",
  });
  assert.match(md, /<!-- Generated by experiments\/compare\.ts \(npm run reproduce with command-line flags\)\. Do not edit: rerun it\. -->/);
  const specs = summarize(runs);
  assert.ok(md.includes(resultsTable(buildRows(specs))));
  assert.ok(md.includes(checksTable(issueChecks(specs))));
  for (const s of ["## Setup", "## Table", "## The issue's figures, measured", "## Observations", "### Final widths", "## Energy details",
    "## Plots", "## Raw reports", "![Test accuracy vs training energy](e.svg)", "[summary.json](results/summary.json)", "mean over the seeds",
    "Every spec runs once per seed (1, 2)", "[seed 2](results/apt lean 2-2.json)", "training CPU s"]) {
    assert.ok(md.includes(s), s);
  }
  assert.doesNotMatch(md, /NaN|undefined|Infinity/);
  const obs = sectionOf(md, "## Observations");
  // Counted per direction, weights and outputs apart, per seed.
  assert.match(obs, /Over the default's 2 seeds \(apt lean 0 \(default\)\) the controller lowered weight widths 1 time and raised them 4 times, and lowered output widths 1 time and raised them 0 times: seed 1: weights 1 down \/ 2 up, outputs 1 down \/ 0 up; seed 2: weights 0 down \/ 2 up, outputs 0 down \/ 0 up\./);
  assert.match(obs, /differ across layers in 1 of 2 seeds: seed 1 6\/8, seed 2 7\/7\./);
  assert.match(obs, /seed 1: constant 6\/6, cosine 6\/8; seed 2: constant 6\/6, cosine 7\/7: the same in 0 of 2 seeds\./);
  assert.match(obs, /2 of 6 APT runs re-planned .*apt lean 2, seed 1: step 150 to 7 bits \(planned peak 390\.6 KiB\); apt lean 2, seed 2: step 150 to 7 bits/);
  assert.match(obs, /From lean 0 to lean 2, the means go: test accuracy 89\.10 % → 88\.00 %/);
  // One row per APT run in the widths table, weights / output per layer.
  const widths = parseTable(sectionOf(md, "### Final widths")).slice(2);
  assert.equal(widths.length, 6);
  assert.deepEqual(widths[0].slice(0, 4), ["apt lean 0 (default)", "1", "6 / 8", "8 / 8"]);
  // The per-run sections say which seed they show.
  assert.match(sectionOf(md, "## Energy details"), /lowest seed's \(1\)/);
  const energy = parseTable(sectionOf(md, "## Energy details")).slice(2);
  assert.deepEqual(energy.map((r) => [r[0], r[1]]), CONFIG.runs.map((l) => [l, "1"]));
});

const skip = skipUnless({
  what: `Fashion-MNIST in ${FASHION_MNIST_DIR}`,
  present: filesIn(FASHION_MNIST_DIR, Object.values(IDX_FILES)),
  install: "apt-get install dataset-fashion-mnist",
});

test("a tiny real run over two seeds writes a well-formed results.md and summary.json", { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-experiment-"));
  try {
    const c: ExperimentConfig = {
      mode: "custom", dataset: "fashion-mnist", trainSamples: 96, testSamples: 32, epochs: 1, batch: 32, lr: 0.05, schedule: "cosine", seeds: [2, 1],
      runs: ["fp32", "fixed:8", "apt lean 0 (default)", `apt lean ${LEAN_SETTINGS.length - 1}`],
    };
    const reportsDir = join(dir, "results");
    const runs = await runSet(c, { jobs: 1, reportsDir, resume: false, log: () => {} });
    // Table order, seeds ascending within a spec.
    assert.deepEqual(runs.map((r) => `${r.label} ${r.seed}`), c.runs.flatMap((l) => [`${l} 1`, `${l} 2`]));
    for (const r of runs) {
      assert.deepEqual(validateReport(r.report), [], r.label);
      assert.equal(r.report.config.seed, r.seed);
      // No scaling was asked for: the trainer's default ran (fp32 has none and runs exact).
      assert.equal(r.report.config.scaling, r.kind === "fp32" ? "exact" : TRAIN_DEFAULTS.scaling, r.label);
      if (r.kind !== "fp32") assert.equal(r.report.memory!.measuredPeakBytes, r.peakBytes, `${r.label}: planned == measured`);
    }
    assert.ok(runs.filter((r) => r.label === "apt lean 0 (default)").every((r) => r.isDefaultApt && r.lean === 0 && r.finalOutputBits !== undefined));
    const written = await writeResults(runs, c, { outDir: dir, reportsDir, wallSeconds: 1, jobs: 1 });
    assert.equal(written.summary, join(reportsDir, "summary.json"));
    const md = await readFile(written.page, "utf8");
    const table = parseTable(sectionOf(md, "## Table"));
    assert.equal(table.length, 2 + c.runs.length);
    for (const row of table) assert.equal(row.length, COLUMNS.length);
    const figures = parseTable(sectionOf(md, "## The issue's figures, measured"));
    assert.deepEqual(figures[0], ["figure", "target", "measured (means over seeds)", "met"]);
    assert.deepEqual([...new Set(figures.slice(2).map((r) => r[0]))], ["F1", "F2", "F3", "F4", "F5"]);
    for (const row of figures.slice(2)) assert.match(row[3], /^(\*\*yes\*\*|\*\*no\*\*|—)$/, row.join(" | "));
    const files = await readdir(dir);
    for (const f of ["results-accuracy-energy.svg", "results-accuracy-memory.svg", "results-apt-bits.svg"]) {
      assert.ok(files.includes(f), f);
      assert.match(await readFile(join(dir, f), "utf8"), /^<svg [^>]*>[\s\S]*<\/svg>$/);
    }
    const saved = (await readdir(reportsDir)).filter((f) => f.endsWith(".json")).sort();
    assert.deepEqual(saved, [...c.runs.flatMap((l) => [1, 2].map((s) => `${l.replace(/[^a-z0-9.]+/gi, "-").replace(/^-|-$/g, "").toLowerCase()}-seed-${s}.json`)), "summary.json"].sort());
    const summary = JSON.parse(await readFile(written.summary, "utf8"));
    assert.deepEqual(validateSummary(summary), []);
    assert.deepEqual(summary.config.seeds, [2, 1]);
    assert.equal(summary.runs.length, c.runs.length * 2);
    for (const l of c.runs) assert.deepEqual(summary.runs.filter((r: { label: string }) => r.label === l).map((r: { seed: number }) => r.seed), [1, 2], l);
    // Whatever the accuracies, some lean setting other than 0 is named, with its flags.
    assert.ok(summary.lean.setting >= 1);
    assert.deepEqual(summary.lean.flags, ["--policy", "apt", "--lean", String(summary.lean.setting)]);
    assert.equal(typeof summary.lean.meetsFigure1, "boolean");
    // A rerun with --resume reuses every run (keyed by label and seed) and trains none.
    const reused: string[] = [];
    const again = await runSet({ ...c, seeds: [1] }, { jobs: 1, reportsDir, resume: true, log: (s) => reused.push(s) });
    assert.equal(reused.filter((s) => s.startsWith("reusing")).length, c.runs.length);
    assert.ok(reused.every((s) => s.startsWith("reusing")), reused.join("\n"));
    assert.deepEqual(again.map((r) => r.report.modelSha256), runs.filter((r) => r.seed === 1).map((r) => r.report.modelSha256));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
