// What dense and conv2d share: y = x * W^T + b as one GEMM, and its backward as two more
//   dX = dY * W          (the error to the input, requantized like any output)
//   W += round(lr * dY^T X / step)   (fused update: the gradient is never stored)
//   b += round(lr * 1^T dY / step)
// The subclasses only say how x, y, dY and W are seen as matrices (views).
import { packedByteLength, rowStrideBytes } from "../../format/packed.js";
import type { PlainView, View } from "../../runtime/descriptors.js";
import { PURPOSE, STREAMS, type Engine } from "../../engine/engine.js";
import { heUniform, heUniformCodes, layerSeed, writePacked } from "../weight-init.js";
import type { ErrorSlot, Layer, SetupContext, UpdateStats, WeightTensor } from "../layer.js";
import { storageCols, storageRows, type QTensor } from "../../engine/quant.js";
import { codeUsage, type CodeUsage } from "../../format/usage.js";

export const BIAS_BITS = 16;
/** Biases are 16-bit codes with a fixed step of 2^-12 (range +-8): tiny, and kept apart from APT. */
export const BIAS_EXP = -12;

export abstract class LinearLayer implements Layer {
  abstract readonly kind: string;
  protected engine!: Engine;
  protected index = 0;
  protected batch = 0;
  protected actBits = 8;
  protected errBits = 8;
  private plannedActBits = 8;
  private plannedErrBits = 8;
  protected inputShape: readonly number[] = [];
  /** How the input tensor is stored: 4-D NHWC lines even when flatten made the shape 2-D. */
  protected inputStorage: readonly number[] = [];
  outputShape: number[] = [];
  protected needInputError = true;
  private outAt = 0;
  private err: ErrorSlot = { at: 0, bytes: 0 };
  private biasAt = 0;
  private saved: QTensor | null = null;
  /** Delayed scaling's carried exponents, kept as exponent + width (the top of the value range)
   *  so that a width change between steps keeps the same range: one more bit, one lower exponent. */
  private outputTop: number | undefined;
  private inputErrorTop: number | undefined;
  /** Exact scaling's first guess of the input error's exponent: the last step's relative to its
   *  accumulator exponent and width (exp + bits - accExp). An error's exponent follows the loss's
   *  batch by batch while the range of the product's codes stays put, so this repeats more often
   *  than the exponent itself (lenet5, 200 steps: 224 misses in 800 input-error products against
   *  590). Forward outputs repeat their own exponent more often (the default guess, previousExp). */
  private inputErrorGuess: number | undefined;
  private stats: UpdateStats | null = null;
  protected weight!: WeightTensor;
  private biasExp = BIAS_EXP;
  /** qat8 only: fp32 master weights and bias, and their f32 gradients. */
  private master: { weights: number; bias: number; gradW: number; gradB: number } | null = null;

  /** While set, forward and backward read how their output's codes, and the error arriving for
   *  it, use their range (usage): the APT controller's statistic, taken on decision steps only. */
  sampleUsage = false;
  readonly usage: { output: CodeUsage | null; error: CodeUsage | null } = { output: null, error: null };

  constructor(readonly name: string, readonly relu: boolean) {}

  /** Rows (outputs) and columns (fan-in) of W. */
  protected abstract weightShape(): { rows: number; cols: number };
  protected abstract checkInput(inputShape: readonly number[]): number[];
  /** x as the (P x fanIn) left operand. */
  protected abstract patches(x: QTensor): View;
  /** The P x rows output matrix over a tensor of the output shape at `at`. */
  protected abstract outputView(at: number, bits: number, trans?: boolean): View;
  /** dY as the left operand of the input-error product, and W as its right operand. */
  protected abstract errorPatches(dy: QTensor): View;
  protected abstract weightsForError(): View;
  /** The input-shaped error tensor at `at` as the product's output view. */
  protected abstract inputErrorView(at: number): View;
  /** Rows of the patch matrix (batch x output positions). */
  protected abstract positions(): number;

  setup(inputShape: readonly number[], ctx: SetupContext): number[] {
    this.engine = ctx.engine;
    this.index = ctx.index;
    this.batch = ctx.batch;
    this.actBits = this.plannedActBits = ctx.actBits;
    this.errBits = this.plannedErrBits = ctx.errBits;
    this.needInputError = ctx.needInputError;
    this.inputShape = inputShape;
    this.inputStorage = ctx.inputStorage;
    this.outputShape = this.checkInput(inputShape);
    const { rows, cols } = this.weightShape();
    const plan = ctx.engine.plan;
    const weightAt = plan.reserve(`${this.name} weights`, "weights", this.name, packedByteLength(rows, cols, ctx.maxWeightBits));
    this.biasAt = plan.reserve(`${this.name} bias`, "biases", this.name, packedByteLength(1, rows, BIAS_BITS));
    this.outAt = plan.reserve(`${this.name} output`, "activations", this.name,
      packedByteLength(storageRows(this.outputShape), storageCols(this.outputShape), ctx.actBits));
    if (ctx.needInputError) {
      this.err = ctx.errorSlot(this.name,
        packedByteLength(storageRows(ctx.inputStorage), storageCols(ctx.inputStorage), ctx.errBits));
    }
    const seed = layerSeed(ctx.seed, ctx.index);
    const init = heUniformCodes(rows * cols, cols, ctx.weightBits, seed);
    this.weight = { layer: this.name, at: weightAt, rows, cols, bits: ctx.weightBits, exp: init.exp, maxBits: ctx.maxWeightBits };
    this.initialCodes = init.codes;
    if (ctx.masterWeights) {
      this.master = {
        weights: plan.reserve(`${this.name} fp32 master weights`, "master", this.name, rows * cols * 4),
        bias: plan.reserve(`${this.name} fp32 master bias`, "master", this.name, rows * 4),
        gradW: plan.reserve(`${this.name} weight gradient (f32)`, "master", this.name, rows * cols * 4),
        gradB: plan.reserve(`${this.name} bias gradient (f32)`, "master", this.name, rows * 4),
      };
      this.initialMaster = heUniform(rows * cols, cols, seed);
    }
    // Size the shared workspace for this layer's three products at the widest weights.
    const P = this.positions();
    const x0: QTensor = { at: 0, shape: ctx.inputStorage, bits: ctx.actBits, exp: 0 };
    const dy0: QTensor = { at: 0, shape: this.outputShape, bits: ctx.errBits, exp: 0 };
    const widest = <T extends View>(v: T): T => ({ ...v, bits: ctx.maxWeightBits });
    ctx.engine.declareProduct(this.patches(x0), widest(this.weightView(true)));
    if (ctx.needInputError) ctx.engine.declareProduct(this.errorPatches(dy0), widest(this.weightsForError()));
    ctx.engine.declareProduct(this.outputView(0, ctx.errBits, true), this.patches(x0));
    ctx.engine.declareProduct({ kind: "plain", at: 0, bits: 2, rows: 1, cols: P }, this.outputView(0, ctx.errBits));
    if (ctx.weightBits > ctx.maxWeightBits) throw new RangeError(`${this.name}: weightBits ${ctx.weightBits} exceeds maxWeightBits ${ctx.maxWeightBits}`);
    ctx.engine.declareOnes(P);
    return this.outputShape;
  }

  private initialCodes: Int32Array | null = null;
  private initialMaster: Float64Array | null = null;

  /** Writes the initial weights; called once memory has been grown to the plan. */
  initialize(): void {
    if (!this.initialCodes) return;
    const { rows, cols } = this.weightShape();
    writePacked(this.engine.memory, this.weight.at, this.initialCodes, rows, cols, this.weight.bits);
    new Uint8Array(this.engine.memory, this.biasAt, packedByteLength(1, rows, BIAS_BITS)).fill(0);
    if (this.master && this.initialMaster) {
      new Float32Array(this.engine.memory, this.master.weights, rows * cols).set(this.initialMaster);
      new Float32Array(this.engine.memory, this.master.bias, rows).fill(0);
    }
    this.initialCodes = null;
    this.initialMaster = null;
  }

  /** qat8: the fp32 master quantized to the layer's width (weights) and 16 bits (bias). */
  private quantizeMaster(): void {
    const m = this.master!;
    const w = this.weight;
    w.exp = this.engine.quantizeFloatsNearest(m.weights, w, `${this.name} master quantization`);
    this.biasExp = this.engine.quantizeFloatsNearest(m.bias, { at: this.biasAt, rows: 1, cols: w.rows, bits: BIAS_BITS },
      `${this.name} master bias quantization`);
  }

  /** qat8: master -= lr * gradient, the gradient stored whole in f32 as QAT keeps it. */
  private updateMaster(dy: QTensor, x: QTensor, lr: number): void {
    const m = this.master!;
    const w = this.weight;
    const mem = () => this.engine.memory;
    this.engine.fused(this.outputView(dy.at, dy.bits, true), this.patches(x), null,
      { mode: "store", c: m.gradW, storeF32: true, scale: 2 ** (dy.exp + x.exp) }, `${this.name} weight gradient`);
    this.engine.fused(this.engine.ones(this.positions()), this.outputView(dy.at, dy.bits), null,
      { mode: "store", c: m.gradB, storeF32: true, scale: 2 ** dy.exp }, `${this.name} bias gradient`);
    const W = new Float32Array(mem(), m.weights, w.rows * w.cols), G = new Float32Array(mem(), m.gradW, w.rows * w.cols);
    let sumAbs = 0;
    const step = 2 ** w.exp;
    for (let i = 0; i < W.length; i++) {
      const d = lr * G[i];
      sumAbs += Math.abs(d) / step;
      W[i] -= d;
    }
    const B = new Float32Array(mem(), m.bias, w.rows), GB = new Float32Array(mem(), m.gradB, w.rows);
    for (let i = 0; i < B.length; i++) B[i] -= lr * GB[i];
    this.stats = { sumAbs, count: W.length, changed: 0, saturated: 0 };
  }

  protected weightView(trans: boolean): PlainView {
    const w = this.weight;
    return { kind: "plain", at: w.at, bits: w.bits, rows: w.rows, cols: w.cols, trans };
  }

  /**
   * The widths this step's tensors are written at: the output activations (and so the error
   * arriving for them) and the error this layer writes for its input. Both within the widths the
   * plan sized their buffers for (actBits, errBits).
   */
  setTensorWidths(outputBits: number, inputErrorBits: number): void {
    if (!(outputBits >= 2 && outputBits <= this.plannedActBits) || !(inputErrorBits >= 2 && inputErrorBits <= this.plannedErrBits)) {
      throw new RangeError(`${this.name}: tensor widths ${outputBits}/${inputErrorBits} outside the planned 2..${this.plannedActBits}/2..${this.plannedErrBits}`);
    }
    this.actBits = outputBits;
    this.errBits = inputErrorBits;
  }

  private stream(purpose: number): number {
    return this.index * STREAMS + purpose;
  }

  forward(x: QTensor): QTensor {
    this.saved = x;
    if (this.master) this.quantizeMaster();
    const w = this.weight;
    const { exp, nextExp } = this.engine.product(this.patches(x), this.weightView(true), this.outputView(this.outAt, this.actBits), x.exp + w.exp, {
      bias: { at: this.biasAt, bits: BIAS_BITS, exp: this.biasExp },
      relu: this.relu,
      stream: this.stream(PURPOSE.forward),
      previousExp: this.outputTop === undefined ? undefined : this.outputTop - this.actBits,
      what: `${this.name} forward`,
    });
    this.outputTop = nextExp + this.actBits;
    if (this.sampleUsage) {
      this.usage.output = codeUsage(this.engine.memory, this.outAt, storageRows(this.outputShape), storageCols(this.outputShape), this.actBits);
    }
    return { at: this.outAt, shape: this.outputShape, bits: this.actBits, exp };
  }

  backward(dy: QTensor, lr: number): QTensor | null {
    const x = this.saved;
    if (!x) throw new Error(`${this.name}: backward before forward`);
    const w = this.weight;
    if (this.sampleUsage) this.usage.error = codeUsage(this.engine.memory, dy.at, storageRows(dy.shape), storageCols(dy.shape), dy.bits);
    let dx: QTensor | null = null;
    if (this.needInputError) {
      const accExp = dy.exp + w.exp;
      const { exp, nextExp } = this.engine.product(this.errorPatches(dy), this.weightsForError(), this.inputErrorView(this.err.at), accExp, {
        stream: this.stream(PURPOSE.backward),
        previousExp: this.inputErrorTop === undefined ? undefined : this.inputErrorTop - this.errBits,
        guessExp: this.inputErrorGuess === undefined ? undefined : accExp + this.inputErrorGuess - this.errBits,
        what: `${this.name} input error`,
      });
      this.inputErrorTop = nextExp + this.errBits;
      this.inputErrorGuess = exp + this.errBits - accExp;
      dx = { at: this.err.at, shape: this.inputStorage, bits: this.errBits, exp };
    }
    if (lr > 0 && this.master) {
      this.updateMaster(dy, x, lr);
    } else if (lr > 0) {
      const r = this.engine.update(this.outputView(dy.at, dy.bits, true), this.patches(x), this.weightView(false),
        -lr * 2 ** (dy.exp + x.exp - w.exp), this.stream(PURPOSE.update), `${this.name} weight update`);
      this.stats = { sumAbs: r.sumAbs, count: r.count, changed: r.changed, saturated: r.saturated };
      const P = this.positions();
      this.engine.update(this.engine.ones(P), this.outputView(dy.at, dy.bits), this.biasView(),
        -lr * 2 ** (dy.exp - this.biasExp), this.stream(PURPOSE.biasUpdate), `${this.name} bias update`);
    }
    return dx;
  }

  private biasView(): PlainView {
    return { kind: "plain", at: this.biasAt, bits: BIAS_BITS, rows: 1, cols: this.weight.rows };
  }

  weights(): WeightTensor[] {
    return [this.weight];
  }

  /** The exponents delayed scaling carries from one step to the next, stated at the planned widths
   *  (actBits, errBits) whatever this step's are: a checkpoint keeps them, so a resumed run scales
   *  exactly as the uninterrupted one. */
  scalingState(): { output: number | null; inputError: number | null } {
    return {
      output: this.outputTop === undefined ? null : this.outputTop - this.plannedActBits,
      inputError: this.inputErrorTop === undefined ? null : this.inputErrorTop - this.plannedErrBits,
    };
  }

  restoreScalingState(s: { output: number | null; inputError: number | null }): void {
    this.outputTop = s.output === null ? undefined : s.output + this.plannedActBits;
    this.inputErrorTop = s.inputError === null ? undefined : s.inputError + this.plannedErrBits;
    // A guess only saves a pass; one from before the restore has nothing to say about the state now.
    this.inputErrorGuess = undefined;
  }

  parameterCount(): number {
    return this.weight.rows * this.weight.cols + this.weight.rows;
  }

  lastUpdate(): UpdateStats | null {
    return this.stats;
  }

  /** Packed bytes of W at its current width (for hashing and export). */
  weightBytes(): Uint8Array {
    const w = this.weight;
    return new Uint8Array(this.engine.memory, w.at, w.rows * rowStrideBytes(w.cols, w.bits));
  }

  biasBytes(): Uint8Array {
    return new Uint8Array(this.engine.memory, this.biasAt, packedByteLength(1, this.weight.rows, BIAS_BITS));
  }
}
