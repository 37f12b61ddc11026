// The descriptor blocks of the fused GEMM ABI (docs/abi.md), written into wasm memory by the host.
// Field order mirrors assembly/views.ts and assembly/gemm.ts.

export const VIEW_FIELDS = 24;

/** What the gemm entry points' status codes mean (assembly/gemm.ts GEMM_ERR_*). */
export const GEMM_STATUS: Readonly<Record<number, string>> = {
  [-1]: "bits out of range",
  [-2]: "inner dimensions differ",
  [-3]: "workspace too small",
  [-4]: "inconsistent operand view",
  [-5]: "unknown output stage",
  [-6]: "a descriptor, operand, output, bias row, workspace or panel buffer lies outside wasm memory (or its size passes 32-bit addresses)",
};

/** "status -6: <meaning>" for a gemm status code. */
export function gemmStatusMessage(status: number): string {
  return `status ${status}: ${GEMM_STATUS[status] ?? "unknown status"}`;
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
