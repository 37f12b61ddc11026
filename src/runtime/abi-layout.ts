// The descriptor blocks of the fused GEMM ABI (docs/abi.md, "View descriptor" and "Stage
// descriptor"): every field's index and every block's size, in one place. Like abi-status.ts this
// file is compiled twice, by tsc for the host (src/runtime/descriptors.ts writes the blocks) and by
// asc for the kernels (assembly/views.ts and assembly/gemm/ read them), so it holds nothing but
// integer constants (and products of them) that both languages read as the same numbers (i32 in
// AssemblyScript).

// ---- view descriptor: VIEW_FIELDS i32 fields, field f at byte 4 * f ----------------------------
export const VIEW_FIELDS = 24;
export const VIEW_BYTES = VIEW_FIELDS * 4;
/** VIEW_KIND_*. */
export const V_KIND = 0;
/** Byte offset of the packed data. */
export const V_BASE = 1;
export const V_BITS = 2;
/** Virtual rows (PLAIN: stored rows, IM2COL: N*OH*OW, WFLIP: KH*KW*Cout). */
export const V_ROWS = 3;
/** Virtual cols (PLAIN: stored cols, IM2COL: KH*KW*C, WFLIP: Cin). */
export const V_COLS = 4;
/** 1: a GEMM operand used transposed. */
export const V_TRANS = 5;
/** Bytes per stored row or line: written by the kernels, never read from the caller. */
export const V_STRIDE = 6;
/** IM2COL: batch N of the source tensor; WFLIP: Cout. */
export const V_N = 7;
export const V_H = 8;
export const V_W = 9;
/** IM2COL: channels of the source tensor; WFLIP: Cin. */
export const V_C = 10;
export const V_KH = 11;
export const V_KW = 12;
export const V_SH = 13;
export const V_SW = 14;
/** Zero padding (negative crops). */
export const V_PH = 15;
export const V_PW = 16;
/** Input dilation (> 1 for the backward of a strided convolution). */
export const V_DH = 17;
export const V_DW = 18;
/** Output spatial size: rows = N * OH * OW. */
export const V_OH = 19;
export const V_OW = 20;

export const VIEW_KIND_PLAIN = 0;
export const VIEW_KIND_IM2COL = 1;
export const VIEW_KIND_WFLIP = 2;

// ---- stage descriptor: STAGE_I32_FIELDS i32 fields, then STAGE_F64_FIELDS f64 fields -------------
export const STAGE_I32_FIELDS = 12;
/** Byte offset of the first f64 field. */
export const STAGE_F64_AT = STAGE_I32_FIELDS * 4;
export const STAGE_F64_FIELDS = 8;
export const STAGE_BYTES = STAGE_F64_AT + STAGE_F64_FIELDS * 8;

// i32 fields (index f at byte 4 * f).
/** STAGE_MODE_*. */
export const S_MODE = 0;
export const S_RELU = 1;
/** ROUND_* (src/format/codes.ts). */
export const S_ROUNDING = 2;
export const S_SEED = 3;
export const S_STEP = 4;
export const S_STREAM = 5;
/** Byte offset of a packed 1 x N bias row; 0: no bias. */
export const S_BIAS = 6;
export const S_BIAS_BITS = 7;
/** STORE: STAGE_STORE_F32 stores f32 v * scale, anything else f64 v. */
export const S_OUT_BITS = 8;
/** STORE: byte offset of the M x N output. */
export const S_C = 9;
/** REQUANT: 1 also accumulates SF_MAX_ABS exactly as MAXABS would. */
export const S_TRACK_MAX = 10;

// f64 fields (index f at byte STAGE_F64_AT + 8 * f).
/** One bias code in accumulator units. */
export const SF_BIAS_SCALE = 0;
/** REQUANT: accumulator -> output codes; UPDATE: accumulator -> update codes; STORE f32: factor. */
export const SF_SCALE = 1;
/** In/out: max |acc + bias| (of its positive side under ReLU). */
export const SF_MAX_ABS = 2;
/** In/out, UPDATE: sum of |scale * acc|. */
export const SF_SUM_ABS = 3;
/** In/out: codes clamped. */
export const SF_SATURATED = 4;
/** In/out, UPDATE: codes changed. */
export const SF_CHANGED = 5;
/** In/out: elements seen (M * N per call). */
export const SF_COUNT = 6;

export const STAGE_MODE_STORE = 0;
export const STAGE_MODE_MAXABS = 1;
export const STAGE_MODE_REQUANT = 2;
export const STAGE_MODE_UPDATE = 3;
/** S_OUT_BITS value of a STORE stage that writes f32. */
export const STAGE_STORE_F32 = 32;
