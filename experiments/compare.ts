// `npm run reproduce` (experiments/, outside the package): lenet5 on Fashion-MNIST under every policy,
// each run once per seed with the same schedule, then docs/results.md (the table of means and
// spreads, generated), its SVG plots, the raw reports and docs/results/summary.json. `--quick` is
// the CI-sized version (a 6,000-sample subset, one epoch, one seed, fewer policies; written under
// .tmp/ so it never overwrites the real results).
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadDataset, subset, type Split } from "../src/data/index.js";
import { lenet5 } from "../src/nn/model.js";
import { learnerFactory } from "../src/baselines/factory.js";
import { APT_DEFAULTS, LEAN_SETTINGS, apt, fixed, fp32, qat8, type PolicySpec } from "../src/train/policy.js";
import { TRAIN_DEFAULTS } from "../src/train/defaults.js";
import { train, type LrSchedule } from "../src/train/trainer.js";
import { DEFAULT_TABLE, reprice, type EnergyReport, type MemoryPoint } from "../src/energy/energy.js";
import { validateReport } from "../src/report/schema.js";
import type { TrainReport } from "../src/learner/run-report.js";
import { accuracyVsEnergy, accuracyVsMemory, bitsOverTime } from "./plots.js";
import {
  buildRows, buildSummary, checksTable, figure1Choice, finalWidths, formatBytes, formatSummary, formatJoules, issueChecks, leanSettings, resultsTable, saving,
  summarize, validateSummary, widthMoves, type RunResult, type SpecSummary,
} from "./results-table.js";

export interface Spec {
  label: string;
  kind: RunResult["kind"];
  policy: PolicySpec;
  /** APT: the knob setting the policy was made with. */
  lean?: number;
  /** What an APT run changes beside the knob; absent for the knob's own settings. */
  variant?: string;
  /** Trains with this schedule instead of the configuration's. */
  schedule?: LrSchedule;
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
  /** Every spec runs once per seed. */
  seeds: number[];
  /** Labels of the specs, in table order. */
  runs: string[];
}

const leanLabel = (lean: number) => `apt lean ${lean}${lean === APT_DEFAULTS.lean ? " (default)" : ""}`;
const DEFAULT_LABEL = leanLabel(APT_DEFAULTS.lean);

/** Every spec the experiment knows, in table order. */
export function allSpecs(): Spec[] {
  const lean = APT_DEFAULTS.lean;
  return [
    { label: "fp32", kind: "fp32", policy: fp32() },
    { label: "qat8", kind: "qat8", policy: qat8() },
    { label: "fixed:8", kind: "fixed", policy: fixed(8) },
    ...LEAN_SETTINGS.map((_, setting): Spec => ({ label: leanLabel(setting), kind: "apt", policy: apt({ lean: setting }), lean: setting })),
    // Beside the default: a schedule that never decays, to show whether the schedule still decides
    // the widths (the controller factors it out of G) ...
    { label: `apt lean ${lean}, constant lr`, kind: "apt", policy: apt({ lean }), lean, variant: "constant lr", schedule: "constant" },
    // ... and outputs held at the planned slot, so only the weights adapt.
    { label: `apt lean ${lean}, outputs at the slot`, kind: "apt", policy: apt({ lean, tieActivations: false }), lean, variant: "outputs at the slot" },
  ];
}

export const PRESETS: Record<"quick" | "medium" | "full", Omit<ExperimentConfig, "mode">> = {
  quick: {
    dataset: "fashion-mnist", trainSamples: 6000, testSamples: 2000, epochs: 1, batch: 32, lr: 0.05, schedule: "cosine", seeds: [1],
    runs: ["fp32", "fixed:8", DEFAULT_LABEL, leanLabel(LEAN_SETTINGS.length - 1)],
  },
  medium: {
    dataset: "fashion-mnist", trainSamples: 60000, testSamples: 10000, epochs: 2, batch: 32, lr: 0.05, schedule: "cosine", seeds: [1, 2, 3],
    runs: allSpecs().map((s) => s.label),
  },
  full: {
    dataset: "fashion-mnist", trainSamples: 60000, testSamples: 10000, epochs: 5, batch: 32, lr: 0.05, schedule: "cosine", seeds: [1, 2, 3],
    runs: allSpecs().map((s) => s.label),
  },
};

function specByLabel(label: string): Spec {
  const s = allSpecs().find((x) => x.label === label);
  if (!s) throw new RangeError(`unknown run ${JSON.stringify(label)} (known: ${allSpecs().map((x) => x.label).join("; ")})`);
  return s;
}

const slug = (label: string) => label.replace(/[^a-z0-9.]+/gi, "-").replace(/^-|-$/g, "").toLowerCase();
const reportName = (label: string, seed: number) => `${slug(label)}-seed-${seed}.json`;

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

/** Trains one spec with one seed. */
export async function runOne(spec: Spec, c: ExperimentConfig, seed: number, data?: Split): Promise<RunResult> {
  const started = performance.now();
  const split = data ?? await loadData(c);
  const schedule = spec.schedule ?? c.schedule;
  // A pending WebAssembly compile does not keep Node's event loop alive (nodejs/node#36616). When
  // the loop empties during one (the trainer instantiates the fp32 build for its memory baseline
  // at the end of a run), Node drains platform tasks at shutdown and can deadlock there
  // (nodejs/node#54918): seen twice here as a worker stuck at 0 % CPU in NodePlatform::DrainTasks.
  // A timer keeps the loop alive until training returns.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let trained;
  try {
    // No scaling given: every integer run uses the trainer's default, as a user's run would.
    trained = await train({
      model: lenet5(), data: split, policy: spec.policy, epochs: c.epochs, batch: c.batch, lr: c.lr, schedule,
      seed, learnerFactory, logEvery: 10,
    });
  } finally {
    clearInterval(keepAlive);
  }
  const { report, learner } = trained;
  if (!report.energy) throw new Error(`${spec.label}: the trainer gave no energy account`);
  if (!report.memory) throw new Error(`${spec.label}: the trainer gave no memory account`);
  const outputs = learner.integer?.outputBits();
  return {
    label: spec.label,
    kind: spec.kind,
    ...(spec.lean !== undefined ? { lean: spec.lean } : {}),
    ...(spec.variant !== undefined ? { variant: spec.variant } : {}),
    isDefaultApt: spec.label === DEFAULT_LABEL,
    seed,
    schedule,
    peakBytes: report.memory.plannedPeakBytes,
    ...(outputs ? { finalOutputBits: outputs } : {}),
    wallSeconds: (performance.now() - started) / 1000,
    report: stripReport(report as TrainReport & { energy: EnergyReport }),
  };
}

// ---- running the set --------------------------------------------------------------------------

interface Job {
  spec: Spec;
  seed: number;
}

const jobName = (j: Job) => `${j.spec.label}, seed ${j.seed}`;

function runInChild(j: Job, c: ExperimentConfig, outFile: string, log: (s: string) => void): Promise<RunResult> {
  const script = fileURLToPath(import.meta.url);
  const execArgv = process.execArgv.filter((a) => !a.startsWith("--test"));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, script, "--worker", j.spec.label, "--worker-seed", String(j.seed),
      "--worker-config", JSON.stringify(c), "--worker-out", outFile], { stdio: ["ignore", "inherit", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => { err += String(d); });
    child.on("error", reject);
    child.on("exit", async (code) => {
      if (code !== 0) {
        reject(new Error(`${jobName(j)}: worker exited with ${code}\n${err.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(await readFile(outFile, "utf8")) as RunResult);
      } catch (e) {
        reject(e);
      }
      log(`(${jobName(j)}: ${err.trim().split("\n").filter(Boolean).length} stderr lines)`);
    });
  });
}

/** Whether a saved run was trained under the same configuration; the seed is part of the file's
 *  name and the run, not of this comparison, so a set with more seeds reuses the ones it shares. */
function sameConfig(a: ExperimentConfig, b: ExperimentConfig): boolean {
  const k = (c: ExperimentConfig) => JSON.stringify([c.dataset, c.trainSamples, c.testSamples, c.epochs, c.batch, c.lr, c.schedule]);
  return k(a) === k(b);
}

export interface RunSetOptions {
  jobs: number;
  /** Where each run's JSON goes (also the resume cache). */
  reportsDir: string;
  resume: boolean;
  log?: (line: string) => void;
}

/** Trains every spec of `c` once per seed (up to `jobs` at once, each in its own process when
 *  jobs > 1) and returns the results in table order, seeds ascending within a spec. */
export async function runSet(c: ExperimentConfig, o: RunSetOptions): Promise<RunResult[]> {
  const log = o.log ?? ((s: string) => console.log(s));
  await mkdir(o.reportsDir, { recursive: true });
  const specs = c.runs.map(specByLabel);
  const seeds = [...c.seeds].sort((a, b) => a - b);
  const key = (j: Job) => `${j.spec.label}\u0000${j.seed}`;
  const results = new Map<string, RunResult>();
  const file = (j: Job) => join(o.reportsDir, reportName(j.spec.label, j.seed));
  // Seed-major: an interrupted set has every spec at its first seeds, enough for a page.
  const jobs = seeds.flatMap((seed) => specs.map((spec) => ({ spec, seed })));
  const todo: Job[] = [];
  for (const j of jobs) {
    if (o.resume) {
      try {
        const saved = JSON.parse(await readFile(file(j), "utf8")) as RunResult & { config?: ExperimentConfig };
        if (saved.config && sameConfig(saved.config, c) && saved.seed === j.seed && saved.label === j.spec.label) {
          results.set(key(j), saved);
          log(`reusing ${file(j)}`);
          continue;
        }
      } catch { /* not there: run it */ }
    }
    todo.push(j);
  }
  const data = o.jobs <= 1 && todo.length > 0 ? await loadData(c) : undefined;
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const j = todo[next++];
      const t0 = performance.now();
      log(`start ${jobName(j)}`);
      const r = o.jobs <= 1 ? await runOne(j.spec, c, j.seed, data) : await runInChild(j, c, `${file(j)}.part`, log);
      await writeFile(file(j), JSON.stringify({ ...r, config: c }, null, 1));
      if (o.jobs > 1) await rm(`${file(j)}.part`, { force: true });
      results.set(key(j), r);
      log(`done  ${jobName(j)}: accuracy ${(100 * r.report.accuracy).toFixed(2)} %, ${formatJoules(r.report.energy.totalJoules)}, ` +
        `${formatBytes(r.peakBytes)}, ${r.report.timings.trainCpuSeconds?.toFixed(1) ?? "?"} CPU s, ${r.report.averageWeightBits.toFixed(2)} bits, ` +
        `${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs, todo.length)) }, worker));
  return specs.flatMap((spec) => seeds.map((seed) => results.get(key({ spec, seed }))!));
}

// ---- docs/results.md --------------------------------------------------------------------------

export interface RenderInfo {
  /** Wall-clock seconds of the whole experiment (runs may overlap), when it was measured. */
  wallSeconds: number | null;
  jobs: number;
  /** Plot files, relative to the markdown file. */
  plots: { energy: string; energyZoom?: string | null; memory: string; bits: string | null };
  /** Raw report files per spec label, relative to the markdown file, seeds ascending. */
  reports: Record<string, { seed: number; file: string }[]>;
  /** summary.json, relative to the markdown file. */
  summary: string;
  note?: string;
  date?: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

const MODE_TEXT: Record<ExperimentConfig["mode"], string> = {
  quick: `the **quick** configuration (\`--quick\`: a subset, ${plural(PRESETS.quick.epochs, "epoch")}, ${plural(PRESETS.quick.seeds.length, "seed")}, fewer policies; ` +
    "the CI smoke test of this pipeline). Its accuracies are far from converged and say little about the policies",
  medium: `the **medium** configuration (\`--medium\`: the whole data set, ${PRESETS.medium.epochs} epochs instead of the full configuration's ${PRESETS.full.epochs})`,
  full: `the **full** configuration (the whole data set, ${PRESETS.full.epochs} epochs, every policy, ${plural(PRESETS.full.seeds.length, "seed")})`,
  custom: "a **custom** configuration (flags given on the command line)",
};
const accuracyText = (a: number) => `${(100 * a).toFixed(2)} %`;

/** The run of each spec at the lowest seed: the per-run sections show one run per spec. */
function firstSeedRuns(specs: readonly SpecSummary[]): RunResult[] {
  return specs.map((s) => s.runs[0]);
}

function energyDetails(runs: readonly RunResult[]): string {
  const lines = ["| run | seed | per step | compute | memory | same run priced as fp32 | saving vs that | MACs per step | ms per step (this machine) |",
    "|:---|---:|---:|---:|---:|---:|---:|---:|---:|"];
  for (const r of runs) {
    const e = r.report.energy;
    const macs = Object.values(e.opCounts.macs).reduce((s, n) => s + n, 0);
    lines.push(`| ${r.label} | ${r.seed} | ${formatJoules(e.perStepJoules)} | ${(100 * e.computeJoules / e.totalJoules).toFixed(1)} % | ` +
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

/** Every APT run's final widths per layer (weights / output), its width moves and re-plans. */
function widthsTable(specs: readonly SpecSummary[]): string {
  const runs = specs.filter((s) => s.kind === "apt").flatMap((s) => s.runs);
  if (runs.length === 0) return "";
  const layers = Object.keys(runs[0].report.finalBits);
  const lines = [`| run | seed | ${layers.join(" | ")} | weights down / up | outputs down / up | re-plans |`,
    `|:---|---:|${layers.map(() => "---:").join("|")}|---:|---:|:---|`];
  for (const r of runs) {
    const m = widthMoves(r);
    const cells = layers.map((l) => `${r.report.finalBits[l]} / ${r.finalOutputBits?.[l] ?? "—"}`);
    const replans = (r.report.replans ?? []).map((p) => `step ${p.step}: ${p.slotBits} bits${p.refused ? " (refused)" : ""}`).join(", ") || "none";
    lines.push(`| ${r.label} | ${r.seed} | ${cells.join(" | ")} | ${m.weights.down} / ${m.weights.up} | ${m.outputs.down} / ${m.outputs.up} | ${replans} |`);
  }
  return lines.join("\n");
}

/** Facts the tables show, spelled out; each sentence is computed, and appears only when its runs are there. */
export function observations(specs: readonly SpecSummary[]): string[] {
  const out: string[] = [];
  const settings = leanSettings(specs);
  const d = settings.find((s) => s.isDefaultApt);
  const versus = (a: number, b: number) => (a === b ? "the same as" : `${Math.abs(saving(a, b)!).toFixed(1)} % ${a < b ? "less" : "more"} than`);
  if (d) {
    const moves = d.runs.map((r) => ({ r, m: widthMoves(r) }));
    const times = (f: (m: ReturnType<typeof widthMoves>) => number) => plural(moves.reduce((s, x) => s + f(x.m), 0), "time");
    out.push(`Over the default's ${plural(d.runs.length, "seed")} (${d.label}) the controller lowered weight widths ${times((m) => m.weights.down)} and raised them ` +
      `${times((m) => m.weights.up)}, and lowered output widths ${times((m) => m.outputs.down)} and raised them ${times((m) => m.outputs.up)}: ` +
      moves.map(({ r, m }) => `seed ${r.seed}: weights ${m.weights.down} down / ${m.weights.up} up, outputs ${m.outputs.down} down / ${m.outputs.up} up`).join("; ") + ".");
    const differing = d.runs.filter((r) => new Set(Object.values(r.report.finalBits)).size > 1);
    out.push(`Their final weight widths (${Object.keys(d.runs[0].report.finalBits).join("/")}) differ across layers in ${differing.length} of ${plural(d.runs.length, "seed")}: ` +
      `${d.runs.map((r) => `seed ${r.seed} ${finalWidths(r)}`).join(", ")}.`);
    const constant = specs.find((s) => s.kind === "apt" && s.variant !== undefined && s.lean === d.lean && s.runs[0].schedule !== d.runs[0].schedule);
    if (constant) {
      const pairs = d.runs.map((r) => [r, constant.runs.find((x) => x.seed === r.seed)] as const)
        .filter((p): p is readonly [RunResult, RunResult] => p[1] !== undefined);
      const same = pairs.filter(([a, b]) => finalWidths(a) === finalWidths(b)).length;
      out.push(`With a ${constant.runs[0].schedule} learning rate (${constant.label}) against the ${d.runs[0].schedule} schedule, the final weight widths are ` +
        `${pairs.map(([a, b]) => `seed ${a.seed}: ${b.schedule} ${finalWidths(b)}, ${a.schedule} ${finalWidths(a)}`).join("; ")}: the same in ${same} of ${plural(pairs.length, "seed")}. ` +
        `Mean test accuracy ${accuracyText(constant.accuracy.mean)} against ${accuracyText(d.accuracy.mean)}; ` +
        `training energy ${versus(constant.joules.mean, d.joules.mean)} the default's.`);
    }
    const slotted = specs.find((s) => s.kind === "apt" && s.variant !== undefined && s.lean === d.lean && s.runs.every((r) => r.finalOutputBits === undefined));
    if (slotted) {
      out.push(`With outputs at the slot (${slotted.label}) only the weights adapt. Its training energy is ${versus(slotted.joules.mean, d.joules.mean)} the default's ` +
        `and its peak memory ${versus(slotted.peakBytes.mean, d.peakBytes.mean)} the default's, at ${accuracyText(slotted.accuracy.mean)} mean test accuracy against ${accuracyText(d.accuracy.mean)}.`);
    }
  }
  if (settings.length > 1) {
    const walk = (f: (s: SpecSummary) => string) => settings.map((s) => `${f(s)}`).join(" → ");
    out.push(`From ${settings.map((s) => `lean ${s.lean}`).join(" to ")}, the means go: test accuracy ${walk((s) => accuracyText(s.accuracy.mean))}; ` +
      `training energy ${walk((s) => formatJoules(s.joules.mean))}; peak memory ${walk((s) => formatBytes(s.peakBytes.mean))}; ` +
      `average weight bits ${walk((s) => s.bits.mean.toFixed(2))}.`);
  }
  const replanned = specs.flatMap((s) => s.runs).filter((r) => (r.report.replans ?? []).length > 0);
  const aptRuns = specs.filter((s) => s.kind === "apt").flatMap((s) => s.runs);
  if (aptRuns.length > 0) {
    out.push(replanned.length === 0
      ? `No APT run re-planned its activations and errors wider.`
      : `${replanned.length} of ${plural(aptRuns.length, "APT run")} re-planned their activations and errors wider: ` +
        replanned.map((r) => `${r.label}, seed ${r.seed}: ${r.report.replans!.map((p) => `step ${p.step} to ${p.slotBits} bits` +
          (p.refused ? ` (refused: ${p.refused})` : p.plannedPeakBytes !== undefined ? ` (planned peak ${formatBytes(p.plannedPeakBytes)})` : "")).join(", ")}`).join("; ") + ".");
  }
  if (d) {
    const r = d.runs[0];
    const [what, j] = Object.entries(r.report.energy.byWhat).sort((a, b) => b[1] - a[1])[0];
    out.push(`The largest single cost of the default run (seed ${r.seed}) is \`${what}\`, at ${(100 * j / r.report.energy.totalJoules).toFixed(1)} % of its energy (see the site table below).`);
  }
  return out;
}

const leanText = (lean: number) => {
  const changes = Object.entries(LEAN_SETTINGS[lean]).map(([k, v]) => `${k} ${v}`).join(", ");
  return `lean ${lean}${changes ? ` (${changes})` : " (APT_DEFAULTS)"}`;
};

/** docs/results.md: everything in it comes from `runs` and `c`. */
export function renderResults(runs: readonly RunResult[], c: ExperimentConfig, info: RenderInfo): string {
  const specs = summarize(runs);
  const first = firstSeedRuns(specs);
  const d = specs.find((s) => s.isDefaultApt);
  const fp = specs.find((s) => s.kind === "fp32");
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const out: string[] = [];
  const minutes = (s: number) => (s < 60 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);
  out.push(`# Results: APT against fp32, qat8 and fixed precision (lenet5, ${c.dataset})`, "");
  const command = c.mode === "full" ? "npm run reproduce" : c.mode === "custom" ? "npm run reproduce with command-line flags" : `npm run reproduce -- --${c.mode}`;
  out.push(`<!-- Generated by experiments/compare.ts (${command}). Do not edit: rerun it. -->`, "");
  out.push(`This page is generated by \`experiments/compare.ts\`. Every number below comes from the runs it made${info.date ? ` (${info.date})` : ""}. ` +
    `It shows ${MODE_TEXT[c.mode]}. The same numbers, one record per run, are in [${info.summary.split("/").pop()}](${info.summary}).`, "");
  if (info.note) out.push(`> ${info.note.split("\n").join("\n> ")}`, "");
  out.push("## Setup", "");
  out.push(`- Model: lenet5 (${runs[0]?.report.layers.reduce((s, l) => s + l.parameters, 0).toLocaleString("en-US") ?? "?"} parameters). ` +
    `Data: ${c.dataset}, the first ${c.trainSamples.toLocaleString("en-US")} training and ${c.testSamples.toLocaleString("en-US")} test samples. ` +
    `${plural(c.epochs, "epoch")}, batch ${c.batch}, lr ${c.lr} (${c.schedule} unless a run says otherwise). ` +
    `Every spec runs once per seed (${seeds.join(", ")}); the runs of one seed share the data order.`);
  const aptSpecs = specs.filter((s) => s.kind === "apt");
  const variants = aptSpecs.filter((s) => s.variant !== undefined);
  if (aptSpecs.length > 0) {
    out.push(`- APT has one knob, \`lean\` (\`apt({ lean })\`, \`--lean N\`; src/train/policy.ts \`LEAN_SETTINGS\`): ` +
      `${LEAN_SETTINGS.map((_, i) => leanText(i)).join("; ")}. APT_DEFAULTS: tMin ${APT_DEFAULTS.tMin}, tMax ${APT_DEFAULTS.tMax} (weights); ` +
      `rMin ${APT_DEFAULTS.rMin}, rMax ${APT_DEFAULTS.rMax} (outputs); activations and errors planned at ${APT_DEFAULTS.slotBits} bits (cap ${APT_DEFAULTS.capBits}); ` +
      `weights ${APT_DEFAULTS.bMin}..${APT_DEFAULTS.bMax} bits, initial ${APT_DEFAULTS.initialBits}; interval ${APT_DEFAULTS.interval}; ${APT_DEFAULTS.rounding} rounding; ` +
      `outputs tied to the controller.` + (variants.length > 0 ? ` Beside the knob's settings: ${variants.map((s) => s.label).join("; ")}.` : ""));
  }
  const integer = runs.filter((r) => r.kind !== "fp32");
  const scalings = [...new Set(integer.map((r) => String(r.report.config.scaling)))];
  if (integer.length > 0) {
    out.push(`- Integer runs use the trainer's default scaling (\`TRAIN_DEFAULTS.scaling\`, ${TRAIN_DEFAULTS.scaling}); ` +
      `their reports record ${scalings.join(" and ")}. fp32 has no scaling. fixed:8 and qat8 run activations and errors at 8 bits.`);
  }
  out.push(`- Each cell of the table is the **mean over the seeds**; in parentheses, the lowest and the highest seed's value, where they differ at the precision shown. ` +
    `"vs fp32" and "vs qat8" compare means: percent less than that spec (negative means more); "Δ acc" is in test-accuracy percentage points.`);
  out.push(`- **Training energy** counts the operations and memory traffic of the training steps, including precision changes but not evaluation. ` +
    `It prices them with Horowitz's 45 nm table: main memory at the ${DEFAULT_TABLE.main} SRAM point, local buffer at the ${DEFAULT_TABLE.local} point. ` +
    `See [energy.md](energy.md). It is counted, not measured.`);
  out.push(`- **Training CPU s** is \`report.timings.trainCpuSeconds\`: the CPU time of the training steps (not evaluation), measured in the run's own process, ` +
    `with ${plural(info.jobs, "run")} at once on this machine (${plural(availableParallelism(), "core")}).`);
  out.push(`- **Peak memory** is the planned peak of the run's one linear memory, \`report.memory.plannedPeakBytes\`. ` +
    `For every integer run it equals the measured peak (\`measuredPeakBytes\`): the page generator checks each run and refuses one where they differ. ` +
    `fp32 keeps no high-water mark; its peak is its own plan. See [budget.md](budget.md).`);
  out.push(`- **Avg weight bits** is the parameter-weighted final weight width. qat8's 8 bits are its compute copy; it also keeps an fp32 master copy, which its memory column includes.`);
  const sum = runs.reduce((s, r) => s + r.wallSeconds, 0);
  out.push(`- Wall time on this machine: ${info.wallSeconds === null ? "" : `${minutes(info.wallSeconds)} for the whole set with ${plural(info.jobs, "job")} at once; `}` +
    `${minutes(sum)} summed over the runs. Per spec, summed over its seeds: ${specs.map((s) => `${s.label} ${minutes(s.runs.reduce((t, r) => t + r.wallSeconds, 0))}`).join(", ")}.`, "");
  out.push("## Table", "", resultsTable(buildRows(specs)), "");
  out.push("## The issue's figures, measured", "");
  out.push(checksTable(issueChecks(specs)), "");
  const f1 = figure1Choice(specs);
  if (f1) {
    const ch = f1.choice;
    out.push(`${ch.meetsFigure1 ? "The lean setting that meets figure 1" : "No lean setting meets figure 1; the one that comes closest"}` +
      `${ch.meetsFigure1 ? "" : ` (${ch.accuracyDrop <= 1 ? "the largest energy and memory saving within 1 point" : "none is within 1 point: the most accurate"})`} ` +
      `is \`--policy apt --lean ${ch.setting.lean}\`: against lean ${f1.reference.lean}, ${ch.energySaving.toFixed(1)} % less training energy, ` +
      `${ch.memorySaving.toFixed(1)} % less peak memory, ${Math.abs(ch.accuracyDrop).toFixed(2)} points ${ch.accuracyDrop >= 0 ? "less" : "more"} accurate (means).`, "");
  }
  const obs = observations(specs);
  if (obs.length > 0) out.push("## Observations", "", ...obs.map((o) => `- ${o}`), "");
  const widths = widthsTable(specs);
  if (widths) {
    out.push("### Final widths", "");
    out.push(`Each APT run's final width per layer: weights / output (activations and the error flowing back into them; "—" where the controller does not move outputs). ` +
      `"down / up" count the decisions that changed a width.`, "", widths, "");
  }
  out.push("## Energy details", "");
  out.push(`This section shows one run per spec, its lowest seed's (${seeds[0]}).`, "", energyDetails(first), "");
  out.push(`"Same run priced as fp32" prices this run's own recorded operations as fp32: every MAC is an fp32 multiply and add, and every tensor element is 32 bits. ` +
    `It differs from the fp32 run's energy. The fp32 trainer uses explicit im2col and col2im buffers and computes a conv layer's input error with fewer MACs` +
    (scalings.includes("exact") ? `, and an integer run with exact scaling makes a max-abs pass before each requantized product` : "") + `. See [energy.md](energy.md).`, "");
  if (d) out.push(`### Where the default APT run's energy goes (seed ${d.runs[0].seed})`, "", whereItGoes(d.runs[0]), "");
  if (fp) out.push(`### Where the fp32 run's energy goes (seed ${fp.runs[0].seed})`, "", whereItGoes(fp.runs[0]), "");
  out.push("### Sensitivity to the memory level", "");
  out.push(`These are the savings against fp32 (and against qat8, after the slash) when main-memory accesses are priced at another of Horowitz's points, ` +
    `for the seed ${seeds[0]} runs. They use the same counts.`, "");
  out.push(sensitivity(first), "");
  out.push("## Plots", "");
  out.push(`The trade-off plots show means over the seeds, the knob's settings joined by a line.`, "");
  out.push(`![Test accuracy vs training energy](${info.plots.energy})`, "");
  if (info.plots.energyZoom) {
    out.push(`![Test accuracy vs training energy, integer runs](${info.plots.energyZoom})`, "");
    out.push(`The second plot shows the integer runs alone, leaving out fp32 and any spec below half of fp32's accuracy, so that their differences are visible.`, "");
  }
  out.push(`![Test accuracy vs peak training memory](${info.plots.memory})`, "");
  if (info.plots.bits && d) out.push(`![Weight bits per layer over training, default APT, seed ${d.runs[0].seed}](${info.plots.bits})`, "");
  out.push("## Raw reports", "");
  out.push(`Each run's report.json is kept with its loss curve thinned to 200 points and only the width-changing decisions. ` +
    `The RunResult wrapper adds the seed, the schedule, the peak memory, the final output widths and the wall time.`, "");
  for (const s of specs) {
    out.push(`- ${s.label}: ${(info.reports[s.label] ?? []).map((f) => `[seed ${f.seed}](${f.file})`).join(", ")}`);
  }
  out.push("");
  return out.join("\n");
}

/** Writes results.md and the plots into `outDir`, and summary.json into its results/ folder. */
export async function writeResults(runs: readonly RunResult[], c: ExperimentConfig, o: {
  outDir: string; reportsDir: string; wallSeconds: number | null; jobs: number; note?: string;
}): Promise<{ page: string; summary: string }> {
  await mkdir(o.outDir, { recursive: true });
  const specs = summarize(runs);
  const plots = { energy: "results-accuracy-energy.svg", energyZoom: null as string | null, memory: "results-accuracy-memory.svg", bits: null as string | null };
  await writeFile(join(o.outDir, plots.energy), accuracyVsEnergy(specs));
  const fp = specs.find((s) => s.kind === "fp32");
  const integer = specs.filter((s) => s.kind !== "fp32" && (!fp || s.accuracy.mean >= 0.5 * fp.accuracy.mean));
  if (integer.length > 1) {
    plots.energyZoom = "results-accuracy-energy-integer.svg";
    await writeFile(join(o.outDir, plots.energyZoom), accuracyVsEnergy(integer, "Test accuracy vs training energy: integer runs (means over seeds)"));
  }
  await writeFile(join(o.outDir, plots.memory), accuracyVsMemory(specs));
  const d = specs.find((s) => s.isDefaultApt);
  if (d) {
    plots.bits = "results-apt-bits.svg";
    await writeFile(join(o.outDir, plots.bits), bitsOverTime(d.runs[0]));
  }
  const link = (file: string) => relative(o.outDir, file).split("\\").join("/");
  const reports = Object.fromEntries(specs.map((s) => [s.label, s.runs.map((r) => ({ seed: r.seed, file: link(join(o.reportsDir, reportName(s.label, r.seed))) }))]));
  const generated = new Date().toISOString();
  const summaryDir = join(o.outDir, "results");
  await mkdir(summaryDir, { recursive: true });
  const summaryFile = join(summaryDir, "summary.json");
  const { mode, ...settings } = c;
  const summary = buildSummary(runs, { mode, ...settings }, generated);
  const text = formatSummary(summary);
  const problems = validateSummary(JSON.parse(text));
  if (problems.length > 0) throw new Error(`summary.json would be malformed: ${problems.slice(0, 5).join("; ")}`);
  await writeFile(summaryFile, text);
  const md = renderResults(runs, c, {
    wallSeconds: o.wallSeconds, jobs: o.jobs, plots, reports, summary: link(summaryFile), note: o.note, date: generated.slice(0, 10),
  });
  const page = join(o.outDir, "results.md");
  await writeFile(page, md);
  return { page, summary: summaryFile };
}

// ---- command line -----------------------------------------------------------------------------

export const USAGE = `usage: compare [--quick | --medium] [--epochs N] [--train N] [--test N] [--runs "label;label"] [--seeds 1,2,3]
               [--jobs N] [--out DIR] [--reports DIR] [--resume] [--note TEXT]
  (default: the full configuration into docs/; --quick writes into .tmp/results-quick/)`;

function parseSeeds(s: string): number[] {
  const seeds = s.split(",").map((x) => x.trim());
  const bad = seeds.find((x) => !/^\d+$/.test(x) || Number(x) > 0xffffffff);
  if (seeds.length === 0 || bad !== undefined) throw new RangeError(`--seeds: expected integers in 0..4294967295 separated by commas, got ${JSON.stringify(s)}`);
  const numbers = seeds.map(Number);
  const twice = numbers.find((n, i) => numbers.indexOf(n) !== i);
  if (twice !== undefined) throw new RangeError(`--seeds: seed ${twice} is given twice`);
  return numbers;
}

/** `defaultOut`: where the page goes without --out (run directly, as `npm run reproduce` does, the
 *  full configuration regenerates docs/ and --quick writes under .tmp/). */
export async function main(argv: string[], options: { defaultOut?: string } = {}): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: "boolean" }, medium: { type: "boolean" },
      epochs: { type: "string" }, train: { type: "string" }, test: { type: "string" }, runs: { type: "string" }, seeds: { type: "string" },
      jobs: { type: "string" }, out: { type: "string" }, reports: { type: "string" }, resume: { type: "boolean" }, note: { type: "string" },
      worker: { type: "string" }, "worker-seed": { type: "string" }, "worker-config": { type: "string" }, "worker-out": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (v.worker !== undefined) {
    const c = JSON.parse(v["worker-config"]!) as ExperimentConfig;
    const r = await runOne(specByLabel(v.worker), c, Number(v["worker-seed"]));
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
    seeds: v.seeds !== undefined ? parseSeeds(v.seeds) : base.seeds,
    runs: v.runs ? v.runs.split(";").map((s) => s.trim()).filter(Boolean) : base.runs,
  };
  if ([v.epochs, v.train, v.test, v.runs, v.seeds].some((x) => x !== undefined)) c.mode = "custom";
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
  console.log(`compare: ${c.mode}: ${c.runs.length} runs x ${plural(c.seeds.length, "seed")} (${c.seeds.join(", ")}), ` +
    `${c.trainSamples}/${c.testSamples} samples, ${c.epochs} epoch(s), ${jobs} job(s)`);
  let reused = 0;
  const runs = await runSet(c, { jobs, reportsDir, resume: v.resume ?? false, log: (s) => { if (s.startsWith("reusing")) reused++; console.log(s); } });
  for (const r of runs) {
    const problems = validateReport(r.report);
    if (problems.length > 0) throw new Error(`${r.label}, seed ${r.seed}: invalid report: ${problems.slice(0, 5).join("; ")}`);
  }
  // The set's wall time is known when this invocation ran every run; otherwise the one recorded
  // by the invocation that did (same configuration, specs and seeds), if any.
  const setFile = join(reportsDir, "experiment.json");
  let wallSeconds: number | null = null;
  let setJobs = jobs;
  if (reused === 0) {
    wallSeconds = (performance.now() - t0) / 1000;
    await writeFile(setFile, JSON.stringify({ config: c, jobs, wallSeconds, finished: new Date().toISOString() }, null, 1));
  } else {
    try {
      const saved = JSON.parse(await readFile(setFile, "utf8")) as { config: ExperimentConfig; jobs: number; wallSeconds: number };
      if (sameConfig(saved.config, c) && saved.config.runs.join(";") === c.runs.join(";") && saved.config.seeds?.join(",") === c.seeds.join(",")) {
        ({ wallSeconds, jobs: setJobs } = saved);
      }
    } catch { /* unknown */ }
  }
  const written = await writeResults(runs, c, { outDir, reportsDir, wallSeconds, jobs: setJobs, note: v.note });
  console.log(`\n${resultsTable(buildRows(summarize(runs)))}\n\nwrote ${written.page} and ${written.summary} (${((performance.now() - t0) / 60000).toFixed(1)} min)`);
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
