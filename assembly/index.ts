// The aptkit wasm ABI (docs/abi.md). Flat functions on byte offsets into this module's memory;
// the caller owns every buffer and its placement.

import { encodeMatrix, decodeMatrix, rowStrideBytes, MIN_BITS, MAX_BITS } from "./packed";
import {
  gemm as gemmImpl, gemmWorkspaceBytes, gemmViews, gemmFused, gemmBPanelsBytes, gemmPrepackPlain, gemmPrepackedPlain,
} from "./gemm/index";
import { packedFits, arrayFits, MAX_ROW_BITS, STATUS_BITS, STATUS_RANGE, STATUS_OK } from "./extents";
import { relaxedLastUsed } from "./gemm/index";

/** Bumped whenever an export's meaning or signature changes. 2: one status table for every export
 *  (src/runtime/abi-status.ts; pack/unpack's out-of-memory status is -6, the auxiliary kernels'
 *  codes moved to -7..-12), every export checks its extents, random_bits returns a status, and
 *  packed_row_stride checks its arguments. */
export const ABI_VERSION: u32 = 2;

export function abi_version(): u32 { return ABI_VERSION; }
export function has_simd(): bool { return ASC_FEATURE_SIMD; }
/** 1 in the relaxed-SIMD build (build/aptkit.relaxed.wasm), else 0. */
export function has_relaxed_simd(): bool { return ASC_FEATURE_RELAXED_SIMD; }
export function heap_base(): usize { return __heap_base; }

/** ceil(cols * bits / 32) * 4 bytes, or -1 (bits outside 2..16), or -6 (a row of more than
 *  2^32 - 32 bits, which no kernel can index). */
export function packed_row_stride(cols: u32, bits: u32): i32 {
  if (bits < MIN_BITS || bits > MAX_BITS) return STATUS_BITS;
  if (<f64>cols * <f64>bits > MAX_ROW_BITS) return STATUS_RANGE;
  return <i32>rowStrideBytes(cols, bits);
}

// Whether the rows x cols i32 codes at `codes` and the packed matrix at `packed` lie inside memory
// and can be indexed in u32.
function packExtentsFit(codes: usize, packed: usize, rows: u32, cols: u32, bits: u32): bool {
  return arrayFits(codes, <f64>rows * <f64>cols, 4) && packedFits(packed, rows, cols, bits);
}

/** i32 codes (rows*cols at `src`) -> packed matrix at `dst`. 0 = ok, -1 = bits out of 2..16,
 *  -6 = the codes or the packed matrix would not lie inside memory (or a size passes 32 bits),
 *  k+1 = code k out of its symmetric range (nothing written). */
export function pack(src: usize, rows: u32, cols: u32, bits: u32, dst: usize): i32 {
  if (bits < MIN_BITS || bits > MAX_BITS) return STATUS_BITS;
  if (!packExtentsFit(src, dst, rows, cols, bits)) return STATUS_RANGE;
  return encodeMatrix(src, rows, cols, bits, dst);
}

/** packed matrix at `src` -> i32 codes at `dst`. 0 = ok, -1 = bits out of range, -6 = the packed
 *  matrix or the codes would not lie inside memory. */
export function unpack(src: usize, rows: u32, cols: u32, bits: u32, dst: usize): i32 {
  if (bits < MIN_BITS || bits > MAX_BITS) return STATUS_BITS;
  if (!packExtentsFit(dst, src, rows, cols, bits)) return STATUS_RANGE;
  decodeMatrix(src, rows, cols, bits, dst);
  return STATUS_OK;
}

export function gemm_workspace_bytes(M: u32, N: u32, K: u32, aBits: u32, bBits: u32): usize {
  return gemmWorkspaceBytes(M, N, K, aBits, bBits, false);
}

/** Workspace of gemm_fused with the default blocking. */
export function gemm_fused_workspace_bytes(M: u32, N: u32, K: u32, aBits: u32, bBits: u32): usize {
  return gemmWorkspaceBytes(M, N, K, aBits, bBits, true);
}

/** 1 when the last gemm / gemm_views call ran the relaxed build's i8 path, else 0 (a diagnostic:
 *  the results are the same either way). */
export function gemm_relaxed_used(): i32 {
  return relaxedLastUsed();
}

/** op(A) * op(B) over operand views `a`, `b` (descriptors, docs/abi.md) into f64 C. */
export function gemm_views(a: usize, b: usize, c: usize, work: usize, workBytes: usize): i32 {
  return gemmViews(a, b, c, work, workBytes);
}

/** op(A) * op(B) with a fused output stage (stage descriptor) writing or updating view `out`. */
export function gemm_fused(a: usize, b: usize, out: usize, stage: usize, work: usize, workBytes: usize): i32 {
  return gemmFused(a, b, out, stage, work, workBytes);
}

export function gemm(
  a: usize, aRows: u32, aCols: u32, aBits: u32, transA: bool,
  b: usize, bRows: u32, bCols: u32, bBits: u32, transB: bool,
  c: usize, work: usize, workBytes: usize
): i32 {
  return gemmImpl(a, aRows, aCols, aBits, transA, b, bRows, bCols, bBits, transB, c, work, workBytes);
}

/** Bytes of gemm_prepack_b's panel buffer for gemm's default blocking (0: a width out of range). */
export function gemm_b_panels_bytes(M: u32, N: u32, K: u32, aBits: u32, bBits: u32): usize {
  return gemmBPanelsBytes(M, N, K, aBits, bBits);
}

/** Decodes B into its i16 panels at `panels` once, for gemm_prepacked calls with the same arguments. */
export function gemm_prepack_b(
  a: usize, aRows: u32, aCols: u32, aBits: u32, transA: bool,
  b: usize, bRows: u32, bCols: u32, bBits: u32, transB: bool,
  work: usize, workBytes: usize, panels: usize, panelsBytes: usize
): i32 {
  return gemmPrepackPlain(a, aRows, aCols, aBits, transA, b, bRows, bCols, bBits, transB, work, workBytes, panels, panelsBytes);
}

/** gemm, reading B's panels from `panels` (gemm_prepack_b with the same arguments) instead of B. */
export function gemm_prepacked(
  a: usize, aRows: u32, aCols: u32, aBits: u32, transA: bool,
  b: usize, bRows: u32, bCols: u32, bBits: u32, transB: bool,
  c: usize, work: usize, workBytes: usize, panels: usize, panelsBytes: usize
): i32 {
  return gemmPrepackedPlain(a, aRows, aCols, aBits, transA, b, bRows, bCols, bBits, transB, c, work, workBytes, panels, panelsBytes);
}

import { randomKey, randomBits } from "./random";

/** The draw that stochastic rounding uses for element `index` of (seed, step, stream), written as
 *  a u64 to `out` (8 bytes). For tests and other runtimes. 0, or -6 when `out` is not in memory. */
export function random_bits(seed: u32, step: u32, stream: u32, index: u32, out: usize): i32 {
  if (!arrayFits(out, 1, 8)) return STATUS_RANGE;
  store<u64>(out, randomBits(randomKey(seed, step, stream), <u64>index));
  return STATUS_OK;
}

// ---- Auxiliary kernels: precision change, pooling, activations, the float edges --------------
// Conventions (docs in assembly/quantize.ts): tensors are packed matrices; NHWC activations are
// N*H rows x W*C cols. `mode`: 0 = stochastic rounding (SR), 1 = round to nearest even (RNE); SR
// draws randomUnit(randomKey(seed, step, stream), flat output index). Returns 0 on success;
// errors (nothing written), from the shared table (src/runtime/abi-status.ts): -1 bits outside
// 2..16, -6 a buffer outside memory or a count, row or size past 32 bits, -7 zero N/classes
// (loss), -8 window or stride 0 (or kh*kw >= 2^31), -9 window larger than input, -10 bad mode,
// -11 label width not 1 or 4, -12 exponent outside -960..960; k+1 > 0 names bad data element k
// (NaN/Inf input, bad label).

import { changePrecision } from "./precision";
import { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward, poolOutputSize } from "./pool";
import { reluForward, reluBackward, flattenNhwc, unflattenNhwc } from "./activation";
import { quantizeF32, maxAbsCodes } from "./quantize";
import { softmaxCrossEntropy } from "./loss";

/** In place, from `fromBits` to `toBits` (any two widths in 2..16); the buffer must hold
 *  rows * packed_row_stride(cols, max(fromBits, toBits)) bytes. stats: i32[2] = [rounded, clamped].
 *  Returns 0, -1, -6, -10. */
export function change_precision(
  ptr: usize, rows: u32, cols: u32, fromBits: u32, toBits: u32,
  mode: u32, seed: u32, step: u32, stream: u32, stats: usize,
): i32 {
  return changePrecision(ptr, rows, cols, fromBits, toBits, mode, seed, step, stream, stats);
}

/** floor((n - k) / s) + 1: a pooling output size; -8 (k or s 0), -9 (k > n), -6 (size past i32). */
export function pool_output_size(n: u32, k: u32, s: u32): i32 {
  return poolOutputSize(n, k, s);
}

/** x: N*H x W*C at bits -> y: N*OH x OW*C at bits, window maxima. Returns 0, -1, -6, -8, -9. */
export function max_pool_forward(
  x: usize, N: u32, H: u32, W: u32, C: u32, bits: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, y: usize,
): i32 {
  return maxPoolForward(x, N, H, W, C, bits, kh, kw, sh, sw, y);
}

/** x: saved pool input (N*H x W*C at xBits); dy: N*OH x OW*C at dyBits -> dx: N*H x W*C at dyBits.
 *  Each dY element goes to the first maximum of its window in row-major order; overlapping
 *  contributions are summed and clamped once; i32 count of clamped dX elements to `stats`.
 *  Returns 0, -1, -6, -8, -9. */
export function max_pool_backward(
  x: usize, N: u32, H: u32, W: u32, C: u32, xBits: u32,
  kh: u32, kw: u32, sh: u32, sw: u32,
  dy: usize, dyBits: u32, dx: usize, stats: usize,
): i32 {
  return maxPoolBackward(x, N, H, W, C, xBits, kh, kw, sh, sw, dy, dyBits, dx, stats);
}

/** y = round(window sum / (kh*kw)) at the input's bits and exponent. Returns 0, -1, -6, -8, -9, -10. */
export function avg_pool_forward(
  x: usize, N: u32, H: u32, W: u32, C: u32, bits: u32,
  kh: u32, kw: u32, sh: u32, sw: u32,
  mode: u32, seed: u32, step: u32, stream: u32, y: usize,
): i32 {
  return avgPoolForward(x, N, H, W, C, bits, kh, kw, sh, sw, mode, seed, step, stream, y);
}

/** dy: N*OH x OW*C at bits -> dx: N*H x W*C at bits, dx = round(sum of covering dY / (kh*kw)).
 *  (N, H, W, C) are the pool INPUT's. Returns 0, -1, -6, -8, -9, -10. */
export function avg_pool_backward(
  dy: usize, N: u32, H: u32, W: u32, C: u32, bits: u32,
  kh: u32, kw: u32, sh: u32, sw: u32,
  mode: u32, seed: u32, step: u32, stream: u32, dx: usize,
): i32 {
  return avgPoolBackward(dy, N, H, W, C, bits, kh, kw, sh, sw, mode, seed, step, stream, dx);
}

/** q = max(q, 0) in place. Returns 0, -1, -6. */
export function relu_forward(ptr: usize, rows: u32, cols: u32, bits: u32): i32 {
  return reluForward(ptr, rows, cols, bits);
}

/** dx = y > 0 ? dy : 0 (y: the saved ReLU output at yBits; dy, dx at dyBits; dx may be dy).
 *  Returns 0, -1, -6. */
export function relu_backward(
  y: usize, yBits: u32, dy: usize, dyBits: u32, rows: u32, cols: u32, dx: usize,
): i32 {
  return reluBackward(y, yBits, dy, dyBits, rows, cols, dx);
}

/** N*H x W*C -> N x H*W*C at the same bits (dst may be src). Returns 0, -1, -6. */
export function flatten_nhwc(src: usize, N: u32, H: u32, W: u32, C: u32, bits: u32, dst: usize): i32 {
  return flattenNhwc(src, N, H, W, C, bits, dst);
}

/** N x H*W*C -> N*H x W*C at the same bits (dst may be src, reserved at the larger size).
 *  Returns 0, -1, -6. */
export function unflatten_nhwc(src: usize, N: u32, H: u32, W: u32, C: u32, bits: u32, dst: usize): i32 {
  return unflattenNhwc(src, N, H, W, C, bits, dst);
}

/** f32[rows*cols] -> packed rows x cols at bits; i32 exponent to expOut (smallest with no
 *  saturation; 0 for all zeros). Returns 0, -1, -6, -10, or k+1 for a NaN/Inf at element k. */
export function quantize_f32(
  src: usize, rows: u32, cols: u32, bits: u32,
  mode: u32, seed: u32, step: u32, stream: u32, dst: usize, expOut: usize,
): i32 {
  return quantizeF32(src, rows, cols, bits, mode, seed, step, stream, dst, expOut);
}

/** max |q| of a packed rows x cols matrix, or -1 for bad bits, -6 for a matrix outside memory. */
export function max_abs_codes(ptr: usize, rows: u32, cols: u32, bits: u32): i32 {
  return maxAbsCodes(ptr, rows, cols, bits);
}

/** Softmax cross-entropy: logits N x classes at (bits, exp), labels u8/i32 (labelBytes 1/4) ->
 *  f64 mean loss to lossOut, i32 correct count to correctOut, dL/dlogits N x classes at errBits to
 *  dlogits (must not overlap logits) with its i32 exponent to expOut.
 *  Returns 0, -1, -6, -7, -10, -11, -12, or k+1 for an out-of-range label of sample k. */
export function softmax_cross_entropy(
  logits: usize, N: u32, classes: u32, bits: u32, exp: i32,
  labels: usize, labelBytes: u32, errBits: u32,
  mode: u32, seed: u32, step: u32, stream: u32,
  dlogits: usize, lossOut: usize, correctOut: usize, expOut: usize,
): i32 {
  return softmaxCrossEntropy(logits, N, classes, bits, exp, labels, labelBytes, errBits,
    mode, seed, step, stream, dlogits, lossOut, correctOut, expOut);
}

// ---- The training input's data edge: staged f32 batches into packed codes (assembly/input.ts) ----

import { inputMaxAbsF32, inputRoundF32 } from "./input";

/** max |x| of n f32 at `src` as f64 (NaN when a value is NaN, +Inf when one is infinite), or -6
 *  when the values are not inside memory. */
export function input_max_abs_f32(src: usize, n: u32): f64 {
  return inputMaxAbsF32(src, n);
}

/** n f32 at `src` -> elements first .. first + n - 1 of the packed rows x cols matrix at `dst`:
 *  clamp(Math.round(x * 2^-exp)) (halves up; NaN gives 0), a row's padding zeroed with its last
 *  element. At widths other than 8 and 16 the floats at `src` are overwritten.
 *  Returns 0, -1, -6 (also first + n past rows * cols), -12. */
export function input_round_f32(
  src: usize, n: u32, exp: i32, bits: u32, dst: usize, rows: u32, cols: u32, first: u32,
): i32 {
  return inputRoundF32(src, n, exp, bits, dst, rows, cols, first);
}
export * from "./f32/index";
