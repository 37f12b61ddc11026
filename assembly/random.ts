// Counter-based randomness for stochastic rounding: a draw is a pure function of
// (seed, step, stream, index), so the SIMD and scalar builds, and a run resumed at any step, draw
// exactly the same numbers without carrying generator state. `stream` names the consumer
// (layer * STREAMS_PER_LAYER + purpose). The mixer is SplitMix64's finaliser over a Weyl sequence,
// keyed by hashing (seed, step, stream) once per kernel call.

const GOLDEN: u64 = 0x9e3779b97f4a7c15;

@inline function mix64(z: u64): u64 {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/** The key of one kernel call's draws. */
export function randomKey(seed: u32, step: u32, stream: u32): u64 {
  return mix64(mix64((<u64>seed << 32) | <u64>stream) ^ (<u64>step * GOLDEN));
}

/** 64 random bits for element `index` under `key`. */
@inline export function randomBits(key: u64, index: u64): u64 {
  return mix64(key + (index + 1) * GOLDEN);
}

/** Uniform in [0, 1) with 53 random bits. */
@inline export function randomUnit(key: u64, index: u64): f64 {
  return <f64>(randomBits(key, index) >> 11) * 1.1102230246251565e-16; // 2^-53
}
