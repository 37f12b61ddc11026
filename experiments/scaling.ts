// Exact against delayed scaling under the default APT policy (lenet5): the test accuracy of each
// seed on the bundled digits (the default epochs) and Fashion-MNIST (5 epochs), one JSON line a run.
// The measurement behind TRAIN_DEFAULTS.scaling (src/train/defaults.ts, docs/kernels.md).
//
//   npm run build && node --import tsx experiments/scaling.ts [--data digits,fashion-mnist]
//       [--seeds 1,2,3] [--scalings exact,delayed] [--batch N] [--lr X] [--epochs N] [--budget BYTES]
import { parseArgs } from "node:util";
import { apt, learnerFactory, lenet5, loadDataset, train, TRAIN_DEFAULTS } from "../src/index.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "digits,fashion-mnist" },
    seeds: { type: "string", default: "1,2,3" },
    scalings: { type: "string", default: "exact,delayed" },
    batch: { type: "string" },
    lr: { type: "string" },
    epochs: { type: "string" },
    budget: { type: "string" },
  },
  strict: true,
});
const list = (s: string) => s.split(",").filter((x) => x !== "");
const scalings = list(values.scalings!).map((s) => {
  if (s !== "exact" && s !== "delayed") throw new RangeError(`--scalings: exact or delayed, got ${JSON.stringify(s)}`);
  return s;
});
const number = (flag: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new RangeError(`--${flag}: a positive number, got ${JSON.stringify(v)}`);
  return x;
};
for (const name of list(values.data!)) {
  const data = await loadDataset(name);
  const epochs = number("epochs", values.epochs) ?? (name === "digits" ? TRAIN_DEFAULTS.epochs : 5);
  for (const seed of list(values.seeds!).map(Number)) {
    for (const scaling of scalings) {
      const { report } = await train({
        model: lenet5(), data, policy: apt(), epochs, seed, scaling, learnerFactory,
        batch: number("batch", values.batch), lr: number("lr", values.lr), budgetBytes: number("budget", values.budget),
      });
      console.log(JSON.stringify({
        data: name, seed, scaling, batch: report.config.batch, accuracy: report.accuracy,
        trainCpuSeconds: report.timings.trainCpuSeconds, finalBits: report.finalBits,
      }));
    }
  }
}
