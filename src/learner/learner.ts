// What the training loop drives: one model under one precision policy. The integer engine
// (fixed, APT, qat8) and the fp32 reference trainer both implement it, so the loop, the reports
// and the comparisons are shared.
import type { Breakdown } from "../budget/fit-table.js";
import type { Engine } from "../engine/engine.js";
import type { WeightTensor } from "../nn/layer.js";
import type { Model } from "../nn/model.js";
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
  /** Present when the weights are integer codes in an engine (apt, fixed:N, qat8): the trainer
   *  reaches the model, its widths and its plan only through this capability, never by class. */
  readonly integer?: IntegerModelAccess;
}

/** What a learner with an integer model lets the trainer do: count its kernel calls (engine.onOp),
 *  adapt its widths (APT), checkpoint and resume it, and report its own memory plan. */
export interface IntegerModelAccess {
  readonly engine: Engine;
  readonly model: Model;
  memory(): MemoryAccount;
  weightTensor(layer: string): WeightTensor;
  /** The progress statistic G per weighted layer, from the last step's updates (docs/apt.md). */
  progress(): Record<string, number>;
  setBits(layer: string, bits: number): number;
  /** Training widths of the weighted layers' outputs (null when untied: the planned widths). */
  outputBits(): Record<string, number> | null;
  setOutputBits(layer: string, bits: number): void;
  /** While on, steps sample their outputs' code usage (outputUsage). */
  sampleUsage: boolean;
  /** Per weighted layer, the last sample's rms code (the lower of its output's and its error's). */
  outputUsage(): Record<string, number>;
  /** The same training state in a plan with activations and errors `bits` wide (a slot re-plan). */
  replanned(bits: number): Promise<Learner & { readonly integer: IntegerModelAccess }>;
}

export interface MemoryAccount {
  budgetBytes: number | null;
  plannedPeakBytes: number;
  measuredPeakBytes: number;
  workspaceBytes: number;
  breakdown: Breakdown;
  /** Bytes of the .wasm that ran: flash, reported apart from the plan. */
  codeBytes: number;
}
