// Reference of assembly/random.ts in BigInt: the counter-based draws of stochastic rounding, as a
// pure function of (seed, step, stream, index), mod-2^64 arithmetic spelled out.

const MASK = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;

function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return z ^ (z >> 31n);
}

/** The key of one kernel call's draws (seed, step, stream are u32). */
export function randomKey(seed: number, step: number, stream: number): bigint {
  const s = BigInt(seed >>> 0);
  const t = BigInt(step >>> 0);
  const r = BigInt(stream >>> 0);
  return mix64(mix64((s << 32n) | r) ^ ((t * GOLDEN) & MASK));
}

/** 64 random bits (as an unsigned bigint) for element `index` under `key`. */
export function randomBits(key: bigint, index: number | bigint): bigint {
  return mix64((key + ((BigInt(index) + 1n) * GOLDEN)) & MASK);
}

/** Uniform in [0, 1): the top 53 bits times 2^-53. */
export function randomUnit(key: bigint, index: number | bigint): number {
  return Number(randomBits(key, index) >> 11n) * 2 ** -53;
}
