// The engine: one wasm instance, its memory laid out by a Planner, and the typed operations that
// layers are written in. Layers speak in QTensors and views; this is the only place above the
// runtime that writes descriptors or calls the ABI (tests/engine-gateway.test.ts holds src/nn to it).
import { BudgetError, largestItems } from "../budget/errors.js";
import { Planner } from "../plan/plan.js";
import { maxCode, packedByteLength } from "../format/packed.js";
import { ROUND_NEAREST } from "../format/codes.js";
import {
  ROUNDING_CODE, STAGE_BYTES, VIEW_BYTES, kernelStatusError, readStage, viewCols, viewRows, writeStage, writeView,
  type Rounding, type Stage, type StageResult, type View,
} from "../runtime/descriptors.js";
import { instantiateAbi, resolveIsa, type AbiExports, type Isa, type IsaChoice } from "../runtime/wasm.js";
import { memoryLimitError, withMemoryLimits, WASM32_MAX_BYTES } from "../runtime/memory-limits.js";
import { chooseExponent, inputExponent, storageCols, storageRows, type QTensor } from "./quant.js";

const PAGE = 65536;
/** Painted over all memory above the module's data before anything is placed: the highest byte
 *  that no longer holds it is the measured high-water mark. */
const CANARY = 0xa5;
/** The smallest GEMM workspace the planner hands out: one 4x8 tile's panels, block and scratch
 *  at any widths fit comfortably, so every product still runs (slower, in smaller blocks). */
export const MIN_WORKSPACE = 4096;
/** The largest GEMM dimension the kernels take (their views hold dimensions as i32). */
const DIMENSION_MAX = 0x7fffffff;

export interface EngineOptions {
  /** Cap of the engine's memory in bytes (whole 64 KiB pages are used). */
  budgetBytes?: number;
}

/** Raised by finishPlan when the plan needs more than the budget. */
export class PlanTooLarge extends Error {
  constructor(readonly plannedBytes: number, readonly budgetBytes: number) {
    super(`the plan needs ${plannedBytes} bytes, more than the ${budgetBytes}-byte budget`);
  }
}

/** Per-purpose PRNG streams of a layer: stream = layer * STREAMS + purpose. */
export const STREAMS = 8;
export const PURPOSE = { forward: 0, backward: 1, update: 2, biasUpdate: 3, precision: 4, pool: 5, loss: 6, input: 7 } as const;

/** One kernel call, as the energy account counts it (src/energy/energy.ts). */
export type OpRecord =
  | { kind: "gemm"; what: string; mode: string; M: number; N: number; K: number; aBits: number; bBits: number; outBits: number }
  | { kind: "elementwise"; what: string; op: "compare" | "add" | "mask" | "requant" | "exp"; elements: number; bits: number; reads: number; writes: number };

/** Where a measured kernel call's time is filed (src/energy/profile.ts): a requantized product
 *  (forward output or input error, GEMM and output stage fused), exact scaling's extra pass, a
 *  product fused with the weight or bias update, a stored gradient (qat8), ReLU, pooling, the loss,
 *  a precision change, and the quantization of the input batch. */
export type TimeStage = "product" | "scaling" | "update" | "gradient" | "relu" | "pool" | "loss" | "precision" | "input";

export interface GemmShape {
  M: number;
  N: number;
  K: number;
  aBits: number;
  bBits: number;
}

/** A pooling layer's geometry: a kh x kw window moved sh rows and sw columns at a time over an
 *  [N, H, W, C] input, giving the [N, H', W', C] output. */
export interface PoolGeometry {
  input: readonly number[];
  output: readonly number[];
  kh: number;
  kw: number;
  sh: number;
  sw: number;
}

export type PoolKind = "maxPool" | "avgPool";

/** Where a fused call's time goes by its stage mode (product() files exact scaling's extra pass
 *  under "scaling" itself). */
const FUSED_STAGE: Record<Stage["mode"], TimeStage> = { store: "gradient", maxabs: "scaling", requant: "product", update: "update" };

/** How an output's exponent is found: two passes (exact: never saturates) or the previous
 *  step's exponent, corrected after the fact (delayed: one pass, may saturate, counted). */
export type Scaling = "exact" | "delayed";

/** Exponents a layer cannot combine within float64 (only a hostile or corrupted model reaches
 *  this): a RangeError with code APTKIT_NUMERIC_RANGE, naming the layer and the exponents. */
function numericRangeError(message: string): RangeError & { code: "APTKIT_NUMERIC_RANGE" } {
  return Object.assign(new RangeError(message), { code: "APTKIT_NUMERIC_RANGE" as const });
}

export class Engine {
  readonly plan: Planner;
  private readonly ctrl: number;
  private readonly scratch: number;
  private work = 0;
  private workBytes = 0;
  private workNeed = 0;
  private onesAt = 0;
  private onesLength = 0;
  /** Why a declared product cannot run (a dimension past the kernels' limit), or null. */
  private oversizeProduct: string | null = null;
  seed = 0;
  step = 0;
  rounding: Rounding = "stochastic";
  scaling: Scaling = "exact";
  /** Codes clamped by delayed scaling since the engine started. */
  saturatedCodes = 0;
  /** Called for every kernel call (the energy account listens here). */
  onOp: ((op: OpRecord) => void) | null = null;

  /** Called after every kernel call with its measured wall time (the step profile listens here).
   *  Null (the default) costs one test per call. */
  onTime: ((what: string, stage: TimeStage, ms: number) => void) | null = null;

  /** A start time for lap(), or 0 when nobody listens (performance.now() is then not called). */
  clock(): number {
    return this.onTime ? performance.now() : 0;
  }

  /** Reports the time since `started` (a clock() value) as one call of `what` in `stage`. */
  lap(started: number, what: string, stage: TimeStage): void {
    if (this.onTime) this.onTime(what, stage, performance.now() - started);
  }

  /** Reports an elementwise kernel call to onOp. */
  count(op: Omit<Extract<OpRecord, { kind: "elementwise" }>, "kind">): void {
    this.onOp?.({ kind: "elementwise", ...op });
  }

  /** The cap on memory, in bytes (a whole number of pages), or null when unbounded. */
  readonly budgetBytes: number | null;

  /** A planning-only engine: finishPlan lays out the plan but touches no memory. */
  readonly dryRun: boolean;
  /** Bytes of the .wasm build this engine runs (before the memory limits are written in). */
  codeBytes = 0;
  /** Why this build (resolveIsa's reason; see Kernels.isaReason). */
  isaReason = "";

  private constructor(readonly isa: Isa, readonly abi: AbiExports, budgetBytes: number | null, dryRun = false, planLimitBytes = WASM32_MAX_BYTES) {
    this.budgetBytes = budgetBytes;
    this.dryRun = dryRun;
    // A plan stops at the wasm32 ceiling as it is laid out (a dry one that only measures may run
    // on, to say how much a plan that fits nowhere would need).
    this.plan = new Planner(abi.heap_base(), planLimitBytes);
    this.ctrl = this.plan.reserve("kernel descriptors", "control", null, 3 * VIEW_BYTES + STAGE_BYTES);
    this.scratch = this.plan.reserve("kernel results", "control", null, 64);
  }

  static async create(isa: IsaChoice = "auto", options: EngineOptions = {}): Promise<Engine> {
    const resolved = await resolveIsa(isa);
    let bytes = resolved.bytes;
    let budget: number | null = null;
    if (options.budgetBytes !== undefined) {
      const pages = Math.floor(options.budgetBytes / PAGE);
      if (!(pages >= 1)) throw new RangeError(`budget ${options.budgetBytes} bytes is below one 64 KiB wasm page`);
      // The engine enforces the cap: memory.grow past `maximum` fails.
      bytes = withMemoryLimits(bytes, 1, pages);
      budget = pages * PAGE;
    }
    const engine = new Engine(resolved.isa, await instantiateAbi(bytes), budget);
    engine.codeBytes = resolved.bytes.byteLength;
    engine.isaReason = resolved.reason;
    return engine;
  }

  /**
   * A planning-only engine on the same module: for "what would this run need" questions (other
   * batches, widths, policies) without instantiating or growing anything. Its plan refuses what
   * a real one would (past the budget at finishPlan, past `planLimitBytes` as it is laid out);
   * with planLimitBytes = Infinity it measures plans of any size.
   */
  dry(budgetBytes: number | null = this.budgetBytes, planLimitBytes = WASM32_MAX_BYTES): Engine {
    const e = new Engine(this.isa, this.abi, budgetBytes === null ? null : Math.floor(budgetBytes / PAGE) * PAGE, true, planLimitBytes);
    e.codeBytes = this.codeBytes;
    return e;
  }

  get memory(): ArrayBuffer {
    return this.abi.memory.buffer;
  }

  /** Records a GEMM the run will make, so the shared workspace can be sized for the largest. */
  declareGemm(s: GemmShape): void {
    // The ABI takes u32 dimensions and the kernels' views hold them as i32: a larger one would
    // wrap into some other, smaller product. The workspace stops growing with a dimension long
    // before 2^31 (the blocks are capped), so the plan is still measured with it clamped, and
    // finishPlan refuses a plan that would run such a product.
    const dims = { M: s.M, N: s.N, K: s.K };
    for (const [k, v] of Object.entries(dims)) {
      if (v > DIMENSION_MAX && this.oversizeProduct === null) {
        this.oversizeProduct = `engine: a ${s.M}x${s.N}x${s.K} product has ${k} = ${v}, beyond the kernels' dimension limit of 2^31 - 1`;
      }
    }
    const clamp = (v: number) => Math.min(v, DIMENSION_MAX);
    // usize arrives as i32: `>>> 0` reads it as the unsigned size it is.
    const bytes = this.abi.gemm_fused_workspace_bytes(clamp(s.M), clamp(s.N), clamp(s.K), s.aBits, s.bBits) >>> 0;
    this.workNeed = Math.max(this.workNeed, bytes);
  }

  /** declareGemm for op(a) * op(b). */
  declareProduct(a: View, b: View): void {
    const M = a.trans ? viewCols(a) : viewRows(a);
    const K = a.trans ? viewRows(a) : viewCols(a);
    const N = b.trans ? viewRows(b) : viewCols(b);
    this.declareGemm({ M, N, K, aBits: a.bits, bBits: b.bits });
  }

  /** Records that a bias gradient sums over `rows` rows (a row of ones of that length is kept). */
  declareOnes(rows: number): void {
    this.onesLength = Math.max(this.onesLength, rows);
  }

  /**
   * Ends planning: reserves the ones row and the GEMM workspace (as large as the products want,
   * or what the budget leaves, at least MIN_WORKSPACE), then grows memory to the plan. Throws
   * PlanTooLarge before touching memory when the plan exceeds the budget.
   */
  finishPlan(): void {
    const onesBytes = Math.ceil((this.onesLength * 2) / 32) * 4;
    this.onesAt = this.plan.reserve("ones row (bias gradients)", "workspace", null, onesBytes);
    const left = this.budgetBytes === null ? Infinity : this.budgetBytes - Math.ceil(this.plan.peakBytes / 16) * 16;
    this.workBytes = Math.max(MIN_WORKSPACE, Math.min(this.workNeed, left));
    this.work = this.plan.reserve("GEMM workspace", "workspace", null, this.workBytes);
    if (this.budgetBytes !== null && this.plan.peakBytes > this.budgetBytes) {
      throw new PlanTooLarge(this.plan.peakBytes, this.budgetBytes);
    }
    // A plan that is only measured (no limit) may hold it; one that could run may not.
    if (this.oversizeProduct !== null && this.plan.limitBytes !== Infinity) throw new RangeError(this.oversizeProduct);
    if (this.dryRun) return;
    this.ensureMemory(this.plan.peakBytes);
    const base = this.abi.heap_base();
    new Uint8Array(this.memory, base, this.memory.byteLength - base).fill(CANARY);
    new Uint8Array(this.memory, this.work, this.workBytes).fill(0);
    // Code 1 at 2 bits is 0b01 in every 2-bit field.
    new Uint8Array(this.memory, this.onesAt, onesBytes).fill(0x55);
    const tailBits = (this.onesLength * 2) % 32;
    if (tailBits !== 0) {
      const last = new Uint32Array(this.memory, this.onesAt + onesBytes - 4, 1);
      last[0] &= (2 ** tailBits - 1) >>> 0;
    }
  }

  /** The GEMM workspace the plan gave (bytes). */
  get workspaceBytes(): number {
    return this.workBytes;
  }

  /** What the products would use with no budget. */
  get workspaceWanted(): number {
    return this.workNeed;
  }

  /** One past the highest byte written since the plan was finished. */
  measuredPeakBytes(): number {
    const mem = new Uint8Array(this.memory);
    let i = mem.length;
    while (i > 0 && mem[i - 1] === CANARY) i--;
    return i;
  }

  ensureMemory(bytes: number): void {
    const have = this.abi.memory.buffer.byteLength;
    if (bytes <= have) return;
    try {
      this.abi.memory.grow(Math.ceil((bytes - have) / PAGE));
    } catch (e) {
      // The memory's maximum is the budget: the wasm engine itself refused to grow past it.
      if (e instanceof RangeError && this.budgetBytes !== null) {
        throw new BudgetError({ budgetBytes: this.budgetBytes, plannedBytes: bytes, largest: largestItems(this.plan), suggestions: [] });
      }
      // No budget: the plan is under the wasm32 ceiling (the planner saw to that), but this
      // engine could not reserve it.
      if (e instanceof RangeError) {
        throw memoryLimitError({
          what: "the engine's plan", bytes, endBytes: bytes, limitBytes: have,
          limitName: `memory this engine holds (growing it failed: ${e.message})`,
        }, e);
      }
      throw e;
    }
  }

  /** The row of `rows` ones (2-bit codes) as a 1 x rows operand. */
  ones(rows: number): View {
    if (rows > this.onesLength) throw new RangeError(`engine: ones row of ${rows} requested, ${this.onesLength} planned`);
    return { kind: "plain", at: this.onesAt, bits: 2, rows: 1, cols: rows };
  }

  /** Reports a GEMM to onOp. */
  private countGemm(a: View, b: View, mode: string, outBits: number, what: string): void {
    if (!this.onOp) return;
    const M = a.trans ? viewCols(a) : viewRows(a);
    const K = a.trans ? viewRows(a) : viewCols(a);
    const N = b.trans ? viewRows(b) : viewCols(b);
    this.onOp({ kind: "gemm", what, mode, M, N, K, aBits: a.bits, bBits: b.bits, outBits });
  }

  /** One fused GEMM call (reported to onOp unless `counted` is false). */
  fused(a: View, b: View, out: View | null, stage: Stage, what: string, counted = true, timeStage: TimeStage = FUSED_STAGE[stage.mode]): StageResult {
    if (counted) this.countGemm(a, b, stage.mode, out?.bits ?? 0, what);
    const started = this.clock();
    const mem = this.memory;
    const va = this.ctrl, vb = va + VIEW_BYTES, vo = vb + VIEW_BYTES, st = vo + VIEW_BYTES;
    writeView(mem, va, a);
    writeView(mem, vb, b);
    if (out) writeView(mem, vo, out);
    else new Int32Array(mem, vo, VIEW_BYTES / 4).fill(0);
    writeStage(mem, st, { seed: this.seed, step: this.step, rounding: this.rounding, ...stage });
    const status = this.abi.gemm_fused(va, vb, vo, st, this.work, this.workBytes);
    this.lap(started, what, timeStage);
    if (status !== 0) throw kernelStatusError(what, "gemm_fused", status);
    return readStage(this.memory, st);
  }

  /**
   * out = requantize(op(a) * op(b) + bias) at out.bits, with the exponent chosen from the largest
   * magnitude (exact scaling) or carried from `previousExp` (delayed). Returns the exponent.
   */
  product(
    a: View, b: View, out: View, accExp: number,
    opts: {
      bias?: { at: number; bits: number; exp: number }; relu?: boolean; stream: number; previousExp?: number;
      /** Exact scaling: the exponent to try first (default previousExp); any guess gives the same result. */
      guessExp?: number; what: string;
    },
  ): { exp: number; nextExp: number } {
    // Exponents stay far inside float64's range in training; a hostile model file could push their
    // sum out of it, which would make every scale 0 or infinite.
    if (!Number.isInteger(accExp) || Math.abs(accExp) > 2000) throw numericRangeError(`${opts.what}: accumulator exponent ${accExp} is outside -2000..2000`);
    const bias = opts.bias ? { at: opts.bias.at, bits: opts.bias.bits, scale: 2 ** (opts.bias.exp - accExp) } : undefined;
    if (bias && !(Number.isFinite(bias.scale) && bias.scale > 0)) {
      throw numericRangeError(`${opts.what}: bias exponent ${opts.bias!.exp} and accumulator exponent ${accExp} are too far apart for float64`);
    }
    const delayed = this.scaling === "delayed" && opts.previousExp !== undefined;
    let exp: number;
    if (!delayed) {
      const guess = opts.guessExp ?? opts.previousExp;
      if (guess !== undefined) {
        // Exact scaling in one pass when the exponent repeats: requantize at the previous step's
        // exponent while taking the maximum, and keep the codes when the maximum chooses that same
        // exponent. The codes depend only on the operands, the exponent and the draw counters, so
        // they are the ones the two-pass order writes; otherwise they are written again below.
        // The energy account prices exact scaling as its two passes whichever way this goes (the
        // cost a step is planned at, the same every step): the first call is counted as the
        // maximum pass, the requantization once.
        this.countGemm(a, b, "maxabs", 0, opts.what);
        const r = this.fused(a, b, out, {
          mode: "requant", bias, relu: opts.relu, stream: opts.stream, scale: 2 ** (accExp - guess), trackMax: true,
        }, opts.what, false);
        exp = chooseExponent(r.maxAbs, accExp, out.bits, this.rounding);
        if (exp === guess) {
          this.countGemm(a, b, "requant", out.bits, opts.what);
          this.saturatedCodes += r.saturated;
          return { exp, nextExp: exp };
        }
      } else {
        const r = this.fused(a, b, null, { mode: "maxabs", bias, relu: opts.relu, stream: opts.stream }, opts.what);
        exp = chooseExponent(r.maxAbs, accExp, out.bits, this.rounding);
      }
    } else {
      exp = opts.previousExp!;
    }
    // A second requantizing pass after a missed guess is what exact scaling costs over one pass.
    const repeat = !delayed && (opts.guessExp ?? opts.previousExp) !== undefined;
    // Delayed scaling has the REQUANT pass track the largest magnitude it requantized (the same
    // blockMaxAbs as exact scaling's maximum pass, in registers), so the next step starts from the
    // exponent exact scaling would have chosen for this step: no second pass over the output, and
    // a saturated output still yields its true range.
    const r = this.fused(a, b, out, {
      mode: "requant", bias, relu: opts.relu, stream: opts.stream, scale: 2 ** (accExp - exp), trackMax: delayed,
    }, opts.what, true, repeat ? "scaling" : "product");
    this.saturatedCodes += r.saturated;
    if (!delayed) return { exp, nextExp: exp };
    const rows = out.kind === "im2col" ? out.n * out.h : viewRows(out);
    const cols = out.kind === "im2col" ? out.w * out.c : viewCols(out);
    this.count({ what: opts.what, op: "compare", elements: rows * cols, bits: out.bits, reads: 0, writes: 0 });
    return { exp, nextExp: r.maxAbs > 0 ? chooseExponent(r.maxAbs, accExp, out.bits, this.rounding) : exp };
  }

  /** W += round(scale * op(a) * op(b)) in place on the weights view; returns the statistics. */
  update(a: View, b: View, weights: View, scale: number, stream: number, what: string): StageResult {
    return this.fused(a, b, weights, { mode: "update", scale, stream }, what);
  }

  // ---- auxiliary kernels ----------------------------------------------------------------------

  /** Throws the decoded refusal (src/runtime/descriptors.ts kernelStatusError) for a non-zero
   *  status of export `exportName` called for `what`. */
  check(status: number, what: string, exportName = "wasm kernel"): void {
    if (status !== 0) throw kernelStatusError(what, exportName, status);
  }

  roundingCode(): number {
    return ROUNDING_CODE[this.rounding];
  }

  /** Precision change in place; returns the number of codes clamped. */
  changePrecision(at: number, rows: number, cols: number, from: number, to: number, stream: number, what: string): number {
    this.count({ what, op: "requant", elements: rows * cols, bits: Math.max(from, to), reads: rows * cols, writes: rows * cols });
    const started = this.clock();
    const status = this.abi.change_precision(at, rows, cols, from, to, this.roundingCode(), this.seed, this.step, stream, this.scratch);
    this.lap(started, what, "precision");
    this.check(status, what, "change_precision");
    return new Int32Array(this.memory, this.scratch, 2)[1];
  }

  softmaxCrossEntropy(
    logits: { at: number; n: number; classes: number; bits: number; exp: number },
    labelsAt: number, errAt: number, errBits: number, stream: number,
  ): { loss: number; correct: number; errExp: number } {
    const s = this.scratch;
    const n = logits.n * logits.classes;
    this.count({ what: "loss", op: "exp", elements: n, bits: logits.bits, reads: n, writes: n });
    const started = this.clock();
    const status = this.abi.softmax_cross_entropy(
      logits.at, logits.n, logits.classes, logits.bits, logits.exp, labelsAt, 1, errBits,
      this.roundingCode(), this.seed, this.step, stream, errAt, s, s + 8, s + 12,
    );
    this.lap(started, "loss", "loss");
    if (status > 0) throw new RangeError(`loss: label of sample ${status - 1} is outside 0..${logits.classes - 1}`);
    this.check(status, "loss", "softmax_cross_entropy");
    const mem = this.memory;
    return {
      loss: new Float64Array(mem, s, 1)[0],
      correct: new Int32Array(mem, s + 8, 1)[0],
      errExp: new Int32Array(mem, s + 12, 1)[0],
    };
  }

  /** max(x, 0) in place on x's codes. */
  reluForward(x: QTensor, what: string): void {
    const rows = storageRows(x.shape), cols = storageCols(x.shape);
    const n = rows * cols;
    this.count({ what, op: "compare", elements: n, bits: x.bits, reads: n, writes: n });
    const started = this.clock();
    const status = this.abi.relu_forward(x.at, rows, cols, x.bits);
    this.lap(started, what, "relu");
    this.check(status, what, "relu_forward");
  }

  /** ReLU's backward in place on dy: zeroes the errors where the saved output y is not positive. */
  reluBackward(y: QTensor, dy: QTensor, what: string): void {
    const rows = storageRows(dy.shape), cols = storageCols(dy.shape);
    this.count({ what, op: "mask", elements: rows * cols, bits: dy.bits, reads: 2 * rows * cols, writes: rows * cols });
    const started = this.clock();
    const status = this.abi.relu_backward(y.at, y.bits, dy.at, dy.bits, rows, cols, dy.at);
    this.lap(started, what, "relu");
    this.check(status, what, "relu_backward");
  }

  /** Pools x into the codes at outAt (same width and exponent as x). Average pooling rounds its
   *  means with the engine's rounding, drawing from `stream`; max pooling draws nothing. */
  poolForward(kind: PoolKind, x: QTensor, g: PoolGeometry, outAt: number, stream: number, what: string): void {
    const [n, h, w, c] = g.input;
    const { kh, kw, sh, sw } = g;
    const outN = g.output.reduce((a, b) => a * b, 1);
    this.count({ what, op: kind === "maxPool" ? "compare" : "add",
      elements: outN * kh * kw, bits: x.bits, reads: outN * kh * kw, writes: outN });
    const started = this.clock();
    const status = kind === "maxPool"
      ? this.abi.max_pool_forward(x.at, n, h, w, c, x.bits, kh, kw, sh, sw, outAt)
      : this.abi.avg_pool_forward(x.at, n, h, w, c, x.bits, kh, kw, sh, sw, this.roundingCode(), this.seed, this.step, stream, outAt);
    this.lap(started, what, "pool");
    this.check(status, what, kind === "maxPool" ? "max_pool_forward" : "avg_pool_forward");
  }

  /** The error to a pooling layer's input, written at dxAt at dy's width: max pooling routes each
   *  error to its window's maximum in the saved input x (clamps counted in the stats slot);
   *  average pooling spreads it over the window, rounding with the engine's rounding from `stream`. */
  poolBackward(kind: PoolKind, x: QTensor, dy: QTensor, g: PoolGeometry, dxAt: number, stream: number, what: string): void {
    const [n, h, w, c] = g.input;
    const { kh, kw, sh, sw } = g;
    const inN = n * h * w * c;
    this.count({ what, op: kind === "maxPool" ? "compare" : "add", elements: inN, bits: dy.bits, reads: 2 * inN, writes: inN });
    const started = this.clock();
    const status = kind === "maxPool"
      ? this.abi.max_pool_backward(x.at, n, h, w, c, x.bits, kh, kw, sh, sw, dy.at, dy.bits, dxAt, this.statsAt)
      : this.abi.avg_pool_backward(dy.at, n, h, w, c, dy.bits, kh, kw, sh, sw, this.roundingCode(), this.seed, this.step, stream, dxAt);
    this.lap(started, what, "pool");
    this.check(status, what, kind === "maxPool" ? "max_pool_backward" : "avg_pool_backward");
  }

  /** Quantizes rows x cols f32 values at `src` into packed codes at out.bits, rounding to nearest
   *  (QAT's fake quantization: no draws); returns the exponent chosen. */
  quantizeFloatsNearest(src: number, out: { at: number; rows: number; cols: number; bits: number }, what: string): number {
    const expAt = this.scratch + 32;
    const started = this.clock();
    const status = this.abi.quantize_f32(src, out.rows, out.cols, out.bits, ROUND_NEAREST, this.seed, this.step, 0, out.at, expAt);
    this.lap(started, what, "precision");
    this.check(status, what, "quantize_f32");
    return new Int32Array(this.memory, expAt, 1)[0];
  }

  /**
   * Quantizes a batch of floats (the data edge) into the packed matrix `out`: the exponent from
   * the largest magnitude (inputExponent), each code x * 2^-exp rounded half up. Fewer values than
   * rows x cols leave the rest 0. Returns the exponent, or null when a value is NaN or infinite
   * (the caller finds and names it; `out` is then untouched).
   *
   * The floats reach wasm memory through the GEMM workspace, which holds nothing between kernel
   * calls: the whole batch at once when it fits (one copy for both passes), else chunk by chunk,
   * the maximum over every chunk and then the rounding of each, so the plan holds no float batch.
   * Not counted for energy (docs/energy.md: the data edge is not).
   */
  quantizeInput(data: Float32Array, out: { at: number; rows: number; cols: number; bits: number }, what: string): number | null {
    const { rows, cols, bits } = out;
    const n = data.length;
    if (n > rows * cols) throw new RangeError(`${what}: ${n} values for a ${rows}x${cols} matrix`);
    const started = this.clock();
    const chunk = Math.floor(this.workBytes / 4);
    const whole = n <= chunk;
    const stage = (from: number, count: number) => new Float32Array(this.memory, this.work, count).set(data.subarray(from, from + count));
    let maxAbs = 0;
    if (whole) stage(0, n);
    for (let from = 0; from < n; from += chunk) {
      const count = Math.min(chunk, n - from);
      if (!whole) stage(from, count);
      const m = this.abi.input_max_abs_f32(this.work, count);
      if (m < 0) this.check(m, what, "input_max_abs_f32");
      // Math.max keeps a NaN.
      maxAbs = Math.max(maxAbs, m);
    }
    if (Number.isNaN(maxAbs) || maxAbs === Infinity) {
      this.lap(started, what, "input");
      return null;
    }
    const exp = inputExponent(maxAbs, bits);
    // The kernel zeroes a row's padding with its last element; rows it never reaches stay as they are.
    if (n < rows * cols) new Uint8Array(this.memory, out.at, packedByteLength(rows, cols, bits)).fill(0);
    for (let from = 0; from < n; from += chunk) {
      const count = Math.min(chunk, n - from);
      if (!whole) stage(from, count);
      this.check(this.abi.input_round_f32(this.work, count, exp, bits, out.at, rows, cols, from), what, "input_round_f32");
    }
    this.lap(started, what, "input");
    return exp;
  }

  /** The clamped-element count a kernel wrote to the scratch stats slot. */
  lastStat(): number {
    return new Int32Array(this.memory, this.scratch, 1)[0];
  }

  get statsAt(): number {
    return this.scratch;
  }
}

export { maxCode };
