// Seeded permutations for data order. Everything is 32-bit integer arithmetic (Math.imul, >>>),
// so a (seed, stream) pair gives the same order on every engine and platform; Math.random is
// never used.

const GOLDEN = 0x9e3779b9;

/** murmur3's 32-bit finalizer: a bijection of uint32 with full avalanche. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A non-negative integer that fits 32 bits, or RangeError naming `what`. */
export function checkU32(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${what} must be an integer in 0..4294967295, got ${value}`);
  }
  return value;
}

/**
 * splitmix32: a Weyl sequence (step = golden ratio, odd, so period 2^32) through fmix32.
 * The state is derived from (domain, seed, stream) by chained fmix32, so the batch order of
 * epoch e and the train/test split drawn from the same seed are unrelated sequences.
 */
export class SplitMix32 {
  private state: number;

  constructor(seed: number, stream = 0, domain = 0) {
    checkU32("seed", seed);
    checkU32("stream", stream);
    this.state = fmix32(fmix32(fmix32(domain ^ 0x2545f491) ^ seed) + Math.imul(stream, GOLDEN));
  }

  /** Next uint32. */
  next(): number {
    this.state = (this.state + GOLDEN) >>> 0;
    return fmix32(this.state);
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^32, without modulo bias (rejection). */
  below(n: number): number {
    // Accept r only below the largest multiple of n that fits 2^32, so every residue is equally likely.
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const r = this.next();
      if (r < limit) return r % n;
    }
  }

  /** Fisher–Yates, in place, from the last element down. */
  shuffle(a: Uint32Array): Uint32Array {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

/** Domain tags keep the sequences of different uses apart (any distinct constants do). */
export const DOMAIN_BATCHES = 0x62617463; // "batc"
export const DOMAIN_SPLIT = 0x73706c74; // "splt"

/** 0..n-1 in the order given by (seed, stream, domain). */
export function permutation(n: number, seed: number, stream = 0, domain = DOMAIN_BATCHES): Uint32Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`permutation length must be an integer in 0..4294967295, got ${n}`);
  }
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return new SplitMix32(seed, stream, domain).shuffle(a);
}
