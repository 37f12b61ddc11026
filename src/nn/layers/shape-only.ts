// Layers that move or mask codes without arithmetic on weights: ReLU, pooling, flatten.
import { packedByteLength } from "../../format/packed.js";
import { PURPOSE, STREAMS, type Engine, type PoolGeometry } from "../../engine/engine.js";
import type { ErrorSlot, Layer, SetupContext, UpdateStats, WeightTensor } from "../layer.js";
import { featuresOf, storageCols, storageRows, type QTensor } from "../../engine/quant.js";
import { poolWindow, resolvePool, type PoolOptions } from "../graph.js";

abstract class ParameterFree implements Layer {
  abstract readonly kind: string;
  protected engine!: Engine;
  protected index = 0;
  protected inputShape: readonly number[] = [];
  outputShape: number[] = [];
  protected needInputError = true;
  protected errBits = 8;
  constructor(readonly name: string) {}
  abstract setup(inputShape: readonly number[], ctx: SetupContext): number[];
  abstract forward(x: QTensor): QTensor;
  abstract backward(dy: QTensor, lr: number): QTensor | null;
  protected base(inputShape: readonly number[], ctx: SetupContext): void {
    this.engine = ctx.engine;
    this.index = ctx.index;
    this.inputShape = inputShape;
    this.needInputError = ctx.needInputError;
    this.errBits = ctx.errBits;
  }
  weights(): WeightTensor[] { return []; }
  parameterCount(): number { return 0; }
  lastUpdate(): UpdateStats | null { return null; }
}

/** max(x, 0), in place on its input. When the layer before fuses it (conv2d/dense with
 *  relu: true) forward has nothing left to do; backward masks dY with the saved output either way. */
export class ReLU extends ParameterFree {
  readonly kind = "relu";
  fusedIntoPrevious = false;
  private saved: QTensor | null = null;

  setup(inputShape: readonly number[], ctx: SetupContext): number[] {
    this.base(inputShape, ctx);
    this.outputShape = [...inputShape];
    return this.outputShape;
  }

  forward(x: QTensor): QTensor {
    if (!this.fusedIntoPrevious) {
      this.engine.reluForward(x, `${this.name} forward`);
    }
    this.saved = x;
    return x;
  }

  backward(dy: QTensor): QTensor | null {
    // In place on dY: the error buffer belongs to the layer after us and is not read again.
    this.engine.reluBackward(this.saved!, dy, `${this.name} backward`);
    return dy;
  }
}

export class Pool2d extends ParameterFree {
  readonly kind: "maxPool" | "avgPool";
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  private outAt = 0;
  private err: ErrorSlot = { at: 0, bytes: 0 };
  private saved: QTensor | null = null;

  constructor(kind: "maxPool" | "avgPool", o: PoolOptions, name: string) {
    super(name);
    this.kind = kind;
    ({ kh: this.kh, kw: this.kw, sh: this.sh, sw: this.sw } = poolWindow(o, name));
  }

  setup(s: readonly number[], ctx: SetupContext): number[] {
    this.base(s, ctx);
    const [n, ...sample] = s;
    this.outputShape = [n, ...resolvePool(this.name, this, sample, n)];
    const [h, w, c] = sample;
    const plan = ctx.engine.plan;
    this.outAt = plan.reserve(`${this.name} output`, "activations", this.name,
      packedByteLength(storageRows(this.outputShape), storageCols(this.outputShape), ctx.actBits));
    if (ctx.needInputError) {
      this.err = ctx.errorSlot(this.name, packedByteLength(n * h, w * c, ctx.errBits));
    }
    return this.outputShape;
  }

  private geometry(): PoolGeometry {
    return { input: this.inputShape, output: this.outputShape, kh: this.kh, kw: this.kw, sh: this.sh, sw: this.sw };
  }

  forward(x: QTensor): QTensor {
    this.saved = x;
    this.engine.poolForward(this.kind, x, this.geometry(), this.outAt, this.index * STREAMS + PURPOSE.pool, `${this.name} forward`);
    return { at: this.outAt, shape: this.outputShape, bits: x.bits, exp: x.exp };
  }

  backward(dy: QTensor): QTensor | null {
    if (!this.needInputError) return null;
    this.engine.poolBackward(this.kind, this.saved!, dy, this.geometry(), this.err.at,
      this.index * STREAMS + PURPOSE.backward, `${this.name} backward`);
    return { at: this.err.at, shape: this.inputShape, bits: dy.bits, exp: dy.exp };
  }
}

/** [N, H, W, C] -> [N, H*W*C] as a change of description only: the tensor keeps its NHWC
 *  storage and dense reads it through a whole-image view, so neither direction copies codes. */
export class Flatten extends ParameterFree {
  readonly kind = "flatten";
  setup(inputShape: readonly number[], ctx: SetupContext): number[] {
    this.base(inputShape, ctx);
    this.outputShape = [inputShape[0], featuresOf(inputShape)];
    return this.outputShape;
  }
  forward(x: QTensor): QTensor {
    return x;
  }
  backward(dy: QTensor): QTensor | null {
    return dy;
  }
}
