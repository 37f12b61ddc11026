// Reference of assembly/pool.ts on unpacked NHWC codes (index ((n*H + y)*W + x)*C + c). No padding:
// OH = floor((H - kh) / sh) + 1, OW likewise. The backward passes scatter into exact sums, then
// round or clamp each element once (the kernels gather; the results must agree).
import { checkBits, maxCode } from "../format/packed.js";
import { checkMode, clamp, keyOf, roundDiv, type Rounding } from "./rounding.js";

export interface PoolShape {
  N: number;
  H: number;
  W: number;
  C: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
}

export function poolOutputSize(n: number, k: number, s: number): number {
  if (!(k >= 1 && s >= 1)) throw new RangeError(`pool: window ${k} and stride ${s} must be at least 1`);
  if (k > n) throw new RangeError(`pool: window ${k} is larger than the input ${n}`);
  return Math.floor((n - k) / s) + 1;
}

function outputDims(p: PoolShape): { OH: number; OW: number } {
  return { OH: poolOutputSize(p.H, p.kh, p.sh), OW: poolOutputSize(p.W, p.kw, p.sw) };
}

/** Visits every (window, channel): f(outIndex, inputIndices in row-major scan order). */
function forEachWindow(p: PoolShape, f: (o: number, window: number[]) => void): void {
  const { N, H, W, C, kh, kw, sh, sw } = p;
  const { OH, OW } = outputDims(p);
  for (let n = 0; n < N; n++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++)
        for (let c = 0; c < C; c++) {
          const window: number[] = [];
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) window.push(((n * H + oy * sh + i) * W + ox * sw + j) * C + c);
          f(((n * OH + oy) * OW + ox) * C + c, window);
        }
}

export function maxPoolForward(x: ArrayLike<number>, p: PoolShape): Int32Array {
  const { OH, OW } = outputDims(p);
  const y = new Int32Array(p.N * OH * OW * p.C);
  forEachWindow(p, (o, w) => { y[o] = Math.max(...w.map((i) => x[i])); });
  return y;
}

/** dY to the first maximum (row-major scan) of each window; sums clamped once at dyBits. */
export function maxPoolBackward(
  x: ArrayLike<number>, dy: ArrayLike<number>, dyBits: number, p: PoolShape,
): { dx: Int32Array; saturated: number } {
  checkBits(dyBits, "maxPoolBackward: dyBits");
  const sums = new Float64Array(p.N * p.H * p.W * p.C);
  forEachWindow(p, (o, w) => {
    let best = w[0];
    for (const i of w) if (x[i] > x[best]) best = i;
    sums[best] += dy[o];
  });
  const limit = maxCode(dyBits);
  let saturated = 0;
  const dx = Int32Array.from(sums, (s) => {
    if (Math.abs(s) > limit) saturated++;
    return clamp(s, limit);
  });
  return { dx, saturated };
}

export function avgPoolForward(x: ArrayLike<number>, p: PoolShape, rounding: Rounding): Int32Array {
  checkMode(rounding, "avgPoolForward");
  const { OH, OW } = outputDims(p);
  const key = keyOf(rounding);
  const k = p.kh * p.kw;
  const y = new Int32Array(p.N * OH * OW * p.C);
  forEachWindow(p, (o, w) => {
    let s = 0;
    for (const i of w) s += x[i];
    y[o] = roundDiv(s, k, rounding.mode, key, o);
  });
  return y;
}

export function avgPoolBackward(dy: ArrayLike<number>, p: PoolShape, rounding: Rounding): Int32Array {
  checkMode(rounding, "avgPoolBackward");
  const key = keyOf(rounding);
  const k = p.kh * p.kw;
  const sums = new Float64Array(p.N * p.H * p.W * p.C);
  forEachWindow(p, (o, w) => { for (const i of w) sums[i] += dy[o]; });
  return Int32Array.from(sums, (s, i) => roundDiv(s, k, rounding.mode, key, i));
}
