// The descriptor blocks of the fused GEMM ABI (docs/abi.md), written into wasm memory by the host.
// Field order mirrors assembly/views.ts and assembly/gemm.ts.

import {
  STATUS_BITS, STATUS_DIMENSION, STATUS_EXPONENT, STATUS_LABEL_WIDTH, STATUS_MODE, STATUS_RANGE, STATUS_SHAPE,
  STATUS_STAGE, STATUS_VIEW, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE, STATUS_WORKSPACE,
} from "./abi-status.js";

export const VIEW_FIELDS = 24;

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

export const VIEW_BYTES = VIEW_FIELDS * 4;
export const STAGE_BYTES = 48 + 8 * 8;

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

export function writeView(memory: ArrayBuffer, at: number, v: View): void {
  const f = new Int32Array(memory, at, VIEW_FIELDS);
  f.fill(0);
  f[1] = v.at;
  f[2] = v.bits;
  f[3] = viewRows(v);
  f[4] = viewCols(v);
  f[5] = v.trans ? 1 : 0;
  if (v.kind === "plain") {
    f[0] = 0;
  } else if (v.kind === "im2col") {
    f[0] = 1;
    f[7] = v.n; f[8] = v.h; f[9] = v.w; f[10] = v.c;
    f[11] = v.kh; f[12] = v.kw; f[13] = v.strideH; f[14] = v.strideW;
    f[15] = v.padH; f[16] = v.padW; f[17] = v.dilateH; f[18] = v.dilateW;
    f[19] = v.outH; f[20] = v.outW;
  } else {
    f[0] = 2;
    f[7] = v.cout; f[10] = v.cin; f[11] = v.kh; f[12] = v.kw;
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

const MODES: Record<StageMode, number> = { store: 0, maxabs: 1, requant: 2, update: 3 };

export function writeStage(memory: ArrayBuffer, at: number, s: Stage): void {
  const i = new Int32Array(memory, at, 12);
  const d = new Float64Array(memory, at + 48, 8);
  i.fill(0);
  d.fill(0);
  i[0] = MODES[s.mode];
  i[1] = s.relu ? 1 : 0;
  i[2] = (s.rounding ?? "stochastic") === "stochastic" ? 0 : 1;
  i[3] = (s.seed ?? 0) >>> 0;
  i[4] = (s.step ?? 0) >>> 0;
  i[5] = (s.stream ?? 0) >>> 0;
  i[6] = s.bias?.at ?? 0;
  i[7] = s.bias?.bits ?? 0;
  i[8] = s.storeF32 ? 32 : 0;
  i[9] = s.c ?? 0;
  i[10] = s.trackMax ? 1 : 0;
  d[0] = s.bias?.scale ?? 0;
  d[1] = s.scale ?? 1;
}

export function readStage(memory: ArrayBuffer, at: number): StageResult {
  const d = new Float64Array(memory, at + 48, 8);
  return { maxAbs: d[2], sumAbs: d[3], saturated: d[4], changed: d[5], count: d[6] };
}
