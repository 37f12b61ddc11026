// Exponent choice and the tensor record shared by layers. A quantized tensor is value = q * 2^exp
// (docs/architecture.md, "The number format"); the codes live packed in wasm memory at `at`, the exponent lives here.
import { maxCode } from "../format/packed.js";
import type { Rounding } from "../runtime/descriptors.js";

/** A packed tensor in the engine's memory. 4-D shapes are NHWC stored as N*H lines of W*C codes;
 *  2-D shapes [N, F] as N rows of F codes. */
export interface QTensor {
  at: number;
  shape: readonly number[];
  bits: number;
  exp: number;
}

export function storageRows(shape: readonly number[]): number {
  return shape.length === 4 ? shape[0] * shape[1] : shape[0];
}

export function storageCols(shape: readonly number[]): number {
  return shape.length === 4 ? shape[2] * shape[3] : shape[1];
}

export function featuresOf(shape: readonly number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * The exponent of a tensor whose largest magnitude is `maxAbs` (in units of 2^unitExp): the
 * smallest e such that no code saturates, i.e. maxAbs * 2^(unitExp - e) rounds to at most
 * maxCode(bits) (for stochastic rounding: is at most maxCode, since any draw may round up).
 * Mirrors chooseExponent in assembly/quantize.ts.
 */
export function chooseExponent(maxAbs: number, unitExp: number, bits: number, rounding: Rounding): number {
  if (Number.isNaN(maxAbs) || maxAbs === Infinity) throw new RangeError(`exponent choice: the largest magnitude is ${maxAbs}`);
  if (!(maxAbs > 0)) return unitExp;
  const limit = maxCode(bits);
  let e = unitExp + Math.floor(Math.log2(maxAbs)) - bits + 2;
  for (;;) {
    const v = maxAbs * 2 ** (unitExp - e);
    const r = rounding === "nearest" ? roundHalfEven(v) : v;
    if (r <= limit) break;
    e++;
  }
  // log2 may have overshot by one for values just below a power of two.
  while (e > -1074) {
    const v = maxAbs * 2 ** (unitExp - (e - 1));
    const r = rounding === "nearest" ? roundHalfEven(v) : v;
    if (r > limit) break;
    e--;
  }
  return e;
}

/**
 * The input batch's exponent (the data edge, Engine.quantizeInput): from log2 of maxAbs / maxCode,
 * raised until maxAbs * 2^-exp is at most maxCode, so no code saturates; 0 for an all-zero batch.
 * The input has always been quantized at this exponent (a run's codes, and so its hashes, depend
 * on it), which is why it is not chooseExponent's.
 */
export function inputExponent(maxAbs: number, bits: number): number {
  const limit = maxCode(bits);
  let exp = maxAbs > 0 ? Math.ceil(Math.log2(maxAbs / limit)) : 0;
  while (maxAbs * 2 ** -exp > limit) exp++;
  return exp;
}

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
