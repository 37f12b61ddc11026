// The energy account (docs/energy.md): counted, not timed. Every kernel call a training
// step makes is reported as an OpRecord (src/engine/engine.ts `onOp`; Fp32Learner.onOp for the float
// baseline); each is turned into primitive operations (multiplies by operand widths, adds by
// width, float multiplies and adds) and bits moved per memory level, and those are priced with
// Horowitz's 45 nm table. The same records are also priced as if every operation were fp32 and
// every tensor element 32 bits: "what this very run would cost in fp32".
import type { OpRecord } from "../engine/engine.js";
import type { Rounding } from "../runtime/descriptors.js";

// ---- the cited numbers ------------------------------------------------------------------------

const pJ = 1e-12;

/**
 * M. Horowitz, "1.1 Computing's energy problem (and what we can do about it)", ISSCC 2014, Digest
 * of Technical Papers, pp. 10-14, doi:10.1109/ISSCC.2014.6757323: the table of rough energy costs
 * per operation in 45 nm at 0.9 V (Figure 1.1.9). Joules per operation; memory per 64-bit access.
 */
export const HOROWITZ_45NM = {
  source: "Horowitz, Computing's energy problem (and what we can do about it), ISSCC 2014, Fig. 1.1.9 (45 nm, 0.9 V)",
  intAdd: { 8: 0.03 * pJ, 32: 0.1 * pJ },
  intMul: { 8: 0.2 * pJ, 32: 3.1 * pJ },
  fpAdd: { 16: 0.4 * pJ, 32: 0.9 * pJ },
  fpMul: { 16: 1.1 * pJ, 32: 3.7 * pJ },
  /** Cache/SRAM access of 64 bits by array size. */
  sram64: { "8KB": 10 * pJ, "32KB": 20 * pJ, "1MB": 100 * pJ },
  /** DRAM access of 64 bits: the table gives a range. */
  dram64: { low: 1300 * pJ, high: 2600 * pJ },
} as const;

/** Where a memory level's accesses are priced. */
export type MemoryPoint = "8KB" | "32KB" | "1MB" | "dram-low" | "dram-high";

function per64(p: MemoryPoint): number {
  if (p === "dram-low") return HOROWITZ_45NM.dram64.low;
  if (p === "dram-high") return HOROWITZ_45NM.dram64.high;
  return HOROWITZ_45NM.sram64[p];
}

/**
 * Multiplier exponent: E_mul(a, b) = E_mul(8, 8) * (a*b/64)^ALPHA passes exactly through both of
 * Horowitz's integer points (8x8: 0.2 pJ, 32x32: 3.1 pJ): ALPHA = ln(3.1/0.2) / ln(1024/64) =
 * 0.9886, i.e. energy almost proportional to the partial-product count a*b (an array multiplier).
 */
export const MUL_EXPONENT = Math.log(3.1 / 0.2) / Math.log(1024 / 64);

/** Integer a x b-bit multiply, in joules (a and b in 1..64). */
export function intMulJoules(a: number, b: number): number {
  return HOROWITZ_45NM.intMul[8] * ((a * b) / 64) ** MUL_EXPONENT;
}

/** Integer w-bit add, in joules: linear in width through Horowitz's 8- and 32-bit points (a
 *  ripple/prefix adder's cost grows with its bit count). */
export function intAddJoules(w: number): number {
  const { 8: e8, 32: e32 } = HOROWITZ_45NM.intAdd;
  return e8 + ((w - 8) * (e32 - e8)) / 24;
}

/** The prices a tally is charged at. */
export interface EnergyTable {
  /** Level holding every tensor of the plan (weights, activations, errors): the device's SRAM. */
  main: MemoryPoint;
  /** The small buffer the GEMM packs panels into and the micro-kernel reads from. */
  local: MemoryPoint;
}

export const DEFAULT_TABLE: EnergyTable = { main: "1MB", local: "8KB" };

/** Micro-kernel tile (docs/kernels.md: MR x NR = 4 x 8): each k step loads MR elements of A and NR of B
 *  from the local buffer for MR*NR MACs; accumulators stay in registers. */
export const MR = 4;
export const NR = 8;

// ---- what is counted --------------------------------------------------------------------------

/** Elementwise operations beyond the engine's set: the fp32 trainer's SGD and its im2col copies,
 *  and qat8's master-weight work. */
export interface ExtraElementwise {
  kind: "elementwise";
  what: string;
  op: "multiplyAdd" | "copy";
  elements: number;
  bits: number;
  reads: number;
  writes: number;
}

/** One kernel call as counted. `float: true` marks float work inside an integer run (qat8's master). */
export type EnergyOp = (OpRecord | ExtraElementwise) & { float?: boolean };

/** Primitive operation counts: what is priced. MACs are listed by (aBits x bBits) for reading;
 *  their multiplies are also in intMuls (integer) or fpMuls (float), their adds in intAdds/fpAdds. */
export interface OpCounts {
  /** Multiply-accumulates by "aBitsxbBits" ("32x32" for float). */
  macs: Record<string, number>;
  /** Integer multiplies by "axb" widths, MACs included. */
  intMuls: Record<string, number>;
  /** Integer adds (and compares) by width in bits, accumulator adds included. */
  intAdds: Record<string, number>;
  fpMuls: number;
  fpAdds: number;
  /** Random numbers drawn for stochastic rounding (each priced as one 32-bit add, in intAdds). */
  randomDraws: number;
}

/** Bits moved per level. */
export interface BitsMoved {
  localRead: number;
  localWrite: number;
  mainRead: number;
  mainWrite: number;
}

interface Tally {
  ops: OpCounts;
  bits: BitsMoved;
}

function emptyTally(): Tally {
  return {
    ops: { macs: {}, intMuls: {}, intAdds: {}, fpMuls: 0, fpAdds: 0, randomDraws: 0 },
    bits: { localRead: 0, localWrite: 0, mainRead: 0, mainWrite: 0 },
  };
}

const bump = (r: Record<string, number>, key: string | number, n: number) => {
  if (n !== 0) r[key] = (r[key] ?? 0) + n;
};

/** How a record is priced: the run's own arithmetic and widths, or all fp32. */
interface Pricing {
  float: boolean;
  as32: boolean;
  stochastic: boolean;
}

/**
 * The K block within which int32 partial sums of a x b-bit products cannot overflow
 * (|q| <= 2^(bits-1) - 1): longer sums are widened across blocks into a 64-bit accumulator
 * (docs/architecture.md, "The number format"), one 64-bit add per block and output.
 */
export function int32Block(aBits: number, bBits: number): number {
  const prod = (2 ** (aBits - 1) - 1) * (2 ** (bBits - 1) - 1);
  return prod === 0 ? Infinity : Math.max(1, Math.floor((2 ** 31 - 1) / prod));
}

function randomDraws(t: Tally, n: number): void {
  // Hardware stochastic rounding draws its bits from an LFSR: priced as one 32-bit add each.
  t.ops.randomDraws += n;
  bump(t.ops.intAdds, 32, n);
}

/** Adds one record's primitive operations and traffic to a tally. */
function tallyOp(t: Tally, op: EnergyOp, p: Pricing): void {
  const float = p.float || op.float === true;
  const o = t.ops;
  if (op.kind === "gemm") {
    const { M, N, K } = op;
    const a = p.as32 ? 32 : op.aBits, b = p.as32 ? 32 : op.bBits;
    const macs = M * N * K;
    bump(o.macs, `${a}x${b}`, macs);
    if (float) {
      o.fpMuls += macs;
      o.fpAdds += macs;
    } else {
      bump(o.intMuls, `${a}x${b}`, macs);
      bump(o.intAdds, 32, macs);
      const kb = int32Block(a, b);
      if (K > kb) bump(o.intAdds, 64, M * N * Math.ceil(K / kb));
    }
    // Operands are read once per GEMM from main memory at their packed widths and packed into
    // the local buffer; the micro-kernel then reads A once per NR-column tile, B once per MR-row tile.
    const operandBits = M * K * a + K * N * b;
    t.bits.mainRead += operandBits;
    t.bits.localWrite += operandBits;
    t.bits.localRead += M * K * Math.ceil(N / NR) * a + N * K * Math.ceil(M / MR) * b;
    const E = M * N;
    const outBits = p.as32 ? 32 : op.outBits;
    switch (op.mode) {
      case "maxabs":
        // Bias add and the running maximum: nothing is written.
        if (float) o.fpAdds += E; else bump(o.intAdds, 32, E);
        bump(o.intAdds, 32, E);
        break;
      case "store":
        // The accumulator leaves as an f32 (qat8's gradient) or the float GEMM's own result.
        if (!float) o.fpMuls += E; // int32 -> f32 times the scale
        t.bits.mainWrite += E * 32;
        break;
      case "update":
        // Read-modify-write of the weights: scale, round, add to the code, clamp, |update| sum.
        t.bits.mainRead += E * outBits;
        t.bits.mainWrite += E * outBits;
        if (float) {
          o.fpMuls += E;
          o.fpAdds += E;
        } else {
          bump(o.intMuls, "32x32", E);
          bump(o.intAdds, 32, 4 * E);
          if (p.stochastic) randomDraws(t, E);
        }
        break;
      default:
        // "requant" (and any future mode, priced the same): bias add, scale multiply, round, clamp.
        t.bits.mainWrite += E * (outBits || 32);
        if (float) {
          o.fpMuls += E;
          o.fpAdds += E;
        } else {
          bump(o.intMuls, "32x32", E);
          bump(o.intAdds, 32, 3 * E);
          if (p.stochastic) randomDraws(t, E);
        }
    }
    return;
  }
  const n = op.elements;
  const bits = p.as32 ? 32 : op.bits;
  t.bits.mainRead += op.reads * bits;
  t.bits.mainWrite += op.writes * bits;
  switch (op.op) {
    case "compare": case "mask":
      // A float compare is an integer compare of the bit pattern.
      bump(o.intAdds, float ? 32 : bits, n);
      break;
    case "add":
      if (float) o.fpAdds += n; else bump(o.intAdds, 32, n);
      break;
    case "requant":
      if (float) {
        o.fpMuls += n;
        o.fpAdds += n;
      } else {
        bump(o.intMuls, "32x32", n);
        bump(o.intAdds, 32, 3 * n);
        if (p.stochastic) randomDraws(t, n);
      }
      break;
    case "exp":
      // Range reduction plus a short polynomial: eight multiply-adds per element.
      if (float) {
        o.fpMuls += 8 * n;
        o.fpAdds += 8 * n;
      } else {
        bump(o.intMuls, "32x32", 8 * n);
        bump(o.intAdds, 32, 8 * n);
      }
      break;
    case "multiplyAdd":
      if (float) {
        o.fpMuls += n;
        o.fpAdds += n;
      } else {
        bump(o.intMuls, `${bits}x${bits}`, n);
        bump(o.intAdds, 32, n);
      }
      break;
    case "copy":
      break;
  }
}

/** t += times * u. Every count is an integer below 2^53, so this equals adding u `times` times. */
function mergeInto(t: Tally, u: Tally, times = 1): void {
  for (const k of ["macs", "intMuls", "intAdds"] as const) for (const [key, n] of Object.entries(u.ops[k])) bump(t.ops[k], key, n * times);
  t.ops.fpMuls += u.ops.fpMuls * times;
  t.ops.fpAdds += u.ops.fpAdds * times;
  t.ops.randomDraws += u.ops.randomDraws * times;
  for (const k of ["localRead", "localWrite", "mainRead", "mainWrite"] as const) t.bits[k] += u.bits[k] * times;
}

/** Everything a record's price depends on, as one string: equal keys, equal tallies. */
function recordKey(op: EnergyOp): string {
  const f = op.float === true ? 1 : 0;
  return op.kind === "gemm"
    ? `g\u0000${op.what}\u0000${op.mode}\u0000${op.M}\u0000${op.N}\u0000${op.K}\u0000${op.aBits}\u0000${op.bBits}\u0000${op.outBits}\u0000${f}`
    : `e\u0000${op.what}\u0000${op.op}\u0000${op.elements}\u0000${op.bits}\u0000${op.reads}\u0000${op.writes}\u0000${f}`;
}

const parsePair = (key: string): [number, number] => {
  const m = /^(\d+)x(\d+)$/.exec(key);
  if (!m) throw new RangeError(`energy: bad width pair ${JSON.stringify(key)}`);
  return [Number(m[1]), Number(m[2])];
};

/** Compute and memory joules of operation counts and bits moved, under a table. */
export function price(ops: OpCounts, bits: BitsMoved, table: EnergyTable = DEFAULT_TABLE): { computeJoules: number; memoryJoules: number; totalJoules: number } {
  let compute = 0;
  for (const [key, n] of Object.entries(ops.intMuls)) compute += n * intMulJoules(...parsePair(key));
  for (const [w, n] of Object.entries(ops.intAdds)) compute += n * intAddJoules(Number(w));
  compute += ops.fpMuls * HOROWITZ_45NM.fpMul[32] + ops.fpAdds * HOROWITZ_45NM.fpAdd[32];
  const memory = ((bits.localRead + bits.localWrite) * per64(table.local) + (bits.mainRead + bits.mainWrite) * per64(table.main)) / 64;
  return { computeJoules: compute, memoryJoules: memory, totalJoules: compute + memory };
}

// ---- the counter and its report ---------------------------------------------------------------

export interface EnergyReport {
  /** The model and table: docs/energy.md. */
  model: string;
  /** "integer" (fixed, APT, qat8) or "float" (the fp32 trainer). */
  arithmetic: "integer" | "float";
  rounding: Rounding;
  /** Where each level is priced (Horowitz's SRAM/DRAM points, per 64-bit access). */
  levels: { main: MemoryPoint; local: MemoryPoint };
  /** Training steps counted (evaluation is not counted). */
  steps: number;
  totalJoules: number;
  computeJoules: number;
  memoryJoules: number;
  perStepJoules: number;
  /** The same recorded operations priced as fp32: every MAC an fp32 multiply and add, every
   *  output stage an fp32 multiply and add, every tensor element 32 bits. */
  fp32Joules: number;
  opCounts: OpCounts;
  /** Bytes moved per level (bits / 8). */
  bytes: BitsMoved;
  /** Joules by kernel call site ("conv2d0 forward", "dense7 weight update", ...). */
  byWhat: Record<string, number>;
}

export interface EnergyCounterOptions {
  arithmetic: "integer" | "float";
  /** The run's rounding: stochastic rounding also draws a random number per rounded element. */
  rounding?: Rounding;
  table?: EnergyTable;
}

export class EnergyCounter {
  steps = 0;
  readonly arithmetic: "integer" | "float";
  readonly rounding: Rounding;
  readonly table: EnergyTable;
  private readonly actual = new Map<string, Tally>();
  private readonly asFp32 = emptyTally();
  /** A training step repeats the same kernel calls step after step, so each distinct record is
   *  priced once (its tallies kept here) and counted; the counts are added to the totals when
   *  they are read. This keeps the counter out of a step's time (it was ~2% of a lenet5 step). */
  private readonly seen = new Map<string, { what: string; actual: Tally; asFp32: Tally; pending: number }>();

  constructor(o: EnergyCounterOptions) {
    if (o.arithmetic !== "integer" && o.arithmetic !== "float") {
      throw new RangeError(`energy: arithmetic must be "integer" or "float", got ${JSON.stringify(o.arithmetic)}`);
    }
    this.arithmetic = o.arithmetic;
    this.rounding = o.rounding ?? "nearest";
    this.table = o.table ?? DEFAULT_TABLE;
  }

  /** Counts one kernel call (bind it to an engine's onOp). */
  record(op: EnergyOp): void {
    const key = recordKey(op);
    let r = this.seen.get(key);
    if (!r) {
      const float = this.arithmetic === "float";
      r = { what: op.what, actual: emptyTally(), asFp32: emptyTally(), pending: 0 };
      tallyOp(r.actual, op, { float, as32: false, stochastic: !float && this.rounding === "stochastic" });
      tallyOp(r.asFp32, op, { float: true, as32: true, stochastic: false });
      this.seen.set(key, r);
    }
    r.pending++;
  }

  /** Adds the records counted since the last flush to the totals. */
  private flush(): void {
    for (const r of this.seen.values()) {
      if (r.pending === 0) continue;
      let t = this.actual.get(r.what);
      if (!t) this.actual.set(r.what, (t = emptyTally()));
      mergeInto(t, r.actual, r.pending);
      mergeInto(this.asFp32, r.asFp32, r.pending);
      r.pending = 0;
    }
  }

  /** The counts so far as plain data (a checkpoint keeps them; restore() takes them back). */
  snapshot(): { steps: number; actual: Record<string, Tally>; asFp32: Tally } {
    this.flush();
    return JSON.parse(JSON.stringify({ steps: this.steps, actual: Object.fromEntries(this.actual), asFp32: this.asFp32 }));
  }

  restore(s: { steps: number; actual: Record<string, Tally>; asFp32: Tally }): void {
    // Only the known fields are copied: a checkpoint's state is data from outside.
    const copy = (t: Tally): Tally => {
      const counts = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)]));
      return {
        ops: {
          macs: counts(t.ops.macs), intMuls: counts(t.ops.intMuls), intAdds: counts(t.ops.intAdds),
          fpMuls: Number(t.ops.fpMuls), fpAdds: Number(t.ops.fpAdds), randomDraws: Number(t.ops.randomDraws),
        },
        bits: {
          localRead: Number(t.bits.localRead), localWrite: Number(t.bits.localWrite),
          mainRead: Number(t.bits.mainRead), mainWrite: Number(t.bits.mainWrite),
        },
      };
    };
    this.steps = s.steps;
    for (const r of this.seen.values()) r.pending = 0;
    this.actual.clear();
    for (const [k, t] of Object.entries(s.actual)) this.actual.set(k, copy(t));
    const fp = copy(s.asFp32);
    this.asFp32.ops = fp.ops;
    this.asFp32.bits = fp.bits;
  }

  /** Marks the end of a training step (for perStepJoules). */
  endStep(): void {
    this.steps++;
  }

  report(): EnergyReport {
    this.flush();
    const total = emptyTally();
    const byWhat: Record<string, number> = {};
    const names = [...this.actual.keys()].sort();
    for (const what of names) {
      const t = this.actual.get(what)!;
      mergeInto(total, t);
      byWhat[what] = price(t.ops, t.bits, this.table).totalJoules;
    }
    const p = price(total.ops, total.bits, this.table);
    const fp = price(this.asFp32.ops, this.asFp32.bits, this.table);
    const sortKeys = (r: Record<string, number>, byNumber = false) => Object.fromEntries(Object.entries(r).sort(([a], [b]) =>
      byNumber ? Number(a) - Number(b) : a.localeCompare(b, "en", { numeric: true })));
    return {
      model: `${HOROWITZ_45NM.source}; widths scaled per docs/energy.md`,
      arithmetic: this.arithmetic,
      rounding: this.rounding,
      levels: { main: this.table.main, local: this.table.local },
      steps: this.steps,
      totalJoules: p.totalJoules,
      computeJoules: p.computeJoules,
      memoryJoules: p.memoryJoules,
      perStepJoules: this.steps > 0 ? p.totalJoules / this.steps : 0,
      fp32Joules: fp.totalJoules,
      opCounts: {
        ...total.ops,
        macs: sortKeys(total.ops.macs),
        intMuls: sortKeys(total.ops.intMuls),
        intAdds: sortKeys(total.ops.intAdds, true),
      },
      bytes: {
        localRead: total.bits.localRead / 8,
        localWrite: total.bits.localWrite / 8,
        mainRead: total.bits.mainRead / 8,
        mainWrite: total.bits.mainWrite / 8,
      },
      byWhat,
    };
  }
}

/** A report's energy under another table (e.g. main memory at the 32 KB point, or DRAM). */
export function reprice(r: Pick<EnergyReport, "opCounts" | "bytes">, table: EnergyTable): { computeJoules: number; memoryJoules: number; totalJoules: number } {
  const b = r.bytes;
  return price(r.opCounts, { localRead: b.localRead * 8, localWrite: b.localWrite * 8, mainRead: b.mainRead * 8, mainWrite: b.mainWrite * 8 }, table);
}

/**
 * qat8's float work per step that no kernel call reports: per weighted layer, quantizing the fp32
 * master (a max-|w| pass, then scale-and-round to `weightBits` codes; the bias to 16-bit codes)
 * and the SGD step on the master (w -= lr * g: read w and g, write w). Its f32 gradient store is
 * a GEMM ("store" mode) and is reported by the engine.
 */
export function masterWeightOps(layers: { name: string; weights: number; biases: number; weightBits: number }[]): EnergyOp[] {
  const out: EnergyOp[] = [];
  for (const l of layers) {
    for (const [n, bits, what] of [[l.weights, l.weightBits, "weights"], [l.biases, 16, "bias"]] as const) {
      if (n === 0) continue;
      out.push(
        { kind: "elementwise", what: `${l.name} master ${what} quantization`, op: "compare", elements: n, bits: 32, reads: n, writes: 0, float: true },
        { kind: "elementwise", what: `${l.name} master ${what} quantization`, op: "requant", elements: n, bits: 32, reads: n, writes: 0, float: true },
        { kind: "elementwise", what: `${l.name} master ${what} quantization`, op: "copy", elements: 0, bits, reads: 0, writes: n },
        { kind: "elementwise", what: `${l.name} master ${what} update`, op: "multiplyAdd", elements: n, bits: 32, reads: 2 * n, writes: n, float: true },
      );
    }
  }
  return out;
}
