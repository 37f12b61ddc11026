// Checking train()'s options before any work: every option is read here once, so a wrong type,
// a value out of range, an option the chosen policy would ignore, or data that does not fit the
// model is refused up front (TypeError / RangeError whose message starts with the option's name),
// never by an engine error at the first step or by a silently ignored setting.
import type { Dataset, Split } from "../data/index.js";
import type { ModelDefinition } from "../nn/model.js";
import type { Scaling } from "../engine/engine.js";
import type { IsaChoice } from "../runtime/wasm.js";
import { TRAIN_DEFAULTS } from "./defaults.js";
import { apt, fixed, plannedTensorBits, type PolicySpec } from "./policy.js";
import type { Learner } from "../learner/learner.js";
import type { BitsDecision } from "../learner/run-report.js";
import type { LrSchedule } from "./defaults.js";

export interface TrainOptions {
  model: ModelDefinition;
  data: Split;
  policy: PolicySpec;
  /** Defaults (here and below): TRAIN_DEFAULTS (src/train/defaults.ts). */
  epochs?: number;
  /** Samples per step. Without it, a run with budgetBytes takes the largest batch up to the
   *  default that fits the budget (report.config.batchChosenBy says so). */
  batch?: number;
  /** Initial learning rate. */
  lr?: number;
  schedule?: LrSchedule;
  seed?: number;
  isa?: IsaChoice;
  actBits?: number;
  errBits?: number;
  /** Default TRAIN_DEFAULTS.scaling ("delayed") for integer policies; fp32 runs as "exact". */
  scaling?: Scaling;
  /** Measure where each training step's time goes, per layer and stage (report.profile). */
  profile?: boolean;
  /** Steps between loss-curve points. */
  logEvery?: number;
  /** Memory budget in bytes (see src/budget/budget.ts parseBudget): the engine's cap. */
  budgetBytes?: number;
  /** Write the training state to `path` every `every` steps (and at the end), atomically. */
  checkpoint?: { path: string; every: number };
  /** Continue from a checkpoint (its bytes): the run ends bit-identical to an uninterrupted one. */
  resume?: Uint8Array;
  /** Creates the learner for policies this module does not build itself (fp32, qat8). */
  learnerFactory?: (o: { model: ModelDefinition; batch: number; seed: number; isa: IsaChoice; policy: PolicySpec }) => Promise<Learner>;
  onProgress?: (p: Progress) => void;
  /** Stops the run after the step in progress: train() then writes a checkpoint (when one is
   *  configured) and returns the learner and a report whose `stopped` says where it stopped. */
  signal?: AbortSignal;
}

export interface Progress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  totalSteps: number;
  loss: number;
  accuracy: number;
  bits: Record<string, number>;
  lr: number;
  decisions: BitsDecision[];
}

export const SCHEDULES: readonly LrSchedule[] = ["constant", "cosine", "step"];
export const SCALINGS: readonly Scaling[] = ["exact", "delayed"];
export const ISA_CHOICES: readonly IsaChoice[] = ["auto", "simd", "scalar", "relaxed"];
/** Policies whose whole state a checkpoint holds (the integer model file cannot hold qat8's fp32
 *  master weights, nor fp32's float weights). */
export const CHECKPOINT_POLICIES: readonly PolicySpec["kind"][] = ["apt", "fixed"];

/** The options after checking, defaults filled in. `batch` is null when a budget is to choose it. */
export interface CheckedOptions {
  policy: PolicySpec;
  epochs: number;
  batch: number | null;
  lr: number;
  schedule: LrSchedule;
  seed: number;
  isa: IsaChoice;
  actBits: number;
  errBits: number;
  scaling: Scaling;
  logEvery: number;
  checkpoint: { path: string; every: number } | undefined;
  profile: boolean;
}

const show = (v: unknown): string => {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "function") return "a function";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return String(v);
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function integer(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number") throw new TypeError(`${name} must be an integer in ${min}..${max}, got ${show(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${show(v)}`);
  return v;
}

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) {
    const list = allowed.map((a) => JSON.stringify(a));
    const error = typeof v === "string" ? RangeError : TypeError;
    throw new error(`${name} must be ${list.slice(0, -1).join(", ")} or ${list[list.length - 1]}, got ${show(v)}`);
  }
  return v as T;
}

function isDataset(v: unknown): v is Dataset {
  return isObject(v) && typeof v.name === "string" && typeof v.count === "number" && v.images instanceof Float32Array &&
    v.labels instanceof Uint8Array && typeof v.height === "number" && typeof v.width === "number" &&
    typeof v.channels === "number" && typeof v.classes === "number";
}

/** A policy object rebuilt through its constructor, so that a hand-made one is checked like apt() / fixed() check theirs. */
function checkPolicy(p: unknown): PolicySpec {
  const expected = "a policy (apt(), fixed(bits), qat8() or fp32())";
  if (!isObject(p)) throw new TypeError(`policy must be ${expected}, got ${show(p)}`);
  try {
    switch (p.kind) {
      case "apt": {
        const { kind: _, ...rest } = p;
        return apt(rest);
      }
      case "fixed": return fixed(p.bits as number, p.rounding as "stochastic" | "nearest");
      case "qat8": return { kind: "qat8" };
      case "fp32": return { kind: "fp32" };
    }
  } catch (e) {
    if (e instanceof RangeError) throw new RangeError(`policy: ${e.message}`);
    throw e;
  }
  throw new TypeError(`policy must be ${expected}, got kind ${show(p.kind)}`);
}

/** Values per sample of a model's input shape. */
const inputSize = (model: ModelDefinition): number => model.input.reduce((a, b) => a * b, 1);

/**
 * Why `model` cannot train on `data`, naming both sides, or null when it can: a different number
 * of classes, or images of another shape than the model's input. Also refuses splits whose test
 * half differs from the train half, and sets too small to train or evaluate on.
 */
export function modelDataMismatch(model: ModelDefinition, data: Split): { option: "data" | "model"; message: string } | null {
  const { train, test } = data;
  const shape = (d: Dataset) => `${d.height}x${d.width}x${d.channels}`;
  if (train.count < 2) return { option: "data", message: `${train.name} has ${train.count} sample${train.count === 1 ? "" : "s"}; training needs at least 2` };
  if (test.count < 1) return { option: "data", message: `${test.name} has no samples to evaluate on` };
  if (shape(test) !== shape(train) || test.classes !== train.classes) {
    return { option: "data", message: `${test.name} (${shape(test)} images, ${test.classes} classes) differs from ${train.name} (${shape(train)}, ${train.classes} classes)` };
  }
  if (model.classes !== train.classes) {
    return { option: "model", message: `the model ${model.name} predicts ${model.classes} classes but ${train.name} has ${train.classes}` };
  }
  const size = train.height * train.width * train.channels;
  const fits = model.input.length === 3
    ? model.input[0] === train.height && model.input[1] === train.width && model.input[2] === train.channels
    : inputSize(model) === size;
  if (!fits) {
    return { option: "model", message: `the model ${model.name} takes [${model.input.join(", ")}] inputs (${inputSize(model)} values) ` +
      `but ${train.name} has ${shape(train)} images (${size} values)` };
  }
  return null;
}

/** Checks every option of train() (see TrainOptions) before anything is built. */
/** The scaling a run uses: the one asked for, else TRAIN_DEFAULTS.scaling; fp32 has none and runs
 *  as "exact". Both the option check and the learner's set-up read it here. */
export function scalingOf(asked: Scaling | undefined, policy: PolicySpec): Scaling {
  return asked ?? (policy.kind === "fp32" ? "exact" : TRAIN_DEFAULTS.scaling);
}

export function checkTrainOptions(o: TrainOptions): CheckedOptions {
  if (!isObject(o)) throw new TypeError(`train: options must be an object, got ${show(o)}`);
  const model = o.model as unknown;
  if (!isObject(model) || !Array.isArray(model.input) || typeof model.classes !== "number" || !Array.isArray(model.layers)) {
    throw new TypeError(`model must be a model definition (mlp(), lenet5(), sequential(...)), got ${show(model)}`);
  }
  const data = o.data as unknown;
  if (!isObject(data)) throw new TypeError(`data must be a split { train, test } of datasets, got ${show(data)}`);
  for (const half of ["train", "test"] as const) {
    if (!isDataset(data[half])) throw new TypeError(`data.${half} must be a dataset (createDataset(...)), got ${show(data[half])}`);
  }
  const policy = checkPolicy(o.policy);
  const given = <K extends keyof TrainOptions>(k: K) => o[k] !== undefined;
  const epochs = integer("epochs", o.epochs ?? TRAIN_DEFAULTS.epochs, 1, 1_000_000);
  const batch = given("batch") ? integer("batch", o.batch, 1, 65536) : o.budgetBytes !== undefined ? null : TRAIN_DEFAULTS.batch;
  const lr = o.lr ?? TRAIN_DEFAULTS.lr;
  if (typeof lr !== "number") throw new TypeError(`lr must be a positive finite number, got ${show(lr)}`);
  if (!(lr > 0) || !Number.isFinite(lr)) throw new RangeError(`lr must be a positive finite number, got ${show(lr)}`);
  const seed = integer("seed", o.seed ?? TRAIN_DEFAULTS.seed, 0, 0xffffffff);
  const schedule = oneOf("schedule", o.schedule ?? TRAIN_DEFAULTS.schedule, SCHEDULES);
  const isa = oneOf("isa", o.isa ?? "auto", ISA_CHOICES);
  const logEvery = integer("logEvery", o.logEvery ?? TRAIN_DEFAULTS.logEvery, 1, Number.MAX_SAFE_INTEGER);
  // A setting the policy would ignore is refused: a run must not record one it did not use. The
  // value a policy works at anyway (qat8's 8 bits, fp32's exact scaling) is accepted.
  const fixedBy: Record<"actBits" | "errBits" | "scaling", unknown> = policy.kind === "fp32"
    ? { actBits: null, errBits: null, scaling: "exact" }
    : policy.kind === "qat8" ? { actBits: 8, errBits: 8, scaling: undefined } : { actBits: undefined, errBits: undefined, scaling: undefined };
  for (const k of ["actBits", "errBits", "scaling"] as const) {
    if (given(k) && fixedBy[k] !== undefined && o[k] !== fixedBy[k]) {
      throw new RangeError(`${k} ${show(o[k])} does not apply to policy ${policy.kind} (${policy.kind === "fp32"
        ? "it trains in float32, every product exact" : "it runs every activation and error at 8 bits"})`);
    }
  }
  const planned = plannedTensorBits(policy);
  const actBits = integer("actBits", o.actBits ?? planned.actBits, 2, 16);
  const errBits = integer("errBits", o.errBits ?? planned.errBits, 2, 16);
  const scaling = oneOf("scaling", scalingOf(o.scaling, policy), SCALINGS);
  if (given("budgetBytes")) {
    if (typeof o.budgetBytes !== "number") throw new TypeError(`budgetBytes must be a number of bytes, got ${show(o.budgetBytes)}`);
    if (!Number.isFinite(o.budgetBytes) || o.budgetBytes < 65536) {
      throw new RangeError(`budgetBytes must be a finite number of bytes of at least one 64 KiB wasm page (65536), got ${show(o.budgetBytes)}`);
    }
  }
  let checkpoint: CheckedOptions["checkpoint"];
  if (given("checkpoint")) {
    const c = o.checkpoint as unknown;
    if (!isObject(c)) throw new TypeError(`checkpoint must be { path, every }, got ${show(c)}`);
    if (typeof c.path !== "string" || c.path === "") throw new TypeError(`checkpoint.path must be a non-empty string, got ${show(c.path)}`);
    const every = integer("checkpoint.every", c.every ?? TRAIN_DEFAULTS.checkpointEvery, 1, Number.MAX_SAFE_INTEGER);
    checkpoint = { path: c.path, every };
  }
  for (const k of ["checkpoint", "resume"] as const) {
    if (given(k) && !CHECKPOINT_POLICIES.includes(policy.kind)) {
      throw new RangeError(`${k} does not apply to policy ${policy.kind}: checkpoints hold integer models (apt, fixed) only`);
    }
  }
  if (given("resume") && !(o.resume instanceof Uint8Array)) throw new TypeError(`resume must be the checkpoint's bytes (a Uint8Array), got ${show(o.resume)}`);
  for (const k of ["learnerFactory", "onProgress"] as const) {
    if (given(k) && typeof o[k] !== "function") throw new TypeError(`${k} must be a function, got ${show(o[k])}`);
  }
  if (given("profile") && typeof o.profile !== "boolean") throw new TypeError(`profile must be true or false, got ${show(o.profile)}`);
  if (given("signal")) {
    const s = o.signal as unknown;
    if (!isObject(s) || typeof s.aborted !== "boolean" || typeof s.addEventListener !== "function") {
      throw new TypeError(`signal must be an AbortSignal, got ${show(s)}`);
    }
  }
  const mismatch = modelDataMismatch(o.model, o.data);
  if (mismatch) throw new RangeError(`${mismatch.option}: ${mismatch.message}`);
  if (batch !== null && o.data.train.count < batch) {
    throw new RangeError(`batch (${batch}) exceeds the training set (${o.data.train.name}: ${o.data.train.count} samples)`);
  }
  return { policy, epochs, batch, lr, schedule, seed, isa, actBits, errBits, scaling, logEvery, checkpoint, profile: o.profile ?? false };
}
