// Models: a sequence of layers, set up against an engine's plan, trained one batch at a time.
import { packedByteLength, unpackFrom } from "../format/packed.js";
import { PURPOSE, STREAMS, type Engine } from "../engine/engine.js";
import type { ErrorSlot, Layer, TrainingWidths } from "./layer.js";
import { Conv2d } from "./layers/conv2d.js";
import { Dense } from "./layers/dense.js";
import { LinearLayer } from "./layers/linear.js";
import { Flatten, Pool2d, ReLU } from "./layers/shape-only.js";
import { storageCols, storageRows, type QTensor } from "../engine/quant.js";
import {
  layerName, resolveGraph, type Conv2dOptions, type DenseOptions, type GraphNode, type LayerSpec, type ModelDefinition, type PoolOptions,
} from "./graph.js";

export { layerName, type LayerSpec, type ModelDefinition };

export const dense = (o: DenseOptions): LayerSpec => ({ type: "dense", ...o });
export const conv2d = (o: Conv2dOptions): LayerSpec => ({ type: "conv2d", ...o });
export const relu = (name?: string): LayerSpec => ({ type: "relu", name });
export const maxPool = (o: PoolOptions | number): LayerSpec => ({ type: "maxPool", ...(typeof o === "number" ? { size: o } : o) });
export const avgPool = (o: PoolOptions | number): LayerSpec => ({ type: "avgPool", ...(typeof o === "number" ? { size: o } : o) });
export const flatten = (name?: string): LayerSpec => ({ type: "flatten", name });

/** The integer layer of a resolved node; a weighted layer takes the ReLU fused into it. The
 *  layers apply graph.ts's rules again themselves, as they are also built alone. */
function buildLayer(node: GraphNode): Layer {
  switch (node.kind) {
    case "conv2d": return new Conv2d({ ...node.spec, relu: node.relu }, node.name);
    case "dense": return new Dense(node.units, node.relu, node.name);
    case "relu": return Object.assign(new ReLU(node.name), { fusedIntoPrevious: node.fused });
    case "maxPool": case "avgPool": return new Pool2d(node.kind, node.spec, node.name);
    case "flatten": return new Flatten(node.name);
  }
}

export function sequential(name: string, input: number[], classes: number, layers: LayerSpec[]): ModelDefinition {
  return { name, input, classes, layers };
}

/** LeNet-5 on 28x28x1 (61,706 parameters). */
export function lenet5(): ModelDefinition {
  return sequential("lenet5", [28, 28, 1], 10, [
    conv2d({ filters: 6, kernel: 5, padding: 2 }), relu(), maxPool(2),
    conv2d({ filters: 16, kernel: 5 }), relu(), maxPool(2),
    flatten(),
    dense({ units: 120 }), relu(),
    dense({ units: 84 }), relu(),
    dense({ units: 10 }),
  ]);
}

/** A multilayer perceptron on flattened 28x28 inputs. */
export function mlp(hidden: number[] = [128], input: number[] = [784], classes = 10): ModelDefinition {
  const layers: LayerSpec[] = [];
  if (input.length === 3) layers.push(flatten());
  for (const h of hidden) layers.push(dense({ units: h }), relu());
  layers.push(dense({ units: classes }));
  return sequential(`mlp-${hidden.join("-")}`, input, classes, layers);
}

export interface StepResult {
  loss: number;
  correct: number;
}

export interface ModelOptions extends TrainingWidths {
  batch: number;
  seed: number;
  /** qat8: fp32 master weights (see SetupContext.masterWeights). */
  masterWeights?: boolean;
}

export class Model {
  readonly layers: Layer[];
  readonly inputShape: number[];
  private inputAt = 0;
  private labelsAt = 0;
  private logitsErrAt = 0;
  private inputExp = 0;
  /**
   * APT's "same precision forward and backward" (docs/apt.md): while training, each weighted
   * layer's output activations, and the error that flows back into them, take the width set here
   * for the layer (the controller's), capped at actBits / errBits (the widths the buffers are
   * planned for). Null: every tensor at actBits / errBits. Inference (forward, predict) always
   * runs at the planned widths.
   */
  outputBits: Record<string, number> | null = null;
  /** Width of the loss's error for the logits in the current training step. */
  private logitsErrBits = 0;

  constructor(readonly definition: ModelDefinition, readonly engine: Engine, readonly options: ModelOptions) {
    const { batch } = options;
    if (!Number.isInteger(batch) || batch <= 0) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    for (const k of ["actBits", "errBits", "weightBits", "maxWeightBits"] as const) {
      const v = options[k];
      if (!Number.isInteger(v) || v < 2 || v > 16) throw new RangeError(`${definition.name}: ${k} must be an integer in 2..16, got ${v}`);
    }
    if (options.maxWeightBits < options.weightBits) {
      throw new RangeError(`${definition.name}: maxWeightBits (${options.maxWeightBits}) is below weightBits (${options.weightBits})`);
    }
    this.layers = resolveGraph(definition, batch).map(buildLayer);
    this.inputShape = [batch, ...definition.input];
    const plan = engine.plan;
    this.inputAt = plan.reserve("input batch", "input", null,
      packedByteLength(storageRows(this.inputShape), storageCols(this.inputShape), options.actBits));
    this.labelsAt = plan.reserve("labels", "input", null, batch);
    let shape: number[] = this.inputShape;
    let storage: number[] = this.inputShape;
    const slots: { name: string; slot: ErrorSlot }[] = [];
    const errorSlot = (name: string, bytes: number): ErrorSlot => {
      const slot = { at: 0, bytes };
      slots.push({ name, slot });
      return slot;
    };
    this.layers.forEach((layer, index) => {
      shape = layer.setup(shape, { ...options, engine, index, needInputError: this.layers.slice(0, index).some((l) => l instanceof LinearLayer), seed: options.seed, inputStorage: storage, errorSlot });
      // Flatten changes the description, not the storage.
      if (!(layer instanceof Flatten)) storage = shape;
    });
    const logits = errorSlot("logits", packedByteLength(batch, definition.classes, options.errBits));
    // Backward produces the errors in reverse order, each consumed by the next producer: two
    // buffers taken in turn hold them all.
    const order = slots.slice().reverse();
    for (const parity of [0, 1]) {
      const mine = order.filter((_, i) => i % 2 === parity);
      if (mine.length === 0) continue;
      const bytes = Math.max(...mine.map((m) => m.slot.bytes));
      const at = plan.reserve(`errors ${parity === 0 ? "A" : "B"} (${mine.map((m) => m.name).join(", ")})`, "errors", null, bytes);
      for (const m of mine) m.slot.at = at;
    }
    this.logitsErrAt = logits.at;
    engine.finishPlan();
    if (!engine.dryRun) for (const layer of this.layers) if (layer instanceof LinearLayer) layer.initialize();
  }

  /** Quantizes a float batch (the data edge) into the input buffer; pads a short batch with zeros. */
  private loadBatch(images: Float32Array, labels: Uint8Array | null, count: number): void {
    const { batch, actBits } = this.options;
    const per = this.definition.input.reduce((a, b) => a * b, 1);
    if (images.length !== count * per) throw new RangeError(`batch: expected ${count}x${per} input values, got ${images.length}`);
    const rows = storageRows(this.inputShape), cols = storageCols(this.inputShape);
    const exp = this.engine.quantizeInput(images, { at: this.inputAt, rows, cols, bits: actBits }, "input");
    if (exp === null) {
      // The engine only says that some value is NaN or infinite; the first one is found here.
      const i = images.findIndex((v) => !Number.isFinite(v));
      throw new RangeError(`batch: input value ${images[i]} at sample ${Math.floor(i / per)}, element ${i % per}`);
    }
    this.inputExp = exp;
    const mem = this.engine.memory;
    if (labels) {
      const lab = new Uint8Array(mem, this.labelsAt, batch);
      lab.fill(0);
      for (let i = 0; i < count; i++) {
        if (labels[i] >= this.definition.classes) {
          throw new RangeError(`batch: label ${labels[i]} of sample ${i} is outside 0..${this.definition.classes - 1}`);
        }
        lab[i] = labels[i];
      }
    }
  }

  /** Sets every weighted layer's tensor widths for a training step (tied) or inference. */
  private setTensorWidths(training: boolean): void {
    const { actBits, errBits } = this.options;
    const tied = training ? this.outputBits : null;
    const tie = tied !== null;
    // The width of the tensor flowing between layers; the input batch is the data edge.
    let width = actBits;
    for (const layer of this.layers) {
      if (!(layer instanceof LinearLayer)) continue;
      const out = tied ? Math.min(actBits, tied[layer.name] ?? actBits) : actBits;
      layer.setTensorWidths(out, tie ? Math.min(errBits, width) : errBits);
      width = out;
    }
    this.logitsErrBits = tie ? Math.min(errBits, width) : errBits;
  }

  /** Forward on a full batch (pad short batches with zeros first). */
  forward(images: Float32Array): QTensor {
    this.setTensorWidths(false);
    this.loadBatch(images, null, this.options.batch);
    let x: QTensor = { at: this.inputAt, shape: this.inputShape, bits: this.options.actBits, exp: this.inputExp };
    for (const layer of this.layers) x = layer.forward(x);
    return x;
  }

  /** One SGD step on a full batch: forward, loss, backward with fused updates. */
  trainStep(images: Float32Array, labels: Uint8Array, lr: number): StepResult {
    const { batch } = this.options;
    if (labels.length !== batch) throw new RangeError(`trainStep: expected ${batch} labels, got ${labels.length}`);
    if (!Number.isFinite(lr) || lr < 0) throw new RangeError(`trainStep: lr must be a finite number >= 0, got ${lr}`);
    this.setTensorWidths(true);
    const errBits = this.logitsErrBits;
    this.loadBatch(images, labels, batch);
    let x: QTensor = { at: this.inputAt, shape: this.inputShape, bits: this.options.actBits, exp: this.inputExp };
    for (const layer of this.layers) x = layer.forward(x);
    const classes = this.definition.classes;
    const r = this.engine.softmaxCrossEntropy({ at: x.at, n: batch, classes, bits: x.bits, exp: x.exp },
      this.labelsAt, this.logitsErrAt, errBits, this.layers.length * STREAMS + PURPOSE.loss);
    let dy: QTensor | null = { at: this.logitsErrAt, shape: [batch, classes], bits: errBits, exp: r.errExp };
    for (let i = this.layers.length - 1; i >= 0 && dy; i--) dy = this.layers[i].backward(dy, lr);
    this.engine.step++;
    return { loss: r.loss, correct: r.correct };
  }

  /** Logits codes of a batch as floats (the reporting edge). */
  predict(images: Float32Array, count: number): Float64Array {
    const per = this.definition.input.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(count) || count < 1 || count > this.options.batch) {
      throw new RangeError(`predict: count must be an integer in 1..${this.options.batch}, got ${count}`);
    }
    if (images.length !== count * per) throw new RangeError(`predict: expected ${count}x${per} input values, got ${images.length}`);
    let full = images;
    if (count < this.options.batch) {
      full = new Float32Array(this.options.batch * per);
      full.set(images);
    }
    const y = this.forward(full);
    const classes = this.definition.classes;
    const codes = unpackFrom(new Uint8Array(this.engine.memory, y.at, packedByteLength(this.options.batch, classes, y.bits)),
      this.options.batch, classes, y.bits);
    const out = new Float64Array(count * classes);
    const scale = 2 ** y.exp;
    for (let i = 0; i < out.length; i++) out[i] = codes[i] * scale;
    return out;
  }

  parameterCount(): number {
    return this.layers.reduce((s, l) => s + l.parameterCount(), 0);
  }
}
