// Codes one at a time, the two rounding rules, and the float edge (data in, codes out).
//
// The auxiliary kernels (precision.ts, pool.ts, activation.ts, loss.ts) read and write packed codes
// through loadCode/storeCode and round through the helpers below, so one definition of each rule
// serves them all. Nothing here uses SIMD: every result is integer or scalar f64 arithmetic, so the
// SIMD and scalar builds agree bit for bit.
//
// Rounding (mode argument of every kernel that rounds):
//   ROUND_SR  = 0  stochastic: floor(r + u), u = randomUnit(randomKey(seed, step, stream), index),
//                  index = the flat index (row * cols + col) of the element in the OUTPUT tensor.
//                  When r is a rational num/den (pooling, precision change) the floor is taken
//                  exactly (srDiv); when r is a computed f64 (data edge, loss) it is the f64 sum.
//   ROUND_RNE = 1  round to nearest, ties to even (f64.nearest, or its exact integer form).
//
// Status codes (src/runtime/abi-status.ts, one table for every export; nothing is written when a
// kernel returns one): STATUS_BITS, STATUS_DIMENSION (loss: N or classes 0), STATUS_WINDOW,
// STATUS_WINDOW_TOO_LARGE, STATUS_MODE, STATUS_LABEL_WIDTH, STATUS_EXPONENT, and STATUS_RANGE for a
// buffer that does not lie inside memory or a count, row or size that passes 32 bits (assembly/extents.ts).
// A positive return k+1 names a bad data element k (like pack's): a NaN/Inf input to quantize_f32,
// an out-of-range label of sample k in softmax_cross_entropy.

import { maxCode, rowStrideBytes, MIN_BITS, MAX_BITS } from "./packed";
import { randomKey, randomBits, randomUnit } from "./random";
import {
  packedFits, arrayFits, STATUS_BITS, STATUS_DIMENSION, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE, STATUS_MODE,
  STATUS_LABEL_WIDTH, STATUS_EXPONENT, STATUS_RANGE,
} from "./extents";

import { ROUND_STOCHASTIC, ROUND_NEAREST } from "../src/format/codes";

// The rounding modes of src/format/codes.ts, as the u32 the kernels' mode arguments are.
export const ROUND_SR: u32 = <u32>ROUND_STOCHASTIC;
export const ROUND_RNE: u32 = <u32>ROUND_NEAREST;

/** Tensor exponents accepted where a kernel turns codes into reals: 2^16 * 2^960 stays finite and
 *  2^-960 stays normal, so q * 2^exp is exact. */
export const MAX_ABS_EXPONENT: i32 = 960;

@inline export function validBits(bits: u32): bool {
  return bits >= MIN_BITS && bits <= MAX_BITS;
}

// ---- single codes -------------------------------------------------------------------------------
// An element spans at most two 32-bit words of its row. The second word is read only when the
// element crosses into it, so it is inside the row (rows are padded to whole words): no access
// leaves the row.

/** Code `j` of the packed row at `row`. */
@inline export function loadCode(row: usize, j: u32, bits: u32): i32 {
  // Byte-aligned widths (the default activation and error width is 8) skip the bit arithmetic.
  if (bits == 8) return <i32>load<i8>(row + j);
  if (bits == 16) return <i32>load<i16>(row + (<usize>j << 1));
  const p = j * bits;
  const w = row + (<usize>(p >>> 5) << 2);
  const s = p & 31;
  let v: u32;
  if (s + bits <= 32) v = load<u32>(w) >>> s;
  else v = <u32>(load<u64>(w) >>> s);
  const up = 32 - bits;
  return (<i32>(v << up)) >> up;
}

/** Writes code `j` of the packed row at `row`, leaving every other bit of the row as it was (so
 *  in-place kernels may interleave reads of old codes with writes of new ones). */
@inline export function storeCode(row: usize, j: u32, bits: u32, q: i32): void {
  if (bits == 8) { store<i8>(row + j, <i8>q); return; }
  if (bits == 16) { store<i16>(row + (<usize>j << 1), <i16>q); return; }
  const p = j * bits;
  const w = row + (<usize>(p >>> 5) << 2);
  const s = p & 31;
  if (s + bits <= 32) {
    const mask: u32 = (((<u32>1) << bits) - 1) << s;
    store<u32>(w, (load<u32>(w) & ~mask) | ((<u32>q << s) & mask));
  } else {
    const mask: u64 = (((<u64>1) << bits) - 1) << s;
    store<u64>(w, (load<u64>(w) & ~mask) | ((<u64>(<u32>q) << s) & mask));
  }
}

/** Zeroes the row's bits from `fromBit` to the end of its `strideBytes`: the padding that
 *  encodeMatrix leaves zero, so a kernel's output is byte-identical to pack() of its codes. */
export function clearTail(row: usize, fromBit: u32, strideBytes: u32): void {
  let wi = fromBit >>> 5;
  const s = fromBit & 31;
  const words = strideBytes >>> 2;
  if (s != 0) {
    const w = row + (<usize>wi << 2);
    store<u32>(w, load<u32>(w) & ((<u32>1 << s) - 1));
    wi++;
  }
  for (; wi < words; wi++) store<u32>(row + (<usize>wi << 2), 0);
}

@inline export function clampCode(q: i64, limit: i32): i32 {
  return q > <i64>limit ? limit : q < -<i64>limit ? -limit : <i32>q;
}

// ---- rounding of exact rationals -------------------------------------------------------------

/** floor(num / den) and the remainder in [0, den), for den > 0. */
@inline function floorDiv(num: i64, den: i64): i64 {
  let a = num / den;
  if (num - a * den < 0) a--;
  return a;
}

/** nearest(num / den), ties to even, exactly. den in 1..2^32-1. */
export function rneDiv(num: i64, den: u32): i64 {
  const d = <i64>den;
  const a = floorDiv(num, d);
  const c2 = (num - a * d) << 1;
  return c2 > d || (c2 == d && (a & 1) != 0) ? a + 1 : a;
}

/** floor(num / den + m * 2^-53) exactly, where m = randomBits >> 11 (so m * 2^-53 = randomUnit).
 *  den in 1..2^32-1. With num = a*den + c it is a + [m * den >= (den - c) * 2^53], compared in
 *  128 bits. For den = 2^k this equals (num + (bits >> (64 - k))) >> k. */
export function srDiv(num: i64, den: u32, bits: u64): i64 {
  const d = <i64>den;
  const a = floorDiv(num, d);
  const c = <u64>(num - a * d);
  const m = bits >> 11;
  const dd = <u64>den;
  // lhs = m * den as (hi, lo): m < 2^53 and den < 2^32.
  const lo0 = (m & 0xffffffff) * dd;
  const mid = (m >> 32) * dd; // < 2^53
  const lo = lo0 + (mid << 32);
  const hi = (mid >> 32) + (lo < lo0 ? 1 : 0);
  // rhs = (den - c) * 2^53 as (hi, lo): den - c < 2^32.
  const r = dd - c;
  const rhi = r >> 11;
  const rlo = r << 53;
  return hi > rhi || (hi == rhi && lo >= rlo) ? a + 1 : a;
}

/** num / den rounded by `mode`; `index` is the element's draw. */
@inline export function roundDiv(num: i64, den: u32, mode: u32, key: u64, index: u64): i64 {
  return mode == ROUND_RNE ? rneDiv(num, den) : srDiv(num, den, randomBits(key, index));
}

// ---- rounding of reals ----------------------------------------------------------------------------

/** 2^n for -1022 <= n <= 1023, built from its bits (exact, no libm). */
@inline export function pow2(n: i32): f64 {
  return reinterpret<f64>(<u64>(n + 1023) << 52);
}

/** x * 2^n, exact while the result is a normal number: factors are split so each is finite. */
export function scalePow2(x: f64, n: i32): f64 {
  while (n > 1000) { x *= pow2(1000); n -= 1000; }
  while (n < -1000) { x *= pow2(-1000); n += 1000; }
  return x * pow2(n);
}

/** Real r rounded to an integer by `mode`: nearest (ties to even), or floor(r + randomUnit). */
@inline export function roundReal(r: f64, mode: u32, key: u64, index: u64): f64 {
  return mode == ROUND_RNE ? nearest<f64>(r) : floor<f64>(r + randomUnit(key, index));
}

/**
 * The exponent for a tensor whose largest magnitude is `maxAbs` at `bits`: the smallest integer e
 * such that maxAbs * 2^-e rounds to at most maxCode(bits), so nothing saturates. Under RNE "rounds"
 * is nearest(); under SR it must hold for every draw, i.e. maxAbs * 2^-e <= maxCode. 0 for an
 * all-zero tensor. With maxAbs = f * 2^E (1 <= f < 2), e is E - bits + 2 or one more: one less
 * scales maxAbs to at least 2^(bits-1) > maxCode, one more to below 2^(bits-2) <= maxCode.
 */
export function chooseExponent(maxAbs: f64, bits: u32, mode: u32): i32 {
  if (maxAbs == 0) return 0;
  let x = maxAbs;
  let bias: i32 = 0;
  if (x < pow2(-1022)) { x *= pow2(64); bias = 64; } // subnormal: normalise to read E
  const E = <i32>((reinterpret<u64>(x) >> 52) & 0x7ff) - 1023 - bias;
  let e = E - <i32>bits + 2;
  const v = scalePow2(maxAbs, -e);
  const r = mode == ROUND_RNE ? nearest<f64>(v) : v;
  if (r > <f64>maxCode(bits)) e++;
  return e;
}

// ---- kernels -----------------------------------------------------------------------------------

/**
 * Float32 data (rows*cols, row-major, at `src`) -> packed codes at `bits` (rows x cols at `dst`),
 * exponent chosen by chooseExponent from max |x| and written as i32 to `expOut`.
 * Returns 0; STATUS_BITS; STATUS_MODE; STATUS_RANGE; k+1 if element k is NaN or +-Inf (nothing written).
 */
export function quantizeF32(
  src: usize, rows: u32, cols: u32, bits: u32,
  mode: u32, seed: u32, step: u32, stream: u32,
  dst: usize, expOut: usize,
): i32 {
  if (!validBits(bits)) return STATUS_BITS;
  if (mode > ROUND_RNE) return STATUS_MODE;
  if (!arrayFits(src, <f64>rows * <f64>cols, 4) || !packedFits(dst, rows, cols, bits) || !arrayFits(expOut, 1, 4)) {
    return STATUS_RANGE;
  }
  const n = <usize>rows * <usize>cols;
  let maxAbs: f64 = 0;
  for (let i: usize = 0; i < n; i++) {
    const x = <f64>load<f32>(src + (i << 2));
    if (!isFinite<f64>(x)) return <i32>i + 1;
    const a = abs<f64>(x);
    if (a > maxAbs) maxAbs = a;
  }
  const e = chooseExponent(maxAbs, bits, mode);
  const key = randomKey(seed, step, stream);
  const limit = maxCode(bits);
  const stride = rowStrideBytes(cols, bits);
  for (let r: u32 = 0; r < rows; r++) {
    const row = dst + <usize>r * stride;
    const base = <usize>r * cols;
    for (let j: u32 = 0; j < cols; j++) {
      const i = base + j;
      const v = scalePow2(<f64>load<f32>(src + (i << 2)), -e);
      storeCode(row, j, bits, clampCode(<i64>roundReal(v, mode, key, <u64>i), limit));
    }
    clearTail(row, cols * bits, stride);
  }
  store<i32>(expOut, e);
  return 0;
}

/** max |q| over a packed rows x cols matrix (0 when empty); STATUS_BITS; STATUS_RANGE. */
export function maxAbsCodes(ptr: usize, rows: u32, cols: u32, bits: u32): i32 {
  if (!validBits(bits)) return STATUS_BITS;
  if (!packedFits(ptr, rows, cols, bits)) return STATUS_RANGE;
  const stride = rowStrideBytes(cols, bits);
  let m: i32 = 0;
  for (let r: u32 = 0; r < rows; r++) {
    const a = maxAbsRow(ptr + <usize>r * stride, cols, bits);
    if (a > m) m = a;
  }
  return m;
}

// max |q| over one row's `cols` codes (delayed scaling reads every output this way, once a product).
// Only the codes are read, never the row's padding: an output row's padding may hold anything.
function maxAbsRow(row: usize, cols: u32, bits: u32): i32 {
  let m: i32 = 0;
  let j: u32 = 0;
  if (bits == 8 || bits == 16) {
    if (ASC_FEATURE_SIMD) {
      // |q| as unsigned lanes (codes are symmetric, so abs never wraps), maximum per lane.
      let acc = i32x4.splat(0);
      if (bits == 8) {
        for (; j + 16 <= cols; j += 16) acc = i8x16.max_u(acc, i8x16.abs(v128.load(row + j)));
        acc = i16x8.max_u(i16x8.extend_low_i8x16_u(acc), i16x8.extend_high_i8x16_u(acc));
      } else {
        for (; j + 8 <= cols; j += 8) acc = i16x8.max_u(acc, i16x8.abs(v128.load(row + (<usize>j << 1))));
      }
      acc = i32x4.max_u(i32x4.extend_low_i16x8_u(acc), i32x4.extend_high_i16x8_u(acc));
      m = max(max(i32x4.extract_lane(acc, 0), i32x4.extract_lane(acc, 1)), max(i32x4.extract_lane(acc, 2), i32x4.extract_lane(acc, 3)));
    }
    for (; j < cols; j++) {
      const q = bits == 8 ? <i32>load<i8>(row + j) : <i32>load<i16>(row + (<usize>j << 1));
      const a = q < 0 ? -q : q;
      if (a > m) m = a;
    }
    return m;
  }
  // Other widths: the row's bit stream read through a 64-bit buffer, 32 bits at a time, only the
  // words that hold codes (have < bits <= 16 before a refill, so the buffer never overflows).
  const up = <u64>(64 - bits);
  let buf: u64 = 0;
  let have: u32 = 0;
  let p = row;
  for (; j < cols; j++) {
    if (have < bits) {
      buf |= <u64>load<u32>(p) << have;
      p += 4;
      have += 32;
    }
    const q = <i32>((<i64>(buf << up)) >> up);
    buf >>= bits;
    have -= bits;
    const a = q < 0 ? -q : q;
    if (a > m) m = a;
  }
  return m;
}
