// `aptkit compare`: the policy comparison (src of the results page), into a new directory unless
// --out says where: never over a results page that happens to lie in the working directory.
import { UsageError } from "./usage.js";

/** runs/compare-2025-01-31T12-00-00: sortable, and a new name for every run of the command. */
export function defaultCompareDir(now = new Date()): string {
  return `runs/compare-${now.toISOString().slice(0, 19).replaceAll(":", "-")}`;
}

export async function compareCommand(argv: string[]): Promise<number> {
  const { main: compare } = await import("../experiment/compare.js");
  try {
    return await compare(argv, { defaultOut: defaultCompareDir() });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code?.startsWith("ERR_PARSE_ARGS") || e instanceof RangeError) {
      const flag = /(--[a-z-]+)/.exec((e as Error).message)?.[1] ?? null;
      throw new UsageError(flag, (e as Error).message.replace(/^--[a-z-]+: /, ""));
    }
    throw e;
  }
}
