// Synthetic experiment runs (experiments/results-table.ts's RunResult) for the tests of the results
// page and summary: only the fields the tables read are meaningful, and nothing is trained.
import type { BitsDecision } from "../../src/learner/run-report.js";
import type { RunResult } from "../../experiments/results-table.js";

export interface FakeRun {
  label: string;
  kind: RunResult["kind"];
  seed?: number;
  accuracy: number;
  joules: number;
  peakBytes: number;
  bits: number;
  cpuSeconds?: number | null;
  lean?: number;
  variant?: string;
  schedule?: RunResult["schedule"];
  /** Final weight widths per layer (default: every layer at `bits`). */
  finalBits?: Record<string, number>;
  bitsHistory?: BitsDecision[];
  /** The measured peak, when it should differ from the planned one. */
  measuredPeakBytes?: number | null;
  replans?: RunResult["report"]["replans"];
}

export const LAYERS = ["conv", "fc"] as const;

export function fakeRun(f: FakeRun): RunResult {
  const { kind, joules } = f;
  const energy = {
    model: "test", arithmetic: kind === "fp32" ? "float" : "integer", rounding: "nearest", levels: { main: "1MB", local: "8KB" },
    steps: 10, totalJoules: joules, computeJoules: joules / 4, memoryJoules: (3 * joules) / 4, perStepJoules: joules / 10,
    fp32Joules: kind === "fp32" ? joules : joules * 5,
    opCounts: { macs: { [kind === "fp32" ? "32x32" : "8x8"]: 1000 }, intMuls: {}, intAdds: {}, fpMuls: 0, fpAdds: 0, randomDraws: 0 },
    bytes: { localRead: 10, localWrite: 10, mainRead: 100, mainWrite: 20 }, byWhat: { "fc forward": joules * 0.6, "conv forward": joules * 0.4 },
  };
  const finalBits = f.finalBits ?? Object.fromEntries(LAYERS.map((l) => [l, f.bits]));
  const isDefaultApt = kind === "apt" && f.lean === 0 && f.variant === undefined;
  return {
    label: f.label, kind, seed: f.seed ?? 1, schedule: f.schedule ?? "cosine", peakBytes: f.peakBytes, wallSeconds: 1, isDefaultApt,
    ...(f.lean !== undefined ? { lean: f.lean } : {}),
    ...(f.variant !== undefined ? { variant: f.variant } : {}),
    ...(kind === "apt" && f.variant !== "outputs at the slot" ? { finalOutputBits: Object.fromEntries(LAYERS.map((l) => [l, 8])) } : {}),
    report: {
      version: 1, model: "lenet5", dataset: "fashion-mnist", policy: f.label, config: { scaling: kind === "fp32" ? "exact" : "delayed" }, isa: "simd",
      accuracy: f.accuracy,
      loss: [{ step: 10, epoch: 0, loss: 0.5, accuracy: f.accuracy }], evaluations: [{ step: 10, epoch: 0, accuracy: f.accuracy, loss: 0.5 }],
      steps: 10, layers: LAYERS.map((name) => ({ name, kind: "dense", parameters: 100, outputShape: [1, 10] })),
      bitsHistory: f.bitsHistory ?? [],
      bitsTimeline: [{ step: 0, bits: finalBits }], finalBits, averageWeightBits: f.bits, modelSha256: "0".repeat(64),
      timings: { totalSeconds: 1, trainSeconds: 0.5, evalSeconds: 0.1, msPerStep: 50, trainCpuSeconds: f.cpuSeconds === undefined ? 10 : f.cpuSeconds },
      memory: {
        budgetBytes: null, plannedPeakBytes: f.peakBytes,
        measuredPeakBytes: f.measuredPeakBytes !== undefined ? f.measuredPeakBytes : kind === "fp32" ? null : f.peakBytes,
        workspaceBytes: 0, breakdown: { byCategory: {}, byLayer: {} }, codeBytes: 0, fp32Bytes: 0, qat8Bytes: 0,
      },
      ...(f.replans ? { replans: f.replans } : {}),
      energy,
    } as RunResult["report"],
  };
}

/** A width decision that moved `layer` (its weights, or its output) from `from` to `to`. */
export function move(layer: string, from: number, to: number, output = false, step = 50): BitsDecision {
  return { step, layer, G: 1, oldBits: from, newBits: to, ...(output ? { tensor: "output" as const } : {}) };
}
