// arm64 (Raspberry Pi class) correctness: a short APT training run of a small MLP through train()
// on both builds, under the 256 KiB memory cap: the loss falls, the task is learnt, and both builds
// end with the same model bit for bit. Prints "N passed, N failed"; exit code 1 on any failure.
import * as aptkit from "../../dist/index.js";
import { clusters, lossEnds } from "../portable/cases.mjs";

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok" : "not ok"} - ${name}${detail ? `: ${detail}` : ""}`);
}

console.log(`# node ${process.version} on ${process.arch}`);
const models = {};
for (const isa of ["simd", "scalar"]) {
  try {
    const started = performance.now();
    const { report } = await aptkit.train({
      model: aptkit.mlp([16], [16], 4),
      data: clusters(aptkit, { classes: 4, features: 16, train: 256, test: 128, spread: 0.1 }),
      policy: aptkit.apt({ interval: 8 }),
      epochs: 5,
      batch: 16,
      lr: 0.1,
      isa,
      logEvery: 4,
      budgetBytes: 256 * 1024,
    });
    const { first, last } = lossEnds(report.loss);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`# ${isa}: ${report.steps} steps in ${seconds} s, loss ${first.toFixed(3)} -> ${last.toFixed(3)}, ` +
      `test accuracy ${report.accuracy.toFixed(3)}, bits ${JSON.stringify(report.finalBits)}`);
    check(`${isa}: ran on the ${isa} build`, report.isa === isa, report.isa);
    check(`${isa}: loss falls below 0.6x its start`, last < 0.6 * first, `${first.toFixed(3)} -> ${last.toFixed(3)}`);
    check(`${isa}: test accuracy >= 0.9`, report.accuracy >= 0.9, report.accuracy.toFixed(3));
    check(`${isa}: planned peak == measured peak`, report.memory.plannedPeakBytes === report.memory.measuredPeakBytes,
      `${report.memory.plannedPeakBytes} vs ${report.memory.measuredPeakBytes}`);
    models[isa] = report.modelSha256;
  } catch (e) {
    check(`${isa}: train() ran`, false, e.stack ?? String(e));
  }
}
check("simd and scalar builds train the same model bit for bit", models.simd !== undefined && models.simd === models.scalar);
// run.sh compares this line with the host's: the same model on every architecture.
console.log(`# model sha256 ${models.simd ?? "none"}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
