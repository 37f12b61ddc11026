// The experiment's generated table (experiments/): well-formed (every column, one cell per
// column on every row), its percentages consistent with the values they compare, the issue's
// figures judged from the same numbers; and a tiny real run through the whole pipeline (train,
// write results.md, plots and raw reports) where Fashion-MNIST is installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FASHION_MNIST_DIR, IDX_FILES } from "../src/data/index.js";
import { COLUMNS, buildRows, issueChecks, meetingFigures, parseTable, resultsTable, onePointCheaper, type RunResult } from "../experiments/results-table.js";
import { renderResults, runSet, writeResults, type ExperimentConfig } from "../experiments/compare.js";
import { validateReport } from "../src/report/schema.js";
import { filesIn, skipUnless } from "./helpers/system-tool.js";

/** A synthetic run: only the fields the table reads are meaningful. */
function fake(label: string, kind: RunResult["kind"], acc: number, joules: number, peakBytes: number, bits: number, extra: Partial<RunResult> = {}): RunResult {
  const energy = {
    model: "test", arithmetic: kind === "fp32" ? "float" : "integer", rounding: "nearest", levels: { main: "1MB", local: "8KB" },
    steps: 10, totalJoules: joules, computeJoules: joules / 4, memoryJoules: (3 * joules) / 4, perStepJoules: joules / 10,
    fp32Joules: kind === "fp32" ? joules : joules * 5,
    opCounts: { macs: { [kind === "fp32" ? "32x32" : "8x8"]: 1000 }, intMuls: {}, intAdds: {}, fpMuls: 0, fpAdds: 0, randomDraws: 0 },
    bytes: { localRead: 10, localWrite: 10, mainRead: 100, mainWrite: 20 }, byWhat: { "fc forward": joules },
  } as const;
  return {
    label, kind, scaling: "exact", peakBytes, wallSeconds: 1, ...extra,
    report: {
      version: 1, model: "lenet5", dataset: "fashion-mnist", policy: label, config: {}, isa: "simd", accuracy: acc,
      loss: [{ step: 10, epoch: 0, loss: 0.5, accuracy: acc }], evaluations: [{ step: 10, epoch: 0, accuracy: acc, loss: 0.5 }],
      steps: 10, layers: [{ name: "fc", kind: "dense", parameters: 100, outputShape: [1, 10] }], bitsHistory: [],
      bitsTimeline: [{ step: 0, bits: { fc: bits } }], finalBits: { fc: bits }, averageWeightBits: bits, modelSha256: "0".repeat(64),
      timings: { totalSeconds: 1, trainSeconds: 0.5, evalSeconds: 0.1, msPerStep: 50 }, energy: { ...energy, opCounts: { ...energy.opCounts } },
    } as RunResult["report"],
  };
}

const RUNS: RunResult[] = [
  fake("fp32", "fp32", 0.90, 1.0, 4_000_000, 32),
  fake("qat8", "qat8", 0.895, 0.4, 1_000_000, 8),
  fake("fixed:8", "fixed", 0.893, 0.3, 600_000, 8),
  fake("apt tMin=0.05 stochastic", "apt", 0.892, 0.25, 640_000, 7.5, { tMin: 0.05, rounding: "stochastic", isDefaultApt: true }),
  fake("apt tMin=0.01 stochastic", "apt", 0.882, 0.18, 600_000, 5.5, { tMin: 0.01, rounding: "stochastic" }),
];

const num = (cell: string) => Number(cell.replace(/[^\d.+−-]/g, "").replace("−", "-"));

test("the table has every column, one cell per column on each row, one row per run", () => {
  const md = resultsTable(buildRows(RUNS));
  const cells = parseTable(md);
  assert.deepEqual(cells[0], [...COLUMNS]);
  assert.match(md.split("\n")[1], /^\|:---(\|---:){12}\|$/);
  const body = cells.slice(2);
  assert.equal(body.length, RUNS.length);
  for (const row of body) assert.equal(row.length, COLUMNS.length, row.join(" | "));
  assert.deepEqual(body.map((r) => r[0]), RUNS.map((r) => r.label));
});

test("percentages are savings against the fp32 and qat8 rows, consistent with the value columns", () => {
  const body = parseTable(resultsTable(buildRows(RUNS))).slice(2);
  const rows = buildRows(RUNS);
  const fp = rows[0], q8 = rows[1];
  // [value column, vs fp32 column, vs qat8 column, value of the row]
  const groups = [[4, 5, 6, "energyJoules"], [7, 8, 9, "peakBytes"], [10, 11, 12, "averageWeightBits"]] as const;
  body.forEach((cells, i) => {
    const r = rows[i];
    for (const [, vsFp, vsQ, key] of groups) {
      assert.ok(Math.abs(num(cells[vsFp]) - 100 * (1 - r[key] / fp[key])) < 0.051, `${r.label} ${key} vs fp32: ${cells[vsFp]}`);
      assert.ok(Math.abs(num(cells[vsQ]) - 100 * (1 - r[key] / q8[key])) < 0.051, `${r.label} ${key} vs qat8: ${cells[vsQ]}`);
    }
    assert.ok(Math.abs(num(cells[1]) - 100 * r.accuracy) < 0.0051);
    assert.ok(Math.abs(num(cells[2]) - 100 * (r.accuracy - fp.accuracy)) < 0.0051, `${r.label} Δ acc: ${cells[2]}`);
  });
  // The baselines against themselves.
  assert.deepEqual([body[0][5], body[0][8], body[0][11], body[0][2]], ["0.0 %", "0.0 %", "0.0 %", "+0.00 pt"]);
  assert.deepEqual([body[1][6], body[1][9], body[1][12], body[1][3]], ["0.0 %", "0.0 %", "0.0 %", "+0.00 pt"]);
  // A run more expensive than the baseline shows a negative saving.
  assert.equal(body[0][6], "-150.0 %");
});

test("without a qat8 run its columns say so instead of inventing numbers", () => {
  const body = parseTable(resultsTable(buildRows(RUNS.filter((r) => r.kind !== "qat8")))).slice(2);
  for (const row of body) for (const c of [3, 6, 9, 12]) assert.equal(row[c], "—");
});

test("the issue's figures are judged from the same numbers", () => {
  const checks = issueChecks(RUNS);
  assert.equal(checks.length, 5);
  const [energy, memory, accuracy, bits, further] = checks;
  // 75 % vs the fp32 run, 80 % vs the same run priced as fp32: the lower one decides.
  assert.match(energy.measured, /75\.0 % vs the fp32 run; 80\.0 %/);
  assert.equal(energy.met, true);
  assert.equal(memory.met, true);
  assert.match(memory.measured, /84\.0 %/);
  assert.equal(accuracy.met, true);
  assert.match(accuracy.measured, /0\.80 points lower/);
  assert.equal(bits.met, true);
  assert.equal(onePointCheaper(RUNS, RUNS[3])?.label, "apt tMin=0.01 stochastic");
  assert.match(further.measured, /1\.00 points below the default, 28\.0 % less energy/);
  assert.equal(further.met, true);
  // Missing the cheaper variant: not measured, not failed.
  assert.equal(issueChecks(RUNS.slice(0, 4))[4].met, null);
  // A cheaper variant outside the accuracy window that saves little: the claim fails anyway.
  const near = [...RUNS.slice(0, 4), fake("apt tMin=0.01 stochastic", "apt", 0.891, 0.24, 640_000, 6, { tMin: 0.01, rounding: "stochastic" })];
  const f = issueChecks(near)[4];
  assert.equal(f.met, false);
  assert.match(f.measured, /no run landed 0\.25\.\.2 points below the default; the cheapest, apt tMin=0\.01 stochastic: 0\.10 points below the default, 4\.0 % less energy/);
  // Only the default meets all four first figures (tMin 0.01 loses 1.8 points).
  assert.deepEqual(meetingFigures(RUNS).map((r) => r.label), ["apt tMin=0.05 stochastic"]);
  // An APT run worse than the bars fails them.
  const bad = RUNS.map((r) => (r.isDefaultApt ? fake(r.label, "apt", 0.85, 0.5, 2_000_000, 11, { isDefaultApt: true, rounding: "stochastic" }) : r));
  assert.deepEqual(issueChecks(bad).slice(0, 4).map((c) => c.met), [false, false, false, false]);
});

test("results.md is generated from the runs: setup, table, figures, plots", () => {
  const c: ExperimentConfig = { mode: "quick", dataset: "fashion-mnist", trainSamples: 6000, testSamples: 2000, epochs: 1, batch: 32, lr: 0.05, schedule: "cosine", seed: 1, runs: RUNS.map((r) => r.label) };
  const md = renderResults(RUNS, c, { wallSeconds: 60, jobs: 2, plots: { energy: "e.svg", memory: "m.svg", bits: "b.svg" }, reports: ["results/fp32.json"] });
  assert.ok(md.includes(resultsTable(buildRows(RUNS))));
  for (const s of ["## Setup", "## Table", "## The issue's figures, measured", "## Energy details", "![Test accuracy vs training energy](e.svg)", "quick"]) {
    assert.ok(md.includes(s), s);
  }
  assert.doesNotMatch(md, /NaN|undefined/);
});

const skip = skipUnless({
  what: `Fashion-MNIST in ${FASHION_MNIST_DIR}`,
  present: filesIn(FASHION_MNIST_DIR, Object.values(IDX_FILES)),
  install: "apt-get install dataset-fashion-mnist",
});

test("a tiny real run through the whole pipeline writes a well-formed results.md", { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-experiment-"));
  try {
    const c: ExperimentConfig = {
      mode: "custom", dataset: "fashion-mnist", trainSamples: 96, testSamples: 32, epochs: 1, batch: 32, lr: 0.05, schedule: "cosine", seed: 1,
      runs: ["fp32", "qat8", "fixed:8", "apt tMin=0.05 stochastic"],
    };
    const runs = await runSet(c, { jobs: 1, reportsDir: join(dir, "results"), resume: false, log: () => {} });
    for (const r of runs) assert.deepEqual(validateReport(r.report), [], r.label);
    assert.ok(runs[3].isDefaultApt);
    const file = await writeResults(runs, c, { outDir: dir, reportsDir: join(dir, "results"), wallSeconds: 1, jobs: 1 });
    const md = await readFile(file, "utf8");
    const table = parseTable(md.slice(md.indexOf("## Table"), md.indexOf("## The issue")));
    assert.equal(table.length, 2 + runs.length);
    for (const row of table) assert.equal(row.length, COLUMNS.length);
    const files = await readdir(dir);
    for (const f of ["results-accuracy-energy.svg", "results-accuracy-memory.svg", "results-apt-bits.svg"]) {
      assert.ok(files.includes(f), f);
      assert.match(await readFile(join(dir, f), "utf8"), /^<svg [^>]*>[\s\S]*<\/svg>$/);
    }
    assert.equal((await readdir(join(dir, "results"))).filter((f) => f.endsWith(".json")).length, runs.length);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
