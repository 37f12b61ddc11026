// Which widths lenet5 needs where, and which controller settings find them: the measurements
// behind APT_DEFAULTS and LEAN_SETTINGS (src/train/policy.ts, docs/apt.md). Each variant trains
// Fashion-MNIST for 5 epochs (batch 32, cosine lr 0.05, the default scaling) once per seed, in its
// own process (up to --jobs at once), and prints one JSON line per run, then a table of means.
//
//   npm run build && node --import tsx experiments/widths.ts [--seeds 1,2] [--jobs 2] [--only "LABEL;LABEL"]
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { apt, fixed, learnerFactory, lenet5, loadDataset, train, type AptOptions, type PolicySpec } from "../src/index.js";

interface Variant {
  label: string;
  policy: () => PolicySpec;
  /** Planned activation and error widths, when not the policy's own. */
  tensorBits?: number;
  actBits?: number;
  errBits?: number;
}

const aptWith = (o: Partial<AptOptions>) => () => apt(o);

export const VARIANTS: Variant[] = [
  // Fixed widths: where accuracy goes when activations or errors narrow.
  { label: "fixed:8", policy: () => fixed(8) },
  { label: "fixed:8, activations and errors 6", policy: () => fixed(8), tensorBits: 6 },
  { label: "fixed:8, activations 8, errors 6", policy: () => fixed(8), actBits: 8, errBits: 6 },
  { label: "fixed:8, activations 6, errors 8", policy: () => fixed(8), actBits: 6, errBits: 8 },
  { label: "fixed:6, activations and errors 5", policy: () => fixed(6), tensorBits: 5 },
  // The controller: thresholds for weights (tMin, tMax) and outputs (rMin, rMax), and the widest weights.
  { label: "apt tMin 0.05", policy: aptWith({ tMin: 0.05, tMax: 0.5 }) },
  { label: "apt rMin 3, rMax 12", policy: aptWith({ rMin: 3, rMax: 12 }) },
  { label: "apt lean 0 (default)", policy: aptWith({}) },
  { label: "apt rMin 1.5, rMax 6", policy: aptWith({ rMin: 1.5, rMax: 6 }) },
  { label: "apt lean 0, bMax 8", policy: aptWith({ bMax: 8 }) },
];

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "1,2" },
    jobs: { type: "string" },
    only: { type: "string" },
    worker: { type: "string" },
  },
  strict: true,
});

async function runOne(label: string, seed: number): Promise<Record<string, unknown>> {
  const v = VARIANTS.find((x) => x.label === label);
  if (!v) throw new RangeError(`unknown variant ${JSON.stringify(label)}`);
  const data = await loadDataset("fashion-mnist");
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    const { report } = await train({
      model: lenet5(), data, policy: v.policy(), epochs: 5, batch: 32, lr: 0.05, schedule: "cosine", seed, learnerFactory,
      actBits: v.actBits ?? v.tensorBits, errBits: v.errBits ?? v.tensorBits,
    });
    const outputs = report.bitsHistory.filter((d) => d.tensor === "output");
    return {
      label, seed, accuracy: report.accuracy, trainingJoules: report.energy?.totalJoules, plannedPeakBytes: report.memory?.plannedPeakBytes,
      trainCpuSeconds: report.timings.trainCpuSeconds, averageWeightBits: report.averageWeightBits, finalBits: report.finalBits,
      finalOutputBits: report.finalOutputBits ?? null, replans: report.replans ?? [],
      raised: report.bitsHistory.filter((d) => d.newBits > d.oldBits).length, lowered: report.bitsHistory.filter((d) => d.newBits < d.oldBits).length,
      outputDecisions: outputs.length,
    };
  } finally {
    clearInterval(keepAlive);
  }
}

if (values.worker !== undefined) {
  const [label, seed] = JSON.parse(values.worker) as [string, number];
  console.log(JSON.stringify(await runOne(label, seed)));
} else {
  const seeds = values.seeds!.split(",").map(Number);
  // Labels hold commas: the list is split at semicolons.
  const labels = values.only ? values.only.split(";").map((l) => l.trim()) : VARIANTS.map((v) => v.label);
  for (const l of labels) if (!VARIANTS.some((v) => v.label === l)) throw new RangeError(`--only: unknown variant ${JSON.stringify(l)}`);
  const jobs = Number(values.jobs ?? Math.max(1, Math.min(2, availableParallelism())));
  const todo = labels.flatMap((label) => seeds.map((seed) => [label, seed] as [string, number]));
  const results: Record<string, unknown>[] = [];
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const job = todo[next++];
      const line = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--worker", JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (d) => { out += String(d); });
        child.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${job[0]} seed ${job[1]}: exit ${code}`))));
      });
      console.log(line);
      results.push(JSON.parse(line) as Record<string, unknown>);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log("\n| variant | test accuracy | training energy | planned peak | seeds |\n|---|---:|---:|---:|---:|");
  for (const label of labels) {
    const rs = results.filter((r) => r.label === label);
    const pick = (k: string) => rs.map((r) => r[k] as number);
    console.log(`| ${label} | ${(100 * mean(pick("accuracy"))).toFixed(2)} % | ${mean(pick("trainingJoules")).toFixed(3)} J | ` +
      `${Math.max(...pick("plannedPeakBytes")).toLocaleString("en-US")} B | ${rs.map((r) => r.seed).join(", ")} |`);
  }
}
