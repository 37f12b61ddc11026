// Gaps the fuzzer (tests/fuzz/fuzz.mjs) found, as minimal reproductions (docs/reliability.md,
// "Findings"): closed ones guard against their return; open ones are marked `todo`, so that they
// report without failing the suite, and lose the mark when closed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { mlp } from "../src/nn/model.js";
import { apt, fixed } from "../src/train/policy.js";
import { train, type TrainOptions } from "../src/train/trainer.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from "../src/train/checkpoint.js";
import { IntegerLearner } from "../src/train/integer.js";
import { decodeModelFile, encodeModelFile, saveModel } from "../src/model-file/index.js";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blobs } from "./helpers/blobs.js";

const fixedRun: TrainOptions = {
  model: mlp([8], [12], 3), data: blobs(200, 9), policy: fixed(6), epochs: 2, batch: 16, lr: 0.1, seed: 4, isa: "simd", logEvery: 5,
};
// APT with delayed scaling: the checkpoint holds controller sums and per-layer exponents too.
const aptRun: TrainOptions = { ...fixedRun, policy: apt({ interval: 3 }), scaling: "delayed" };

/** A typed refusal: what the library throws on purpose, not what the engine throws for it. */
const refusedOnPurpose = (e: unknown) =>
  e instanceof CheckpointError || (e instanceof RangeError && !/Maximum call stack|Invalid array length/.test(e.message));

for (const [what, run, patch] of [
  ["an empty energy object", fixedRun, { energy: {} }],
  ["energy tallies that are numbers", fixedRun, { energy: { steps: 3, actual: { "dense0 forward": 5 }, asFp32: { ops: {}, bits: {} } } }],
  ["energy without asFp32", fixedRun, { energy: { steps: 3, actual: {} } }],
  ["a delayed-scaling exponent of 1e9", aptRun, { scaling: { dense0: { output: 1e9, inputError: 1e9 }, dense2: { output: -1e9, inputError: null } } }],
  ["a null APT controller entry", aptRun, { controller: { dense0: null } }],
] as const) {
  test(`a checkpoint with ${what} is refused with a typed error, not an engine error mid-run`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "aptkit-hostile-"));
    const path = join(dir, "run.ckpt");
    await train({ ...run, checkpoint: { path, every: 3 }, onProgress: (p) => { if (p.step >= 14) throw new Error("stop"); } }).catch(() => {});
    const { model, state } = await decodeCheckpoint(new Uint8Array(await readFile(path)));
    const bytes = await encodeCheckpoint(model, { ...state, ...(patch as object) });
    const outcome = await decodeCheckpoint(bytes).then(() => train({ ...run, resume: bytes })).then(() => null, (e) => e);
    assert.ok(outcome === null || refusedOnPurpose(outcome), `resume threw ${outcome?.name}: ${outcome?.message}`);
  });
}

test("a model file whose in-range exponents add up below float64's range does not hang predict()", async () => {
  // mlp [5] -> 3 -> relu -> 3, weight exponents -960 and -960 (each within the format's -960..960),
  // biases of the first layer zero, of the second layer nonzero: the second layer's accumulator
  // exponent is about -1927, its bias scale 2^1915 overflows to Infinity, and so does its maximum.
  const learner = await IntegerLearner.create(mlp([3], [5], 3), { batch: 4, seed: 5, weightBits: 8, maxWeightBits: 8 });
  const file = await decodeModelFile(await saveModel(learner));
  const bytes = await encodeModelFile({
    ...file,
    layers: file.layers.map((l, i) => {
      const bias = new Uint8Array(l.bias.length);
      if (i === 1) for (let r = 0; r < l.rows; r++) bias[2 * r] = 100;
      return { ...l, exp: -960, bias };
    }),
  });
  // In a worker, so a hang costs a timeout instead of the test run.
  const url = new URL("../src/model-file/load.ts", import.meta.url).href;
  // tsx's loader hooks, registered in the worker too (eval workers do not inherit them).
  const api = new URL("../node_modules/tsx/dist/esm/api/index.mjs", import.meta.url).href;
  const worker = new Worker(`
    const { parentPort, workerData } = require("node:worker_threads");
    import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(url)}); }).then(async ({ loadModel }) => {
      const m = await loadModel(workerData, { batch: 2 });
      m.predict(Float32Array.from({ length: 10 }, (_, i) => i / 10), 2);
      parentPort.postMessage("predicted");
    }).catch((e) => parentPort.postMessage(e.name + ": " + e.message));
  `, { eval: true, workerData: bytes });
  const result = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => { void worker.terminate(); resolve("hang (more than 5 s)"); }, 5_000);
    worker.on("message", (m: string) => { clearTimeout(timer); void worker.terminate(); resolve(m); });
    worker.on("error", (e) => { clearTimeout(timer); resolve(`worker error ${e.message}`); });
  });
  assert.ok(result === "predicted" || /^(ModelFileError|RangeError)/.test(result), result);
});

test("a checkpoint whose fingerprint holds a deeply nested value is refused with a typed error", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-hostile-"));
  const path = join(dir, "run.ckpt");
  await train({ ...fixedRun, epochs: 1, checkpoint: { path, every: 3 } });
  const { model, state } = await decodeCheckpoint(new Uint8Array(await readFile(path)));
  // JSON.stringify cannot write 100,000 levels either: the state's text is spliced by hand.
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  const text = JSON.stringify({ ...state, fingerprint: { ...state.fingerprint, scaling: "DEEP" } }).replace('"DEEP"', deep);
  const bytes = await container(await encodeModelFile(model), new TextEncoder().encode(text));
  const outcome = await decodeCheckpoint(bytes).then(() => train({ ...fixedRun, epochs: 1, resume: bytes })).then(() => null, (e) => e);
  assert.ok(outcome === null || refusedOnPurpose(outcome), `resume threw ${outcome?.name}: ${outcome?.message}`);
});

test("a checkpoint whose energy tally carries an unknown, deeply nested key is refused or ignored, never a crash", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-hostile-"));
  const path = join(dir, "run.ckpt");
  await train({ ...fixedRun, epochs: 1, checkpoint: { path, every: 3 } });
  const { model, state } = await decodeCheckpoint(new Uint8Array(await readFile(path)));
  const energy = state.energy as { actual: Record<string, Record<string, unknown>> };
  const first = Object.keys(energy.actual)[0];
  const actual = { ...energy.actual, [first]: { ...energy.actual[first], extra: "DEEP" } };
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  const text = JSON.stringify({ ...state, energy: { ...energy, actual } }).replace('"DEEP"', deep);
  const bytes = await container(await encodeModelFile(model), new TextEncoder().encode(text));
  const outcome = await decodeCheckpoint(bytes).then(() => train({ ...fixedRun, epochs: 1, resume: bytes })).then(() => null, (e) => e);
  assert.ok(outcome === null || refusedOnPurpose(outcome), `resume threw ${outcome?.name}: ${outcome?.message}`);
});

/** A checkpoint container around a model file and state bytes (src/train/checkpoint.ts layout). */
async function container(model: Uint8Array, state: Uint8Array): Promise<Uint8Array> {
  const pad4 = (n: number) => Math.ceil(n / 4) * 4;
  const total = 20 + pad4(model.length) + pad4(state.length) + 32;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set([0x41, 0x50, 0x54, 0x4b, 0x49, 0x54, 0x43, 0x00], 0);
  v.setUint16(8, 1, true);
  v.setUint32(12, model.length, true);
  v.setUint32(16, state.length, true);
  out.set(model, 20);
  out.set(state, 20 + pad4(model.length));
  out.set(new Uint8Array(await crypto.subtle.digest("SHA-256", out.subarray(0, total - 32))), total - 32);
  return out;
}
