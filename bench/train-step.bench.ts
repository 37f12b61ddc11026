// Question: how long does one LeNet-5 training step (batch 32, 28x28 digits) take on the integer
// trainer (SIMD and scalar builds; 8-bit activations and errors; weights fixed at 8 bits, and at 12
// bits) against the fp32 reference trainer, in the same process?
//
//   node --import tsx bench/train-step.bench.ts [--quick] [--json FILE] [--rounds N] [--clock cpu|wall]
//                                               [--baseline DIR]
//
// A sample is one Learner.trainStep on a batch of the bundled digits (the whole step as a user
// calls it: loading and quantizing the batch, forward, loss, backward, fused weight updates). Each
// learner cycles through the same 8 batches, lr 0.05 (the trainer's default), after a warm-up
// that tiers the wasm up. The machine is shared, so, as in gemm.bench.ts, every task runs in each
// of many short interleaved tinybench rounds (order reversed on odd rounds), samples are pooled
// over the rounds and the median taken over the pool; the ratios between tasks of the same run are
// the figures that carry over, not the absolute times.
//
// Before timing, SIMD and scalar are checked to train the same model bit for bit (a few steps
// each, model SHA-256 compared): a build that disagrees is never timed.
//
// --baseline DIR adds the integer tasks once more on DIR/aptkit.simd.wasm and DIR/aptkit.scalar.wasm
// (e.g. a copy of build/ from before a kernel change), checked to train the same models as build/,
// and prints new / baseline ratios: a before/after comparison within one run.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cpus, loadavg } from "node:os";
import { Bench } from "tinybench";
import { allDigits } from "../src/data/digits.js";
import { gather, type Dataset } from "../src/data/dataset.js";
import { lenet5 } from "../src/nn/model.js";
import { IntegerLearner } from "../src/train/integer.js";
import { Fp32Learner } from "../src/baselines/fp32/learner.js";
import type { Learner } from "../src/learner/learner.js";
import * as wasm from "../src/runtime/wasm.js";
import { benchArgs, numberFlag } from "./args.js";

const flags = benchArgs({ rounds: { type: "string" }, baseline: { type: "string" } });
const args = {
  ...flags,
  baseline: flags.own.baseline,
  rounds: flags.own.rounds === undefined ? undefined : numberFlag("rounds", flags.own.rounds, 0, (x) => Number.isInteger(x) && x >= 1, "a positive integer"),
};
const BATCH = 32;
const SEED = 1;
const LR = 0.05;
const BATCHES = 8;
const WARMUP_STEPS = args.quick ? 5 : 15;
const ROUNDS = args.rounds ?? (args.quick ? 4 : 12);
// A step is 5-50 ms: one step per sample, at least `iterations` samples per task and round.
const OPTIONS = args.quick
  ? { time: 60, iterations: 2, warmupTime: 0, warmupIterations: 0 }
  : { time: 150, iterations: 3, warmupTime: 0, warmupIterations: 0 };
// cpu (default): the process's user + system CPU time, which leaves out the time the thread waits
// for a core on a loaded machine (see layers.bench.ts); wall: tinybench's clock.
const cpuNowMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const log = (s: string) => process.stderr.write(s + "\n");

// ---------------------------------------------------------------------------------------------
// Learners and data

interface Subject { name: string; kind: "int" | "fp32" | "base"; isa: string; weightBits: number | null; learner: Learner }

const def = lenet5();
log("loading the bundled digits ...");
const ds: Dataset = await allDigits();
const batches = Array.from({ length: BATCHES }, (_, b) =>
  gather(ds, Array.from({ length: BATCH }, (_, i) => (b * BATCH * 7 + i * 13) % ds.count)));

async function integer(isa: "simd" | "scalar", bits: number, dir?: string): Promise<IntegerLearner> {
  if (dir === undefined) return IntegerLearner.create(def, { batch: BATCH, seed: SEED, isa, weightBits: bits, maxWeightBits: bits });
  // A learner on another build: registered as the source of `isa` only while the engine is made.
  if (typeof wasm.setWasmSource !== "function") throw new Error("--baseline needs setWasmSource in src/runtime/wasm.ts");
  wasm.setWasmSource(isa, readFileSync(path.join(dir, `aptkit.${isa}.wasm`)));
  try {
    return await IntegerLearner.create(def, { batch: BATCH, seed: SEED, isa, weightBits: bits, maxWeightBits: bits });
  } finally {
    wasm.setWasmSource(isa, null);
  }
}

async function trainedHash(isa: "simd" | "scalar", bits: number, dir?: string): Promise<string> {
  const l = await integer(isa, bits, dir);
  for (let s = 0; s < 3; s++) l.trainStep(batches[s].images, batches[s].labels, LR);
  return l.modelSha256();
}

// SIMD and scalar must train the same model: a few steps each from the same seed, hashes compared.
for (const bits of [8, 12]) {
  const simd = await trainedHash("simd", bits), scalar = await trainedHash("scalar", bits);
  if (simd !== scalar) throw new Error(`weights ${bits} bits: SIMD and scalar trained different models (${simd} vs ${scalar})`);
  log(`weights ${bits} bits: SIMD and scalar agree after 3 steps (model ${simd.slice(0, 16)})`);
  if (args.baseline) {
    for (const isa of ["simd", "scalar"] as const) {
      const base = await trainedHash(isa, bits, args.baseline);
      if (base !== simd) throw new Error(`weights ${bits} bits: the baseline ${isa} build trained a different model (${base} vs ${simd})`);
    }
    log(`weights ${bits} bits: the baseline builds train the same model`);
  }
}

const subjects: Subject[] = [];
for (const bits of [8, 12]) {
  for (const isa of ["simd", "scalar"] as const) {
    subjects.push({ name: `int ${isa} w${bits}`, kind: "int", isa, weightBits: bits, learner: await integer(isa, bits) });
  }
}
if (args.baseline) {
  for (const bits of [8, 12]) {
    for (const isa of ["simd", "scalar"] as const) {
      subjects.push({ name: `base ${isa} w${bits}`, kind: "base", isa, weightBits: bits, learner: await integer(isa, bits, args.baseline) });
    }
  }
}
const fp32 = await Fp32Learner.create(def, { batch: BATCH, seed: SEED });
subjects.push({ name: `fp32 ${fp32.isa}`, kind: "fp32", isa: fp32.isa, weightBits: null, learner: fp32 });

const cursor = new Map<string, number>(subjects.map((s) => [s.name, 0]));
function step(s: Subject): void {
  const i = cursor.get(s.name)!;
  cursor.set(s.name, (i + 1) % BATCHES);
  const b = batches[i];
  s.learner.trainStep(b.images, b.labels, LR);
}
log(`warm-up: ${WARMUP_STEPS} steps per learner`);
for (const s of subjects) for (let i = 0; i < WARMUP_STEPS; i++) step(s);

// ---------------------------------------------------------------------------------------------
// Measurement

const pools = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
const t0 = performance.now();
for (let round = 0; round < ROUNDS; round++) {
  const bench = new Bench({ name: `round ${round + 1}`, throws: true, retainSamples: true, ...OPTIONS, warmup: false });
  for (const s of round % 2 === 0 ? subjects : [...subjects].reverse()) {
    if (args.clock === "cpu") {
      bench.add(s.name, () => {
        const c0 = cpuNowMs();
        step(s);
        const dt = cpuNowMs() - c0;
        return { overriddenDuration: dt, overriddenIterationCost: dt };
      });
    } else {
      bench.add(s.name, () => step(s));
    }
  }
  await bench.run();
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state !== "completed" || !r.latency.samples) throw new Error(`task ${task.name} did not complete (${r.state})`);
    pools.get(task.name)!.push(...r.latency.samples);
  }
}
log(`${subjects.length} tasks x ${ROUNDS} rounds in ${((performance.now() - t0) / 1e3).toFixed(1)} s`);

interface Measure { median: number; mad: number; min: number; samples: number }
function measure(xs: number[]): Measure {
  const a = [...xs].sort((x, y) => x - y);
  const med = (v: number[]) => (v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2);
  const median = med(a);
  return { median, mad: med(a.map((x) => Math.abs(x - median)).sort((x, y) => x - y)), min: a[0], samples: a.length };
}
const m = new Map<string, Measure>(subjects.map((s) => [s.name, measure(pools.get(s.name)!)]));
const med = (name: string) => m.get(name)!.median;

// ---------------------------------------------------------------------------------------------
// Report

const fpName = subjects.find((s) => s.kind === "fp32")!.name;
const ms = (x: number) => x.toFixed(2).padStart(8);
const x = (r: number) => (r.toFixed(2) + "x").padStart(8);
console.log(`lenet5 train step, batch ${BATCH}: medians of ${args.clock === "cpu" ? "process CPU time" : "wall time"} per step, pooled over ${ROUNDS} interleaved rounds`);
console.log(`${"task".padEnd(18)} ${"median ms".padStart(9)} ${"MAD %".padStart(6)} ${"min ms".padStart(8)} ${"n".padStart(4)} ${"vs fp32".padStart(8)}`);
for (const s of subjects) {
  const r = m.get(s.name)!;
  console.log(`${s.name.padEnd(18)} ${ms(r.median)} ${(100 * r.mad / r.median).toFixed(1).padStart(6)} ${ms(r.min)} ${String(r.samples).padStart(4)} ${x(r.median / med(fpName))}`);
}
console.log("");
console.log("ratios of medians (slower / faster; 'vs fp32' above is integer / fp32, so > 1 means the integer step is slower):");
for (const bits of [8, 12]) {
  console.log(`  weights ${String(bits).padStart(2)} bits: scalar / SIMD ${x(med(`int scalar w${bits}`) / med(`int simd w${bits}`))}` +
    `   SIMD / fp32 ${x(med(`int simd w${bits}`) / med(fpName))}   scalar / fp32 ${x(med(`int scalar w${bits}`) / med(fpName))}`);
}
console.log(`  12 bits / 8 bits: SIMD ${x(med("int simd w12") / med("int simd w8"))}   scalar ${x(med("int scalar w12") / med("int scalar w8"))}`);
if (args.baseline) {
  console.log(`baseline (${args.baseline}) / this build, same run (> 1: this build is faster):`);
  for (const bits of [8, 12]) {
    console.log(`  weights ${String(bits).padStart(2)} bits: SIMD ${x(med(`base simd w${bits}`) / med(`int simd w${bits}`))}` +
      `   scalar ${x(med(`base scalar w${bits}`) / med(`int scalar w${bits}`))}`);
  }
}

if (args.json) {
  const out = {
    question: "lenet5 trainStep: integer (SIMD, scalar; weights 8 and 12 bits) vs fp32",
    batch: BATCH, lr: LR, rounds: ROUNDS, clock: args.clock, options: OPTIONS, baseline: args.baseline ?? null,
    env: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, loadavgAtEnd: loadavg().map((v) => +v.toFixed(2)) },
    tasks: Object.fromEntries(subjects.map((s) => [s.name, { kind: s.kind, isa: s.isa, weightBits: s.weightBits, ...m.get(s.name)! }])),
  };
  writeFileSync(args.json, JSON.stringify(out, null, 2) + "\n");
  log(`wrote ${args.json}`);
}
