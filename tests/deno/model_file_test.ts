// Deno: a model trained here leaves as a model file and runs inference after loadModel(): the
// loaded model predicts exactly what the trained one does.
import * as aptkit from "../../dist/index.js";
import { clusters } from "../portable/cases.mjs";

Deno.test("saveModel -> loadModel -> predict reproduces the trained model's logits", async () => {
  const data = clusters(aptkit, { classes: 4, features: 16, train: 256, test: 64, spread: 0.1 });
  const { learner } = await aptkit.train({
    model: aptkit.mlp([16], [16], 4), data, policy: aptkit.apt({ interval: 8 }), epochs: 2, batch: 16, lr: 0.1, isa: "simd",
  });
  const bytes = await aptkit.saveModel(learner as InstanceType<typeof aptkit.IntegerLearner>);
  const loaded = await aptkit.loadModel(bytes, { batch: 16, isa: "simd" });
  const images = data.test.images.subarray(0, 16 * 16);
  const expected = (learner as InstanceType<typeof aptkit.IntegerLearner>).model.predict(images, 16);
  const got = loaded.predict(images, 16).logits;
  if (got.length !== expected.length) throw new Error(`length ${got.length} != ${expected.length}`);
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== expected[i]) throw new Error(`logit ${i}: ${got[i]} != ${expected[i]}`);
  }
  let refused = false;
  try {
    await aptkit.loadModel(bytes.slice(0, bytes.length - 1));
  } catch (e) {
    refused = e instanceof aptkit.ModelFileError;
  }
  if (!refused) throw new Error("a truncated model file was not refused with ModelFileError");
});
