// The ceiling: how many i32x4.dot_i16x8_s (8 multiply-accumulates each) this engine retires per
// second when nothing but the dot and its accumulate is in the loop, no loads or stores of data.
// Every kernel figure in compare.bench.ts is read as a fraction of it. Built by bench/ceiling/
// ceiling-host.ts with asc at bench time (SIMD on); see there for the .wat check.
//
// Why it is written this way (TOOLCHAIN "Code generation notes": synthetic loops fake above-peak
// numbers when the optimizer merges, folds or hoists work):
// - Operands are loaded from memory the host fills at run time, before the loop: nothing folds to
//   a constant. (Operands computed from an argument with splat + replace_lane were scheduled by
//   TurboFan *inside* the loop and rebuilt every iteration: 4.6 instead of ~50 GMAC/s.)
// - Each accumulator takes the dot of a different (a, b) pair, so no two dots are the same
//   expression and common-subexpression elimination has nothing to merge; the loop is not
//   unrolled by hand, because an unrolled body repeats each pair, which is what CSE merges.
// - Few live vectors: V8 11.3's allocator spilled accumulators to the stack inside the loop at
//   2 x 4 (8 accumulators + 6 operands, 26 GMAC/s) and worse beyond, while 2 x 3 (6 + 5) keeps
//   every accumulator in a register (it reloads two operands from the stack each iteration:
//   cheap loads, no stores) and 1 x 4 (4 + 5) spills nothing. Both are timed; the ceiling is the
//   faster. 4-6 accumulators are plenty: the accumulate is a 1-cycle add, the dot pipelined.
// - The dots' operands are loop-invariant: ceiling-host.ts checks that the optimized module still
//   has every dot inside its loop, and dotChain (each dot takes the previous iteration's result,
//   so no compiler can hoist or merge it) is printed beside as a cross-check.
// - Every accumulator folds into the return value, so no dot is dead.

const OPERANDS = memory.data(16 * 16, 16);

/** Where the host writes the 16 operand vectors (256 bytes of random i16 lanes). */
export function operands(): usize {
  return OPERANDS;
}

@inline function operand(k: i32): v128 {
  return v128.load(OPERANDS + (<usize>k << 4));
}

@inline function fold(s: v128): i32 {
  return i32x4.extract_lane(s, 0) ^ i32x4.extract_lane(s, 1) ^ i32x4.extract_lane(s, 2) ^ i32x4.extract_lane(s, 3);
}

/** `iters` iterations of 6 independent c += dot(a_i, b_j), i < 2, j < 3: 48 MACs an iteration. */
export function dotAdd2x3(iters: i32): i32 {
  const a0 = operand(0), a1 = operand(1);
  const b0 = operand(2), b1 = operand(3), b2 = operand(4);
  let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0);
  let c3 = i32x4.splat(0), c4 = i32x4.splat(0), c5 = i32x4.splat(0);
  for (let i = iters; i > 0; i--) {
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(a0, b0));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(a0, b1));
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(a0, b2));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(a1, b0));
    c4 = i32x4.add(c4, i32x4.dot_i16x8_s(a1, b1));
    c5 = i32x4.add(c5, i32x4.dot_i16x8_s(a1, b2));
  }
  return fold(i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(c4, c5)));
}

/** `iters` iterations of 4 independent c += dot(a, b_j): 32 MACs an iteration. */
export function dotAdd1x4(iters: i32): i32 {
  const a0 = operand(0);
  const b0 = operand(2), b1 = operand(3), b2 = operand(4), b3 = operand(5);
  let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
  for (let i = iters; i > 0; i--) {
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(a0, b0));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(a0, b1));
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(a0, b2));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(a0, b3));
  }
  return fold(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)));
}

/**
 * Cross-check, dot only: 8 chains c = dot(c, b), each dot taking the previous iteration's result
 * (values wrap; only the timing matters), so nothing can be hoisted or merged. No accumulate, so
 * it can run above the dot + add loops: it bounds them from above.
 */
export function dotChain(iters: i32): i32 {
  const b0 = operand(2), b1 = operand(3);
  let c0 = operand(6), c1 = operand(7), c2 = operand(8), c3 = operand(9);
  let c4 = operand(10), c5 = operand(11), c6 = operand(12), c7 = operand(13);
  for (let i = iters; i > 0; i--) {
    c0 = i32x4.dot_i16x8_s(c0, b0);
    c1 = i32x4.dot_i16x8_s(c1, b1);
    c2 = i32x4.dot_i16x8_s(c2, b0);
    c3 = i32x4.dot_i16x8_s(c3, b1);
    c4 = i32x4.dot_i16x8_s(c4, b0);
    c5 = i32x4.dot_i16x8_s(c5, b1);
    c6 = i32x4.dot_i16x8_s(c6, b0);
    c7 = i32x4.dot_i16x8_s(c7, b1);
  }
  return fold(i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(i32x4.add(c4, c5), i32x4.add(c6, c7))));
}

/** dot(operand 0, operand 1) lane by lane into operand 15: a known-answer check of the engine. */
export function dotOnce(): void {
  v128.store(OPERANDS + 15 * 16, i32x4.dot_i16x8_s(operand(0), operand(1)));
}
