// What a packed tensor's codes use of their range: the statistic the APT controller moves an
// activation's (and its error's) width by (docs/apt.md). Read off the codes a step already
// wrote, on decision steps only, and from a bounded sample of rows, so it costs no kernel pass.
import { packedByteLength, unpackFrom } from "./packed.js";

export interface CodeUsage {
  /** Codes read (whole rows, from the first). */
  count: number;
  /** Of them, the nonzero ones. */
  nonzero: number;
  /** Sum of squared codes. */
  sumSquares: number;
}

/** Enough codes for a stable mean (a few thousand nonzero ones in lenet5's sparsest error), few
 *  enough that a decision step costs well under 1 % of a step. */
export const USAGE_SAMPLE_CODES = 16384;

/** Usage of the first rows of a packed `rows x cols` matrix at `bits`, up to about `maxCodes` codes. */
export function codeUsage(memory: ArrayBuffer, at: number, rows: number, cols: number, bits: number, maxCodes = USAGE_SAMPLE_CODES): CodeUsage {
  const take = Math.max(1, Math.min(rows, Math.ceil(maxCodes / Math.max(cols, 1))));
  const bytes = new Uint8Array(memory, at, packedByteLength(take, cols, bits));
  const codes = unpackFrom(bytes, take, cols, bits);
  let nonzero = 0, sumSquares = 0;
  for (let i = 0; i < codes.length; i++) {
    const q = codes[i];
    if (q !== 0) {
      nonzero++;
      sumSquares += q * q;
    }
  }
  return { count: codes.length, nonzero, sumSquares };
}

/** Root mean square of the nonzero codes, in steps: how many quantization levels a typical nonzero
 *  value spans (0 when every code is zero). */
export function rmsNonzero(u: CodeUsage): number {
  return u.nonzero > 0 ? Math.sqrt(u.sumSquares / u.nonzero) : 0;
}
