// The tables of docs/results.md and the record docs/results/summary.json, generated from run
// results (never typed): every spec runs once per seed, and the page shows each spec's mean over
// the seeds with the lowest and highest seed's value beside it. The issue's figures are judged on
// the same means.
import type { TrainReport } from "../src/learner/run-report.js";
import type { EnergyReport } from "../src/energy/energy.js";
import type { LrSchedule } from "../src/train/defaults.js";

/** One finished run (one spec, one seed), as the experiment keeps it. */
export interface RunResult {
  /** The spec's label, unique among specs, human-readable ("apt lean 1"); shared by its seeds. */
  label: string;
  kind: "fp32" | "qat8" | "fixed" | "apt";
  /** APT runs: the knob setting. */
  lean?: number;
  /** What an APT run changes beside the knob ("constant lr"); absent for the knob's own settings. */
  variant?: string;
  /** The default APT policy (`apt()`) under the configuration's schedule. */
  isDefaultApt?: boolean;
  seed: number;
  /** The learning-rate schedule this run trained with (a spec may override the configuration's). */
  schedule: LrSchedule;
  /** Peak training memory: report.memory.plannedPeakBytes. */
  peakBytes: number;
  /** APT runs with tied outputs: each weighted layer's output width at the end of training. */
  finalOutputBits?: Record<string, number>;
  wallSeconds: number;
  report: TrainReport & { energy: EnergyReport };
}

// ---- means over seeds ---------------------------------------------------------------------------

export interface Spread {
  mean: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("spread: no values");
  return { mean: values.reduce((s, v) => s + v, 0) / values.length, min: Math.min(...values), max: Math.max(...values) };
}

/** One spec over its seeds. */
export interface SpecSummary {
  label: string;
  kind: RunResult["kind"];
  lean?: number;
  variant?: string;
  isDefaultApt: boolean;
  /** Its runs, seed ascending. */
  runs: RunResult[];
  accuracy: Spread;
  joules: Spread;
  peakBytes: Spread;
  /** Null when some run's platform did not report CPU time. */
  cpuSeconds: Spread | null;
  bits: Spread;
}

/** The peak the page reports is the planned one; an integer run whose measured high-water mark
 *  differs would make that column wrong, so such a run stops the page. fp32 keeps no mark. */
export function checkPeaks(runs: readonly RunResult[]): void {
  for (const r of runs) {
    if (r.kind === "fp32") continue;
    const m = r.report.memory;
    if (!m) throw new Error(`${r.label}, seed ${r.seed}: the report has no memory account to check the peak against`);
    if (m.measuredPeakBytes !== m.plannedPeakBytes) {
      throw new Error(`${r.label}, seed ${r.seed}: planned peak ${m.plannedPeakBytes} bytes but measured ${m.measuredPeakBytes}: the peak column would be wrong`);
    }
  }
}

/** Groups runs by spec (first appearance order) after checking their peaks. */
export function summarize(runs: readonly RunResult[]): SpecSummary[] {
  checkPeaks(runs);
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) groups.set(r.label, [...(groups.get(r.label) ?? []), r]);
  return [...groups.values()].map((rs) => {
    rs.sort((a, b) => a.seed - b.seed);
    const seeds = rs.map((r) => r.seed);
    if (new Set(seeds).size !== seeds.length) throw new Error(`${rs[0].label}: seed ${seeds.find((s, i) => seeds.indexOf(s) !== i)} appears twice`);
    const cpu = rs.map((r) => r.report.timings.trainCpuSeconds);
    const first = rs[0];
    return {
      label: first.label, kind: first.kind,
      ...(first.lean !== undefined ? { lean: first.lean } : {}),
      ...(first.variant !== undefined ? { variant: first.variant } : {}),
      isDefaultApt: first.isDefaultApt === true,
      runs: rs,
      accuracy: spread(rs.map((r) => r.report.accuracy)),
      joules: spread(rs.map((r) => r.report.energy.totalJoules)),
      peakBytes: spread(rs.map((r) => r.peakBytes)),
      cpuSeconds: cpu.every((s): s is number => s !== null) ? spread(cpu) : null,
      bits: spread(rs.map((r) => r.report.averageWeightBits)),
    };
  });
}

// ---- the main table -----------------------------------------------------------------------------

export interface Row {
  label: string;
  accuracy: Spread;
  energyJoules: Spread;
  cpuSeconds: Spread | null;
  peakBytes: Spread;
  averageWeightBits: Spread;
  /** Percent less than the fp32 / qat8 spec's mean (negative: more), on means; null without it. */
  energyVsFp32: number | null;
  energyVsQat8: number | null;
  memoryVsFp32: number | null;
  memoryVsQat8: number | null;
  bitsVsFp32: number | null;
  bitsVsQat8: number | null;
  /** Mean accuracy minus the fp32 / qat8 spec's, in percentage points. */
  accuracyVsFp32: number | null;
  accuracyVsQat8: number | null;
}

/** 100 * (1 - value / base): how much less than the base, in percent. */
export function saving(value: number, base: number | undefined): number | null {
  if (base === undefined || !(base > 0)) return null;
  return 100 * (1 - value / base);
}

export function baseline(specs: readonly SpecSummary[], kind: "fp32" | "qat8"): SpecSummary | undefined {
  return specs.find((s) => s.kind === kind);
}

export function buildRows(specs: readonly SpecSummary[]): Row[] {
  const fp = baseline(specs, "fp32"), q8 = baseline(specs, "qat8");
  return specs.map((s) => ({
    label: s.label,
    accuracy: s.accuracy,
    energyJoules: s.joules,
    cpuSeconds: s.cpuSeconds,
    peakBytes: s.peakBytes,
    averageWeightBits: s.bits,
    energyVsFp32: saving(s.joules.mean, fp?.joules.mean),
    energyVsQat8: saving(s.joules.mean, q8?.joules.mean),
    memoryVsFp32: saving(s.peakBytes.mean, fp?.peakBytes.mean),
    memoryVsQat8: saving(s.peakBytes.mean, q8?.peakBytes.mean),
    bitsVsFp32: saving(s.bits.mean, fp?.bits.mean),
    bitsVsQat8: saving(s.bits.mean, q8?.bits.mean),
    accuracyVsFp32: fp ? 100 * (s.accuracy.mean - fp.accuracy.mean) : null,
    accuracyVsQat8: q8 ? 100 * (s.accuracy.mean - q8.accuracy.mean) : null,
  }));
}

export const COLUMNS = [
  "run", "test acc", "Δ acc vs fp32", "Δ acc vs qat8",
  "training energy", "vs fp32", "vs qat8", "training CPU s",
  "peak memory", "vs fp32", "vs qat8",
  "avg weight bits", "vs fp32", "vs qat8",
] as const;

const pct = (v: number | null) => (v === null ? "—" : `${v.toFixed(1)} %`);
const points = (v: number | null) => (v === null ? "—" : `${v >= 0 ? "+" : "-"}${Math.abs(v).toFixed(2)} pt`);

/** A unit for joules near `j`: the one formatJoules would choose. */
function joulesUnit(j: number): { scale: number; unit: string } {
  const a = Math.abs(j);
  return a >= 1 ? { scale: 1, unit: "J" } : a >= 1e-3 ? { scale: 1e3, unit: "mJ" } : { scale: 1e6, unit: "µJ" };
}

export function formatJoules(j: number): string {
  const { scale, unit } = joulesUnit(j);
  return `${(j * scale).toFixed(3)} ${unit}`;
}

export function formatBytes(b: number): string {
  return `${(b / 1024).toFixed(1)} KiB`;
}

/** "mean unit (min–max)", all in the mean's unit and precision; the range only where it shows a
 *  difference at that precision (one seed, or seeds that agree, give the mean alone). */
export function spreadCell(s: Spread, digits: number, unit = "", scale = 1): string {
  const f = (v: number) => (v * scale).toFixed(digits);
  const mean = `${f(s.mean)}${unit ? ` ${unit}` : ""}`;
  return f(s.min) === f(s.max) ? mean : `${mean} (${f(s.min)}–${f(s.max)})`;
}

const joulesCell = (s: Spread) => {
  const { scale, unit } = joulesUnit(s.mean);
  return spreadCell(s, 3, unit, scale);
};

/** The table as GitHub markdown: one row per spec, in the order given. */
export function resultsTable(rows: readonly Row[]): string {
  const head = `| ${COLUMNS.join(" | ")} |`;
  const align = `|${COLUMNS.map((_, i) => (i === 0 ? ":---" : "---:")).join("|")}|`;
  const lines = rows.map((r) => `| ${[
    r.label, spreadCell(r.accuracy, 2, "%", 100), points(r.accuracyVsFp32), points(r.accuracyVsQat8),
    joulesCell(r.energyJoules), pct(r.energyVsFp32), pct(r.energyVsQat8), r.cpuSeconds === null ? "—" : spreadCell(r.cpuSeconds, 2),
    spreadCell(r.peakBytes, 1, "KiB", 1 / 1024), pct(r.memoryVsFp32), pct(r.memoryVsQat8),
    spreadCell(r.averageWeightBits, 2), pct(r.bitsVsFp32), pct(r.bitsVsQat8),
  ].join(" | ")} |`);
  return [head, align, ...lines].join("\n");
}

/** Parses a markdown table back into cells (tests, and anyone reading results.md). */
export function parseTable(markdown: string): string[][] {
  return markdown.trim().split("\n").filter((l) => l.startsWith("|"))
    .map((l) => l.slice(1, -1).split("|").map((c) => c.trim()));
}

// ---- widths -------------------------------------------------------------------------------------

/** A run's width decisions that changed a width, counted by direction, weights and outputs apart. */
export function widthMoves(r: RunResult): { weights: { down: number; up: number }; outputs: { down: number; up: number } } {
  const count = (output: boolean) => {
    const moves = r.report.bitsHistory.filter((d) => (d.tensor === "output") === output);
    return { down: moves.filter((d) => d.newBits < d.oldBits).length, up: moves.filter((d) => d.newBits > d.oldBits).length };
  };
  return { weights: count(false), outputs: count(true) };
}

/** Final weight widths in layer order, "6/5/7/6/8". */
export const finalWidths = (r: RunResult): string => Object.values(r.report.finalBits).join("/");

const allEqual = (values: readonly number[]) => values.every((v) => v === values[0]);

// ---- the issue's figures ------------------------------------------------------------------------

export interface Check {
  figure: string;
  target: string;
  measured: string;
  /** Null: not measurable with the runs made, or a number reported for comparison with no target. */
  met: boolean | null;
}

/** The knob's own settings (APT without a variant), lean ascending. */
export function leanSettings(specs: readonly SpecSummary[]): SpecSummary[] {
  return specs.filter((s) => s.kind === "apt" && s.lean !== undefined && s.variant === undefined).sort((a, b) => a.lean! - b.lean!);
}

export interface LeanChoice {
  setting: SpecSummary;
  /** Against lean 0, on means: percent less training energy and planned peak memory, points of accuracy lost. */
  energySaving: number;
  memorySaving: number;
  accuracyDrop: number;
  meetsFigure1: boolean;
}

/** Figure 1's bars: what a leaner setting must save against lean 0, and the accuracy it may lose. */
export const FIGURE1 = { energySaving: 20, memorySaving: 20, accuracyDrop: 1 } as const;

/** The lean setting figure 1 points at: one that meets it (the largest energy + memory saving
 *  among those), else the largest saving within the accuracy bar, else the most accurate.
 *  Null without lean 0 and some other setting. */
export function figure1Choice(specs: readonly SpecSummary[]): { reference: SpecSummary; choice: LeanChoice } | null {
  const settings = leanSettings(specs);
  const reference = settings.find((s) => s.lean === 0);
  if (!reference) return null;
  const choices: LeanChoice[] = settings.filter((s) => s !== reference).map((setting) => {
    const energySaving = saving(setting.joules.mean, reference.joules.mean)!;
    const memorySaving = saving(setting.peakBytes.mean, reference.peakBytes.mean)!;
    const accuracyDrop = 100 * (reference.accuracy.mean - setting.accuracy.mean);
    return {
      setting, energySaving, memorySaving, accuracyDrop,
      meetsFigure1: energySaving >= FIGURE1.energySaving && memorySaving >= FIGURE1.memorySaving && accuracyDrop <= FIGURE1.accuracyDrop,
    };
  });
  if (choices.length === 0) return null;
  const bySaving = (a: LeanChoice, b: LeanChoice) => b.energySaving + b.memorySaving - (a.energySaving + a.memorySaving);
  const meeting = choices.filter((c) => c.meetsFigure1).sort(bySaving);
  const within = choices.filter((c) => c.accuracyDrop <= FIGURE1.accuracyDrop).sort(bySaving);
  const choice = meeting[0] ?? within[0] ?? [...choices].sort((a, b) => a.accuracyDrop - b.accuracyDrop)[0];
  return { reference, choice };
}

const times = (a: number, b: number) => `${(a / b).toFixed(3)} ×`;
const pointsText = (diff: number, below = "lower", above = "higher") => `${Math.abs(diff).toFixed(2)} points ${diff < 0 ? below : above}`;
const seconds = (s: number) => `${s.toFixed(2)} s`;

/** The issue's figures, each on the means over seeds: met, not met, or not measurable here (null). */
export function issueChecks(specs: readonly SpecSummary[]): Check[] {
  const out: Check[] = [];
  const fp = baseline(specs, "fp32");
  const fixed8 = specs.find((s) => s.label === "fixed:8");
  const lean0 = leanSettings(specs).find((s) => s.lean === 0);
  const missing = (figure: string, target: string, what: string) => out.push({ figure, target, measured: `needs ${what}`, met: null });

  const f1Target = `some lean setting: >= ${FIGURE1.energySaving} % less training energy and >= ${FIGURE1.memorySaving} % less peak memory than lean 0, ` +
    `<= ${FIGURE1.accuracyDrop.toFixed(1)} point less accuracy`;
  const f1 = figure1Choice(specs);
  if (!f1) missing("F1", f1Target, "lean 0 and another lean setting");
  else {
    const c = f1.choice;
    out.push({
      figure: "F1", target: f1Target,
      measured: `${c.setting.label}: ${c.energySaving.toFixed(1)} % less energy, ${c.memorySaving.toFixed(1)} % less peak memory, ` +
        `${pointsText(-c.accuracyDrop, "less accurate", "more accurate")} than lean 0`,
      met: c.meetsFigure1,
    });
  }

  if (!lean0 || !fixed8) {
    for (const t of ["accuracy", "energy", "memory", "CPU"]) missing("F2", `lean 0 vs fixed:8: ${t}`, "lean 0 and fixed:8 runs");
  } else {
    const dAcc = 100 * (lean0.accuracy.mean - fixed8.accuracy.mean);
    out.push({
      figure: "F2", target: "lean 0 test accuracy >= fixed:8's − 0.2 points",
      measured: `${(100 * lean0.accuracy.mean).toFixed(2)} % vs ${(100 * fixed8.accuracy.mean).toFixed(2)} %: ${pointsText(dAcc)}`,
      met: dAcc >= -0.2,
    });
    out.push({
      figure: "F2", target: "lean 0 training energy <= 0.85 × fixed:8's",
      measured: `${formatJoules(lean0.joules.mean)} vs ${formatJoules(fixed8.joules.mean)}: ${times(lean0.joules.mean, fixed8.joules.mean)}`,
      met: lean0.joules.mean <= 0.85 * fixed8.joules.mean,
    });
    out.push({
      figure: "F2", target: "lean 0 peak memory <= 0.9 × fixed:8's",
      measured: `${formatBytes(lean0.peakBytes.mean)} vs ${formatBytes(fixed8.peakBytes.mean)}: ${times(lean0.peakBytes.mean, fixed8.peakBytes.mean)}`,
      met: lean0.peakBytes.mean <= 0.9 * fixed8.peakBytes.mean,
    });
    const [a, b] = [lean0.cpuSeconds, fixed8.cpuSeconds];
    out.push(a && b
      ? { figure: "F2", target: "lean 0 training CPU seconds <= fixed:8's", measured: `${seconds(a.mean)} vs ${seconds(b.mean)}: ${times(a.mean, b.mean)}`, met: a.mean <= b.mean }
      : { figure: "F2", target: "lean 0 training CPU seconds <= fixed:8's", measured: "some run reported no CPU time", met: null });
  }

  if (!lean0 || !fp) {
    for (const t of ["energy", "memory", "accuracy", "width"]) missing("F3", `lean 0 vs fp32: ${t}`, "lean 0 and fp32 runs");
  } else {
    // Two readings of "vs fp32" (docs/energy.md): the fp32 run, and the same runs priced as fp32
    // (no explicit im2col, the integer engine's algorithm); the lower saving decides.
    const e = saving(lean0.joules.mean, fp.joules.mean)!;
    const eRepriced = saving(lean0.joules.mean, spread(lean0.runs.map((r) => r.report.energy.fp32Joules)).mean)!;
    out.push({
      figure: "F3", target: "lean 0: >= 70 % less training energy than fp32",
      measured: `${e.toFixed(1)} % less than the fp32 run (${formatJoules(lean0.joules.mean)} vs ${formatJoules(fp.joules.mean)}); ` +
        `${eRepriced.toFixed(1)} % less than the same runs priced as fp32`,
      met: Math.min(e, eRepriced) >= 70,
    });
    const m = saving(lean0.peakBytes.mean, fp.peakBytes.mean)!;
    out.push({ figure: "F3", target: "lean 0: >= 60 % less peak memory than fp32", measured: `${m.toFixed(1)} % less (${formatBytes(lean0.peakBytes.mean)} vs ${formatBytes(fp.peakBytes.mean)})`, met: m >= 60 });
    const d = 100 * (lean0.accuracy.mean - fp.accuracy.mean);
    out.push({
      figure: "F3", target: "lean 0: <= 1 point below fp32's test accuracy",
      measured: `${(100 * lean0.accuracy.mean).toFixed(2)} % vs ${(100 * fp.accuracy.mean).toFixed(2)} %: ${pointsText(d)}`, met: d >= -1,
    });
    out.push({ figure: "F3", target: "lean 0: average weight width <= 10 bits", measured: `${lean0.bits.mean.toFixed(2)} bits`, met: lean0.bits.mean <= 10 });
  }

  if (!lean0) {
    for (const t of ["a width goes down", "final widths differ", "constant lr"]) missing("F4", `default run: ${t}`, "a lean 0 run");
  } else {
    const moves = lean0.runs.map((r) => ({ seed: r.seed, m: widthMoves(r) }));
    out.push({
      figure: "F4", target: "default run, every seed: at least one width goes down",
      measured: moves.map(({ seed, m }) => `seed ${seed}: ${m.weights.down + m.outputs.down} down (weights ${m.weights.down}, outputs ${m.outputs.down})`).join("; "),
      met: moves.every(({ m }) => m.weights.down + m.outputs.down >= 1),
    });
    const layers = Object.keys(lean0.runs[0].report.finalBits);
    out.push({
      figure: "F4", target: "default run, every seed: final weight widths not all equal",
      measured: `${lean0.runs.map((r) => `seed ${r.seed}: ${finalWidths(r)}`).join("; ")} (${layers.join("/")})`,
      met: lean0.runs.every((r) => !allEqual(Object.values(r.report.finalBits))),
    });
    const constant = specs.find((s) => s.kind === "apt" && s.lean === 0 && s.variant !== undefined && s.runs[0].schedule !== lean0.runs[0].schedule);
    const target = "final weight widths, constant lr beside the default's schedule (reported)";
    if (!constant) missing("F4", target, "a lean 0 run with a constant learning rate");
    else {
      out.push({
        figure: "F4", target,
        measured: lean0.runs.map((r) => {
          const c = constant.runs.find((x) => x.seed === r.seed);
          return `seed ${r.seed}: ${r.schedule} ${finalWidths(r)}, ${c ? `${c.schedule} ${finalWidths(c)}` : `no ${constant.runs[0].schedule} run`}`;
        }).join("; "),
        met: null,
      });
    }
  }

  const settings = leanSettings(specs);
  const f5Target = `training CPU seconds fall with the knob: ${settings.length > 1 ? settings.map((s) => `lean ${s.lean}`).join(" > ") : "lean 0 > lean 1 > …"}`;
  if (settings.length < 2) missing("F5", f5Target, "two lean settings");
  else if (settings.some((s) => s.cpuSeconds === null)) out.push({ figure: "F5", target: f5Target, measured: "some run reported no CPU time", met: null });
  else {
    const cpu = settings.map((s) => s.cpuSeconds!.mean);
    out.push({
      figure: "F5", target: f5Target,
      measured: settings.map((s, i) => `lean ${s.lean} ${seconds(cpu[i])}`).join(", "),
      met: cpu.every((v, i) => i === 0 || v < cpu[i - 1]),
    });
  }
  return out;
}

export function checksTable(checks: readonly Check[]): string {
  const mark = (m: boolean | null) => (m === null ? "—" : m ? "**yes**" : "**no**");
  return ["| figure | target | measured (means over seeds) | met |", "|:---|:---|:---|:---|",
    ...checks.map((c) => `| ${c.figure} | ${c.target} | ${c.measured} | ${mark(c.met)} |`)].join("\n");
}

// ---- summary.json -------------------------------------------------------------------------------

export interface SummaryRun {
  label: string;
  policy: RunResult["kind"];
  lean: number | null;
  variant: string | null;
  schedule: LrSchedule;
  seed: number;
  accuracy: number;
  trainingJoules: number;
  plannedPeakBytes: number;
  /** Null for fp32, which keeps no high-water mark. */
  measuredPeakBytes: number | null;
  trainCpuSeconds: number | null;
  averageWeightBits: number;
}

/** The lean setting figure 1 points at, with the numbers that decided it (against lean 0, on means). */
export interface SummaryLean {
  setting: number | null;
  label: string | null;
  /** The training command line's flags for it. */
  flags: string[] | null;
  meetsFigure1: boolean | null;
  accuracyDropPoints: number | null;
  energySavingPercent: number | null;
  memorySavingPercent: number | null;
}

export interface Summary {
  generated: string;
  config: Record<string, unknown>;
  runs: SummaryRun[];
  lean: SummaryLean;
  figures: Check[];
}

export function buildSummary(runs: readonly RunResult[], config: Record<string, unknown>, generated: string): Summary {
  const specs = summarize(runs);
  const f1 = figure1Choice(specs);
  const c = f1?.choice;
  return {
    generated,
    config,
    runs: specs.flatMap((s) => s.runs).map((r) => ({
      label: r.label, policy: r.kind, lean: r.lean ?? null, variant: r.variant ?? null, schedule: r.schedule, seed: r.seed,
      accuracy: r.report.accuracy, trainingJoules: r.report.energy.totalJoules,
      plannedPeakBytes: r.report.memory?.plannedPeakBytes ?? r.peakBytes, measuredPeakBytes: r.report.memory?.measuredPeakBytes ?? null,
      trainCpuSeconds: r.report.timings.trainCpuSeconds, averageWeightBits: r.report.averageWeightBits,
    })),
    lean: {
      setting: c?.setting.lean ?? null,
      label: c?.setting.label ?? null,
      flags: c ? ["--policy", "apt", "--lean", String(c.setting.lean)] : null,
      meetsFigure1: c?.meetsFigure1 ?? null,
      accuracyDropPoints: c?.accuracyDrop ?? null,
      energySavingPercent: c?.energySaving ?? null,
      memorySavingPercent: c?.memorySaving ?? null,
    },
    figures: issueChecks(specs),
  };
}

/** summary.json's text: one line per run record and per figure, so that a rerun's diff shows
 *  which runs moved. */
export function formatSummary(s: Summary): string {
  const list = (items: readonly unknown[]) => `[\n${items.map((x) => `  ${JSON.stringify(x)}`).join(",\n")}\n ]`;
  return `{\n${[
    ` "generated": ${JSON.stringify(s.generated)}`,
    ` "config": ${JSON.stringify(s.config)}`,
    ` "runs": ${list(s.runs)}`,
    ` "lean": ${JSON.stringify(s.lean)}`,
    ` "figures": ${list(s.figures)}`,
  ].join(",\n")}\n}\n`;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Problems with a summary.json, one "path: what" line each; none means it has the shape above. */
export function validateSummary(x: unknown): string[] {
  const problems: string[] = [];
  const fail = (path: string, expected: string, got: unknown) => problems.push(`${path}: expected ${expected}, got ${JSON.stringify(got) ?? "nothing"}`);
  const num = (v: unknown, path: string, o: { nullable?: boolean; integer?: boolean; min?: number; max?: number } = {}) => {
    if (v === null && o.nullable) return;
    const ok = typeof v === "number" && Number.isFinite(v) && (!o.integer || Number.isInteger(v)) &&
      (o.min === undefined || v >= o.min) && (o.max === undefined || v <= o.max);
    if (!ok) fail(path, `${o.integer ? "an integer" : "a finite number"}${o.min !== undefined ? ` >= ${o.min}` : ""}${o.max !== undefined ? ` <= ${o.max}` : ""}${o.nullable ? " or null" : ""}`, v);
  };
  const str = (v: unknown, path: string, nullable = false) => {
    if (v === null && nullable) return;
    if (typeof v !== "string" || v.length === 0) fail(path, `a non-empty string${nullable ? " or null" : ""}`, v);
  };
  const exactKeys = (o: Obj, keys: readonly string[], path: string) => {
    for (const k of keys) if (!(k in o)) problems.push(`${path}.${k}: missing`);
    for (const k of Object.keys(o)) if (!keys.includes(k)) problems.push(`${path}.${k}: not a field of the summary`);
  };
  if (!isObject(x)) return ["summary: expected an object"];
  exactKeys(x, ["generated", "config", "runs", "lean", "figures"], "summary");
  if (typeof x.generated !== "string" || Number.isNaN(Date.parse(x.generated))) fail("generated", "a date", x.generated);
  if (!isObject(x.config)) fail("config", "an object", x.config);
  else if (!Array.isArray(x.config.seeds) || x.config.seeds.length === 0) fail("config.seeds", "a non-empty array", x.config.seeds);
  if (!Array.isArray(x.runs) || x.runs.length === 0) fail("runs", "a non-empty array", x.runs);
  else {
    const seen = new Set<string>();
    x.runs.forEach((r: unknown, i) => {
      const p = `runs[${i}]`;
      if (!isObject(r)) { fail(p, "an object", r); return; }
      exactKeys(r, ["label", "policy", "lean", "variant", "schedule", "seed", "accuracy", "trainingJoules", "plannedPeakBytes", "measuredPeakBytes",
        "trainCpuSeconds", "averageWeightBits"], p);
      str(r.label, `${p}.label`);
      if (!["fp32", "qat8", "fixed", "apt"].includes(r.policy as string)) fail(`${p}.policy`, "fp32, qat8, fixed or apt", r.policy);
      num(r.lean, `${p}.lean`, { integer: true, min: 0, nullable: r.policy !== "apt" });
      if (r.policy !== "apt" && r.lean !== null) fail(`${p}.lean`, "null for a policy without the knob", r.lean);
      str(r.variant, `${p}.variant`, true);
      if (!["constant", "cosine", "step"].includes(r.schedule as string)) fail(`${p}.schedule`, "constant, cosine or step", r.schedule);
      num(r.seed, `${p}.seed`, { integer: true, min: 0 });
      num(r.accuracy, `${p}.accuracy`, { min: 0, max: 1 });
      num(r.trainingJoules, `${p}.trainingJoules`, { min: 0 });
      num(r.plannedPeakBytes, `${p}.plannedPeakBytes`, { integer: true, min: 1 });
      num(r.measuredPeakBytes, `${p}.measuredPeakBytes`, { integer: true, min: 1, nullable: r.policy === "fp32" });
      num(r.trainCpuSeconds, `${p}.trainCpuSeconds`, { min: 0, nullable: true });
      num(r.averageWeightBits, `${p}.averageWeightBits`, { min: 1, max: 32 });
      const key = `${String(r.label)}\u0000${String(r.seed)}`;
      if (seen.has(key)) problems.push(`${p}: ${String(r.label)} seed ${String(r.seed)} appears twice`);
      seen.add(key);
    });
  }
  if (!isObject(x.lean)) fail("lean", "an object", x.lean);
  else {
    const l = x.lean;
    exactKeys(l, ["setting", "label", "flags", "meetsFigure1", "accuracyDropPoints", "energySavingPercent", "memorySavingPercent"], "lean");
    const chosen = l.setting !== null;
    num(l.setting, "lean.setting", { integer: true, min: 0, nullable: true });
    str(l.label, "lean.label", !chosen);
    if (chosen) {
      const flags = ["--policy", "apt", "--lean", String(l.setting)];
      if (JSON.stringify(l.flags) !== JSON.stringify(flags)) fail("lean.flags", JSON.stringify(flags), l.flags);
      if (typeof l.meetsFigure1 !== "boolean") fail("lean.meetsFigure1", "true or false", l.meetsFigure1);
    } else {
      for (const k of ["label", "flags", "meetsFigure1"]) if (l[k] !== null) fail(`lean.${k}`, "null when no setting was chosen", l[k]);
    }
    for (const k of ["accuracyDropPoints", "energySavingPercent", "memorySavingPercent"]) {
      num(l[k], `lean.${k}`, { nullable: !chosen });
      if (!chosen && l[k] !== null) fail(`lean.${k}`, "null when no setting was chosen", l[k]);
    }
  }
  if (!Array.isArray(x.figures)) fail("figures", "an array", x.figures);
  else {
    x.figures.forEach((c: unknown, i) => {
      const p = `figures[${i}]`;
      if (!isObject(c)) { fail(p, "an object", c); return; }
      exactKeys(c, ["figure", "target", "measured", "met"], p);
      for (const k of ["figure", "target", "measured"]) str(c[k], `${p}.${k}`);
      if (c.met !== null && typeof c.met !== "boolean") fail(`${p}.met`, "true, false or null", c.met);
    });
  }
  return problems;
}
