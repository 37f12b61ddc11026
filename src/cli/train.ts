// `aptkit train`: every check that needs no data runs before the data loads, the ones that need
// it before the first step; outputs are written atomically; SIGINT / SIGTERM stop after the step
// in progress, keep a checkpoint and say how to resume.
import { join } from "node:path";
import { loadDataset, type Split } from "../data/index.js";
import type { ModelDefinition } from "../nn/model.js";
import type { PolicySpec } from "../train/policy.js";
import type { Budget } from "../budget/budget.js";
import { formatSize, groupDigits } from "../budget/budget.js";
import { BudgetError } from "../budget/errors.js";
import { CheckpointError, readCheckpointFile } from "../train/checkpoint.js";
import { LockedError } from "../io/index.js";
import { TRAIN_DEFAULTS } from "../train/defaults.js";
import { modelDataMismatch } from "../train/options.js";
import { DivergenceError, largestBatchThatFits, train, type Progress, type TrainResult } from "../train/trainer.js";
import { IntegerLearner } from "../train/integer.js";
import { learnerFactory } from "../baselines/factory.js";
import type { IsaChoice } from "../runtime/wasm.js";
import { resolveIsa } from "../runtime/wasm.js";
import { renderReport } from "../report/html.js";
import { formatProfile } from "../energy/profile.js";
import { saveModel } from "../model-file/index.js";
import * as flags from "./args.js";
import { lockForFlag, prepareCheckpointPath, prepareDirectory, readUserFile, writeOutput } from "./files.js";
import { UsageError } from "./usage.js";

const TRAIN_FLAGS = [
  "model", "data", "policy", "lean", "tmin", "tmax", "bmin", "bmax", "interval", "rounding", "activations",
  "epochs", "batch", "lr", "seed", "isa", "out", "budget", "scaling", "checkpoint", "every", "resume",
] as const;

export interface TrainArgs {
  model: ModelDefinition;
  data: string;
  policy: PolicySpec;
  epochs: number;
  /** Null: chosen from the budget (the largest that fits) or the default. */
  batch: number | null;
  lr: number;
  seed: number;
  isa: IsaChoice;
  out: string;
  budget: Budget | undefined;
  scaling: "exact" | "delayed" | undefined;
  checkpoint: { path: string; every: number } | undefined;
  resume: string | undefined;
  /** Measure and print where each step's time goes (report.json's profile). */
  profile: boolean;
  help: boolean;
}

/** The train command's flags, checked (no file is touched). */
export function parseTrainArgs(argv: string[]): TrainArgs {
  const v = flags.readFlags(argv, TRAIN_FLAGS, ["profile"]);
  const policy = flags.policy(v);
  const scaling = flags.str(v, "scaling");
  if (scaling !== undefined && scaling !== "exact" && scaling !== "delayed") {
    throw new UsageError("--scaling", `expected exact or delayed, got ${JSON.stringify(scaling)}`);
  }
  const every = flags.positiveInt(v, "every");
  const checkpoint = flags.str(v, "checkpoint");
  if (every !== undefined && checkpoint === undefined) throw new UsageError("--every", "needs --checkpoint PATH");
  for (const f of ["checkpoint", "resume", "out", "data"]) {
    if (flags.str(v, f) === "") throw new UsageError(`--${f}`, "must not be empty");
  }
  return {
    model: flags.model(v),
    data: flags.str(v, "data") ?? "digits",
    policy,
    epochs: flags.positiveInt(v, "epochs") ?? TRAIN_DEFAULTS.epochs,
    batch: flags.positiveInt(v, "batch", 65536) ?? null,
    lr: flags.num(v, "lr", (x) => x > 0, "a positive number") ?? TRAIN_DEFAULTS.lr,
    seed: flags.num(v, "seed", (x) => flags.isInt(x) && x >= 0 && x <= 0xffffffff, "an integer in 0..2^32-1") ?? TRAIN_DEFAULTS.seed,
    isa: flags.isa(v),
    out: flags.str(v, "out") ?? "runs/latest",
    budget: flags.budget(v),
    scaling: scaling as TrainArgs["scaling"],
    checkpoint: checkpoint === undefined ? undefined : { path: checkpoint, every: every ?? TRAIN_DEFAULTS.checkpointEvery },
    resume: flags.str(v, "resume"),
    profile: v.profile === true,
    help: v.help === true,
  };
}

/** An engine that declines the build asked for is a usage error, found before any data loads. */
export async function checkIsa(isa: IsaChoice): Promise<void> {
  try {
    await resolveIsa(isa);
  } catch (e) {
    throw new UsageError("--isa", `${isa}: ${(e as Error).message.replace(/^aptkit: /, "")}`);
  }
}

export async function loadData(spec: string): Promise<Split> {
  try {
    return await loadDataset(spec);
  } catch (e) {
    throw new UsageError("--data", `${spec}: ${(e as Error).message}`);
  }
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

/** Exit codes of a run stopped by a signal: 128 + the signal's number, as shells report it. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** The command line that continues a stopped run: the same flags, --resume the checkpoint. */
export function resumeCommand(argv: readonly string[], checkpoint: string): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--resume") { i++; continue; }
    if (argv[i].startsWith("--resume=")) continue;
    kept.push(argv[i]);
  }
  return `aptkit ${flags.shellLine(["train", ...kept, "--resume", checkpoint])}`;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const o = parseTrainArgs(argv);
  // Before the data: the engine, the output directory, the checkpoint's place, the resume file.
  await checkIsa(o.isa);
  await prepareDirectory("--out", o.out);
  // One run per output directory: two runs sharing --out would both report success while the last
  // writer's files win. Released at exit (an abrupt exit leaves a lock the next run finds stale).
  await lockForFlag("--out", o.out);
  if (o.checkpoint) await prepareCheckpointPath("--checkpoint", o.checkpoint.path);
  const resume = o.resume === undefined ? undefined : await readUserFile("--resume", o.resume, readCheckpointFile);
  const data = await loadData(o.data);
  // Before the first step: the data against the model and the batch.
  const mismatch = modelDataMismatch(o.model, data);
  if (mismatch) throw new UsageError(mismatch.option === "model" ? "--model" : "--data", mismatch.message);
  let batch = o.batch;
  if (batch !== null && batch > data.train.count) {
    throw new UsageError("--batch", `${batch} exceeds the training set (${data.train.name}: ${data.train.count} samples)`);
  }
  if (batch === null) {
    const upTo = Math.min(TRAIN_DEFAULTS.batch, data.train.count);
    batch = upTo;
    if (o.budget) {
      const fitting = await largestBatchThatFits(o.model, o.policy, o.budget.bytes, { upTo, seed: o.seed, isa: o.isa });
      if (fitting !== null) {
        batch = fitting;
        console.log(`batch ${batch}: the largest that fits ${formatSize(o.budget.usableBytes)}`);
      }
    }
  }

  const tty = process.stdout.isTTY === true;
  let lastPrint = 0;
  const stop = new AbortController();
  let signalName: keyof typeof SIGNAL_EXIT | null = null;
  const onSignal = (name: keyof typeof SIGNAL_EXIT) => {
    if (signalName !== null) process.exit(SIGNAL_EXIT[name]); // a second signal: stop now
    signalName = name;
    if (tty) process.stdout.write("\n");
    console.error(`aptkit: ${name}: stopping after the current step${o.checkpoint ? " and writing the checkpoint" : ""} (again to quit at once)`);
    stop.abort(name);
  };
  const onInt = () => onSignal("SIGINT"), onTerm = () => onSignal("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  let result: TrainResult;
  try {
    result = await train({
      checkpoint: o.checkpoint, resume, scaling: o.scaling, signal: stop.signal, profile: o.profile,
      model: o.model, data, policy: o.policy, epochs: o.epochs, batch, lr: o.lr, seed: o.seed, isa: o.isa,
      budgetBytes: o.budget?.bytes,
      learnerFactory,
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
    if (e instanceof LockedError) throw new UsageError("--checkpoint", e.message);
    if (e instanceof CheckpointError || (o.resume !== undefined && e instanceof RangeError && /^resume:/.test(e.message))) {
      console.error(`aptkit: --resume ${o.resume}: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
  const { report, learner } = result;
  if (tty) process.stdout.write("\n");
  let modelFile: string | null = null;
  if (learner instanceof IntegerLearner && o.policy.kind !== "qat8") {
    modelFile = join(o.out, "model.aptkit");
    await writeOutput(modelFile, await saveModel(learner));
  }
  await writeOutput(join(o.out, "report.json"), JSON.stringify(report, null, 2));
  await writeOutput(join(o.out, "report.html"), renderReport(report));
  console.log(`test accuracy ${(100 * report.accuracy).toFixed(2)}%, average weight width ${report.averageWeightBits.toFixed(2)} bits, ` +
    `${report.steps} steps, ${report.timings.msPerStep.toFixed(1)} ms/step (${report.isa})`);
  if (report.profile) console.log(formatProfile(report.profile));
  const widths = (m: Record<string, number>) => Object.entries(m).map(([l, b]) => `${l}=${b}`).join(" ");
  console.log(`final bits: ${widths(report.finalBits)}` + (report.finalOutputBits ? `; outputs: ${widths(report.finalOutputBits)}` : ""));
  if (report.memory) {
    const m = report.memory;
    const pct = (x: number) => `${(100 * (1 - m.plannedPeakBytes / x)).toFixed(1)}% less`;
    console.log(`memory: planned peak ${groupDigits(m.plannedPeakBytes)} bytes` +
      (m.measuredPeakBytes !== null ? `, measured ${groupDigits(m.measuredPeakBytes)}` : "") +
      (m.budgetBytes !== null ? ` (budget ${groupDigits(m.budgetBytes)})` : "") +
      (o.policy.kind === "fp32" ? `; qat8() would need ${groupDigits(m.qat8Bytes)}`
        : `; fp32() would need ${groupDigits(m.fp32Bytes)} (${pct(m.fp32Bytes)}), qat8() ${groupDigits(m.qat8Bytes)} (${pct(m.qat8Bytes)})`));
  }
  console.log(`report: ${join(o.out, "report.json")} and ${join(o.out, "report.html")}` + (modelFile ? `; model: ${modelFile}` : ""));
  if (report.stopped) {
    const s = report.stopped;
    console.error(`aptkit: stopped at step ${s.step} of ${o.epochs} epoch(s) (${s.reason})` +
      (s.checkpoint ? `; checkpoint ${s.checkpoint}\nresume with: ${resumeCommand(argv, s.checkpoint)}` : "; no --checkpoint was given, so it cannot be resumed"));
    return SIGNAL_EXIT[signalName ?? "SIGINT"];
  }
  return 0;
}
