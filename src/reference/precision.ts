// Reference of assembly/precision.ts on unpacked codes: a weight matrix's codes re-expressed at
// another bit width. Up k bits: q * 2^k (exact). Down k bits: q / 2^k rounded once (SR or RNE),
// then clamped to +-maxCode(toBits).
import { checkBits, maxCode } from "../format/packed.js";
import { checkMode, clamp, keyOf, roundDiv, type Rounding } from "./rounding.js";

export interface PrecisionChange {
  codes: Int32Array;
  /** Codes whose q / 2^k was not an integer. */
  rounded: number;
  /** Codes clamped to the narrower range. */
  clamped: number;
}

export function changePrecision(
  codes: ArrayLike<number>, fromBits: number, toBits: number, rounding: Rounding,
): PrecisionChange {
  checkBits(fromBits, "changePrecision: fromBits");
  checkBits(toBits, "changePrecision: toBits");
  checkMode(rounding, "changePrecision");
  const out = new Int32Array(codes.length);
  let rounded = 0;
  let clamped = 0;
  if (toBits >= fromBits) {
    const f = 2 ** (toBits - fromBits);
    for (let i = 0; i < codes.length; i++) out[i] = codes[i] * f;
    return { codes: out, rounded, clamped };
  }
  const den = 2 ** (fromBits - toBits);
  const limit = maxCode(toBits);
  const key = keyOf(rounding);
  for (let i = 0; i < codes.length; i++) {
    const q = codes[i];
    if (q % den !== 0) rounded++;
    const v = roundDiv(q, den, rounding.mode, key, i);
    if (Math.abs(v) > limit) clamped++;
    out[i] = clamp(v, limit);
  }
  return { codes: out, rounded, clamped };
}
