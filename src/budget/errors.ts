// Refusing a budget before training (docs/budget.md): what needs how much, and what would fit.
import { MAX_BUDGET_BYTES, MAX_PAGES, PAGE_BYTES, formatSize, groupDigits, pageCount, pagesFor, usableBytes } from "./budget.js";
import type { Reservation } from "../plan/plan.js";

export interface PlanItem {
  name: string;
  category: string;
  layer: string | null;
  bytes: number;
}

/** What BudgetError and formatPlan read from a plan (a Planner is one). */
export interface PlanLike {
  readonly reservations: readonly Reservation[];
  readonly peakBytes: number;
}

export interface BudgetErrorDetails {
  /** The budget as given (bytes); the plan may use its whole pages. */
  budgetBytes: number;
  /** The plan's peak: one past its last byte. */
  plannedBytes: number;
  /** The largest reservations, largest first. */
  largest: PlanItem[];
  /** Ways to fit, one phrase each (fitSuggestions). */
  suggestions: string[];
  /** What budgetBytes is: a budget the caller set, or (none set) the wasm32 memory ceiling of
   *  4 GiB that every plan meets. Default "budget". */
  limit?: BudgetLimit;
}

/** The limit a refused plan met: the caller's budget, or the wasm32 ceiling when none was set. */
export type BudgetLimit = "budget" | "wasm32";

const TOP = 5;

/** The plan does not fit the budget. The message names the total, the largest items, the budget
 *  and what would fit; the fields carry the same numbers for programs. */
export class BudgetError extends Error {
  readonly code = "APTKIT_BUDGET";
  readonly budgetBytes: number;
  readonly plannedBytes: number;
  readonly largest: PlanItem[];
  readonly suggestions: string[];
  /** Whether budgetBytes is the caller's budget or the wasm32 ceiling (no budget set). */
  readonly limit: BudgetLimit;

  constructor(details: BudgetErrorDetails) {
    super(budgetMessage(details));
    this.name = "BudgetError";
    this.limit = details.limit ?? "budget";
    this.budgetBytes = details.budgetBytes;
    this.plannedBytes = details.plannedBytes;
    this.largest = details.largest.map((r) => ({ ...r }));
    this.suggestions = [...details.suggestions];
  }

  /** Pages the budget gives the memory. */
  get budgetPages(): number {
    return Math.floor(this.budgetBytes / PAGE_BYTES);
  }

  /** Bytes over the usable budget. */
  get overBytes(): number {
    return this.plannedBytes - usableBytes(this.budgetBytes);
  }

  static fromPlan(plan: PlanLike, budgetBytes: number, suggestions: string[] = [], limit: BudgetLimit = "budget"): BudgetError {
    return new BudgetError({ budgetBytes, plannedBytes: plan.peakBytes, largest: largestItems(plan), suggestions, limit });
  }
}

/** The `count` largest reservations, largest first (plan order among equals). */
export function largestItems(plan: PlanLike, count = TOP): PlanItem[] {
  return plan.reservations
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.bytes - a.r.bytes || a.i - b.i)
    .slice(0, count)
    .map(({ r }) => ({ name: r.name, category: r.category, layer: r.layer, bytes: r.bytes }));
}

/** Whether a plan of `plannedBytes` fits a budget of `budgetBytes` (whole pages). */
export function fits(plannedBytes: number, budgetBytes: number): boolean {
  return plannedBytes <= usableBytes(budgetBytes);
}

/** Throws BudgetError when the plan does not fit. `suggest` runs only then (it may build plans). */
export function checkPlan(plan: PlanLike, budgetBytes: number, suggest?: () => string[]): void {
  if (fits(plan.peakBytes, budgetBytes)) return;
  throw BudgetError.fromPlan(plan, budgetBytes, suggest ? suggest() : []);
}

function budgetMessage(d: BudgetErrorDetails): string {
  const pages = Math.floor(d.budgetBytes / PAGE_BYTES);
  const usable = pages * PAGE_BYTES;
  const given = usable === d.budgetBytes ? "" : `, the whole pages of the ${groupDigits(d.budgetBytes)} bytes given`;
  // With no budget set the limit is no choice of the caller's: say which one it is.
  const holder = d.limit === "wasm32" ? "the wasm32 memory ceiling (no budget is set)" : "the budget";
  const lines = [
    `budget: the plan needs ${groupDigits(d.plannedBytes)} bytes (${pageCount(pagesFor(d.plannedBytes))} of 64 KiB) ` +
    `but ${holder} holds ${groupDigits(usable)} bytes (${pageCount(pages)}${given}, ` +
    `${formatSize(usable)}): ${groupDigits(d.plannedBytes - usable)} bytes over`,
  ];
  if (d.largest.length > 0) {
    lines.push(`largest items:`);
    const nameWidth = Math.max(...d.largest.map((r) => r.name.length));
    const bytesWidth = Math.max(...d.largest.map((r) => groupDigits(r.bytes).length));
    for (const r of d.largest.slice(0, TOP)) {
      const share = d.plannedBytes > 0 ? ((100 * r.bytes) / d.plannedBytes).toFixed(1) : "0.0";
      lines.push(`  ${r.name.padEnd(nameWidth)}  ${groupDigits(r.bytes).padStart(bytesWidth)} bytes  ` +
        `${share.padStart(5)}%  ${r.category}${r.layer ? `, layer ${r.layer}` : ""}`);
    }
  }
  if (d.suggestions.length > 0) lines.push(`would fit: ${d.suggestions.join("; ")}`);
  return lines.join("\n");
}

// ---- what would fit -----------------------------------------------------------------------------

/** Peak bytes of the plan the run would make at `batch` with weights reserved at `maxBits`. The
 *  caller builds a throwaway plan (no memory grown); it must not decrease as either grows. */
export type PlanFor = (batch: number, maxBits: number) => number;

export interface FitQuery {
  budgetBytes: number;
  /** The batch asked for: the batch search runs over 1..batch. */
  batch: number;
  /** The widest weights asked for (APT's bMax, fixed:N's N). */
  maxBits: number;
  /** The narrowest widest-width worth suggesting (APT's bMin); maxBits (no width search) when absent. */
  minBits?: number;
  /** How a width is named in the phrases: "bMax 6" by default; (b) => `fixed:${b}` for the fixed policy. */
  bitsLabel?: string | ((bits: number) => string);
}

export interface Fit {
  batch: number;
  maxBits: number;
  bytes: number;
}

export interface FitResult {
  /** The plan as asked fits. */
  fitsAsAsked: boolean;
  /** The largest batch in 1..batch that fits at maxBits. */
  batch: Fit | null;
  /** The largest width in minBits..maxBits that fits at the batch asked for. */
  bits: Fit | null;
  /** When no width fits the batch asked for: the largest batch at minBits, if larger than `batch`'s. */
  both: Fit | null;
  /** The smallest plan tried (batch 1 at minBits), when nothing fits. */
  smallest: Fit | null;
  /** The pages a budget needs to hold the plan as asked (more than MAX_PAGES when no wasm32
   *  memory can: then no budget is suggested). */
  neededPages: number;
  /** One phrase per way to fit, for BudgetError.suggestions. */
  suggestions: string[];
}

/** The largest x in lo..hi with ok(x), given ok is monotone (true up to some point, then false); lo - 1 if none. */
function largestTrue(lo: number, hi: number, ok: (x: number) => boolean): number {
  let good = lo - 1;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) {
      good = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return good;
}

/**
 * Searches for the largest batch (binary search over 1..batch) and the largest widest-width
 * (minBits..maxBits) whose plans fit the budget, and phrases them:
 *   "batch 8 fits (241,664 bytes)", "bMax 6 fits at batch 32 (255,104 bytes)".
 * and, when no width fits the batch asked for, the larger batch that minBits buys:
 *   "batch 16 with bMax 4 fits (456,544 bytes)".
 * About 2 log2(batch) + log2(maxBits - minBits + 1) + 2 calls to planFor.
 */
export function fitSuggestions(planFor: PlanFor, q: FitQuery): FitResult {
  const minBits = q.minBits ?? q.maxBits;
  const label = typeof q.bitsLabel === "function" ? q.bitsLabel : (b: number) => `${q.bitsLabel ?? "bMax"} ${b}`;
  for (const [k, v] of Object.entries({ batch: q.batch, maxBits: q.maxBits, minBits })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`fitSuggestions: ${k} must be a positive integer, got ${v}`);
  }
  if (minBits > q.maxBits) throw new RangeError(`fitSuggestions: minBits (${minBits}) exceeds maxBits (${q.maxBits})`);
  // A budget past 4 GiB still cannot give more than a wasm32 memory holds.
  const limit = Math.min(usableBytes(q.budgetBytes), MAX_BUDGET_BYTES);
  const memo = new Map<string, number>();
  const peak = (batch: number, bits: number): number => {
    const key = `${batch}/${bits}`;
    let v = memo.get(key);
    if (v === undefined) {
      v = planFor(batch, bits);
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`fitSuggestions: planFor(${batch}, ${bits}) gave ${v}`);
      memo.set(key, v);
    }
    return v;
  };
  const ok = (batch: number, bits: number) => peak(batch, bits) <= limit;
  const fit = (batch: number, bits: number): Fit => ({ batch, maxBits: bits, bytes: peak(batch, bits) });
  const asked = peak(q.batch, q.maxBits);
  const result: FitResult = {
    fitsAsAsked: asked <= limit, batch: null, bits: null, both: null, smallest: null,
    neededPages: pagesFor(asked), suggestions: [],
  };
  if (result.fitsAsAsked) return result;
  const say = (f: Fit) => `${groupDigits(f.bytes)} bytes`;

  const b = largestTrue(1, q.batch - 1, (x) => ok(x, q.maxBits));
  if (b >= 1) {
    result.batch = fit(b, q.maxBits);
    result.suggestions.push(`batch ${b} fits (${say(result.batch)})`);
  }
  const w = largestTrue(minBits, q.maxBits - 1, (x) => ok(q.batch, x));
  if (w >= minBits) {
    result.bits = fit(q.batch, w);
    result.suggestions.push(`${label(w)} fits at batch ${q.batch} (${say(result.bits)})`);
  }
  if (minBits < q.maxBits && !result.bits) {
    // No width fits the whole batch, but narrower weights may buy a larger batch than the batch
    // search alone found.
    const bb = largestTrue(1, q.batch - 1, (x) => ok(x, minBits));
    if (bb > (result.batch?.batch ?? 0)) {
      result.both = fit(bb, minBits);
      result.suggestions.push(`batch ${bb} with ${label(minBits)} fits (${say(result.both)})`);
    }
  }
  if (!result.batch && !result.bits && !result.both) {
    result.smallest = fit(1, minBits);
    result.suggestions.push(`nothing smaller fits: even batch 1 at ${label(minBits)} needs ${say(result.smallest)}`);
  }
  // Past 65,536 pages no wasm32 memory exists to hold the plan as asked: no budget is suggested.
  if (result.neededPages <= MAX_PAGES) {
    result.suggestions.push(`a budget of ${pageCount(result.neededPages)} (${groupDigits(result.neededPages * PAGE_BYTES)} bytes, ` +
      `${formatSize(result.neededPages * PAGE_BYTES)}) holds the plan as asked`);
  }
  return result;
}
