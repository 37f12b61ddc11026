// Hand-written SVG line charts for report.html. No dependency, and the same input always gives the
// same string: coordinates are rounded to 0.01 px and the one id a chart needs is a hash of its own
// content (not a counter), so two renders of one report are byte-identical and diff cleanly.

export type Point = readonly [x: number, y: number];

export interface Series {
  name: string;
  /** Drawn in ascending x; points with a non-finite coordinate are dropped. */
  points: readonly Point[];
  /** Step-wise line: each value holds until the next point's x (bit widths over steps). */
  step?: boolean;
  /** A dot on every point (sparse series, e.g. one evaluation per epoch). A lone point always gets one. */
  markers?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Total size in px (the viewBox). The legend takes its rows from the height. Defaults 720 x 360. */
  width?: number;
  height?: number;
  /** Fixed y range; either bound alone may be given, the other is a nice bound around the data. */
  yMin?: number;
  yMax?: number;
  /** Ticks only on integers (bit widths): a tick step below 1 is raised to 1. */
  yIntegerTicks?: boolean;
  /** Shifts series i by (i - (n-1)/2) * offsetPx pixels vertically, so that step lines sitting on
   *  the same value (several layers at 8 bits) stay visible side by side instead of hiding each other. */
  offsetPx?: number;
}

/** Tableau 10: distinct hues that stay apart on white. Past ten series the hues repeat with dashes. */
export const PALETTE = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
] as const;
const DASHES = ["", "6 3", "2 3", "8 3 2 3"];

/** Escapes text for element content and for double- or single-quoted attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;");
}

export interface Ticks {
  lo: number;
  hi: number;
  step: number;
  values: number[];
}

/** 1, 2 or 5 times a power of ten near x (Heckbert, "Nice numbers for graph labels", Graphics Gems). */
function niceNum(x: number, round: boolean): number {
  const e = Math.floor(Math.log10(x));
  const f = x / 10 ** e;
  const nf = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
  return nf * 10 ** e;
}

function decimalsOf(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Rounds away the float noise of lo + i*step (0.30000000000000004), keeping the step's decimals. */
function snap(v: number, step: number): number {
  const d = Math.min(20, decimalsOf(step) + 2);
  const s = Number(v.toFixed(d));
  return s === 0 ? 0 : s; // no -0
}

/**
 * About `count` ticks at a nice step covering [lo, hi]. A bound in `fixed` is kept as given;
 * a free bound is widened to the next tick. A degenerate range (one value) is opened around it.
 */
export function niceTicks(
  lo: number, hi: number, count = 5, opts: { integer?: boolean; fixedLo?: boolean; fixedHi?: boolean } = {},
): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
  if (hi < lo) [lo, hi] = [hi, lo];
  if (!(hi - lo > Math.abs(hi) * 1e-12) || !Number.isFinite(hi - lo)) {
    // One value (a constant series, a lone point): centre it in a small range of its own scale.
    const pad = opts.integer ? 1 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
    if (!(opts.fixedLo && !opts.fixedHi)) lo -= pad;
    if (!(opts.fixedHi && !opts.fixedLo)) hi += pad;
    if (!(hi - lo > 0) || !Number.isFinite(hi - lo)) { lo = -1; hi = 1; }
  }
  let step = niceNum(niceNum(hi - lo, false) / Math.max(1, count - 1), true);
  if (opts.integer) step = Math.max(1, Math.round(step));
  const niceLo = opts.fixedLo ? lo : Math.floor(lo / step + 1e-9) * step;
  const niceHi = opts.fixedHi ? hi : Math.ceil(hi / step - 1e-9) * step;
  const values: number[] = [];
  for (let i = Math.ceil(niceLo / step - 1e-9); i * step <= niceHi + step * 1e-9 && values.length < 100; i++) {
    values.push(snap(i * step, step));
  }
  return { lo: niceLo, hi: niceHi, step, values };
}

/** Tick label: the step's decimals; thousands as "k" once labels reach five digits. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return "0";
  const big = Math.max(Math.abs(v), step) >= 1e4 && step >= 100;
  const value = big ? v / 1000 : v;
  const s = value.toFixed(decimalsOf(big ? step / 1000 : step));
  const clean = /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
  return big ? `${clean}k` : clean;
}

/** Coordinate to at most two decimals; never "NaN" or "-0". */
function c(v: number): string {
  if (!Number.isFinite(v)) return "0";
  const s = Math.round(v * 100) / 100;
  return s === 0 ? "0" : String(s);
}

/** Width of 12 px sans-serif text, estimated (a browser is not at hand to measure). */
function textWidth(text: string, px = 12): number {
  let w = 0;
  for (const ch of text) w += /[il.,:;'|!]/.test(ch) ? 0.3 : /[mwMW@]/.test(ch) ? 0.85 : /[A-Z]/.test(ch) ? 0.65 : 0.55;
  return w * px;
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

// Loops, not Math.min(...v): a long curve would overflow the argument limit of a spread call.
export function minOf(v: readonly number[]): number {
  let m = Infinity;
  for (const x of v) if (x < m) m = x;
  return m;
}

export function maxOf(v: readonly number[]): number {
  let m = -Infinity;
  for (const x of v) if (x > m) m = x;
  return m;
}

function cleanPoints(points: readonly Point[]): Point[] {
  const kept = points.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
  // Stable sort: equal x keep their order, so a step at one x draws as a vertical jump.
  return kept.map((p, i) => [p, i] as const).sort((a, b) => a[0][0] - b[0][0] || a[1] - b[1]).map(([p]) => p);
}

const ID_TOKEN = "\u0000id\u0000";

/** A line chart as one self-contained `<svg>` element (axes, ticks, grid, legend, one `<path>` per series). */
export function lineChart(opts: LineChartOptions): string {
  const width = opts.width ?? 720;
  const series = opts.series.map((s) => ({ ...s, points: cleanPoints(s.points) }));
  const all = series.flatMap((s) => s.points);

  // Ticks first: the widest y label sets the left margin, and the margin sets the legend's rows.
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const hasMin = opts.yMin !== undefined && Number.isFinite(opts.yMin);
  const hasMax = opts.yMax !== undefined && Number.isFinite(opts.yMax);
  const xT = all.length > 0 ? niceTicks(minOf(xs), maxOf(xs), 7) : niceTicks(0, 1, 6);
  let yLo = hasMin ? (opts.yMin as number) : ys.length > 0 ? minOf(ys) : 0;
  let yHi = hasMax ? (opts.yMax as number) : ys.length > 0 ? maxOf(ys) : 1;
  // One bound fixed and the data all beyond it: let the data decide the other bound.
  if (hasMin && !hasMax && yHi <= yLo) yHi = yLo;
  if (hasMax && !hasMin && yLo >= yHi) yLo = yHi;
  const yT = niceTicks(yLo, yHi, 6, { integer: opts.yIntegerTicks, fixedLo: hasMin, fixedHi: hasMax });
  const yLabels = yT.values.map((v) => formatTick(v, yT.step));

  const fontPx = 12;
  const left = Math.round(Math.max(60, 30 + Math.max(0, ...yLabels.map((l) => textWidth(l))) + 8));
  const right = 18, top = 34;
  const plotW = Math.max(40, width - left - right);
  const items = series.map((s) => ({ name: s.name, w: 26 + textWidth(s.name) + 18 }));
  const rows: { i: number; x: number }[][] = [];
  let row: { i: number; x: number }[] = [];
  let rowX = 0;
  items.forEach((it, i) => {
    if (row.length > 0 && rowX + it.w > plotW) { rows.push(row); row = []; rowX = 0; }
    row.push({ i, x: rowX });
    rowX += it.w;
  });
  if (row.length > 0) rows.push(row);
  const legendH = rows.length * 18;
  const bottom = 46 + (legendH > 0 ? legendH + 6 : 0);
  const height = Math.max(opts.height ?? 360, top + bottom + 80);
  const plotH = height - top - bottom;

  const sx = (x: number) => left + ((x - xT.lo) / (xT.hi - xT.lo)) * plotW;
  const sy = (y: number) => top + plotH - ((y - yT.lo) / (yT.hi - yT.lo)) * plotH;

  const out: string[] = [];
  const title = escapeXml(opts.title);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${c(width)}" height="${c(height)}" viewBox="0 0 ${c(width)} ${c(height)}" role="img" aria-label="${title}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="${fontPx}">`);
  out.push(`<title>${title}</title>`);
  out.push(`<defs><clipPath id="${ID_TOKEN}"><rect x="${c(left)}" y="${c(top - 3)}" width="${c(plotW)}" height="${c(plotH + 6)}"/></clipPath></defs>`);
  out.push(`<text x="${c(left)}" y="20" font-size="14" font-weight="600" fill="#222">${title}</text>`);

  // Grid and tick labels.
  out.push(`<g class="grid" stroke="#e4e4e4" stroke-width="1">`);
  for (const v of yT.values) out.push(`<line x1="${c(left)}" x2="${c(left + plotW)}" y1="${c(sy(v))}" y2="${c(sy(v))}"/>`);
  for (const v of xT.values) out.push(`<line x1="${c(sx(v))}" x2="${c(sx(v))}" y1="${c(top)}" y2="${c(top + plotH)}" stroke-dasharray="2 3"/>`);
  out.push(`</g>`);
  out.push(`<g class="axes" fill="#555">`);
  yT.values.forEach((v, i) => out.push(`<text x="${c(left - 6)}" y="${c(sy(v) + 4)}" text-anchor="end">${escapeXml(yLabels[i])}</text>`));
  for (const v of xT.values) out.push(`<text x="${c(sx(v))}" y="${c(top + plotH + 16)}" text-anchor="middle">${escapeXml(formatTick(v, xT.step))}</text>`);
  out.push(`<path d="M${c(left)} ${c(top)}V${c(top + plotH)}H${c(left + plotW)}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${c(left + plotW / 2)}" y="${c(top + plotH + 34)}" text-anchor="middle" fill="#333">${escapeXml(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${c(top + plotH / 2)}) rotate(-90)" text-anchor="middle" fill="#333">${escapeXml(opts.yLabel)}</text>`);
  out.push(`</g>`);

  if (all.length === 0) {
    out.push(`<text x="${c(left + plotW / 2)}" y="${c(top + plotH / 2)}" text-anchor="middle" fill="#999">no data</text>`);
  }

  // Series.
  const n = series.length;
  out.push(`<g clip-path="url(#${ID_TOKEN})" fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">`);
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const dash = DASHES[Math.floor(i / PALETTE.length) % DASHES.length];
    const dy = opts.offsetPx ? (i - (n - 1) / 2) * opts.offsetPx : 0;
    const pts = s.points.map(([x, y]) => [sx(x), sy(y) + dy] as const);
    let d = "";
    if (pts.length > 0) {
      d = `M${c(pts[0][0])} ${c(pts[0][1])}`;
      if (s.step) {
        // Hold each value to the next x, then jump; repeated values add nothing to the path.
        let lastY = pts[0][1];
        for (let k = 1; k < pts.length; k++) {
          const [x, y] = pts[k];
          if (y === lastY && k < pts.length - 1) continue;
          d += `H${c(x)}`;
          if (y !== lastY) d += `V${c(y)}`;
          lastY = y;
        }
      } else {
        for (let k = 1; k < pts.length; k++) d += `L${c(pts[k][0])} ${c(pts[k][1])}`;
      }
    }
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : "";
    out.push(`<path class="series" data-series="${escapeXml(s.name)}" d="${d}" stroke="${colour}"${dashAttr}><title>${escapeXml(s.name)}</title></path>`);
    if (s.markers || pts.length === 1) {
      for (const [x, y] of pts) out.push(`<circle cx="${c(x)}" cy="${c(y)}" r="3" fill="${colour}" stroke="#fff" stroke-width="1"/>`);
    }
  });
  out.push(`</g>`);

  // Legend under the x label.
  if (rows.length > 0) {
    out.push(`<g class="legend" fill="#333">`);
    const legendTop = top + plotH + 46;
    rows.forEach((r, ri) => {
      const y = legendTop + ri * 18 + 9;
      for (const { i, x } of r) {
        const colour = PALETTE[i % PALETTE.length];
        const dash = DASHES[Math.floor(i / PALETTE.length) % DASHES.length];
        const x0 = left + x;
        out.push(`<line x1="${c(x0)}" x2="${c(x0 + 20)}" y1="${c(y)}" y2="${c(y)}" stroke="${colour}" stroke-width="3"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
        out.push(`<text x="${c(x0 + 26)}" y="${c(y + 4)}">${escapeXml(items[i].name)}</text>`);
      }
    });
    out.push(`</g>`);
  }
  out.push(`</svg>`);

  const body = out.join("\n");
  return body.split(ID_TOKEN).join(`clip-${fnv1a(body)}`);
}
