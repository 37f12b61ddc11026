// The integer learner: a Model on an Engine, under the fixed or APT policy. Weights exist only as
// packed codes; a precision change re-encodes them in place inside the reserved buffer.
import type { Rounding } from "../runtime/descriptors.js";
import type { IsaChoice } from "../runtime/wasm.js";
import { Engine, PURPOSE, STREAMS, type Scaling } from "../engine/engine.js";
import type { WeightTensor } from "../nn/layer.js";
import { LinearLayer } from "../nn/layers/linear.js";
import { Model, type ModelDefinition, type ModelOptions } from "../nn/model.js";
import type { BatchResult, IntegerModelAccess, Learner, MemoryAccount } from "../learner/learner.js";
import { buildWithinBudget, compactCap } from "../nn/fit.js";
import { breakdown } from "../budget/fit-table.js";
import type { LayerInfo } from "../learner/run-report.js";
import { sha256Hex } from "../learner/hash.js";
import { rmsCode } from "../format/usage.js";
import { applyModelFile } from "../model-file/load.js";
import { modelFileOf } from "../model-file/save.js";

export interface IntegerLearnerOptions {
  batch: number;
  seed: number;
  isa?: IsaChoice;
  weightBits: number;
  maxWeightBits: number;
  actBits?: number;
  errBits?: number;
  rounding?: Rounding;
  scaling?: Scaling;
  /** qat8: an fp32 master copy takes the updates. */
  masterWeights?: boolean;
  /** Memory cap in bytes: the engine's memory cannot grow past it, and a plan that does not fit
   *  is refused with a BudgetError before training. */
  budgetBytes?: number;
  /** Cap the memory at the fewest whole pages that hold the plan (compactBudget), within
   *  budgetBytes: the GEMM workspace shrinks into what the last page leaves. */
  compact?: boolean;
  /** The narrowest widest-width worth suggesting when refusing (APT's bMin). */
  minBits?: number;
  /** Each weighted layer's output activations and the error flowing back into them share a width
   *  that the APT controller moves (Model.outputBits), starting at `outputBits`. Off: the planned widths. */
  tieActivations?: boolean;
  /** The outputs' starting width when tied (default: actBits). */
  outputBits?: number;
  /** How a refusal names a width: "bMax 6" (default) or, for fixed:N, (b) => `fixed:${b}`. */
  bitsLabel?: string | ((bits: number) => string);
}


export class IntegerLearner implements Learner {
  private constructor(readonly engine: Engine, readonly model: Model, private readonly created: { def: ModelDefinition; options: IntegerLearnerOptions }) {}

  /** Its integer model is what the trainer counts, adapts, checkpoints and resumes. */
  get integer(): IntegerModelAccess {
    return this;
  }

  static async create(def: ModelDefinition, o: IntegerLearnerOptions): Promise<IntegerLearner> {
    const budgetBytes = o.compact
      ? compactCap(await Engine.create(o.isa ?? "auto", { budgetBytes: o.budgetBytes }), def, modelOptions(o), o.budgetBytes)
      : o.budgetBytes;
    const engine = await Engine.create(o.isa ?? "auto", { budgetBytes });
    engine.seed = o.seed >>> 0;
    engine.rounding = o.rounding ?? "stochastic";
    engine.scaling = o.scaling ?? "exact";
    const model = buildWithinBudget(engine, def, modelOptions(o), o.minBits, o.bitsLabel);
    if (o.tieActivations) {
      const start = Math.min(o.outputBits ?? o.actBits ?? 8, o.actBits ?? 8, o.errBits ?? 8);
      model.outputBits = Object.fromEntries(model.layers.filter((l) => l instanceof LinearLayer).map((l) => [l.name, start]));
    }
    return new IntegerLearner(engine, model, { def, options: o });
  }

  /**
   * A learner planned with activations and errors `bits` wide that holds this one's whole training
   * state: weights and exponents, the step (which names every stochastic-rounding draw), the
   * ranges delayed scaling carries, the output widths and the engine's listeners. How a run grows
   * an output's slot (docs/apt.md): the snapshot is the model file a checkpoint holds, so the run
   * goes on exactly as if it had been planned that wide from a checkpoint. Throws the BudgetError
   * of IntegerLearner.create when the wider plan does not fit.
   */
  async replanned(bits: number): Promise<IntegerLearner> {
    const { def, options } = this.created;
    const { actBits: oldAct, errBits: oldErr } = this.model.options;
    // Errors planned apart from the activations (a narrower error slot) keep their width.
    const next = await IntegerLearner.create(def, { ...options, actBits: bits, errBits: oldErr === oldAct ? bits : oldErr });
    applyModelFile(next.model, modelFileOf(this.model));
    next.engine.step = this.engine.step;
    const { actBits: newAct, errBits: newErr } = next.model.options;
    const mine = this.weighted(), theirs = next.weighted();
    mine.forEach((l, i) => {
      // Carried exponents are stated at the planned widths: keep the range's top where it was.
      const s = l.scalingState();
      theirs[i].restoreScalingState({
        output: s.output === null ? null : s.output + oldAct - newAct,
        inputError: s.inputError === null ? null : s.inputError + oldErr - newErr,
      });
    });
    if (this.model.outputBits) next.model.outputBits = { ...this.model.outputBits };
    next.engine.onOp = this.engine.onOp;
    next.engine.onTime = this.engine.onTime;
    return next;
  }

  memory(): MemoryAccount {
    const e = this.engine;
    return {
      budgetBytes: e.budgetBytes,
      plannedPeakBytes: e.plan.peakBytes,
      measuredPeakBytes: e.measuredPeakBytes(),
      workspaceBytes: e.workspaceBytes,
      breakdown: breakdown(e.plan),
      codeBytes: e.codeBytes,
    };
  }

  get isa(): string {
    return this.engine.isa;
  }

  get batch(): number {
    return this.model.options.batch;
  }

  private weighted(): LinearLayer[] {
    return this.model.layers.filter((l): l is LinearLayer => l instanceof LinearLayer);
  }

  layers(): LayerInfo[] {
    return this.model.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      parameters: l.parameterCount(),
      outputShape: [...l.outputShape],
    }));
  }

  trainStep(images: Float32Array, labels: Uint8Array, lr: number): BatchResult {
    return this.model.trainStep(images, labels, lr);
  }

  /** G of each weighted layer's last update (docs/apt.md). */
  progress(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.weighted()) {
      const u = l.lastUpdate();
      if (u && u.count > 0) out[l.name] = u.sumAbs / u.count;
    }
    return out;
  }

  /** Scores a batch with exact scaling whatever the training scaling, and leaves the exponents
   *  delayed scaling carries from step to step as they were: a model is evaluated as a loaded model
   *  file predicts (which has no previous step to carry from), and how often a run evaluates never
   *  changes what it trains. */
  evaluate(images: Float32Array, labels: Uint8Array, count: number): BatchResult {
    const scaling = this.engine.scaling;
    const carried = this.weighted().map((l) => l.scalingState());
    this.engine.scaling = "exact";
    try {
      const logits = this.model.predict(images, count);
      return scoreLogits(logits, labels, count, this.model.definition.classes);
    } finally {
      this.engine.scaling = scaling;
      this.weighted().forEach((l, i) => l.restoreScalingState(carried[i]));
    }
  }

  /** The training width of each weighted layer's output and the error into it (null: untied, the planned widths). */
  outputBits(): Record<string, number> | null {
    return this.model.outputBits ? { ...this.model.outputBits } : null;
  }

  /** Sets a layer's output width for the next training steps (within the planned widths). */
  setOutputBits(layer: string, bits: number): void {
    const widths = this.model.outputBits;
    if (!widths || !Object.hasOwn(widths, layer)) throw new RangeError(`no tied output named ${JSON.stringify(layer)}`);
    const { actBits, errBits } = this.model.options;
    if (!Number.isInteger(bits) || bits < 2 || bits > Math.min(actBits, errBits)) {
      throw new RangeError(`${layer}: output width ${bits} outside the planned 2..${Math.min(actBits, errBits)}`);
    }
    widths[layer] = bits;
  }

  /** Whether the next steps read their outputs' code usage (for the controller's decision steps). */
  get sampleUsage(): boolean {
    return this.weighted().some((l) => l.sampleUsage);
  }

  set sampleUsage(on: boolean) {
    for (const l of this.weighted()) l.sampleUsage = on;
  }

  /** Each weighted layer's last sampled output and error usage, as the lower rms code of the two
   *  (a layer without an error sample, none arriving, uses its output's alone). */
  outputUsage(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.weighted()) {
      const { output, error } = l.usage;
      if (!output) continue;
      const a = rmsCode(output);
      out[l.name] = error ? Math.min(a, rmsCode(error)) : a;
    }
    return out;
  }

  weightTensor(layer: string): WeightTensor {
    const l = this.weighted().find((x) => x.name === layer);
    if (!l) throw new RangeError(`no weighted layer named ${JSON.stringify(layer)}`);
    return l.weights()[0];
  }

  /** Re-encodes a layer's weights at `bits` (one bit at a time), value range kept. */
  setBits(layer: string, bits: number): number {
    const w = this.weightTensor(layer);
    if (bits > w.maxBits) throw new RangeError(`${layer}: ${bits} bits exceeds the ${w.maxBits} bits the plan reserved`);
    const index = this.model.layers.findIndex((l) => l.name === layer);
    let clamped = 0;
    while (w.bits !== bits) {
      const to = bits > w.bits ? w.bits + 1 : w.bits - 1;
      clamped += this.engine.changePrecision(w.at, w.rows, w.cols, w.bits, to, index * STREAMS + PURPOSE.precision, `${layer} precision change`);
      // One more bit halves the step (codes doubled); one fewer doubles it.
      w.exp += to > w.bits ? -1 : 1;
      w.bits = to;
    }
    return clamped;
  }

  weightBits(): Record<string, number> {
    return Object.fromEntries(this.weighted().map((l) => [l.name, l.weights()[0].bits]));
  }

  weightCounts(): Record<string, number> {
    return Object.fromEntries(this.weighted().map((l) => [l.name, l.weights()[0].rows * l.weights()[0].cols]));
  }

  async modelSha256(): Promise<string> {
    const parts: Uint8Array[] = [];
    for (const l of this.weighted()) {
      const w = l.weights()[0];
      parts.push(new Uint8Array(new Int32Array([w.bits, w.exp, w.rows, w.cols]).buffer));
      parts.push(l.weightBytes().slice(), l.biasBytes().slice());
    }
    return sha256Hex(parts);
  }
}

function modelOptions(o: IntegerLearnerOptions): ModelOptions {
  return {
    batch: o.batch, seed: o.seed, actBits: o.actBits ?? 8, errBits: o.errBits ?? 8,
    weightBits: o.weightBits, maxWeightBits: o.maxWeightBits, masterWeights: o.masterWeights,
  };
}

/** Mean cross-entropy and correct count of float logits (the reporting edge). */
export function scoreLogits(logits: Float64Array, labels: Uint8Array, count: number, classes: number): BatchResult {
  let loss = 0, correct = 0;
  for (let n = 0; n < count; n++) {
    const row = logits.subarray(n * classes, (n + 1) * classes);
    let max = -Infinity, arg = 0;
    for (let j = 0; j < classes; j++) if (row[j] > max) { max = row[j]; arg = j; }
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(row[j] - max);
    loss += Math.log(sum) + max - row[labels[n]];
    if (arg === labels[n]) correct++;
  }
  return { loss: loss / Math.max(count, 1), correct };
}

export type { MemoryAccount };
