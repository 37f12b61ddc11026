// What the training loop drives: one model under one precision policy. The integer engine
// (fixed, APT, qat8) and the fp32 reference trainer both implement it, so the loop, the reports
// and the comparisons are shared.
import type { LayerInfo } from "./run-report.js";

export interface BatchResult {
  /** Mean loss over the batch. */
  loss: number;
  /** Correctly classified samples in the batch. */
  correct: number;
}

export interface Learner {
  readonly isa: string;
  readonly batch: number;
  layers(): LayerInfo[];
  /** One SGD step on exactly `batch` samples (images: batch x H*W*C floats in [0, 1]). */
  trainStep(images: Float32Array, labels: Uint8Array, lr: number): BatchResult;
  /** Forward only on `count <= batch` samples. */
  evaluate(images: Float32Array, labels: Uint8Array, count: number): BatchResult;
  /** Weight width per weighted layer (32 for float weights). */
  weightBits(): Record<string, number>;
  /** Parameters per weighted layer. */
  weightCounts(): Record<string, number>;
  /** SHA-256 (hex) of the model's weights as stored: two runs compare bit for bit through it. */
  modelSha256(): Promise<string>;
}
