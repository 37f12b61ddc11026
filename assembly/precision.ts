// Changing a packed weight matrix's bit width in place (docs/architecture.md, "The number format": no master copy, the codes
// are the model). Up by k bits: codes times 2^k, exact (the step halves k times, the range is kept:
// |q| 2^k <= (2^(b-1) - 1) 2^k <= 2^(b+k-1) - 1). Down by k bits: q / 2^k rounded once (SR or RNE),
// then clamped to the narrower symmetric range. A drop of k > 1 bits is one rounding of q / 2^k,
// not k successive halvings (same mean, less variance).
//
// In place: the buffer is reserved at the wider size, rows * rowStrideBytes(cols, max(from, to)).
// Element (r, j) sits at bit r*stride*8 + j*bits; the wider layout puts every element at or after
// its narrower position, and storeCode changes only the element's own bits. So growing walks from
// the last element back (each write lands on bits already read: its own old bits, or bits of later
// elements), and shrinking walks forwards (each write ends before the next element's old bits).
// Row padding is re-zeroed: when growing, before the row's elements (the padding lies past the end
// of that row's old bits); when shrinking, after them (before the next row's old bits).

import { maxCode, rowStrideBytes } from "./packed";
import { randomKey, randomBits } from "./random";
import { loadCode, storeCode, clearTail, rneDiv, validBits, ROUND_RNE } from "./quantize";
import { packedFits, arrayFits, STATUS_BITS, STATUS_MODE, STATUS_RANGE } from "./extents";

/**
 * Re-encodes the packed rows x cols matrix at `ptr` from `fromBits` to `toBits` (both 2..16, any
 * difference), in place. Writes two i32 to `stats`: [0] codes whose value q / 2^k was not an
 * integer (rounded), [1] codes clamped to +-maxCode(toBits). Both 0 when not shrinking.
 * SR here is floor(q / 2^k + randomUnit(key, r*cols + j)) = (q + (bits >> (64 - k))) >> k.
 * Returns 0, STATUS_BITS, STATUS_MODE or STATUS_RANGE (nothing written).
 */
export function changePrecision(
  ptr: usize, rows: u32, cols: u32, fromBits: u32, toBits: u32,
  mode: u32, seed: u32, step: u32, stream: u32, stats: usize,
): i32 {
  if (!validBits(fromBits) || !validBits(toBits)) return STATUS_BITS;
  if (mode > ROUND_RNE) return STATUS_MODE;
  // The buffer is reserved at the wider size; both layouts must be indexable.
  if (!packedFits(ptr, rows, cols, max(fromBits, toBits)) || !arrayFits(stats, 2, 4)) return STATUS_RANGE;
  let rounded: i32 = 0;
  let clamped: i32 = 0;
  const sFrom = rowStrideBytes(cols, fromBits);
  const sTo = rowStrideBytes(cols, toBits);
  if (toBits > fromBits) {
    const k = toBits - fromBits;
    for (let r = rows; r-- > 0;) {
      const src = ptr + <usize>r * sFrom;
      const dst = ptr + <usize>r * sTo;
      clearTail(dst, cols * toBits, sTo);
      for (let j = cols; j-- > 0;) storeCode(dst, j, toBits, loadCode(src, j, fromBits) << k);
    }
  } else if (toBits < fromBits) {
    const k = fromBits - toBits;
    const low: i32 = (1 << k) - 1;
    const limit = maxCode(toBits);
    const key = randomKey(seed, step, stream);
    for (let r: u32 = 0; r < rows; r++) {
      const src = ptr + <usize>r * sFrom;
      const dst = ptr + <usize>r * sTo;
      const base = <u64>r * cols;
      for (let j: u32 = 0; j < cols; j++) {
        const q = loadCode(src, j, fromBits);
        let v: i32;
        if ((q & low) == 0) {
          v = q >> k;
        } else {
          rounded++;
          v = mode == ROUND_RNE
            ? <i32>rneDiv(q, 1 << k)
            : (q + <i32>(randomBits(key, base + j) >> (64 - k))) >> k;
        }
        if (v > limit) { v = limit; clamped++; }
        else if (v < -limit) { v = -limit; clamped++; }
        storeCode(dst, j, toBits, v);
      }
      clearTail(dst, cols * toBits, sTo);
    }
  }
  store<i32>(stats, rounded);
  store<i32>(stats, clamped, 4);
  return 0;
}
