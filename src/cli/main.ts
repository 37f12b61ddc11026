// aptkit's command line: `aptkit <command> [flags]` (docs in README.md). main() returns the exit
// code: 0 done, 1 the work failed (budget, divergence, a damaged file), 2 the command line or a
// file it names cannot be used, 130 / 143 stopped by SIGINT / SIGTERM.
import { planCommand } from "./plan.js";
import { predictCommand } from "./predict.js";
import { trainCommand } from "./train.js";
import { COMMANDS, COMMAND_USAGE, USAGE, UsageError, type Command } from "./usage.js";
import { packageVersion } from "./version.js";

const RUN: Record<Command, (argv: string[]) => Promise<number>> = {
  train: trainCommand, plan: planCommand, predict: predictCommand,
};

const wantsHelp = (argv: readonly string[]) => argv.includes("--help") || argv.includes("-h");

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") {
    const topic = rest[0];
    console.log(topic !== undefined && (COMMANDS as readonly string[]).includes(topic) ? COMMAND_USAGE[topic as Command] : USAGE);
    return 0;
  }
  if (command === "--version" || command === "-v") {
    console.log(await packageVersion());
    return 0;
  }
  if (command === undefined || !(COMMANDS as readonly string[]).includes(command)) {
    console.error(command === undefined ? USAGE : `aptkit: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  const usage = COMMAND_USAGE[command as Command];
  if (wantsHelp(rest)) {
    console.log(usage);
    return 0;
  }
  try {
    return await RUN[command as Command](rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`aptkit ${command}: ${e.message}\n${usage}`);
      return 2;
    }
    // aptkit's own errors (a missing data set, a damaged file, ...) explain themselves: no stack.
    const code: unknown = (e as { code?: unknown } | null)?.code;
    if (e instanceof Error && typeof code === "string" && code.startsWith("APTKIT_")) {
      console.error(`aptkit ${command}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

export { UsageError };
