// Checking a ModelDefinition that arrived as data (a model file's JSON section) before anything is
// built from it, and inferring the weighted layers it produces. First every field's type and range
// (reported here, at the field's path), then the shapes by the rules every trainer uses
// (src/nn/graph.ts): what a kernel or window may cover and what it outputs is decided there once.
// Every dimension is bounded before the next layer's shapes are taken, so a hostile definition can
// neither allocate nor overflow: the Model constructor (which allocates initial codes of rows*cols)
// only ever sees a definition whose weight shapes have already been matched against weight bytes
// present in the file. The loader builds the real Model afterwards and compares its weighted layers
// with this result, so a drift between the two is reported, never silently trusted.
import {
  convGeometry, layerName, poolWindow, resolveConv2d, resolveDense, resolvePool, type LayerSpec, type ModelDefinition,
} from "../nn/graph.js";

/** Bounds on what a definition may declare (docs/model-file.md, "Limits"). */
export const DEFINITION_LIMITS = {
  /** Layers in the definition (weighted or not). */
  layers: 1024,
  /** Any single dimension, and the elements of any per-sample tensor and of any weight row. */
  dim: 2 ** 24,
  /** Characters of the model's and of each layer's name. */
  nameChars: 256,
  /** Classes: the loader reports the predicted class as a byte. */
  classes: 256,
} as const;

/** A weighted layer (conv2d or dense) as the definition produces it: W is rows x cols. */
export interface WeightedShape {
  /** Position in definition.layers. */
  index: number;
  name: string;
  kind: "conv2d" | "dense";
  rows: number;
  cols: number;
}

/** Called with the path of the offending value (e.g. "layers[3].units") and what is wrong. */
export type Fail = (path: string, detail: string) => never;

const LAYER_KEYS: Record<LayerSpec["type"], readonly string[]> = {
  conv2d: ["type", "name", "filters", "kernel", "stride", "padding", "relu"],
  dense: ["type", "name", "units", "relu"],
  relu: ["type", "name"],
  maxPool: ["type", "name", "size", "stride"],
  avgPool: ["type", "name", "size", "stride"],
  flatten: ["type", "name"],
};

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === "number") return String(v);
  return typeof v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `path.key`, with a key that is not a short identifier quoted and cut (it came from the file). */
export function keyPath(path: string, key: string): string {
  const k = /^[A-Za-z_$][\w$]{0,39}$/.test(key) ? key : JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key);
  return path === "" ? k : `${path}.${k}`;
}

export function checkKeys(o: Record<string, unknown>, allowed: readonly string[], path: string, fail: Fail): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(keyPath(path, k), `unknown property (allowed: ${allowed.join(", ")})`);
  }
}

function integer(v: unknown, min: number, path: string, fail: Fail): number {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(path, `must be an integer, got ${describe(v)}`);
  const n = v as number;
  if (n < min || n > DEFINITION_LIMITS.dim) fail(path, `must be in ${min}..${DEFINITION_LIMITS.dim}, got ${n}`);
  return n;
}

/** A number or a [height, width] pair of integers >= min; undefined keeps the default. */
function pair(v: unknown, min: number, fallback: [number, number] | null, path: string, fail: Fail): [number, number] {
  if (v === undefined && fallback) return fallback;
  if (Array.isArray(v)) {
    if (v.length !== 2) fail(path, `must be a number or a [height, width] pair, got an array of ${v.length}`);
    return [integer(v[0], min, `${path}[0]`, fail), integer(v[1], min, `${path}[1]`, fail)];
  }
  const n = integer(v, min, path, fail);
  return [n, n];
}

function name(v: unknown, path: string, fail: Fail): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length === 0 || v.length > DEFINITION_LIMITS.nameChars) {
    fail(path, `must be a string of 1..${DEFINITION_LIMITS.nameChars} characters, got ${describe(v)}`);
  }
  return v as string;
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Layer `i`'s own fields, checked and rebuilt from the checked values only (keeping the
 *  number-or-pair form of the input). Its shapes are not looked at here. */
function checkLayer(raw: unknown, i: number, fail: Fail): LayerSpec {
  const path = `layers[${i}]`;
  if (!isRecord(raw)) fail(path, `must be an object with a "type", got ${describe(raw)}`);
  const s = raw as Record<string, unknown>;
  const type = s.type;
  if (typeof type !== "string" || !Object.hasOwn(LAYER_KEYS, type)) {
    fail(`${path}.type`, `unknown layer type ${describe(type)} (known: ${Object.keys(LAYER_KEYS).join(", ")})`);
  }
  const t = type as LayerSpec["type"];
  checkKeys(s, LAYER_KEYS[t], path, fail);
  const n = name(s.name, `${path}.name`, fail);
  if (s.relu !== undefined && typeof s.relu !== "boolean") fail(`${path}.relu`, `must be a boolean, got ${describe(s.relu)}`);
  const relu = s.relu as boolean | undefined;
  const form = (v: unknown, p: [number, number]): number | [number, number] => (Array.isArray(v) ? [p[0], p[1]] : p[0]);
  switch (t) {
    case "dense":
      return { type: t, units: integer(s.units, 1, `${path}.units`, fail), ...(relu !== undefined && { relu }), ...(n !== undefined && { name: n }) };
    case "conv2d": {
      const filters = integer(s.filters, 1, `${path}.filters`, fail);
      const kernel = pair(s.kernel, 1, null, `${path}.kernel`, fail);
      const stride = pair(s.stride, 1, [1, 1], `${path}.stride`, fail);
      const padding = pair(s.padding, 0, [0, 0], `${path}.padding`, fail);
      return {
        type: t, filters, kernel: form(s.kernel, kernel),
        ...(s.stride !== undefined && { stride: form(s.stride, stride) }),
        ...(s.padding !== undefined && { padding: form(s.padding, padding) }),
        ...(relu !== undefined && { relu }), ...(n !== undefined && { name: n }),
      };
    }
    case "maxPool": case "avgPool": {
      const size = pair(s.size, 1, null, `${path}.size`, fail);
      const stride = pair(s.stride, 1, size, `${path}.stride`, fail);
      return {
        type: t, size: form(s.size, size),
        ...(s.stride !== undefined && { stride: form(s.stride, stride) }),
        ...(n !== undefined && { name: n }),
      };
    }
    case "relu": case "flatten":
      return { type: t, ...(n !== undefined && { name: n }) };
  }
}

/** A layer's per-sample output shape (and a weighted layer's W, rows x cols) on `input`, by
 *  graph.ts's rules; a shape they refuse is a RangeError naming the layer. */
function layerShapes(spec: LayerSpec, name: string, input: number[]): { output: number[]; rows?: number; cols?: number } {
  switch (spec.type) {
    case "conv2d": return resolveConv2d(name, convGeometry(spec, name), input, "N");
    case "dense": return resolveDense(name, spec.units, input, "N");
    case "maxPool": case "avgPool": return { output: resolvePool(name, poolWindow(spec, name), input, "N") };
    case "relu": return { output: [...input] };
    case "flatten": return { output: [elements(input)] };
  }
}

/**
 * Checks `value` as a ModelDefinition and returns a fresh copy built only from the checked fields
 * (no stray properties, no prototypes from the input), with its weighted layers in order.
 * Per-sample shapes: [F] or [H, W, C]; every dimension and every tensor's element count stays
 * within DEFINITION_LIMITS.dim, so the products in the shape rules are exact doubles.
 */
export function checkDefinition(value: unknown, fail: Fail): { definition: ModelDefinition; weighted: WeightedShape[] } {
  if (!isRecord(value)) fail("", `must be an object { name, input, classes, layers }, got ${describe(value)}`);
  const o = value as Record<string, unknown>;
  checkKeys(o, ["name", "input", "classes", "layers"], "", fail);
  if (typeof o.name !== "string" || o.name.length === 0 || o.name.length > DEFINITION_LIMITS.nameChars) {
    fail("name", `must be a string of 1..${DEFINITION_LIMITS.nameChars} characters, got ${describe(o.name)}`);
  }
  if (!Array.isArray(o.input) || (o.input.length !== 1 && o.input.length !== 3)) {
    fail("input", `must be [features] or [height, width, channels], got ${describe(o.input)}${Array.isArray(o.input) ? ` of ${o.input.length}` : ""}`);
  }
  const input = (o.input as unknown[]).map((d, i) => integer(d, 1, `input[${i}]`, fail));
  if (elements(input) > DEFINITION_LIMITS.dim) fail("input", `[${input.join(", ")}] has more than ${DEFINITION_LIMITS.dim} elements per sample`);
  if (typeof o.classes !== "number" || !Number.isInteger(o.classes) || o.classes < 1 || o.classes > DEFINITION_LIMITS.classes) {
    fail("classes", `must be an integer in 1..${DEFINITION_LIMITS.classes}, got ${describe(o.classes)}`);
  }
  const classes = o.classes as number;
  if (!Array.isArray(o.layers)) fail("layers", `must be an array, got ${describe(o.layers)}`);
  const specs = o.layers as unknown[];
  if (specs.length > DEFINITION_LIMITS.layers) fail("layers", `has ${specs.length} layers, more than ${DEFINITION_LIMITS.layers}`);

  // The fields, every layer's before any shape: a wrong value is reported at its own path, so
  // graph.ts's rules below only ever see integers in range.
  const names = new Map<string, number>();
  const layers = specs.map((raw, i) => {
    const spec = checkLayer(raw, i, fail);
    const full = layerName(spec, i);
    const other = names.get(full);
    if (other !== undefined) fail(`layers[${i}].name`, `layer name ${JSON.stringify(full)} is also the name of layers[${other}]`);
    names.set(full, i);
    return spec;
  });

  // The shapes, layer by layer, each bounded before the next is taken from it.
  const weighted: WeightedShape[] = [];
  let shape: number[] = input;
  layers.forEach((spec, i) => {
    const at = `layers[${i}] (${spec.type})`;
    const full = layerName(spec, i);
    let r: ReturnType<typeof layerShapes>;
    try {
      r = layerShapes(spec, full, shape);
    } catch (e) {
      if (e instanceof RangeError) fail(at, e.message);
      throw e;
    }
    if (spec.type === "conv2d" && (r.cols as number) > DEFINITION_LIMITS.dim) {
      fail(at, `a filter of ${r.cols} weights (kernel by ${shape[2]} input channels) is more than ${DEFINITION_LIMITS.dim}`);
    }
    shape = r.output;
    if (shape.some((d) => d > DEFINITION_LIMITS.dim) || elements(shape) > DEFINITION_LIMITS.dim) {
      fail(at, `output [${shape.join(", ")}] has more than ${DEFINITION_LIMITS.dim} elements per sample`);
    }
    if (spec.type === "conv2d" || spec.type === "dense") {
      weighted.push({ index: i, name: full, kind: spec.type, rows: r.rows as number, cols: r.cols as number });
    }
  });
  if (shape.length !== 1 || shape[0] !== classes) {
    fail("layers", `the last layer gives [${shape.join(", ")}] per sample, expected [${classes}] logits (classes)`);
  }
  return { definition: { name: o.name as string, input, classes, layers }, weighted };
}
