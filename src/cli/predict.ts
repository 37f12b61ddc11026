// `aptkit predict`: a model file's accuracy on a data set's test split.
import { loadModel, ModelFileError, readModelFile } from "../model-file/index.js";
import { DEFAULT_BATCH } from "../model-file/load.js";
import * as flags from "./args.js";
import { readUserFile } from "./files.js";
import { checkIsa, loadData } from "./train.js";
import { UsageError } from "./usage.js";

export function parsePredictArgs(argv: string[]) {
  const v = flags.readFlags(argv, ["model-file", "data", "batch", "isa"]);
  const modelFile = flags.str(v, "model-file");
  if (v.help !== true && !modelFile) throw new UsageError("--model-file", "required");
  return {
    modelFile: modelFile ?? "",
    data: flags.str(v, "data") ?? "digits",
    batch: flags.positiveInt(v, "batch", 65536) ?? DEFAULT_BATCH,
    isa: flags.isa(v),
    help: v.help === true,
  };
}

export async function predictCommand(argv: string[]): Promise<number> {
  const o = parsePredictArgs(argv);
  await checkIsa(o.isa);
  const bytes = await readUserFile("--model-file", o.modelFile, readModelFile);
  let model;
  try {
    model = await loadModel(bytes, { batch: o.batch, isa: o.isa });
  } catch (e) {
    if (!(e instanceof ModelFileError)) throw e;
    console.error(`aptkit: --model-file ${o.modelFile}: ${e.message}`);
    return 1;
  }
  const { test } = await loadData(o.data);
  const def = model.definition;
  const per = test.height * test.width * test.channels;
  const wants = def.input.reduce((a, b) => a * b, 1);
  const shapeFits = def.input.length === 3 ? def.input.join("x") === `${test.height}x${test.width}x${test.channels}` : wants === per;
  if (!shapeFits) {
    throw new UsageError("--data", `${test.name} has ${test.height}x${test.width}x${test.channels} images (${per} values) ` +
      `but the model in ${o.modelFile} takes [${def.input.join(", ")}] inputs (${wants} values)`);
  }
  if (def.classes !== test.classes) {
    throw new UsageError("--data", `${test.name} has ${test.classes} classes but the model in ${o.modelFile} predicts ${def.classes}`);
  }
  if (test.count === 0) throw new UsageError("--data", `${test.name} has no samples`);
  let correct = 0;
  for (let start = 0; start < test.count; start += o.batch) {
    const count = Math.min(o.batch, test.count - start);
    const p = model.predict(test.images.subarray(start * per, (start + count) * per), count);
    for (let i = 0; i < count; i++) if (p.classes[i] === test.labels[start + i]) correct++;
  }
  console.log(`${o.modelFile} on ${test.name}: accuracy ${(100 * correct / test.count).toFixed(2)}% (${correct}/${test.count}), widths ${JSON.stringify(model.weightBits())}`);
  return 0;
}
