// The relaxed-SIMD build's micro-kernels: a 4 x 8 tile of the i8 "c4" panels (k in quads; layouts
// and exactness bounds in relaxed.ts), i16x8.relaxed_dot_i8x16_i7x16_s widened to i32 by a dot
// with ones. Compiled only into the relaxed build: each body sits behind ASC_FEATURE_RELAXED_SIMD.

import { MR, NR } from "./blocking";
import { tile } from "./state";
import { addTileF64 } from "./microkernels-simd";

// C[0..mr, 0..nr] += A micro-panel x B panel group (4 x 8), exactly (bounds in the header).
// One quad per iteration, addressed by immediate offsets from one A and one B pointer. (A loop
// unrolled to two quads measured slower here, cause not investigated.)
export function gemm_4x8c4_relaxed(a: usize, b: usize, quads: u32, c: usize, ldc: usize, mr: u32, nr: u32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return;
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  // Widening by dot_i16x8_s(ones, d) = d(2t) + d(2t+1): extadd_pairwise_i16x8_s's value, but V8
  // emits extadd as a pmaddwd from a constant in memory (its address loaded each time), while
  // this keeps the ones in a register (~7% faster at 256^3). Read back from memory so binaryen
  // cannot fold the constant into the loop.
  v128.store(tile, i16x8.splat(1));
  const ones = v128.load(tile);
  let q: u32 = 0;
  for (; q < quads; q++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let va = v128.load32_splat(a);
    c00 = i32x4.add(c00, i32x4.dot_i16x8_s(ones, i16x8.relaxed_dot_i8x16_i7x16_s(b0, va)));
    c01 = i32x4.add(c01, i32x4.dot_i16x8_s(ones, i16x8.relaxed_dot_i8x16_i7x16_s(b1, va)));
    va = v128.load32_splat(a, 4);
    c10 = i32x4.add(c10, i32x4.dot_i16x8_s(ones, i16x8.relaxed_dot_i8x16_i7x16_s(b0, va)));
    c11 = i32x4.add(c11, i32x4.dot_i16x8_s(ones, i16x8.relaxed_dot_i8x16_i7x16_s(b1, va)));
    va = v128.load32_splat(a, 8);
    c20 = i32x4.add(c20, i32x4.dot_i16x8_s(ones, i16x8.relaxed_dot_i8x16_i7x16_s(b0, va)));
    c21 = i32x4.add(c21, i32x4.dot_i16x8_s(ones, i16x8.relaxed_dot_i8x16_i7x16_s(b1, va)));
    va = v128.load32_splat(a, 12);
    c30 = i32x4.add(c30, i32x4.dot_i16x8_s(ones, i16x8.relaxed_dot_i8x16_i7x16_s(b0, va)));
    c31 = i32x4.add(c31, i32x4.dot_i16x8_s(ones, i16x8.relaxed_dot_i8x16_i7x16_s(b1, va)));
    a += 16;
    b += 32;
  }
  if (mr == MR && nr == NR) {
    addRowR(c, c00, c01);
    addRowR(c + ldc, c10, c11);
    addRowR(c + 2 * ldc, c20, c21);
    addRowR(c + 3 * ldc, c30, c31);
    return;
  }
  const t = tile;
  v128.store(t, c00); v128.store(t, c01, 16);
  v128.store(t, c10, 32); v128.store(t, c11, 48);
  v128.store(t, c20, 64); v128.store(t, c21, 80);
  v128.store(t, c30, 96); v128.store(t, c31, 112);
  addTileF64(c, ldc, mr, nr, 1); // times 1: exact, the same sums
}

// Narrower operands (d = quads per widening >= relaxed.ts MIN_QUADS_PER_WIDEN): the 4 x 8 tile
// sums up to d quads of relaxed dots in i16 accumulators before each widening, so the widening
// dots, half of the 4 x 8 kernel's multiplies, become rare. 8 i16 accumulators, 2 B vectors, a
// splat and the ones stay in registers; the i32 sums live in the tile scratch, updated once per
// d quads. (Measured at 256^3: 1.2x the 4 x 8 kernel at 8 x 4 and 4 x 4 bits, even
// at D = 4, slower at D = 2, where the extra stores and loads outweigh the widenings saved.)
export function gemm_4x8c4_i16acc_relaxed(d: u32, a: usize, b: usize, quads: u32, c: usize, ldc: usize, mr: u32, nr: u32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return;
  const t = tile;
  memory.fill(t, 0, 128);
  v128.store(t, i16x8.splat(1), 128);
  const ones = v128.load(t, 128);
  let q: u32 = 0;
  while (q < quads) {
    const end = min(q + d, quads);
    let s00 = i16x8.splat(0), s01 = i16x8.splat(0), s10 = i16x8.splat(0), s11 = i16x8.splat(0);
    let s20 = i16x8.splat(0), s21 = i16x8.splat(0), s30 = i16x8.splat(0), s31 = i16x8.splat(0);
    for (; q < end; q++) {
      const b0 = v128.load(b), b1 = v128.load(b, 16);
      let va = v128.load32_splat(a);
      s00 = i16x8.add(s00, i16x8.relaxed_dot_i8x16_i7x16_s(b0, va));
      s01 = i16x8.add(s01, i16x8.relaxed_dot_i8x16_i7x16_s(b1, va));
      va = v128.load32_splat(a, 4);
      s10 = i16x8.add(s10, i16x8.relaxed_dot_i8x16_i7x16_s(b0, va));
      s11 = i16x8.add(s11, i16x8.relaxed_dot_i8x16_i7x16_s(b1, va));
      va = v128.load32_splat(a, 8);
      s20 = i16x8.add(s20, i16x8.relaxed_dot_i8x16_i7x16_s(b0, va));
      s21 = i16x8.add(s21, i16x8.relaxed_dot_i8x16_i7x16_s(b1, va));
      va = v128.load32_splat(a, 12);
      s30 = i16x8.add(s30, i16x8.relaxed_dot_i8x16_i7x16_s(b0, va));
      s31 = i16x8.add(s31, i16x8.relaxed_dot_i8x16_i7x16_s(b1, va));
      a += 16;
      b += 32;
    }
    v128.store(t, i32x4.add(v128.load(t), i32x4.dot_i16x8_s(ones, s00)));
    v128.store(t, i32x4.add(v128.load(t, 16), i32x4.dot_i16x8_s(ones, s01)), 16);
    v128.store(t, i32x4.add(v128.load(t, 32), i32x4.dot_i16x8_s(ones, s10)), 32);
    v128.store(t, i32x4.add(v128.load(t, 48), i32x4.dot_i16x8_s(ones, s11)), 48);
    v128.store(t, i32x4.add(v128.load(t, 64), i32x4.dot_i16x8_s(ones, s20)), 64);
    v128.store(t, i32x4.add(v128.load(t, 80), i32x4.dot_i16x8_s(ones, s21)), 80);
    v128.store(t, i32x4.add(v128.load(t, 96), i32x4.dot_i16x8_s(ones, s30)), 96);
    v128.store(t, i32x4.add(v128.load(t, 112), i32x4.dot_i16x8_s(ones, s31)), 112);
  }
  if (mr == MR && nr == NR) {
    addRowR(c, v128.load(t), v128.load(t, 16));
    addRowR(c + ldc, v128.load(t, 32), v128.load(t, 48));
    addRowR(c + 2 * ldc, v128.load(t, 64), v128.load(t, 80));
    addRowR(c + 3 * ldc, v128.load(t, 96), v128.load(t, 112));
    return;
  }
  addTileF64(c, ldc, mr, nr, 1); // times 1: exact, the same sums
}

// c[0..8] += the 8 i32 lanes of (lo, hi) as f64: exact (integers far below 2^53).
@inline function addRowR(c: usize, lo: v128, hi: v128): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return;
  const loSwapped = i32x4.shuffle(lo, lo, 2, 3, 0, 1);
  const hiSwapped = i32x4.shuffle(hi, hi, 2, 3, 0, 1);
  v128.store(c, f64x2.add(v128.load(c), f64x2.convert_low_i32x4_s(lo)));
  v128.store(c, f64x2.add(v128.load(c, 16), f64x2.convert_low_i32x4_s(loSwapped)), 16);
  v128.store(c, f64x2.add(v128.load(c, 32), f64x2.convert_low_i32x4_s(hi)), 32);
  v128.store(c, f64x2.add(v128.load(c, 48), f64x2.convert_low_i32x4_s(hiSwapped)), 48);
}
