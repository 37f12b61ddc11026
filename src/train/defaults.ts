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
  seed: 1,
  logEvery: 10,
  checkpointEvery: 100,
});
