// The SIMD build's micro-kernels: a 4 x 8 (or 2 x 8) tile of A panel rows (or of rows read in
// place in an IM2COL view's line cache) times one B panel group, k in pairs (the "c2" panel layouts of ./index.ts). i32x4.dot_i16x8_s(splat(a(i,2p), a(i,2p+1)),
// group pair) gives a(i,2p)b(2p,j) + a(i,2p+1)b(2p+1,j) for 4 columns j at once; the K block's
// overflow bound (blocking.ts) keeps every i32 lane exact.
//
// The tile body is written once (dotTile) and inlined into each kernel with constant `rows` and
// `sink`, so each kernel compiles to straight-line code with the branches on them folded away.

import { MR, NR } from "./blocking";
import { tile } from "./state";

/** The tile is added, times `scale`, into an f64 C (row stride ldc bytes); partial tiles go
 *  through the tile scratch. */
const SINK_F64: i32 = 0;
/** The tile is stored (first) or added into an i32 block accumulator (row stride ldc bytes). */
const SINK_I32: i32 = 1;

// With rowPtrs != 0 a tile's rows come in segments instead of from one panel (an IM2COL A read
// straight from its line cache): segment s holds `pairs` pairs of k of each row, row r at the u32
// pointer rowPtrs[4s + r], against the next `pairs` pairs of the B group. A segment whose bit is
// set in `skip` (s < 32) is zero in all four rows and only steps B. The segment loop is a
// do-while that folds away for a panel (segs = 1): those kernels compile as before.
@inline function dotTile(
  a: usize, lda: usize, rowPtrs: usize, segs: u32, skip: u32, b: usize, pairs: u32, rows: u32, sink: i32,
  c: usize, ldc: usize, mr: u32, nr: u32, scale: f64, first: bool,
): void {
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  let seg: u32 = 0;
  do {
    let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
    if (rowPtrs != 0) {
      const e = rowPtrs + (<usize>seg << 4);
      a0 = <usize>load<u32>(e); a1 = <usize>load<u32>(e, 4); a2 = <usize>load<u32>(e, 8); a3 = <usize>load<u32>(e, 12);
      if (seg < 32 && ((skip >>> seg) & 1) != 0) { b += <usize>pairs << 5; continue; }
    }
    for (let p: u32 = 0; p < pairs; p++) {
      const b0 = v128.load(b), b1 = v128.load(b, 16);
      let va = v128.load32_splat(a0);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(va, b0));
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a1);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(va, b0));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(va, b1));
      if (rows == 4) {
        va = v128.load32_splat(a2);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(va, b0));
        c21 = i32x4.add(c21, i32x4.dot_i16x8_s(va, b1));
        va = v128.load32_splat(a3);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(va, b0));
        c31 = i32x4.add(c31, i32x4.dot_i16x8_s(va, b1));
      }
      a0 += 4; a1 += 4;
      if (rows == 4) { a2 += 4; a3 += 4; }
      b += 32;
    }
  } while (segs > 1 && ++seg < segs);
  if (sink == SINK_F64) {
    if (mr == MR && nr == NR) {
      const s = f64x2.splat(scale);
      addRowF64(c, c00, c01, s);
      addRowF64(c + ldc, c10, c11, s);
      addRowF64(c + 2 * ldc, c20, c21, s);
      addRowF64(c + 3 * ldc, c30, c31, s);
      return;
    }
    v128.store(tile, c00); v128.store(tile, c01, 16);
    v128.store(tile, c10, 32); v128.store(tile, c11, 48);
    v128.store(tile, c20, 64); v128.store(tile, c21, 80);
    v128.store(tile, c30, 96); v128.store(tile, c31, 112);
    addTileF64(c, ldc, mr, nr, scale);
    return;
  }
  const c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
  if (!first) {
    c00 = i32x4.add(c00, v128.load(c)); c01 = i32x4.add(c01, v128.load(c, 16));
    c10 = i32x4.add(c10, v128.load(c1)); c11 = i32x4.add(c11, v128.load(c1, 16));
    if (rows == 4) {
      c20 = i32x4.add(c20, v128.load(c2)); c21 = i32x4.add(c21, v128.load(c2, 16));
      c30 = i32x4.add(c30, v128.load(c3)); c31 = i32x4.add(c31, v128.load(c3, 16));
    }
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c1, c10); v128.store(c1, c11, 16);
  if (rows == 4) {
    v128.store(c2, c20); v128.store(c2, c21, 16);
    v128.store(c3, c30); v128.store(c3, c31, 16);
  }
}

/** C (f64) [0..mr, 0..nr] += scale * (A panel rows x B panel group), exactly. */
export function gemm_4x8c2_f64acc_simd(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, mr: u32, nr: u32, scale: f64): void {
  if (ASC_FEATURE_SIMD) dotTile(a, lda, 0, 1, 0, b, pairs, 4, SINK_F64, c, ldc, mr, nr, scale, false);
}

/** The fused i32 block accumulator: C (full 4 x 8 tile of i32) = (first) or += A x B. */
export function gemm_4x8c2_i32acc_simd(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, first: bool): void {
  if (ASC_FEATURE_SIMD) dotTile(a, lda, 0, 1, 0, b, pairs, 4, SINK_I32, c, ldc, MR, NR, 1, first);
}

/** gemm_4x8c2_i32acc_simd for a tile of which only two rows are real (M = 6 pads to 8): half the
 *  dot products. The other rows of the block accumulator are never read. */
export function gemm_2x8c2_i32acc_simd(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, first: bool): void {
  if (ASC_FEATURE_SIMD) dotTile(a, lda, 0, 1, 0, b, pairs, 2, SINK_I32, c, ldc, 2, NR, 1, first);
}

/** The i32 tile of four rows read in segments (dotTile's rowPtrs: an IM2COL A read straight from
 *  its line cache, views.ts viewRowsNext) stored into the block accumulator: one K block. */
export function gemm_4x8c2_i32acc_rows_simd(rowPtrs: usize, segs: u32, skip: u32, b: usize, pairs: u32, c: usize, ldc: usize): void {
  if (ASC_FEATURE_SIMD) dotTile(0, 0, rowPtrs, segs, skip, b, pairs, 4, SINK_I32, c, ldc, MR, NR, 1, true);
}

// c[0..8] += s * the 8 i32 lanes of (lo, hi) as f64: exact (integers far below 2^53, scale a
// power of two).
@inline function addRowF64(c: usize, lo: v128, hi: v128, s: v128): void {
  const hiSwapped = i32x4.shuffle(hi, hi, 2, 3, 0, 1);
  const loSwapped = i32x4.shuffle(lo, lo, 2, 3, 0, 1);
  v128.store(c, f64x2.add(v128.load(c), f64x2.mul(s, f64x2.convert_low_i32x4_s(lo))));
  v128.store(c, f64x2.add(v128.load(c, 16), f64x2.mul(s, f64x2.convert_low_i32x4_s(loSwapped))), 16);
  v128.store(c, f64x2.add(v128.load(c, 32), f64x2.mul(s, f64x2.convert_low_i32x4_s(hi))), 32);
  v128.store(c, f64x2.add(v128.load(c, 48), f64x2.mul(s, f64x2.convert_low_i32x4_s(hiSwapped))), 48);
}

/** C (f64) [0..mr, 0..nr] += scale * the i32 tile held in the tile scratch (MR x NR, row-major):
 *  the write-back of a partial tile, for every ISA. */
@inline export function addTileF64(c: usize, ldc: usize, mr: u32, nr: u32, scale: f64): void {
  for (let r: u32 = 0; r < mr; r++) {
    for (let j: u32 = 0; j < nr; j++) {
      const cp = c + <usize>r * ldc + (<usize>j << 3);
      store<f64>(cp, load<f64>(cp) + scale * <f64>load<i32>(tile + (<usize>(r * NR + j) << 2)));
    }
  }
}
