// The layer contract. A layer is set up once (shapes checked, buffers placed by the plan), then
// runs forward and backward on packed tensors in the engine's memory.
import type { Engine } from "../engine/engine.js";
import type { QTensor } from "../engine/quant.js";

export interface TrainingWidths {
  /** Activation width (outputs of every layer). */
  actBits: number;
  /** Error width (dL/d activation). */
  errBits: number;
  /** Initial weight width and the widest any policy may choose (the plan reserves this). */
  weightBits: number;
  maxWeightBits: number;
}

/** Where a layer writes the error for its input. Errors live only until the layer before has
 *  consumed them, so the model places all of them in two alternating buffers (see Model). */
export interface ErrorSlot {
  at: number;
  readonly bytes: number;
}

export interface SetupContext extends TrainingWidths {
  /** Asks for a buffer of `bytes` for this layer's input error. */
  errorSlot(name: string, bytes: number): ErrorSlot;
  engine: Engine;
  batch: number;
  /** Position in the model: names PRNG streams and buffers. */
  index: number;
  /** Whether this layer must produce the error for its input (false for the first layer). */
  needInputError: boolean;
  /** Seed for weight initialisation. */
  seed: number;
  /** qat8: keep an fp32 master copy of the weights, quantize it to weightBits every step, and
   *  apply the (stored, f32) gradient to the master. */
  masterWeights?: boolean;
  /** How the input is stored (differs from the input shape after flatten: NHWC lines). */
  inputStorage: readonly number[];
}

/** Weights of one layer as the precision policy sees them. */
export interface WeightTensor {
  readonly layer: string;
  readonly at: number;
  readonly rows: number;
  readonly cols: number;
  bits: number;
  exp: number;
  readonly maxBits: number;
}

export interface UpdateStats {
  /** sum over weights of |lr * g| / step: G = sumAbs / count (docs/apt.md). */
  sumAbs: number;
  count: number;
  changed: number;
  saturated: number;
}

export interface Layer {
  readonly name: string;
  readonly kind: string;
  /** Output shape (per batch), known after setup. */
  readonly outputShape: readonly number[];
  /** Checks the input shape, places buffers, returns the output shape. Throws RangeError naming
   *  the layer and argument when the shapes do not chain. */
  setup(inputShape: readonly number[], ctx: SetupContext): number[];
  forward(x: QTensor): QTensor;
  /** Consumes dL/d output; applies the weight update (lr > 0) after computing the input error;
   *  returns dL/d input (null when not needed). */
  backward(dy: QTensor, lr: number): QTensor | null;
  /** Packed weights (empty for layers without parameters). */
  weights(): WeightTensor[];
  parameterCount(): number;
  /** Statistics of the last update (null for layers without parameters). */
  lastUpdate(): UpdateStats | null;
}
