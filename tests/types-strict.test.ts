// A strict TypeScript consumer of the built package: what train() returns goes into saveModel,
// loadModel and predict as is, and every error class is exported with its literal code. A
// deliberately wrong consumer must fail, so the check can fail.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { assertBuilt, ROOT } from "./helpers/cli-child.js";

const run = promisify(execFile);
let project: string;

const CONSUMER = `
import {
  train, saveModel, loadModel, apt, fixed, fp32, mlp, createDataset, split, TRAIN_DEFAULTS,
  DivergenceError, CheckpointError, DatasetError, UsageError, BudgetError, ModelFileError,
  type TrainResult, type TrainReport,
} from "aptkit";

const images = new Float32Array(40 * 4);
const labels = new Uint8Array(40).map((_, i) => i % 2);
const data = split(createDataset({ name: "toy", count: 40, height: 1, width: 4, channels: 1, classes: 2, images, labels }), 30, 1);
const stop = new AbortController();
const result: TrainResult = await train({ model: mlp([4], [4], 2), data, policy: Math.random() > 2 ? fixed(8) : apt(), signal: stop.signal });
const bytes: Uint8Array = await saveModel(result.learner);
const model = await loadModel(bytes, { batch: 8 });
const { classes }: { classes: Uint8Array } = model.predict(data.test.images, data.test.count);
const report: TrainReport = result.report;
const stopped: number | undefined = report.stopped?.step;
const peak: number | undefined = report.memory?.plannedPeakBytes;
const epochs: number = TRAIN_DEFAULTS.epochs;
void fp32; void classes; void stopped; void peak; void epochs;

const codes: ["APTKIT_DIVERGENCE", "APTKIT_CHECKPOINT", "APTKIT_DATASET", "APTKIT_USAGE", "APTKIT_BUDGET", "APTKIT_MODEL_FILE"] = [
  new DivergenceError(1, NaN, 0.1, null).code,
  new CheckpointError("magic", 0, "x").code,
  new DatasetError("x", { file: "f", offset: 0 }).code,
  new UsageError("--batch", "x").code,
  new BudgetError({ budgetBytes: 1, plannedBytes: 2, largest: [], suggestions: [] }).code,
  new ModelFileError("magic", 0, "x").code,
];
function describe(e: unknown): string {
  if (e instanceof UsageError) return e.flag ?? e.code;
  return e instanceof Error ? e.message : String(e);
}
void codes; void describe;
`;

before(async () => {
  assertBuilt();
  project = await mkdtemp(join(tmpdir(), "aptkit-types-"));
  await mkdir(join(project, "node_modules"));
  await symlink(ROOT, join(project, "node_modules/aptkit"), "dir");
  await symlink(join(ROOT, "node_modules/@types"), join(project, "node_modules/@types"), "dir");
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await writeFile(join(project, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM"], types: ["node"],
      strict: true, noEmit: true, skipLibCheck: false, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
    },
    include: ["*.ts"],
  }));
});

async function tsc(): Promise<{ code: number; output: string }> {
  const bin = join(ROOT, "node_modules/typescript/bin/tsc");
  assert.ok(existsSync(bin), bin);
  try {
    const r = await run(process.execPath, [bin, "-p", project], { cwd: project });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, output: x.stdout + x.stderr };
  }
}

test("a strict consumer compiles against dist/*.d.ts (train() -> saveModel -> loadModel -> predict, error codes); a wrong one does not", async () => {
  await writeFile(join(project, "consumer.ts"), CONSUMER);
  // In the same compilation, so that the check is seen to fail where it should (one tsc run).
  await writeFile(join(project, "wrong.ts"), `${CONSUMER}\nconst wrong: "APTKIT_USAGE" = new BudgetError({ budgetBytes: 1, plannedBytes: 2, largest: [], suggestions: [] }).code;\nvoid wrong;\nexport {};\n`);
  const r = await tsc();
  assert.notEqual(r.code, 0, r.output);
  const errors = r.output.split("\n").filter((l) => /error TS\d+/.test(l));
  assert.deepEqual(errors.filter((l) => !l.startsWith("wrong.ts")), [], r.output);
  assert.equal(errors.length, 1, r.output);
  assert.match(errors[0], /^wrong\.ts\(\d+,\d+\): error TS2322: Type '"APTKIT_BUDGET"' is not assignable to type '"APTKIT_USAGE"'/);
});
