// `aptkit plan`: the run's memory plan as a table, and what the float baselines would need.
import { groupDigits, formatSize } from "../budget/budget.js";
import { BudgetError } from "../budget/errors.js";
import { formatPlan } from "../budget/fit-table.js";
import { baselineMemory } from "../baselines/memory.js";
import { buildWithinBudget, compactCap } from "../nn/fit.js";
import { Engine } from "../engine/engine.js";
import { TRAIN_DEFAULTS } from "../train/defaults.js";
import { largestBatchThatFits, widestThatFits } from "../train/trainer.js";
import { initialBits, plannedTensorBits, policyName, widestBits } from "../train/policy.js";
import * as flags from "./args.js";
import { checkIsa } from "./train.js";

const PLAN_FLAGS = ["model", "policy", "lean", "batch", "budget", "bmin", "bmax", "seed", "isa"] as const;

export function parsePlanArgs(argv: string[]) {
  const v = flags.readFlags(argv, PLAN_FLAGS);
  return {
    model: flags.model(v),
    policy: flags.policy(v),
    batch: flags.positiveInt(v, "batch", 65536) ?? null,
    budget: flags.budget(v),
    seed: flags.num(v, "seed", (x) => flags.isInt(x) && x >= 0 && x <= 0xffffffff, "an integer in 0..2^32-1") ?? TRAIN_DEFAULTS.seed,
    isa: flags.isa(v),
    help: v.help === true,
  };
}

export async function planCommand(argv: string[]): Promise<number> {
  const o = parsePlanArgs(argv);
  await checkIsa(o.isa);
  const p = o.policy;
  let batch = o.batch ?? TRAIN_DEFAULTS.batch;
  if (o.batch === null && o.budget) {
    const fitting = await largestBatchThatFits(o.model, p, o.budget.bytes, { upTo: TRAIN_DEFAULTS.batch, seed: o.seed, isa: o.isa });
    if (fitting !== null) {
      batch = fitting;
      console.log(`batch ${batch}: the largest that fits ${formatSize(o.budget.usableBytes)}`);
    }
  }
  if (p.kind === "fp32") {
    const { Fp32Learner } = await import("../baselines/fp32/learner.js");
    const f = await Fp32Learner.create(o.model, { batch, seed: o.seed, isa: o.isa });
    console.log(formatPlan(f.plan, o.budget?.bytes));
    return o.budget && f.plan.peakBytes > o.budget.usableBytes ? 1 : 0;
  }
  // Only the plan is wanted: a dry engine lays it out (refusing past the budget or 4 GiB) without
  // growing or painting the memory a run would use.
  const options = {
    batch, seed: o.seed, ...plannedTensorBits(p),
    weightBits: initialBits(p), maxWeightBits: widestBits(p), masterWeights: p.kind === "qat8",
  };
  // As train() does: a compact APT plan runs under the fewest whole pages that hold it.
  const budgetBytes = p.kind === "apt" && p.compact
    ? compactCap(await Engine.create(o.isa, { budgetBytes: o.budget?.bytes }), o.model, options, o.budget?.bytes)
    : o.budget?.bytes;
  const engine = (await Engine.create(o.isa, { budgetBytes })).dry();
  // As train() does: under a budget, APT reserves the widest weights that fit.
  if (p.kind === "apt" && o.budget) options.maxWeightBits = await widestThatFits(o.model, { batch, seed: o.seed, isa: o.isa }, p.initialBits, p.bMax, o.budget.bytes);
  try {
    buildWithinBudget(engine, o.model, options, p.kind === "apt" ? p.bMin : options.weightBits);
  } catch (e) {
    if (e instanceof BudgetError) {
      console.error(`aptkit: --budget ${o.budget?.source}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  console.log(formatPlan(engine.plan, o.budget?.bytes));
  const base = await baselineMemory(o.model, batch, o.seed, o.isa, engine);
  const peak = engine.plan.peakBytes;
  const pct = (x: number) => `${((100 * (1 - peak / x))).toFixed(1)}% less`;
  console.log(`\n${o.model.name} at batch ${batch}, ${policyName(p)}: ${groupDigits(peak)} bytes; ` +
    `fp32() would need ${base.fp32Refused ? `more than ${groupDigits(base.fp32Bytes)}, past the 4 GiB wasm32 ceiling` : `${groupDigits(base.fp32Bytes)} (${pct(base.fp32Bytes)})`}, qat8() ${groupDigits(base.qat8Bytes)} (${pct(base.qat8Bytes)})`);
  return 0;
}
