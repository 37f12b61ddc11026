// Checkpoints: the whole training state in one versioned, checksummed file (docs/reliability.md).
//
//   0   "APTKITC\0"
//   8   u16 version (1), u16 reserved (0)
//   12  u32 model-file length M, u32 state length S
//   20  model file (docs/model-file.md: weights, widths, exponents, biases, seed, step; its own
//       SHA-256), zero-padded to 4 bytes
//   ..  training state as UTF-8 JSON, zero-padded to 4 bytes
//   ..  SHA-256 of everything before it
//
// Written atomically (a temporary file, flushed, renamed, the directory flushed) so that a crash at
// any moment leaves either the previous checkpoint or the new one, never a mixture.
import { decodeModelFile, encodeModelFile, sha256, type ModelFile } from "../model-file/codec.js";
import type { Rounding } from "../runtime/descriptors.js";
import { MODEL_FILE_MAX_BYTES } from "../model-file/read.js";
import { readUserFile, type ReadUserFileOptions } from "../io/read.js";
import { apt, type AptOptions } from "./policy.js";
import { outputKey } from "./controller.js";

const OUTPUT_SUFFIX = outputKey("");
import type { BitsDecision, CurvePoint, EvalPoint, Replan } from "../learner/run-report.js";

// Atomic writes and the stale-temporary sweep live in src/io; re-exported where callers found them.
export { writeFileAtomic, removeStaleTemporaries } from "../io/atomic.js";
export { lockPath, type PathLock } from "../io/lock.js";

export const CHECKPOINT_MAGIC = [0x41, 0x50, 0x54, 0x4b, 0x49, 0x54, 0x43, 0x00];
export const CHECKPOINT_VERSION = 1;
const HEADER = 20;
const MAX_STATE_BYTES = 64 * 2 ** 20;

/** What must match for a checkpoint to continue a run. */
export interface RunFingerprint {
  model: string;
  dataset: string;
  trainCount: number;
  policy: unknown;
  seed: number;
  batch: number;
  epochs: number;
  lr: number;
  schedule: string;
  actBits: number;
  errBits: number;
  scaling: string;
}

export interface TrainingState {
  fingerprint: RunFingerprint;
  /** Steps completed. */
  step: number;
  /** The epoch the next step belongs to, and how many of its batches are done. */
  epoch: number;
  stepInEpoch: number;
  /** Whether the evaluation closing `epoch - 1` has been recorded. */
  loss: CurvePoint[];
  evaluations: EvalPoint[];
  bitsTimeline: { step: number; bits: Record<string, number> }[];
  bitsHistory: BitsDecision[];
  controller: Record<string, { g: number; n: number }> | null;
  /** APT with tied outputs: each weighted layer's output width now (null otherwise). */
  outputBits: Record<string, number> | null;
  /** APT: the slot activations and errors are planned at now, whether it may grow, and how many
   *  decisions in a row each output has been held by it (null otherwise). */
  slot: { slot: number; capped: string | null; held: Record<string, number> } | null;
  /** The re-plans so far (absent: none). */
  replans?: Replan[];
  window: { loss: number; correct: number; steps: number };
  scaling: Record<string, { output: number | null; inputError: number | null }>;
  /** trainCpuMs: CPU time of the training steps where the platform reports it (absent before it
   *  was kept, and where it cannot be measured). */
  timings: { trainMs: number; evalMs: number; trainCpuMs?: number };
  /** Opaque state of the energy counter, if the run counts energy. */
  energy?: unknown;
}

export class CheckpointError extends Error {
  readonly code = "APTKIT_CHECKPOINT";
  constructor(readonly field: string, readonly offset: number, message: string) {
    super(`checkpoint: ${field} at byte ${offset}: ${message}`);
    this.name = "CheckpointError";
  }
}

const pad4 = (n: number) => Math.ceil(n / 4) * 4;

export async function encodeCheckpoint(model: ModelFile, state: TrainingState): Promise<Uint8Array> {
  const modelBytes = await encodeModelFile(model);
  const json = new TextEncoder().encode(JSON.stringify(state));
  const total = HEADER + pad4(modelBytes.length) + pad4(json.length) + 32;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(CHECKPOINT_MAGIC, 0);
  dv.setUint16(8, CHECKPOINT_VERSION, true);
  dv.setUint32(12, modelBytes.length, true);
  dv.setUint32(16, json.length, true);
  out.set(modelBytes, HEADER);
  const stateAt = HEADER + pad4(modelBytes.length);
  out.set(json, stateAt);
  const bodyEnd = total - 32;
  out.set(await sha256(out.slice(0, bodyEnd)), bodyEnd);
  return out;
}

export async function decodeCheckpoint(bytes: Uint8Array): Promise<{ model: ModelFile; state: TrainingState }> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("checkpoint must be a Uint8Array");
  if (bytes.length < HEADER + 32) throw new CheckpointError("header", 0, `${bytes.length} bytes is shorter than the smallest checkpoint`);
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== CHECKPOINT_MAGIC[i]) throw new CheckpointError("magic", i, "not an aptkit checkpoint");
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(8, true);
  if (version !== CHECKPOINT_VERSION) throw new CheckpointError("version", 8, `version ${version}, this aptkit reads ${CHECKPOINT_VERSION}`);
  if (dv.getUint16(10, true) !== 0) throw new CheckpointError("reserved", 10, "must be 0");
  const modelLength = dv.getUint32(12, true);
  const stateLength = dv.getUint32(16, true);
  if (stateLength > MAX_STATE_BYTES) throw new CheckpointError("stateLength", 16, `${stateLength} bytes exceeds ${MAX_STATE_BYTES}`);
  const expected = HEADER + pad4(modelLength) + pad4(stateLength) + 32;
  if (modelLength > bytes.length || expected !== bytes.length) {
    throw new CheckpointError("length", 12, `sections of ${modelLength} + ${stateLength} bytes need a ${expected}-byte file, got ${bytes.length}`);
  }
  const bodyEnd = bytes.length - 32;
  const digest = await sha256(bytes.slice(0, bodyEnd));
  for (let i = 0; i < 32; i++) {
    if (digest[i] !== bytes[bodyEnd + i]) throw new CheckpointError("checksum", bodyEnd, "SHA-256 mismatch: the file is damaged or incomplete");
  }
  let model: ModelFile;
  try {
    model = await decodeModelFile(bytes.slice(HEADER, HEADER + modelLength));
  } catch (e) {
    throw new CheckpointError("model", HEADER, (e as Error).message);
  }
  const stateAt = HEADER + pad4(modelLength);
  let state: unknown;
  try {
    state = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(stateAt, stateAt + stateLength)));
  } catch (e) {
    throw new CheckpointError("state", stateAt, `not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  return { model, state: checkState(state, stateAt, model) };
}

// Every field the resume path reads is checked here, against the limits the run implies (its
// fingerprint, which train() then compares with the run it is asked to continue, and the embedded
// model file): a damaged or hostile state is a CheckpointError naming the field before any of it
// reaches the engine or a report. The state returned is a fresh copy of the checked fields only.
function checkState(s: unknown, at: number, model: ModelFile): TrainingState {
  const fail = (field: string, what: string): never => { throw new CheckpointError(`state${field}`, at, what); };
  const show = (v: unknown) => (typeof v === "object" && v !== null ? (Array.isArray(v) ? "an array" : "an object") : String(JSON.stringify(v)).slice(0, 40));
  const obj = (v: unknown, f: string): Record<string, unknown> => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) fail(f, `must be an object, got ${show(v)}`);
    return v as Record<string, unknown>;
  };
  const arr = (v: unknown, f: string, max: number, why: string): unknown[] => {
    if (!Array.isArray(v)) fail(f, `must be an array, got ${show(v)}`);
    if ((v as unknown[]).length > max) fail(f, `has ${(v as unknown[]).length} entries, more than the ${max} ${why}`);
    return v as unknown[];
  };
  const num = (v: unknown, f: string, min = -Infinity, max = Infinity): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) fail(f, `must be a finite number in ${min}..${max}, got ${show(v)}`);
    return v as number;
  };
  const int = (v: unknown, f: string, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) fail(f, `must be an integer in ${min}..${max}, got ${show(v)}`);
    return v as number;
  };
  const str = (v: unknown, f: string, max = 1024): string => {
    if (typeof v !== "string" || v.length > max) fail(f, `must be a string of at most ${max} characters, got ${show(v)}`);
    return v as string;
  };
  const oneOf = <T extends string>(v: unknown, f: string, values: readonly T[]): T => {
    if (!values.includes(v as T)) fail(f, `must be one of ${values.join(", ")}, got ${show(v)}`);
    return v as T;
  };
  const o = obj(s, "");

  // The run: its fingerprint (train() refuses a checkpoint whose fingerprint differs from the run's).
  const fp = obj(o.fingerprint, ".fingerprint");
  const batch = int(fp.batch, ".fingerprint.batch", 1, 0xffffffff);
  const trainCount = int(fp.trainCount, ".fingerprint.trainCount", batch, 0xffffffff);
  const epochs = int(fp.epochs, ".fingerprint.epochs", 1, 0xffffffff);
  const stepsPerEpoch = Math.floor(trainCount / batch);
  const totalSteps = stepsPerEpoch * epochs;
  if (totalSteps > Number.MAX_SAFE_INTEGER) fail(".fingerprint.epochs", `${epochs} epochs of ${stepsPerEpoch} steps is more steps than can be counted exactly`);
  const policy = checkPolicy(obj(fp.policy, ".fingerprint.policy"), fail, int, num, oneOf);
  const fingerprint: RunFingerprint = {
    model: str(fp.model, ".fingerprint.model"), dataset: str(fp.dataset, ".fingerprint.dataset"), trainCount,
    policy, seed: int(fp.seed, ".fingerprint.seed", 0, 0xffffffff), batch, epochs,
    lr: num(fp.lr, ".fingerprint.lr", Number.MIN_VALUE), schedule: oneOf(fp.schedule, ".fingerprint.schedule", ["constant", "cosine", "step"]),
    actBits: int(fp.actBits, ".fingerprint.actBits", 2, 16), errBits: int(fp.errBits, ".fingerprint.errBits", 2, 16),
    scaling: oneOf(fp.scaling, ".fingerprint.scaling", ["exact", "delayed"]),
  };
  if (fingerprint.model !== model.definition.name) fail(".fingerprint.model", `names model ${show(fingerprint.model)}, the checkpoint's model file holds ${show(model.definition.name)}`);
  if (model.batch !== batch) fail(".fingerprint.batch", `is ${batch}, the checkpoint's model file was trained at batch ${model.batch}`);

  // The model's layers and the widths the policy allows.
  const layers = new Set(model.layers.map((l) => l.name));
  const [lo, hi] = policy.kind === "apt" ? [policy.bMin, policy.bMax] : [policy.bits, policy.bits];
  model.layers.forEach((l, i) => {
    if (l.bits < lo || l.bits > hi) fail(".fingerprint.policy", `allows widths ${lo}..${hi}, but the model file's layer ${l.name} (layers[${i}]) is ${l.bits} bits wide`);
  });
  const layer = (v: unknown, f: string): string => {
    if (typeof v !== "string" || !layers.has(v)) fail(f, `must name a weighted layer of the model (${[...layers].join(", ")}), got ${show(v)}`);
    return v as string;
  };
  const width = (v: unknown, f: string) => int(v, f, lo, hi);

  // Where the run is: steps done follow from the epoch and the batches done in it.
  const epoch = int(o.epoch, ".epoch", 0, epochs);
  const stepInEpoch = int(o.stepInEpoch, ".stepInEpoch", 0, epoch === epochs ? 0 : stepsPerEpoch - 1);
  const step = int(o.step, ".step", 0, totalSteps);
  if (step !== epoch * stepsPerEpoch + stepInEpoch) {
    fail(".step", `is ${step}, but epoch ${epoch} after ${stepInEpoch} of its ${stepsPerEpoch} batches is step ${epoch * stepsPerEpoch + stepInEpoch}`);
  }
  const interval = policy.kind === "apt" ? policy.interval : 0;
  const decisionSteps = interval > 0 ? Math.floor(step / interval) : 0;

  // The loss curve: one point per logged step, in order, each in the epoch its step belongs to.
  const loss: CurvePoint[] = [];
  let lastLogged = 0;
  for (const [i, p] of arr(o.loss, ".loss", step, "steps done").entries()) {
    const f = `.loss[${i}]`;
    const q = obj(p, f);
    const at = int(q.step, `${f}.step`, lastLogged + 1, step);
    const e = int(q.epoch, `${f}.epoch`, 0, epochs - 1);
    if (e !== Math.floor((at - 1) / stepsPerEpoch)) fail(`${f}.epoch`, `is ${e}, but step ${at} belongs to epoch ${Math.floor((at - 1) / stepsPerEpoch)}`);
    loss.push({ step: at, epoch: e, loss: num(q.loss, `${f}.loss`, 0), accuracy: num(q.accuracy, `${f}.accuracy`, 0, 1) });
    lastLogged = at;
  }
  // The evaluations: exactly one at the end of every epoch done.
  const evaluations: EvalPoint[] = [];
  for (const [i, p] of arr(o.evaluations, ".evaluations", epoch, "epochs done").entries()) {
    const f = `.evaluations[${i}]`;
    const q = obj(p, f);
    evaluations.push({
      step: int(q.step, `${f}.step`, (i + 1) * stepsPerEpoch, (i + 1) * stepsPerEpoch),
      epoch: int(q.epoch, `${f}.epoch`, i, i),
      accuracy: num(q.accuracy, `${f}.accuracy`, 0, 1),
      loss: num(q.loss, `${f}.loss`, 0),
    });
  }
  if (evaluations.length !== epoch) fail(".evaluations", `has ${evaluations.length} entries, but ${epoch} epochs are done`);

  // Widths over time: the start, then at most one change per decision step.
  const bitsMap = (v: unknown, f: string): Record<string, number> => {
    const m = obj(v, f);
    const out: Record<string, number> = {};
    for (const name of layers) out[name] = width(m[name], `${f}.${name}`);
    for (const k of Object.keys(m)) if (!layers.has(k)) fail(`${f}.${k}`, "is not a weighted layer of the model");
    return out;
  };
  const bitsTimeline: TrainingState["bitsTimeline"] = [];
  let lastChange = 0;
  for (const [i, p] of arr(o.bitsTimeline, ".bitsTimeline", 1 + decisionSteps, "width changes the steps done allow").entries()) {
    const f = `.bitsTimeline[${i}]`;
    const q = obj(p, f);
    const at = i === 0 ? int(q.step, `${f}.step`, 0, 0) : int(q.step, `${f}.step`, lastChange + 1, step);
    if (i > 0 && at % interval !== 0) fail(`${f}.step`, `is ${at}, not a decision step (every ${interval} steps)`);
    bitsTimeline.push({ step: at, bits: bitsMap(q.bits, `${f}.bits`) });
    lastChange = at;
  }
  if (bitsTimeline.length === 0) fail(".bitsTimeline", "must hold at least the starting widths");
  const current = bitsTimeline[bitsTimeline.length - 1].bits;
  for (const l of model.layers) {
    if (current[l.name] !== l.bits) fail(`.bitsTimeline[${bitsTimeline.length - 1}].bits.${l.name}`, `is ${current[l.name]}, but the model file's layer is ${l.bits} bits wide`);
  }

  // APT's tied outputs: their widths now, each within bMin..slotBits.
  const tied = policy.kind === "apt" && policy.tieActivations;
  let slot: TrainingState["slot"] = null;
  if (policy.kind === "apt") {
    const q = obj(o.slot, ".slot");
    const held: Record<string, number> = {};
    for (const [k, n] of Object.entries(obj(q.held, ".slot.held"))) held[layer(k, `.slot.held.${k}`)] = int(n, `.slot.held.${k}`, 1, 0xffffffff);
    const capped = q.capped === null ? null : oneOf(q.capped, ".slot.capped", ["cap", "budget"]);
    slot = { slot: int(q.slot, ".slot.slot", policy.slotBits, policy.capBits), capped, held };
  } else if (o.slot !== null && o.slot !== undefined) {
    fail(".slot", `must be null under policy ${policy.kind}, got ${show(o.slot)}`);
  }
  const replans: Replan[] = [];
  for (const [i, p] of arr(o.replans ?? [], ".replans", policy.kind === "apt" ? policy.capBits - policy.slotBits : 0, "re-plans the slots allow").entries()) {
    const f = `.replans[${i}]`;
    const q = obj(p, f);
    const r: Replan = { step: int(q.step, `${f}.step`, 1, step), slotBits: int(q.slotBits, `${f}.slotBits`, 2, 16) };
    if (q.plannedPeakBytes !== undefined) r.plannedPeakBytes = int(q.plannedPeakBytes, `${f}.plannedPeakBytes`, 0);
    if (q.refused !== undefined) r.refused = str(q.refused, `${f}.refused`);
    replans.push(r);
  }
  const outputWidth = (v: unknown, f: string) => int(v, f, policy.kind === "apt" ? policy.bMin : 2, slot ? slot.slot : 16);
  let outputBits: TrainingState["outputBits"] = null;
  if (tied) {
    const m = obj(o.outputBits, ".outputBits");
    outputBits = {};
    for (const name of layers) outputBits[name] = outputWidth(m[name], `.outputBits.${name}`);
    for (const k of Object.keys(m)) if (!layers.has(k)) fail(`.outputBits.${k}`, "is not a weighted layer of the model");
  } else if (o.outputBits !== null && o.outputBits !== undefined) {
    fail(".outputBits", `must be null without tied outputs, got ${show(o.outputBits)}`);
  }

  // The APT controller's decisions: one per tensor per decision step at most, one bit at a time.
  const bitsHistory: BitsDecision[] = [];
  let lastDecision = 0;
  const tensors = layers.size * (tied ? 2 : 1);
  for (const [i, p] of arr(o.bitsHistory, ".bitsHistory", decisionSteps * tensors, `decisions the steps done allow${tied ? " (weights and outputs)" : ""}`).entries()) {
    const f = `.bitsHistory[${i}]`;
    const q = obj(p, f);
    const at = int(q.step, `${f}.step`, Math.max(lastDecision, interval), step);
    if (at % interval !== 0) fail(`${f}.step`, `is ${at}, not a decision step (every ${interval} steps)`);
    const output = q.tensor !== undefined && oneOf(q.tensor, `${f}.tensor`, tied ? ["output"] : []) === "output";
    const w = output ? outputWidth : width;
    const d: BitsDecision = { step: at, layer: layer(q.layer, `${f}.layer`), G: num(q.G, `${f}.G`, 0), oldBits: w(q.oldBits, `${f}.oldBits`), newBits: w(q.newBits, `${f}.newBits`) };
    if (output) d.tensor = "output";
    if (Math.abs(d.newBits - d.oldBits) > 1) fail(`${f}.newBits`, `moves ${d.oldBits} -> ${d.newBits}: a decision moves one bit at a time`);
    if (q.limitedBy !== undefined) d.limitedBy = oneOf(q.limitedBy, `${f}.limitedBy`, ["bMin", "bMax", "slot", "cap", "budget"]);
    bitsHistory.push(d);
    lastDecision = at;
  }

  let controller: TrainingState["controller"] = null;
  if (policy.kind === "apt") {
    controller = {};
    // The sums restart at every decision step: at most step % interval observations are pending.
    const pending = step % interval;
    for (const [k, v] of Object.entries(obj(o.controller, ".controller"))) {
      const f = `.controller.${k}`;
      layer(tied && k.endsWith(OUTPUT_SUFFIX) ? k.slice(0, -OUTPUT_SUFFIX.length) : k, f);
      const q = obj(v, f);
      controller[k] = { g: num(q.g, `${f}.g`, 0), n: int(q.n, `${f}.n`, 0, pending) };
    }
  } else if (o.controller !== null) {
    fail(".controller", `must be null under policy ${policy.kind}, got ${show(o.controller)}`);
  }

  // The partial window: the steps since the last loss point.
  const w = obj(o.window, ".window");
  const windowSteps = int(w.steps, ".window.steps", step - lastLogged, step - lastLogged);
  const window = { loss: num(w.loss, ".window.loss", 0), correct: int(w.correct, ".window.correct", 0, windowSteps * batch), steps: windowSteps };

  const scaling: TrainingState["scaling"] = {};
  for (const [k, v] of Object.entries(obj(o.scaling, ".scaling"))) {
    const f = `.scaling.${k}`;
    layer(k, f);
    const q = obj(v, f);
    const exp = (x: unknown, g: string) => (x === null ? null : int(x, g, -960, 960));
    scaling[k] = { output: exp(q.output, `${f}.output`), inputError: exp(q.inputError, `${f}.inputError`) };
  }
  const t = obj(o.timings, ".timings");
  const timings: TrainingState["timings"] = { trainMs: num(t.trainMs, ".timings.trainMs", 0), evalMs: num(t.evalMs, ".timings.evalMs", 0) };
  if (t.trainCpuMs !== undefined) timings.trainCpuMs = num(t.trainCpuMs, ".timings.trainCpuMs", 0);
  const state: TrainingState = { fingerprint, step, epoch, stepInEpoch, loss, evaluations, bitsTimeline, bitsHistory, controller, outputBits, slot, window, scaling, timings };
  if (replans.length > 0) state.replans = replans;
  if (o.energy !== undefined) {
    checkEnergy(o.energy, obj, num, int);
    if ((o.energy as { steps: number }).steps !== step) fail(".energy.steps", `is ${(o.energy as { steps: number }).steps}, but ${step} steps are done`);
    state.energy = o.energy;
  }
  return state;
}

type CheckedPolicy = ({ kind: "apt" } & AptOptions) | { kind: "fixed"; bits: number; rounding: Rounding };

/** The fingerprint's policy: only the two a checkpoint can come from (integer weights), every
 *  option present and valid by the policy's own rules. */
function checkPolicy(
  p: Record<string, unknown>, fail: (field: string, what: string) => never,
  int: (v: unknown, f: string, min?: number, max?: number) => number,
  num: (v: unknown, f: string, min?: number, max?: number) => number,
  oneOf: <T extends string>(v: unknown, f: string, values: readonly T[]) => T,
): CheckedPolicy {
  const f = ".fingerprint.policy";
  const kind = oneOf(p.kind, `${f}.kind`, ["apt", "fixed"]);
  const rounding = oneOf(p.rounding, `${f}.rounding`, ["stochastic", "nearest"]);
  if (kind === "fixed") return { kind, bits: int(p.bits, `${f}.bits`, 2, 16), rounding };
  if (typeof p.tieActivations !== "boolean") fail(`${f}.tieActivations`, "must be true or false");
  if (typeof p.compact !== "boolean") fail(`${f}.compact`, "must be true or false");
  const options: AptOptions = {
    lean: int(p.lean, `${f}.lean`, 0, 16),
    tMin: num(p.tMin, `${f}.tMin`, 0), tMax: num(p.tMax, `${f}.tMax`, 0),
    rMin: num(p.rMin, `${f}.rMin`, 0), rMax: num(p.rMax, `${f}.rMax`, 0), slotBits: int(p.slotBits, `${f}.slotBits`, 2, 16), capBits: int(p.capBits, `${f}.capBits`, 2, 16),
    errorSlotBits: p.errorSlotBits === null ? null : int(p.errorSlotBits, `${f}.errorSlotBits`, 2, 16),
    bMin: int(p.bMin, `${f}.bMin`, 2, 16), bMax: int(p.bMax, `${f}.bMax`, 2, 16), initialBits: int(p.initialBits, `${f}.initialBits`, 2, 16),
    interval: int(p.interval, `${f}.interval`, 1, 0xffffffff), rounding, tieActivations: p.tieActivations as boolean,
    compact: p.compact as boolean,
  };
  try {
    apt(options);
  } catch (e) {
    fail(f, (e as Error).message);
  }
  return { kind, ...options };
}

function checkEnergy(
  v: unknown,
  obj: (v: unknown, f: string) => Record<string, unknown>,
  num: (v: unknown, f: string, min?: number) => number,
  int: (v: unknown, f: string) => number,
): void {
  const e = obj(v, ".energy");
  int(e.steps, ".energy.steps");
  const tally = (t: unknown, f: string) => {
    const q = obj(t, f);
    const ops = obj(q.ops, `${f}.ops`);
    for (const k of ["macs", "intMuls", "intAdds"]) {
      for (const [key, n] of Object.entries(obj(ops[k], `${f}.ops.${k}`))) num(n, `${f}.ops.${k}.${key}`, 0);
    }
    for (const k of ["fpMuls", "fpAdds", "randomDraws"]) num(ops[k], `${f}.ops.${k}`, 0);
    const bits = obj(q.bits, `${f}.bits`);
    for (const k of ["localRead", "localWrite", "mainRead", "mainWrite"]) num(bits[k], `${f}.bits.${k}`, 0);
  };
  for (const [k, t] of Object.entries(obj(e.actual, ".energy.actual"))) tally(t, `.energy.actual.${k}`);
  tally(e.asFp32, ".energy.asFp32");
}

/** The default limit on a checkpoint's size: the largest model file that can load, and the
 *  largest state. */
export const CHECKPOINT_MAX_BYTES = HEADER + pad4(MODEL_FILE_MAX_BYTES) + MAX_STATE_BYTES + 32;

/** A checkpoint's length fields, checked before its body is read: anything not starting with the
 *  checkpoint magic is refused after 8 bytes, a state over its limit after 20. */
export const CHECKPOINT_LENGTH = {
  headerBytes: HEADER,
  length(head: Uint8Array): number | undefined {
    for (let i = 0; i < Math.min(head.length, CHECKPOINT_MAGIC.length); i++) {
      if (head[i] !== CHECKPOINT_MAGIC[i]) throw new CheckpointError("magic", i, "not an aptkit checkpoint");
    }
    if (head.length < HEADER) return undefined;
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const stateLength = dv.getUint32(16, true);
    if (stateLength > MAX_STATE_BYTES) throw new CheckpointError("stateLength", 16, `${stateLength} bytes exceeds ${MAX_STATE_BYTES}`);
    return HEADER + pad4(dv.getUint32(12, true)) + pad4(stateLength) + 32;
  },
};

/**
 * The bytes of the checkpoint at `path` (then decodeCheckpoint them, or pass them to
 * train({ resume })). Throws InputFileError (APTKIT_INPUT_FILE) for a path that is not a regular
 * file or a pipe, or is larger than `maxBytes` (default CHECKPOINT_MAX_BYTES) or declares so in its
 * header; CheckpointError for a file that does not start like a checkpoint.
 */
export function readCheckpointFile(path: string, options: Partial<Omit<ReadUserFileOptions, "declared">> = {}): Promise<Uint8Array> {
  return readUserFile(path, { what: "checkpoint", maxBytes: CHECKPOINT_MAX_BYTES, ...options, declared: CHECKPOINT_LENGTH });
}
