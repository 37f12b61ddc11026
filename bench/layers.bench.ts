// Question: where does one LeNet-5 training step (28x28 input, batch 32, 8-bit weights, activations
// and errors) spend its time, layer by layer and GEMM by GEMM, in the SIMD and scalar builds; and
// inside the GEMMs, how much goes to the micro-kernel, to packing (operand views, panel interleave)
// and to the fused output stages?
//
//   node --import tsx bench/layers.bench.ts [--quick] [--json FILE] [--lr X] [--warmup N] [--clock wall|cpu]
//
// Method (bench/README.md has the long form):
// - Both builds train the same model on the same bundled digits (`--warmup` steps, lr 0.05 like the
//   trainer's default), then one more step is *recorded*: every layer's forward input and backward
//   error, every engine.fused call (views and stage), the loss call, and a copy of the planned
//   memory before each. Timing then replays those calls directly: layer.forward(x),
//   layer.backward(dy, lr), engine.fused(...), on the tensors the real step produced, so the data
//   (and with it the update stage's branch pattern) is realistic.
// - A task first puts back the memory its call saw (buffers are shared: the two error buffers
//   alternate), and before every sample the weights and biases as they were after the recorded
//   step, so repeated updates never drift the state, at any lr. Neither copy is timed.
// - The GEMM split is a model, not a measurement (the micro-kernel cannot be switched off from
//   outside). Per call: kernel~ = MACs of the padded 4x8 tiles at the rate of a plain 256x256xK'
//   GEMM of the same build; pack = dense twin (the same fused call on dense row-major operands,
//   MAXABS stage) - kernel~; views = maxabs twin (the call's own views, MAXABS stage) - dense twin;
//   stage = call - maxabs twin. They add up to the call. Each call is also compared with a plain
//   gemm() of the same M, N, K and widths on dense packed operands (prepareGemm, f64 C).
// - Everything is one process, many short interleaved tinybench rounds (order reversed on odd
//   rounds), samples pooled over rounds, medians of the pool; ratios against same-run figures.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { Bench, type Fn } from "tinybench";
import { gather, type Dataset } from "../src/data/dataset.js";
import { digits } from "../src/data/digits.js";
import { createKernels, type Kernels, type PreparedGemm } from "../src/kernels/kernels.js";
import { maxCode, packedByteLength, type PackedMatrix } from "../src/format/packed.js";
import { Engine } from "../src/engine/engine.js";
import type { Layer } from "../src/nn/layer.js";
import { LinearLayer } from "../src/nn/layers/linear.js";
import { lenet5, Model } from "../src/nn/model.js";
import type { QTensor } from "../src/engine/quant.js";
import { viewCols, viewRows, type Stage, type StageResult, type View } from "../src/runtime/descriptors.js";
import type { Isa } from "../src/runtime/wasm.js";
import { benchArgs, numberFlag } from "./args.js";

// ---------------------------------------------------------------------------------------------
// Configuration

const flags = benchArgs({ lr: { type: "string" }, warmup: { type: "string" } });
const args = {
  ...flags,
  lr: numberFlag("lr", flags.own.lr, 0.05, (x) => x > 0 && Number.isFinite(x), "a positive number"),
  warmup: numberFlag("warmup", flags.own.warmup, 20, (x) => Number.isInteger(x) && x >= 0, "a non-negative integer"),
};
const BATCH = 32;
const WIDTHS = { actBits: 8, errBits: 8, weightBits: 8, maxWeightBits: 8 } as const;
// See gemm.bench.ts: the machine is shared, so every task of both builds is in each round.
const ROUNDS = args.quick ? 3 : 12;
const OPTIONS = args.quick
  ? { time: 15, iterations: 1, warmupTime: 10, warmupIterations: 1 }
  : { time: 30, iterations: 1, warmupTime: 20, warmupIterations: 1 };
// The clock of a sample. cpu (default): the process's user + system CPU time (getrusage: exact to
// the microsecond, ~3.5 us a read), which leaves out the time the thread spends descheduled. wall:
// tinybench's clock, as in gemm.bench.ts. On a machine shared with other jobs, wall time inflates a
// call by the time it waits for a core: calls longer than a scheduler slice (the convs, the whole
// step) more than short ones, so under load the shares of wall-clock medians lean towards the long
// calls and the model's differences go negative (seen here at load 5 on 2 cores: parts adding up to
// 87-115 % of the step). CPU time still sees cache contention, and counts every thread of the
// process, so V8's helper threads (parallel scavenges) land on the task that caused them.
const cpuNowMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
// Calls shorter than this are repeated within one sample: timer overhead stays under ~1 %.
const MIN_SAMPLE_MS = args.clock === "cpu" ? 0.5 : 0.05;

const log = (s: string) => process.stderr.write(s + "\n");

// ---------------------------------------------------------------------------------------------
// One build: a trained model, its recorded step, and the replays

type Purpose = "fwd maxabs" | "fwd requant" | "dX maxabs" | "dX requant" | "dW update" | "db update";

/** One product of a layer (forward, input error, weight or bias update): one or two fused calls. */
type Product = "fwd" | "dX" | "dW" | "db";

interface FusedCall {
  layer: string;
  purpose: Purpose;
  product: Product;
  a: View; b: View; out: View | null; stage: Stage; what: string;
  M: number; N: number; K: number; aBits: number; bBits: number;
  /** Memory as it was when the call was made (its inputs intact). */
  memory: Snapshot;
}

interface Recording {
  x: (QTensor | null)[];
  dy: (QTensor | null)[];
  /** Memory just before each layer's forward / backward call. */
  beforeForward: (Snapshot | null)[];
  beforeBackward: (Snapshot | null)[];
  calls: FusedCall[];
  loss: { args: Parameters<Engine["softmaxCrossEntropy"]>; value: number; memory: Snapshot };
}

/** A copy of the planned part of wasm memory. */
interface Snapshot { at: number; bytes: Uint8Array }

interface Side {
  isa: Isa;
  engine: Engine;
  model: Model;
  kernels: Kernels;
  rec: Recording;
  restore: () => void;
  images: Float32Array;
  labels: Uint8Array;
  weightHash: string;
  /** Where the dense twins' operands go: above everything the plan placed. */
  denseAt: number;
}

function purposeOf(what: string, mode: Stage["mode"]): { layer: string; purpose: Purpose; product: Product } {
  const m = /^(.*) (forward|input error|weight update|bias update)$/.exec(what);
  if (!m) throw new Error(`unrecognised fused call ${JSON.stringify(what)}`);
  const [, layer, kind] = m;
  if (kind === "forward" && (mode === "maxabs" || mode === "requant")) return { layer, purpose: `fwd ${mode}`, product: "fwd" };
  if (kind === "input error" && (mode === "maxabs" || mode === "requant")) return { layer, purpose: `dX ${mode}`, product: "dX" };
  if (kind === "weight update" && mode === "update") return { layer, purpose: "dW update", product: "dW" };
  if (kind === "bias update" && mode === "update") return { layer, purpose: "db update", product: "db" };
  throw new Error(`unexpected ${mode} call ${JSON.stringify(what)}`);
}

function productShape(a: View, b: View) {
  return {
    M: a.trans ? viewCols(a) : viewRows(a),
    K: a.trans ? viewRows(a) : viewCols(a),
    N: b.trans ? viewRows(b) : viewCols(b),
  };
}

function batchOf(ds: Dataset, index: number, images: Float32Array, labels: Uint8Array): void {
  const idx = Array.from({ length: BATCH }, (_, i) => (index * BATCH + i) % ds.count);
  gather(ds, idx, images, labels);
}

async function prepareSide(isa: Isa, train: Dataset): Promise<Side> {
  const engine = await Engine.create(isa);
  if (engine.isa !== isa) throw new Error(`asked for the ${isa} build, got ${engine.isa}`);
  engine.seed = 1;
  const model = new Model(lenet5(), engine, { batch: BATCH, seed: 1, ...WIDTHS });
  const size = 28 * 28;
  const images = new Float32Array(BATCH * size), labels = new Uint8Array(BATCH);
  for (let s = 0; s < args.warmup; s++) {
    batchOf(train, s, images, labels);
    model.trainStep(images, labels, args.lr);
  }
  batchOf(train, args.warmup, images, labels);
  // Exact scaling takes one pass where the previous step's exponent repeats (engine.product), and
  // the rows below split each product into its MAXABS and REQUANT calls: forgetting the carried
  // exponents makes the recorded step take both passes (same codes either way). The timed "step"
  // rows still run the real, mostly one-pass, step.
  for (const l of model.layers) if (l instanceof LinearLayer) l.restoreScalingState({ output: null, inputError: null });

  // Record one real step: instance properties shadow the prototype methods, then are deleted.
  // Buffers are shared (the model alternates two error buffers, so a layer's input error
  // overwrites the error the layer after it consumed), hence a copy of the planned memory before
  // every recorded call: a replay first puts back the memory its call saw.
  const layers = model.layers;
  // Everything the plan placed (not the module's own data and stack below it).
  const peak = engine.plan.peakBytes;
  const base = engine.plan.reservations.find((r) => r.category !== "module")!.offset;
  const copy = (): Snapshot => ({ at: base, bytes: new Uint8Array(engine.memory, base, peak - base).slice() });
  const rec: Recording = {
    x: layers.map(() => null), dy: layers.map(() => null),
    beforeForward: layers.map(() => null), beforeBackward: layers.map(() => null), calls: [], loss: null!,
  };
  layers.forEach((l, i) => {
    const fwd = l.forward.bind(l), bwd = l.backward.bind(l);
    Object.assign(l, {
      forward: (x: QTensor) => { rec.x[i] = x; rec.beforeForward[i] = copy(); return fwd(x); },
      backward: (dy: QTensor, lr: number) => { rec.dy[i] = dy; rec.beforeBackward[i] = copy(); return bwd(dy, lr); },
    });
  });
  const fused = engine.fused.bind(engine), sce = engine.softmaxCrossEntropy.bind(engine);
  Object.assign(engine, {
    fused: (a: View, b: View, out: View | null, stage: Stage, what: string): StageResult => {
      rec.calls.push({ ...purposeOf(what, stage.mode), a, b, out, stage, what, ...productShape(a, b), aBits: a.bits, bBits: b.bits, memory: copy() });
      return fused(a, b, out, stage, what);
    },
    softmaxCrossEntropy: (...p: Parameters<Engine["softmaxCrossEntropy"]>) => {
      const memory = copy();
      const r = sce(...p);
      rec.loss = { args: p, value: r.loss, memory };
      return r;
    },
  });
  model.trainStep(images, labels, args.lr);
  for (const l of layers) { delete (l as Partial<Layer>).forward; delete (l as Partial<Layer>).backward; }
  delete (engine as Partial<Engine>).fused;
  delete (engine as Partial<Engine>).softmaxCrossEntropy;

  // Weights and biases as they were after the recorded step; restored before every sample.
  const regions = engine.plan.reservations.filter((r) => r.category === "weights" || r.category === "biases" || r.category === "master");
  const saved = regions.map((r) => new Uint8Array(engine.memory, r.offset, r.bytes).slice());
  const restore = () => {
    const mem = engine.memory;
    for (let i = 0; i < regions.length; i++) new Uint8Array(mem, regions[i].offset, regions[i].bytes).set(saved[i]);
  };
  const hash = createHash("sha256");
  for (const s of saved) hash.update(s);
  // Room above the plan for the dense operands of the "dense" twins (written by their beforeAll).
  const denseAt = Math.ceil(peak / 64) * 64;
  let denseBytes = 0;
  for (const c of rec.calls) denseBytes = Math.max(denseBytes, packedByteLength(c.M, c.K, c.aBits) + 64 + packedByteLength(c.K, c.N, c.bBits));
  engine.ensureMemory(denseAt + denseBytes);
  return {
    isa, engine, model, kernels: await createKernels({ isa }), rec, restore, images, labels,
    weightHash: hash.digest("hex").slice(0, 12), denseAt,
  };
}

/** Puts back the planned memory as a recorded call saw it (untimed: beforeAll of a task). */
function restoreMemory(engine: Engine, s: Snapshot): void {
  new Uint8Array(engine.memory, s.at, s.bytes.length).set(s.bytes);
}

// ---------------------------------------------------------------------------------------------
// Tasks

interface Task {
  name: string;
  isa: Isa;
  call: () => void;
  beforeAll?: () => void;
  restore: () => void;
  latencyMs: number;
}

/** Per-call latency in ms (restoring state first, as the timed samples do). */
function estimateLatency(call: () => void, restore: () => void, beforeAll?: () => void): number {
  beforeAll?.();
  restore(); call();
  let n = 0, dt = 0;
  const t0 = performance.now();
  do { restore(); const t = performance.now(); call(); dt += performance.now() - t; n++; } while (performance.now() - t0 < 5 && n < 1000);
  return dt / n;
}

/** A tinybench task: restore (untimed), then `batch` calls timed; reports the per-call time. */
function sampled(bench: Bench, t: Task): Fn {
  const batch = Math.max(1, Math.ceil(MIN_SAMPLE_MS / t.latencyMs));
  const now = args.clock === "cpu" ? cpuNowMs : () => bench.now();
  return () => {
    const r0 = bench.now();
    t.restore();
    const t0 = now();
    for (let i = 0; i < batch; i++) t.call();
    const t1 = now();
    return { overriddenDuration: (t1 - t0) / batch, overriddenIterationCost: bench.now() - r0 };
  };
}

function randomCodes(n: number, bits: number, seed: number): Int32Array {
  let s = seed >>> 0;
  const m = maxCode(bits), out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (2 * m + 1)) - m;
  }
  return out;
}

/** A plain GEMM task (A M x K, B K x N, dense packed codes) on a build's Kernels object.
 *  prepareGemm reuses the Kernels' memory, so operands are placed in beforeAll (untimed). */
function plainTask(side: Side, name: string, M: number, N: number, K: number, aBits: number, bBits: number): Task {
  const a: PackedMatrix = side.kernels.pack(randomCodes(M * K, aBits, M * 7 + K), M, K, aBits);
  const b: PackedMatrix = side.kernels.pack(randomCodes(K * N, bBits, N * 13 + K), K, N, bBits);
  let g: PreparedGemm | null = null;
  const beforeAll = () => { g = side.kernels.prepareGemm(a, b); };
  const call = () => g!.run();
  const noop = () => {};
  return { name, isa: side.isa, call, beforeAll, restore: noop, latencyMs: estimateLatency(call, noop, beforeAll) };
}

const callKey = (c: { layer: string; purpose: string }) => `${c.layer} ${c.purpose}`;
const productKey = (c: { layer: string; product: string }) => `${c.layer} ${c.product}`;
const PROBE = 256;
/** The K of the micro-kernel probe that stands for a call: its padded K, capped at two K blocks
 *  (beyond that the blocking repeats). */
const probeK = (K: number) => Math.min(Math.ceil(K / 2) * 2, 512);

function tasksOf(side: Side): Task[] {
  const { engine, model, rec, restore, isa } = side;
  const tasks: Task[] = [];
  const add = (name: string, call: () => void, beforeAll?: () => void) => {
    tasks.push({ name: `${isa}|${name}`, isa, call, beforeAll, restore, latencyMs: estimateLatency(call, restore, beforeAll) });
  };
  const at = (snapshot: Snapshot | null) => {
    if (!snapshot) throw new Error("unreachable: a replayed call without its recorded memory");
    return () => restoreMemory(engine, snapshot);
  };
  add("step", () => model.trainStep(side.images, side.labels, args.lr));
  add("step delayed", () => {
    engine.scaling = "delayed";
    try { model.trainStep(side.images, side.labels, args.lr); } finally { engine.scaling = "exact"; }
  });
  // Private on Model; reached here only to attribute the host's quantize-and-pack of the input.
  const loadBatch = (model as unknown as { loadBatch(i: Float32Array, l: Uint8Array, n: number): void }).loadBatch.bind(model);
  add("input", () => loadBatch(side.images, side.labels, BATCH));
  add("loss", () => engine.softmaxCrossEntropy(...rec.loss.args), at(rec.loss.memory));
  model.layers.forEach((l, i) => {
    const x = rec.x[i], dy = rec.dy[i];
    if (!x) throw new Error(`${l.name}: no forward input recorded`);
    add(`${l.name}|fwd`, () => l.forward(x), at(rec.beforeForward[i]));
    if (l instanceof LinearLayer) {
      add(`${l.name}|fwd delayed`, () => {
        engine.scaling = "delayed";
        try { l.forward(x); } finally { engine.scaling = "exact"; }
      }, at(rec.beforeForward[i]));
    }
    if (dy) add(`${l.name}|bwd`, () => l.backward(dy, args.lr), at(rec.beforeBackward[i]));
  });
  const seen = new Set<string>(), probes = new Set<number>();
  for (const c of rec.calls) {
    add(`gemm|${callKey(c)}`, () => engine.fused(c.a, c.b, c.out, c.stage, c.what), at(c.memory));
    if (c.purpose.endsWith("update")) {
      // The same product with the MAXABS stage: packing and micro-kernel identical, stage cheap.
      const twin: Stage = { mode: "maxabs", stream: c.stage.stream };
      add(`twin|${callKey(c)}`, () => engine.fused(c.a, c.b, null, twin, c.what), at(c.memory));
    }
    if (seen.has(productKey(c))) continue;
    seen.add(productKey(c));
    // The same product on dense row-major operands (A M x K, B K x N, plain views, random codes:
    // the MAXABS pass does not branch on values) through the same fused driver.
    const a = side.kernels.pack(randomCodes(c.M * c.K, c.aBits, c.M * 7 + c.K), c.M, c.K, c.aBits);
    const b = side.kernels.pack(randomCodes(c.K * c.N, c.bBits, c.N * 13 + c.K), c.K, c.N, c.bBits);
    const bAt = side.denseAt + Math.ceil(a.bytes.length / 64) * 64;
    const va: View = { kind: "plain", at: side.denseAt, bits: c.aBits, rows: c.M, cols: c.K };
    const vb: View = { kind: "plain", at: bAt, bits: c.bBits, rows: c.K, cols: c.N };
    add(`dense|${productKey(c)}`, () => engine.fused(va, vb, null, { mode: "maxabs" }, `${c.layer} dense twin`), () => {
      new Uint8Array(engine.memory, side.denseAt, a.bytes.length).set(a.bytes);
      new Uint8Array(engine.memory, bAt, b.bytes.length).set(b.bytes);
    });
    tasks.push(plainTask(side, `${isa}|plain|${productKey(c)}`, c.M, c.N, c.K, c.aBits, c.bBits));
    probes.add(probeK(c.K));
  }
  probes.add(256);
  for (const k of [...probes].sort((x, y) => x - y)) tasks.push(plainTask(side, `${isa}|probe|${k}`, PROBE, PROBE, k, 8, 8));
  return tasks;
}

// ---------------------------------------------------------------------------------------------
// Measurement

interface Measure { medianMs: number; minMs: number; madMs: number; samples: number; batch: number }

function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The round's order: every task once, and the whole-step tasks (the denominator of every share,
 *  and slow: one sample per visit) also in the middle and at the end, so they get three samples a
 *  round spread over it. Names in one Bench must differ: `#k` tells the visits apart. */
function roundOrder(tasks: Task[]): { key: string; task: Task }[] {
  const steps = tasks.filter((t) => /\|step( delayed)?$/.test(t.name));
  const order = tasks.map((task) => ({ key: task.name, task }));
  const visit = (k: number) => steps.map((task) => ({ key: `${task.name}#${k}`, task }));
  const mid = Math.floor(order.length / 2);
  return [...order.slice(0, mid), ...visit(1), ...order.slice(mid), ...visit(2)];
}

async function measure(tasks: Task[]): Promise<Map<string, Measure>> {
  const pools = new Map<string, number[]>(tasks.map((t) => [t.name, []]));
  const order = roundOrder(tasks);
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    const bench = new Bench({ name: `round ${round + 1}`, throws: true, retainSamples: true, ...OPTIONS, warmup: round === 0 });
    for (const { key, task } of round % 2 === 0 ? order : [...order].reverse()) {
      bench.add(key, sampled(bench, task), task.beforeAll ? { beforeAll: task.beforeAll } : {});
    }
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== "completed" || !r.latency.samples) throw new Error(`bench task ${task.name} did not complete (${r.state})`);
      pools.get(task.name.replace(/#\d+$/, ""))!.push(...r.latency.samples);
    }
    log(`  round ${round + 1}/${ROUNDS}: ${((performance.now() - t0) / 1e3).toFixed(1)} s, load ${loadavg()[0].toFixed(2)}`);
  }
  const out = new Map<string, Measure>();
  for (const t of tasks) {
    const sorted = Float64Array.from(pools.get(t.name)!).sort();
    const median = quantile(sorted, 0.5);
    const dev = sorted.map((x) => Math.abs(x - median)).sort();
    out.set(t.name, {
      medianMs: median, minMs: sorted[0], madMs: quantile(dev, 0.5), samples: sorted.length,
      batch: Math.max(1, Math.ceil(MIN_SAMPLE_MS / t.latencyMs)),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;
const us = (ms: number) => {
  const u = ms * 1000;
  return Math.abs(u) >= 100 ? u.toFixed(0) : Math.abs(u) >= 10 ? u.toFixed(1) : u.toFixed(2);
};
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const ratio = (r: number) => `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
const rate = (g: number) => (g >= 10 ? g.toFixed(1) : g.toFixed(2));

function render(head: string[], rows: (string[] | null)[], leftCols = 2): string {
  const body = rows.filter((r): r is string[] => r !== null);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => (c < leftCols ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => (r ? line(r) : ""))].join("\n");
}

interface GemmRow {
  layer: string; purpose: Purpose; shape: string; M: number; N: number; K: number; bits: string;
  ms: number; share: number; gmacs: number; plainMs: number; overPlain: number;
  /** The model: ms = kernelMs + packMs + viewsMs + (stageMs ?? 0). */
  kernelMs: number; packMs: number; viewsMs: number; stageMs: number | null;
  scalarMs: number; simdOverScalar: number;
}

const COMPONENTS = ["kernel~", "pack", "views", "stage"] as const;
const parts = (r: GemmRow) => [r.kernelMs, r.packMs, r.viewsMs, r.stageMs ?? 0];

function gemmRows(side: Side, m: Map<string, Measure>, other: Side | null): GemmRow[] {
  const isa = side.isa;
  const med = (name: string) => {
    const x = m.get(`${isa}|${name}`);
    if (!x) throw new Error(`no measurement ${isa}|${name}`);
    return x.medianMs;
  };
  const step = med("step");
  return side.rec.calls.map((c) => {
    const key = callKey(c);
    const ms = med(`gemm|${key}`);
    const twin = c.purpose.endsWith("requant") ? med(`gemm|${c.layer} ${c.purpose.replace("requant", "maxabs")}`)
      : c.purpose.endsWith("update") ? med(`twin|${key}`) : ms;
    const dense = med(`dense|${productKey(c)}`);
    const kp = probeK(c.K);
    const probeRate = (PROBE * PROBE * kp) / med(`probe|${kp}`); // padded MACs per ms
    const kernelMs = (roundUp(c.M, 4) * roundUp(c.N, 8) * roundUp(c.K, 2)) / probeRate;
    const plainMs = med(`plain|${productKey(c)}`);
    const scalarMs = other ? m.get(`${other.isa}|gemm|${key}`)!.medianMs : NaN;
    return {
      layer: c.layer, purpose: c.purpose, shape: `${c.M}x${c.N}x${c.K}`, M: c.M, N: c.N, K: c.K, bits: `${c.aBits}x${c.bBits}`,
      ms, share: ms / step, gmacs: (c.M * c.N * c.K) / ms / 1e6, plainMs, overPlain: ms / plainMs,
      kernelMs, packMs: dense - kernelMs, viewsMs: twin - dense, stageMs: c.purpose.endsWith("maxabs") ? null : ms - twin,
      scalarMs, simdOverScalar: scalarMs / ms,
    };
  });
}

function gemmTable(rows: GemmRow[], withScalar: boolean): string {
  const head = ["layer", "purpose", "M x N x K", "median us", "share", "GMAC/s", "plain us", "vs plain",
    "kernel~", "pack", "views", "stage"];
  if (withScalar) head.push("scalar us", "SIMD/scalar");
  const body = rows.map((r, i) => {
    const cells = [
      i === 0 || rows[i - 1].layer !== r.layer ? r.layer : "", r.purpose, r.shape,
      us(r.ms), pct(r.share), rate(r.gmacs), us(r.plainMs), ratio(r.overPlain),
      us(r.kernelMs), us(r.packMs), us(r.viewsMs), r.stageMs === null ? "-" : us(r.stageMs),
    ];
    if (withScalar) cells.push(us(r.scalarMs), ratio(r.simdOverScalar));
    return cells;
  });
  const sum = (f: (r: GemmRow) => number) => rows.reduce((s, r) => s + f(r), 0);
  const total = sum((r) => r.ms);
  const macs = sum((r) => r.M * r.N * r.K);
  const totals = ["all GEMMs", "", `${(macs / 1e6).toFixed(1)} MMAC`, us(total), pct(sum((r) => r.share)),
    rate(macs / total / 1e6), us(sum((r) => r.plainMs)), ratio(total / sum((r) => r.plainMs)),
    ...COMPONENTS.map((_, k) => us(sum((r) => parts(r)[k])))];
  if (withScalar) totals.push(us(sum((r) => r.scalarMs)), ratio(sum((r) => r.scalarMs) / total));
  const shares = ["  share of GEMM time", "", "", "", "", "", "", "", ...COMPONENTS.map((_, k) => pct(sum((r) => parts(r)[k]) / total))];
  if (withScalar) shares.push("", "");
  return render(head, [...body, null, totals, shares]);
}

function purposeTable(simd: GemmRow[], scalar: GemmRow[]): string {
  const purposes: Purpose[] = ["fwd maxabs", "fwd requant", "dX maxabs", "dX requant", "dW update", "db update"];
  const sum = (rs: GemmRow[], f: (r: GemmRow) => number) => rs.reduce((t, r) => t + f(r), 0);
  const row = (name: string, s: GemmRow[], c: GemmRow[]) => {
    const sMs = sum(s, (r) => r.ms), cMs = sum(c, (r) => r.ms);
    return [name,
      us(sMs), pct(sum(s, (r) => r.share)), ...COMPONENTS.map((_, k) => us(sum(s, (r) => parts(r)[k]))),
      us(cMs), pct(sum(c, (r) => r.share)), ...COMPONENTS.map((_, k) => us(sum(c, (r) => parts(r)[k]))),
      ratio(cMs / sMs)];
  };
  const rows: (string[] | null)[] = purposes.map((p) => row(p, simd.filter((r) => r.purpose === p), scalar.filter((r) => r.purpose === p)));
  rows.push(null, row("all", simd, scalar));
  return render(["purpose (all layers)", "SIMD us", "share", ...COMPONENTS, "scalar us", "share", ...COMPONENTS, "SIMD/scalar"], rows, 1);
}

function layerTable(sides: Side[], m: Map<string, Measure>): string {
  const [simd] = sides;
  const med = (isa: Isa, name: string) => m.get(`${isa}|${name}`)?.medianMs ?? 0;
  const stepS = med("simd", "step"), stepC = med("scalar", "step");
  const rows: (string[] | null)[] = [];
  let fS = 0, bS = 0, fC = 0, bC = 0;
  const opt = (x: number | null) => (x === null ? "-" : us(x));
  const push = (name: string, kind: string, fs: number, bs: number | null, fc: number, bc: number | null) => {
    fS += fs; bS += bs ?? 0; fC += fc; bC += bc ?? 0;
    const s = fs + (bs ?? 0), c = fc + (bc ?? 0);
    rows.push([name, kind, us(fs), opt(bs), pct(s / stepS), us(fc), opt(bc), pct(c / stepC), ratio(c / s)]);
  };
  push("input", "host quantize+pack", med("simd", "input"), null, med("scalar", "input"), null);
  simd.model.layers.forEach((l) => {
    const f = (isa: Isa) => med(isa, `${l.name}|fwd`);
    const b = (isa: Isa) => (m.has(`${isa}|${l.name}|bwd`) ? med(isa, `${l.name}|bwd`) : null);
    push(l.name, l.kind, f("simd"), b("simd"), f("scalar"), b("scalar"));
  });
  push("loss", "softmax x-entropy", med("simd", "loss"), null, med("scalar", "loss"), null);
  rows.push(null);
  rows.push(["sum of parts", "", us(fS), us(bS), pct((fS + bS) / stepS), us(fC), us(bC), pct((fC + bC) / stepC), ratio((fC + bC) / (fS + bS))]);
  rows.push(["step", "Model.trainStep", "", us(stepS), "100.0%", "", us(stepC), "100.0%", ratio(stepC / stepS)]);
  const dS = med("simd", "step delayed"), dC = med("scalar", "step delayed");
  rows.push(["step delayed", "one-pass scaling", "", us(dS), pct(dS / stepS), "", us(dC), pct(dC / stepC), ratio(dC / dS)]);
  return render(["layer", "kind", "SIMD fwd us", "bwd us", "share", "scalar fwd us", "bwd us", "share", "SIMD/scalar"], rows);
}

function scalingTable(sides: Side[], m: Map<string, Measure>): string {
  const rows: string[][] = [];
  for (const l of sides[0].model.layers) {
    if (!(l instanceof LinearLayer)) continue;
    const cells = [l.name];
    for (const isa of ["simd", "scalar"] as const) {
      const e = m.get(`${isa}|${l.name}|fwd`)!.medianMs, d = m.get(`${isa}|${l.name}|fwd delayed`)!.medianMs;
      cells.push(us(e), us(d), ratio(e / d));
    }
    rows.push(cells);
  }
  return render(["layer", "SIMD exact us", "delayed us", "exact/delayed", "scalar exact us", "delayed us", "exact/delayed"], rows, 1);
}

// ---------------------------------------------------------------------------------------------
// Main

const started = performance.now();
const cpu = cpus();
const fingerprint = (isa: string) => {
  const bytes = readFileSync(new URL(`../build/aptkit.${isa}.wasm`, import.meta.url));
  return `${createHash("sha256").update(bytes).digest("hex").slice(0, 12)} (${bytes.length} B)`;
};
const env = {
  wasm: { simd: fingerprint("simd"), scalar: fingerprint("scalar") },
  node: process.version, cpu: cpu[0]?.model ?? "unknown", cores: cpu.length,
  loadavgAtStart: loadavg().map((x) => +x.toFixed(2)),
};
log(`layers bench${args.quick ? " (--quick)" : ""}: node ${env.node}, ${env.cores} x ${env.cpu}, load ${env.loadavgAtStart.join(" ")}`);
log(`wasm builds: simd ${env.wasm.simd}, scalar ${env.wasm.scalar}`);

const { train } = await digits();
const sides: Side[] = [];
for (const isa of ["simd", "scalar"] as const) sides.push(await prepareSide(isa, train));
const [simd, scalar] = sides;
// The builds must agree bit for bit (docs/architecture.md); a mismatch means the two builds are from
// different sources, and the SIMD/scalar ratios would compare different programs.
if (simd.weightHash !== scalar.weightHash || simd.rec.loss.value !== scalar.rec.loss.value) {
  log(`WARNING: SIMD and scalar disagree after ${args.warmup + 1} steps (weights ${simd.weightHash} vs ${scalar.weightHash}, `
    + `loss ${simd.rec.loss.value} vs ${scalar.rec.loss.value}): are build/*.wasm from the same source?`);
} else {
  log(`recorded step ${args.warmup + 1}: loss ${simd.rec.loss.value.toFixed(4)}, SIMD == scalar (weights ${simd.weightHash})`);
}
const tasks = [...tasksOf(simd), ...tasksOf(scalar)];
log(`${tasks.length} tasks, ${ROUNDS} interleaved rounds; per task and round: time ${OPTIONS.time} ms, >= ${OPTIONS.iterations} sample; clock ${args.clock}`);
const m = await measure(tasks);

const simdRows = gemmRows(simd, m, scalar), scalarRows = gemmRows(scalar, m, null);
const step = (isa: Isa) => m.get(`${isa}|step`)!.medianMs;
const seconds = (performance.now() - started) / 1e3;
const probeRates = (isa: Isa) => [...m.keys()].filter((k) => k.startsWith(`${isa}|probe|`))
  .map((k) => { const kp = Number(k.split("|")[2]); return `K=${kp}: ${rate((PROBE * PROBE * kp) / m.get(k)!.medianMs / 1e6)}`; }).join(", ");

console.log("");
console.log(`LeNet-5 training step, 28x28x1 input, batch ${BATCH}, 8-bit weights/activations/errors, exact (two-pass) scaling, lr ${args.lr}, recorded at step ${args.warmup + 1} on digits`);
console.log(`medians of tinybench samples (clock: ${args.clock === "cpu" ? "process CPU time" : "wall"}) pooled over ${ROUNDS} interleaved rounds; us = microseconds; share = of the same build's Model.trainStep median`);
console.log("");
console.log("Per layer (layer.forward / layer.backward replayed on the recorded step's tensors; backward includes the weight and bias updates)");
console.log("");
console.log(layerTable(sides, m));
console.log("");
const mad = (isa: Isa) => pct(m.get(`${isa}|step`)!.madMs / step(isa));
console.log(`step: SIMD ${us(step("simd"))} us (MAD ${mad("simd")}), scalar ${us(step("scalar"))} us (MAD ${mad("scalar")}), SIMD/scalar ${ratio(step("scalar") / step("simd"))}`);
// Foreign load inflates long calls more than short ones, so under load the shares of medians need
// not add up; the fastest samples are barely touched by it and should.
const minParts = (isa: Isa) => [...m].filter(([k]) => k.startsWith(`${isa}|`) && /^[^|]+\|([^|]+\|(fwd|bwd)|input|loss)$/.test(k))
  .reduce((t, [, v]) => t + v.minMs, 0);
const minStep = (isa: Isa) => m.get(`${isa}|step`)!.minMs;
console.log(`cross-check with the fastest samples: sum of parts / step = SIMD ${us(minParts("simd"))} / ${us(minStep("simd"))} us (${pct(minParts("simd") / minStep("simd"))}), `
  + `scalar ${us(minParts("scalar"))} / ${us(minStep("scalar"))} us (${pct(minParts("scalar") / minStep("scalar"))}); SIMD/scalar of step minima ${ratio(minStep("scalar") / minStep("simd"))}`);
console.log("");
console.log("Forward with exact (two-pass) vs delayed (one-pass) scaling");
console.log("");
console.log(scalingTable(sides, m));
console.log("");
console.log("GEMM calls, SIMD build (engine.fused replayed on the recorded memory; GMAC/s = M*N*K / median; us = median microseconds)");
console.log("plain = gemm() on dense packed operands of the same M, N, K and widths (prepareGemm, A M x K, B K x N, f64 C); vs plain = call / plain");
console.log("model, per call (the four add up to the median): kernel~ = padded 4x8-tile MACs at the rate of a plain 256x256xK' GEMM of the same build");
console.log("(K' = the call's even K, at most 512); pack = dense twin (same fused call on dense row-major operands, MAXABS stage) - kernel~;");
console.log("views = maxabs twin (the call's own views, MAXABS stage) - dense twin; stage = call - maxabs twin (requant / update beyond a max scan)");
console.log(`micro-kernel probe rates, GMAC/s of padded MACs: SIMD ${probeRates("simd")}; scalar ${probeRates("scalar")}`);
console.log("");
console.log(gemmTable(simdRows, true));
console.log("");
console.log("GEMM calls, scalar build (same columns)");
console.log("");
console.log(gemmTable(scalarRows, false));
console.log("");
console.log("GEMM time by purpose, summed over layers");
console.log("");
console.log(purposeTable(simdRows, scalarRows));
console.log("");
console.log(`wasm simd ${env.wasm.simd}, scalar ${env.wasm.scalar}; node ${env.node}, ${env.cores} x ${env.cpu}, load at start ${env.loadavgAtStart.join(" ")}, at end ${loadavg().map((x) => x.toFixed(2)).join(" ")}; total ${seconds.toFixed(1)} s`);

if (args.json) {
  writeFileSync(args.json, JSON.stringify({
    bench: "layers", quick: args.quick, date: new Date().toISOString(), seconds: +seconds.toFixed(1),
    env: { ...env, loadavgAtEnd: loadavg().map((x) => +x.toFixed(2)) }, lr: args.lr, warmup: args.warmup, clock: args.clock,
    tinybench: { rounds: ROUNDS, ...OPTIONS }, minSampleMs: MIN_SAMPLE_MS,
    measures: Object.fromEntries(m), gemm: { simd: simdRows, scalar: scalarRows },
  }, null, 2) + "\n");
  log(`wrote ${args.json}`);
}
