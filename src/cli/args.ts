// Reading flags: one parser for every command (Node's parseArgs, strict), and the checks of the
// values several commands share. Every refusal is a UsageError naming the flag.
import { parseArgs } from "node:util";
import { lenet5, mlp, type ModelDefinition } from "../nn/model.js";
import { parseBudget, type Budget } from "../budget/budget.js";
import { APT_DEFAULTS, LEAN_SETTINGS, apt, fixed, fp32, qat8, type PolicySpec } from "../train/policy.js";
import { ISA_CHOICES } from "../train/options.js";
import type { IsaChoice } from "../runtime/wasm.js";
import { UsageError } from "./usage.js";

export const MODELS: Readonly<Record<string, () => ModelDefinition>> = Object.freeze({
  lenet5,
  mlp: () => mlp([128], [28, 28, 1]),
});

export type Values = Record<string, string | boolean | undefined>;

/** Flags as strings (booleans where `booleans` says), no defaults: what was given stays visible. */
export function readFlags(argv: string[], flags: readonly string[], booleans: readonly string[] = []): Values {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const f of flags) options[f] = { type: "string" };
  for (const f of booleans) options[f] = { type: "boolean" };
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values as Values;
  } catch (e) {
    const flag = /'(-{1,2}[^' ]+)/.exec((e as Error).message)?.[1] ?? null;
    throw new UsageError(flag, (e as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

export const str = (v: Values, flag: string): string | undefined => v[flag] as string | undefined;

/** A number flag, or undefined when absent. */
export function num(v: Values, flag: string, check: (x: number) => boolean, what: string): number | undefined {
  const s = str(v, flag);
  if (s === undefined) return undefined;
  const x = Number(s);
  if (s.trim() === "" || !Number.isFinite(x) || !check(x)) throw new UsageError(`--${flag}`, `expected ${what}, got ${JSON.stringify(s)}`);
  return x;
}

export const isInt = (x: number) => Number.isInteger(x);
export const positiveInt = (v: Values, flag: string, max = Number.MAX_SAFE_INTEGER) =>
  num(v, flag, (x) => isInt(x) && x >= 1 && x <= max, max === Number.MAX_SAFE_INTEGER ? "a positive integer" : `an integer in 1..${max}`);

export function model(v: Values): ModelDefinition {
  const name = str(v, "model") ?? "lenet5";
  // Own keys only: "__proto__" or "constructor" is an unknown model, not a property of Object.
  if (!Object.hasOwn(MODELS, name)) throw new UsageError("--model", `unknown model ${JSON.stringify(name)} (known: ${Object.keys(MODELS).join(", ")})`);
  return MODELS[name]();
}

export function isa(v: Values): IsaChoice {
  const s = str(v, "isa") ?? "auto";
  if (!ISA_CHOICES.includes(s as IsaChoice)) throw new UsageError("--isa", `expected auto, simd, scalar or relaxed, got ${JSON.stringify(s)}`);
  return s as IsaChoice;
}

export function budget(v: Values): Budget | undefined {
  const s = str(v, "budget");
  if (s === undefined) return undefined;
  try {
    return parseBudget(s);
  } catch (e) {
    throw new UsageError("--budget", (e as Error).message);
  }
}

/** The flags only some policies read: given with another policy, they would be ignored. */
const POLICY_FLAGS: Record<string, readonly PolicySpec["kind"][]> = {
  lean: ["apt"], tmin: ["apt"], tmax: ["apt"], bmin: ["apt"], bmax: ["apt"], interval: ["apt"], activations: ["apt"],
  rounding: ["apt", "fixed"],
  scaling: ["apt", "fixed", "qat8"],
  checkpoint: ["apt", "fixed"], every: ["apt", "fixed"], resume: ["apt", "fixed"],
};

const KIND_NAMES: Record<PolicySpec["kind"], string> = { apt: "apt", fixed: "fixed:N", qat8: "qat8", fp32: "fp32" };

/** The policy --policy and its tuning flags describe; a flag the policy would not read is refused. */
export function policy(v: Values): PolicySpec {
  const p = str(v, "policy") ?? "apt";
  const kind: PolicySpec["kind"] | undefined =
    p === "apt" ? "apt" : /^fixed:\d+$/.test(p) ? "fixed" : p === "qat8" ? "qat8" : p === "fp32" ? "fp32" : undefined;
  if (kind === undefined) throw new UsageError("--policy", `expected apt, fixed:N, qat8 or fp32, got ${JSON.stringify(p)}`);
  for (const [flag, kinds] of Object.entries(POLICY_FLAGS)) {
    if (v[flag] !== undefined && !kinds.includes(kind)) {
      throw new UsageError(`--${flag}`, `does not apply to --policy ${p} (it applies to ${kinds.map((k) => KIND_NAMES[k]).join(", ")})`);
    }
  }
  const lean = num(v, "lean", (x) => isInt(x) && x >= 0 && x < LEAN_SETTINGS.length, `an integer in 0..${LEAN_SETTINGS.length - 1}`);
  const tMin = num(v, "tmin", (x) => x >= 0, "a number >= 0");
  const tMax = num(v, "tmax", (x) => x > 0, "a number > 0");
  const bMin = num(v, "bmin", (x) => isInt(x) && x >= 2 && x <= 16, "an integer in 2..16");
  const bMax = num(v, "bmax", (x) => isInt(x) && x >= 2 && x <= 16, "an integer in 2..16");
  const interval = positiveInt(v, "interval");
  const rounding = str(v, "rounding");
  if (rounding !== undefined && rounding !== "stochastic" && rounding !== "nearest") {
    throw new UsageError("--rounding", `expected stochastic or nearest, got ${JSON.stringify(rounding)}`);
  }
  const activations = str(v, "activations");
  if (activations !== undefined && activations !== "tied" && activations !== "fixed") {
    throw new UsageError("--activations", `expected tied or fixed, got ${JSON.stringify(activations)}`);
  }
  try {
    if (kind === "apt") {
      const o: Record<string, unknown> = {};
      if (lean !== undefined) o.lean = lean;
      if (tMin !== undefined) o.tMin = tMin;
      if (tMax !== undefined) o.tMax = tMax;
      if (bMin !== undefined) o.bMin = bMin;
      if (bMax !== undefined) o.bMax = bMax;
      if (interval !== undefined) o.interval = interval;
      if (rounding !== undefined) o.rounding = rounding;
      if (activations !== undefined) o.tieActivations = activations === "tied";
      if (bMin !== undefined && bMax !== undefined && bMin > bMax) throw new RangeError(`bMin (${bMin}) must not exceed bMax (${bMax})`);
      if (bMin !== undefined || bMax !== undefined) {
        // Keep the initial width inside a user-narrowed range.
        const preset = { ...APT_DEFAULTS, ...LEAN_SETTINGS[lean ?? 0] };
        const lo = bMin ?? preset.bMin, hi = bMax ?? preset.bMax;
        o.initialBits = Math.min(hi, Math.max(lo, preset.initialBits));
      }
      return apt(o);
    }
    if (kind === "fixed") return fixed(Number(p.slice(6)), (rounding as "stochastic" | "nearest" | undefined) ?? "stochastic");
    return kind === "qat8" ? qat8() : fp32();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const flag = /^lean/.test(e.message) ? "--lean" : /slotBits/.test(e.message) ? "--lean/--bmin" : /tMin|tMax/.test(e.message) ? "--tmin/--tmax" : /bMin|bMax/.test(e.message) ? "--bmin/--bmax" : "--policy";
    throw new UsageError(flag, e.message);
  }
}

/** The command line as a shell would take it back (for "resume with: ..."). */
export function shellLine(args: readonly string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}
