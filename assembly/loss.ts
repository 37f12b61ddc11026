// Softmax cross-entropy at the output edge: codes in, a float loss for reporting, and the error
// dL/dlogits back to codes. Per sample i, with z_j = q_j * 2^exp and t_j = z_j - max_j z_j
// (computed as (q_j - q_max) * 2^exp, exact):
//   s = sum_j exp(t_j)                 (j ascending)
//   loss_i = log(s) - t_label          (mean over i: sum in i order, then / N)
//   g_j = (exp(t_j) / s - [j == label]) / N
// The error's exponent comes from max |g| (two passes: the first finds it, the second recomputes
// g, identically, and rounds). Math.exp/Math.log are AssemblyScript's own (musl-derived) and the
// same code in both builds; a host reference using the engine's Math.exp may differ by an ulp.

import { maxCode, rowStrideBytes } from "./packed";
import { randomKey } from "./random";
import { packedFits, arrayFits, STATUS_BITS, STATUS_DIMENSION, STATUS_MODE, STATUS_LABEL_WIDTH, STATUS_EXPONENT, STATUS_RANGE } from "./extents";
import { loadCode, storeCode, clearTail, clampCode, validBits, chooseExponent, scalePow2, pow2, roundReal, ROUND_RNE, MAX_ABS_EXPONENT } from "./quantize";

@inline function loadLabel(labels: usize, i: u32, labelBytes: u32): i64 {
  return labelBytes == 1 ? <i64>load<u8>(labels + i) : <i64>load<i32>(labels + (<usize>i << 2));
}

/** The largest code of a row and its first position. */
@inline function rowMax(row: usize, classes: u32, bits: u32): i32 {
  let m = loadCode(row, 0, bits);
  for (let j: u32 = 1; j < classes; j++) {
    const q = loadCode(row, j, bits);
    if (q > m) m = q;
  }
  return m;
}

/**
 * logits: N x classes packed at `bits`, value q * 2^exp; labels: N labels, u8 (labelBytes 1) or
 * i32 (labelBytes 4). Writes: f64 mean loss to `lossOut`; i32 count of samples whose first argmax
 * equals the label to `correctOut`; dL/dlogits as N x classes packed at `errBits` to `dlogits`,
 * rounded by `mode` (draw index i*classes + j), with its exponent as i32 to `expOut`.
 * Returns 0; STATUS_BITS; STATUS_DIMENSION (N or classes 0); STATUS_MODE; STATUS_LABEL_WIDTH; STATUS_EXPONENT
 * (|exp| > 960); STATUS_RANGE (a buffer outside memory, or a size past 32 bits); k+1 if label k is
 * outside 0..classes-1 (nothing written).
 */
export function softmaxCrossEntropy(
  logits: usize, N: u32, classes: u32, bits: u32, exp: i32,
  labels: usize, labelBytes: u32, errBits: u32,
  mode: u32, seed: u32, step: u32, stream: u32,
  dlogits: usize, lossOut: usize, correctOut: usize, expOut: usize,
): i32 {
  if (!validBits(bits) || !validBits(errBits)) return STATUS_BITS;
  if (N == 0 || classes == 0) return STATUS_DIMENSION;
  if (mode > ROUND_RNE) return STATUS_MODE;
  if (labelBytes != 1 && labelBytes != 4) return STATUS_LABEL_WIDTH;
  if (exp < -MAX_ABS_EXPONENT || exp > MAX_ABS_EXPONENT) return STATUS_EXPONENT;
  if (
    !packedFits(logits, N, classes, bits) || !arrayFits(labels, N, labelBytes) || !packedFits(dlogits, N, classes, errBits) ||
    !arrayFits(lossOut, 1, 8) || !arrayFits(correctOut, 1, 4) || !arrayFits(expOut, 1, 4)
  ) return STATUS_RANGE;
  for (let i: u32 = 0; i < N; i++) {
    const label = loadLabel(labels, i, labelBytes);
    if (label < 0 || label >= <i64>classes) return <i32>i + 1;
  }
  const scale = pow2(exp);
  const stride = rowStrideBytes(classes, bits);
  const n = <f64>N;
  let total: f64 = 0;
  let correct: i32 = 0;
  let maxAbs: f64 = 0;
  for (let i: u32 = 0; i < N; i++) {
    const row = logits + <usize>i * stride;
    const label = <u32>loadLabel(labels, i, labelBytes);
    const m = rowMax(row, classes, bits);
    let first: u32 = 0;
    while (loadCode(row, first, bits) != m) first++;
    if (first == label) correct++;
    let s: f64 = 0;
    for (let j: u32 = 0; j < classes; j++) s += Math.exp(<f64>(loadCode(row, j, bits) - m) * scale);
    total += Math.log(s) - <f64>(loadCode(row, label, bits) - m) * scale;
    for (let j: u32 = 0; j < classes; j++) {
      const p = Math.exp(<f64>(loadCode(row, j, bits) - m) * scale) / s;
      const g = abs<f64>((j == label ? p - 1 : p) / n);
      if (g > maxAbs) maxAbs = g;
    }
  }
  const e = chooseExponent(maxAbs, errBits, mode);
  const key = randomKey(seed, step, stream);
  const limit = maxCode(errBits);
  const sErr = rowStrideBytes(classes, errBits);
  for (let i: u32 = 0; i < N; i++) {
    const row = logits + <usize>i * stride;
    const out = dlogits + <usize>i * sErr;
    const label = <u32>loadLabel(labels, i, labelBytes);
    const m = rowMax(row, classes, bits);
    let s: f64 = 0;
    for (let j: u32 = 0; j < classes; j++) s += Math.exp(<f64>(loadCode(row, j, bits) - m) * scale);
    const base = <u64>i * classes;
    for (let j: u32 = 0; j < classes; j++) {
      const p = Math.exp(<f64>(loadCode(row, j, bits) - m) * scale) / s;
      const g = (j == label ? p - 1 : p) / n;
      const q = roundReal(scalePow2(g, -e), mode, key, base + j);
      storeCode(out, j, errBits, clampCode(<i64>q, limit));
    }
    clearTail(out, classes * errBits, sErr);
  }
  store<f64>(lossOut, total / n);
  store<i32>(correctOut, correct);
  store<i32>(expOut, e);
  return 0;
}
