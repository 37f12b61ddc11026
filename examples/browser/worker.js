// Trains in a worker so the page stays responsive; posts progress for the live plot.
// Imports the built library as plain ES modules (no bundler): dist/ is runtime-neutral.
import { init, loadModel, saveModel, train } from "../../dist/index.js";
import { trainingOptions } from "./config.js";
import { loadData } from "./data.js";

const post = (message) => self.postMessage(message);

self.onmessage = async ({ data: config }) => {
  try {
    // Register the builds this page ships: scalar always, SIMD where this engine validates it.
    // (Without init, the library fetches build/aptkit.<isa>.wasm beside dist/ by itself; init is
    // how a page points it elsewhere, or hands over bytes or a compiled module.)
    const build = new URL("../../build/", import.meta.url);
    await init({ url: new URL("aptkit.scalar.wasm", build) });
    if (config.isa !== "scalar") await init({ url: new URL("aptkit.simd.wasm", build) }).catch(() => {});

    const data = await loadData(config.data);
    const options = trainingOptions(data, {
      isa: config.isa ?? "auto",
      ...(config.epochs ? { epochs: config.epochs } : {}),
      onProgress: (p) => post({ type: "progress", step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, loss: p.loss, accuracy: p.accuracy, bits: p.bits }),
    });
    post({ type: "start", dataset: data.train.name.replace(/\/train$/, ""), train: data.train.count, test: data.test.count, model: options.model.name });
    const { report, learner } = await train(options);
    // The trained model leaves as a model file and comes back for inference, as on a device.
    const file = await saveModel(learner);
    const loaded = await loadModel(file, { batch: options.batch, isa: report.isa });
    const per = data.test.height * data.test.width * data.test.channels;
    const { classes } = loaded.predict(data.test.images.subarray(0, data.test.count * per), data.test.count);
    let correct = 0;
    for (let i = 0; i < data.test.count; i++) if (classes[i] === data.test.labels[i]) correct++;
    post({
      type: "done",
      isa: report.isa,
      accuracy: report.accuracy,
      steps: report.steps,
      finalBits: report.finalBits,
      averageWeightBits: report.averageWeightBits,
      plannedPeakBytes: report.memory?.plannedPeakBytes,
      seconds: report.timings.totalSeconds,
      modelSha256: report.modelSha256,
      modelFileBytes: file.length,
      exportedAccuracy: correct / data.test.count,
    });
  } catch (e) {
    post({ type: "error", message: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) });
  }
};
