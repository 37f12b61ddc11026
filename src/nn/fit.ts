// Fitting a model into a budget with the planner itself: its plan inside a budget and the refusal
// with what would fit. Every figure comes from laying out a real plan (a dry engine), never from a
// formula; what the float baselines would need is src/baselines/memory.ts.
import { Engine, MIN_WORKSPACE, PlanTooLarge } from "../engine/engine.js";
import { Model, type ModelDefinition, type ModelOptions } from "./model.js";
import { isMemoryLimitError, WASM32_MAX_BYTES } from "../runtime/memory-limits.js";
import { BudgetError, fitSuggestions } from "../budget/errors.js";
import type { Planner } from "../plan/plan.js";

const PAGE_BYTES = 65536;
/** The workspace a compact plan keeps. Smaller ones split lenet5's products into blocks small
 *  enough to cost time: at batch 32 a 26 KB workspace made a 5-epoch run 1.8x slower, 41 KB about
 *  4 %; with this one the run took 5 % longer than with the whole 150 KB workspace. */
export const COMPACT_WORKSPACE = 65536;

/** Peak bytes of the plan `def` would get on a dry copy of `engine` (budget-limited workspace),
 *  measured to the end even past the wasm32 ceiling. */
export function plannedPeak(engine: Engine, def: ModelDefinition, options: ModelOptions, budgetBytes = engine.budgetBytes): number {
  const dry = engine.dry(budgetBytes, Infinity);
  try {
    new Model(def, dry, options);
  } catch (e) {
    if (e instanceof PlanTooLarge) return e.plannedBytes;
    throw e;
  }
  return dry.plan.peakBytes;
}

/**
 * The smallest budget, in whole 64 KiB pages (the grain a wasm memory grows by), that holds the
 * plan of `def` with a GEMM workspace of COMPACT_WORKSPACE (or all the products want, if less):
 * a compact plan (APT's lean settings, docs/apt.md) gives up the workspace's slack, not speed.
 */
export function compactBudget(engine: Engine, def: ModelDefinition, options: ModelOptions): number {
  const full = plannedPeak(engine, def, options, null);
  // A one-byte budget leaves the workspace at MIN_WORKSPACE; the refusal measures the plan so.
  const least = plannedPeak(engine, def, options, 1);
  const wanted = full - least + MIN_WORKSPACE;
  const bytes = least - MIN_WORKSPACE + Math.min(wanted, COMPACT_WORKSPACE);
  return Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES;
}

/** The cap a compact plan runs under: compactBudget, or the budget when that is smaller (it then
 *  refuses the plan with its own numbers). */
export function compactCap(engine: Engine, def: ModelDefinition, options: ModelOptions, budgetBytes: number | undefined): number {
  const compact = compactBudget(engine, def, options);
  return budgetBytes === undefined ? compact : Math.min(budgetBytes, Math.max(compact, PAGE_BYTES));
}

/**
 * Builds the model on `engine`; when the plan exceeds the engine's budget, or (with no budget)
 * the 4 GiB any wasm32 memory can hold, throws a BudgetError naming the largest items and the
 * batch and widest weights that would fit. Either is found while the plan is arithmetic: nothing
 * has grown then.
 */
export function buildWithinBudget(
  engine: Engine, def: ModelDefinition, options: ModelOptions, minBits = options.weightBits,
  bitsLabel?: string | ((bits: number) => string),
): Model {
  try {
    return new Model(def, engine, options);
  } catch (e) {
    // PlanTooLarge: the whole plan is laid and over the budget. A memory-limit error: a real plan
    // reached the wasm32 ceiling part way; a dry copy measures all of it for the message.
    const overBudget = e instanceof PlanTooLarge && engine.budgetBytes !== null;
    if (!overBudget && !(isMemoryLimitError(e) && e.limitBytes === WASM32_MAX_BYTES)) throw e;
    const budget = engine.budgetBytes ?? WASM32_MAX_BYTES;
    const fit = fitSuggestions(
      (batch, maxBits) => plannedPeak(engine, def, { ...options, batch, maxWeightBits: maxBits, weightBits: Math.min(options.weightBits, maxBits) }, budget),
      { budgetBytes: budget, batch: options.batch, maxBits: options.maxWeightBits, minBits: Math.min(minBits, options.maxWeightBits), bitsLabel },
    );
    let plan: Planner = engine.plan;
    if (!overBudget) {
      const dry = engine.dry(budget, Infinity);
      try {
        new Model(def, dry, options);
      } catch (inner) {
        if (!(inner instanceof PlanTooLarge)) throw inner;
      }
      plan = dry.plan;
    }
    throw BudgetError.fromPlan(plan, budget, fit.suggestions, engine.budgetBytes === null ? "wasm32" : "budget");
  }
}

export type { Planner };
