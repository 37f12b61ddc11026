// The flags every bench shares (--quick, --json FILE, --clock cpu|wall) and its own, through
// Node's parseArgs: an unknown flag or a missing value is refused with the flag's name.
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface BenchArgs {
  quick: boolean;
  json?: string;
  clock: "cpu" | "wall";
  /** The bench's own flags (all take a string value), by name. */
  own: Record<string, string | undefined>;
}

/** `withClock: false` for a bench that times only in wall-clock time (it then refuses --clock). */
export function benchArgs(own: Record<string, { type: "string" }>, withClock = true): BenchArgs {
  const clockFlag: NonNullable<ParseArgsConfig["options"]> = withClock ? { clock: { type: "string", default: "cpu" } } : {};
  const values = parseArgs({
    options: { quick: { type: "boolean", default: false }, json: { type: "string" }, ...clockFlag, ...own },
    strict: true, allowPositionals: false,
  }).values as Record<string, string | boolean | undefined>;
  const clock = values.clock ?? "wall";
  if (clock !== "cpu" && clock !== "wall") throw new RangeError(`--clock must be cpu or wall, got ${JSON.stringify(clock)}`);
  const ownValues = Object.fromEntries(Object.keys(own).map((k) => [k, values[k] as string | undefined]));
  return { quick: values.quick === true, json: values.json as string | undefined, clock, own: ownValues };
}

/** A numeric flag's value, refused unless `ok` holds. */
export function numberFlag(flag: string, raw: string | undefined, fallback: number, ok: (x: number) => boolean, expected: string): number {
  const x = raw === undefined ? fallback : Number(raw);
  if (!ok(x)) throw new RangeError(`--${flag} must be ${expected}, got ${raw}`);
  return x;
}
