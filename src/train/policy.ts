// Precision policies behind one interface (docs/apt.md): how wide each layer's weights are, and how
// that changes during training. The APT controller is the adaptive one; fixed(bits) is the
// non-adaptive integer baseline; qat8() and fp32() are the float-master baselines APT argues against.
import type { Rounding } from "../runtime/descriptors.js";

export interface AptOptions {
  /** The one knob (docs/apt.md): 0 is the accuracy-first default; each step up plans activations
   *  and errors a bit narrower and lets every width settle lower (LEAN_SETTINGS), for less
   *  training energy and peak memory. Options given beside it override its settings. */
  lean: number;
  /** G (the learning-rate schedule factored out) below this: updates underflow the step -> +1 bit. */
  tMin: number;
  /** G above this: precision to spare -> -1 bit. At least HYSTERESIS x tMin. */
  tMax: number;
  /** An output's rms code (src/format/usage.ts rmsCode; the lower of its activations' and its error's) below
   *  this: its values span too few levels -> +1 bit. */
  rMin: number;
  /** rms code above this: levels to spare -> -1 bit. At least HYSTERESIS x rMin. */
  rMax: number;
  /** Width the memory plan lays activations and errors at (their slot); outputs move within
   *  bMin..slotBits. */
  slotBits: number;
  /** Errors planned narrower than the activations (null: at the slot too). Only with untied
   *  outputs (tieActivations false): lenet5 loses 0.4 points to 6-bit errors, 1.9 to 6-bit
   *  activations (docs/apt.md), and errors carry as much of the traffic. */
  errorSlotBits: number | null;
  /** The widest slot a run may re-plan to when an output stays limited by its slot (the hard
   *  cap, with the budget); equal to slotBits: the plan never grows. */
  capBits: number;
  /** Plan in the fewest whole pages that hold it (the GEMM workspace shrinks into the last one):
   *  less memory for somewhat slower products. */
  compact: boolean;
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

/** A band narrower than this could flip a width back and forth: one bit moves G or an rms code by
 *  2x, so a band of 2.5x leaves a quarter of a bit of room for the statistic's noise. */
export const HYSTERESIS = 2.5;

export const APT_DEFAULTS: AptOptions = {
  lean: 0,
  tMin: 0.4,
  tMax: 1,
  rMin: 2,
  rMax: 8,
  slotBits: 8,
  errorSlotBits: null,
  capBits: 8,
  compact: false,
  bMin: 4,
  bMax: 10,
  initialBits: 6,
  interval: 50,
  rounding: "stochastic",
  tieActivations: true,
};

/** What each knob setting changes from APT_DEFAULTS (measured effect: docs/apt.md). */
export const LEAN_SETTINGS: readonly Partial<AptOptions>[] = [
  {},
  { compact: true },
  { compact: true, bMax: 8, tieActivations: false, slotBits: 7, capBits: 7, errorSlotBits: 6 },
  { compact: true, bMax: 8, tieActivations: false, slotBits: 7, capBits: 7, errorSlotBits: 5 },
];

export type PolicySpec =
  | ({ kind: "apt" } & AptOptions)
  | { kind: "fixed"; bits: number; rounding: Rounding }
  | { kind: "qat8" }
  | { kind: "fp32" };

function checkWidth(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 2 || v > 16) throw new RangeError(`${name} must be an integer in 2..16, got ${v}`);
}

export function apt(options: Partial<AptOptions> = {}): PolicySpec {
  const lean = options.lean ?? APT_DEFAULTS.lean;
  if (!Number.isInteger(lean) || lean < 0 || lean >= LEAN_SETTINGS.length) {
    throw new RangeError(`lean must be an integer in 0..${LEAN_SETTINGS.length - 1}, got ${lean}`);
  }
  const o = { ...APT_DEFAULTS, ...LEAN_SETTINGS[lean], ...options };
  for (const k of ["bMin", "bMax", "initialBits"] as const) checkWidth(k, o[k]);
  if (!(o.tMin >= 0) || !Number.isFinite(o.tMin)) throw new RangeError(`tMin must be a finite number >= 0, got ${o.tMin}`);
  if (!(o.tMax > 0) || !Number.isFinite(o.tMax)) throw new RangeError(`tMax must be a finite number > 0, got ${o.tMax}`);
  if (o.tMin > o.tMax) throw new RangeError(`tMin (${o.tMin}) must not exceed tMax (${o.tMax})`);
  if (o.tMax < HYSTERESIS * o.tMin) throw new RangeError(`tMax (${o.tMax}) must be at least ${HYSTERESIS} x tMin (${o.tMin}): a narrower band lets a width oscillate`);
  if (!(o.rMin > 0) || !Number.isFinite(o.rMin)) throw new RangeError(`rMin must be a finite number > 0, got ${o.rMin}`);
  if (!(o.rMax >= HYSTERESIS * o.rMin) || !Number.isFinite(o.rMax)) {
    throw new RangeError(`rMax (${o.rMax}) must be a finite number at least ${HYSTERESIS} x rMin (${o.rMin}): a narrower band lets a width oscillate`);
  }
  if (o.bMin > o.bMax) throw new RangeError(`bMin (${o.bMin}) must not exceed bMax (${o.bMax})`);
  checkWidth("slotBits", o.slotBits);
  if (o.bMin > o.slotBits) throw new RangeError(`bMin (${o.bMin}) must not exceed slotBits (${o.slotBits})`);
  checkWidth("capBits", o.capBits);
  if (o.errorSlotBits !== null) {
    checkWidth("errorSlotBits", o.errorSlotBits);
    if (o.tieActivations) throw new RangeError(`errorSlotBits (${o.errorSlotBits}) needs untied outputs (tieActivations: false): a tied output and its error share one width`);
  }
  if (o.capBits < o.slotBits) throw new RangeError(`capBits (${o.capBits}) must not be below slotBits (${o.slotBits})`);
  if (o.initialBits < o.bMin || o.initialBits > o.bMax) {
    throw new RangeError(`initialBits (${o.initialBits}) must lie in bMin..bMax (${o.bMin}..${o.bMax})`);
  }
  if (!Number.isInteger(o.interval) || o.interval < 1) throw new RangeError(`interval must be a positive integer, got ${o.interval}`);
  if (o.rounding !== "stochastic" && o.rounding !== "nearest") {
    throw new RangeError(`rounding must be "stochastic" or "nearest", got ${JSON.stringify(o.rounding)}`);
  }
  if (typeof o.compact !== "boolean") throw new RangeError(`compact must be true or false, got ${JSON.stringify(o.compact)}`);
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
    case "apt": {
      const slot = `slot ${p.slotBits}${p.capBits > p.slotBits ? `..${p.capBits}` : ""}${p.errorSlotBits !== null ? `, errors ${p.errorSlotBits}` : ""}${p.compact ? " compact" : ""}`;
      return `apt(${p.lean > 0 ? `lean ${p.lean}, ` : ""}tMin=${p.tMin}, tMax=${p.tMax}, rMin=${p.rMin}, rMax=${p.rMax}, bits ${p.bMin}..${p.bMax}, ` +
        `${slot}, ${p.rounding}${p.tieActivations ? "" : ", outputs at the slot"})`;
    }
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

/** The widths the plan lays activations and errors at when the run does not set actBits / errBits:
 *  APT's slots, 8 bits for every other policy. */
export function plannedTensorBits(p: PolicySpec): { actBits: number; errBits: number } {
  if (p.kind !== "apt") return { actBits: 8, errBits: 8 };
  return { actBits: p.slotBits, errBits: p.errorSlotBits ?? p.slotBits };
}

export function initialBits(p: PolicySpec): number {
  switch (p.kind) {
    case "apt": return p.initialBits;
    case "fixed": return p.bits;
    case "qat8": return 8;
    case "fp32": return 32;
  }
}
