#!/usr/bin/env node
// aptkit command line: `aptkit train ...` (docs in README.md).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDataset } from "./data/index.js";
import { lenet5, mlp, type ModelDefinition } from "./nn/model.js";
import { APT_DEFAULTS, apt, fixed, fp32, qat8, type PolicySpec } from "./train/policy.js";
import { DivergenceError, train, type Progress } from "./train/trainer.js";
import { CheckpointError } from "./train/checkpoint.js";
import { renderReport } from "./report/html.js";
import { learnerFactory } from "./train/factory.js";
import { parseBudget, groupDigits, type Budget } from "./budget/budget.js";
import { BudgetError } from "./budget/errors.js";
import { formatPlan } from "./budget/table.js";
import { baselineMemory, buildWithinBudget } from "./budget/account.js";
import { Engine } from "./nn/engine.js";
import { IntegerLearner } from "./train/integer.js";
import { loadModel, saveModel } from "./model-file/index.js";
import { initialBits, policyName, widestBits } from "./train/policy.js";

const USAGE = `usage: aptkit train [--model lenet5|mlp] [--data digits|fashion-mnist|idx:DIR]
                    [--policy apt|fixed:N|qat8|fp32] [--tmin X] [--tmax X] [--bmin N] [--bmax N]
                    [--interval N] [--rounding stochastic|nearest] [--activations tied|fixed]
                    [--scaling exact|delayed] [--budget B]
                    [--checkpoint PATH [--every N]] [--resume PATH]
                    [--epochs N] [--batch N] [--lr X] [--seed N] [--isa auto|simd|scalar|relaxed] [--out DIR]
       aptkit plan  [--model lenet5|mlp] [--batch N] [--budget B] [--policy P] [--bmin N] [--bmax N]
       aptkit predict --model-file FILE [--data digits|fashion-mnist|idx:DIR] [--batch N] [--isa ...]
       aptkit compare [--quick | --medium] [--jobs N] [--out DIR] [--resume]   (docs/results.md; --help for more)
  B: bytes (262144), a binary size (256KiB, 1MiB) or a device profile (cortex-m4, rp2040, ...)`;

export class UsageError extends Error {}

const MODELS: Record<string, () => ModelDefinition> = { lenet5, mlp: () => mlp([128], [28, 28, 1]) };

function num(flag: string, v: string | undefined, check: (x: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x) || !check(x)) throw new UsageError(`--${flag}: expected ${what}, got ${JSON.stringify(v)}`);
  return x;
}

const int = (x: number) => Number.isInteger(x);

export function parseTrainArgs(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: "string", default: "lenet5" },
        data: { type: "string", default: "digits" },
        policy: { type: "string", default: "apt" },
        tmin: { type: "string" }, tmax: { type: "string" }, bmin: { type: "string" }, bmax: { type: "string" },
        interval: { type: "string" },
        rounding: { type: "string" },
        activations: { type: "string" },
        epochs: { type: "string" }, batch: { type: "string" }, lr: { type: "string" }, seed: { type: "string" },
        isa: { type: "string", default: "auto" },
        out: { type: "string", default: "runs/latest" },
        budget: { type: "string" },
        scaling: { type: "string" },
        checkpoint: { type: "string" },
        every: { type: "string" },
        resume: { type: "string" },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${USAGE}`);
  }
  const v = parsed.values;
  const model = MODELS[v.model!];
  if (!model) throw new UsageError(`--model: unknown model ${JSON.stringify(v.model)} (known: ${Object.keys(MODELS).join(", ")})`);
  if (!["auto", "simd", "scalar", "relaxed"].includes(v.isa!)) throw new UsageError(`--isa: expected auto, simd, scalar or relaxed, got ${JSON.stringify(v.isa)}`);
  const tMin = num("tmin", v.tmin, (x) => x >= 0, "a number >= 0");
  const tMax = num("tmax", v.tmax, (x) => x > 0, "a number > 0");
  const bMin = num("bmin", v.bmin, (x) => int(x) && x >= 2 && x <= 16, "an integer in 2..16");
  const bMax = num("bmax", v.bmax, (x) => int(x) && x >= 2 && x <= 16, "an integer in 2..16");
  const interval = num("interval", v.interval, (x) => int(x) && x >= 1, "a positive integer");
  const rounding = v.rounding;
  if (rounding !== undefined && rounding !== "stochastic" && rounding !== "nearest") {
    throw new UsageError(`--rounding: expected stochastic or nearest, got ${JSON.stringify(rounding)}`);
  }
  if (v.activations !== undefined && v.activations !== "tied" && v.activations !== "fixed") {
    throw new UsageError(`--activations: expected tied or fixed, got ${JSON.stringify(v.activations)}`);
  }
  if (v.activations !== undefined && v.policy !== "apt") {
    throw new UsageError(`--activations applies to --policy apt only (fixed:N, qat8 and fp32 keep their widths), got --policy ${v.policy}`);
  }
  let policy: PolicySpec;
  const p = v.policy!;
  try {
    if (p === "apt") {
      const o: Record<string, unknown> = {};
      if (tMin !== undefined) o.tMin = tMin;
      if (tMax !== undefined) o.tMax = tMax;
      if (bMin !== undefined) o.bMin = bMin;
      if (bMax !== undefined) o.bMax = bMax;
      if (interval !== undefined) o.interval = interval;
      if (rounding !== undefined) o.rounding = rounding;
      if (v.activations !== undefined) o.tieActivations = v.activations === "tied";
      if (bMin !== undefined && bMax !== undefined && bMin > bMax) throw new RangeError(`bMin (${bMin}) must not exceed bMax (${bMax})`);
      if (o.bMin !== undefined || o.bMax !== undefined) {
        // Keep the initial width inside a user-narrowed range.
        const lo = (o.bMin as number | undefined) ?? APT_DEFAULTS.bMin, hi = (o.bMax as number | undefined) ?? APT_DEFAULTS.bMax;
        o.initialBits = Math.min(hi, Math.max(lo, APT_DEFAULTS.initialBits));
      }
      policy = apt(o);
    } else if (/^fixed:\d+$/.test(p)) {
      policy = fixed(Number(p.slice(6)), (rounding as "stochastic" | "nearest") ?? "stochastic");
    } else if (p === "qat8") {
      policy = qat8();
    } else if (p === "fp32") {
      policy = fp32();
    } else {
      throw new UsageError(`--policy: expected apt, fixed:N, qat8 or fp32, got ${JSON.stringify(p)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const flag = /tMin|tMax/.test((e as Error).message) ? "--tmin/--tmax" : /bMin|bMax|bits/.test((e as Error).message) ? "--bmin/--bmax" : "--policy";
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
  let budget: Budget | undefined;
  if (v.budget !== undefined) {
    try {
      budget = parseBudget(v.budget);
    } catch (e) {
      throw new UsageError(`--budget: ${(e as Error).message}`);
    }
  }
  if (v.scaling !== undefined && v.scaling !== "exact" && v.scaling !== "delayed") {
    throw new UsageError(`--scaling: expected exact or delayed, got ${JSON.stringify(v.scaling)}`);
  }
  const every = num("every", v.every, (x) => int(x) && x >= 1, "a positive integer");
  if (every !== undefined && v.checkpoint === undefined) throw new UsageError("--every: needs --checkpoint PATH");
  return {
    checkpoint: v.checkpoint === undefined ? undefined : { path: v.checkpoint, every: every ?? 100 },
    scaling: v.scaling as "exact" | "delayed" | undefined,
    resume: v.resume,
    budget,
    model: model(),
    data: v.data!,
    policy,
    epochs: num("epochs", v.epochs, (x) => int(x) && x >= 1, "a positive integer") ?? 3,
    batch: num("batch", v.batch, (x) => int(x) && x >= 1, "a positive integer") ?? 32,
    lr: num("lr", v.lr, (x) => x > 0, "a positive number") ?? 0.05,
    seed: num("seed", v.seed, (x) => int(x) && x >= 0 && x <= 0xffffffff, "an integer in 0..2^32-1") ?? 1,
    isa: v.isa as "auto" | "simd" | "scalar" | "relaxed",
    out: v.out!,
  };
}

function progressLine(p: Progress, tty: boolean): string {
  const done = p.step / p.totalSteps;
  const bits = Object.values(p.bits).join("/");
  const stats = `epoch ${p.epoch + 1}/${p.epochs} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} acc ${(100 * p.accuracy).toFixed(1)}% bits ${bits}`;
  if (!tty) return stats;
  const width = 24;
  const filled = Math.round(done * width);
  return `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(100 * done).toFixed(0).padStart(3)}% ${stats}\x1b[K`;
}

/** `aptkit plan`: the run's memory plan as a table, and what the float baselines would need. */
async function plan(o: ReturnType<typeof parseTrainArgs>): Promise<number> {
  const p = o.policy;
  if (p.kind === "fp32") {
    const { Fp32Learner } = await import("./train/fp32.js");
    const f = await Fp32Learner.create(o.model, { batch: o.batch, seed: o.seed, isa: o.isa });
    console.log(formatPlan(f.plan, o.budget?.bytes));
    return o.budget && f.plan.peakBytes > o.budget.usableBytes ? 1 : 0;
  }
  // Only the plan is wanted: a dry engine lays it out (refusing past the budget or 4 GiB) without
  // growing or painting the memory a run would use.
  const engine = (await Engine.create(o.isa, { budgetBytes: o.budget?.bytes })).dry();
  const options = {
    batch: o.batch, seed: o.seed, actBits: 8, errBits: 8,
    weightBits: initialBits(p), maxWeightBits: widestBits(p), masterWeights: p.kind === "qat8",
  };
  try {
    buildWithinBudget(engine, o.model, options, p.kind === "apt" ? p.bMin : options.weightBits);
  } catch (e) {
    if (e instanceof BudgetError) {
      console.error(`aptkit: ${e.message}`);
      return 1;
    }
    throw e;
  }
  console.log(formatPlan(engine.plan, o.budget?.bytes));
  const base = await baselineMemory(o.model, o.batch, o.seed, o.isa, engine);
  const peak = engine.plan.peakBytes;
  const pct = (x: number) => `${((100 * (1 - peak / x))).toFixed(1)}% less`;
  console.log(`\n${o.model.name} at batch ${o.batch}, ${policyName(p)}: ${groupDigits(peak)} bytes; ` +
    `fp32() would need ${base.fp32Refused ? `more than ${groupDigits(base.fp32Bytes)}, past the 4 GiB wasm32 ceiling` : `${groupDigits(base.fp32Bytes)} (${pct(base.fp32Bytes)})`}, qat8() ${groupDigits(base.qat8Bytes)} (${pct(base.qat8Bytes)})`);
  return 0;
}

/** `aptkit predict`: load a model file and report its accuracy on a data set's test split. */
async function predict(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({ args: argv, strict: true, options: {
      "model-file": { type: "string" }, data: { type: "string", default: "digits" },
      batch: { type: "string", default: "32" }, isa: { type: "string", default: "auto" },
    } }).values;
  } catch (e) {
    console.error(`aptkit: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!v["model-file"]) {
    console.error(`aptkit: --model-file: required\n${USAGE}`);
    return 2;
  }
  const batch = Number(v.batch);
  if (!Number.isInteger(batch) || batch < 1) {
    console.error(`aptkit: --batch: expected a positive integer, got ${JSON.stringify(v.batch)}`);
    return 2;
  }
  let model;
  try {
    model = await loadModel(new Uint8Array(await readFile(v["model-file"])), { batch, isa: v.isa as "auto" });
  } catch (e) {
    console.error(`aptkit: --model-file ${v["model-file"]}: ${(e as Error).message}`);
    return 1;
  }
  const { test } = await loadDataset(v.data!);
  const per = test.height * test.width * test.channels;
  let correct = 0;
  for (let start = 0; start < test.count; start += batch) {
    const count = Math.min(batch, test.count - start);
    const p = model.predict(test.images.subarray(start * per, (start + count) * per), count);
    for (let i = 0; i < count; i++) if (p.classes[i] === test.labels[start + i]) correct++;
  }
  console.log(`${v["model-file"]} on ${test.name}: accuracy ${(100 * correct / test.count).toFixed(2)}% (${correct}/${test.count}), widths ${JSON.stringify(model.weightBits())}`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "predict") return predict(rest);
  if (command === "compare") {
    // The policy comparison behind docs/results.md (src/experiment/compare.ts).
    const { main: compare, USAGE: COMPARE_USAGE } = await import("./experiment/compare.js");
    try {
      return await compare(rest);
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") || e instanceof RangeError) {
        console.error(`aptkit compare: ${(e as Error).message}\n${COMPARE_USAGE}`);
        return 2;
      }
      throw e;
    }
  }
  if (command !== "train" && command !== "plan") {
    console.error(command === undefined ? USAGE : `unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  let o;
  try {
    o = parseTrainArgs(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`aptkit: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (command === "plan") return plan(o);
  let data;
  try {
    data = await loadDataset(o.data);
  } catch (e) {
    console.error(`aptkit: --data ${o.data}: ${(e as Error).message}`);
    return 2;
  }
  const tty = process.stdout.isTTY === true;
  let lastPrint = 0;
  let resume: Uint8Array | undefined;
  if (o.resume !== undefined) {
    try {
      resume = new Uint8Array(await readFile(o.resume));
    } catch (e) {
      console.error(`aptkit: --resume ${o.resume}: ${(e as Error).message}`);
      return 2;
    }
  }
  let result;
  try {
    result = await train({
    checkpoint: o.checkpoint, resume, scaling: o.scaling,
    model: o.model, data, policy: o.policy, epochs: o.epochs, batch: o.batch, lr: o.lr, seed: o.seed, isa: o.isa,
    budgetBytes: o.budget?.bytes,
    learnerFactory,
    logEvery: 10,
    onProgress: (p) => {
      const now = Date.now();
      if (tty) process.stdout.write(progressLine(p, true));
      else if (now - lastPrint > 5000 || p.step === p.totalSteps) {
        console.log(progressLine(p, false));
        lastPrint = now;
      }
    },
  });
  } catch (e) {
    if (tty) process.stdout.write("\n");
    if (e instanceof BudgetError) {
      console.error(`aptkit: --budget ${o.budget?.source}: ${e.message}`);
      return 1;
    }
    if (e instanceof DivergenceError) {
      console.error(`aptkit: ${e.message}`);
      return 1;
    }
    if (e instanceof CheckpointError || (o.resume !== undefined && e instanceof RangeError && /^resume:/.test(e.message))) {
      console.error(`aptkit: --resume ${o.resume}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const { report, learner } = result;
  if (tty) process.stdout.write("\n");
  await mkdir(o.out, { recursive: true });
  let modelFile: string | null = null;
  if (learner instanceof IntegerLearner && o.policy.kind !== "qat8") {
    modelFile = join(o.out, "model.aptkit");
    await writeFile(modelFile, await saveModel(learner));
  }
  await writeFile(join(o.out, "report.json"), JSON.stringify(report, null, 2));
  await writeFile(join(o.out, "report.html"), renderReport(report));
  console.log(`test accuracy ${(100 * report.accuracy).toFixed(2)}%, average weight width ${report.averageWeightBits.toFixed(2)} bits, ` +
    `${report.steps} steps, ${report.timings.msPerStep.toFixed(1)} ms/step (${report.isa})`);
  console.log(`final bits: ${Object.entries(report.finalBits).map(([l, b]) => `${l}=${b}`).join(" ")}`);
  if (report.memory) {
    const m = report.memory;
    const pct = (x: number) => `${(100 * (1 - m.plannedPeakBytes / x)).toFixed(1)}% less`;
    console.log(`memory: planned peak ${groupDigits(m.plannedPeakBytes)} bytes, measured ${groupDigits(m.measuredPeakBytes)}` +
      (m.budgetBytes !== null ? ` (budget ${groupDigits(m.budgetBytes)})` : "") +
      `; fp32() would need ${groupDigits(m.fp32Bytes)} (${pct(m.fp32Bytes)}), qat8() ${groupDigits(m.qat8Bytes)} (${pct(m.qat8Bytes)})`);
  }
  console.log(`report: ${join(o.out, "report.json")} and ${join(o.out, "report.html")}` + (modelFile ? `; model: ${modelFile}` : ""));
  return 0;
}

const invokedDirectly = typeof process !== "undefined" && process.argv[1] !== undefined &&
  /cli\.(js|ts)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    console.error(`aptkit: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  });
}
