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

function checkState(s: unknown, at: number): TrainingState {
  const fail = (field: string, what: string): never => { throw new CheckpointError(`state.${field}`, at, what); };
  if (s === null || typeof s !== "object" || Array.isArray(s)) fail("", "must be an object");
  const o = s as Record<string, unknown>;
  const int = (k: string) => {
    if (!Number.isInteger(o[k]) || (o[k] as number) < 0) fail(k, `must be a non-negative integer, got ${JSON.stringify(o[k])}`);
  };
  for (const k of ["step", "epoch", "stepInEpoch"]) int(k);
  for (const k of ["loss", "evaluations", "bitsTimeline", "bitsHistory"]) if (!Array.isArray(o[k])) fail(k, "must be an array");
  for (const k of ["fingerprint", "window", "scaling", "timings"]) {
    if (o[k] === null || typeof o[k] !== "object") fail(k, "must be an object");
  }
  if (o.controller !== null && typeof o.controller !== "object") fail("controller", "must be an object or null");
  const w = o.window as Record<string, unknown>;
  for (const k of ["loss", "correct", "steps"]) if (typeof w[k] !== "number" || !Number.isFinite(w[k])) fail(`window.${k}`, "must be a finite number");
  return s as TrainingState;
}

/** Writes `bytes` to `path` atomically: the previous file stays valid until the new one is whole. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const fs = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  const tmp = `${path}.tmp-${process.pid}`;
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
