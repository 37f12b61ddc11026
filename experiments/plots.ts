// The SVG plots of docs/results.md, drawn with the report's own line charts (src/report/svg.ts):
// accuracy against training energy and against peak memory (APT's tMin sweep as a line per
// rounding mode, every other run as a lone point), and the default APT run's bits per layer.
import { lineChart, type Point, type Series } from "../src/report/svg.js";
import type { RunResult } from "./results-table.js";

const WIDTH = 860;

/** APT runs of one rounding (default scaling) become one line through their tMin values; every
 *  other run is a series of its own. */
function tradeoffSeries(runs: readonly RunResult[], x: (r: RunResult) => number): Series[] {
  const series: Series[] = [];
  const sweeps = new Map<string, RunResult[]>();
  for (const r of runs) {
    if (r.kind === "apt" && r.scaling === "exact") {
      const key = `APT tMin sweep (${r.rounding})`;
      sweeps.set(key, [...(sweeps.get(key) ?? []), r]);
    }
  }
  for (const [name, rs] of sweeps) {
    series.push({ name, points: rs.map((r): Point => [x(r), 100 * r.report.accuracy]), markers: true });
  }
  for (const r of runs) {
    if (r.kind === "apt" && r.scaling === "exact") continue;
    series.push({ name: r.label, points: [[x(r), 100 * r.report.accuracy]], markers: true });
  }
  return series;
}

export function accuracyVsEnergy(runs: readonly RunResult[], title = "Test accuracy vs training energy"): string {
  return lineChart({
    title,
    xLabel: "training energy (mJ, counted: docs/energy.md)",
    yLabel: "test accuracy (%)",
    series: tradeoffSeries(runs, (r) => r.report.energy.totalJoules * 1e3),
    width: WIDTH,
    height: 420,
  });
}

export function accuracyVsMemory(runs: readonly RunResult[]): string {
  return lineChart({
    title: "Test accuracy vs peak training memory",
    xLabel: "peak training memory (KiB, planned)",
    yLabel: "test accuracy (%)",
    series: tradeoffSeries(runs, (r) => r.peakBytes / 1024),
    width: WIDTH,
    height: 420,
  });
}

/** Weight bits of each layer of one run over its steps (step lines, held to the last step). */
export function bitsOverTime(run: RunResult): string {
  const rep = run.report;
  const names = Object.keys(rep.finalBits);
  const series: Series[] = names.map((name) => {
    const points: Point[] = rep.bitsTimeline.filter((e) => e.bits[name] !== undefined).map((e) => [e.step, e.bits[name]]);
    if (points.length === 0 || points[points.length - 1][0] < rep.steps) points.push([rep.steps, rep.finalBits[name]]);
    return { name, points, step: true };
  });
  const all = series.flatMap((s) => s.points.map((p) => p[1]));
  return lineChart({
    title: `Weight bits per layer over training: ${run.label}`,
    xLabel: "step",
    yLabel: "weight bits",
    series,
    width: WIDTH,
    height: 360,
    yMin: Math.max(0, Math.min(...all) - 1),
    yMax: Math.max(...all) + 1,
    yIntegerTicks: true,
    offsetPx: series.length > 1 ? Math.min(3, 12 / series.length) : 0,
  });
}
