// A rig for testing one layer in an Engine, plus float64 / exact-integer references of the layer
// maths written here from the definitions (not from src/), so the tests check src/ rather than
// restate it.
//
//   const rig = await LayerRig.create(new Conv2d({ filters: 3, kernel: 3 }, "conv0"), [2, 7, 5, 2]);
//   const x = rig.input(codes, -7);           // codes written straight into wasm memory
//   const y = rig.layer.forward(x);
//   rig.values(y)                              // dequantized output, NHWC order
//
// Layout: the rig sets the layer up through its SetupContext, reserves in the engine's plan an input
// buffer, a dY buffer and an f64 buffer for "store" GEMMs (so nothing is placed outside the plan),
// then finishes the plan.
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.js";
import type { Layer, SetupContext, TrainingWidths } from "../../src/nn/layer.js";
import { Conv2d } from "../../src/nn/layers/conv2d.js";
import { Dense } from "../../src/nn/layers/dense.js";
import { LinearLayer } from "../../src/nn/layers/linear.js";
import type { QTensor } from "../../src/engine/quant.js";
import type { Isa } from "../../src/runtime/wasm.js";
import type { PlainView, Rounding, View } from "../../src/runtime/descriptors.js";
import { pack, unpack } from "../../src/reference/packed.js";
import { maxCodeOf } from "./random.js";

// ---- packed tensors in memory ------------------------------------------------------------------

/** Storage of a tensor: 4-D NHWC as N*H lines of W*C codes, 2-D [N, F] as N rows of F. */
export function storage(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length === 4) return { rows: shape[0] * shape[1], cols: shape[2] * shape[3] };
  if (shape.length === 2) return { rows: shape[0], cols: shape[1] };
  throw new Error(`harness: no storage for shape [${shape.join(", ")}]`);
}

export function stride(cols: number, bits: number): number {
  return Math.ceil((cols * bits) / 32) * 4;
}

export function byteLength(shape: readonly number[], bits: number): number {
  const { rows, cols } = storage(shape);
  return rows * stride(cols, bits);
}

/** Writes codes (NHWC / row-major order) packed at `at`. */
export function writeCodes(engine: Engine, at: number, shape: readonly number[], bits: number, codes: ArrayLike<number>): void {
  const { rows, cols } = storage(shape);
  const m = pack(codes, rows, cols, bits);
  new Uint8Array(engine.memory, at, m.bytes.length).set(m.bytes);
}

/** Reads a packed tensor's codes (NHWC / row-major order). */
export function readCodes(engine: Engine, q: { at: number; shape: readonly number[]; bits: number }): Int32Array {
  const { rows, cols } = storage(q.shape);
  const bytes = new Uint8Array(engine.memory, q.at, rows * stride(cols, q.bits)).slice();
  return unpack({ rows, cols, bits: q.bits, bytes });
}

export function dequantize(codes: ArrayLike<number>, exp: number): Float64Array {
  const out = new Float64Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i] * 2 ** exp;
  return out;
}

// ---- the rig -----------------------------------------------------------------------------------

export interface RigOptions extends Partial<TrainingWidths> {
  isa?: Isa;
  rounding?: Rounding;
  needInputError?: boolean;
  index?: number;
  seed?: number;
  /** How the input is stored when it differs from its shape (after flatten: the NHWC lines). */
  inputStorage?: readonly number[];
}

export const DEFAULT_WIDTHS: TrainingWidths = { actBits: 8, errBits: 8, weightBits: 8, maxWeightBits: 16 };

export class LayerRig {
  private constructor(
    readonly engine: Engine,
    readonly layer: Layer,
    readonly inputShape: readonly number[],
    /** The input's storage (= inputShape unless a flatten came before). */
    readonly inputStorage: readonly number[],
    readonly outputShape: readonly number[],
    readonly widths: TrainingWidths,
    /** Input buffer (actBits), dY buffer (errBits), f64 buffer (weight rows x cols). */
    readonly xAt: number,
    readonly dyAt: number,
    readonly storeAt: number,
  ) {}

  static async create(layer: Layer, inputShape: readonly number[], o: RigOptions = {}): Promise<LayerRig> {
    const engine = await Engine.create(o.isa ?? "simd");
    engine.rounding = o.rounding ?? "stochastic";
    engine.seed = o.seed ?? 1;
    const inputStorage = o.inputStorage ?? inputShape;
    const widths: TrainingWidths = {
      actBits: o.actBits ?? DEFAULT_WIDTHS.actBits,
      errBits: o.errBits ?? DEFAULT_WIDTHS.errBits,
      weightBits: o.weightBits ?? DEFAULT_WIDTHS.weightBits,
      maxWeightBits: o.maxWeightBits ?? Math.max(DEFAULT_WIDTHS.maxWeightBits, o.weightBits ?? 0),
    };
    const slots: ErrorSlot[] = [];
    const ctx: SetupContext = {
      ...widths, engine, batch: inputShape[0], index: o.index ?? 0,
      needInputError: o.needInputError ?? true, seed: o.seed ?? 1, inputStorage,
      errorSlot: (_name, bytes) => {
        const slot = { at: 0, bytes };
        slots.push(slot);
        return slot;
      },
    };
    const outputShape = layer.setup(inputShape, ctx);
    const plan = engine.plan;
    for (const slot of slots) slot.at = plan.reserve("test input error", "errors", null, slot.bytes);
    const xAt = plan.reserve("test input", "input", null, byteLength(inputStorage, widths.actBits));
    const dyAt = plan.reserve("test output error", "errors", null, byteLength(outputShape, widths.errBits));
    let storeBytes = 8;
    if (layer instanceof LinearLayer) {
      const w = layer.weights()[0];
      storeBytes = Math.max(storeBytes, w.rows * w.cols * 8);
    }
    const storeAt = plan.reserve("test f64 store", "workspace", null, storeBytes);
    engine.finishPlan();
    if (layer instanceof LinearLayer) layer.initialize();
    return new LayerRig(engine, layer, inputShape, inputStorage, outputShape, widths, xAt, dyAt, storeAt);
  }

  /** The input tensor with these codes (at actBits unless `bits` is given), as stored. */
  input(codes: ArrayLike<number>, exp: number, bits = this.widths.actBits): QTensor {
    writeCodes(this.engine, this.xAt, this.inputStorage, bits, codes);
    return { at: this.xAt, shape: this.inputStorage, bits, exp };
  }

  /** dL/d output with these codes (at errBits). */
  error(codes: ArrayLike<number>, exp: number, bits = this.widths.errBits): QTensor {
    writeCodes(this.engine, this.dyAt, this.outputShape, bits, codes);
    return { at: this.dyAt, shape: this.outputShape, bits, exp };
  }

  codes(q: QTensor): Int32Array {
    return readCodes(this.engine, q);
  }

  values(q: QTensor): Float64Array {
    return dequantize(this.codes(q), q.exp);
  }

  private linear(): LinearLayer {
    assert.ok(this.layer instanceof LinearLayer, `${this.layer.name} has no weights`);
    return this.layer;
  }

  /** Overwrites W's codes (rows x cols at its current bits) and sets its exponent. */
  setWeights(codes: ArrayLike<number>, exp: number): void {
    const w = this.linear().weights()[0];
    const m = pack(codes, w.rows, w.cols, w.bits);
    this.linear().weightBytes().set(m.bytes);
    w.exp = exp;
  }

  weightCodes(): Int32Array {
    const w = this.linear().weights()[0];
    return unpack({ rows: w.rows, cols: w.cols, bits: w.bits, bytes: this.linear().weightBytes().slice() });
  }

  weightBits(): number {
    return this.linear().weights()[0].bits;
  }

  weightExp(): number {
    return this.linear().weights()[0].exp;
  }

  /** Bias codes (16-bit, fixed exponent BIAS_EXP). */
  setBias(codes: ArrayLike<number>): void {
    const w = this.linear().weights()[0];
    this.linear().biasBytes().set(pack(codes, 1, w.rows, 16).bytes);
  }

  biasCodes(): Int32Array {
    const w = this.linear().weights()[0];
    return unpack({ rows: 1, cols: w.rows, bits: 16, bytes: this.linear().biasBytes().slice() });
  }

  /**
   * dY^T * patches(X) as the engine computes it: one fused GEMM in "store" mode over the same views
   * the layer uses for its update (built here from the geometry), f64 into the rig's store buffer.
   * Returns Cout x fan-in.
   */
  gradientByStore(x: QTensor, dy: QTensor): Float64Array {
    const w = this.linear().weights()[0];
    const g = geometryOf(this.layer, this.inputStorage);
    const [n, oh, ow, co] = g.outputNhwc;
    const dyT: View = this.outputShape.length === 2
      ? { kind: "plain", at: dy.at, bits: dy.bits, rows: this.outputShape[0], cols: this.outputShape[1], trans: true } satisfies PlainView
      : {
        kind: "im2col", at: dy.at, bits: dy.bits, n, h: oh, w: ow, c: co, kh: 1, kw: 1, strideH: 1, strideW: 1,
        padH: 0, padW: 0, dilateH: 1, dilateW: 1, outH: oh, outW: ow, trans: true,
      };
    const patches: View = this.inputStorage.length === 2
      ? { kind: "plain", at: x.at, bits: x.bits, rows: this.inputStorage[0], cols: this.inputStorage[1] }
      : {
        kind: "im2col", at: x.at, bits: x.bits, n: g.inputNhwc[0], h: g.inputNhwc[1], w: g.inputNhwc[2], c: g.inputNhwc[3],
        kh: g.kh, kw: g.kw, strideH: g.sh, strideW: g.sw, padH: g.ph, padW: g.pw, dilateH: 1, dilateW: 1, outH: oh, outW: ow,
      };
    this.engine.fused(dyT, patches, null, { mode: "store", c: this.storeAt }, "test gradient");
    return new Float64Array(this.engine.memory, this.storeAt, w.rows * w.cols).slice();
  }
}

// ---- geometry and references --------------------------------------------------------------------

/** A dense or conv layer as one convolution over NHWC: dense is a kernel covering the whole image
 *  (a 2-D input [N, F] being [N, 1, 1, F]), output [N, 1, 1, units]. */
export interface ConvGeometry {
  inputNhwc: [number, number, number, number];
  outputNhwc: [number, number, number, number];
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
}

export function geometryOf(layer: Layer, inputShape: readonly number[]): ConvGeometry {
  const nhwc = (s: readonly number[]): [number, number, number, number] =>
    s.length === 4 ? [s[0], s[1], s[2], s[3]] : [s[0], 1, 1, s[1]];
  const x = nhwc(inputShape);
  if (layer instanceof Conv2d) {
    const oh = Math.floor((x[1] + 2 * layer.ph - layer.kh) / layer.sh) + 1;
    const ow = Math.floor((x[2] + 2 * layer.pw - layer.kw) / layer.sw) + 1;
    return { inputNhwc: x, outputNhwc: [x[0], oh, ow, layer.filters], kh: layer.kh, kw: layer.kw, sh: layer.sh, sw: layer.sw, ph: layer.ph, pw: layer.pw };
  }
  if (layer instanceof Dense) {
    return { inputNhwc: x, outputNhwc: [x[0], 1, 1, layer.units], kh: x[1], kw: x[2], sh: 1, sw: 1, ph: 0, pw: 0 };
  }
  throw new Error(`harness: ${layer.name} is not dense or conv2d`);
}

/** Visits every (output position, tap) pair that touches a real (unpadded) input element. */
function forEachTap(
  g: ConvGeometry,
  visit: (yIndex: number, xIndex: number, wIndex: number, co: number) => void,
): void {
  const [N, H, W, C] = g.inputNhwc;
  const [, OH, OW, CO] = g.outputNhwc;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh + ky - g.ph;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw + kx - g.pw;
            if (ix < 0 || ix >= W) continue;
            for (let ci = 0; ci < C; ci++) {
              const xIndex = ((n * H + iy) * W + ix) * C + ci;
              for (let co = 0; co < CO; co++) {
                const yIndex = ((n * OH + oy) * OW + ox) * CO + co;
                const wIndex = (co * g.kh * g.kw + ky * g.kw + kx) * C + ci;
                visit(yIndex, xIndex, wIndex, co);
              }
            }
          }
        }
      }
    }
  }
}

const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** y = conv(x, W) + b, from the definition; x NHWC, W [Cout][KH][KW][Cin], y NHWC. */
export function convForward(g: ConvGeometry, x: Float64Array, w: Float64Array, b: Float64Array | null): Float64Array {
  const y = new Float64Array(count(g.outputNhwc));
  const CO = g.outputNhwc[3];
  if (b) for (let i = 0; i < y.length; i++) y[i] = b[i % CO];
  forEachTap(g, (yi, xi, wi) => { y[yi] += x[xi] * w[wi]; });
  return y;
}

/** dX = dL/dx of the same convolution: every tap sends dY * W back to the input it read. */
export function convBackwardData(g: ConvGeometry, dy: Float64Array, w: Float64Array): Float64Array {
  const dx = new Float64Array(count(g.inputNhwc));
  forEachTap(g, (yi, xi, wi) => { dx[xi] += dy[yi] * w[wi]; });
  return dx;
}

/** dL/dW = dY^T * patches(X), on codes (an integer, exact in f64 for these sizes). */
export function convWeightGradient(g: ConvGeometry, dy: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  const CO = g.outputNhwc[3];
  const gw = new Float64Array(CO * g.kh * g.kw * g.inputNhwc[3]);
  forEachTap(g, (yi, xi, wi) => { gw[wi] += dy[yi] * x[xi]; });
  return gw;
}

/** dL/db = sum of dY over all positions, per output channel (on codes). */
export function biasGradient(g: ConvGeometry, dy: ArrayLike<number>): Float64Array {
  const CO = g.outputNhwc[3];
  const gb = new Float64Array(CO);
  for (let i = 0; i < dy.length; i++) gb[i % CO] += dy[i];
  return gb;
}

// ---- rounding and exponents, stated independently of src/engine/quant.ts ---------------------------

export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The exponent exact scaling must pick for a tensor whose largest magnitude is `maxAbs`: the
 * smallest e with round(maxAbs * 2^-e) <= maxCode(bits) (stochastic rounding: maxAbs * 2^-e <=
 * maxCode, since any draw may round up). `zeroExp` is returned for an all-zero tensor.
 */
export function expectedExponent(maxAbs: number, bits: number, rounding: Rounding, zeroExp: number): number {
  if (!(maxAbs > 0)) return zeroExp;
  const limit = maxCodeOf(bits);
  const fits = (e: number) => {
    const v = maxAbs * 2 ** -e;
    return (rounding === "nearest" ? roundHalfEven(v) : v) <= limit;
  };
  let e = Math.floor(Math.log2(maxAbs)) - bits - 2; // maxAbs * 2^-e >= 2^(bits+2): never fits
  while (!fits(e)) e++;
  return e;
}

/**
 * The requantization bound: every code q must satisfy |ref - q * 2^exp| <= bound * 2^exp with
 * bound = 1 for stochastic rounding (q is floor or ceil of ref / 2^exp: strictly under one step)
 * and 0.5 for round-to-nearest. Fails with the first offending element.
 */
export function assertWithinStep(
  what: string, ref: Float64Array, codes: Int32Array, exp: number, rounding: Rounding,
): void {
  assert.equal(codes.length, ref.length, `${what}: lengths`);
  const step = 2 ** exp;
  const bound = rounding === "nearest" ? 0.5 : 1;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(ref[i] - codes[i] * step);
    if (rounding === "stochastic" ? err >= bound * step : err > bound * step) {
      assert.fail(`${what}: element ${i}: reference ${ref[i]}, got code ${codes[i]} * 2^${exp} = ${codes[i] * step}; ` +
        `error ${err / step} steps, bound ${bound}`);
    }
  }
}

export function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}
