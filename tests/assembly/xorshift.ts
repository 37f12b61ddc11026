// The kernel specs' operand generator: xorshift32 (Marsaglia), one sequence per spec file (each
// file compiles to its own module, so each has its own state), seeded by seedRandom.
let state: u32 = 1;

export function seedRandom(seed: u32): void {
  state = seed;
}

export function nextU32(): u32 {
  let x = state;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state = x;
  return x;
}
