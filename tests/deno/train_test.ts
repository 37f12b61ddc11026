// Deno: a short APT training run of a small MLP through train(), on both builds: the loss falls,
// the model learns the task, and the two builds end with the same model bit for bit (the kernels
// are exact and the rounding is seeded).
import * as aptkit from "../../dist/index.js";
import { clusters, lossEnds } from "../portable/cases.mjs";

const models: Record<string, string> = {};

for (const isa of ["simd", "scalar"] as const) {
  Deno.test(`${isa} build: train() with APT lowers the loss of an MLP on synthetic clusters`, async () => {
    const data = clusters(aptkit, { classes: 4, features: 16, train: 256, test: 128, spread: 0.1 });
    const { report } = await aptkit.train({
      model: aptkit.mlp([16], [16], 4),
      data,
      policy: aptkit.apt({ interval: 8 }),
      epochs: 5,
      batch: 16,
      lr: 0.1,
      isa,
      logEvery: 4,
    });
    if (report.isa !== isa) throw new Error(`ran on ${report.isa}, asked for ${isa}`);
    const { first, last } = lossEnds(report.loss);
    console.log(`${isa}: loss ${first.toFixed(3)} -> ${last.toFixed(3)}, test accuracy ${report.accuracy.toFixed(3)}, bits ${JSON.stringify(report.finalBits)}`);
    if (!(last < 0.6 * first)) throw new Error(`loss did not fall enough: ${first} -> ${last}`);
    if (!(report.accuracy >= 0.9)) throw new Error(`test accuracy ${report.accuracy} < 0.9`);
    models[isa] = report.modelSha256;
  });
}

Deno.test("the SIMD and scalar builds train the same model, bit for bit", () => {
  if (!models.simd || !models.scalar) throw new Error("a training test above failed");
  if (models.simd !== models.scalar) throw new Error(`simd ${models.simd} != scalar ${models.scalar}`);
});
