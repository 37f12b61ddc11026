// What the example trains, shared by the worker and the test that retrains it under Node to check
// the browser got the same model bit for bit.
import { apt, mlp } from "../../dist/index.js";

export function trainingOptions(data, overrides = {}) {
  return {
    model: mlp([64], [data.train.height, data.train.width, 1], 10),
    data,
    policy: apt({ interval: 10 }),
    epochs: 8,
    batch: 16,
    lr: 0.2,
    budgetBytes: 256 * 1024, // the engine's memory cannot grow past this
    logEvery: 5,
    ...overrides,
  };
}
