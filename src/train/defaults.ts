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
  /** How integer policies choose each output's exponent: "delayed" (one pass at the exponent the
   *  previous step's maximum chose) matched "exact" (the maximum first) over seeds 1..3 with lenet5
   *  under APT: digits 97.80 vs 97.92 %, Fashion-MNIST 89.06 vs 88.97 % (docs/kernels.md), for one
   *  GEMM pass a product instead of up to two. fp32 has no scaling and runs as "exact". */
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
