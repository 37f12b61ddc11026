// Question: is a training step, exactly as the trainer runs it, faster in integer arithmetic than
// in float? (the fast-step issue's figures 1, 2 and 4)
//
//   node --import tsx bench/step.bench.ts [--quick] [--json FILE] [--rounds N]
//
// A sample is one short train() run on the bundled digits (lenet5, one epoch over the first
// `steps x batch` training samples) and its value is that run's training CPU time per step
// (report.timings.trainCpuSeconds / steps): the step as train() runs it, with the policy's
// set-up (APT: tied activations, exact scaling, stochastic rounding), the controller's
// observations and decisions, and the energy counter, and nothing else (no evaluation, no
// start-up). Every configuration runs once untimed first so the wasm has tiered up; then all run
// in each of several tinybench rounds, order reversed on odd rounds, and the median is taken over
// the pooled samples. Only ratios between rows of the same run are quoted.
//
// Rows: APT default, fixed:8 and fp32 at batch 32; APT under the 256 KiB budget and fp32 at batch
// 8; the scalar build's APT step; fixed:b weights with activations and errors at min(b, 8) bits for
// b = 2..16 (the widths APT's controller and tie give the tensors), against b = 8. The int8 256^3 GEMM of the same build is
// timed in the same rounds: the step's effective rate is its GEMM MACs (forward and backward, as
// the energy account records them) over its time, against that GEMM's rate.
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { Bench } from "tinybench";
import { apt, createKernels, digits, fixed, fp32, learnerFactory, lenet5, subset, train, type PolicySpec, type TrainOptions } from "../src/index.js";
import { IntegerLearner } from "../src/train/integer.js";
import { benchArgs, numberFlag } from "./args.js";
import { prng, randomCodes } from "./operands.js";

const flags = benchArgs({ rounds: { type: "string" }, steps: { type: "string" } }, false);
const ROUNDS = numberFlag("rounds", flags.own.rounds, flags.quick ? 3 : 6, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
const STEPS = numberFlag("steps", flags.own.steps, flags.quick ? 24 : 40, (x) => Number.isInteger(x) && x >= 4, "an integer >= 4");
const WIDTHS = flags.quick ? [2, 4, 6, 8, 10, 12, 16] : [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const log = (s: string) => process.stderr.write(s + "\n");
const cpuNowMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

const split = await digits();
const model = lenet5();

interface Config { name: string; group: string; options: Omit<TrainOptions, "data" | "model"> & { batch: number } }
const configs: Config[] = [
  { name: "apt b32", group: "batch 32", options: { policy: apt(), batch: 32 } },
  { name: "fixed:8 b32", group: "batch 32", options: { policy: fixed(8), batch: 32 } },
  { name: "fp32 b32", group: "batch 32", options: { policy: fp32(), batch: 32 } },
  { name: "apt b8 256KiB", group: "batch 8", options: { policy: apt(), batch: 8, budgetBytes: 256 * 1024 } },
  { name: "fp32 b8", group: "batch 8", options: { policy: fp32(), batch: 8 } },
  { name: "apt b32 scalar", group: "scalar", options: { policy: apt(), batch: 32, isa: "scalar" } },
  // The widths APT's controller gives a tensor: weights 2..16; activations and errors follow them
  // under the tie, capped at the 8 bits the plan reserves (src/train/policy.ts).
  ...WIDTHS.map((b): Config => ({ name: `width ${b}`, group: "widths", options: { policy: fixed(b) as PolicySpec, batch: 32, actBits: Math.min(b, 8), errBits: Math.min(b, 8) } })),
];

function dataFor(batch: number) {
  const idx = Array.from({ length: STEPS * batch }, (_, i) => i);
  return { train: subset(split.train, idx), test: subset(split.test, [0]) };
}
const data = new Map<number, ReturnType<typeof dataFor>>();
for (const c of configs) if (!data.has(c.options.batch)) data.set(c.options.batch, dataFor(c.options.batch));

/** One short run; returns its training CPU milliseconds per step. */
async function run(c: Config): Promise<number> {
  const { report } = await train({ model, data: data.get(c.options.batch)!, epochs: 1, seed: 4, lr: 0.2, learnerFactory, ...c.options });
  if (report.timings.trainCpuSeconds === null) throw new Error("this platform reports no CPU time");
  return (report.timings.trainCpuSeconds * 1000) / report.steps;
}

// The GEMM MACs of one default APT step at each batch, as the energy account records them (the
// maximum pass of exact scaling is not a product of the step's math and is left out).
async function stepMacs(batch: number): Promise<number> {
  const learner = await IntegerLearner.create(model, { batch, seed: 4, weightBits: 8, maxWeightBits: 8 });
  let macs = 0;
  learner.engine.onOp = (op) => { if (op.kind === "gemm" && op.mode !== "maxabs") macs += op.M * op.N * op.K; };
  const d = data.get(batch)!.train;
  const images = new Float32Array(batch * 784), labels = new Uint8Array(batch);
  for (let i = 0; i < batch; i++) { images.set(d.images.subarray(i * 784, (i + 1) * 784), i * 784); labels[i] = d.labels[i]; }
  learner.trainStep(images, labels, 0.1);
  return macs;
}
const macs32 = await stepMacs(32);

// The int8 256^3 GEMM on the build "auto" picks, operands resident and B pre-packed (as compare.bench.ts times it).
const kernels = await createKernels();
const rand = prng(0x5eed);
const G = 256;
const gemm = kernels.prepareGemm(kernels.pack(randomCodes(G * G, 8, rand), G, G, 8), kernels.pack(randomCodes(G * G, 8, rand), G, G, 8), { prepackB: true });
gemm.run();

log(`warm-up: one run of each of ${configs.length} configurations (${STEPS} steps each)`);
for (const c of configs) await run(c);
for (let i = 0; i < 20; i++) gemm.run();

const pools = new Map<string, number[]>([...configs.map((c): [string, number[]] => [c.name, []]), ["gemm 256^3", []]]);
const started = performance.now();
for (let round = 0; round < ROUNDS; round++) {
  const bench = new Bench({ name: `round ${round + 1}`, throws: true, retainSamples: true, time: 0, iterations: flags.quick ? 1 : 2, warmupTime: 0, warmupIterations: 0, warmup: false });
  const order = round % 2 === 0 ? configs : [...configs].reverse();
  for (const c of order) {
    bench.add(c.name, async () => {
      const ms = await run(c);
      return { overriddenDuration: ms, overriddenIterationCost: ms };
    });
  }
  bench.add("gemm 256^3", () => {
    const c0 = cpuNowMs();
    for (let i = 0; i < 10; i++) gemm.run();
    const ms = (cpuNowMs() - c0) / 10;
    return { overriddenDuration: ms, overriddenIterationCost: ms };
  });
  await bench.run();
  for (const t of bench.tasks) {
    const r = t.result as { state: string; latency?: { samples?: number[] } };
    if (r.state !== "completed" || !r.latency?.samples) throw new Error(`task ${t.name} did not complete (${r.state})`);
    pools.get(t.name)!.push(...r.latency.samples);
  }
  log(`round ${round + 1}/${ROUNDS} done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const mad = (xs: number[]) => { const m = median(xs); return median(xs.map((x) => Math.abs(x - m))) / m; };
const med = (name: string) => median(pools.get(name)!);
const figures: { figure: string; value: number; target: string; pass: boolean }[] = [];
const fig = (figure: string, value: number, target: string, pass: boolean) => figures.push({ figure, value, target, pass });

const table = [...pools.keys()].map((name) => ({ name, median: med(name), mad: mad(pools.get(name)!), n: pools.get(name)!.length }));
const gemmRate = (G * G * G) / med("gemm 256^3") / 1e6; // GMAC/s
const aptRate = macs32 / med("apt b32") / 1e6;
fig("APT step vs fp32 step, batch 32 (x faster)", med("fp32 b32") / med("apt b32"), ">= 2.0", med("fp32 b32") / med("apt b32") >= 2.0);
fig("APT step (256 KiB) vs fp32 step, batch 8 (x faster)", med("fp32 b8") / med("apt b8 256KiB"), ">= 1.5", med("fp32 b8") / med("apt b8 256KiB") >= 1.5);
fig("APT step's effective rate / int8 256^3 GEMM rate", aptRate / gemmRate, ">= 0.50", aptRate / gemmRate >= 0.5);
const w8 = med("width 8");
for (const b of WIDTHS) {
  if (b === 8) continue;
  const r = med(`width ${b}`) / w8;
  fig(`step at ${b} bits / step at 8 bits`, r, b < 8 ? "< 1.00" : "<= 1.00", b < 8 ? r < 1 : r <= 1);
}

const pad = (s: string, n: number) => s.padEnd(n);
console.log(`lenet5 training step as train() runs it: CPU ms per step, median of pooled samples (${ROUNDS} rounds, ${STEPS} steps a sample)`);
console.log(`${pad("row", 16)} ${"median".padStart(9)} ${"MAD".padStart(6)} ${"n".padStart(3)}`);
for (const r of table) console.log(`${pad(r.name, 16)} ${r.median.toFixed(3).padStart(9)} ${(100 * r.mad).toFixed(1).padStart(5)}% ${String(r.n).padStart(3)}`);
console.log(`GEMM MACs of an APT step at batch 32: ${(macs32 / 1e6).toFixed(2)} M; int8 256^3 GEMM ${gemmRate.toFixed(1)} GMAC/s; APT step ${aptRate.toFixed(1)} GMAC/s`);
console.log("figures:");
for (const f of figures) console.log(`  ${f.pass ? "PASS" : "FAIL"}  ${pad(f.figure, 52)} ${f.value.toFixed(2).padStart(6)}  (target ${f.target})`);
console.log(`machine: ${cpus()[0]?.model ?? "?"} x ${cpus().length}, load ${loadavg().map((x) => x.toFixed(2)).join(" ")}, Node ${process.version}, ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (flags.json) writeFileSync(flags.json, JSON.stringify({ steps: STEPS, rounds: ROUNDS, table, macs32, gemmRate, aptRate, figures }, null, 2));
