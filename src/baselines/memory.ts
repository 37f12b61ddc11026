// What the float baselines would need for the same model and batch: fp32 from its own planner,
// qat8 from a dry integer plan with master weights. Every figure is a laid-out plan, not a formula.
import type { Engine } from "../engine/engine.js";
import { plannedPeak } from "../nn/fit.js";
import type { ModelDefinition } from "../nn/model.js";
import { isMemoryLimitError } from "../runtime/memory-limits.js";
import type { IsaChoice } from "../runtime/wasm.js";

export interface BaselineMemory {
  /** Peak bytes of fp32() training of the same model and batch (its own plan); when fp32Refused,
   *  where its plan had reached when it passed the wasm32 ceiling (so: more than this). */
  fp32Bytes: number;
  /** Why fp32() could not run this model and batch at all (its plan passes 4 GiB), or null. */
  fp32Refused: RangeError | null;
  /** Peak bytes of qat8() training: int8 compute plus the fp32 master copy and gradients. */
  qat8Bytes: number;
}

/** What the float baselines would need for this model and batch, from their own plans. */
export async function baselineMemory(def: ModelDefinition, batch: number, seed: number, isa: IsaChoice, engine: Engine): Promise<BaselineMemory> {
  const { Fp32Learner } = await import("./fp32/learner.js");
  const qat8Bytes = plannedPeak(engine, def, {
    batch, seed, actBits: 8, errBits: 8, weightBits: 8, maxWeightBits: 8, masterWeights: true,
  }, null);
  try {
    const fp32 = await Fp32Learner.create(def, { batch, seed, isa });
    return { fp32Bytes: fp32.plan.peakBytes, fp32Refused: null, qat8Bytes };
  } catch (e) {
    // Its planner refuses past the wasm32 ceiling before growing anything.
    if (!isMemoryLimitError(e)) throw e;
    return { fp32Bytes: e.endBytes, fp32Refused: e, qat8Bytes };
  }
}

