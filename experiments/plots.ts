// The SVG plots of docs/results.md, drawn with the report's own line charts (src/report/svg.ts):
// mean accuracy against mean training energy and against peak memory (the knob's settings as one
// line through lean 0, 1, ..., every other spec as a lone point), and one run's bits per layer.
import { lineChart, type Point, type Series } from "../src/report/svg.js";
import { leanSettings, type RunResult, type SpecSummary } from "./results-table.js";

const WIDTH = 860;

/** The knob's settings become one line, lean ascending; every other spec is a series of its own. */
function tradeoffSeries(specs: readonly SpecSummary[], x: (s: SpecSummary) => number): Series[] {
  const settings = leanSettings(specs);
  const series: Series[] = [];
  if (settings.length > 0) {
    series.push({
      name: `APT lean ${settings.map((s) => s.lean).join(", ")}`,
      points: settings.map((s): Point => [x(s), 100 * s.accuracy.mean]),
      markers: true,
    });
  }
  for (const s of specs) {
    if (!settings.includes(s)) series.push({ name: s.label, points: [[x(s), 100 * s.accuracy.mean]], markers: true });
  }
  return series;
}

export function accuracyVsEnergy(specs: readonly SpecSummary[], title = "Test accuracy vs training energy (means over seeds)"): string {
  return lineChart({
    title,
    xLabel: "training energy (mJ, counted: docs/energy.md)",
    yLabel: "test accuracy (%)",
    series: tradeoffSeries(specs, (s) => s.joules.mean * 1e3),
    width: WIDTH,
    height: 420,
  });
}

export function accuracyVsMemory(specs: readonly SpecSummary[]): string {
  return lineChart({
    title: "Test accuracy vs peak training memory (means over seeds)",
    xLabel: "peak training memory (KiB, planned)",
    yLabel: "test accuracy (%)",
    series: tradeoffSeries(specs, (s) => s.peakBytes.mean / 1024),
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
    title: `Weight bits per layer over training: ${run.label}, seed ${run.seed}`,
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
