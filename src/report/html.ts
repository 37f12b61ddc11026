// report.html: one self-contained page (inline CSS and SVG, no script, no network) that shows a
// report.json. It renders whatever it is given, valid or not, and lists the schema problems at the
// top, so a broken run still gets a readable page.
import type { TrainReport } from "../learner/run-report.js";
import { validateReport, type ReportExtras } from "./schema.js";
import { escapeXml as esc, lineChart, maxOf, minOf, type Point, type Series } from "./svg.js";

/** Decision-log rows shown at each end of a long log; the middle is elided with a note. */
export const DECISION_ROWS_EACH_END = 200;
const CHART_WIDTH = 960;

type Loose = Record<string, unknown>;

function arr<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

function obj(v: unknown): Loose {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Loose) : {};
}

function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Integers grouped by thousands ("60,000"), other numbers to `digits` significant digits. */
export function formatNumber(v: unknown, digits = 4): string {
  if (!isNum(v)) return v === undefined || v === null ? "—" : esc(String(v));
  if (Number.isInteger(v)) return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e9)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

function percent(v: unknown): string {
  return isNum(v) ? `${(v * 100).toFixed(2)} %` : "—";
}

function seconds(v: unknown): string {
  return isNum(v) ? `${formatNumber(v, 3)} s` : "—";
}

/** A value of a free-form section: scalars as text, anything else as compact JSON. */
function plainValue(v: unknown): string {
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "string") return esc(v);
  if (typeof v === "boolean" || v === null || v === undefined) return esc(String(v));
  return `<code>${esc(JSON.stringify(v))}</code>`;
}

/** Nested objects flatten to dotted keys ("byCategory.weights"); arrays stay whole. */
function flatten(o: Loose, prefix = "", out: [string, unknown][] = []): [string, unknown][] {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) flatten(v as Loose, key, out);
    else out.push([key, v]);
  }
  return out;
}

function keyValueTable(o: Loose, cls: string): string {
  const rows = flatten(o);
  if (rows.length === 0) return `<p class="muted">Empty.</p>`;
  const body = rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td class="${typeof v === "number" ? "num" : ""}">${plainValue(v)}</td></tr>`).join("\n");
  return `<table class="kv ${cls}">\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** Joules in the unit that reads best (µJ, mJ, J). */
export function formatJoules(v: unknown): string {
  if (!isNum(v)) return "—";
  const a = Math.abs(v);
  const [scale, unit] = a >= 1 ? [1, "J"] : a >= 1e-3 ? [1e3, "mJ"] : a >= 1e-6 ? [1e6, "µJ"] : [1e9, "nJ"];
  return `${formatNumber(v * scale, 4)} ${unit}`;
}

/** The energy account as a small table: the totals, the fp32 repricing and the traffic. */
function energyTable(e: Loose): string {
  const total = e.totalJoules, fp = e.fp32Joules;
  const ops = obj(e.opCounts), bytes = obj(e.bytes), levels = obj(e.levels);
  const macs = Object.values(obj(ops.macs)).reduce<number>((s, n) => s + (isNum(n) ? n : 0), 0);
  const pairs = Object.entries(obj(ops.macs)).sort(([, a], [, b]) => (b as number) - (a as number)).slice(0, 4)
    .map(([k, n]) => `${esc(k)}: ${formatNumber(n)}`).join(", ");
  const share = (v: unknown) => (isNum(v) && isNum(total) && total > 0 ? ` <span class="muted">(${(100 * v / total).toFixed(1)} %)</span>` : "");
  const saving = isNum(total) && isNum(fp) && fp > 0 ? `${(100 * (1 - total / fp)).toFixed(1)} % less` : "—";
  const row = (k: string, v: string) => `<tr><th scope="row">${esc(k)}</th><td class="num">${v}</td></tr>`;
  const moved = (a: unknown, b: unknown) => (isNum(a) && isNum(b) ? `${formatNumber(Math.round(a + b))} B` : "—");
  return `<table class="kv energy">
<tbody>
${row("training energy", formatJoules(total))}
${row("compute", formatJoules(e.computeJoules) + share(e.computeJoules))}
${row("memory", formatJoules(e.memoryJoules) + share(e.memoryJoules))}
${row("per step", formatJoules(e.perStepJoules))}
${row("same run priced as fp32", `${formatJoules(fp)} <span class="muted">(this run: ${saving})</span>`)}
${row("MACs", `${formatNumber(macs)}${pairs ? ` <span class="muted">(${pairs})</span>` : ""}`)}
${row(`main memory traffic (${String(levels.main ?? "?")})`, moved(bytes.mainRead, bytes.mainWrite))}
${row(`local buffer traffic (${String(levels.local ?? "?")})`, moved(bytes.localRead, bytes.localWrite))}
${row("arithmetic", `${esc(String(e.arithmetic ?? "—"))}, ${esc(String(e.rounding ?? "—"))} rounding`)}
</tbody>
</table>
<p class="caption">Counted, not timed: Horowitz's 45 nm table (docs/energy.md). Evaluation is not counted.</p>`;
}

function fact(label: string, value: string, sub = ""): string {
  return `<div class="fact"><div class="label">${esc(label)}</div><div class="value">${value}</div>${sub ? `<div class="sub">${sub}</div>` : ""}</div>`;
}

function formatG(v: unknown): string {
  if (!isNum(v)) return "—";
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3);
}

function layersTable(report: TrainReport): string {
  const layers = arr<Loose>(report.layers);
  const finals = obj(report.finalBits);
  const changes = new Map<string, number>();
  for (const d of arr<Loose>(report.bitsHistory)) {
    if (d.newBits !== d.oldBits && d.tensor !== "output") changes.set(String(d.layer), (changes.get(String(d.layer)) ?? 0) + 1);
  }
  const total = layers.reduce((s, l) => s + (isNum(l.parameters) ? l.parameters : 0), 0);
  const rows = layers.map((l, i) => {
    const name = String(l.name ?? "");
    const shape = Array.isArray(l.outputShape) ? l.outputShape.map((d) => esc(String(d))).join(" × ") : "—";
    const bits = finals[name];
    return `<tr><td class="num muted">${i}</td><td><code>${esc(name)}</code></td><td>${esc(String(l.kind ?? ""))}</td>` +
      `<td class="num">${formatNumber(l.parameters)}</td><td class="num">${shape}</td>` +
      `<td class="num">${bits === undefined ? `<span class="muted">—</span>` : `<b>${formatNumber(bits)}</b>`}</td>` +
      `<td class="num">${bits === undefined ? "" : formatNumber(changes.get(name) ?? 0)}</td></tr>`;
  });
  return `<table class="data">
<thead><tr><th class="num">#</th><th>layer</th><th>kind</th><th class="num">parameters</th><th class="num">output shape</th><th class="num">final bits</th><th class="num">width changes</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
<tfoot><tr><td></td><td colspan="2">total</td><td class="num">${formatNumber(total)}</td><td></td><td class="num">${isNum(report.averageWeightBits) ? `${formatNumber(report.averageWeightBits, 3)} avg` : "—"}</td><td></td></tr></tfoot>
</table>`;
}

/** One step line per layer named in the timeline (or in finalBits), held to the run's last step. */
function bitsChart(report: TrainReport): string {
  const timeline = arr<Loose>(report.bitsTimeline);
  const finals = obj(report.finalBits);
  const names: string[] = [];
  const seen = new Set<string>();
  const add = (n: string) => { if (!seen.has(n)) { seen.add(n); names.push(n); } };
  // Model order first, then anything the timeline names that the layer list does not.
  const inTimeline = new Set(timeline.flatMap((e) => Object.keys(obj(e.bits))));
  for (const l of arr<Loose>(report.layers)) {
    const n = String(l.name ?? "");
    if (inTimeline.has(n) || n in finals) add(n);
  }
  for (const n of inTimeline) add(n);
  const steps = isNum(report.steps) ? report.steps : undefined;
  const series: Series[] = names.map((name) => {
    const points: Point[] = [];
    for (const e of timeline) {
      const b = obj(e.bits)[name];
      if (isNum(e.step) && isNum(b)) points.push([e.step, b]);
    }
    const fin = finals[name];
    const last = points[points.length - 1];
    if (isNum(fin) && steps !== undefined && (last === undefined || last[0] < steps)) points.push([steps, fin]);
    return { name, points, step: true };
  });
  const widths = series.flatMap((s) => s.points.map((p) => p[1]));
  const lo = widths.length > 0 ? minOf(widths) : 2;
  const hi = widths.length > 0 ? maxOf(widths) : 8;
  return lineChart({
    title: "Weight bits per layer",
    xLabel: "step",
    yLabel: "weight bits",
    series,
    width: CHART_WIDTH,
    height: 340,
    yMin: Math.max(0, lo - 1),
    yMax: hi + 1,
    yIntegerTicks: true,
    offsetPx: series.length > 1 ? Math.min(3, 12 / series.length) : 0,
  });
}

function lossChart(report: TrainReport): string {
  const train: Point[] = arr<Loose>(report.loss).filter((p) => isNum(p.step) && isNum(p.loss)).map((p) => [p.step as number, p.loss as number]);
  const test: Point[] = arr<Loose>(report.evaluations).filter((p) => isNum(p.step) && isNum(p.loss)).map((p) => [p.step as number, p.loss as number]);
  return lineChart({
    title: "Loss",
    xLabel: "step",
    yLabel: "cross-entropy loss",
    series: [{ name: "training loss", points: train }, { name: "test loss", points: test, markers: true }],
    width: CHART_WIDTH,
    height: 320,
    yMin: 0,
  });
}

function accuracyChart(report: TrainReport): string {
  const pct = (pts: Loose[]): Point[] => pts.filter((p) => isNum(p.step) && isNum(p.accuracy)).map((p) => [p.step as number, (p.accuracy as number) * 100]);
  return lineChart({
    title: "Accuracy",
    xLabel: "step",
    yLabel: "accuracy (%)",
    series: [
      { name: "training accuracy", points: pct(arr<Loose>(report.loss)) },
      { name: "test accuracy", points: pct(arr<Loose>(report.evaluations)), markers: true },
    ],
    width: CHART_WIDTH,
    height: 320,
    yMax: 100,
  });
}

function decisionRow(d: Loose): string {
  const oldB = d.oldBits, newB = d.newBits;
  const delta = isNum(oldB) && isNum(newB) ? newB - oldB : NaN;
  const cls = delta > 0 ? "up" : delta < 0 ? "down" : "held";
  const move = delta > 0 ? "▲ +1" : delta < 0 ? "▼ −1" : "·";
  // A layer's output decisions (its activations and the error into them) are a chain apart from its weights'.
  const tensor = d.tensor === "output" ? " output" : "";
  return `<tr class="${cls}"><td class="num">${formatNumber(d.step)}</td><td><code>${esc(String(d.layer ?? ""))}</code>${tensor}</td>` +
    `<td class="num">${formatG(d.G)}</td><td class="num">${formatNumber(oldB)} → ${formatNumber(newB)}</td>` +
    `<td class="move">${move}</td><td>${d.limitedBy === undefined ? "" : esc(String(d.limitedBy))}</td></tr>`;
}

function decisionsSection(report: TrainReport): string {
  const log = arr<Loose>(report.bitsHistory);
  if (log.length === 0) {
    return `<p class="muted">No precision decisions were logged (policy <code>${esc(String(report.policy ?? ""))}</code>).</p>`;
  }
  const n = DECISION_ROWS_EACH_END;
  const truncated = log.length > 2 * n;
  const head = truncated ? log.slice(0, n) : log;
  const tail = truncated ? log.slice(log.length - n) : [];
  const omitted = log.length - head.length - tail.length;
  const up = log.filter((d) => isNum(d.newBits) && isNum(d.oldBits) && d.newBits > d.oldBits).length;
  const down = log.filter((d) => isNum(d.newBits) && isNum(d.oldBits) && d.newBits < d.oldBits).length;
  const note = truncated
    ? `<p class="note">${formatNumber(log.length)} decisions; showing the first ${n} and the last ${n} (${formatNumber(omitted)} omitted). report.json holds them all.</p>`
    : `<p class="note">${formatNumber(log.length)} decision${log.length === 1 ? "" : "s"}.</p>`;
  return `${note}
<p class="muted">${formatNumber(up)} raised, ${formatNumber(down)} lowered, ${formatNumber(log.length - up - down)} held. G is the mean update as a fraction of the quantization step.</p>
<table class="data decisions">
<thead><tr><th class="num">step</th><th>layer</th><th class="num">G</th><th class="num">bits</th><th>move</th><th>limited by</th></tr></thead>
<tbody>
${head.map(decisionRow).join("\n")}${truncated ? `\n<tr class="gap"><td colspan="6">… ${formatNumber(omitted)} decisions omitted …</td></tr>\n${tail.map(decisionRow).join("\n")}` : ""}
</tbody>
</table>`;
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1d2330; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 2px; }
h2 { font-size: 17px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #dde1e7; }
.subtitle { color: #5b6473; margin: 0 0 18px; }
code { font: 12.5px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; }
.fact { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 10px 14px; }
.fact .label { color: #5b6473; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.fact .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.fact .sub { color: #5b6473; font-size: 12px; }
.hash { margin: 12px 0 0; color: #5b6473; overflow-wrap: anywhere; }
table { border-collapse: collapse; background: #fff; border: 1px solid #dde1e7; font-variant-numeric: tabular-nums; }
table.data { width: 100%; }
th, td { padding: 5px 10px; text-align: left; border-bottom: 1px solid #eceff3; vertical-align: top; }
thead th { background: #eef1f5; font-weight: 600; font-size: 12.5px; }
tfoot td { font-weight: 600; background: #f8f9fb; border-top: 1px solid #dde1e7; }
tbody tr:nth-child(even) { background: #fafbfc; }
.num { text-align: right; }
.kv { width: 100%; }
.kv th { font-weight: 500; color: #3b4452; }
.kv td { overflow-wrap: anywhere; }
.muted { color: #7a8392; }
.note { margin: 0 0 6px; }
.chart { display: block; width: 100%; height: auto; background: #fff; border: 1px solid #dde1e7; border-radius: 8px; margin: 0 0 12px; }
.caption { color: #5b6473; font-size: 12.5px; margin: -4px 0 16px; }
.decisions tr.up .move { color: #2f7d32; }
.decisions tr.down .move { color: #b3261e; }
.decisions tr.held { color: #5b6473; }
.decisions tr.gap td { text-align: center; color: #5b6473; background: #eef1f5; font-style: italic; }
.problems { background: #fff4e5; border: 1px solid #f0b45b; border-radius: 8px; padding: 10px 16px; margin: 0 0 18px; }
.problems h2 { border: 0; margin: 0 0 4px; font-size: 15px; }
.problems ul { margin: 0; padding-left: 18px; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 0 24px; align-items: start; }
footer { margin-top: 36px; color: #7a8392; font-size: 12px; }
`;

/** The report as a standalone HTML page (docs/report.md, "report.html"). Deterministic: same report, same page. */
export function renderReport(report: TrainReport & ReportExtras): string {
  const problems = validateReport(report);
  const t = obj(report.timings);
  const title = `${String(report.model ?? "?")} on ${String(report.dataset ?? "?")} (${String(report.policy ?? "?")})`;
  const evals = arr<Loose>(report.evaluations);
  const bestEval = evals.reduce<number | undefined>((b, e) => (isNum(e.accuracy) && (b === undefined || e.accuracy > b) ? e.accuracy : b), undefined);

  const parts: string[] = [];
  parts.push(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aptkit report: ${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>`);
  parts.push(`<header>
<h1>${esc(String(report.model ?? "?"))} <span class="muted">on</span> ${esc(String(report.dataset ?? "?"))}</h1>
<p class="subtitle">policy <b>${esc(String(report.policy ?? "?"))}</b> · kernels <b>${esc(String(report.isa ?? "?"))}</b> · report.json version ${esc(String(report.version ?? "?"))}</p>
</header>`);

  if (problems.length > 0) {
    const shown = problems.slice(0, 30).map((p) => `<li>${esc(p)}</li>`).join("\n");
    const more = problems.length > 30 ? `\n<li>… and ${problems.length - 30} more</li>` : "";
    parts.push(`<section class="problems">
<h2>This report does not match the schema (${problems.length} problem${problems.length === 1 ? "" : "s"})</h2>
<ul>
${shown}${more}
</ul>
</section>`);
  }

  parts.push(`<section class="facts">
${fact("Test accuracy", percent(report.accuracy), bestEval === undefined ? "" : `best epoch ${percent(bestEval)}`)}
${fact("Avg weight bits", isNum(report.averageWeightBits) ? formatNumber(report.averageWeightBits, 3) : "—", "parameter-weighted")}
${fact("Steps", formatNumber(report.steps), `${formatNumber(evals.length)} evaluation${evals.length === 1 ? "" : "s"}`)}
${fact("Total time", seconds(t.totalSeconds), `train ${seconds(t.trainSeconds)} · eval ${seconds(t.evalSeconds)}`)}
${fact("Time per step", isNum(t.msPerStep) ? `${formatNumber(t.msPerStep, 3)} ms` : "—", "training")}
</section>
<p class="hash">model SHA-256 <code>${esc(String(report.modelSha256 ?? "—"))}</code></p>`);

  parts.push(`<h2>Layers</h2>\n${layersTable(report)}`);

  parts.push(`<h2>Weight precision</h2>
${bitsChart(report)}
<p class="caption">Weight width of each layer at every logged step, held to the last step. Lines sitting on the same width are drawn a few pixels apart so that each stays visible.</p>`);
  parts.push(`<h2>Training</h2>
${lossChart(report)}
${accuracyChart(report)}
<p class="caption">Training points average the batches since the previous point; test points are the held-out evaluation after each epoch.</p>`);

  const extras: string[] = [];
  for (const [key, label] of [["memory", "Memory"], ["energy", "Energy"]] as const) {
    const section: unknown = report[key];
    if (typeof section === "object" && section !== null && !Array.isArray(section)) {
      const table = key === "energy" && isNum((section as Loose).totalJoules) ? energyTable(section as Loose) : keyValueTable(section as Loose, key);
      extras.push(`<div><h2>${label}</h2>\n${table}</div>`);
    }
  }
  extras.push(`<div><h2>Configuration</h2>\n${keyValueTable(obj(report.config), "config")}</div>`);
  parts.push(`<div class="columns">\n${extras.join("\n")}\n</div>`);

  parts.push(`<h2>Precision decisions</h2>\n${decisionsSection(report)}`);
  parts.push(`<footer>Rendered from report.json by aptkit. Field reference: docs/report.md.</footer>
</main>
</body>
</html>
`);
  return parts.join("\n");
}
