// The training input's data edge: a batch of f32 values into packed codes at the input width, the
// way the host has always quantized it (src/nn/model.ts, Model.loadBatch): the exponent from the
// largest magnitude (chosen on the host, src/engine/quant.ts inputExponent), then each code
// Math.round(x * 2^-exp), i.e. halves round up, clamped to the symmetric range. Two kernels, so a
// host can stage a batch through a small buffer chunk by chunk: the maximum over every chunk
// first, then the rounding of each chunk into its place in the matrix.
//
// Every path computes the same exact function, so the SIMD and scalar builds agree bit for bit
// (the reference is src/reference/input.ts):
//
// - Plain (f64): v = x * 2^-exp is exact (x is an f32, 24 significant bits with an exponent in
//   -149..127; with |exp| <= 960 the product under- or overflows only where the code is 0 or
//   clamped anyway). Then floor(v + 0.5) is Math.round(v): for |v| >= 0.5 (v has at most 24
//   significant bits, its last at or above 2^-24) v + 0.5 is exact below 2^52, and past that v is
//   an even integer, rounded the same either way; for |v| < 0.5 the sum lies in (0, 1), so the
//   floor is 0 however it rounds. trunc_sat turns NaN into 0 and infinities into the i32 ends,
//   which the clamp brings to +-maxCode.
// - SIMD (f32x4), when 2^-exp is a normal f32: v = x * 2^-exp is exact while it is a normal f32;
//   below that |v| < 2^-126 keeps its sign (or is 0) and rounds to 0 anyway, above it v is an
//   infinity and clamps. f = floor(v) and d = v - f are exact for -1 >= v and v >= 0 (d is made of
//   v's own fraction bits), so f + (d >= 0.5) is floor(v + 0.5). For -1 < v < 0, f = -1 and
//   d = v + 1: exact for v <= -0.5 (v's last bit is at 2^-24 or above), and for -0.5 < v < 0 the
//   true d lies in (0.5, 1), which rounds to at least 0.5, so the code is 0 as it should be. NaN
//   gives f = NaN (trunc_sat 0) and d = NaN (the test false): 0; an infinity gives d = NaN and f
//   saturates: clamped, as in the plain path. The saturating narrows to i16 and i8 are monotone,
//   so clamping after them is clamping the i32.

import { encodeRun, maxCode, rowStrideBytes } from "./packed";
import { clearTail, validBits, MAX_ABS_EXPONENT, pow2 } from "./quantize";
import { arrayFits, packedFits, MAX_ROW_BITS, STATUS_BITS, STATUS_EXPONENT, STATUS_OK, STATUS_RANGE } from "./extents";

/** max |x| over the n f32 values at `src`, as f64 (exact: every f32 is an f64); NaN when a value is
 *  NaN, +Inf when one is infinite (and none is NaN); 0 for n = 0. STATUS_RANGE (-6) when the values
 *  do not lie inside memory. */
export function inputMaxAbsF32(src: usize, n: u32): f64 {
  if (!arrayFits(src, <f64>n, 4)) return <f64>STATUS_RANGE;
  let m: f64 = 0;
  let i: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    // f32x4.max, like f64.max below, gives NaN when either operand is NaN: a NaN anywhere stays.
    let m0 = f32x4.splat(0), m1 = m0, m2 = m0, m3 = m0;
    for (; i + 16 <= n; i += 16) {
      const p = src + (<usize>i << 2);
      m0 = f32x4.max(m0, f32x4.abs(v128.load(p)));
      m1 = f32x4.max(m1, f32x4.abs(v128.load(p, 16)));
      m2 = f32x4.max(m2, f32x4.abs(v128.load(p, 32)));
      m3 = f32x4.max(m3, f32x4.abs(v128.load(p, 48)));
    }
    const v = f32x4.max(f32x4.max(m0, m1), f32x4.max(m2, m3));
    m = <f64>max<f32>(max<f32>(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
      max<f32>(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
  }
  for (; i < n; i++) m = max<f64>(m, abs<f64>(<f64>load<f32>(src + (<usize>i << 2))));
  return m;
}

/**
 * Rounds the n f32 values at `src` into elements first .. first + n - 1 (row-major) of the packed
 * rows x cols matrix at `dst`: code = clamp(Math.round(x * 2^-exp), +-maxCode(bits)), NaN giving
 * 0. Each element's own bits are written, and a row's padding is zeroed once its last element is,
 * so a whole matrix in one or many calls (in any order) is byte for byte pack() of its codes.
 * At widths other than 8 and 16 the values at `src` are overwritten (their first half holds the
 * i16 codes on their way into the packed rows). Returns 0; STATUS_BITS; STATUS_EXPONENT (|exp| >
 * 960); STATUS_RANGE (a buffer outside memory, or first + n past rows * cols).
 */
export function inputRoundF32(
  src: usize, n: u32, exp: i32, bits: u32, dst: usize, rows: u32, cols: u32, first: u32,
): i32 {
  if (!validBits(bits)) return STATUS_BITS;
  if (exp < -MAX_ABS_EXPONENT || exp > MAX_ABS_EXPONENT) return STATUS_EXPONENT;
  if (!arrayFits(src, <f64>n, 4) || !packedFits(dst, rows, cols, bits) || <f64>first + <f64>n > <f64>rows * <f64>cols) {
    return STATUS_RANGE;
  }
  if (n == 0) return STATUS_OK;
  // Rows without padding continue one another's bit stream: the whole matrix is then one long row
  // (lenet5's 28-code input lines at 8 bits: one run instead of 28-code ones), as long as its bit
  // positions fit a u32 as a row's must.
  const rowByRow = ((cols * bits) & 31) != 0 || <f64>rows * <f64>cols * <f64>bits > MAX_ROW_BITS;
  const len: u32 = rowByRow ? cols : rows * cols;
  const stride = rowStrideBytes(cols, bits);
  let r = first / len, c = first % len;
  let s = src;
  let left = n;
  while (left > 0) {
    const count = min<u32>(len - c, left);
    const row = dst + <usize>r * stride;
    roundRun(s, count, exp, bits, row, c);
    if (rowByRow && c + count == len) clearTail(row, len * bits, stride);
    s += <usize>count << 2;
    left -= count;
    r++;
    c = 0;
  }
  return STATUS_OK;
}

// Elements col0 .. col0 + count - 1 of the packed row at `row` from the floats at `src`.
function roundRun(src: usize, count: u32, exp: i32, bits: u32, row: usize, col0: u32): void {
  if (bits == 8) {
    roundToI8(src, count, exp, row + col0);
  } else if (bits == 16) {
    roundToI16(src, count, exp, maxCode(16), row + (<usize>col0 << 1));
  } else {
    // In place: code j's two bytes lie in float j / 2, which is read by then (the SIMD loop reads
    // floats j .. j + 7 before it writes codes j .. j + 7, which lie in floats j / 2 .. j / 2 + 3).
    roundToI16(src, count, exp, maxCode(bits), src);
    encodeRun(row, col0, count, bits, src);
  }
}

// The SIMD paths need 2^-exp as a normal f32.
@inline function f32Scale(exp: i32): bool {
  return exp >= -126 && exp <= 126;
}

// Unclamped i32 codes floor(v + 0.5) of v = x * scale, four lanes (see the top of the file).
@inline function round4(x: v128, scale: v128): v128 {
  const v = f32x4.mul(x, scale);
  const f = f32x4.floor(v);
  const up = f32x4.ge(f32x4.sub(v, f), f32x4.splat(0.5));
  return i32x4.sub(i32x4.trunc_sat_f32x4_s(f), up);
}

@inline function roundOne(x: f32, scale: f64, limit: i32): i32 {
  const q = <i32>floor<f64>(<f64>x * scale + 0.5);
  return q > limit ? limit : q < -limit ? -limit : q;
}

function roundToI16(src: usize, count: u32, exp: i32, limit: i32, out: usize): void {
  let j: u32 = 0;
  if (ASC_FEATURE_SIMD && f32Scale(exp)) {
    const scale = f32x4.splat(reinterpret<f32>(<u32>(127 - exp) << 23));
    const hi = i16x8.splat(<i16>limit), lo = i16x8.splat(<i16>-limit);
    for (; j + 8 <= count; j += 8) {
      const p = src + (<usize>j << 2);
      const a = round4(v128.load(p), scale), b = round4(v128.load(p, 16), scale);
      v128.store(out + (<usize>j << 1), i16x8.min_s(i16x8.max_s(i16x8.narrow_i32x4_s(a, b), lo), hi));
    }
  }
  const scale = pow2(-exp);
  for (; j < count; j++) store<i16>(out + (<usize>j << 1), <i16>roundOne(load<f32>(src + (<usize>j << 2)), scale, limit));
}

function roundToI8(src: usize, count: u32, exp: i32, out: usize): void {
  let j: u32 = 0;
  if (ASC_FEATURE_SIMD && f32Scale(exp)) {
    const scale = f32x4.splat(reinterpret<f32>(<u32>(127 - exp) << 23));
    // The i8 narrow saturates at 127 = maxCode(8) above; below, -128 is outside the range.
    const lo = i8x16.splat(-127);
    for (; j + 16 <= count; j += 16) {
      const p = src + (<usize>j << 2);
      const a = i16x8.narrow_i32x4_s(round4(v128.load(p), scale), round4(v128.load(p, 16), scale));
      const b = i16x8.narrow_i32x4_s(round4(v128.load(p, 32), scale), round4(v128.load(p, 48), scale));
      v128.store(out + j, i8x16.max_s(i8x16.narrow_i16x8_s(a, b), lo));
    }
  }
  const scale = pow2(-exp);
  for (; j < count; j++) store<i8>(out + j, <i8>roundOne(load<f32>(src + (<usize>j << 2)), scale, 127));
}
