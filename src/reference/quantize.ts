// Reference of assembly/quantize.ts: float data to codes at the smallest exponent that saturates
// nothing, and the largest code magnitude.
import { checkBits, maxCode } from "../format/packed.js";
import { checkMode, chooseExponent, clamp, keyOf, roundReal, scalePow2, type Rounding } from "./rounding.js";

export function quantizeF32(
  data: Float32Array, bits: number, rounding: Rounding,
): { codes: Int32Array; exp: number } {
  checkBits(bits, "quantizeF32");
  checkMode(rounding, "quantizeF32");
  let maxAbs = 0;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new RangeError(`quantizeF32: element ${i} is ${data[i]}`);
    maxAbs = Math.max(maxAbs, Math.abs(data[i]));
  }
  const exp = chooseExponent(maxAbs, bits, rounding.mode);
  const key = keyOf(rounding);
  const limit = maxCode(bits);
  const codes = Int32Array.from(data, (x, i) => clamp(roundReal(scalePow2(x, -exp), rounding.mode, key, i), limit));
  return { codes, exp };
}

export function maxAbsCodes(codes: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < codes.length; i++) m = Math.max(m, Math.abs(codes[i]));
  return m;
}
