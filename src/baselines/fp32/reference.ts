// Float64 reference of every f32 kernel (assembly/f32/) and of a whole fp32 network's loss and
// gradients: plain loops that read like the math, for the tests to compare the wasm against.
// Layouts as in the kernels: row-major matrices; NHWC activations; conv weights W[co][ky][kx][ci].

import { layerName, type LayerSpec, type ModelDefinition } from "../../nn/model.js";

export interface ConvGeometry {
  n: number; h: number; w: number; c: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
}

export interface PoolGeometry {
  n: number; h: number; w: number; c: number;
  kh: number; kw: number; sh: number; sw: number;
}

export function convOutput(g: ConvGeometry): { oh: number; ow: number } {
  return { oh: Math.floor((g.h + 2 * g.ph - g.kh) / g.sh) + 1, ow: Math.floor((g.w + 2 * g.pw - g.kw) / g.sw) + 1 };
}

export function poolOutput(g: PoolGeometry): { oh: number; ow: number } {
  return { oh: Math.floor((g.h - g.kh) / g.sh) + 1, ow: Math.floor((g.w - g.kw) / g.sw) + 1 };
}

/** op(A) op(B) (M x N) and, for error bounds, sum_k |op(A)_ik op(B)_kj|. */
export function gemmReference(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number,
  transA: boolean, transB: boolean): { c: Float64Array; abs: Float64Array } {
  const c = new Float64Array(M * N), abs = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0, t = 0;
      for (let k = 0; k < K; k++) {
        const p = (transA ? a[k * M + i] : a[i * K + k]) * (transB ? b[j * K + k] : b[k * N + j]);
        s += p;
        t += Math.abs(p);
      }
      c[i * N + j] = s;
      abs[i * N + j] = t;
    }
  }
  return { c, abs };
}

/** y[n][oy][ox][co] = b[co] + sum W[co][ky][kx][ci] x[n][oy*sh+ky-ph][ox*sw+kx-pw][ci] (zero padding). */
export function conv2dReference(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, co: number, g: ConvGeometry): Float64Array {
  const { oh, ow } = convOutput(g);
  const y = new Float64Array(g.n * oh * ow * co);
  for (let n = 0; n < g.n; n++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    for (let o = 0; o < co; o++) {
      let s = bias ? bias[o] : 0;
      for (let ky = 0; ky < g.kh; ky++) for (let kx = 0; kx < g.kw; kx++) {
        const iy = oy * g.sh + ky - g.ph, ix = ox * g.sw + kx - g.pw;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
        for (let ci = 0; ci < g.c; ci++) {
          s += w[((o * g.kh + ky) * g.kw + kx) * g.c + ci] * x[((n * g.h + iy) * g.w + ix) * g.c + ci];
        }
      }
      y[((n * oh + oy) * ow + ox) * co + o] = s;
    }
  }
  return y;
}

/** Gradients of conv2d given dL/dy: dx, dW, db. */
export function conv2dBackwardReference(x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, co: number, g: ConvGeometry): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const { oh, ow } = convOutput(g);
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  const dw = new Float64Array(co * g.kh * g.kw * g.c);
  const db = new Float64Array(co);
  for (let n = 0; n < g.n; n++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    for (let o = 0; o < co; o++) {
      const d = dy[((n * oh + oy) * ow + ox) * co + o];
      db[o] += d;
      for (let ky = 0; ky < g.kh; ky++) for (let kx = 0; kx < g.kw; kx++) {
        const iy = oy * g.sh + ky - g.ph, ix = ox * g.sw + kx - g.pw;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
        for (let ci = 0; ci < g.c; ci++) {
          const wi = ((o * g.kh + ky) * g.kw + kx) * g.c + ci, xi = ((n * g.h + iy) * g.w + ix) * g.c + ci;
          dw[wi] += d * x[xi];
          dx[xi] += d * w[wi];
        }
      }
    }
  }
  return { dx, dw, db };
}

/** Index (into x) of the first maximum of each window, row-major scan, per output element. */
function maxPoolArgmax(x: ArrayLike<number>, g: PoolGeometry): Int32Array {
  const { oh, ow } = poolOutput(g);
  const arg = new Int32Array(g.n * oh * ow * g.c);
  for (let n = 0; n < g.n; n++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let c = 0; c < g.c; c++) {
    let best = -1, bestV = -Infinity;
    for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) {
      const at = ((n * g.h + oy * g.sh + i) * g.w + ox * g.sw + j) * g.c + c;
      if (best < 0 || x[at] > bestV) { best = at; bestV = x[at]; }
    }
    arg[((n * oh + oy) * ow + ox) * g.c + c] = best;
  }
  return arg;
}

export function maxPoolReference(x: ArrayLike<number>, g: PoolGeometry): Float64Array {
  return Float64Array.from(maxPoolArgmax(x, g), (i) => x[i]);
}

export function maxPoolBackwardReference(x: ArrayLike<number>, dy: ArrayLike<number>, g: PoolGeometry): Float64Array {
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  maxPoolArgmax(x, g).forEach((at, o) => { dx[at] += dy[o]; });
  return dx;
}

export function avgPoolReference(x: ArrayLike<number>, g: PoolGeometry): Float64Array {
  const { oh, ow } = poolOutput(g);
  const y = new Float64Array(g.n * oh * ow * g.c);
  for (let n = 0; n < g.n; n++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let c = 0; c < g.c; c++) {
    let s = 0;
    for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) s += x[((n * g.h + oy * g.sh + i) * g.w + ox * g.sw + j) * g.c + c];
    y[((n * oh + oy) * ow + ox) * g.c + c] = s / (g.kh * g.kw);
  }
  return y;
}

export function avgPoolBackwardReference(dy: ArrayLike<number>, g: PoolGeometry): Float64Array {
  const { oh, ow } = poolOutput(g);
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  for (let n = 0; n < g.n; n++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let c = 0; c < g.c; c++) {
    const d = dy[((n * oh + oy) * ow + ox) * g.c + c] / (g.kh * g.kw);
    for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) dx[((n * g.h + oy * g.sh + i) * g.w + ox * g.sw + j) * g.c + c] += d;
  }
  return dx;
}

/** Mean softmax cross-entropy, first-argmax correct count, and (softmax - onehot) / N. */
export function softmaxXentReference(logits: ArrayLike<number>, labels: ArrayLike<number>, n: number, classes: number): { loss: number; correct: number; dlogits: Float64Array } {
  let loss = 0, correct = 0;
  const dlogits = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) {
    let m = logits[i * classes], arg = 0;
    for (let j = 1; j < classes; j++) if (logits[i * classes + j] > m) { m = logits[i * classes + j]; arg = j; }
    if (arg === labels[i]) correct++;
    let s = 0;
    for (let j = 0; j < classes; j++) s += Math.exp(logits[i * classes + j] - m);
    loss += Math.log(s) - (logits[i * classes + labels[i]] - m);
    for (let j = 0; j < classes; j++) {
      const p = Math.exp(logits[i * classes + j] - m) / s;
      dlogits[i * classes + j] = (j === labels[i] ? p - 1 : p) / n;
    }
  }
  return { loss: loss / n, correct, dlogits };
}

type Params = Record<string, { w: ArrayLike<number>; b: ArrayLike<number> }>;

/**
 * Loss and gradients of a whole network in float64, layer by layer from the definition (the
 * fp32 trainer's semantics: ReLU masks with output > 0, pools without padding, dense reads an
 * [H, W, C] input NHWC-flat). `params` maps weighted layer names (layerName) to W and bias.
 */
export function networkReference(def: ModelDefinition, params: Params, images: ArrayLike<number>, labels: ArrayLike<number>, n: number):
  { loss: number; correct: number; logits: Float64Array; grads: Record<string, { w: Float64Array; b: Float64Array }> } {
  type Saved = { x: Float64Array; y: Float64Array; inShape: number[]; outShape: number[] };
  const saved: Saved[] = [];
  let x: Float64Array = Float64Array.from(images);
  let shape = [...def.input];
  def.layers.forEach((spec, index) => {
    const name = layerName(spec, index);
    let y: Float64Array;
    let out: number[];
    switch (spec.type) {
      case "conv2d": {
        const g = convGeometry(spec, n, shape);
        const { oh, ow } = convOutput(g);
        y = conv2dReference(x, params[name].w, params[name].b, spec.filters, g);
        if (spec.relu) y = y.map((v) => (v > 0 ? v : 0));
        out = [oh, ow, spec.filters];
        break;
      }
      case "dense": {
        const F = shape.reduce((a, b) => a * b, 1);
        const { c } = gemmReference(x, params[name].w, n, spec.units, F, false, true);
        const b = params[name].b;
        y = c.map((v, i) => v + b[i % spec.units]);
        if (spec.relu) y = y.map((v) => (v > 0 ? v : 0));
        out = [spec.units];
        break;
      }
      case "relu":
        y = x.map((v) => (v > 0 ? v : 0));
        out = shape;
        break;
      case "maxPool": case "avgPool": {
        const g = poolGeometry(spec, n, shape);
        const { oh, ow } = poolOutput(g);
        y = spec.type === "maxPool" ? maxPoolReference(x, g) : avgPoolReference(x, g);
        out = [oh, ow, shape[2]];
        break;
      }
      case "flatten":
        y = x;
        out = [shape.reduce((a, b) => a * b, 1)];
        break;
    }
    saved.push({ x, y, inShape: shape, outShape: out });
    x = y;
    shape = out;
  });
  const { loss, correct, dlogits } = softmaxXentReference(x, labels, n, def.classes);
  const grads: Record<string, { w: Float64Array; b: Float64Array }> = {};
  let dy: Float64Array = dlogits;
  for (let index = def.layers.length - 1; index >= 0; index--) {
    const spec = def.layers[index];
    const s = saved[index];
    const name = layerName(spec, index);
    const relu = (spec.type === "conv2d" || spec.type === "dense") && spec.relu;
    if (relu || spec.type === "relu") dy = dy.map((v, i) => (s.y[i] > 0 ? v : 0));
    switch (spec.type) {
      case "conv2d": {
        const r = conv2dBackwardReference(s.x, params[name].w, dy, spec.filters, convGeometry(spec, n, s.inShape));
        grads[name] = { w: r.dw, b: r.db };
        dy = r.dx;
        break;
      }
      case "dense": {
        const F = s.inShape.reduce((a, b) => a * b, 1), U = spec.units;
        grads[name] = { w: gemmReference(dy, s.x, U, F, n, true, false).c, b: new Float64Array(U).map((_, j) => { let t = 0; for (let i = 0; i < n; i++) t += dy[i * U + j]; return t; }) };
        dy = gemmReference(dy, params[name].w, n, F, U, false, false).c;
        break;
      }
      case "maxPool":
        dy = maxPoolBackwardReference(s.x, dy, poolGeometry(spec, n, s.inShape));
        break;
      case "avgPool":
        dy = avgPoolBackwardReference(dy, poolGeometry(spec, n, s.inShape));
        break;
      default:
        break;
    }
  }
  return { loss, correct, logits: x, grads };
}

function pairOf(v: number | [number, number] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === "number" ? [v, v] : v;
}

function convGeometry(spec: LayerSpec & { type: "conv2d" }, n: number, shape: number[]): ConvGeometry {
  const [kh, kw] = pairOf(spec.kernel, 1), [sh, sw] = pairOf(spec.stride, 1), [ph, pw] = pairOf(spec.padding, 0);
  return { n, h: shape[0], w: shape[1], c: shape[2], kh, kw, sh, sw, ph, pw };
}

function poolGeometry(spec: LayerSpec & { type: "maxPool" | "avgPool" }, n: number, shape: number[]): PoolGeometry {
  const [kh, kw] = pairOf(spec.size, 1), [sh, sw] = pairOf(spec.stride ?? spec.size, 1);
  return { n, h: shape[0], w: shape[1], c: shape[2], kh, kw, sh, sw };
}
