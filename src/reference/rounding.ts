// Reference of the rounding rules in assembly/quantize.ts: stochastic rounding (floor(r + u),
// u = randomUnit of the element's flat output index) and round-to-nearest-even, on exact rationals
// (BigInt) and on f64 reals (the same f64 operations, in the same order, as the kernels).
import { maxCode } from "../format/packed.js";
import { randomBits, randomKey, randomUnit } from "./random.js";

import { ROUND_STOCHASTIC as ROUND_SR, ROUND_NEAREST as ROUND_RNE } from "../format/codes.js";

// The ABI's mode codes (src/format/codes.ts), under the names the reference uses.
export { ROUND_SR, ROUND_RNE };

/** How a kernel rounds: mode 0 = SR with the draws of (seed, step, stream), 1 = RNE. */
export interface Rounding {
  mode: number;
  seed?: number;
  step?: number;
  stream?: number;
}

export function checkMode(r: Rounding, name: string): void {
  if (r.mode !== ROUND_SR && r.mode !== ROUND_RNE) {
    throw new RangeError(`${name}: rounding mode must be 0 (SR) or 1 (RNE), got ${r.mode}`);
  }
}

export function keyOf(r: Rounding): bigint {
  return randomKey(r.seed ?? 0, r.step ?? 0, r.stream ?? 0);
}

/** num / den (integers, den > 0) as [floor, remainder in 0..den-1], exactly. */
function divmod(num: number, den: number): [bigint, bigint] {
  const n = BigInt(num);
  const d = BigInt(den);
  let a = n / d;
  let c = n - a * d;
  if (c < 0n) {
    a -= 1n;
    c += d;
  }
  return [a, c];
}

/** nearest(num / den), ties to even. */
export function rneDiv(num: number, den: number): number {
  const [a, c] = divmod(num, den);
  const d = BigInt(den);
  return Number(2n * c > d || (2n * c === d && (a & 1n) === 1n) ? a + 1n : a);
}

/** floor(num / den + u) with u = (bits >> 11) * 2^-53, exactly. */
export function srDiv(num: number, den: number, bits: bigint): number {
  const [a, c] = divmod(num, den);
  const d = BigInt(den);
  return Number((bits >> 11n) * d >= (d - c) << 53n ? a + 1n : a);
}

/** num / den rounded by `mode`, drawing element `index` of `key`. */
export function roundDiv(num: number, den: number, mode: number, key: bigint, index: number): number {
  return mode === ROUND_RNE ? rneDiv(num, den) : srDiv(num, den, randomBits(key, index));
}

/** Round half to even (wasm f64.nearest); Math.round rounds halves up. */
export function nearestEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function roundReal(r: number, mode: number, key: bigint, index: number): number {
  return mode === ROUND_RNE ? nearestEven(r) : Math.floor(r + randomUnit(key, index));
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** 2^n for -1022 <= n <= 1023, from its bits. */
export function pow2(n: number): number {
  u64[0] = BigInt(n + 1023) << 52n;
  return f64[0];
}

/** x * 2^n in the kernels' steps (each factor finite, so exact while the result is normal). */
export function scalePow2(x: number, n: number): number {
  while (n > 1000) { x *= pow2(1000); n -= 1000; }
  while (n < -1000) { x *= pow2(-1000); n += 1000; }
  return x * pow2(n);
}

/** floor(log2(x)) of a positive finite double, from its bits. */
function binaryExponent(x: number): number {
  let bias = 0;
  if (x < pow2(-1022)) { x *= pow2(64); bias = 64; }
  f64[0] = x;
  return Number((u64[0] >> 52n) & 0x7ffn) - 1023 - bias;
}

/**
 * The smallest integer e with round(maxAbs * 2^-e) <= maxCode(bits) (RNE: nearest; SR: the value
 * itself, so no draw can saturate); 0 for maxAbs = 0. Found by search, not by the kernels' formula.
 */
export function chooseExponent(maxAbs: number, bits: number, mode: number): number {
  if (maxAbs === 0) return 0;
  const limit = maxCode(bits);
  const fits = (e: number) => {
    const v = scalePow2(maxAbs, -e);
    return (mode === ROUND_RNE ? nearestEven(v) : v) <= limit;
  };
  let e = binaryExponent(maxAbs) - 40; // surely too small: scales maxAbs to >= 2^40
  while (!fits(e)) e++;
  return e;
}

export function clamp(q: number, limit: number): number {
  return q > limit ? limit : q < -limit ? -limit : q;
}
