// The fp32 reference trainer (the `fp32()` policy): the same ModelDefinition trained in float32 on
// the f32 SIMD kernels (assembly/f32/), with plain SGD. It starts from the very floats the integer
// trainer quantizes (He-uniform, the same seededUniform sequence and per-layer seed), so the two
// differ only in arithmetic. Every buffer is placed once at create(); a step allocates nothing in
// wasm. Conv2d is im2col (an explicit patch buffer, shared by all conv layers and recomputed in
// backward) + GEMM: this is the baseline, not the design's bounded-workspace path.
import type { IsaChoice } from "../../runtime/wasm.js";
import { isWeighted, resolveGraph, type GraphNode, type ModelDefinition, type WeightedNode } from "../../nn/graph.js";
import { heUniform, layerSeed } from "../../nn/weight-init.js";
import type { BatchResult, Learner } from "../../learner/learner.js";
import type { LayerInfo } from "../../learner/run-report.js";
import { sha256Hex } from "../../learner/hash.js";
import { Planner, type Category } from "../../plan/plan.js";
import type { EnergyOp } from "../../energy/energy.js";
import type { TimeStage } from "../../engine/engine.js";
import type { Fp32Exports } from "../../runtime/abi-exports.js";
import { checkStatus, loadMainBuild, type Fp32Loader } from "./loader.js";

type Alloc = (count: number, name: string, category: Category, layer?: string | null) => number;

export interface Fp32LearnerOptions {
  batch: number;
  seed: number;
  isa?: IsaChoice;
  /** Where the f32 kernels come from (default: the project's main wasm build). */
  loader?: Fp32Loader;
}

/** He-uniform floats for a rows x cols (fan-in = cols) weight: the integer trainer's float64 draws
 *  (src/nn/weight-init.ts), rounded once to f32, with the same per-layer seed. */
export function heUniformFloats(count: number, fanIn: number, seed: number): Float32Array {
  return Float32Array.from(heUniform(count, fanIn, seed));
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Where a weighted layer's f32 weights, bias and their gradients live. */
interface Weighted {
  w: number;
  b: number;
  dw: number;
  db: number;
}

/** A layer of the resolved graph (src/nn/graph.ts) placed in this trainer's memory: its input at
 *  x, its output at y, a weighted layer's parameters at p. */
type Node = { x: number; y: number } & ((WeightedNode & { p: Weighted }) | Exclude<GraphNode, WeightedNode>);

/** Where each product of a layer would place its GEMM: M, N, K (for the shared workspace). */
function products(node: Node, batch: number): [number, number, number][] {
  if (node.kind === "conv2d") {
    const [oh, ow, co] = node.outShape;
    const P = batch * oh * ow, K = node.cols;
    return [[P, co, K], [co, K, P], [P, K, co]];
  }
  if (node.kind === "dense") {
    const F = node.cols, U = node.rows;
    return [[batch, U, F], [U, F, batch], [batch, F, U]];
  }
  return [];
}

export class Fp32Learner implements Learner {
  readonly isa: string;
  readonly batch: number;
  private readonly nodes: Node[] = [];
  private readonly abi: Fp32Exports;
  private inputAt = 0;
  private labelsAt = 0;
  private dlogitsAt = 0;
  private errA = 0;
  private errB = 0;
  private colsAt = 0;
  private workAt = 0;
  private workBytes = 0;
  private lossAt = 0;
  /** The conv layer whose patches the shared im2col buffer holds, if any. */
  private colsOwner: Node | null = null;
  private readonly perSample: number;
  private readonly classes: number;
  /** Bytes of wasm memory the trainer placed (weights, gradients, activations, scratch). */
  readonly placedBytes: number;
  /** Every buffer of the run, laid out by the same planner as the integer engine's. */
  readonly plan: Planner;
  /** Called for every kernel call, in the integer engine's OpRecord shape at 32 bits (the energy
   *  account listens here: src/energy/energy.ts). */
  onOp: ((op: EnergyOp) => void) | null = null;

  /**
   * Called after every kernel call with its measured wall time (the step profile listens here), in
   * the integer engine's stages, so the two trainers' profiles compare column by column:
   *   input     loading and checking the batch's images and labels
   *   product   what the integer product's call holds: im2col, the forward GEMM and its bias (and
   *             fused ReLU) pass; the input-error GEMM and col2im
   *   gradient  dW and db, with the im2col a conv layer redoes for its dW
   *   update    SGD on weights and biases (the integer learner fuses it with dW: "update" there)
   *   relu, pool, loss   the ReLU, pooling and softmax cross-entropy kernels, forward and backward
   * Null (the default) costs one test per call.
   */
  onTime: ((what: string, stage: TimeStage, ms: number) => void) | null = null;

  /** A start time for lap(), or 0 when nobody listens (performance.now() is then not called). */
  private clock(): number {
    return this.onTime ? performance.now() : 0;
  }

  /** Reports the time since `started` (a clock() value) as one call of `what` in `stage`. */
  private lap(started: number, what: string, stage: TimeStage): void {
    if (this.onTime) this.onTime(what, stage, performance.now() - started);
  }

  /** Reports an elementwise f32 kernel call to onOp. */
  private count(what: string, op: Extract<EnergyOp, { kind: "elementwise" }>["op"], elements: number, reads: number, writes: number): void {
    this.onOp?.({ kind: "elementwise", what, op, elements, bits: 32, reads, writes });
  }

  private constructor(readonly definition: ModelDefinition, isa: string, abi: Fp32Exports, batch: number, seed: number) {
    this.isa = isa;
    this.abi = abi;
    this.batch = batch;
    this.classes = definition.classes;
    this.perSample = sizeOf(definition.input);
    // The same planner as the integer engine lays the float run out, so their memory compares.
    const plan = new Planner(abi.heap_base());
    this.plan = plan;
    const f32: Alloc = (count, name, category, layer = null) => plan.reserve(name, category, layer, count * 4);

    const graph = resolveGraph(definition, batch);
    this.inputAt = f32(batch * this.perSample, "input batch (f32)", "input");
    let x = this.inputAt;
    let maxAct = this.perSample;
    let maxCols = 0;
    for (const layer of graph) {
      const node = this.place(layer, x, f32, batch);
      this.nodes.push(node);
      x = node.y;
      maxAct = Math.max(maxAct, sizeOf(node.outShape));
      if (node.kind === "conv2d") maxCols = Math.max(maxCols, sizeOf(node.outShape.slice(0, 2)) * node.cols);
    }
    this.errA = f32(batch * maxAct, "errors A (f32)", "errors");
    this.errB = f32(batch * maxAct, "errors B (f32)", "errors");
    this.dlogitsAt = this.errA;
    this.colsAt = f32(batch * maxCols, "im2col patches (f32)", "workspace");
    this.labelsAt = plan.reserve("labels", "input", null, batch);
    this.lossAt = plan.reserve("loss results", "control", null, 16);
    this.workBytes = Math.max(...this.nodes.flatMap((n) => products(n, batch).map(([M, N, K]) => abi.f32_gemm_workspace_bytes(M, N, K))), 128);
    this.workAt = plan.reserve("GEMM workspace (f32)", "workspace", null, this.workBytes);
    this.placedBytes = plan.peakBytes - Math.ceil(abi.heap_base() / 16) * 16;
    const have = abi.memory.buffer.byteLength;
    if (plan.peakBytes > have) abi.memory.grow(Math.ceil((plan.peakBytes - have) / 65536));

    // Initial weights: the integer trainer's floats; biases zero.
    for (const node of this.weighted()) {
      const { rows, cols } = node;
      this.view(node.p.w, rows * cols).set(heUniformFloats(rows * cols, cols, layerSeed(seed, node.index)));
      this.view(node.p.b, rows).fill(0);
    }
  }

  static async create(def: ModelDefinition, options: Fp32LearnerOptions): Promise<Fp32Learner> {
    const { batch, seed } = options;
    if (!Number.isInteger(batch) || batch <= 0) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    const loaded = await (options.loader ?? loadMainBuild)(options.isa ?? "auto");
    return new Fp32Learner(def, loaded.isa, loaded.exports, batch, seed);
  }

  /** Places a resolved layer's buffers: its output (ReLU works in place, flatten only renames)
   *  and a weighted layer's parameters. */
  private place(layer: GraphNode, x: number, f32: Alloc, batch: number): Node {
    const { name } = layer;
    if (layer.kind === "relu" || layer.kind === "flatten") return { ...layer, x, y: x };
    const y = f32(batch * sizeOf(layer.outShape), `${name} output (f32)`, "activations", name);
    if (!isWeighted(layer)) return { ...layer, x, y };
    const { rows, cols } = layer;
    return { ...layer, x, y, p: {
      w: f32(rows * cols, `${name} weights (f32)`, "weights", name), b: f32(rows, `${name} bias (f32)`, "biases", name),
      dw: f32(rows * cols, `${name} weight gradient (f32)`, "master", name), db: f32(rows, `${name} bias gradient (f32)`, "master", name),
    } };
  }

  private view(at: number, count: number): Float32Array {
    return new Float32Array(this.abi.memory.buffer, at, count);
  }

  private loadImages(images: Float32Array, count: number, what: string): void {
    if (!Number.isInteger(count) || count < 1 || count > this.batch) {
      throw new RangeError(`${what}: count must be an integer in 1..${this.batch}, got ${count}`);
    }
    const per = this.perSample;
    if (images.length !== count * per) throw new RangeError(`${what}: expected ${count}x${per} input values, got ${images.length}`);
    for (let i = 0; i < images.length; i++) {
      if (!Number.isFinite(images[i])) throw new RangeError(`${what}: input value ${images[i]} at sample ${Math.floor(i / per)}, element ${i % per}`);
    }
    this.view(this.inputAt, images.length).set(images);
  }

  private loadLabels(labels: Uint8Array, count: number, what: string): void {
    if (labels.length < count) throw new RangeError(`${what}: expected ${count} labels, got ${labels.length}`);
    for (let i = 0; i < count; i++) {
      if (labels[i] >= this.classes) throw new RangeError(`${what}: label ${labels[i]} of sample ${i} is outside 0..${this.classes - 1}`);
    }
    new Uint8Array(this.abi.memory.buffer, this.labelsAt, count).set(labels.subarray(0, count));
  }

  private gemm(a: number, b: number, c: number, M: number, N: number, K: number, transA: boolean, transB: boolean, what: string,
    stage: TimeStage): void {
    this.onOp?.({ kind: "gemm", what, mode: "store", M, N, K, aBits: 32, bBits: 32, outBits: 32 });
    const started = this.clock();
    const status = this.abi.f32_gemm(a, b, c, M, N, K, +transA, +transB, 0, this.workAt, this.workBytes);
    this.lap(started, what, stage);
    checkStatus(status, what);
  }

  private im2col(node: Extract<Node, { kind: "conv2d" }>, n: number, stage: TimeStage): void {
    const [h, w, c] = node.inShape;
    const what = `${node.name} im2col`;
    const started = this.clock();
    const status = this.abi.f32_im2col(node.x, n, h, w, c, node.kh, node.kw, node.sh, node.sw, node.ph, node.pw, this.colsAt);
    this.lap(started, what, stage);
    checkStatus(status, what);
  }

  /** y += bias (and ReLU) over a rows x cols output, as counted: one add per element (and a compare). */
  private countBiasAct(name: string, rows: number, cols: number, relu: boolean): void {
    this.count(`${name} forward`, "add", rows * cols, rows * cols + cols, rows * cols);
    if (relu) this.count(`${name} forward`, "compare", rows * cols, 0, 0);
  }

  /** Forward on the first n samples of the input buffer; returns the logits offset. */
  private forward(n: number): number {
    const abi = this.abi;
    for (const node of this.nodes) {
      switch (node.kind) {
        case "conv2d": {
          const [oh, ow, co] = node.outShape;
          const P = n * oh * ow;
          this.count(`${node.name} im2col`, "copy", 0, P * node.cols, P * node.cols);
          this.im2col(node, n, "product");
          this.colsOwner = node;
          this.gemm(this.colsAt, node.p.w, node.y, P, co, node.cols, false, true, `${node.name} forward`, "product");
          this.countBiasAct(node.name, P, co, node.relu);
          const started = this.clock();
          abi.f32_bias_act(node.y, P, co, node.p.b, +node.relu);
          this.lap(started, `${node.name} forward`, "product");
          break;
        }
        case "dense": {
          this.gemm(node.x, node.p.w, node.y, n, node.rows, node.cols, false, true, `${node.name} forward`, "product");
          this.countBiasAct(node.name, n, node.rows, node.relu);
          const started = this.clock();
          abi.f32_bias_act(node.y, n, node.rows, node.p.b, +node.relu);
          this.lap(started, `${node.name} forward`, "product");
          break;
        }
        case "relu":
          if (!node.fused) {
            const e = n * sizeOf(node.inShape);
            this.count(`${node.name} forward`, "compare", e, e, e);
            const started = this.clock();
            abi.f32_relu_forward(node.x, e, node.y);
            this.lap(started, `${node.name} forward`, "relu");
          }
          break;
        case "maxPool": case "avgPool": {
          const [h, w, c] = node.inShape;
          const window = n * sizeOf(node.outShape) * node.kh * node.kw;
          this.count(`${node.name} forward`, node.kind === "maxPool" ? "compare" : "add", window, window, n * sizeOf(node.outShape));
          const f = node.kind === "maxPool" ? abi.f32_max_pool_forward : abi.f32_avg_pool_forward;
          const started = this.clock();
          const status = f(node.x, n, h, w, c, node.kh, node.kw, node.sh, node.sw, node.y);
          this.lap(started, `${node.name} forward`, "pool");
          checkStatus(status, `${node.name} forward`);
          break;
        }
        case "flatten":
          break;
      }
    }
    return this.nodes.length > 0 ? this.nodes[this.nodes.length - 1].y : this.inputAt;
  }

  /** Backward from dlogits (in errA) through every layer down to the first weighted one, leaving
   *  dW, db of every weighted layer in its gradient buffers. */
  private backward(n: number): void {
    const abi = this.abi;
    const firstWeighted = this.nodes.findIndex(isWeighted);
    if (firstWeighted < 0) return;
    let dy = this.dlogitsAt;
    const other = (p: number) => (p === this.errA ? this.errB : this.errA);
    for (let i = this.nodes.length - 1; i >= firstWeighted; i--) {
      const node = this.nodes[i];
      const needDx = i > firstWeighted;
      switch (node.kind) {
        case "conv2d": {
          const [h, w, c] = node.inShape, [oh, ow, co] = node.outShape;
          const P = n * oh * ow, K = node.cols;
          if (node.relu) {
            this.count(`${node.name} backward`, "mask", P * co, 2 * P * co, P * co);
            this.reluBackward(node.y, dy, P * co, `${node.name} backward`);
          }
          // The patch buffer is shared: the last conv layer finds its own patches still there,
          // the others rebuild theirs for dW.
          if (this.colsOwner !== node) {
            this.count(`${node.name} im2col`, "copy", 0, P * K, P * K);
            this.im2col(node, n, "gradient");
          }
          this.colsOwner = null;
          this.gemm(dy, this.colsAt, node.p.dw, co, K, P, true, false, `${node.name} weight gradient`, "gradient");
          this.biasGrad(dy, P, co, node.p.db, `${node.name} bias gradient`);
          if (needDx) {
            // dcols = dY W (into the patch buffer, no longer needed), then scattered back.
            this.gemm(dy, node.p.w, this.colsAt, P, K, co, false, false, `${node.name} input error`, "product");
            this.count(`${node.name} col2im`, "add", P * K, P * K, n * h * w * c);
            const dx = other(dy);
            const started = this.clock();
            const status = abi.f32_col2im(this.colsAt, n, h, w, c, node.kh, node.kw, node.sh, node.sw, node.ph, node.pw, dx);
            this.lap(started, `${node.name} col2im`, "product");
            checkStatus(status, `${node.name} col2im`);
            dy = dx;
          }
          break;
        }
        case "dense": {
          const U = node.rows, F = node.cols;
          if (node.relu) {
            this.count(`${node.name} backward`, "mask", n * U, 2 * n * U, n * U);
            this.reluBackward(node.y, dy, n * U, `${node.name} backward`);
          }
          this.gemm(dy, node.x, node.p.dw, U, F, n, true, false, `${node.name} weight gradient`, "gradient");
          this.biasGrad(dy, n, U, node.p.db, `${node.name} bias gradient`);
          if (needDx) {
            const dx = other(dy);
            this.gemm(dy, node.p.w, dx, n, F, U, false, false, `${node.name} input error`, "product");
            dy = dx;
          }
          break;
        }
        case "relu":
          if (!node.fused) {
            const e = n * sizeOf(node.inShape);
            this.count(`${node.name} backward`, "mask", e, 2 * e, e);
            this.reluBackward(node.y, dy, e, `${node.name} backward`);
          }
          break;
        case "maxPool": case "avgPool": {
          const [h, w, c] = node.inShape;
          const inN = n * h * w * c;
          this.count(`${node.name} backward`, node.kind === "maxPool" ? "compare" : "add", inN, 2 * inN, inN);
          const dx = other(dy);
          const started = this.clock();
          const status = node.kind === "maxPool"
            ? abi.f32_max_pool_backward(node.x, n, h, w, c, node.kh, node.kw, node.sh, node.sw, dy, dx)
            : abi.f32_avg_pool_backward(dy, n, h, w, c, node.kh, node.kw, node.sh, node.sw, dx);
          this.lap(started, `${node.name} backward`, "pool");
          checkStatus(status, `${node.name} backward`);
          dy = dx;
          break;
        }
        case "flatten":
          break;
      }
    }
  }

  /** dy *= (y > 0), in place. */
  private reluBackward(y: number, dy: number, elements: number, what: string): void {
    const started = this.clock();
    this.abi.f32_relu_backward(y, dy, elements, dy);
    this.lap(started, what, "relu");
  }

  /** db = the column sums of a rows x cols dy, counted as one add per element. */
  private biasGrad(dy: number, rows: number, cols: number, db: number, what: string): void {
    this.count(what, "add", rows * cols, rows * cols, cols);
    const started = this.clock();
    this.abi.f32_bias_grad(dy, rows, cols, db);
    this.lap(started, what, "gradient");
  }

  private loss(logits: number, n: number, withGradient: boolean): BatchResult {
    this.count("loss", "exp", n * this.classes, n * this.classes, withGradient ? n * this.classes : 0);
    const started = this.clock();
    const status = this.abi.f32_softmax_xent(logits, n, this.classes, this.labelsAt, withGradient ? this.dlogitsAt : 0, this.lossAt);
    this.lap(started, "loss", "loss");
    checkStatus(status, "softmax cross-entropy");
    const mem = this.abi.memory.buffer;
    return { loss: new Float64Array(mem, this.lossAt, 1)[0], correct: new Int32Array(mem, this.lossAt + 8, 1)[0] };
  }

  private weighted(): Extract<Node, { p: Weighted }>[] {
    return this.nodes.filter(isWeighted);
  }

  /** Forward, loss and backward on a full batch, leaving the gradients in place (no update). */
  private computeGradients(images: Float32Array, labels: Uint8Array, what: string): BatchResult {
    if (labels.length !== this.batch) throw new RangeError(`${what}: expected ${this.batch} labels, got ${labels.length}`);
    const started = this.clock();
    this.loadImages(images, this.batch, what);
    this.loadLabels(labels, this.batch, what);
    this.lap(started, "input", "input");
    const r = this.loss(this.forward(this.batch), this.batch, true);
    this.backward(this.batch);
    return r;
  }

  trainStep(images: Float32Array, labels: Uint8Array, lr: number): BatchResult {
    if (!Number.isFinite(lr) || lr < 0) throw new RangeError(`trainStep: lr must be a finite number >= 0, got ${lr}`);
    const r = this.computeGradients(images, labels, "trainStep");
    if (lr > 0) {
      for (const l of this.weighted()) {
        const n = l.rows * l.cols;
        this.count(`${l.name} weight update`, "multiplyAdd", n, 2 * n, n);
        let started = this.clock();
        this.abi.f32_sgd(l.p.w, l.p.dw, n, lr);
        this.lap(started, `${l.name} weight update`, "update");
        this.count(`${l.name} bias update`, "multiplyAdd", l.rows, 2 * l.rows, l.rows);
        started = this.clock();
        this.abi.f32_sgd(l.p.b, l.p.db, l.rows, lr);
        this.lap(started, `${l.name} bias update`, "update");
      }
    }
    return r;
  }

  evaluate(images: Float32Array, labels: Uint8Array, count: number): BatchResult {
    this.loadImages(images, count, "evaluate");
    this.loadLabels(labels, count, "evaluate");
    return this.loss(this.forward(count), count, false);
  }

  /** Float64 logits of `count <= batch` samples (row-major count x classes). */
  predict(images: Float32Array, count: number): Float64Array {
    this.loadImages(images, count, "predict");
    return Float64Array.from(this.view(this.forward(count), count * this.classes));
  }

  /** Mean loss and the gradient of every weighted layer on a full batch, without updating. */
  gradients(images: Float32Array, labels: Uint8Array): BatchResult & { grads: Record<string, { w: Float32Array; b: Float32Array }> } {
    const r = this.computeGradients(images, labels, "gradients");
    const grads: Record<string, { w: Float32Array; b: Float32Array }> = {};
    for (const l of this.weighted()) grads[l.name] = { w: this.view(l.p.dw, l.rows * l.cols).slice(), b: this.view(l.p.db, l.rows).slice() };
    return { ...r, grads };
  }

  /** A copy of each weighted layer's W (rows x cols: outputs x fan-in, conv fan-in in (ky, kx, c)
   *  order) and bias. */
  parameters(): Record<string, { rows: number; cols: number; w: Float32Array; b: Float32Array }> {
    const out: Record<string, { rows: number; cols: number; w: Float32Array; b: Float32Array }> = {};
    for (const l of this.weighted()) {
      out[l.name] = { rows: l.rows, cols: l.cols, w: this.view(l.p.w, l.rows * l.cols).slice(), b: this.view(l.p.b, l.rows).slice() };
    }
    return out;
  }

  /** Replaces a weighted layer's W and/or bias. */
  setParameters(layer: string, values: { w?: ArrayLike<number>; b?: ArrayLike<number> }): void {
    const l = this.weighted().find((x) => x.name === layer);
    if (!l) throw new RangeError(`no weighted layer named ${JSON.stringify(layer)}`);
    const { rows, cols } = l;
    if (values.w) {
      if (values.w.length !== rows * cols) throw new RangeError(`${layer}: expected ${rows * cols} weights, got ${values.w.length}`);
      this.view(l.p.w, rows * cols).set(values.w);
    }
    if (values.b) {
      if (values.b.length !== rows) throw new RangeError(`${layer}: expected ${rows} biases, got ${values.b.length}`);
      this.view(l.p.b, rows).set(values.b);
    }
  }

  layers(): LayerInfo[] {
    return this.nodes.map((l) => ({
      name: l.name,
      kind: l.kind,
      parameters: isWeighted(l) ? l.rows * l.cols + l.rows : 0,
      outputShape: [this.batch, ...l.outShape],
    }));
  }

  weightBits(): Record<string, number> {
    return Object.fromEntries(this.weighted().map((l) => [l.name, 32]));
  }

  weightCounts(): Record<string, number> {
    return Object.fromEntries(this.weighted().map((l) => [l.name, l.rows * l.cols]));
  }

  /** SHA-256 over, per weighted layer: [32, 0, rows, cols] as i32, W and bias as f32 (little-endian,
   *  wasm memory order), mirroring the integer learner's [bits, exp, rows, cols] + codes. */
  async modelSha256(): Promise<string> {
    const parts: Uint8Array[] = [];
    for (const l of this.weighted()) {
      const { rows, cols } = l;
      parts.push(new Uint8Array(new Int32Array([32, 0, rows, cols]).buffer));
      parts.push(new Uint8Array(this.abi.memory.buffer, l.p.w, rows * cols * 4).slice());
      parts.push(new Uint8Array(this.abi.memory.buffer, l.p.b, rows * 4).slice());
    }
    return sha256Hex(parts);
  }
}
