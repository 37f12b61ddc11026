// The training loop: batches, learning-rate schedule, evaluation, the precision policy's
// decisions, and the report. It drives any Learner, so every policy is measured the same way.
import { batches, gather, sampleSize, type Dataset } from "../data/index.js";
import type { IsaChoice } from "../runtime/wasm.js";
import { layerName, type ModelDefinition } from "../nn/model.js";
import { IntegerLearner } from "./integer.js";
import { LinearLayer } from "../nn/layers/linear.js";
import { applyModelFile } from "../model-file/load.js";
import { modelFileOf } from "../model-file/save.js";
import { decodeCheckpoint, encodeCheckpoint, lockPath, removeStaleTemporaries, writeFileAtomic, type RunFingerprint, type TrainingState } from "./checkpoint.js";
import { Engine, type TimeStage } from "../engine/engine.js";
import { baselineMemory } from "../baselines/memory.js";
import { plannedPeak } from "../nn/fit.js";
import { EnergyCounter, masterWeightOps, type EnergyOp } from "../energy/energy.js";
import { StepProfile } from "../energy/profile.js";
import type { Learner } from "../learner/learner.js";
import { budgetSearch, initialBits, plannedTensorBits, policyName, widestBits, type PolicySpec } from "./policy.js";
import { AptController } from "./controller.js";
import { BudgetError, checkPlan, fits, type PlanLike } from "../budget/errors.js";
import { breakdown } from "../budget/fit-table.js";
import type { BitsDecision, CurvePoint, EvalPoint, Replan, TrainReport } from "../learner/run-report.js";
import { TRAIN_DEFAULTS } from "./defaults.js";
import { checkTrainOptions, scalingOf, type CheckedOptions, type Progress, type TrainOptions } from "./options.js";
import type { LrSchedule } from "./defaults.js";

/** Training produced a non-finite loss: stopped, the last checkpoint (if any) kept intact. */
export class DivergenceError extends Error {
  readonly code = "APTKIT_DIVERGENCE";
  constructor(readonly step: number, readonly loss: number, readonly lr: number, readonly checkpoint: string | null, cause = `loss ${loss}`) {
    super(`training diverged at step ${step} (${cause}): lower the learning rate (now ${lr}), ` +
      `or raise bMin / tMin so the weights keep more precision` +
      (checkpoint ? `; the last good checkpoint is ${checkpoint}` : ""));
    this.name = "DivergenceError";
  }
}



/** The process's CPU time in milliseconds, or NaN where the platform does not say (browsers). */
function cpuNow(): number {
  const p = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process;
  if (typeof p?.cpuUsage !== "function") return NaN;
  const u = p.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** JSON with object keys sorted: two settings compare equal whatever order their keys were written in. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_, x) => (x !== null && typeof x === "object" && !Array.isArray(x)
    ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : x));
}

/** Output samples per controller interval: each costs lenet5 about 0.6 ms at batch 32, so two an
 *  interval of 50 steps add about 0.02 ms a step (under 1 %). */
const OUTPUT_SAMPLES = 2;

/** How long a run watching a signal computes before letting other work run (milliseconds). */
const YIELD_MS = 20;

export interface TrainResult {
  report: TrainReport;
  learner: Learner;
}


export function learningRate(schedule: LrSchedule, lr0: number, step: number, total: number): number {
  switch (schedule) {
    case "constant": return lr0;
    // Decays to 5% of lr0: late steps still move codes, which a quantized model needs.
    case "cosine": return lr0 * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(total, 1))));
    case "step": return lr0 * 0.5 ** Math.floor((3 * step) / Math.max(total, 1));
  }
}

export async function createLearner(o: TrainOptions, batch: number, seed: number, policy: PolicySpec = o.policy): Promise<Learner> {
  const isa = o.isa ?? "auto";
  const p = policy;
  const budgetBytes = o.budgetBytes;
  // A refusal searches widths down to bMin (apt) or 2 (fixed:N) and names them as the policy's flag.
  const search = budgetSearch(p);
  if (p.kind === "apt" || p.kind === "fixed") {
    const planned = plannedTensorBits(p);
    const base = {
      batch, seed, isa, weightBits: initialBits(p), maxWeightBits: widestBits(p),
      actBits: o.actBits ?? planned.actBits, errBits: o.errBits ?? planned.errBits, rounding: p.rounding, scaling: scalingOf(o.scaling, p), budgetBytes,
      minBits: search.minBits, bitsLabel: search.bitsLabel, tieActivations: p.kind === "apt" && p.tieActivations,
      compact: p.kind === "apt" && p.compact,
      // Outputs start where the weights do: narrow while updates are large, widened as the statistic asks.
      outputBits: p.kind === "apt" ? p.initialBits : undefined,
    };
    if (p.kind === "apt" && budgetBytes !== undefined) {
      // Budget-aware APT: reserve the widest weights that fit (the controller then logs "budget"
      // when it wants more); if not even the initial width fits, the learner refuses with a
      // BudgetError saying what would.
      base.maxWeightBits = await widestThatFits(o.model, base, p.initialBits, p.bMax, budgetBytes);
    }
    return IntegerLearner.create(o.model, base);
  }
  if (p.kind === "qat8") {
    return IntegerLearner.create(o.model, {
      batch, seed, isa, weightBits: 8, maxWeightBits: 8, minBits: 8, actBits: 8, errBits: 8,
      rounding: "nearest", scaling: scalingOf(o.scaling, p), masterWeights: true, budgetBytes,
    });
  }
  // The float learners load only when asked for, so the integer path loads nothing it does not use.
  const factory = o.learnerFactory ?? (await import("../baselines/factory.js")).learnerFactory;
  const learner = await factory({ model: o.model, batch, seed, isa, policy: p });
  // fp32 plans its buffers but its memory is not capped: at least refuse a plan over the budget.
  const planned = (learner as { plan?: PlanLike }).plan;
  if (budgetBytes !== undefined && planned) checkPlan(planned, budgetBytes);
  return learner;
}

/** The widest weights in lo..hi whose plan fits the budget (lo when none wider does): what budget-aware APT reserves. */
export async function widestThatFits(
  def: ModelDefinition, o: { batch: number; seed: number; isa: IsaChoice; actBits?: number; errBits?: number },
  lo: number, hi: number, budgetBytes: number,
): Promise<number> {
  const probe = await Engine.create(o.isa, { budgetBytes });
  for (let bits = hi; bits > lo; bits--) {
    const peak = plannedPeak(probe, def, {
      batch: o.batch, seed: o.seed, actBits: o.actBits ?? 8, errBits: o.errBits ?? 8, weightBits: lo, maxWeightBits: bits,
    });
    if (peak <= probe.budgetBytes!) return bits;
  }
  return lo;
}

/**
 * The largest batch in 1..upTo whose plan fits `budgetBytes` for this model and policy (at the
 * narrowest weights the policy would accept under the budget), or null when not even batch 1 fits
 * (createLearner then refuses with a BudgetError that says what would).
 */
export async function largestBatchThatFits(
  model: ModelDefinition, policy: PolicySpec, budgetBytes: number,
  o: { upTo: number; seed?: number; isa?: IsaChoice; actBits?: number; errBits?: number },
): Promise<number | null> {
  const seed = o.seed ?? TRAIN_DEFAULTS.seed, isa = o.isa ?? "auto";
  let peakAt: (batch: number) => Promise<number>;
  if (policy.kind === "fp32") {
    const { Fp32Learner } = await import("../baselines/fp32/learner.js");
    peakAt = async (batch) => (await Fp32Learner.create(model, { batch, seed, isa })).plan.peakBytes;
  } else {
    const probe = await Engine.create(isa, { budgetBytes });
    const bits = policy.kind === "qat8" ? 8 : initialBits(policy);
    const widths = policy.kind === "qat8"
      ? { actBits: 8, errBits: 8, masterWeights: true }
      : { actBits: o.actBits ?? 8, errBits: o.errBits ?? 8 };
    peakAt = async (batch) => plannedPeak(probe, model, { batch, seed, weightBits: bits, maxWeightBits: bits, ...widths });
  }
  // Plans grow with the batch: a binary search over 1..upTo.
  let lo = 1, hi = o.upTo, best: number | null = null;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(await peakAt(mid), budgetBytes)) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

/** Accuracy and mean loss of a learner on a whole data set, a batch at a time. */
export function evaluate(learner: Learner, ds: Dataset): { accuracy: number; loss: number } {
  const batch = learner.batch;
  const size = sampleSize(ds);
  const images = new Float32Array(batch * size);
  const labels = new Uint8Array(batch);
  let correct = 0, loss = 0;
  for (let start = 0; start < ds.count; start += batch) {
    const count = Math.min(batch, ds.count - start);
    const idx = Array.from({ length: count }, (_, k) => start + k);
    gather(ds, idx, images, labels);
    const r = learner.evaluate(images.subarray(0, count * size), labels.subarray(0, count), count);
    correct += r.correct;
    loss += r.loss * count;
  }
  return { accuracy: correct / ds.count, loss: loss / ds.count };
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const c: CheckedOptions = checkTrainOptions(o);
  const { epochs, lr, seed, logEvery, schedule, policy } = c;
  const started = performance.now();
  const { train: trainSet, test } = o.data;
  let batch = c.batch;
  let batchChosenBy: "budget" | undefined;
  if (batch === null) {
    // A budget and no batch: the largest batch up to the default that fits, rather than a refusal
    // of the default when a smaller batch would have trained.
    const upTo = Math.min(TRAIN_DEFAULTS.batch, trainSet.count);
    const fitting = await largestBatchThatFits(o.model, policy, o.budgetBytes!, { upTo, seed, isa: c.isa, actBits: c.actBits, errBits: c.errBits });
    batch = fitting ?? upTo;
    if (fitting !== null) batchChosenBy = "budget";
  }
  // A run that grows an output's slot swaps its learner for a re-planned one (IntegerLearner.replanned).
  let learner = await createLearner(o, batch, seed, policy);
  const stepsPerEpoch = Math.floor(trainSet.count / batch);
  const totalSteps = stepsPerEpoch * epochs;
  // What the learner can do beyond the Learner contract is its capability, never its class.
  let integer = learner.integer;
  const first = integer;
  const controller = policy.kind === "apt" && first
    ? new AptController(policy, Object.fromEntries(Object.keys(learner.weightBits()).map((l) => [l, first.weightTensor(l).maxBits])),
      Object.keys(first.outputBits() ?? {}))
    : null;
  // Outputs are sampled a few times an interval (on the steps that close each part of it): each
  // sample reads a bounded number of codes, so the statistic costs well under 1 % of the steps.
  const sampleEvery = policy.kind === "apt" ? Math.max(1, Math.floor(policy.interval / OUTPUT_SAMPLES)) : 0;
  // The energy account counts the kernel calls of training steps and precision changes, not of
  // evaluation (docs/energy.md).
  const energy = new EnergyCounter({
    arithmetic: integer ? "integer" : "float",
    rounding: integer ? integer.engine.rounding : "nearest",
  });
  let counting = false;
  const listen = (op: EnergyOp) => { if (counting) energy.record(op); };
  const hookable = learner as Learner & {
    onOp?: ((op: EnergyOp) => void) | null;
    onTime?: ((what: string, stage: TimeStage, ms: number) => void) | null;
  };
  if (integer) integer.engine.onOp = listen;
  else if ("onOp" in hookable) hookable.onOp = listen;
  // The measured account: each kernel call's time (from the integer engine, or from a learner that
  // times its own kernels), each step's.
  const profile = c.profile ? new StepProfile(learner.layers().map((l) => l.name)) : null;
  if (profile) {
    const time = (what: string, stage: TimeStage, ms: number) => { if (counting) profile.record(what, stage, ms); };
    if (integer) integer.engine.onTime = time;
    else if ("onTime" in hookable) hookable.onTime = time;
  }
  // qat8's master-weight quantization and SGD run outside the kernels that report themselves.
  const masterOps = policy.kind === "qat8" ? masterWeightOps(learner.layers().filter((l) => l.parameters > 0).map((l) => {
    const weights = learner.weightCounts()[l.name] ?? 0;
    return { name: l.name, weights, biases: l.parameters - weights, weightBits: learner.weightBits()[l.name] ?? 8 };
  })) : [];
  const size = sampleSize(trainSet);
  const images = new Float32Array(batch * size);
  const labels = new Uint8Array(batch);
  let loss: CurvePoint[] = [];
  let evaluations: EvalPoint[] = [];
  let bitsTimeline: { step: number; bits: Record<string, number> }[] = [{ step: 0, bits: learner.weightBits() }];
  let replans: Replan[] = [];
  let step = 0, trainMs = 0, evalMs = 0, firstEpoch = 0, skip = 0;
  // CPU time beside wall time: on a shared or throttled machine it is the part of a step's cost
  // that another process's load does not inflate. NaN once unknown (a platform without it, or a
  // checkpoint from before it was kept).
  let trainCpuMs = 0;
  let windowLoss = 0, windowCorrect = 0, windowSteps = 0;
  const fingerprint: RunFingerprint = {
    model: o.model.name, dataset: trainSet.name, trainCount: trainSet.count, policy, seed, batch, epochs, lr,
    schedule, actBits: c.actBits, errBits: c.errBits, scaling: c.scaling,
  };
  if (o.resume) {
    if (!integer) throw new RangeError(`resume: policy ${policy.kind} has no integer model to restore`);
    const { model, state } = await decodeCheckpoint(o.resume);
    const mismatch = Object.keys(fingerprint).filter((k) =>
      canonical((state.fingerprint as unknown as Record<string, unknown>)[k]) !== canonical((fingerprint as unknown as Record<string, unknown>)[k]));
    if (mismatch.length > 0) {
      throw new RangeError(`resume: the checkpoint belongs to another run (differs in ${mismatch.map((k) =>
        `${k}: ${JSON.stringify((state.fingerprint as unknown as Record<string, unknown>)[k])} vs ${JSON.stringify((fingerprint as unknown as Record<string, unknown>)[k])}`).join(", ")})`);
    }
    if (state.slot && state.slot.slot !== integer.model.options.actBits) {
      // The run had re-planned wider before the checkpoint: plan at that slot again first.
      learner = await integer.replanned(state.slot.slot);
      integer = learner.integer!;
    }
    applyModelFile(integer.model, model);
    integer.engine.step = model.step;
    for (const l of integer.model.layers) if (l instanceof LinearLayer) l.restoreScalingState(state.scaling[l.name] ?? { output: null, inputError: null });
    controller?.restore(state.controller ?? {}, state.bitsHistory);
    if (state.slot) controller?.restoreSlot(state.slot);
    replans = state.replans ?? [];
    for (const [layer, bits] of Object.entries(state.outputBits ?? {})) integer.setOutputBits(layer, bits);
    if (state.energy) energy.restore(state.energy as Parameters<EnergyCounter["restore"]>[0]);
    ({ step, epoch: firstEpoch, stepInEpoch: skip } = state);
    ({ loss, evaluations, bitsTimeline } = state);
    ({ loss: windowLoss, correct: windowCorrect, steps: windowSteps } = state.window);
    ({ trainMs, evalMs } = state.timings);
    trainCpuMs = state.timings.trainCpuMs ?? NaN;
  }
  const checkpointPath = c.checkpoint?.path ?? null;
  // A DivergenceError names only a checkpoint this run has written.
  let checkpointWritten = false;
  // One writer per checkpoint path: a second run on the same path is refused (LockedError, naming
  // the owner) before its first step, and the sweep then removes only temporaries whose writer is gone.
  const checkpointLock = checkpointPath !== null ? await lockPath(checkpointPath) : null;
  try {
    if (checkpointPath !== null) await removeStaleTemporaries(checkpointPath);
    /** The whole state after `stepInEpoch` batches of `epoch`. */
    const saveCheckpoint = async (epoch: number, stepInEpoch: number) => {
      if (checkpointPath === null || !integer) return;
      const scaling: TrainingState["scaling"] = {};
      for (const l of integer.model.layers) if (l instanceof LinearLayer) scaling[l.name] = l.scalingState();
      const state: TrainingState = {
        fingerprint, step, epoch, stepInEpoch, loss, evaluations, bitsTimeline,
        bitsHistory: controller ? controller.log : [], controller: controller ? controller.state() : null,
        outputBits: integer.outputBits(), slot: controller ? controller.slotState() : null, replans,
        window: { loss: windowLoss, correct: windowCorrect, steps: windowSteps }, scaling,
        timings: Number.isFinite(trainCpuMs) ? { trainMs, evalMs, trainCpuMs } : { trainMs, evalMs }, energy: energy.snapshot(),
      };
      await writeFileAtomic(checkpointPath, await encodeCheckpoint(modelFileOf(learner), state));
      checkpointWritten = true;
    };
    const lastGood = () => (checkpointWritten ? checkpointPath : null);
    let stopped: TrainReport["stopped"];
    // Steps run synchronously: with a signal to watch, give its sender (a signal handler, a button)
    // a turn of the event loop now and then, or the abort would only land after the run.
    let lastYield = performance.now();
    const yieldNow = (): Promise<void> => new Promise((resume) => (typeof setImmediate === "function" ? setImmediate(resume) : setTimeout(resume, 0)));
    epochs: for (let epoch = firstEpoch; epoch < epochs; epoch++) {
      let t0 = performance.now(), c0 = cpuNow();
      let stepInEpoch = 0;
      for (const indices of batches(trainSet, batch, seed, epoch, { dropLast: true })) {
        if (epoch === firstEpoch && stepInEpoch < skip) {
          stepInEpoch++;
          continue;
        }
        if (o.signal && performance.now() - lastYield > YIELD_MS) {
          await yieldNow();
          lastYield = performance.now();
        }
        if (o.signal?.aborted) {
          // Stopped between steps: the state is whole, so the checkpoint resumes exactly here.
          trainMs += performance.now() - t0;
          trainCpuMs += cpuNow() - c0;
          await saveCheckpoint(epoch, stepInEpoch);
          stopped = { step, reason: String(o.signal.reason ?? "aborted"), checkpoint: lastGood() };
          break epochs;
        }
        gather(trainSet, indices, images, labels);
        const rate = learningRate(schedule, lr, step, totalSteps);
        const stepStarted = profile ? performance.now() : 0;
        const sampling = controller !== null && integer !== undefined && integer.outputBits() !== null && (step + 1) % sampleEvery === 0;
        if (sampling) integer!.sampleUsage = true;
        counting = true;
        const r = learner.trainStep(images, labels, rate);
        for (const op of masterOps) energy.record(op);
        if (!Number.isFinite(r.loss)) throw new DivergenceError(step, r.loss, rate, lastGood());
        step++;
        stepInEpoch++;
        windowLoss += r.loss;
        windowCorrect += r.correct;
        windowSteps++;
        let decisions: BitsDecision[] = [];
        if (controller && integer) {
          // G carries the learning rate; the schedule's part of it (rate / lr) is factored out, so
          // a decaying schedule does not by itself widen every layer (docs/apt.md).
          const schedule = rate / lr;
          for (const [layer, G] of Object.entries(integer.progress())) {
            // An update statistic that is not finite means the arithmetic blew up: stop like a NaN loss.
            if (!Number.isFinite(G)) throw new DivergenceError(step, r.loss, rate, lastGood(), `${layer}'s progress statistic G is ${G}`);
            controller.observe(layer, schedule > 0 ? G / schedule : G);
          }
          if (sampling) {
            integer.sampleUsage = false;
            for (const [layer, rms] of Object.entries(integer.outputUsage())) controller.observeOutput(layer, rms);
          }
          decisions = controller.decide(step, learner.weightBits(), integer.outputBits() ?? {});
          for (const d of decisions) {
            if (d.newBits === d.oldBits) continue;
            if (d.tensor === "output") integer.setOutputBits(d.layer, d.newBits);
            else integer.setBits(d.layer, d.newBits);
          }
          if (decisions.some((d) => d.tensor === undefined && d.newBits !== d.oldBits)) bitsTimeline.push({ step, bits: learner.weightBits() });
        }
        counting = false;
        energy.endStep();
        profile?.endStep(performance.now() - stepStarted);
        const wider = controller?.slotRequest() ?? null;
        if (wider !== null && integer) {
          // An output stayed held by its slot: plan activations and errors a bit wider, from a
          // snapshot, within the cap and the budget (docs/apt.md). Not training time.
          const t = performance.now(), cpu = cpuNow();
          try {
            learner = await integer.replanned(wider);
            integer = learner.integer!;
            controller!.grow(wider);
            replans.push({ step, slotBits: wider, plannedPeakBytes: integer.memory().plannedPeakBytes });
          } catch (e) {
            if (!(e instanceof BudgetError)) throw e;
            controller!.stopGrowing("budget");
            replans.push({ step, slotBits: wider, refused: e.message.split("\n")[0] });
          }
          t0 += performance.now() - t;
          c0 += cpuNow() - cpu;
        }
        if (step % logEvery === 0 || step === totalSteps) {
          const point = { step, epoch, loss: windowLoss / windowSteps, accuracy: windowCorrect / (windowSteps * batch) };
          loss.push(point);
          o.onProgress?.({ epoch, epochs, step, stepsPerEpoch, totalSteps, loss: point.loss, accuracy: point.accuracy,
            bits: learner.weightBits(), lr: rate, decisions });
          windowLoss = windowCorrect = windowSteps = 0;
        }
        if (c.checkpoint && step % c.checkpoint.every === 0 && stepInEpoch < stepsPerEpoch) {
          // The epoch's time so far goes into the checkpoint; writing it is not training time.
          const now = performance.now();
          trainMs += now - t0;
          trainCpuMs += cpuNow() - c0;
          await saveCheckpoint(epoch, stepInEpoch);
          t0 = performance.now();
          c0 = cpuNow();
        }
      }
      const t1 = performance.now();
      trainMs += t1 - t0;
      trainCpuMs += cpuNow() - c0;
      const e = evaluate(learner, test);
      evalMs += performance.now() - t1;
      evaluations.push({ step, epoch, accuracy: e.accuracy, loss: e.loss });
      if (c.checkpoint) await saveCheckpoint(epoch + 1, 0);
    }
    if (stopped && evaluations.at(-1)?.step !== step) {
      // The checkpoint is written; this evaluation is for the report only (a resumed run does not see
      // it). A stop right after an epoch's end already has that epoch's evaluation.
      const t1 = performance.now();
      const e = evaluate(learner, test);
      evalMs += performance.now() - t1;
      const epoch = Math.min(Math.floor(step / Math.max(stepsPerEpoch, 1)), epochs - 1);
      evaluations.push({ step, epoch, accuracy: e.accuracy, loss: e.loss });
    }
    bitsTimeline.push({ step, bits: learner.weightBits() });
    if (integer) integer.engine.onOp = integer.engine.onTime = null;
    else {
      if ("onOp" in hookable) hookable.onOp = null;
      if ("onTime" in hookable) hookable.onTime = null;
    }
    const memory = await memoryAccount(learner, o, batch, seed, c.isa);
    const finalBits = learner.weightBits();
    const finalOutputBits = integer?.outputBits() ?? null;
    const counts = learner.weightCounts();
    const totalWeights = Object.values(counts).reduce((a, b) => a + b, 0);
    const averageWeightBits = Object.entries(counts).reduce((s, [l, n]) => s + n * finalBits[l], 0) / totalWeights;
    const report: TrainReport = {
      version: 1,
      model: o.model.name,
      dataset: trainSet.name.replace(/\/train$/, ""),
      policy: policyName(policy),
      config: {
        epochs, batch, lr, schedule, seed, actBits: c.actBits, errBits: c.errBits, scaling: c.scaling, policy,
        ...(batchChosenBy ? { batchChosenBy } : {}),
      },
      isa: learner.isa,
      accuracy: evaluations[evaluations.length - 1].accuracy,
      loss,
      evaluations,
      steps: step,
      layers: learner.layers(),
      bitsHistory: controller ? controller.log : [],
      bitsTimeline,
      finalBits,
      finalOutputBits,
      averageWeightBits,
      modelSha256: await learner.modelSha256(),
      memory,
      energy: energy.report(),
      timings: {
        totalSeconds: (performance.now() - started) / 1000,
        trainSeconds: trainMs / 1000,
        evalSeconds: evalMs / 1000,
        msPerStep: trainMs / Math.max(step, 1),
        trainCpuSeconds: Number.isFinite(trainCpuMs) ? trainCpuMs / 1000 : null,
      },
      ...(profile ? { profile: profile.report() } : {}),
      ...(replans.length > 0 ? { replans } : {}),
      ...(stopped ? { stopped } : {}),
    };
    return { report, learner };
  } finally {
    await checkpointLock?.release();
  }
}

/** The memory section of every policy's report: the run's own plan, and the float baselines'. */
async function memoryAccount(learner: Learner, o: TrainOptions, batch: number, seed: number, isa: IsaChoice): Promise<TrainReport["memory"]> {
  const integer = learner.integer;
  if (integer) {
    return { ...integer.memory(), ...await baselineMemory(o.model, batch, seed, isa, integer.engine) };
  }
  const planned = (learner as { plan?: PlanLike }).plan;
  if (!planned) throw new RangeError(`the ${learner.constructor.name} learner has no memory plan (a plan property) to report`);
  const probe = await Engine.create(isa);
  const base = await baselineMemory(o.model, batch, seed, isa, probe);
  return {
    budgetBytes: o.budgetBytes ?? null,
    plannedPeakBytes: planned.peakBytes,
    // fp32 places every buffer once when it is created and does not fill its memory with a
    // canary, so there is no high-water mark to read.
    measuredPeakBytes: null,
    workspaceBytes: planned.reservations.filter((r) => r.category === "workspace").reduce((a, r) => a + r.bytes, 0),
    breakdown: breakdown(planned),
    codeBytes: probe.codeBytes,
    ...base,
  };
}

export { layerName };
export type { LrSchedule, Progress, TrainOptions };
