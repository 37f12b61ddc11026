// `npm run reproduce` (experiments/, outside the package): lenet5 on Fashion-MNIST under every policy with the
// same seed and schedule, then docs/results.md (the table, generated), its SVG plots, and the raw
// reports. `--quick` is the CI-sized version (a 6,000-sample subset, one epoch, fewer policies;
// written under .tmp/ so it never overwrites the real results).
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadDataset, subset, type Split } from "../src/data/index.js";
import { lenet5 } from "../src/nn/model.js";
import type { Scaling } from "../src/engine/engine.js";
import { learnerFactory } from "../src/baselines/factory.js";
import { APT_DEFAULTS, apt, fixed, fp32, qat8, type PolicySpec } from "../src/train/policy.js";
import { train, type LrSchedule } from "../src/train/trainer.js";
import { DEFAULT_TABLE, reprice, type EnergyReport, type MemoryPoint } from "../src/energy/energy.js";
import { validateReport } from "../src/report/schema.js";
import type { TrainReport } from "../src/learner/run-report.js";
import { accuracyVsEnergy, accuracyVsMemory, bitsOverTime } from "./plots.js";
import {
  betterThanDefault, buildRows, checksTable, formatBytes, formatJoules, issueChecks, meetingFigures, resultsTable, saving, type RunResult,
} from "./results-table.js";

export interface Spec {
  label: string;
  kind: RunResult["kind"];
  policy: PolicySpec;
  scaling: Scaling;
}

export interface ExperimentConfig {
  mode: "quick" | "medium" | "full" | "custom";
  dataset: string;
  trainSamples: number;
  testSamples: number;
  epochs: number;
  batch: number;
  lr: number;
  schedule: LrSchedule;
  seed: number;
  /** Labels of the runs, in table order. */
  runs: string[];
}

function aptSpec(tMin: number, rounding: "stochastic" | "nearest", scaling: Scaling = "exact", tieActivations = true): Spec {
  const label = `apt tMin=${tMin} ${rounding}${scaling === "delayed" ? ", delayed scaling" : ""}${tieActivations ? "" : ", fixed activations"}`;
  return { label, kind: "apt", policy: apt({ tMin, rounding, tieActivations }), scaling };
}

/** Every run the experiment knows, in table order. */
export function allSpecs(): Spec[] {
  const out: Spec[] = [
    { label: "fp32", kind: "fp32", policy: fp32(), scaling: "exact" },
    { label: "qat8", kind: "qat8", policy: qat8(), scaling: "exact" },
    { label: "fixed:8", kind: "fixed", policy: fixed(8), scaling: "exact" },
    { label: "fixed:16", kind: "fixed", policy: fixed(16), scaling: "exact" },
  ];
  // The knob's cheap end only with stochastic rounding: round-to-nearest is already far behind there.
  for (const rounding of ["stochastic", "nearest"] as const) {
    for (const tMin of rounding === "stochastic" ? [0.005, 0.01, 0.02, 0.05, 0.1] : [0.01, 0.02, 0.05, 0.1]) out.push(aptSpec(tMin, rounding));
  }
  out.push(aptSpec(APT_DEFAULTS.tMin, APT_DEFAULTS.rounding, "delayed"));
  // The ablation of "same precision forward and backward": weights adapt, tensors stay at 8 bits.
  out.push(aptSpec(APT_DEFAULTS.tMin, APT_DEFAULTS.rounding, "exact", false));
  return out;
}

const DEFAULT_LABEL = aptSpec(APT_DEFAULTS.tMin, APT_DEFAULTS.rounding).label;

export const PRESETS: Record<"quick" | "medium" | "full", Omit<ExperimentConfig, "mode">> = {
  quick: {
    dataset: "fashion-mnist", trainSamples: 6000, testSamples: 2000, epochs: 1, batch: 32, lr: 0.05, schedule: "cosine", seed: 1,
    runs: ["fp32", "qat8", "fixed:8", DEFAULT_LABEL, aptSpec(0.01, "stochastic").label],
  },
  medium: {
    dataset: "fashion-mnist", trainSamples: 60000, testSamples: 10000, epochs: 2, batch: 32, lr: 0.05, schedule: "cosine", seed: 1,
    runs: allSpecs().map((s) => s.label),
  },
  full: {
    dataset: "fashion-mnist", trainSamples: 60000, testSamples: 10000, epochs: 5, batch: 32, lr: 0.05, schedule: "cosine", seed: 1,
    runs: allSpecs().map((s) => s.label),
  },
};

function specByLabel(label: string): Spec {
  const s = allSpecs().find((x) => x.label === label);
  if (!s) throw new RangeError(`unknown run ${JSON.stringify(label)} (known: ${allSpecs().map((x) => x.label).join("; ")})`);
  return s;
}

const slug = (label: string) => label.replace(/[^a-z0-9.]+/gi, "-").replace(/^-|-$/g, "").toLowerCase();

async function loadData(c: ExperimentConfig): Promise<Split> {
  const data = await loadDataset(c.dataset);
  const take = (ds: Split["train"], n: number) => (n >= ds.count ? ds : subset(ds, Array.from({ length: n }, (_, i) => i), ds.name));
  return { train: take(data.train, c.trainSamples), test: take(data.test, c.testSamples) };
}

/** At most `max` points of a curve, evenly spaced, the last kept. */
function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const every = Math.ceil(points.length / max);
  return points.filter((_, i) => i % every === every - 1 || i === points.length - 1);
}

/** The report with its long lists shortened for docs/results/: the loss curve thinned to 200
 *  points and only the decisions that changed a width kept (the chain of widths stays intact). */
export function stripReport(r: TrainReport & { energy: EnergyReport }): TrainReport & { energy: EnergyReport } {
  return { ...r, loss: thin(r.loss, 200), bitsHistory: r.bitsHistory.filter((d) => d.newBits !== d.oldBits) };
}

/** Trains one run of the experiment. */
export async function runOne(spec: Spec, c: ExperimentConfig, data?: Split): Promise<RunResult> {
  const started = performance.now();
  const split = data ?? await loadData(c);
  // A pending WebAssembly compile does not keep Node's event loop alive (nodejs/node#36616). When
  // the loop empties during one (the trainer instantiates the fp32 build for its memory baseline
  // at the end of a run), Node drains platform tasks at shutdown and can deadlock there
  // (nodejs/node#54918): seen twice here as a worker stuck at 0 % CPU in NodePlatform::DrainTasks.
  // A timer keeps the loop alive until training returns.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let trained;
  try {
    trained = await train({
      model: lenet5(), data: split, policy: spec.policy, epochs: c.epochs, batch: c.batch, lr: c.lr, schedule: c.schedule,
      seed: c.seed, scaling: spec.scaling, learnerFactory, logEvery: 10,
    });
  } finally {
    clearInterval(keepAlive);
  }
  const { report, learner } = trained;
  if (!report.energy) throw new Error(`${spec.label}: the trainer gave no energy account`);
  const planOf = learner as unknown as { plan?: { peakBytes: number } };
  const peakBytes = report.memory?.plannedPeakBytes ?? planOf.plan?.peakBytes;
  if (peakBytes === undefined) throw new Error(`${spec.label}: no memory plan to read the peak from`);
  const p = spec.policy;
  return {
    label: spec.label,
    kind: spec.kind,
    ...(p.kind === "apt" ? { tMin: p.tMin, rounding: p.rounding } : {}),
    scaling: spec.scaling,
    isDefaultApt: spec.label === DEFAULT_LABEL,
    peakBytes,
    wallSeconds: (performance.now() - started) / 1000,
    report: stripReport(report as TrainReport & { energy: EnergyReport }),
  };
}

// ---- running the set --------------------------------------------------------------------------

function runInChild(spec: Spec, c: ExperimentConfig, outFile: string, log: (s: string) => void): Promise<RunResult> {
  const script = fileURLToPath(import.meta.url);
  const execArgv = process.execArgv.filter((a) => !a.startsWith("--test"));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, script, "--worker", spec.label, "--worker-config", JSON.stringify(c), "--worker-out", outFile],
      { stdio: ["ignore", "inherit", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => { err += String(d); });
    child.on("error", reject);
    child.on("exit", async (code) => {
      if (code !== 0) {
        reject(new Error(`${spec.label}: worker exited with ${code}\n${err.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(await readFile(outFile, "utf8")) as RunResult);
      } catch (e) {
        reject(e);
      }
      log(`(${spec.label}: ${err.trim().split("\n").filter(Boolean).length} stderr lines)`);
    });
  });
}

function sameConfig(a: ExperimentConfig, b: ExperimentConfig): boolean {
  const k = (c: ExperimentConfig) => JSON.stringify([c.dataset, c.trainSamples, c.testSamples, c.epochs, c.batch, c.lr, c.schedule, c.seed]);
  return k(a) === k(b);
}

export interface RunSetOptions {
  jobs: number;
  /** Where each run's JSON goes (also the resume cache). */
  reportsDir: string;
  resume: boolean;
  log?: (line: string) => void;
}

/** Trains every run of `c` (up to `jobs` at once, each in its own process when jobs > 1) and
 *  returns the results in table order. */
export async function runSet(c: ExperimentConfig, o: RunSetOptions): Promise<RunResult[]> {
  const log = o.log ?? ((s: string) => console.log(s));
  await mkdir(o.reportsDir, { recursive: true });
  const specs = c.runs.map(specByLabel);
  const results = new Map<string, RunResult>();
  const file = (s: Spec) => join(o.reportsDir, `${slug(s.label)}.json`);
  const todo: Spec[] = [];
  for (const s of specs) {
    if (o.resume) {
      try {
        const saved = JSON.parse(await readFile(file(s), "utf8")) as RunResult & { config?: ExperimentConfig };
        if (saved.config && sameConfig(saved.config, c)) {
          results.set(s.label, saved);
          log(`reusing ${file(s)}`);
          continue;
        }
      } catch { /* not there: run it */ }
    }
    todo.push(s);
  }
  const data = o.jobs <= 1 && todo.length > 0 ? await loadData(c) : undefined;
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const s = todo[next++];
      const t0 = performance.now();
      log(`start ${s.label}`);
      const r = o.jobs <= 1 ? await runOne(s, c, data) : await runInChild(s, c, `${file(s)}.part`, log);
      await writeFile(file(s), JSON.stringify({ ...r, config: c }, null, 1));
      if (o.jobs > 1) await rm(`${file(s)}.part`, { force: true });
      results.set(s.label, r);
      log(`done  ${s.label}: accuracy ${(100 * r.report.accuracy).toFixed(2)} %, ${formatJoules(r.report.energy.totalJoules)}, ` +
        `${formatBytes(r.peakBytes)}, ${r.report.averageWeightBits.toFixed(2)} bits, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs, todo.length)) }, worker));
  return specs.map((s) => results.get(s.label)!);
}

// ---- docs/results.md --------------------------------------------------------------------------

export interface RenderInfo {
  /** Wall-clock seconds of the whole experiment (runs may overlap), when it was measured. */
  wallSeconds: number | null;
  jobs: number;
  /** Plot files, relative to the markdown file. */
  plots: { energy: string; energyZoom?: string | null; memory: string; bits: string | null };
  /** Raw report files, relative to the markdown file. */
  reports: string[];
  note?: string;
  date?: string;
}

const MODE_TEXT: Record<ExperimentConfig["mode"], string> = {
  quick: "the **quick** configuration (`--quick`: a subset, one epoch, fewer policies; the CI smoke test of this pipeline). Its accuracies are far from converged and say little about the policies",
  medium: `the **medium** configuration (\`--medium\`: the whole data set, ${PRESETS.medium.epochs} epochs instead of the full configuration's ${PRESETS.full.epochs})`,
  full: `the **full** configuration (the whole data set, ${PRESETS.full.epochs} epochs, every policy)`,
  custom: "a **custom** configuration (flags given on the command line)",
};

function energyDetails(runs: readonly RunResult[]): string {
  const lines = ["| run | per step | compute | memory | same run priced as fp32 | saving vs that | MACs per step | ms per step (this machine) |",
    "|:---|---:|---:|---:|---:|---:|---:|---:|"];
  for (const r of runs) {
    const e = r.report.energy;
    const macs = Object.values(e.opCounts.macs).reduce((s, n) => s + n, 0);
    lines.push(`| ${r.label} | ${formatJoules(e.perStepJoules)} | ${(100 * e.computeJoules / e.totalJoules).toFixed(1)} % | ` +
      `${(100 * e.memoryJoules / e.totalJoules).toFixed(1)} % | ${formatJoules(e.fp32Joules)} | ${saving(e.totalJoules, e.fp32Joules)!.toFixed(1)} % | ` +
      `${(macs / Math.max(e.steps, 1) / 1e6).toFixed(1)} M | ${r.report.timings.msPerStep.toFixed(1)} |`);
  }
  return lines.join("\n");
}

function whereItGoes(run: RunResult, top = 10): string {
  const e = run.report.energy;
  const sites = Object.entries(e.byWhat).sort((a, b) => b[1] - a[1]);
  const lines = ["| kernel call site | energy | share |", "|:---|---:|---:|"];
  for (const [what, j] of sites.slice(0, top)) lines.push(`| ${what} | ${formatJoules(j)} | ${(100 * j / e.totalJoules).toFixed(1)} % |`);
  const rest = sites.slice(top).reduce((s, [, j]) => s + j, 0);
  if (rest > 0) lines.push(`| (${sites.length - top} others) | ${formatJoules(rest)} | ${(100 * rest / e.totalJoules).toFixed(1)} % |`);
  return lines.join("\n");
}

function sensitivity(runs: readonly RunResult[]): string {
  const fp = runs.find((r) => r.kind === "fp32");
  const q8 = runs.find((r) => r.kind === "qat8");
  const points: MemoryPoint[] = ["32KB", "1MB", "dram-low", "dram-high"];
  const lines = [`| run | ${points.map((p) => `main memory at ${p}${p === DEFAULT_TABLE.main ? " (default)" : ""}`).join(" | ")} |`,
    `|:---|${points.map(() => "---:").join("|")}|`];
  for (const r of runs.filter((x) => x.kind !== "fp32")) {
    const cells = points.map((main) => {
      const t = { ...DEFAULT_TABLE, main };
      const mine = reprice(r.report.energy, t).totalJoules;
      const vsFp = fp ? `${saving(mine, reprice(fp.report.energy, t).totalJoules)!.toFixed(1)} %` : "—";
      const vsQ = q8 && r !== q8 ? ` / ${saving(mine, reprice(q8.report.energy, t).totalJoules)!.toFixed(1)} %` : "";
      return vsFp + vsQ;
    });
    lines.push(`| ${r.label} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Facts the table shows, spelled out; each sentence is computed, and appears only when its runs are there. */
export function observations(runs: readonly RunResult[]): string[] {
  const out: string[] = [];
  const d = runs.find((r) => r.isDefaultApt);
  const fixed8 = runs.find((r) => r.label === "fixed:8");
  const tiedRun = (r: RunResult) => r.report.policy.indexOf("untied activations") < 0;
  const sweep = runs.filter((r) => r.kind === "apt" && r.scaling === "exact" && tiedRun(r));
  const pct = (a: number, b: number) => `${Math.abs(saving(a, b)!).toFixed(1)} % ${a <= b ? "less" : "more"}`;
  if (sweep.length > 1) {
    const es = sweep.map((r) => r.report.energy.totalJoules);
    const lo = Math.min(...es), hi = Math.max(...es);
    const bits = sweep.map((r) => r.report.averageWeightBits);
    out.push(`Across the APT runs (tMin and rounding varied), the average weight width spans ${Math.min(...bits).toFixed(2)}–${Math.max(...bits).toFixed(2)} bits. ` +
      `Training energy moves ${(100 * (hi - lo) / lo).toFixed(1)} % between the cheapest and the dearest.`);
    const peaks = new Set(sweep.map((r) => r.peakBytes));
    if (peaks.size === 1) {
      out.push(`Every APT run has the same peak memory (${formatBytes(sweep[0].peakBytes)}). The plan reserves every layer's weights at the widest width APT may choose (bMax), ` +
        `and activations and errors at 8 bits, whatever tMin does, so tMin trades accuracy for energy here but never for memory.`);
    }
  }
  if (d && fixed8) {
    out.push(`The default APT run costs ${pct(d.report.energy.totalJoules, fixed8.report.energy.totalJoules)} training energy than fixed:8 ` +
      `and needs ${pct(d.peakBytes, fixed8.peakBytes)} peak memory. Its test accuracy is ${Math.abs(100 * (d.report.accuracy - fixed8.report.accuracy)).toFixed(2)} points ` +
      `${d.report.accuracy >= fixed8.report.accuracy ? "higher" : "lower"}.`);
  }
  const pairs = sweep.filter((r) => r.rounding === "stochastic")
    .map((s) => [s, sweep.find((n) => n.rounding === "nearest" && n.tMin === s.tMin)] as const)
    .filter((p): p is readonly [RunResult, RunResult] => p[1] !== undefined);
  if (pairs.length > 0) {
    const gaps = pairs.map(([st, ne]) => 100 * (st.report.accuracy - ne.report.accuracy));
    out.push(`Stochastic rounding against round-to-nearest at the same tMin: ${pairs.map(([st], i) => `tMin ${st.tMin}: ${gaps[i] >= 0 ? "+" : ""}${gaps[i].toFixed(2)} points`).join(", ")}. ` +
      `Rounding to nearest lets small updates vanish (the underflow APT measures).`);
  }
  const untied = runs.find((r) => r.kind === "apt" && !tiedRun(r));
  if (untied && d) {
    out.push(`With activations and errors fixed at 8 bits (${untied.label}), the default APT run's weights adapt alone: it costs ` +
      `${pct(untied.report.energy.totalJoules, d.report.energy.totalJoules)} energy than the tied default, at ${(100 * untied.report.accuracy).toFixed(2)} % ` +
      `test accuracy against ${(100 * d.report.accuracy).toFixed(2)} %. Weights are a small part of lenet5's work at batch 32; activations and errors carry most of it.`);
  }
  const delayed = runs.find((r) => r.scaling === "delayed");
  if (delayed && d) {
    const collapsed = delayed.report.accuracy < 0.5 * d.report.accuracy;
    out.push(`Delayed scaling (${delayed.label}) skips the max-abs pass. It costs ${pct(delayed.report.energy.totalJoules, d.report.energy.totalJoules)} energy than exact scaling, ` +
      `at ${(100 * delayed.report.accuracy).toFixed(2)} % test accuracy against ${(100 * d.report.accuracy).toFixed(2)} %` +
      (collapsed ? `. Training did not work with it. The cause was not investigated here, so the saving is not available with delayed scaling as it stands.` : "."));
  }
  if (d) {
    const log = d.report.bitsHistory;
    const up = log.filter((x) => x.newBits > x.oldBits).length, down = log.filter((x) => x.newBits < x.oldBits).length;
    const finals = Object.values(d.report.finalBits);
    const atMax = finals.filter((b) => b === APT_DEFAULTS.bMax).length;
    out.push(`In the default APT run the controller raised widths ${up} time${up === 1 ? "" : "s"} and lowered them ${down} time${down === 1 ? "" : "s"}; ` +
      `${atMax} of ${finals.length} layers ended at bMax (${APT_DEFAULTS.bMax}). G = mean(|lr·g|)/step carries the learning rate, so as the ` +
      `${runs[0]?.report.config.schedule ?? "decaying"} schedule lowers lr, G falls below tMin and widths rise, whether or not learning has slowed.`);
    const sites = Object.entries(d.report.energy.byWhat).sort((a, b) => b[1] - a[1]);
    const [what, j] = sites[0];
    out.push(`The largest single cost of the default APT run is \`${what}\`, at ${(100 * j / d.report.energy.totalJoules).toFixed(1)} % of its energy (see the site table below).`);
  }
  return out;
}

/** docs/results.md: everything in it comes from `runs` and `c`. */
export function renderResults(runs: readonly RunResult[], c: ExperimentConfig, info: RenderInfo): string {
  const rows = buildRows(runs);
  const apt = runs.find((r) => r.isDefaultApt);
  const fp = runs.find((r) => r.kind === "fp32");
  const out: string[] = [];
  const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;
  out.push(`# Results: APT against fp32, qat8 and fixed precision (lenet5, ${c.dataset})`, "");
  out.push(`<!-- Generated by experiments/compare.ts (npm run reproduce${c.mode === "full" ? "" : ` -- --${c.mode}`}). Do not edit: rerun it. -->`, "");
  out.push(`This page is generated by \`experiments/compare.ts\`. Every number below comes from the runs it made${info.date ? ` (${info.date})` : ""}. ` +
    `It shows ${MODE_TEXT[c.mode]}.`, "");
  if (info.note) out.push(`> ${info.note.split("\n").join("\n> ")}`, "");
  out.push("## Setup", "");
  out.push(`- Model: lenet5 (${runs[0]?.report.layers.reduce((s, l) => s + l.parameters, 0).toLocaleString("en-US") ?? "?"} parameters). ` +
    `Data: ${c.dataset}, the first ${c.trainSamples.toLocaleString("en-US")} training and ${c.testSamples.toLocaleString("en-US")} test samples. ` +
    `${c.epochs} epoch${c.epochs === 1 ? "" : "s"}, batch ${c.batch}, lr ${c.lr} (${c.schedule}), seed ${c.seed}. Every run uses the same data order and schedule.`);
  const exceptions = [
    ...(runs.some((r) => r.scaling === "delayed") ? ["one with delayed scaling"] : []),
    ...(runs.some((r) => r.report.policy.includes("untied activations")) ? ["one with activations fixed at 8 bits"] : []),
  ];
  out.push(`- Integer runs plan 8-bit activations and errors. fixed:N and qat8 run every activation and error at 8 bits; APT, by default, ties each ` +
    `layer's activations and the errors flowing back into them to its weight width, capped at 8 bits ([apt.md](apt.md)). APT defaults (src/train/policy.ts \`APT_DEFAULTS\`): ` +
    `tMin ${APT_DEFAULTS.tMin}, tMax ${APT_DEFAULTS.tMax}, bits ${APT_DEFAULTS.bMin}..${APT_DEFAULTS.bMax}, initial ${APT_DEFAULTS.initialBits}, ` +
    `interval ${APT_DEFAULTS.interval}, ${APT_DEFAULTS.rounding} rounding, tied activations. The APT runs vary only tMin and the rounding` +
    (exceptions.length > 0 ? `, except ${exceptions.join(" and ")}.` : ".") +
    (runs.some((r) => r.scaling === "delayed") ? " Every other run uses exact scaling." : " Every run uses exact scaling."));
  out.push(`- **Training energy** counts the operations and memory traffic of the training steps, including precision changes but not evaluation. ` +
    `It prices them with Horowitz's 45 nm table: main memory at the ${DEFAULT_TABLE.main} SRAM point, local buffer at the ${DEFAULT_TABLE.local} point. ` +
    `See [energy.md](energy.md). It is counted, not measured.`);
  out.push(`- **Peak memory** is the planned peak of the run's one linear memory. For integer runs this is \`report.memory.plannedPeakBytes\`, which equals the measured peak. ` +
    `For fp32 it is the fp32 trainer's own plan. See [budget.md](budget.md).`);
  out.push(`- **Avg weight bits** is the parameter-weighted final weight width. qat8's 8 bits are its compute copy; it also keeps an fp32 master copy, which its memory column includes.`);
  out.push(`- "vs fp32" and "vs qat8" give percent less than that run (negative means more). "Δ acc" gives test-accuracy percentage points.`);
  const sum = runs.reduce((s, r) => s + r.wallSeconds, 0);
  out.push(`- Wall time on this machine (2 cores, shared): ${info.wallSeconds === null ? "" : `${minutes(info.wallSeconds)} for the whole set with ${info.jobs} job${info.jobs === 1 ? "" : "s"} at once; `}` +
    `${minutes(sum)} summed over the runs. Per run: ${runs.map((r) => `${r.label} ${minutes(r.wallSeconds)}`).join(", ")}.`, "");
  out.push("## Table", "", resultsTable(rows), "");
  out.push("## The issue's figures, measured", "");
  out.push(checksTable(issueChecks(runs)), "");
  const meeting = meetingFigures(runs);
  out.push(meeting.length === 0
    ? "No APT run meets the first four figures (energy, memory, accuracy, width) together."
    : `APT runs that meet the first four figures (energy, memory, accuracy, width) together: ${meeting.map((r) =>
      `${r.label} (${(100 * r.report.accuracy).toFixed(2)} %, ${r.report.averageWeightBits.toFixed(2)} bits)`).join("; ")}.`, "");
  const better = betterThanDefault(runs);
  if (apt) {
    if (better.length === 0) {
      out.push(`No APT variant measured here beat the default (${apt.label}) on both accuracy and energy.`, "");
    } else {
      out.push(`APT variants that beat the default (${apt.label}) on both accuracy and energy: ` +
        better.map((b) => `${b.run.label} (${b.accuracyPoints >= 0 ? "+" : ""}${b.accuracyPoints.toFixed(2)} points, ${b.energySaving.toFixed(1)} % less energy)`).join("; ") +
        ". The defaults are left unchanged here. A difference of a few tenths of a point is within run-to-run noise of one seed." +
        (better.some((b) => b.run.scaling !== apt.scaling)
          ? ` Scaling is a trainer option (\`scaling: "delayed"\`, \`--scaling delayed\`), not part of APT_DEFAULTS; its default is "${apt.scaling}".`
          : ""), "");
    }
  }
  const obs = observations(runs);
  if (obs.length > 0) out.push("## Observations", "", ...obs.map((o) => `- ${o}`), "");
  out.push("## Energy details", "", energyDetails(runs), "");
  out.push(`"Same run priced as fp32" prices this run's own recorded operations as fp32: every MAC is an fp32 multiply and add, and every tensor element is 32 bits. ` +
    `It differs from the fp32 run's energy. The fp32 trainer uses explicit im2col and col2im buffers and computes a conv layer's input error with fewer MACs. ` +
    `The integer engine does exact scaling, a max-abs pass before each requantized product. See [energy.md](energy.md).`, "");
  if (apt) {
    out.push(`### Where the default APT run's energy goes`, "", whereItGoes(apt), "");
  }
  if (fp) {
    out.push(`### Where the fp32 run's energy goes`, "", whereItGoes(fp), "");
  }
  out.push("### Sensitivity to the memory level", "");
  out.push("These are the savings against fp32 (and against qat8, after the slash) when main-memory accesses are priced at another of Horowitz's points. They use the same counts.", "");
  out.push(sensitivity(runs), "");
  out.push("## Plots", "");
  out.push(`![Test accuracy vs training energy](${info.plots.energy})`, "");
  if (info.plots.energyZoom) {
    out.push(`![Test accuracy vs training energy, integer runs](${info.plots.energyZoom})`, "");
    out.push(`The second plot shows the integer runs alone, leaving out fp32 and any run below half of fp32's accuracy, so that their differences are visible.`, "");
  }
  out.push(`![Test accuracy vs peak training memory](${info.plots.memory})`, "");
  if (info.plots.bits) out.push(`![Weight bits per layer over training, default APT](${info.plots.bits})`, "");
  out.push("## Raw reports", "");
  out.push(`Each run's report.json is kept with its loss curve thinned to 200 points and only the width-changing decisions. ` +
    `The RunResult wrapper adds the peak memory and wall time: ${info.reports.map((f) => `[${f.split("/").pop()}](${f})`).join(", ")}.`, "");
  return out.join("\n");
}

/** Writes results.md, the plots and the index of raw reports into `outDir`. */
export async function writeResults(runs: readonly RunResult[], c: ExperimentConfig, o: {
  outDir: string; reportsDir: string; wallSeconds: number | null; jobs: number; note?: string;
}): Promise<string> {
  await mkdir(o.outDir, { recursive: true });
  const plots = { energy: "results-accuracy-energy.svg", energyZoom: null as string | null, memory: "results-accuracy-memory.svg", bits: null as string | null };
  await writeFile(join(o.outDir, plots.energy), accuracyVsEnergy(runs));
  const fp = runs.find((r) => r.kind === "fp32");
  const integer = runs.filter((r) => r.kind !== "fp32" && (!fp || r.report.accuracy >= 0.5 * fp.report.accuracy));
  if (integer.length > 1) {
    plots.energyZoom = "results-accuracy-energy-integer.svg";
    await writeFile(join(o.outDir, plots.energyZoom), accuracyVsEnergy(integer, "Test accuracy vs training energy: integer runs"));
  }
  await writeFile(join(o.outDir, plots.memory), accuracyVsMemory(runs));
  const apt = runs.find((r) => r.isDefaultApt);
  if (apt) {
    plots.bits = "results-apt-bits.svg";
    await writeFile(join(o.outDir, plots.bits), bitsOverTime(apt));
  }
  const reports = c.runs.map((l) => relative(o.outDir, join(o.reportsDir, `${slug(l)}.json`)).split("\\").join("/"));
  const md = renderResults(runs, c, { wallSeconds: o.wallSeconds, jobs: o.jobs, plots, reports, note: o.note, date: new Date().toISOString().slice(0, 10) });
  const file = join(o.outDir, "results.md");
  await writeFile(file, md);
  return file;
}

// ---- command line -----------------------------------------------------------------------------

export const USAGE = `usage: compare [--quick | --medium] [--epochs N] [--train N] [--test N] [--runs "label;label"]
               [--jobs N] [--out DIR] [--reports DIR] [--resume] [--note TEXT]
  (default: the full configuration into docs/; --quick writes into .tmp/results-quick/)`;

/** `defaultOut`: where the page goes without --out (run directly, as `npm run reproduce` does, the
 *  full configuration regenerates docs/ and --quick writes under .tmp/). */
export async function main(argv: string[], options: { defaultOut?: string } = {}): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: "boolean" }, medium: { type: "boolean" },
      epochs: { type: "string" }, train: { type: "string" }, test: { type: "string" }, runs: { type: "string" },
      jobs: { type: "string" }, out: { type: "string" }, reports: { type: "string" }, resume: { type: "boolean" }, note: { type: "string" },
      worker: { type: "string" }, "worker-config": { type: "string" }, "worker-out": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (v.worker !== undefined) {
    const c = JSON.parse(v["worker-config"]!) as ExperimentConfig;
    const r = await runOne(specByLabel(v.worker), c);
    await writeFile(v["worker-out"]!, JSON.stringify(r));
    return 0;
  }
  const mode = v.quick ? "quick" : v.medium ? "medium" : "full";
  const base = PRESETS[mode];
  const int = (flag: string, s: string | undefined, fallback: number): number => {
    if (s === undefined) return fallback;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${flag}: expected a positive integer, got ${JSON.stringify(s)}`);
    return n;
  };
  const c: ExperimentConfig = {
    ...base,
    mode,
    epochs: int("epochs", v.epochs, base.epochs),
    trainSamples: int("train", v.train, base.trainSamples),
    testSamples: int("test", v.test, base.testSamples),
    runs: v.runs ? v.runs.split(";").map((s) => s.trim()).filter(Boolean) : base.runs,
  };
  if (v.epochs !== undefined || v.train !== undefined || v.test !== undefined || v.runs !== undefined) c.mode = "custom";
  c.runs.forEach(specByLabel);
  const jobs = int("jobs", v.jobs, Math.max(1, Math.min(2, availableParallelism())));
  const outDir = v.out ?? options.defaultOut ?? (mode === "quick" ? ".tmp/results-quick" : "docs");
  const reportsDir = v.reports ?? join(outDir, "results");
  // Before any run: an output place that cannot be created is refused now, not after the runs.
  for (const [flag, dir] of [["--out", outDir], ["--reports", reportsDir]] as const) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new RangeError(`${flag}: ${dir}: cannot create the directory: ${(e as Error).message}`);
    }
  }
  const t0 = performance.now();
  console.log(`compare: ${c.mode}: ${c.runs.length} runs, ${c.trainSamples}/${c.testSamples} samples, ${c.epochs} epoch(s), ${jobs} job(s)`);
  let reused = 0;
  const runs = await runSet(c, { jobs, reportsDir, resume: v.resume ?? false, log: (s) => { if (s.startsWith("reusing")) reused++; console.log(s); } });
  for (const r of runs) {
    const problems = validateReport(r.report);
    if (problems.length > 0) throw new Error(`${r.label}: invalid report: ${problems.slice(0, 5).join("; ")}`);
  }
  // The set's wall time is known when this invocation ran every run; otherwise the one recorded
  // by the invocation that did (same configuration), if any.
  const setFile = join(reportsDir, "experiment.json");
  let wallSeconds: number | null = null;
  let setJobs = jobs;
  if (reused === 0) {
    wallSeconds = (performance.now() - t0) / 1000;
    await writeFile(setFile, JSON.stringify({ config: c, jobs, wallSeconds, finished: new Date().toISOString() }, null, 1));
  } else {
    try {
      const saved = JSON.parse(await readFile(setFile, "utf8")) as { config: ExperimentConfig; jobs: number; wallSeconds: number };
      if (sameConfig(saved.config, c) && saved.config.runs.join(";") === c.runs.join(";")) ({ wallSeconds, jobs: setJobs } = saved);
    } catch { /* unknown */ }
  }
  const file = await writeResults(runs, c, { outDir, reportsDir, wallSeconds, jobs: setJobs, note: v.note });
  console.log(`\n${resultsTable(buildRows(runs))}\n\nwrote ${file} (${((performance.now() - t0) / 60000).toFixed(1)} min)`);
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    // A command line it cannot use (an unknown flag, a bad number, an --out it cannot create)
    // says so in one line, exit 2; anything else is a failure with its stack.
    const code = (e as { code?: string }).code;
    if (code?.startsWith("ERR_PARSE_ARGS") || e instanceof RangeError) {
      console.error(`compare: ${(e as Error).message}\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    console.error(`compare: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  });
}
