// The plan as text (`aptkit plan`) and as numbers (report.json's memory section). Totals include
// the alignment gaps between reservations as "padding", so each breakdown sums to the peak: the
// figures are the allocator's offsets, not an estimate.
import { PAGE_BYTES, formatSize, groupDigits, pageCount, pagesFor, usableBytes } from "./budget.js";
import type { PlanLike } from "./errors.js";

/** byLayer's key for reservations that belong to no layer (module, control, workspace, input). */
export const SHARED = "(shared)";
/** The key for alignment gaps between reservations, in both breakdowns. */
export const PADDING = "(padding)";

export interface Breakdown {
  byCategory: Record<string, number>;
  byLayer: Record<string, number>;
}

/** Bytes of alignment gap before each reservation, in plan order (a bump plan never overlaps). */
function gaps(plan: PlanLike): number[] {
  let end = 0;
  return plan.reservations.map((r) => {
    const gap = Math.max(0, r.offset - end);
    end = Math.max(end, r.offset + r.bytes);
    return gap;
  });
}

/** Bytes per category and per layer, each in first-seen order, padding last; each sums to peakBytes. */
export function breakdown(plan: PlanLike): Breakdown {
  const byCategory: Record<string, number> = {};
  const byLayer: Record<string, number> = {};
  const g = gaps(plan);
  let padding = 0;
  plan.reservations.forEach((r, i) => {
    byCategory[r.category] = (byCategory[r.category] ?? 0) + r.bytes;
    const layer = r.layer ?? SHARED;
    byLayer[layer] = (byLayer[layer] ?? 0) + r.bytes;
    padding += g[i];
  });
  if (padding > 0) {
    byCategory[PADDING] = padding;
    byLayer[PADDING] = padding;
  }
  return { byCategory, byLayer };
}

function table(header: string[], rows: string[][], rightAligned: boolean[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells.map((s, c) => (rightAligned[c] ? s.padStart(widths[c]) : s.padEnd(widths[c]))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

function totals(title: string, entries: Record<string, number>, peak: number): string[] {
  const rows = Object.entries(entries).map(([k, v]) => [k, groupDigits(v), `${peak > 0 ? ((100 * v) / peak).toFixed(1) : "0.0"}%`]);
  return ["", ...table([title, "bytes", "share"], rows, [false, true, true])];
}

/**
 * Every reservation (offset, bytes, category, layer, name), the totals by category and by layer,
 * and the peak against the budget's whole pages when a budget is given.
 */
export function formatPlan(plan: PlanLike, budgetBytes?: number): string {
  const rows = plan.reservations.map((r) => [
    groupDigits(r.offset), groupDigits(r.bytes), r.category, r.layer ?? "-", r.name,
  ]);
  const peak = plan.peakBytes;
  const { byCategory, byLayer } = breakdown(plan);
  const out = [
    ...table(["offset", "bytes", "category", "layer", "name"], rows, [true, true, false, false, false]),
    ...totals("category", byCategory, peak),
    ...totals("layer", byLayer, peak),
    "",
    `peak      ${groupDigits(peak)} bytes (${formatSize(peak)}): memory of ${pageCount(pagesFor(peak))} ` +
      `(${groupDigits(pagesFor(peak) * PAGE_BYTES)} bytes)`,
  ];
  if (budgetBytes !== undefined) {
    const pages = Math.floor(budgetBytes / PAGE_BYTES);
    const usable = usableBytes(budgetBytes);
    const headroom = usable - peak;
    const given = usable === budgetBytes ? "" : `, the whole pages of the ${groupDigits(budgetBytes)} bytes given`;
    out.push(`budget    ${groupDigits(usable)} bytes (${pageCount(pages)}${given})`);
    out.push(headroom >= 0
      ? `headroom  ${groupDigits(headroom)} bytes (${((100 * headroom) / Math.max(usable, 1)).toFixed(1)}% of the budget): fits`
      : `headroom  ${groupDigits(headroom)} bytes: does not fit, ${groupDigits(-headroom)} bytes over`);
  }
  return out.join("\n");
}
