// What a packed tensor's codes use of their range: the statistic the APT controller moves an
// activation's (and its error's) width by (docs/apt.md). Read off the codes a step already
// wrote, on a few steps an interval, from a bounded sample of rows, so it costs no kernel pass.
import { rowStrideBytes, unpackFrom } from "./packed.js";

export interface CodeUsage {
  /** Codes read (whole rows, from the first). */
  count: number;
  /** Of them, the nonzero ones. */
  nonzero: number;
  /** Sum of squared codes. */
  sumSquares: number;
}

/** Codes read per sample: in USAGE_BLOCKS runs of whole rows spread evenly over the tensor, so a
 *  sample sees every part of a batch (the first rows alone are one image's top corner, mostly
 *  background). 4096 codes take about 0.1 ms; the controller averages samples over an interval. */
export const USAGE_SAMPLE_CODES = 4096;
export const USAGE_BLOCKS = 8;

/** Usage of about `maxCodes` codes of a packed `rows x cols` matrix at `bits`, read in
 *  USAGE_BLOCKS runs of whole rows spread evenly from the first row to the last. */
export function codeUsage(memory: ArrayBuffer, at: number, rows: number, cols: number, bits: number, maxCodes = USAGE_SAMPLE_CODES): CodeUsage {
  const perBlock = Math.max(1, Math.ceil(maxCodes / USAGE_BLOCKS / Math.max(cols, 1)));
  const blocks = Math.max(1, Math.min(USAGE_BLOCKS, Math.floor(rows / perBlock)));
  const stride = rowStrideBytes(cols, bits);
  let count = 0, nonzero = 0, sumSquares = 0;
  for (let b = 0; b < blocks; b++) {
    const first = Math.floor((b * rows) / blocks);
    const take = Math.min(perBlock, rows - first);
    const codes = unpackFrom(new Uint8Array(memory, at + first * stride, take * stride), take, cols, bits);
    count += codes.length;
    for (let i = 0; i < codes.length; i++) {
      const q = codes[i];
      if (q !== 0) {
        nonzero++;
        sumSquares += q * q;
      }
    }
  }
  return { count, nonzero, sumSquares };
}

/** Root mean square of the codes, in steps: the tensor's level over its quantization step (0 when
 *  every code is zero). Over all codes, not only the nonzero ones: one more bit then doubles it
 *  (the values are the same, the step halves), which the controller's hysteresis band relies on.
 *  Over nonzero codes only, a bit more turned zeros into small codes and the mean barely moved, so
 *  outputs flipped back and forth (lenet5: 36 decreases and 38 increases of output widths in a run). */
export function rmsCode(u: CodeUsage): number {
  return u.count > 0 ? Math.sqrt(u.sumSquares / u.count) : 0;
}
