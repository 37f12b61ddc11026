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
import { decodeModelFile, encodeModelFile, sha256, type ModelFile } from "../model-file/format.js";
import type { BitsDecision, CurvePoint, EvalPoint } from "./report.js";

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
  window: { loss: number; correct: number; steps: number };
  scaling: Record<string, { output: number | null; inputError: number | null }>;
  timings: { trainMs: number; evalMs: number };
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
  return { model, state: checkState(state, stateAt) };
}

// Every field the resume path reads is checked here, so a damaged or hostile state is a
// CheckpointError before any of it reaches the engine.
function checkState(s: unknown, at: number): TrainingState {
  const fail = (field: string, what: string): never => { throw new CheckpointError(`state${field}`, at, what); };
  const show = (v: unknown) => (typeof v === "object" && v !== null ? (Array.isArray(v) ? "an array" : "an object") : String(JSON.stringify(v)).slice(0, 40));
  const obj = (v: unknown, f: string): Record<string, unknown> => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) fail(f, `must be an object, got ${show(v)}`);
    return v as Record<string, unknown>;
  };
  const arr = (v: unknown, f: string, max = 10_000_000): unknown[] => {
    if (!Array.isArray(v)) fail(f, `must be an array, got ${show(v)}`);
    if ((v as unknown[]).length > max) fail(f, `has ${(v as unknown[]).length} entries, more than ${max}`);
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
  const bitsMap = (v: unknown, f: string) => {
    for (const [k, b] of Object.entries(obj(v, f))) int(b, `${f}.${k}`, 2, 32);
  };
  const o = obj(s, "");
  for (const k of ["step", "epoch", "stepInEpoch"]) int(o[k], `.${k}`);
  const fp = obj(o.fingerprint, ".fingerprint");
  for (const k of ["model", "dataset", "schedule", "scaling"]) if (typeof fp[k] !== "string") fail(`.fingerprint.${k}`, `must be a string, got ${show(fp[k])}`);
  for (const k of ["trainCount", "seed", "batch", "epochs", "actBits", "errBits"]) int(fp[k], `.fingerprint.${k}`);
  num(fp.lr, ".fingerprint.lr", 0);
  // The policy is flat data (kind and numbers): anything nested is not one of ours.
  for (const [k, v] of Object.entries(obj(fp.policy, ".fingerprint.policy"))) {
    if (v !== null && typeof v === "object") fail(`.fingerprint.policy.${k}`, `must be a number or string, got ${show(v)}`);
  }
  arr(o.loss, ".loss").forEach((p, i) => {
    const q = obj(p, `.loss[${i}]`);
    int(q.step, `.loss[${i}].step`); int(q.epoch, `.loss[${i}].epoch`);
    num(q.loss, `.loss[${i}].loss`); num(q.accuracy, `.loss[${i}].accuracy`, 0, 1);
  });
  arr(o.evaluations, ".evaluations").forEach((p, i) => {
    const q = obj(p, `.evaluations[${i}]`);
    int(q.step, `.evaluations[${i}].step`); int(q.epoch, `.evaluations[${i}].epoch`);
    num(q.loss, `.evaluations[${i}].loss`); num(q.accuracy, `.evaluations[${i}].accuracy`, 0, 1);
  });
  arr(o.bitsTimeline, ".bitsTimeline").forEach((p, i) => {
    const q = obj(p, `.bitsTimeline[${i}]`);
    int(q.step, `.bitsTimeline[${i}].step`);
    bitsMap(q.bits, `.bitsTimeline[${i}].bits`);
  });
  arr(o.bitsHistory, ".bitsHistory").forEach((p, i) => {
    const q = obj(p, `.bitsHistory[${i}]`);
    int(q.step, `.bitsHistory[${i}].step`);
    if (typeof q.layer !== "string") fail(`.bitsHistory[${i}].layer`, "must be a string");
    num(q.G, `.bitsHistory[${i}].G`, 0);
    int(q.oldBits, `.bitsHistory[${i}].oldBits`, 2, 16); int(q.newBits, `.bitsHistory[${i}].newBits`, 2, 16);
  });
  if (o.controller !== null) {
    for (const [k, v] of Object.entries(obj(o.controller, ".controller"))) {
      const q = obj(v, `.controller.${k}`);
      num(q.g, `.controller.${k}.g`, 0); int(q.n, `.controller.${k}.n`);
    }
  }
  const w = obj(o.window, ".window");
  num(w.loss, ".window.loss", 0); int(w.correct, ".window.correct"); int(w.steps, ".window.steps");
  for (const [k, v] of Object.entries(obj(o.scaling, ".scaling"))) {
    const q = obj(v, `.scaling.${k}`);
    for (const f of ["output", "inputError"]) if (q[f] !== null) int(q[f], `.scaling.${k}.${f}`, -960, 960);
  }
  const t = obj(o.timings, ".timings");
  num(t.trainMs, ".timings.trainMs", 0); num(t.evalMs, ".timings.evalMs", 0);
  if (o.energy !== undefined) checkEnergy(o.energy, obj, num, int);
  return s as TrainingState;
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

/** Writes `bytes` to `path` atomically: the previous file stays valid until the new one is whole. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const fs = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  const tmp = `${path}.tmp-${process.pid}`;
  await fs.mkdir(dirname(path), { recursive: true });
  const handle = await fs.open(tmp, "w");
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, path);
  const dir = await fs.open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Removes temporary files that writers killed mid-write left beside `path` (never read, but on a
 *  device that loses power often they would pile up). */
export async function removeStaleTemporaries(path: string): Promise<void> {
  const fs = await import("node:fs/promises");
  const { basename, dirname, join } = await import("node:path");
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = await fs.readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))) await fs.rm(join(dirname(path), name), { force: true });
  }
}
