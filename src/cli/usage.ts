// What each command accepts, and the error for a command line that asks for something else.
// Loaded by the package entry too (UsageError is exported): nothing here imports node: modules.

/** A command line (or its files) the CLI cannot run: exit code 2, the message names the flag. */
export class UsageError extends Error {
  readonly code = "APTKIT_USAGE";
  /** The flag at fault ("--batch"), or null for the command line as a whole. */
  readonly flag: string | null;

  constructor(flag: string | null, message: string) {
    super(flag === null ? message : `${flag}: ${message}`);
    this.name = "UsageError";
    this.flag = flag;
  }
}

export const COMMANDS = ["train", "plan", "predict"] as const;
export type Command = (typeof COMMANDS)[number];

export const TRAIN_USAGE = `usage: aptkit train [--model lenet5|mlp] [--data digits|fashion-mnist|idx:DIR] [--policy apt|fixed:N|qat8|fp32]
                   [--epochs N] [--batch N] [--lr X] [--seed N] [--isa auto|simd|scalar|relaxed] [--out DIR]
                   [--budget B]                                      (a budget without --batch picks the largest batch that fits)
                   [--profile]                                       (print and record where each step's time goes)
                   [--scaling delayed|exact]                         (apt, fixed:N, qat8; default delayed)
                   [--rounding stochastic|nearest]                   (apt, fixed:N)
                   [--checkpoint PATH [--every N]] [--resume PATH]   (apt, fixed:N)
                   [--lean 0|1|2|3]                                  (apt: the energy/memory-vs-accuracy knob; default 0)
                   [--tmin X] [--tmax X] [--bmin N] [--bmax N] [--interval N] [--activations tied|fixed]   (apt)
  Writes DIR/report.json, DIR/report.html and (apt, fixed:N) DIR/model.aptkit. Ctrl-C stops after the
  current step, writes the checkpoint (with --checkpoint) and prints the command that resumes.`;

export const PLAN_USAGE = `usage: aptkit plan [--model lenet5|mlp] [--policy apt|fixed:N|qat8|fp32] [--batch N] [--budget B]
                  [--bmin N] [--bmax N] (apt) [--seed N] [--isa auto|simd|scalar|relaxed]
  Prints the run's memory plan, and what the float baselines would need; exit 1 when it exceeds the budget.`;

export const PREDICT_USAGE = `usage: aptkit predict --model-file FILE [--data digits|fashion-mnist|idx:DIR] [--batch N] [--isa auto|simd|scalar|relaxed]
  Prints the model's accuracy on the data set's test split.`;

export const USAGE = `usage: aptkit <command> [flags]      aptkit <command> --help      aptkit --version
commands:
  train     train a model under a precision policy (apt, fixed:N, qat8, fp32)
  plan      print a run's memory plan against a budget
  predict   the accuracy of a saved model file on a data set
  (the policy comparison behind docs/results.md is not a command: in a checkout, npm run reproduce -- --out DIR)
  B (a budget): bytes (262144), a binary size (256KiB, 1MiB) or a device profile (cortex-m4, rp2040, ...)`;

export const COMMAND_USAGE: Record<Command, string> = {
  train: TRAIN_USAGE, plan: PLAN_USAGE, predict: PREDICT_USAGE,
};
