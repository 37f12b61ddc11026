// Learners for the float-master policies (fp32, qat8), kept apart from the loop so that the
// integer path loads nothing it does not use.
import type { Learner } from "../learner/learner.js";
import type { ModelDefinition } from "../nn/model.js";
import type { IsaChoice } from "../runtime/wasm.js";

/** What the trainer asks for (its TrainOptions.learnerFactory); typed here without the trainer,
 *  which stands above the baselines (docs/architecture.md). */
export interface LearnerRequest {
  model: ModelDefinition;
  batch: number;
  seed: number;
  isa: IsaChoice;
  policy: { readonly kind: string };
}

export const learnerFactory = async (o: LearnerRequest): Promise<Learner> => {
  if (o.policy.kind === "fp32") {
    const { Fp32Learner } = await import("./fp32/learner.js");
    return Fp32Learner.create(o.model, { batch: o.batch, seed: o.seed, isa: o.isa }) as Promise<Learner>;
  }
  throw new RangeError(`policy ${o.policy.kind} is not available yet`);
};
