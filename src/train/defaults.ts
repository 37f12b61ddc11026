// The one set of training defaults: train() and `aptkit train` both read them from here, so a
// default changes in one line for the library and the command line alike.

export type LrSchedule = "constant" | "cosine" | "step";

export const TRAIN_DEFAULTS: Readonly<{
  epochs: number;
  /** The batch when neither a batch nor a budget is given; with a budget, the largest batch up to
   *  this one that fits it. */
  batch: number;
  /** Initial learning rate. */
  lr: number;
  schedule: LrSchedule;
  /** How integer policies choose each output's exponent: "delayed" (one pass, the previous step's
   *  exponent) matched "exact" (a maximum pass first) over seeds 1..3 on digits (97.83 vs 97.92 %)
   *  and Fashion-MNIST (89.01 vs 88.97 %) with lenet5 under APT, for one GEMM pass instead of up to
   *  two (docs/results.md). fp32 has no scaling and runs as "exact". */
  scaling: "exact" | "delayed";
  seed: number;
  /** Steps between loss-curve points. */
  logEvery: number;
  /** Steps between checkpoints. */
  checkpointEvery: number;
}> = Object.freeze({
  epochs: 6,
  batch: 32,
  lr: 0.2,
  schedule: "cosine",
  scaling: "delayed",
  seed: 1,
  logEvery: 10,
  checkpointEvery: 100,
});
