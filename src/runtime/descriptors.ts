// The descriptor blocks of the fused GEMM ABI (docs/abi.md), written into wasm memory by the host.
// Every field is addressed by its name in src/runtime/abi-layout.ts, the one layout the kernels
// read too.

import {
  STATUS_BITS, STATUS_DIMENSION, STATUS_EXPONENT, STATUS_LABEL_WIDTH, STATUS_MODE, STATUS_RANGE, STATUS_SHAPE,
  STATUS_STAGE, STATUS_VIEW, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE, STATUS_WORKSPACE,
} from "./abi-status.js";
import {
  VIEW_FIELDS, VIEW_BYTES, V_KIND, V_BASE, V_BITS, V_ROWS, V_COLS, V_TRANS, V_N, V_H, V_W, V_C, V_KH, V_KW, V_SH, V_SW,
  V_PH, V_PW, V_DH, V_DW, V_OH, V_OW, VIEW_KIND_PLAIN, VIEW_KIND_IM2COL, VIEW_KIND_WFLIP,
  STAGE_I32_FIELDS, STAGE_F64_AT, STAGE_F64_FIELDS, STAGE_BYTES, S_MODE, S_RELU, S_ROUNDING, S_SEED, S_STEP, S_STREAM,
  S_BIAS, S_BIAS_BITS, S_OUT_BITS, S_C, S_TRACK_MAX, SF_BIAS_SCALE, SF_SCALE, SF_MAX_ABS, SF_SUM_ABS, SF_SATURATED,
  SF_CHANGED, SF_COUNT, STAGE_MODE_STORE, STAGE_MODE_MAXABS, STAGE_MODE_REQUANT, STAGE_MODE_UPDATE, STAGE_STORE_F32,
} from "./abi-layout.js";
import { ROUND_NEAREST, ROUND_STOCHASTIC } from "../format/codes.js";

export { VIEW_FIELDS, VIEW_BYTES, STAGE_BYTES };

/** What each status code of the wasm exports means (src/runtime/abi-status.ts: one value per
 *  meaning, shared with assembly/). Positive returns k+1 are data errors the caller decodes. */
export const ABI_STATUS: Readonly<Record<number, string>> = {
  [STATUS_BITS]: "bits out of range",
  [STATUS_SHAPE]: "operand shapes differ (inner dimensions, or an output view not M x N)",
  [STATUS_WORKSPACE]: "workspace too small",
  [STATUS_VIEW]: "inconsistent operand view",
  [STATUS_STAGE]: "unknown output stage",
  [STATUS_RANGE]: "a buffer lies outside wasm memory (or its size, a count or a row passes 32 bits)",
  [STATUS_DIMENSION]: "a dimension that must be positive is 0 or negative (or a kernel is larger than its padded input)",
  [STATUS_WINDOW]: "pooling window or stride of 0",
  [STATUS_WINDOW_TOO_LARGE]: "pooling window larger than its input",
  [STATUS_MODE]: "rounding mode not 0 (stochastic) or 1 (nearest)",
  [STATUS_LABEL_WIDTH]: "label width not 1 or 4 bytes",
  [STATUS_EXPONENT]: "tensor exponent outside -960..960",
};

/** The gemm entry points' codes (a subset of ABI_STATUS, kept under its former name). */
export const GEMM_STATUS = ABI_STATUS;

/** "status -6: <meaning>" for any export's status code. */
export function abiStatusMessage(status: number): string {
  return `status ${status}: ${ABI_STATUS[status] ?? (status > 0 ? `bad data element ${status - 1}` : "unknown status")}`;
}

/** "status -6: <meaning>" for a gemm status code. */
export function gemmStatusMessage(status: number): string {
  return abiStatusMessage(status);
}

/** The error for a wasm export that refused its arguments: names the operation (`what`, e.g. a
 *  layer), the export and the status. A RangeError: every status is a bad size, shape or width. */
export function kernelStatusError(what: string, exportName: string, status: number): RangeError & { readonly status: number } {
  return Object.assign(new RangeError(`${what}: kernel refused its arguments (${exportName} ${abiStatusMessage(status)})`), { status });
}

/** A packed matrix used as-is (rows x cols at `bits`). */
export interface PlainView {
  kind: "plain";
  at: number;
  bits: number;
  rows: number;
  cols: number;
  trans?: boolean;
}

/**
 * The patch matrix of a convolution over an NHWC tensor stored as N*H lines of W*C codes:
 * row (n, oy, ox), column (ky, kx, c). A 1x1 kernel with stride 1 and no padding is the tensor
 * itself seen as (N*H*W) x C, which is how convolution outputs are addressed.
 */
export interface Im2colView {
  kind: "im2col";
  at: number;
  bits: number;
  n: number; h: number; w: number; c: number;
  kh: number; kw: number;
  strideH: number; strideW: number;
  padH: number; padW: number;
  dilateH: number; dilateW: number;
  outH: number; outW: number;
  trans?: boolean;
}

/** Conv weights (Cout x KH*KW*Cin) seen as the backward-data operand: rows (ky', kx', co) of the
 *  spatially flipped kernel, columns ci. */
export interface WflipView {
  kind: "wflip";
  at: number;
  bits: number;
  cout: number; cin: number; kh: number; kw: number;
  trans?: boolean;
}

export type View = PlainView | Im2colView | WflipView;

export function viewRows(v: View): number {
  switch (v.kind) {
    case "plain": return v.rows;
    case "im2col": return v.n * v.outH * v.outW;
    case "wflip": return v.kh * v.kw * v.cout;
  }
}

export function viewCols(v: View): number {
  switch (v.kind) {
    case "plain": return v.cols;
    case "im2col": return v.kh * v.kw * v.c;
    case "wflip": return v.cin;
  }
}

/** The tensor N x H x W x C itself, as a (N*H*W) x C matrix. */
export function tensorView(at: number, bits: number, n: number, h: number, w: number, c: number, trans = false): Im2colView {
  return {
    kind: "im2col", at, bits, n, h, w, c, kh: 1, kw: 1, strideH: 1, strideW: 1,
    padH: 0, padW: 0, dilateH: 1, dilateW: 1, outH: h, outW: w, trans,
  };
}

// Descriptors are written for every kernel call (a few dozen a training step): one Int32Array and
// one Float64Array over the whole memory are kept per buffer (a memory.grow replaces the buffer)
// instead of a fresh view per call. Descriptors sit at 8-byte aligned offsets (the plan aligns to 16).
let words: { buffer: ArrayBuffer; i32: Int32Array; f64: Float64Array } | null = null;

function wordsOf(memory: ArrayBuffer, at: number): { i32: Int32Array; f64: Float64Array } {
  if (at % 8 !== 0) throw new RangeError(`descriptor at ${at} is not 8-byte aligned`);
  if (words === null || words.buffer !== memory) {
    words = { buffer: memory, i32: new Int32Array(memory, 0, memory.byteLength >> 2), f64: new Float64Array(memory, 0, memory.byteLength >> 3) };
  }
  return words;
}

export function writeView(memory: ArrayBuffer, at: number, v: View): void {
  const w = wordsOf(memory, at).i32;
  const o = at >> 2;
  w.fill(0, o, o + VIEW_FIELDS);
  writeViewWords(w, o, v);
}

function writeViewWords(w: Int32Array, o: number, v: View): void {
  w[o + V_BASE] = v.at;
  w[o + V_BITS] = v.bits;
  w[o + V_ROWS] = viewRows(v);
  w[o + V_COLS] = viewCols(v);
  w[o + V_TRANS] = v.trans ? 1 : 0;
  if (v.kind === "plain") {
    w[o + V_KIND] = VIEW_KIND_PLAIN;
  } else if (v.kind === "im2col") {
    w[o + V_KIND] = VIEW_KIND_IM2COL;
    w[o + V_N] = v.n; w[o + V_H] = v.h; w[o + V_W] = v.w; w[o + V_C] = v.c;
    w[o + V_KH] = v.kh; w[o + V_KW] = v.kw; w[o + V_SH] = v.strideH; w[o + V_SW] = v.strideW;
    w[o + V_PH] = v.padH; w[o + V_PW] = v.padW; w[o + V_DH] = v.dilateH; w[o + V_DW] = v.dilateW;
    w[o + V_OH] = v.outH; w[o + V_OW] = v.outW;
  } else {
    w[o + V_KIND] = VIEW_KIND_WFLIP;
    // WFLIP reuses the IM2COL fields: N holds Cout, C holds Cin.
    w[o + V_N] = v.cout; w[o + V_C] = v.cin; w[o + V_KH] = v.kh; w[o + V_KW] = v.kw;
  }
}

export type StageMode = "store" | "maxabs" | "requant" | "update";
export type Rounding = "stochastic" | "nearest";

export interface Stage {
  mode: StageMode;
  relu?: boolean;
  rounding?: Rounding;
  seed?: number;
  step?: number;
  stream?: number;
  /** Packed 1 x N bias row and its width; biasScale converts its codes to accumulator units. */
  bias?: { at: number; bits: number; scale: number };
  /** STORE: output offset (f64 exact, or f32 scaled by `scale` when storeF32). */
  c?: number;
  storeF32?: boolean;
  /** REQUANT: accumulator -> output code scale; UPDATE: accumulator -> update-in-codes scale. */
  scale?: number;
  /** REQUANT: also report the MAXABS maximum (StageResult.maxAbs) of what it requantized. */
  trackMax?: boolean;
}

export interface StageResult {
  maxAbs: number;
  sumAbs: number;
  saturated: number;
  changed: number;
  count: number;
}

const MODES: Record<StageMode, number> = {
  store: STAGE_MODE_STORE, maxabs: STAGE_MODE_MAXABS, requant: STAGE_MODE_REQUANT, update: STAGE_MODE_UPDATE,
};

/** The ABI's rounding-mode code (src/format/codes.ts) of a rounding name. */
export const ROUNDING_CODE: Readonly<Record<Rounding, number>> = { stochastic: ROUND_STOCHASTIC, nearest: ROUND_NEAREST };

export function writeStage(memory: ArrayBuffer, at: number, s: Stage): void {
  const { i32, f64 } = wordsOf(memory, at);
  const o = at >> 2, d = (at + STAGE_F64_AT) >> 3;
  i32.fill(0, o, o + STAGE_I32_FIELDS);
  f64.fill(0, d, d + STAGE_F64_FIELDS);
  i32[o + S_MODE] = MODES[s.mode];
  i32[o + S_RELU] = s.relu ? 1 : 0;
  i32[o + S_ROUNDING] = ROUNDING_CODE[s.rounding ?? "stochastic"];
  i32[o + S_SEED] = (s.seed ?? 0) >>> 0;
  i32[o + S_STEP] = (s.step ?? 0) >>> 0;
  i32[o + S_STREAM] = (s.stream ?? 0) >>> 0;
  i32[o + S_BIAS] = s.bias?.at ?? 0;
  i32[o + S_BIAS_BITS] = s.bias?.bits ?? 0;
  i32[o + S_OUT_BITS] = s.storeF32 ? STAGE_STORE_F32 : 0;
  i32[o + S_C] = s.c ?? 0;
  i32[o + S_TRACK_MAX] = s.trackMax ? 1 : 0;
  f64[d + SF_BIAS_SCALE] = s.bias?.scale ?? 0;
  f64[d + SF_SCALE] = s.scale ?? 1;
}

export function readStage(memory: ArrayBuffer, at: number): StageResult {
  const d = wordsOf(memory, at).f64, o = (at + STAGE_F64_AT) >> 3;
  return {
    maxAbs: d[o + SF_MAX_ABS], sumAbs: d[o + SF_SUM_ABS], saturated: d[o + SF_SATURATED], changed: d[o + SF_CHANGED], count: d[o + SF_COUNT],
  };
}
