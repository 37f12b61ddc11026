// Accounting a run's memory with the planner itself: its plan inside a budget, the refusal with
// what would fit, and what the float baselines would need for the same model and batch. Every
// figure comes from laying out a real plan (a dry engine), never from a formula.
import { Engine, PlanTooLarge } from "../nn/engine.js";
import { Model, type ModelDefinition, type ModelOptions } from "../nn/model.js";
import type { IsaChoice } from "../runtime/wasm.js";
import { BudgetError, fitSuggestions } from "./errors.js";
import type { Planner } from "./plan.js";

/** Peak bytes of the plan `def` would get on a dry copy of `engine` (budget-limited workspace). */
export function plannedPeak(engine: Engine, def: ModelDefinition, options: ModelOptions, budgetBytes = engine.budgetBytes): number {
  const dry = engine.dry(budgetBytes);
  try {
    new Model(def, dry, options);
  } catch (e) {
    if (e instanceof PlanTooLarge) return e.plannedBytes;
    throw e;
  }
  return dry.plan.peakBytes;
}

/**
 * Builds the model on `engine`; when the plan exceeds the engine's budget, throws a BudgetError
 * naming the largest items and the batch and widest weights that would fit.
 */
export function buildWithinBudget(
  engine: Engine, def: ModelDefinition, options: ModelOptions, minBits = options.weightBits,
  bitsLabel?: string | ((bits: number) => string),
): Model {
  try {
    return new Model(def, engine, options);
  } catch (e) {
    if (!(e instanceof PlanTooLarge) || engine.budgetBytes === null) throw e;
    const budget = engine.budgetBytes;
    const fit = fitSuggestions(
      (batch, maxBits) => plannedPeak(engine, def, { ...options, batch, maxWeightBits: maxBits, weightBits: Math.min(options.weightBits, maxBits) }, budget),
      { budgetBytes: budget, batch: options.batch, maxBits: options.maxWeightBits, minBits: Math.min(minBits, options.maxWeightBits), bitsLabel },
    );
    throw BudgetError.fromPlan(engine.plan, budget, fit.suggestions);
  }
}

export interface BaselineMemory {
  /** Peak bytes of fp32() training of the same model and batch (its own plan). */
  fp32Bytes: number;
  /** Peak bytes of qat8() training: int8 compute plus the fp32 master copy and gradients. */
  qat8Bytes: number;
}

/** What the float baselines would need for this model and batch, from their own plans. */
export async function baselineMemory(def: ModelDefinition, batch: number, seed: number, isa: IsaChoice, engine: Engine): Promise<BaselineMemory> {
  const { Fp32Learner } = await import("../train/fp32.js");
  const fp32 = await Fp32Learner.create(def, { batch, seed, isa });
  const qat8Bytes = plannedPeak(engine, def, {
    batch, seed, actBits: 8, errBits: 8, weightBits: 8, maxWeightBits: 8, masterWeights: true,
  }, null);
  return { fp32Bytes: fp32.plan.peakBytes, qat8Bytes };
}

export type { Planner };
