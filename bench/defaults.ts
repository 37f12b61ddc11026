// Measures whether a set of training defaults is one a first-time user can trust: the same
// configuration trained once per seed (one run at a time), each seed's final test accuracy, and
// each run's wall and CPU time (data loading included, as a user of `aptkit train` waits for it).
// The measurement behind the CLI's and train()'s default epochs, batch and learning rate; run it
// again when those defaults, the APT controller or the kernels change.
//
//   node --import tsx bench/defaults.ts [--seeds 1,2,3] [--model lenet5|mlp] [--data digits]
//     [--policy apt|fixed:N|qat8|fp32] [--epochs N] [--batch N] [--lr X] [--schedule cosine|constant|step]
//     [--budget 256KiB] [--initial-bits N] [--bmin N] [--bmax N] [--tmin X] [--tmax X] [--interval N]
//     [--activations tied|fixed] [--target 0.97] [--json FILE]
//
// A flag left out takes train()'s own default, so a bare run measures exactly those defaults.
// Prints one line per seed and a summary row (min/mean accuracy, mean wall and CPU seconds); --json
// appends the whole record to FILE (one JSON object per line), so several configurations build a table.
import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadDataset } from "../src/data/index.js";
import { lenet5, mlp } from "../src/nn/model.js";
import { parseBudget } from "../src/budget/budget.js";
import { learnerFactory } from "../src/baselines/factory.js";
import { apt, fixed, fp32, qat8, type AptOptions, type PolicySpec } from "../src/train/policy.js";
import { train, type LrSchedule, type TrainOptions } from "../src/train/trainer.js";

const { values: v } = parseArgs({
  strict: true, allowPositionals: false,
  options: {
    seeds: { type: "string", default: "1,2,3" }, model: { type: "string", default: "lenet5" },
    data: { type: "string", default: "digits" }, policy: { type: "string", default: "apt" },
    epochs: { type: "string" }, batch: { type: "string" }, lr: { type: "string" }, schedule: { type: "string" },
    budget: { type: "string" }, "initial-bits": { type: "string" }, bmin: { type: "string" }, bmax: { type: "string" },
    tmin: { type: "string" }, tmax: { type: "string" }, interval: { type: "string" }, activations: { type: "string" },
    target: { type: "string", default: "0.97" }, json: { type: "string" },
  },
});

function numberOf(flag: string, ok: (x: number) => boolean, expected: string): number | undefined {
  const raw = v[flag as keyof typeof v] as string | undefined;
  if (raw === undefined) return undefined;
  const x = Number(raw);
  if (raw.trim() === "" || !ok(x)) throw new RangeError(`--${flag} must be ${expected}, got ${JSON.stringify(raw)}`);
  return x;
}
const positiveInt = (x: number) => Number.isInteger(x) && x >= 1;

const seeds = v.seeds!.split(",").map((s) => {
  const x = Number(s);
  if (s.trim() === "" || !Number.isInteger(x) || x < 0) throw new RangeError(`--seeds must list integers >= 0, got ${JSON.stringify(v.seeds)}`);
  return x;
});
const models = { lenet5, mlp } as const;
const makeModel = models[v.model as keyof typeof models];
if (!makeModel) throw new RangeError(`--model must be lenet5 or mlp, got ${JSON.stringify(v.model)}`);
const model = makeModel();
const schedule = v.schedule as LrSchedule | undefined;
if (schedule !== undefined && !["cosine", "constant", "step"].includes(schedule)) {
  throw new RangeError(`--schedule must be cosine, constant or step, got ${JSON.stringify(schedule)}`);
}
if (v.activations !== undefined && v.activations !== "tied" && v.activations !== "fixed") {
  throw new RangeError(`--activations must be tied or fixed, got ${JSON.stringify(v.activations)}`);
}

const aptOptions: Partial<AptOptions> = {};
const setApt = <K extends keyof AptOptions>(k: K, x: AptOptions[K] | undefined) => { if (x !== undefined) aptOptions[k] = x; };
setApt("initialBits", numberOf("initial-bits", positiveInt, "a positive integer"));
setApt("bMin", numberOf("bmin", positiveInt, "a positive integer"));
setApt("bMax", numberOf("bmax", positiveInt, "a positive integer"));
setApt("tMin", numberOf("tmin", (x) => x >= 0, "a number >= 0"));
setApt("tMax", numberOf("tmax", (x) => x > 0, "a number > 0"));
setApt("interval", numberOf("interval", positiveInt, "a positive integer"));
if (v.activations !== undefined) aptOptions.tieActivations = v.activations === "tied";

function policyOf(p: string): PolicySpec {
  if (p === "apt") return apt(aptOptions);
  if (Object.keys(aptOptions).length > 0) throw new RangeError(`APT options apply to --policy apt only, got --policy ${p}`);
  if (/^fixed:\d+$/.test(p)) return fixed(Number(p.slice(6)));
  if (p === "qat8") return qat8();
  if (p === "fp32") return fp32();
  throw new RangeError(`--policy must be apt, fixed:N, qat8 or fp32, got ${JSON.stringify(p)}`);
}
const policy = policyOf(v.policy!);
const target = numberOf("target", (x) => x > 0 && x <= 1, "a fraction in (0, 1]")!;
const options: Partial<TrainOptions> = {
  epochs: numberOf("epochs", positiveInt, "a positive integer"),
  batch: numberOf("batch", positiveInt, "a positive integer"),
  lr: numberOf("lr", (x) => x > 0 && Number.isFinite(x), "a positive number"),
  schedule,
  budgetBytes: v.budget === undefined ? undefined : parseBudget(v.budget).bytes,
};
const flags = Object.entries(v).filter(([k, x]) => x !== undefined && !["seeds", "json", "target"].includes(k))
  .map(([k, x]) => `--${k} ${x}`).join(" ");

// Node 20 can deadlock (NodePlatform::DrainTasks) when its event loop runs empty while V8 background
// work, such as an engine's wasm compilation, is pending; seen here as a run hanging between seeds.
// A referenced timer keeps the loop from running empty until the last seed is done.
const keepAlive = setInterval(() => {}, 1000);
const runs = [];
for (const seed of seeds) {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const data = await loadDataset(v.data!);
  const { report } = await train({ ...options, model, data, policy, seed, learnerFactory });
  const wallSeconds = (performance.now() - wall0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const run = {
    seed, accuracy: report.accuracy, evaluations: report.evaluations.map((e) => e.accuracy),
    finalBits: report.finalBits, averageWeightBits: report.averageWeightBits, steps: report.steps,
    msPerStep: report.timings.msPerStep, wallSeconds, cpuSeconds, config: report.config,
  };
  runs.push(run);
  console.log(`seed ${seed}: test accuracy ${(100 * run.accuracy).toFixed(2)}% (per epoch ${run.evaluations.map((a) => (100 * a).toFixed(2)).join(" ")}), ` +
    `bits ${Object.values(run.finalBits).join("/")}, ${run.steps} steps, wall ${wallSeconds.toFixed(1)} s, CPU ${cpuSeconds.toFixed(1)} s`);
}
clearInterval(keepAlive);
const accuracies = runs.map((r) => r.accuracy);
const min = Math.min(...accuracies);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary = {
  flags, model: model.name, policy: v.policy, seeds, accuracies, minAccuracy: min, meanAccuracy: mean(accuracies),
  meanWallSeconds: mean(runs.map((r) => r.wallSeconds)), meanCpuSeconds: mean(runs.map((r) => r.cpuSeconds)),
  meetsTarget: min >= target, target, runs,
};
console.log(`| ${flags} | ${accuracies.map((a) => (100 * a).toFixed(2)).join(" / ")} | min ${(100 * min).toFixed(2)} | ` +
  `wall ${summary.meanWallSeconds.toFixed(1)} s | CPU ${summary.meanCpuSeconds.toFixed(1)} s | ${summary.meetsTarget ? "meets" : "misses"} ${(100 * target).toFixed(1)}% |`);
if (v.json) appendFileSync(v.json, JSON.stringify(summary) + "\n");
