// The checks behind docs/report.md: what a valid report.json holds, field by field, plus the
// cross-field rules that catch a trainer logging inconsistently (a width change that skips a
// decision, a curve point past the last step). Hand-written so that the report has no dependency.
import { MAX_BITS, MIN_BITS } from "../format/packed.js";
import type { TrainReport } from "../learner/run-report.js";
import type { EnergyReport } from "../energy/energy.js";

export const REPORT_VERSION = 1;
/** The width finalBits/bitsTimeline give a layer trained in float (fp32 reference policy). */
export const FLOAT_BITS = 32;

/** Float policies keep float weights: their widths are 32, and they make no precision decisions. */
export function isFloatPolicy(policy: string): boolean {
  return /^(fp|float)/i.test(policy);
}

/** Optional sections a report may carry (the memory and energy accounts); key/value objects, with
 *  the known fields of an energy account (src/energy/energy.ts) checked when present. */
export interface ReportExtras {
  memory?: Record<string, unknown>;
  energy?: EnergyReport | Record<string, unknown>;
}

export type ReportWithExtras = TrainReport & ReportExtras;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return String(v);
}

/** Collects problems as "path: expected ..., got ..." lines. */
class Checker {
  readonly problems: string[] = [];

  fail(path: string, expected: string, got: unknown): void {
    this.problems.push(`${path}: expected ${expected}, got ${describe(got)}`);
  }

  note(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  string(o: Obj, key: string, path: string): string | undefined {
    const v = o[key];
    if (typeof v !== "string" || v.length === 0) { this.fail(path, "a non-empty string", v); return undefined; }
    return v;
  }

  /** A finite number in [min, max] (either bound optional), or an integer when `integer`. */
  number(v: unknown, path: string, range: { min?: number; max?: number; integer?: boolean; above?: number }): number | undefined {
    const { min, max, integer, above } = range;
    const what = integer ? "an integer" : "a finite number";
    const bounds =
      above !== undefined ? ` > ${above}` :
      min !== undefined && max !== undefined ? ` in ${min}..${max}` :
      min !== undefined ? ` >= ${min}` : max !== undefined ? ` <= ${max}` : "";
    const ok = typeof v === "number" && Number.isFinite(v) && (!integer || Number.isInteger(v)) &&
      (min === undefined || v >= min) && (max === undefined || v <= max) && (above === undefined || v > above);
    if (!ok) { this.fail(path, what + bounds, v); return undefined; }
    return v as number;
  }

  array(o: Obj, key: string, path: string): unknown[] {
    const v = o[key];
    if (!Array.isArray(v)) { this.fail(path, "an array", v); return []; }
    return v;
  }

  object(o: Obj, key: string, path: string): Obj | undefined {
    const v = o[key];
    if (!isObject(v)) { this.fail(path, "an object", v); return undefined; }
    return v;
  }
}

/**
 * Every problem with `x` as a report.json (docs/report.md), one line each naming the field;
 * an empty list means valid. Unknown extra fields are allowed (later versions add sections).
 */
export function validateReport(x: unknown): string[] {
  const ck = new Checker();
  if (!isObject(x)) { ck.fail("report", "an object", x); return ck.problems; }

  if (x.version !== REPORT_VERSION) ck.fail("version", String(REPORT_VERSION), x.version);
  ck.string(x, "model", "model");
  ck.string(x, "dataset", "dataset");
  const policy = ck.string(x, "policy", "policy");
  ck.string(x, "isa", "isa");
  ck.object(x, "config", "config");
  ck.number(x.accuracy, "accuracy", { min: 0, max: 1 });
  const steps = ck.number(x.steps, "steps", { min: 0, integer: true });
  const maxStep = steps ?? Number.MAX_SAFE_INTEGER;
  const floatPolicy = policy !== undefined && isFloatPolicy(policy);

  /** A step number inside the run, and not before the previous one of its list. */
  const stepIn = (v: unknown, path: string, prev: { step: number }): void => {
    const s = ck.number(v, path, { min: 0, max: maxStep, integer: true });
    if (s === undefined) return;
    if (s < prev.step) ck.note(path, `${s} comes after step ${prev.step}: entries must be in step order`);
    prev.step = s;
  };

  // Curves: training loss/accuracy and per-epoch evaluations.
  for (const key of ["loss", "evaluations"] as const) {
    const prev = { step: 0 };
    ck.array(x, key, key).forEach((p, i) => {
      const path = `${key}[${i}]`;
      if (!isObject(p)) { ck.fail(path, "an object", p); return; }
      stepIn(p.step, `${path}.step`, prev);
      ck.number(p.epoch, `${path}.epoch`, { min: 0 });
      ck.number(p.loss, `${path}.loss`, { min: 0 });
      ck.number(p.accuracy, `${path}.accuracy`, { min: 0, max: 1 });
    });
  }

  // Layers.
  const layerParams = new Map<string, number>();
  ck.array(x, "layers", "layers").forEach((l, i) => {
    const path = `layers[${i}]`;
    if (!isObject(l)) { ck.fail(path, "an object", l); return; }
    const name = ck.string(l, "name", `${path}.name`);
    ck.string(l, "kind", `${path}.kind`);
    const params = ck.number(l.parameters, `${path}.parameters`, { min: 0, integer: true });
    const shape = l.outputShape;
    if (!Array.isArray(shape) || shape.length === 0 ||
        !shape.every((d) => typeof d === "number" && Number.isInteger(d) && d > 0)) {
      ck.fail(`${path}.outputShape`, "a non-empty array of positive integers", shape);
    }
    if (name !== undefined) {
      if (layerParams.has(name)) ck.note(`${path}.name`, `duplicate layer name ${JSON.stringify(name)}`);
      layerParams.set(name, params ?? 0);
    }
  });
  const layersKnown = Array.isArray(x.layers);

  const widthRule = floatPolicy ? `${FLOAT_BITS} (float policy ${JSON.stringify(policy)})` : `an integer in ${MIN_BITS}..${MAX_BITS}`;
  const width = (v: unknown, path: string): number | undefined => {
    const ok = typeof v === "number" && (floatPolicy ? v === FLOAT_BITS : Number.isInteger(v) && v >= MIN_BITS && v <= MAX_BITS);
    if (!ok) { ck.fail(path, widthRule, v); return undefined; }
    return v as number;
  };
  const layerRef = (name: string, path: string): void => {
    if (layersKnown && !layerParams.has(name)) ck.note(path, `${JSON.stringify(name)} is not in layers`);
  };

  // Final widths: one per weighted layer, and only for weighted layers.
  const finalBits = ck.object(x, "finalBits", "finalBits");
  const finals = new Map<string, number>();
  if (finalBits) {
    for (const [name, v] of Object.entries(finalBits)) {
      const path = `finalBits[${JSON.stringify(name)}]`;
      const b = width(v, path);
      if (b !== undefined) finals.set(name, b);
      layerRef(name, path);
      if (layerParams.get(name) === 0) ck.note(path, "layer has no parameters, so no weight width");
    }
    for (const [name, params] of layerParams) {
      if (params > 0 && !(name in finalBits)) ck.note("finalBits", `missing weighted layer ${JSON.stringify(name)}`);
    }
  }

  // Timeline of widths for the plots.
  {
    const prev = { step: 0 };
    ck.array(x, "bitsTimeline", "bitsTimeline").forEach((e, i) => {
      const path = `bitsTimeline[${i}]`;
      if (!isObject(e)) { ck.fail(path, "an object", e); return; }
      stepIn(e.step, `${path}.step`, prev);
      const bits = ck.object(e, "bits", `${path}.bits`);
      if (!bits) return;
      for (const [name, v] of Object.entries(bits)) {
        width(v, `${path}.bits[${JSON.stringify(name)}]`);
        layerRef(name, `${path}.bits[${JSON.stringify(name)}]`);
      }
    });
  }

  // Decision log: every width change, one bit at a time, each starting where the last one ended.
  {
    const prev = { step: 0 };
    const current = new Map<string, number>();
    const history = ck.array(x, "bitsHistory", "bitsHistory");
    if (floatPolicy && history.length > 0) ck.note("bitsHistory", `float policy ${JSON.stringify(policy)} makes no precision decisions, got ${history.length}`);
    history.forEach((d, i) => {
      const path = `bitsHistory[${i}]`;
      if (!isObject(d)) { ck.fail(path, "an object", d); return; }
      stepIn(d.step, `${path}.step`, prev);
      const layer = ck.string(d, "layer", `${path}.layer`);
      if (layer !== undefined) layerRef(layer, `${path}.layer`);
      ck.number(d.G, `${path}.G`, { min: 0 });
      const oldBits = width(d.oldBits, `${path}.oldBits`);
      const newBits = width(d.newBits, `${path}.newBits`);
      if (d.limitedBy !== undefined && (typeof d.limitedBy !== "string" || d.limitedBy.length === 0)) {
        ck.fail(`${path}.limitedBy`, "a non-empty string when present", d.limitedBy);
      }
      if (oldBits !== undefined && newBits !== undefined && Math.abs(newBits - oldBits) > 1) {
        ck.note(path, `width moved ${oldBits} -> ${newBits}: a decision changes it by at most 1 bit`);
      }
      if (d.tensor !== undefined && d.tensor !== "output") ck.fail(`${path}.tensor`, '"output" when present (absent: the weights)', d.tensor);
      if (layer === undefined) return;
      // Each tensor's decisions chain: a layer's weights and its output are separate chains.
      const key = d.tensor === "output" ? `${layer} output` : layer;
      const before = current.get(key);
      if (oldBits !== undefined && before !== undefined && oldBits !== before) {
        ck.note(`${path}.oldBits`, `${oldBits}, but the previous decision for ${JSON.stringify(key)} left it at ${before}`);
      }
      if (newBits !== undefined) current.set(key, newBits);
    });
    const outputs = isObject(x.finalOutputBits) ? x.finalOutputBits : {};
    if (x.finalOutputBits !== undefined && x.finalOutputBits !== null && !isObject(x.finalOutputBits)) {
      ck.fail("finalOutputBits", "an object or null", x.finalOutputBits);
    }
    for (const [name, v] of Object.entries(outputs)) {
      layerRef(name, `finalOutputBits[${JSON.stringify(name)}]`);
      const bits = width(v, `finalOutputBits[${JSON.stringify(name)}]`);
      const last = current.get(`${name} output`);
      if (bits !== undefined && last !== undefined && bits !== last) {
        ck.note(`finalOutputBits[${JSON.stringify(name)}]`, `${bits}, but the last decision for that output set ${last}`);
      }
    }
    for (const [layer, bits] of current) {
      const fin = finals.get(layer);
      if (fin !== undefined && fin !== bits) {
        ck.note(`finalBits[${JSON.stringify(layer)}]`, `${fin}, but the last decision for that layer set ${bits}`);
      }
    }
  }

  // Mean width: positive, and (being a weighted mean) between the narrowest and widest final width.
  const avg = ck.number(x.averageWeightBits, "averageWeightBits", { above: 0 });
  if (avg !== undefined && finals.size > 0) {
    const lo = Math.min(...finals.values()), hi = Math.max(...finals.values());
    if (avg < lo - 1e-9 || avg > hi + 1e-9) ck.note("averageWeightBits", `${avg} lies outside the final widths' range ${lo}..${hi}`);
  }

  if (typeof x.modelSha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(x.modelSha256)) {
    ck.fail("modelSha256", "64 hexadecimal characters", x.modelSha256);
  }

  const t = ck.object(x, "timings", "timings");
  if (t) {
    const total = ck.number(t.totalSeconds, "timings.totalSeconds", { min: 0 });
    const train = ck.number(t.trainSeconds, "timings.trainSeconds", { min: 0 });
    const ev = ck.number(t.evalSeconds, "timings.evalSeconds", { min: 0 });
    ck.number(t.msPerStep, "timings.msPerStep", { min: 0 });
    // Reports from before CPU time was kept lack it; null where the platform does not report it.
    if (t.trainCpuSeconds !== undefined && t.trainCpuSeconds !== null) ck.number(t.trainCpuSeconds, "timings.trainCpuSeconds", { min: 0 });
    // Rounded figures may overshoot by a little; 1% + 10 ms is slack for that, not for double counting.
    if (total !== undefined && train !== undefined && ev !== undefined && train + ev > total * 1.01 + 0.01) {
      ck.note("timings", `trainSeconds + evalSeconds (${train} + ${ev}) exceeds totalSeconds (${total})`);
    }
  }

  for (const key of ["memory", "energy", "profile"] as const) {
    if (x[key] !== undefined && !isObject(x[key])) ck.fail(key, "an object when present", x[key]);
  }
  if (isObject(x.energy)) checkEnergy(ck, x.energy, steps);
  if (x.replans !== undefined) {
    // Re-plans only widen: each at a later step than the last, one slot bit wider.
    let last = 0, slot = 0;
    ck.array(x, "replans", "replans").forEach((r, i) => {
      const path = `replans[${i}]`;
      if (!isObject(r)) { ck.fail(path, "an object", r); return; }
      const step = ck.number(r.step, `${path}.step`, { min: 1 });
      const bits = width(r.slotBits, `${path}.slotBits`);
      if (step !== undefined && step < last) ck.note(`${path}.step`, `${step}, before the previous re-plan's ${last}`);
      if (bits !== undefined && slot > 0 && bits !== slot + 1) ck.note(`${path}.slotBits`, `${bits}, not one bit wider than the previous ${slot}`);
      if (r.plannedPeakBytes !== undefined) ck.number(r.plannedPeakBytes, `${path}.plannedPeakBytes`, { min: 0 });
      if (r.refused !== undefined && typeof r.refused !== "string") ck.fail(`${path}.refused`, "a string when present", r.refused);
      last = step ?? last;
      if (r.refused === undefined) slot = bits ?? slot;
    });
  }
  return ck.problems;
}

const ENERGY_JOULES = ["totalJoules", "computeJoules", "memoryJoules", "perStepJoules", "fp32Joules"] as const;

/** Relative agreement of two figures that one computes from the other (rounding slack only). */
function agrees(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) + 1e-18;
}

/**
 * The energy account (docs/energy.md): each known field, when present, has its type, and the
 * figures that derive from each other agree (total = compute + memory, perStep = total / steps,
 * steps = the report's steps). Other keys are allowed, so a hand-made section stays valid.
 */
function checkEnergy(ck: Checker, e: Obj, reportSteps: number | undefined): void {
  const j: Partial<Record<(typeof ENERGY_JOULES)[number], number>> = {};
  for (const k of ENERGY_JOULES) if (e[k] !== undefined) j[k] = ck.number(e[k], `energy.${k}`, { min: 0 });
  if (e.arithmetic !== undefined && e.arithmetic !== "integer" && e.arithmetic !== "float") {
    ck.fail("energy.arithmetic", `"integer" or "float"`, e.arithmetic);
  }
  const steps = e.steps === undefined ? undefined : ck.number(e.steps, "energy.steps", { min: 0, integer: true });
  if (steps !== undefined && reportSteps !== undefined && steps !== reportSteps) {
    ck.note("energy.steps", `${steps}, but the report has ${reportSteps} steps`);
  }
  const { totalJoules: total, computeJoules: compute, memoryJoules: memory, perStepJoules: perStep } = j;
  if (total !== undefined && compute !== undefined && memory !== undefined && !agrees(total, compute + memory)) {
    ck.note("energy.totalJoules", `${total} is not computeJoules + memoryJoules (${compute} + ${memory})`);
  }
  const n = steps ?? reportSteps;
  if (total !== undefined && perStep !== undefined && n !== undefined && n > 0 && !agrees(perStep, total / n)) {
    ck.note("energy.perStepJoules", `${perStep} is not totalJoules / steps (${total} / ${n})`);
  }
  const counts = e.opCounts;
  if (counts === undefined) return;
  if (!isObject(counts)) { ck.fail("energy.opCounts", "an object", counts); return; }
  for (const [key, pattern] of [["macs", /^\d+x\d+$/], ["intMuls", /^\d+x\d+$/], ["intAdds", /^\d+$/]] as const) {
    const v = counts[key];
    if (v === undefined) continue;
    if (!isObject(v)) { ck.fail(`energy.opCounts.${key}`, "an object", v); continue; }
    for (const [k, c] of Object.entries(v)) {
      const path = `energy.opCounts.${key}[${JSON.stringify(k)}]`;
      if (!pattern.test(k)) ck.note(path, `key must look like ${key === "intAdds" ? "\"32\" (bits)" : "\"8x6\" (bits x bits)"}`);
      ck.number(c, path, { min: 0, integer: true });
    }
  }
  for (const key of ["fpMuls", "fpAdds", "randomDraws"] as const) {
    if (counts[key] !== undefined) ck.number(counts[key], `energy.opCounts.${key}`, { min: 0, integer: true });
  }
}

/** Throws a TypeError listing the first problems when `x` is not a valid report. */
export function assertValidReport(x: unknown): asserts x is ReportWithExtras {
  const problems = validateReport(x);
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).map((p) => `  ${p}`).join("\n");
    const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : "";
    throw new TypeError(`invalid report (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${shown}${more}`);
  }
}
