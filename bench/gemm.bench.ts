// Question: how fast is the packed integer GEMM (SIMD and scalar builds) against a naive JavaScript
// triple loop, per shape and per bit-width pair, and does it meet the foundation targets?
//
//   node --import tsx bench/gemm.bench.ts [--quick] [--json FILE]
//
// Everything is measured in one process: the naive loop is the same-run baseline, so the ratios
// (not the absolute times) are what carry over between machines. Each shape is verified first (SIMD
// must equal the naive loop, scalar must equal SIMD), then timed in interleaved tinybench rounds.
// Operands stay resident in wasm memory (prepareGemm), so a sample is one kernel call: decoding the
// packed operands into panels, the micro-kernel and the f64 output. Every figure is a median of
// latency samples. See bench/README.md for how to read the table.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { Bench, type Fn } from "tinybench";
import { createKernels, type Kernels, type PackedMatrix, type PreparedGemm } from "../dist/index.js";
import { naiveGemm, prng, randomCodes } from "./operands.js";
import { benchArgs } from "./args.js";

// ---------------------------------------------------------------------------------------------
// Configuration

interface Shape { M: number; K: number; N: number; label: string }
type Widths = readonly [aBits: number, bBits: number];

const shape = (M: number, K: number, N: number): Shape => ({ M, K, N, label: `${M}x${K}x${N}` });
const CUBES = [64, 128, 256, 512].map((n) => shape(n, n, n));
// The training shapes (M x K times K x N): dense layers at batch 32, and a conv layer as implicit
// im2col (e.g. 1568 = 32 images * 7*7 output pixels, K = 3*3*16, 32 filters).
const TRAINING = [shape(32, 784, 128), shape(32, 128, 10), shape(1568, 144, 32)];
const WIDTHS: readonly Widths[] = [[8, 8], [4, 8], [2, 8], [16, 8], [16, 16]];
const KEY = "256x256x256";

const args = benchArgs({}, false);
const SHAPES = args.quick ? [shape(256, 256, 256), ...TRAINING] : [...CUBES, ...TRAINING];
// The machine is shared and noisy: foreign load comes in bursts of seconds, and a burst during one
// task's window would bias that task alone (seen here: (4,8) vs (8,8) at 256^3 read 0.67x with one
// 250 ms window per task, 1.00x when interleaved finely). So each shape is measured in many short
// ROUNDS, one tinybench Bench per round holding every task of the shape, the order reversed on odd
// rounds; a task's samples from all rounds are pooled and the median is taken over the pool, so
// contention lands on all tasks of a shape alike. `time` is each task's budget per round and
// `iterations` its minimum samples per round (what governs the slow tasks: naive at 512^3 is ~0.5 s
// a call). Only the first round warms up; verification and latency estimation have already
// optimized the naive loop and tiered up the wasm by then.
const ROUNDS = args.quick ? 5 : 15;
const OPTIONS = args.quick
  ? { time: 50, iterations: 1, warmupTime: 20, warmupIterations: 1 }
  : { time: 80, iterations: 1, warmupTime: 50, warmupIterations: 1 };
// Calls shorter than this are batched into one sample (reported per call) so timer and harness
// overhead stay well under 1% of a sample.
const MIN_SAMPLE_MS = 0.05;

// ---------------------------------------------------------------------------------------------
// Operands (bench/operands.ts) and checks

function firstMismatch(x: Float64Array, y: Float64Array): number {
  if (x.length !== y.length) return 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Per-call latency in ms: one call, then repeat for at least ~5 ms if calls are short. */
function estimateLatency(fn: () => void, firstCallMs?: number): number {
  if (firstCallMs !== undefined && firstCallMs > 5) return firstCallMs;
  fn();
  let n = 0;
  const t0 = performance.now();
  let dt = 0;
  do { fn(); n++; dt = performance.now() - t0; } while (dt < 5);
  return dt / n;
}

/** A tinybench task function running `call` enough times per sample, reporting per-call time. */
function sampled(bench: Bench, call: () => void, latencyMs: number): { fn: Fn; batch: number } {
  const batch = Math.max(1, Math.ceil(MIN_SAMPLE_MS / latencyMs));
  if (batch === 1) return { fn: call, batch };
  return {
    batch,
    fn: () => {
      const t0 = bench.now();
      for (let r = 0; r < batch; r++) call();
      const dt = bench.now() - t0;
      return { overriddenDuration: dt / batch, overriddenIterationCost: dt };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement

interface Measure {
  medianMs: number; // median of the pooled per-call samples of all rounds
  meanMs: number;
  minMs: number;
  madMs: number; // median absolute deviation of the pool
  roundMediansMs: number[]; // tinybench's p50 of each round, for judging stability
  samples: number;
  batch: number; // calls per sample (short calls are batched)
  gmacs: number; // M*N*K / median seconds / 1e9
}

interface Row {
  shape: string;
  M: number; K: number; N: number;
  aBits: number; bBits: number;
  simd: Measure;
  scalar: Measure;
  naive: Measure; // same object for every width of a shape: timed once per shape
  simdOverNaive: number;
  scalarOverNaive: number;
  simdOverScalar: number;
  simdVs88: number; // SIMD (8,8) median / SIMD (aBits,bBits) median: throughput relative to (8,8)
}

/** Linear-interpolated quantile of sorted values (the convention tinybench uses for p50). */
function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summarize(pool: number[], roundMediansMs: number[], batch: number, macs: number): Measure {
  const sorted = Float64Array.from(pool).sort();
  const median = quantile(sorted, 0.5);
  const dev = sorted.map((x) => Math.abs(x - median)).sort();
  return {
    medianMs: median, meanMs: pool.reduce((a, b) => a + b, 0) / pool.length, minMs: sorted[0],
    madMs: quantile(dev, 0.5), roundMediansMs, samples: pool.length, batch,
    gmacs: macs / (median / 1e3) / 1e9,
  };
}

const log = (s: string) => process.stderr.write(s + "\n");

async function benchShape(sh: Shape, simd: Kernels, scalar: Kernels, seed: number): Promise<Row[]> {
  const { M, K, N } = sh;
  const macs = M * N * K;
  const rand = prng(seed);

  interface Case { w: Widths; a: PackedMatrix; b: PackedMatrix; A: Int32Array; B: Int32Array; latSimd: number; latScalar: number }
  const cases: Case[] = [];
  const C = new Float64Array(M * N);
  let latNaive = 0;
  let naiveA: Int32Array | undefined, naiveB: Int32Array | undefined;

  // Verify before timing: SIMD == naive for every width, and scalar == SIMD, bit for bit.
  // (pack() reuses the kernels' memory, so every operand is packed before any prepareGemm.)
  const t0 = performance.now();
  for (const w of WIDTHS) {
    const A = randomCodes(M * K, w[0], rand), B = randomCodes(K * N, w[1], rand);
    cases.push({ w, A, B, a: simd.pack(A, M, K, w[0]), b: simd.pack(B, K, N, w[1]), latSimd: 0, latScalar: 0 });
  }
  for (const c of cases) {
    const tn = performance.now();
    naiveGemm(c.A, c.B, C, M, N, K);
    const naiveMs = performance.now() - tn;
    if (c.w[0] === 8 && c.w[1] === 8) { latNaive = naiveMs; naiveA = c.A; naiveB = c.B; }
    const ps = simd.prepareGemm(c.a, c.b);
    ps.run();
    const got = ps.result();
    let bad = firstMismatch(got, C);
    if (bad >= 0) {
      throw new Error(`SIMD gemm ${sh.label} (${c.w}) differs from the naive loop at C[${Math.floor(bad / N)}][${bad % N}]: `
        + `${got[bad]} vs ${C[bad]}; refusing to time a wrong kernel`);
    }
    c.latSimd = estimateLatency(() => ps.run());
    const pc = scalar.prepareGemm(c.a, c.b);
    const t1 = performance.now();
    pc.run();
    const scalarMs = performance.now() - t1;
    bad = firstMismatch(pc.result(), got);
    if (bad >= 0) {
      throw new Error(`scalar gemm ${sh.label} (${c.w}) differs from SIMD at C[${Math.floor(bad / N)}][${bad % N}]; refusing to time it`);
    }
    c.latScalar = estimateLatency(() => pc.run(), scalarMs);
  }
  if (!naiveA || !naiveB) throw new Error("unreachable: (8,8) is always among the widths");
  const nA = naiveA, nB = naiveB;
  latNaive = estimateLatency(() => naiveGemm(nA, nB, C, M, N, K), latNaive);
  log(`  ${sh.label}: verified ${cases.length} width pairs (SIMD == naive, scalar == SIMD) in ${((performance.now() - t0) / 1e3).toFixed(1)} s`);

  interface Spec { name: string; call: () => void; lat: number; beforeAll?: () => void }
  const specs: Spec[] = [{ name: "naive", call: () => naiveGemm(nA, nB, C, M, N, K), lat: latNaive }];
  for (const c of cases) {
    // prepareGemm reuses its Kernels' memory, so each task places its own operands when it starts
    // (beforeAll, outside the timed region); run() then repeats only the wasm kernel.
    let ps: PreparedGemm | null = null, pc: PreparedGemm | null = null;
    specs.push({ name: `simd ${c.w}`, call: () => ps!.run(), lat: c.latSimd, beforeAll: () => { ps = simd.prepareGemm(c.a, c.b); } });
    specs.push({ name: `scalar ${c.w}`, call: () => pc!.run(), lat: c.latScalar, beforeAll: () => { pc = scalar.prepareGemm(c.a, c.b); } });
  }
  const pools = new Map<string, number[]>(specs.map((sp) => [sp.name, []]));
  const roundMedians = new Map<string, number[]>(specs.map((sp) => [sp.name, []]));
  const batches = new Map<string, number>();
  const t2 = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({
      name: `${sh.label} round ${round + 1}`, throws: true, retainSamples: true, ...OPTIONS, warmup: round === 0,
    });
    for (const sp of round % 2 === 0 ? specs : [...specs].reverse()) {
      const { fn, batch } = sampled(bench, sp.call, sp.lat);
      batches.set(sp.name, batch);
      bench.add(sp.name, fn, sp.beforeAll ? { beforeAll: sp.beforeAll } : {});
    }
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== "completed" || !r.latency.samples) {
        throw new Error(`bench task ${sh.label} ${task.name} did not complete (${r.state})`);
      }
      const pool = pools.get(task.name)!;
      for (const x of r.latency.samples) pool.push(x);
      roundMedians.get(task.name)!.push(r.latency.p50);
    }
  }
  log(`  ${sh.label}: timed ${specs.length} tasks x ${ROUNDS} rounds in ${((performance.now() - t2) / 1e3).toFixed(1)} s`);

  const get = (name: string): Measure =>
    summarize(pools.get(name)!, roundMedians.get(name)!, batches.get(name) ?? 1, macs);
  const naive = get("naive");
  const simd88 = get(`simd ${[8, 8]}`);
  return cases.map(({ w }) => {
    const s = get(`simd ${w}`), sc = get(`scalar ${w}`);
    return {
      shape: sh.label, M, K, N, aBits: w[0], bBits: w[1],
      simd: s, scalar: sc, naive,
      simdOverNaive: naive.medianMs / s.medianMs,
      scalarOverNaive: naive.medianMs / sc.medianMs,
      simdOverScalar: sc.medianMs / s.medianMs,
      simdVs88: simd88.medianMs / s.medianMs,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Report

function fmtTime(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  return `${(ms * 1000).toPrecision(3)} us`;
}
const fmtRate = (g: number) => (g >= 100 ? g.toFixed(0) : g >= 1 ? g.toPrecision(3) : g.toFixed(3));
const fmtRatio = (r: number) => `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
const relMad = (m: Measure) => `${((100 * m.madMs) / m.medianMs).toFixed(1)}%`;

function table(rows: Row[]): string {
  const head = ["shape MxKxN", "bits", "SIMD med", "SIMD GMAC/s", "scalar med", "scalar GMAC/s",
    "naive med", "naive GMAC/s", "SIMD/naive", "scalar/naive", "SIMD/scalar", "SIMD vs (8,8)"];
  const body = rows.map((r, i) => {
    const firstOfShape = i === 0 || rows[i - 1].shape !== r.shape;
    return [
      firstOfShape ? r.shape : "", `(${r.aBits},${r.bBits})`,
      fmtTime(r.simd.medianMs), fmtRate(r.simd.gmacs),
      fmtTime(r.scalar.medianMs), fmtRate(r.scalar.gmacs),
      firstOfShape ? fmtTime(r.naive.medianMs) : "", firstOfShape ? fmtRate(r.naive.gmacs) : "",
      fmtRatio(r.simdOverNaive), fmtRatio(r.scalarOverNaive), fmtRatio(r.simdOverScalar), fmtRatio(r.simdVs88),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
  const line = (cells: string[]) =>
    cells.map((x, c) => (c < 2 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join("  ").trimEnd();
  const out = [line(head), widths.map((w) => "-".repeat(w)).join("  ")];
  body.forEach((b, i) => {
    if (i > 0 && b[0] !== "") out.push("");
    out.push(line(b));
  });
  return out.join("\n");
}

interface Figure {
  name: string; target: string; threshold: number;
  measured: number; // ratio of medians: what PASS/FAIL is judged on
  minRatio: number; // the same ratio of the fastest samples: a cross-check that load hardly touches
  pass: boolean; noise: string;
}

function figures(rows: Row[]): Figure[] {
  const at = (a: number, b: number) => {
    const r = rows.find((x) => x.shape === KEY && x.aBits === a && x.bBits === b);
    if (!r) throw new Error(`unreachable: no ${KEY} (${a},${b}) row`);
    return r;
  };
  const r88 = at(8, 8);
  // `fast` is the faster side of the speedup (its median is the denominator), `slow` the baseline.
  const fig = (name: string, fast: Measure, slow: Measure, threshold: number): Figure => {
    const measured = slow.medianMs / fast.medianMs;
    return {
      name, target: `>= ${threshold}x`, threshold, measured, minRatio: slow.minMs / fast.minMs,
      pass: measured >= threshold, noise: `MAD ${relMad(fast)} / ${relMad(slow)}`,
    };
  };
  return [
    fig("SIMD (8,8) vs naive JS", r88.simd, r88.naive, 40),
    fig("SIMD (8,8) vs scalar (8,8)", r88.simd, r88.scalar, 6),
    fig("SIMD (4,8) vs SIMD (8,8)", at(4, 8).simd, r88.simd, 0.8),
    fig("SIMD (2,8) vs SIMD (8,8)", at(2, 8).simd, r88.simd, 0.8),
    fig("SIMD (16,16) vs SIMD (8,8)", at(16, 16).simd, r88.simd, 0.4),
  ];
}

function figuresText(figs: Figure[]): string {
  const w = Math.max(...figs.map((f) => f.name.length));
  return [
    `figures (foundation targets at ${KEY}, ratios of medians from this run; informative, never fails the process)`,
    ...figs.map((f) =>
      `  ${f.pass ? "PASS" : "FAIL"}  ${f.name.padEnd(w)}  ${f.target.padStart(7)}  measured ${fmtRatio(f.measured).padStart(6)}`
      + `  (${f.noise}; ratio of minima ${fmtRatio(f.minRatio)})`),
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Main

const started = performance.now();
const cpu = cpus();
// Which builds were measured: the tree is worked on while benchmarks run, so name them by content.
const fingerprint = (isa: string) => {
  const bytes = readFileSync(new URL(`../build/aptkit.${isa}.wasm`, import.meta.url));
  return `${createHash("sha256").update(bytes).digest("hex").slice(0, 12)} (${bytes.length} B)`;
};
const env = {
  wasm: { simd: fingerprint("simd"), scalar: fingerprint("scalar") },
  node: process.version,
  cpu: cpu[0]?.model ?? "unknown",
  cores: cpu.length,
  loadavgAtStart: loadavg().map((x) => +x.toFixed(2)),
};
log(`gemm bench${args.quick ? " (--quick)" : ""}: node ${env.node}, ${env.cores} x ${env.cpu}, load ${env.loadavgAtStart.join(" ")}`);
log(`wasm builds: simd ${env.wasm.simd}, scalar ${env.wasm.scalar}`);
log(`tinybench: ${ROUNDS} interleaved rounds per shape; per task and round: time ${OPTIONS.time} ms, >= ${OPTIONS.iterations} sample; warmup (first round) ${OPTIONS.warmupTime} ms / >= ${OPTIONS.warmupIterations} call`);

const simdKernels = await createKernels({ isa: "simd" });
const scalarKernels = await createKernels({ isa: "scalar" });
if (simdKernels.isa !== "simd" || scalarKernels.isa !== "scalar") throw new Error("could not load both builds");

const rows: Row[] = [];
for (let s = 0; s < SHAPES.length; s++) rows.push(...(await benchShape(SHAPES[s], simdKernels, scalarKernels, 0x5eed + s)));

const figs = figures(rows);
const seconds = (performance.now() - started) / 1e3;
console.log("");
console.log(`GEMM C = A*B, exact integer; medians of tinybench latency samples pooled over ${ROUNDS} interleaved rounds; GMAC/s = M*N*K / median`);
console.log(`ratios are speedups (time of the slower / time of the faster); "SIMD vs (8,8)" = SIMD (8,8) median / SIMD median at that width`);
console.log("");
console.log(table(rows));
console.log("");
console.log(figuresText(figs));
console.log("");
console.log(`wasm simd ${env.wasm.simd}, scalar ${env.wasm.scalar}; node ${env.node}, ${env.cores} x ${env.cpu}, load at start ${env.loadavgAtStart.join(" ")}, at end ${loadavg().map((x) => x.toFixed(2)).join(" ")}; total ${seconds.toFixed(1)} s`);

if (args.json) {
  writeFileSync(args.json, JSON.stringify({
    bench: "gemm", quick: args.quick, date: new Date().toISOString(), seconds: +seconds.toFixed(1),
    env: { ...env, loadavgAtEnd: loadavg().map((x) => +x.toFixed(2)) },
    tinybench: { rounds: ROUNDS, ...OPTIONS }, minSampleMs: MIN_SAMPLE_MS,
    rows, figures: figs,
  }, null, 2) + "\n");
  log(`wrote ${args.json}`);
}
