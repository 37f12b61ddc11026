// The record of a training run: what report.json holds (docs/report.md documents every field).
import type { EnergyReport } from "../energy/energy.js";
import type { ProfileReport } from "../energy/profile.js";

export interface BitsDecision {
  step: number;
  layer: string;
  /** Absent: the layer's weights. "output": its output activations and the error flowing back into them. */
  tensor?: "output";
  /** The statistic that decided: for weights G = mean(|lr * g|) / step with the learning-rate
   *  schedule factored out (lr0 / lr); for an output, the rms of its codes (src/format/usage.ts rmsCode). */
  G: number;
  oldBits: number;
  newBits: number;
  /** Why the width did not move as G asked, when it did not ("bMax", "bMin", "slot", "budget"). */
  limitedBy?: string;
}

/** A re-plan: the run laid its plan again with activations and errors `slotBits` wide, because an
 *  output stayed held by its slot (docs/apt.md); `refused` when the budget did not hold it. */
export interface Replan {
  step: number;
  slotBits: number;
  plannedPeakBytes?: number;
  refused?: string;
}

export interface LayerInfo {
  name: string;
  kind: string;
  parameters: number;
  /** Shape of the layer's output (per batch). */
  outputShape: number[];
}

export interface CurvePoint {
  step: number;
  epoch: number;
  loss: number;
  /** Training accuracy of the batches since the previous point (0..1). */
  accuracy: number;
}

export interface EvalPoint {
  step: number;
  epoch: number;
  accuracy: number;
  loss: number;
}

export interface TrainReport {
  version: 1;
  model: string;
  dataset: string;
  policy: string;
  config: Record<string, unknown>;
  isa: string;
  /** Final test accuracy, 0..1. */
  accuracy: number;
  /** Training loss curve. */
  loss: CurvePoint[];
  /** Held-out evaluation after each epoch. */
  evaluations: EvalPoint[];
  steps: number;
  layers: LayerInfo[];
  bitsHistory: BitsDecision[];
  /** Weight width of each weighted layer at each logged step (for plots). */
  bitsTimeline: { step: number; bits: Record<string, number> }[];
  finalBits: Record<string, number>;
  /** APT with tied outputs: the training width each weighted layer's output (and the error into
   *  it) ended at; null for other policies. */
  finalOutputBits: Record<string, number> | null;
  /** Parameter-weighted mean weight width at the end. */
  averageWeightBits: number;
  /** SHA-256 of the final packed weights, exponents and widths (hex). */
  modelSha256: string;
  /** Wall time of the run, its training steps and evaluations; trainCpuSeconds is the training
   *  steps' CPU time (null where the platform does not report it, or for a run resumed from a
   *  checkpoint that did not keep it). */
  timings: { totalSeconds: number; trainSeconds: number; evalSeconds: number; msPerStep: number; trainCpuSeconds: number | null };
  /** Where a training step's time goes, measured (train({ profile: true })): docs/kernels.md. */
  profile?: ProfileReport;
  /** APT: each time the run planned its activations and errors wider (absent: it never did). */
  replans?: Replan[];
  /** The memory account of the run's own plan, for every policy: docs/budget.md. */
  memory?: {
    budgetBytes: number | null;
    plannedPeakBytes: number;
    /** The highest byte the run wrote (integer policies); null for fp32, which keeps no high-water mark. */
    measuredPeakBytes: number | null;
    workspaceBytes: number;
    breakdown: { byCategory: Record<string, number>; byLayer: Record<string, number> };
    codeBytes: number;
    fp32Bytes: number;
    qat8Bytes: number;
  };
  /** The energy account of the training steps: docs/energy.md. */
  energy?: EnergyReport;
  /** Present when the run was stopped (train()'s signal) before its last step: the steps done,
   *  why, and the checkpoint that resumes it (null when none was configured). */
  stopped?: { step: number; reason: string; checkpoint: string | null };
}
