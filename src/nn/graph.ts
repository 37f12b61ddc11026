// A model as declared (plain data) and as resolved: every layer's per-sample shapes and validated
// geometry, derived here once for every trainer. The integer layers (src/nn/layers/) and the fp32
// baseline (src/baselines/fp32/) both take their shapes, windows and weight sizes from these rules,
// so an output size, a refused kernel or an error message cannot differ between the two.

/** One number for both axes, or [height, width]. */
export type Pair = number | [number, number];

export interface Conv2dOptions {
  filters: number;
  kernel: Pair;
  stride?: Pair;
  padding?: Pair;
  relu?: boolean;
  name?: string;
}

export interface DenseOptions {
  units: number;
  relu?: boolean;
  name?: string;
}

export interface PoolOptions {
  size: Pair;
  stride?: Pair;
  name?: string;
}

/** A layer as declared: plain data, so that every trainer (integer, fp32) builds its own. */
export type LayerSpec =
  | ({ type: "conv2d" } & Conv2dOptions)
  | ({ type: "dense" } & DenseOptions)
  | { type: "relu"; name?: string }
  | ({ type: "maxPool" | "avgPool" } & PoolOptions)
  | { type: "flatten"; name?: string };

export interface ModelDefinition {
  name: string;
  /** Per-sample input shape [H, W, C] or [F]. */
  input: number[];
  classes: number;
  layers: LayerSpec[];
}

/** The default name of layer `index`: its type and position. */
export function layerName(spec: LayerSpec, index: number): string {
  return spec.name ?? `${spec.type.toLowerCase()}${index}`;
}

// ---- a layer's arguments ---------------------------------------------------------------------

/** A conv2d layer's validated arguments: filters, kernel kh x kw, stride, zero padding. */
export interface ConvGeometry {
  filters: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

/** A pooling layer's validated window kh x kw and stride (no padding). */
export interface PoolWindow {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
}

/** `v` as [height, width]; an omitted value is `fallback` on both axes (a pool window has none:
 *  left out, it is refused below as not a positive integer). */
function pair(v: Pair | undefined, fallback?: number): [number, number] {
  if (v === undefined) return [fallback as number, fallback as number];
  return typeof v === "number" ? [v, v] : v;
}

/** Refuses any value that is not an integer >= min, naming the layer and the argument. */
function checkIntegers(name: string, values: Record<string, number>, min: 0 | 1): void {
  for (const [k, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`${name}: ${k} must be ${min > 0 ? "a positive" : "a non-negative"} integer, got ${v}`);
    }
  }
}

export function convGeometry(o: Conv2dOptions, name: string): ConvGeometry {
  const [kh, kw] = pair(o.kernel, 1), [sh, sw] = pair(o.stride, 1), [ph, pw] = pair(o.padding, 0);
  checkIntegers(name, { filters: o.filters, "kernel height": kh, "kernel width": kw, "stride height": sh, "stride width": sw }, 1);
  checkIntegers(name, { "padding height": ph, "padding width": pw }, 0);
  return { filters: o.filters, kh, kw, sh, sw, ph, pw };
}

export function poolWindow(o: PoolOptions, name: string): PoolWindow {
  const [kh, kw] = pair(o.size), [sh, sw] = pair(o.stride ?? o.size);
  checkIntegers(name, { "window height": kh, "window width": kw, "stride height": sh, "stride width": sw }, 1);
  return { kh, kw, sh, sw };
}

export function checkUnits(units: number, name: string): number {
  checkIntegers(name, { units }, 1);
  return units;
}

// ---- a layer's shapes ------------------------------------------------------------------------
// Shapes are per sample ([H, W, C] or [F]); `batch` only states them in messages as the layers
// see them, [N, ...] (a number, or "N" when the graph is resolved for no batch in particular).

export type Batch = number | "N";

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const stated = (batch: Batch, sample: readonly number[]): string => `[${[batch, ...sample].join(", ")}]`;

/** A weighted layer's output shape and its weight matrix: rows (outputs) x cols (fan-in). */
export interface Resolved {
  output: number[];
  rows: number;
  cols: number;
}

function image(name: string, input: readonly number[], batch: Batch): [number, number, number] {
  if (input.length !== 3) throw new RangeError(`${name}: input must be [N, H, W, C], got ${stated(batch, input)}`);
  return [input[0], input[1], input[2]];
}

/** Output positions of a window sliding over an h x w image (padded by ph, pw on each side). */
function slide(name: string, what: "kernel" | "window", g: PoolWindow, h: number, w: number, ph = 0, pw = 0): [number, number] {
  const hp = h + 2 * ph, wp = w + 2 * pw;
  if (g.kh > hp || g.kw > wp) {
    throw new RangeError(`${name}: ${what} ${g.kh}x${g.kw} is larger than the ${what === "kernel" ? "padded " : ""}input ${hp}x${wp}`);
  }
  return [Math.floor((hp - g.kh) / g.sh) + 1, Math.floor((wp - g.kw) / g.sw) + 1];
}

export function resolveConv2d(name: string, g: ConvGeometry, input: readonly number[], batch: Batch): Resolved {
  const [h, w, c] = image(name, input, batch);
  const [oh, ow] = slide(name, "kernel", g, h, w, g.ph, g.pw);
  return { output: [oh, ow, g.filters], rows: g.filters, cols: g.kh * g.kw * c };
}

/** An [F] input, or an [H, W, C] one read NHWC-flat as H*W*C features. */
export function resolveDense(name: string, units: number, input: readonly number[], batch: Batch): Resolved {
  if (input.length !== 1 && input.length !== 3) {
    throw new RangeError(`${name}: input must be [N, F] or [N, H, W, C], got ${stated(batch, input)}`);
  }
  return { output: [units], rows: units, cols: sizeOf(input) };
}

export function resolvePool(name: string, g: PoolWindow, input: readonly number[], batch: Batch): number[] {
  const [h, w, c] = image(name, input, batch);
  return [...slide(name, "window", g, h, w), c];
}

// ---- the whole model -------------------------------------------------------------------------

interface NodeBase {
  name: string;
  index: number;
  /** Per-sample shapes: [H, W, C] or [F]. */
  inShape: number[];
  outShape: number[];
}

/** One resolved layer (`spec`: its declaration, where a trainer builds from it). A weighted
 *  layer's `relu` includes a standalone ReLU right after it that fuses into its output stage (and
 *  its scale); that ReLU is `fused` and has nothing left to do in forward. */
export type GraphNode = NodeBase & (
  | ({ kind: "conv2d"; spec: Extract<LayerSpec, { type: "conv2d" }>; relu: boolean; rows: number; cols: number } & ConvGeometry)
  | { kind: "dense"; units: number; relu: boolean; rows: number; cols: number }
  | { kind: "relu"; fused: boolean }
  | ({ kind: "maxPool" | "avgPool"; spec: Extract<LayerSpec, { type: "maxPool" | "avgPool" }> } & PoolWindow)
  | { kind: "flatten" }
);

export type WeightedNode = Extract<GraphNode, { kind: "conv2d" | "dense" }>;

/** Whether a node (or a trainer's node built on one) is conv2d or dense. */
export function isWeighted<T extends GraphNode>(node: T): node is Extract<T, WeightedNode> {
  return node.kind === "conv2d" || node.kind === "dense";
}

/** One layer resolved on its per-sample input: its arguments checked, then its shapes. */
function resolveNode(spec: LayerSpec, index: number, inShape: number[], batch: Batch): GraphNode {
  const name = layerName(spec, index);
  const at = { name, index, inShape };
  switch (spec.type) {
    case "conv2d": {
      const g = convGeometry(spec, name);
      const r = resolveConv2d(name, g, inShape, batch);
      return { ...at, outShape: r.output, kind: "conv2d", spec, ...g, relu: spec.relu ?? false, rows: r.rows, cols: r.cols };
    }
    case "dense": {
      const r = resolveDense(name, checkUnits(spec.units, name), inShape, batch);
      return { ...at, outShape: r.output, kind: "dense", units: spec.units, relu: spec.relu ?? false, rows: r.rows, cols: r.cols };
    }
    case "maxPool": case "avgPool": {
      const g = poolWindow(spec, name);
      return { ...at, outShape: resolvePool(name, g, inShape, batch), kind: spec.type, spec, ...g };
    }
    case "relu":
      return { ...at, outShape: [...inShape], kind: "relu", fused: false };
    case "flatten":
      return { ...at, outShape: [sizeOf(inShape)], kind: "flatten" };
    default:
      throw new RangeError(`unknown layer type ${JSON.stringify((spec as { type: unknown }).type)} at position ${index}`);
  }
}

/**
 * Every layer of `def` with its per-sample shapes and validated geometry, or a RangeError naming
 * the model or layer at fault: the input shape first, then layer by layer its arguments and
 * shapes, last the logits against the classes.
 */
export function resolveGraph(def: ModelDefinition, batch: Batch = "N"): GraphNode[] {
  if (def.input.length === 0 || def.input.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new RangeError(`${def.name}: input shape [${def.input.join(", ")}] must have positive integer dimensions`);
  }
  if (def.input.length !== 1 && def.input.length !== 3) {
    throw new RangeError(`${def.name}: input shape must be [F] or [H, W, C], got [${def.input.join(", ")}]`);
  }
  const nodes: GraphNode[] = [];
  let shape = [...def.input];
  def.layers.forEach((spec, index) => {
    const node = resolveNode(spec, index, shape, batch);
    // A ReLU right after conv2d/dense without its own is fused into that layer's output stage.
    const prev = nodes[nodes.length - 1];
    if (node.kind === "relu" && prev !== undefined && isWeighted(prev) && !prev.relu) {
      prev.relu = true;
      node.fused = true;
    }
    nodes.push(node);
    shape = node.outShape;
  });
  if (shape.length !== 1 || shape[0] !== def.classes) {
    const perBatch = batch === "N" ? "" : ` (${stated(batch, shape)} for a batch of ${batch}, not ${stated(batch, [def.classes])})`;
    throw new RangeError(`${def.name}: the last layer gives [${shape.join(", ")}] per sample, expected [${def.classes}] logits${perBatch}`);
  }
  return nodes;
}
