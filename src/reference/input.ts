// Reference of assembly/input.ts, the training input's data edge: the largest magnitude of a batch
// of floats, the exponent the host picks from it, and each code Math.round(x * 2^-exp) (halves
// round up) clamped to the symmetric range, as the host's loader computed them in plain
// JavaScript before the kernels did.
import { checkBits, maxCode } from "../format/packed.js";

/** max |x|; NaN when a value is NaN (an infinity is the maximum otherwise). */
export function inputMaxAbs(data: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]));
  return m;
}

/** The exponent of a batch whose largest magnitude is the finite maxAbs, as
 *  src/engine/quant.ts inputExponent picks it. */
export function inputExponent(maxAbs: number, bits: number): number {
  checkBits(bits, "inputExponent");
  const limit = maxCode(bits);
  let exp = maxAbs > 0 ? Math.ceil(Math.log2(maxAbs / limit)) : 0;
  while (maxAbs * 2 ** -exp > limit) exp++;
  return exp;
}

/** The codes clamp(Math.round(x * 2^-exp), +-maxCode(bits)); a NaN gives 0. */
export function inputRound(data: ArrayLike<number>, exp: number, bits: number): Int32Array {
  checkBits(bits, "inputRound");
  const limit = maxCode(bits);
  const scale = 2 ** -exp;
  return Int32Array.from({ length: data.length }, (_, i) => {
    const q = Math.round(data[i] * scale);
    return Number.isNaN(q) ? 0 : Math.max(-limit, Math.min(limit, q));
  });
}
