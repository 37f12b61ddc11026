// The relaxed-SIMD ceiling: i16x8.relaxed_dot_i8x16_i7x16_s (16 i8 x i7 products, summed in
// adjacent pairs to i16) widened by i32x4.extadd_pairwise_i16x8_s and accumulated: 16 MACs per
// dot. A separate module because one relaxed op makes a module fail to validate where relaxed
// SIMD is off; ceiling-host.ts compiles it only after WebAssembly.validate accepts it and runs it
// only after a known-answer check (engines have returned wrong values for relaxed dots).
// Same construction as ceiling.ts (operands loaded before the loop, distinct pairs, 2 x 3).
// The second operand must be 0..127 (i7): the host writes such lanes; i8 x i7 pair sums
// (<= 2 * 128 * 127) fit i16, so no engine saturates.

const OPERANDS = memory.data(16 * 16, 16);

export function operands(): usize {
  return OPERANDS;
}

@inline function operand(k: i32): v128 {
  return v128.load(OPERANDS + (<usize>k << 4));
}

@inline function dot(a: v128, b: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(a, b));
}

/** `iters` iterations of 6 independent c += widen(relaxed_dot(a_i, b_j)): 96 MACs an iteration. */
export function relaxedDotAdd2x3(iters: i32): i32 {
  const a0 = operand(0), a1 = operand(1);
  const b0 = operand(2), b1 = operand(3), b2 = operand(4);
  let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0);
  let c3 = i32x4.splat(0), c4 = i32x4.splat(0), c5 = i32x4.splat(0);
  for (let i = iters; i > 0; i--) {
    c0 = i32x4.add(c0, dot(a0, b0));
    c1 = i32x4.add(c1, dot(a0, b1));
    c2 = i32x4.add(c2, dot(a0, b2));
    c3 = i32x4.add(c3, dot(a1, b0));
    c4 = i32x4.add(c4, dot(a1, b1));
    c5 = i32x4.add(c5, dot(a1, b2));
  }
  const s = i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(c4, c5));
  return i32x4.extract_lane(s, 0) ^ i32x4.extract_lane(s, 1) ^ i32x4.extract_lane(s, 2) ^ i32x4.extract_lane(s, 3);
}

/** widen(relaxed_dot(operand 0, operand 2)) into operand 15: the known-answer check. */
export function relaxedDotOnce(): void {
  v128.store(OPERANDS + 15 * 16, dot(operand(0), operand(2)));
}
