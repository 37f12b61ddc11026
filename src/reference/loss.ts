// Reference of assembly/loss.ts: softmax cross-entropy on logit codes (value q * 2^exp). The same
// f64 operations in the same order as the kernel, except Math.exp/Math.log, which are the engine's
// here and AssemblyScript's own in the kernel: they may differ in the last ulp, so the error codes
// may differ by one step where a value lands on a rounding boundary.
import { checkBits, maxCode } from "../format/packed.js";
import { checkMode, chooseExponent, clamp, keyOf, pow2, roundReal, scalePow2, type Rounding } from "./rounding.js";

export interface SoftmaxCrossEntropy {
  /** Mean of -log softmax(z)[label]. */
  loss: number;
  /** Samples whose first argmax is the label. */
  correct: number;
  /** dL/dlogits = (softmax(z) - onehot(label)) / N, as codes at errBits... */
  codes: Int32Array;
  /** ...times 2^exp. */
  exp: number;
}

export function softmaxCrossEntropy(
  logits: ArrayLike<number>, N: number, classes: number, exp: number,
  labels: ArrayLike<number>, errBits: number, rounding: Rounding,
): SoftmaxCrossEntropy {
  checkBits(errBits, "softmaxCrossEntropy: errBits");
  checkMode(rounding, "softmaxCrossEntropy");
  if (N < 1 || classes < 1) throw new RangeError(`softmaxCrossEntropy: N = ${N} and classes = ${classes} must be >= 1`);
  for (let i = 0; i < N; i++) {
    if (!(labels[i] >= 0 && labels[i] < classes && Number.isInteger(labels[i]))) {
      throw new RangeError(`softmaxCrossEntropy: label of sample ${i} is ${labels[i]}, outside 0..${classes - 1}`);
    }
  }
  const scale = pow2(exp);
  const g = new Float64Array(N * classes);
  let total = 0;
  let correct = 0;
  for (let i = 0; i < N; i++) {
    const z = Array.from({ length: classes }, (_, j) => logits[i * classes + j]);
    const m = Math.max(...z);
    if (z.indexOf(m) === labels[i]) correct++;
    const e = z.map((q) => Math.exp((q - m) * scale));
    let s = 0;
    for (const v of e) s += v;
    total += Math.log(s) - (z[labels[i]] - m) * scale;
    for (let j = 0; j < classes; j++) {
      const p = e[j] / s;
      g[i * classes + j] = (j === labels[i] ? p - 1 : p) / N;
    }
  }
  let maxAbs = 0;
  for (const v of g) maxAbs = Math.max(maxAbs, Math.abs(v));
  const e = chooseExponent(maxAbs, errBits, rounding.mode);
  const key = keyOf(rounding);
  const limit = maxCode(errBits);
  const codes = Int32Array.from(g, (v, i) => clamp(roundReal(scalePow2(v, -e), rounding.mode, key, i), limit));
  return { loss: total / N, correct, codes, exp: e };
}
