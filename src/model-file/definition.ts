// Checking a ModelDefinition that arrived as data (a model file's JSON section) before anything is
// built from it, and inferring the weighted layers it produces. The inference is plain arithmetic
// with every dimension bounded, so a hostile definition can neither allocate nor overflow: the
// Model constructor (which allocates initial codes of rows*cols) only ever sees a definition whose
// weight shapes have already been matched against weight bytes present in the file.
//
// The arithmetic mirrors the layers' own checkInput/setup (src/nn/layers/*); the loader builds the
// real Model afterwards and compares its weighted layers with this result, so a drift between the
// two is reported, never silently trusted.
import { layerName, type LayerSpec, type ModelDefinition } from "../nn/model.js";

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

/**
 * Checks `value` as a ModelDefinition and returns a fresh copy built only from the checked fields
 * (no stray properties, no prototypes from the input), with its weighted layers in order.
 * Per-sample shapes: [F] or [H, W, C]; every dimension and every tensor's element count stays
 * within DEFINITION_LIMITS.dim, so the products below are exact doubles.
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

  const layers: LayerSpec[] = [];
  const weighted: WeightedShape[] = [];
  const names = new Map<string, number>();
  let shape: number[] = input;
  specs.forEach((raw, i) => {
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
    const at = `${path} (${t})`;
    let spec: LayerSpec;
    switch (t) {
      case "dense": {
        const units = integer(s.units, 1, `${path}.units`, fail);
        if (shape.length !== 1 && shape.length !== 3) fail(at, `input must be [F] or [H, W, C], got [${shape.join(", ")}]`);
        const cols = elements(shape);
        spec = { type: t, units, ...(relu !== undefined && { relu }), ...(n !== undefined && { name: n }) };
        weighted.push({ index: i, name: layerName(spec, i), kind: "dense", rows: units, cols });
        shape = [units];
        break;
      }
      case "conv2d": {
        const filters = integer(s.filters, 1, `${path}.filters`, fail);
        const [kh, kw] = pair(s.kernel, 1, null, `${path}.kernel`, fail);
        const [sh, sw] = pair(s.stride, 1, [1, 1], `${path}.stride`, fail);
        const [ph, pw] = pair(s.padding, 0, [0, 0], `${path}.padding`, fail);
        if (shape.length !== 3) fail(at, `input must be [H, W, C], got [${shape.join(", ")}]`);
        const [h, w, c] = shape;
        const hp = h + 2 * ph, wp = w + 2 * pw;
        if (kh > hp || kw > wp) fail(at, `kernel ${kh}x${kw} is larger than the padded input ${hp}x${wp}`);
        const cols = kh * kw * c;
        if (cols > DEFINITION_LIMITS.dim) fail(at, `kernel ${kh}x${kw}x${c} has more than ${DEFINITION_LIMITS.dim} weights per filter`);
        // Rebuilt from the checked values, keeping the number-or-pair form of the input.
        const form = (v: unknown, p: [number, number]): number | [number, number] => (Array.isArray(v) ? [p[0], p[1]] : p[0]);
        spec = {
          type: t, filters, kernel: form(s.kernel, [kh, kw]),
          ...(s.stride !== undefined && { stride: form(s.stride, [sh, sw]) }),
          ...(s.padding !== undefined && { padding: form(s.padding, [ph, pw]) }),
          ...(relu !== undefined && { relu }), ...(n !== undefined && { name: n }),
        };
        weighted.push({ index: i, name: layerName(spec, i), kind: "conv2d", rows: filters, cols });
        shape = [Math.floor((hp - kh) / sh) + 1, Math.floor((wp - kw) / sw) + 1, filters];
        break;
      }
      case "maxPool": case "avgPool": {
        const size = pair(s.size, 1, null, `${path}.size`, fail);
        const stride = pair(s.stride, 1, size, `${path}.stride`, fail);
        if (shape.length !== 3) fail(at, `input must be [H, W, C], got [${shape.join(", ")}]`);
        const [h, w, c] = shape;
        if (size[0] > h || size[1] > w) fail(at, `window ${size[0]}x${size[1]} is larger than the input ${h}x${w}`);
        spec = {
          type: t, size: Array.isArray(s.size) ? [size[0], size[1]] : size[0],
          ...(s.stride !== undefined && { stride: Array.isArray(s.stride) ? [stride[0], stride[1]] as [number, number] : stride[0] }),
          ...(n !== undefined && { name: n }),
        };
        shape = [Math.floor((h - size[0]) / stride[0]) + 1, Math.floor((w - size[1]) / stride[1]) + 1, c];
        break;
      }
      case "relu":
        spec = { type: t, ...(n !== undefined && { name: n }) };
        break;
      case "flatten":
        spec = { type: t, ...(n !== undefined && { name: n }) };
        shape = [elements(shape)];
        break;
    }
    if (shape.some((d) => d > DEFINITION_LIMITS.dim) || elements(shape) > DEFINITION_LIMITS.dim) {
      fail(at, `output [${shape.join(", ")}] has more than ${DEFINITION_LIMITS.dim} elements per sample`);
    }
    const full = layerName(spec, i);
    const other = names.get(full);
    if (other !== undefined) fail(`${path}.name`, `layer name ${JSON.stringify(full)} is also the name of layers[${other}]`);
    names.set(full, i);
    layers.push(spec);
  });
  if (shape.length !== 1 || shape[0] !== classes) {
    fail("layers", `the last layer gives [${shape.join(", ")}] per sample, expected [${classes}] logits (classes)`);
  }
  return { definition: { name: o.name as string, input, classes, layers }, weighted };
}
