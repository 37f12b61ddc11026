// Precision policies behind one interface (docs/apt.md): how wide each layer's weights are, and how
// that changes during training. The APT controller is the adaptive one; fixed(bits) is the
// non-adaptive integer baseline; qat8() and fp32() are the float-master baselines APT argues against.
import type { Rounding } from "../runtime/descriptors.js";
import type { BitsDecision } from "../learner/run-report.js";

export interface AptOptions {
  /** G below this: updates underflow the step -> +1 bit. The energy/memory-vs-accuracy knob. */
  tMin: number;
  /** G above this: precision to spare -> -1 bit. */
  tMax: number;
  bMin: number;
  bMax: number;
  initialBits: number;
  /** Steps between decisions; G is averaged over them. */
  interval: number;
  rounding: Rounding;
  /** Same precision forward and backward: each layer's activations and the errors flowing back
   *  into them take its weight width, capped at the planned 8 bits (docs/apt.md). */
  tieActivations: boolean;
}

export const APT_DEFAULTS: AptOptions = {
  tMin: 0.05,
  tMax: 0.5,
  bMin: 4,
  bMax: 10,
  initialBits: 6,
  interval: 50,
  rounding: "stochastic",
  tieActivations: true,
};

export type PolicySpec =
  | ({ kind: "apt" } & AptOptions)
  | { kind: "fixed"; bits: number; rounding: Rounding }
  | { kind: "qat8" }
  | { kind: "fp32" };

function checkWidth(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 2 || v > 16) throw new RangeError(`${name} must be an integer in 2..16, got ${v}`);
}

export function apt(options: Partial<AptOptions> = {}): PolicySpec {
  const o = { ...APT_DEFAULTS, ...options };
  for (const k of ["bMin", "bMax", "initialBits"] as const) checkWidth(k, o[k]);
  if (!(o.tMin >= 0) || !Number.isFinite(o.tMin)) throw new RangeError(`tMin must be a finite number >= 0, got ${o.tMin}`);
  if (!(o.tMax > 0) || !Number.isFinite(o.tMax)) throw new RangeError(`tMax must be a finite number > 0, got ${o.tMax}`);
  if (o.tMin > o.tMax) throw new RangeError(`tMin (${o.tMin}) must not exceed tMax (${o.tMax})`);
  if (o.bMin > o.bMax) throw new RangeError(`bMin (${o.bMin}) must not exceed bMax (${o.bMax})`);
  if (o.initialBits < o.bMin || o.initialBits > o.bMax) {
    throw new RangeError(`initialBits (${o.initialBits}) must lie in bMin..bMax (${o.bMin}..${o.bMax})`);
  }
  if (!Number.isInteger(o.interval) || o.interval < 1) throw new RangeError(`interval must be a positive integer, got ${o.interval}`);
  if (o.rounding !== "stochastic" && o.rounding !== "nearest") {
    throw new RangeError(`rounding must be "stochastic" or "nearest", got ${JSON.stringify(o.rounding)}`);
  }
  if (typeof o.tieActivations !== "boolean") throw new RangeError(`tieActivations must be true or false, got ${JSON.stringify(o.tieActivations)}`);
  return { kind: "apt", ...o };
}

export function fixed(bits: number, rounding: Rounding = "stochastic"): PolicySpec {
  checkWidth("fixed bits", bits);
  return { kind: "fixed", bits, rounding };
}

export const qat8 = (): PolicySpec => ({ kind: "qat8" });
export const fp32 = (): PolicySpec => ({ kind: "fp32" });

export function policyName(p: PolicySpec): string {
  switch (p.kind) {
    case "apt": return `apt(tMin=${p.tMin}, tMax=${p.tMax}, bits ${p.bMin}..${p.bMax}, ${p.rounding}${p.tieActivations ? "" : ", untied activations"})`;
    case "fixed": return `fixed:${p.bits}`;
    default: return p.kind;
  }
}

/** The widest weights a policy may ask for: what the plan reserves. */
export function widestBits(p: PolicySpec): number {
  switch (p.kind) {
    case "apt": return p.bMax;
    case "fixed": return p.bits;
    case "qat8": return 8;
    case "fp32": return 32;
  }
}

/** How a budget refusal searches and names narrower weights for this policy (fitSuggestions). */
export function budgetSearch(p: PolicySpec): { minBits: number; bitsLabel: string | ((bits: number) => string) } {
  switch (p.kind) {
    case "apt": return { minBits: p.bMin, bitsLabel: "bMax" };
    case "fixed": return { minBits: 2, bitsLabel: (b) => `fixed:${b}` };
    default: return { minBits: widestBits(p), bitsLabel: "bits" };
  }
}

export function initialBits(p: PolicySpec): number {
  switch (p.kind) {
    case "apt": return p.initialBits;
    case "fixed": return p.bits;
    case "qat8": return 8;
    case "fp32": return 32;
  }
}

/**
 * The APT controller: per layer, every `interval` steps, the mean G over the interval moves the
 * width one bit, within [bMin, bMax] and within what the plan reserved (`reserved`).
 */
export class AptController {
  private readonly sums = new Map<string, { g: number; n: number }>();
  readonly log: BitsDecision[] = [];

  constructor(readonly options: AptOptions, private readonly reserved: Record<string, number>) {}

  /** The partial interval sums (a checkpoint keeps them for exact resume). */
  state(): Record<string, { g: number; n: number }> {
    return Object.fromEntries([...this.sums].map(([k, v]) => [k, { ...v }]));
  }

  /**
   * Takes back a checkpoint's sums and decision log (decodeCheckpoint has checked them against the
   * run; these checks keep the controller sound for any caller). Copies entry by entry: a log is
   * as long as the run, too long for an argument list. Throws RangeError naming the entry.
   */
  restore(sums: Record<string, { g: number; n: number }>, log: readonly BitsDecision[]): void {
    const { bMin, bMax, interval } = this.options;
    const known = (layer: unknown, where: string) => {
      if (typeof layer !== "string" || !Object.hasOwn(this.reserved, layer)) {
        throw new RangeError(`AptController.restore: ${where} names ${JSON.stringify(String(layer)).slice(0, 60)}, not a layer of this model (${Object.keys(this.reserved).join(", ")})`);
      }
    };
    const restored = new Map<string, { g: number; n: number }>();
    for (const [k, v] of Object.entries(sums)) {
      known(k, `sums.${k}`);
      const { g, n } = v ?? {};
      if (typeof g !== "number" || !Number.isFinite(g) || g < 0 || !Number.isInteger(n) || n < 0 || n >= interval) {
        throw new RangeError(`AptController.restore: sums.${k} must hold a finite g >= 0 and an integer n in 0..${interval - 1}`);
      }
      restored.set(k, { g, n });
    }
    if (!Array.isArray(log)) throw new RangeError("AptController.restore: the decision log must be an array");
    const copy: BitsDecision[] = [];
    for (let i = 0; i < log.length; i++) {
      const d = log[i];
      known(d?.layer, `log[${i}].layer`);
      for (const b of [d.oldBits, d.newBits]) {
        if (!Number.isInteger(b) || b < bMin || b > bMax) throw new RangeError(`AptController.restore: log[${i}] has width ${b}, outside bMin..bMax (${bMin}..${bMax})`);
      }
      const entry: BitsDecision = { step: d.step, layer: d.layer, G: d.G, oldBits: d.oldBits, newBits: d.newBits };
      if (d.limitedBy !== undefined) entry.limitedBy = d.limitedBy;
      copy.push(entry);
    }
    this.sums.clear();
    for (const [k, v] of restored) this.sums.set(k, v);
    this.log.length = 0;
    for (const d of copy) this.log.push(d);
  }

  /** Records one step's G for a layer. */
  observe(layer: string, G: number): void {
    const s = this.sums.get(layer) ?? { g: 0, n: 0 };
    s.g += G;
    s.n += 1;
    this.sums.set(layer, s);
  }

  /** At the end of step `step` (1-based count of steps done): decisions for the layers whose
   *  interval ended, given their current widths. */
  decide(step: number, bits: Record<string, number>): BitsDecision[] {
    if (step % this.options.interval !== 0) return [];
    const { tMin, tMax, bMin, bMax } = this.options;
    const out: BitsDecision[] = [];
    for (const [layer, s] of this.sums) {
      if (s.n === 0) continue;
      const G = s.g / s.n;
      s.g = 0;
      s.n = 0;
      const old = bits[layer];
      let wanted = old;
      if (G < tMin) wanted = old + 1;
      else if (G > tMax) wanted = old - 1;
      let next = Math.min(bMax, Math.max(bMin, wanted));
      let limitedBy: string | undefined;
      if (next !== wanted) limitedBy = wanted > bMax ? "bMax" : "bMin";
      const cap = this.reserved[layer] ?? bMax;
      if (next > cap) {
        next = cap;
        limitedBy = "budget";
      }
      const d: BitsDecision = { step, layer, G, oldBits: old, newBits: next };
      if (limitedBy) d.limitedBy = limitedBy;
      out.push(d);
      this.log.push(d);
    }
    return out;
  }
}
