// Learners for the float-master policies (fp32, qat8), kept apart from the loop so that the
// integer path loads nothing it does not use.
import type { Learner } from "./learner.js";
import type { TrainOptions } from "./trainer.js";

export const learnerFactory: NonNullable<TrainOptions["learnerFactory"]> = async (o) => {
  if (o.policy.kind === "fp32") {
    const { Fp32Learner } = await import("./fp32.js");
    return Fp32Learner.create(o.model, { batch: o.batch, seed: o.seed, isa: o.isa }) as Promise<Learner>;
  }
  throw new RangeError(`policy ${o.policy.kind} is not available yet`);
};
