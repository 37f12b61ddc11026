// The APT controller (docs/apt.md): per tensor, every `interval` steps, the mean of a statistic
// over the interval moves a width one bit, inside a hysteresis band. Two kinds of tensor:
//   weights  G = mean|lr * g| / step with the schedule factored out (the caller passes G * lr0 / lr)
//   outputs  the rms code of a layer's output activations and of the error flowing back into them
//            (one width for both: same precision forward and backward); the lower of the two
// A small statistic means the width is too coarse (+1 bit), a large one that it has bits to spare
// (-1 bit). Widths stay in [bMin, bMax] (weights) or [bMin, slot] (outputs) and within what the
// memory plan reserved; every decision says which limit, if any, decided it. An output held at
// its slot for SLOT_PATIENCE decisions in a row asks for a wider plan (slotRequest), up to capBits.
import type { BitsDecision } from "../learner/run-report.js";
import type { AptOptions } from "./policy.js";

/** Key of a layer's output unit in the controller's sums (a weights unit is keyed by the layer). */
export const outputKey = (layer: string): string => `${layer}:output`;

/** Decisions in a row an output must be held by its slot before the run re-plans wider: one could
 *  be a noisy interval, and a re-plan costs a snapshot. */
export const SLOT_PATIENCE = 2;

interface Sum {
  g: number;
  n: number;
}

export class AptController {
  private readonly sums = new Map<string, Sum>();
  readonly log: BitsDecision[] = [];
  /** The width activations and errors are planned at now (grows by re-planning, up to capBits). */
  slot: number;
  /** Set when the plan cannot grow further (the cap, or the budget refused the next slot). */
  private capped: string | null = null;
  /** Per output, the decisions in a row its slot has held it. */
  private readonly held = new Map<string, number>();

  /**
   * @param reserved the widest weights the plan reserved per layer
   * @param outputs the layers whose outputs the controller moves (none: outputs stay at the slot)
   */
  constructor(readonly options: AptOptions, private readonly reserved: Record<string, number>, private readonly outputs: readonly string[] = []) {
    this.slot = options.slotBits;
    if (this.slot >= options.capBits) this.capped = "cap";
  }

  /** The wider slot the outputs ask for, or null: some output was held by the slot SLOT_PATIENCE
   *  decisions in a row and the plan may still grow. */
  slotRequest(): number | null {
    if (this.capped !== null) return null;
    for (const n of this.held.values()) if (n >= SLOT_PATIENCE) return this.slot + 1;
    return null;
  }

  /** The run re-planned at `bits`: outputs may now widen to it. */
  grow(bits: number): void {
    if (!Number.isInteger(bits) || bits <= this.slot || bits > this.options.capBits) {
      throw new RangeError(`AptController.grow: slot ${bits} must be above the current ${this.slot} and at most capBits ${this.options.capBits}`);
    }
    this.slot = bits;
    this.held.clear();
    if (bits === this.options.capBits) this.capped = "cap";
  }

  /** The plan cannot grow (`why`: "budget" when the budget refused the next slot). */
  stopGrowing(why: string): void {
    this.capped = why;
  }

  /** What a checkpoint keeps beyond the sums: the slot, whether it may grow, and the held counts. */
  slotState(): { slot: number; capped: string | null; held: Record<string, number> } {
    return { slot: this.slot, capped: this.capped, held: Object.fromEntries(this.held) };
  }

  restoreSlot(s: { slot: number; capped: string | null; held: Record<string, number> }): void {
    const { slotBits, capBits } = this.options;
    if (!Number.isInteger(s.slot) || s.slot < slotBits || s.slot > capBits) {
      throw new RangeError(`AptController.restoreSlot: slot ${s.slot} outside slotBits..capBits (${slotBits}..${capBits})`);
    }
    if (s.capped !== null && s.capped !== "cap" && s.capped !== "budget") throw new RangeError(`AptController.restoreSlot: capped must be null, "cap" or "budget"`);
    const held = new Map<string, number>();
    for (const [k, n] of Object.entries(s.held)) {
      if (!this.outputs.includes(k)) throw new RangeError(`AptController.restoreSlot: held.${k} is not an output this controller moves`);
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`AptController.restoreSlot: held.${k} must be a positive integer`);
      held.set(k, n);
    }
    this.slot = s.slot;
    this.capped = s.capped ?? (s.slot >= capBits ? "cap" : null);
    this.held.clear();
    for (const [k, n] of held) this.held.set(k, n);
  }

  /** The partial interval sums (a checkpoint keeps them for exact resume). */
  state(): Record<string, Sum> {
    return Object.fromEntries([...this.sums].map(([k, v]) => [k, { ...v }]));
  }

  private unit(key: string): { layer: string; output: boolean } | null {
    if (Object.hasOwn(this.reserved, key)) return { layer: key, output: false };
    const layer = this.outputs.find((l) => outputKey(l) === key);
    return layer === undefined ? null : { layer, output: true };
  }

  /**
   * Takes back a checkpoint's sums and decision log (decodeCheckpoint has checked them against the
   * run; these checks keep the controller sound for any caller). Copies entry by entry: a log is
   * as long as the run, too long for an argument list. Throws RangeError naming the entry.
   */
  restore(sums: Record<string, Sum>, log: readonly BitsDecision[]): void {
    const { bMin, bMax, capBits, interval } = this.options;
    const known = (key: unknown, where: string) => {
      if (typeof key !== "string" || this.unit(key) === null) {
        const names = [...Object.keys(this.reserved), ...this.outputs.map(outputKey)];
        throw new RangeError(`AptController.restore: ${where} names ${JSON.stringify(String(key)).slice(0, 60)}, not a tensor this controller moves (${names.join(", ")})`);
      }
    };
    const restored = new Map<string, Sum>();
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
      const output = d?.tensor === "output";
      known(output ? outputKey(d.layer) : d?.layer, `log[${i}].layer`);
      const hi = output ? capBits : bMax;
      for (const b of [d.oldBits, d.newBits]) {
        if (!Number.isInteger(b) || b < bMin || b > hi) throw new RangeError(`AptController.restore: log[${i}] has width ${b}, outside ${bMin}..${hi}`);
      }
      const entry: BitsDecision = { step: d.step, layer: d.layer, G: d.G, oldBits: d.oldBits, newBits: d.newBits };
      if (output) entry.tensor = "output";
      if (d.limitedBy !== undefined) entry.limitedBy = d.limitedBy;
      copy.push(entry);
    }
    this.sums.clear();
    for (const [k, v] of restored) this.sums.set(k, v);
    this.log.length = 0;
    for (const d of copy) this.log.push(d);
  }

  private add(key: string, value: number): void {
    const s = this.sums.get(key) ?? { g: 0, n: 0 };
    s.g += value;
    s.n += 1;
    this.sums.set(key, s);
  }

  /** Records one step's G for a layer's weights, the schedule already factored out. */
  observe(layer: string, G: number): void {
    this.add(layer, G);
  }

  /** Records a sample of a layer's output: the lower rms code of its activations and its error. */
  observeOutput(layer: string, rms: number): void {
    this.add(outputKey(layer), rms);
  }

  /**
   * At the end of step `step` (1-based count of steps done): decisions for the tensors whose
   * interval ended, given the weights' current widths and the outputs'.
   */
  decide(step: number, bits: Record<string, number>, outputBits: Record<string, number> = {}): BitsDecision[] {
    if (step % this.options.interval !== 0) return [];
    const { tMin, tMax, rMin, rMax, bMin, bMax } = this.options;
    const out: BitsDecision[] = [];
    for (const [key, s] of this.sums) {
      if (s.n === 0) continue;
      const unit = this.unit(key)!;
      const G = s.g / s.n;
      s.g = 0;
      s.n = 0;
      const [low, high, hi, old] = unit.output
        ? [rMin, rMax, this.slot, outputBits[unit.layer]]
        : [tMin, tMax, bMax, bits[unit.layer]];
      let wanted = old;
      if (G < low) wanted = old + 1;
      else if (G > high) wanted = old - 1;
      let next = Math.min(hi, Math.max(bMin, wanted));
      let limitedBy: string | undefined;
      if (next !== wanted) limitedBy = wanted < bMin ? "bMin" : unit.output ? (this.capped ?? "slot") : "bMax";
      if (unit.output) {
        // Held at the slot: counted toward a re-plan; any other outcome resets the count.
        if (limitedBy !== undefined && wanted > hi) this.held.set(unit.layer, (this.held.get(unit.layer) ?? 0) + 1);
        else this.held.delete(unit.layer);
      } else if (next > (this.reserved[unit.layer] ?? bMax)) {
        next = this.reserved[unit.layer] ?? bMax;
        limitedBy = "budget";
      }
      const d: BitsDecision = { step, layer: unit.layer, G, oldBits: old, newBits: next };
      if (unit.output) d.tensor = "output";
      if (limitedBy) d.limitedBy = limitedBy;
      out.push(d);
      this.log.push(d);
    }
    return out;
  }
}
