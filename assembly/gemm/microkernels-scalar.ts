// The scalar build's micro-kernels: the same 4 x 8 tile of A panel rows times one B panel group
// as the SIMD kernels (microkernels-simd.ts), read from the same "c2" panels, in i64 arithmetic;
// and, for fused i32 calls whose widths leave room, 4 x 6 tiles from lane panels (below).

import { NR, LANE_BITS, LANE_BITS_F64, LANE_COLS } from "./blocking";
import { tile, laneChunk } from "./state";
import { addTileF64 } from "./microkernels-simd";

// Scalar build: two columns per i64 multiply. A pair word of the B panel holds
// [b(2p,j) b(2p+1,j) b(2p,j') b(2p+1,j')]; its even codes b(2p,j) + 2^32 b(2p,j') (sign-extended
// in place) times a(i,2p), plus the odd ones times a(i,2p+1), summed over the block, is
// S(i,j) + 2^32 S(i,j') exactly: |S| < 2^31 by the K block's overflow bound, so the low word
// sign-extended is S(i,j) and the rest S(i,j'). 16 multiplies per pair for a 4x4 sub-tile
// instead of 32.
const LANES: u64 = 0x0000ffff0000ffff;
const SIGNS: u64 = 0x0000800000008000;
@inline function evenCodes(x: u64): i64 { const y = x & LANES; return <i64>(y - ((y & SIGNS) << 1)); }
@inline function oddCodes(x: u64): i64 { const y = (x >> 16) & LANES; return <i64>(y - ((y & SIGNS) << 1)); }
@inline function lowSum(acc: i64): i32 { return <i32>acc; }
@inline function highSum(acc: i64): i32 { return <i32>((acc - <i64><i32>acc) >> 32); }

/** The 4 x 8 tile as i32 at t (row stride tld bytes): stored, or added when add. */
@inline export function gemm_4x8c2_i32_scalar(a: usize, lda: usize, b: usize, pairs: u32, t: usize, tld: usize, add: bool): void {
  for (let j: u32 = 0; j < NR; j += 4) {
    let bp = b + (<usize>j << 2);
    let ap = a;
    let s00: i64 = 0, s01: i64 = 0, s10: i64 = 0, s11: i64 = 0;
    let s20: i64 = 0, s21: i64 = 0, s30: i64 = 0, s31: i64 = 0;
    for (let p: u32 = 0; p < pairs; p++) {
      const x0 = load<u64>(bp), x1 = load<u64>(bp, 8);
      const e0 = evenCodes(x0), o0 = oddCodes(x0), e1 = evenCodes(x1), o1 = oddCodes(x1);
      let u = <i64>load<i16>(ap), w = <i64>load<i16>(ap, 2);
      s00 += u * e0 + w * o0; s01 += u * e1 + w * o1;
      u = <i64>load<i16>(ap + lda); w = <i64>load<i16>(ap + lda, 2);
      s10 += u * e0 + w * o0; s11 += u * e1 + w * o1;
      u = <i64>load<i16>(ap + 2 * lda); w = <i64>load<i16>(ap + 2 * lda, 2);
      s20 += u * e0 + w * o0; s21 += u * e1 + w * o1;
      u = <i64>load<i16>(ap + 3 * lda); w = <i64>load<i16>(ap + 3 * lda, 2);
      s30 += u * e0 + w * o0; s31 += u * e1 + w * o1;
      ap += 4;
      bp += 32;
    }
    storeLanes(t + (<usize>j << 2), s00, s01, add);
    storeLanes(t + tld + (<usize>j << 2), s10, s11, add);
    storeLanes(t + 2 * tld + (<usize>j << 2), s20, s21, add);
    storeLanes(t + 3 * tld + (<usize>j << 2), s30, s31, add);
  }
}

@inline function storeLanes(t: usize, s0: i64, s1: i64, add: bool): void {
  let v0 = lowSum(s0), v1 = highSum(s0), v2 = lowSum(s1), v3 = highSum(s1);
  if (add) { v0 += load<i32>(t); v1 += load<i32>(t, 4); v2 += load<i32>(t, 8); v3 += load<i32>(t, 12); }
  store<i32>(t, v0); store<i32>(t, v1, 4); store<i32>(t, v2, 8); store<i32>(t, v3, 12);
}


/** C (f64) [0..mr, 0..nr] += scale * (A panel rows x B panel group), exactly. */
export function gemm_4x8c2_f64acc_scalar(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, mr: u32, nr: u32, scale: f64): void {
  gemm_4x8c2_i32_scalar(a, lda, b, pairs, tile, NR << 2, false);
  addTileF64(c, ldc, mr, nr, scale);
}

/** The fused i32 block accumulator: C (full 4 x 8 tile of i32) = (first) or += A x B. */
export function gemm_4x8c2_i32acc_scalar(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, first: bool): void {
  gemm_4x8c2_i32_scalar(a, lda, b, pairs, c, ldc, !first);
}

// Lane panels (packing.ts packBLanes): three columns per word, so each multiply makes three
// products: a(i,k) * (b(k,j) + 2^L b(k,j+1) + 2^2L b(k,j+2)) summed over k is
// S(i,j) + 2^L S(i,j+1) + 2^2L S(i,j+2): mod 2^64 in i64 words (L = 21), exactly in f64 words
// (L = 17, every value an integer below 2^51; state.ts laneF64). Over laneChunk pairs
// (blocking.ts setOperands) every lane sum stays inside its lane, so the low L bits sign-extended
// are S(i,j), the next L bits (less that borrow) S(i,j+1), the rest S(i,j+2); longer K is taken a
// chunk at a time, each chunk's sums added into the i32 tile (exact: the i32 overflow bound holds
// for the whole sum and all its partial sums). 16 multiplies per pair for a 4x6 tile: 3 products
// each, against 2 in the paired kernel above.
@inline function lane(x: i64, bits: i64): i64 { return (x << (64 - bits)) >> (64 - bits); }

@inline function put(t: usize, v: i64, add: bool): void {
  store<i32>(t, add ? load<i32>(t) + <i32>v : <i32>v);
}

// Row of the tile from its two words: columns [0, cols) of t stored, or added when add.
@inline function storeLaneRow<T>(t: usize, w0: T, w1: T, add: bool, cols: u32): void {
  const L: i64 = isFloat<T>() ? <i64>LANE_BITS_F64 : <i64>LANE_BITS;
  const s0 = <i64>w0, s1 = <i64>w1;
  const v0 = lane(s0, L), r0 = (s0 - v0) >> L, v1 = lane(r0, L), v2 = (r0 - v1) >> L;
  const v3 = lane(s1, L), r1 = (s1 - v3) >> L, v4 = lane(r1, L), v5 = (r1 - v4) >> L;
  if (cols == LANE_COLS) {
    put(t, v0, add); put(t + 4, v1, add); put(t + 8, v2, add);
    put(t + 12, v3, add); put(t + 16, v4, add); put(t + 20, v5, add);
    return;
  }
  put(t, v0, add);
  if (cols > 1) put(t + 4, v1, add);
  if (cols > 2) put(t + 8, v2, add);
  if (cols > 3) put(t + 12, v3, add);
  if (cols > 4) put(t + 16, v4, add);
}

/** The fused i32 block accumulator from a lane panel group of i64 words: C (4 rows, columns
 *  [0, cols) of 6, i32, ldc bytes per row) = (first) or += A x B. */
export function gemm_4x6l3_i32acc_scalar(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, first: bool, cols: u32): void {
  let add = !first;
  let left = pairs;
  const l2 = lda << 1, l3 = lda * 3;
  do {
    const n = min(laneChunk, left);
    let s00: i64 = 0, s01: i64 = 0, s10: i64 = 0, s11: i64 = 0;
    let s20: i64 = 0, s21: i64 = 0, s30: i64 = 0, s31: i64 = 0;
    for (let p: u32 = 0; p < n; p++) {
      const w0 = load<i64>(b), w1 = load<i64>(b, 8), x0 = load<i64>(b, 16), x1 = load<i64>(b, 24);
      let u = <i64>load<i16>(a), v = <i64>load<i16>(a, 2);
      s00 += u * w0 + v * x0; s01 += u * w1 + v * x1;
      u = <i64>load<i16>(a + lda); v = <i64>load<i16>(a + lda, 2);
      s10 += u * w0 + v * x0; s11 += u * w1 + v * x1;
      u = <i64>load<i16>(a + l2); v = <i64>load<i16>(a + l2, 2);
      s20 += u * w0 + v * x0; s21 += u * w1 + v * x1;
      u = <i64>load<i16>(a + l3); v = <i64>load<i16>(a + l3, 2);
      s30 += u * w0 + v * x0; s31 += u * w1 + v * x1;
      a += 4;
      b += 32;
    }
    storeLaneRow<i64>(c, s00, s01, add, cols);
    storeLaneRow<i64>(c + ldc, s10, s11, add, cols);
    storeLaneRow<i64>(c + 2 * ldc, s20, s21, add, cols);
    storeLaneRow<i64>(c + 3 * ldc, s30, s31, add, cols);
    add = true;
    left -= n;
  } while (left > 0);
}

/** The same from a group of f64 words, A's four rows as f64 interleaved at a (32 bytes per k:
 *  block-multiply.ts tileRowsF64). Every product and sum an exact integer: no rounding happens. */
export function gemm_4x6l3f_i32acc_scalar(a: usize, b: usize, pairs: u32, c: usize, ldc: usize, first: bool, cols: u32): void {
  let add = !first;
  let left = pairs;
  do {
    const n = min(laneChunk, left);
    let s00: f64 = 0, s01: f64 = 0, s10: f64 = 0, s11: f64 = 0;
    let s20: f64 = 0, s21: f64 = 0, s30: f64 = 0, s31: f64 = 0;
    const end = b + (<usize>n << 5);
    while (b < end) {
      const w0 = load<f64>(b), w1 = load<f64>(b, 8);
      let u = load<f64>(a);
      s00 += u * w0; s01 += u * w1;
      u = load<f64>(a, 8);
      s10 += u * w0; s11 += u * w1;
      u = load<f64>(a, 16);
      s20 += u * w0; s21 += u * w1;
      u = load<f64>(a, 24);
      s30 += u * w0; s31 += u * w1;
      a += 32;
      b += 16;
    }
    storeLaneRow<f64>(c, s00, s01, add, cols);
    storeLaneRow<f64>(c + ldc, s10, s11, add, cols);
    storeLaneRow<f64>(c + 2 * ldc, s20, s21, add, cols);
    storeLaneRow<f64>(c + 3 * ldc, s30, s31, add, cols);
    add = true;
    left -= n;
  } while (left > 0);
}
