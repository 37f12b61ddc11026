// A tiny seeded PRNG (mulberry32) so every generated case is reproducible from its seed alone:
// a failure message that prints the seed is a complete repro.

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in [lo, hi] (inclusive); hi - lo < 2^32. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 2 ** 32) * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  sign(): 1 | -1 {
    return this.u32() & 1 ? 1 : -1;
  }
}

/** Largest symmetric code at `bits`, computed independently of src/format/packed.ts. */
export function maxCodeOf(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/** Uniform codes in the symmetric range -(2^(b-1)-1)..2^(b-1)-1. */
export function randomCodes(rng: Rng, count: number, bits: number): Int32Array {
  const max = maxCodeOf(bits);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.int(-max, max);
  return out;
}

/** Random codes with the extremes, 0 and -1 placed often (the cases kernels get wrong); `range`
 *  narrows them (ties in pooling). Draws the same numbers whatever the range. */
export function edgeCodes(rng: Rng, count: number, bits: number, range = maxCodeOf(bits)): Int32Array {
  const m = Math.min(range, maxCodeOf(bits));
  const c = randomCodes(rng, count, bits).map((q) => Math.max(-m, Math.min(m, q)));
  for (let i = 0; i < count; i++) {
    const k = rng.int(0, 9);
    if (k === 0) c[i] = m;
    else if (k === 1) c[i] = -m;
    else if (k === 2) c[i] = 0;
    else if (k === 3) c[i] = -1;
  }
  return c;
}
