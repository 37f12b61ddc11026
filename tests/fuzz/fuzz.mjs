#!/usr/bin/env node
// Fuzzing the loaders: valid model files, checkpoints and IDX files are mutated (bit flips, byte
// sets, truncation, extension, hostile values in length fields, swapped sections, duplicated chunks,
// splices, and structure-aware edits of the JSON sections that keep the checksums and lengths
// right so the checks behind them are reached). Every case must end in a typed refusal or a
// correct load:
//
//   refusals: ModelFileError, CheckpointError, DatasetError, and RangeError / TypeError thrown on
//     purpose by the library (with a message). A RangeError or TypeError raised by the JavaScript
//     engine itself (reading a property of undefined, a call stack overflow, a failed allocation,
//     an invalid array length) means a check is missing, and fails the case, as does any other
//     exception type, a WebAssembly RuntimeError (out-of-bounds access), a case over 5 s, or a case
//   during which the process's peak RSS passes 300 MB.
//   a load: decodeModelFile/loadModel succeeds and predict() on two samples returns finite logits
//     and valid classes; decodeCheckpoint succeeds and training resumed from it completes (or
//     refuses as above); parseIdx/loadIdxDataset succeed and the data set's invariants hold.
//
// The cases run in a worker thread watched from the main thread, so a hang or a crash of the
// engine is caught, reported with its case number, and the run continues.
//
// The files target reads named paths as the CLI does (readModelFile, readCheckpointFile,
// readIdxSource): devices, FIFOs with and without writers, directories, links, sparse giants, and
// declared-size bombs (headers that declare more than the file holds or than the limit allows, raw
// and gzipped, from files and from pipes). Every file read must be left as it was.
//
//   node tests/fuzz/fuzz.mjs --short              3,000 cases (CI; < 1 minute)
//   node tests/fuzz/fuzz.mjs                      100,000 cases
//   options: --cases N  --seed S  --jobs J  --targets model,checkpoint,idx,files  --max-rss-mb M
//            --case K (replay one case in this process, printing what it did)
//
// Runs against dist/ (npm run build first). Prints the seed, counts per target and outcome, and
// `N passed, N failed`; exits 1 on any failure.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const LIMIT_MS = 5000;
let HANG_MS = 10_000;
/** Resident memory a case may add: a case during which the process's peak RSS passes its RSS at
 *  the start of the case plus this fails (--max-rss-mb). */
let MAX_RSS_MB = 300;
const TARGETS = ["model", "checkpoint", "idx", "files"];

// ---- seeded randomness --------------------------------------------------------------------------

/** mulberry32 */
function prng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const r = {
    next,
    int: (n) => Math.floor(next() * n),
    range: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    weighted: (pairs) => {
      const total = pairs.reduce((s, [, w]) => s + w, 0);
      let x = next() * total;
      for (const [v, w] of pairs) if ((x -= w) < 0) return v;
      return pairs[pairs.length - 1][0];
    },
  };
  return r;
}
/** The PRNG of case k of a run seeded `seed`: a case replays alone (--case k). */
const caseRng = (seed, k) => prng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35));

// =================================================================================================
// Main thread: split the cases over workers, watch them, add up what they report.
// =================================================================================================

async function main() {
  const { values: flags } = parseArgs({
    options: {
      short: { type: "boolean", default: false },
      cases: { type: "string" },
      seed: { type: "string" },
      jobs: { type: "string" },
      targets: { type: "string" },
      case: { type: "string" },
      messages: { type: "boolean", default: false },
      "max-rss-mb": { type: "string" },
      // Checks the harness itself: one case hangs, one crashes its worker, one is slow; the run
      // must report exactly those three failures and carry on.
      selftest: { type: "boolean", default: false },
    },
  });
  // The short (CI) mode has a fixed default seed, so CI runs the same cases every time.
  const seed = Number(flags.seed ?? (flags.short ? 1 : Date.now() % 0x7fffffff)) >>> 0;
  if (flags.selftest) HANG_MS = 3000;
  const targets = (flags.targets ?? TARGETS.join(",")).split(",");
  if (flags["max-rss-mb"] !== undefined) MAX_RSS_MB = Number(flags["max-rss-mb"]);
  if (flags.case !== undefined) {
    // Replay one case here, verbosely.
    const ctx = await setup(targets);
    ctx.verbose = true;
    const r = await runOne(ctx, seed, Number(flags.case), true);
    console.log(JSON.stringify(r, null, 2));
    await ctx.cleanup();
    process.exit(r.ok ? 0 : 1);
  }
  const total = Number(flags.cases ?? (flags.short ? 3000 : 100_000));
  const jobs = Math.max(1, Number(flags.jobs ?? 1));
  console.log(`fuzz: seed ${seed}, ${total} cases, targets ${targets.join(",")}, ${jobs} worker(s); ` +
    `replay a case with: node tests/fuzz/fuzz.mjs --seed ${seed} --case K`);
  const started = performance.now();
  const counts = {};
  const failures = [];
  let done = 0, slowest = { ms: 0, k: -1, what: "" };
  const messages = {};
  const examples = {};
  // Workers' scratch directories: a terminated worker cannot remove its own.
  const workDirs = new Set();
  const add = (c) => {
    for (const [key, n] of Object.entries(c)) counts[key] = (counts[key] ?? 0) + n;
  };

  const shard = (j) => [Math.floor((total * j) / jobs), Math.floor((total * (j + 1)) / jobs)];
  await Promise.all(Array.from({ length: jobs }, (_, j) => new Promise((resolveShard) => {
    const [from, to] = shard(j);
    const skip = new Set();
    // beat[0] = case running, beat[1] = when it started (ms, performance.timeOrigin-based),
    // beat[2] = its target (index in TARGETS)
    const beat = new Float64Array(new SharedArrayBuffer(24));
    let reportedUpTo = from; // cases below this are counted
    const start = (at) => {
      const w = new Worker(fileURLToPath(import.meta.url), {
        workerData: { seed, from: at, to, skip: [...skip], targets, beat, messages: flags.messages, selftest: flags.selftest ? from : null, maxRssMb: MAX_RSS_MB },
        resourceLimits: { maxOldGenerationSizeMb: 2048 },
      });
      let finished = false;
      const timer = setInterval(() => {
        const running = beat[0], since = beat[1];
        if (since > 0 && performance.timeOrigin + performance.now() - since > HANG_MS) {
          clearInterval(timer);
          finished = true;
          const target = TARGETS[beat[2]] ?? "?";
          failures.push({ k: running, target, label: "hang", detail: `case ${running} ran more than ${HANG_MS} ms (worker terminated)` });
          counts[`${target}:FAIL hang`] = (counts[`${target}:FAIL hang`] ?? 0) + 1;
          skip.add(running);
          w.terminate().then(() => restart(running));
        }
      }, 250);
      const restart = () => {
        if (reportedUpTo >= to) return resolveShard();
        beat[0] = -1; beat[1] = 0;
        start(reportedUpTo);
      };
      w.on("message", (m) => {
        if (m.work) return void workDirs.add(m.work);
        add(m.counts);
        failures.push(...m.failures);
        done += m.cases;
        reportedUpTo = m.upTo;
        if (m.slowest.ms > slowest.ms) slowest = m.slowest;
        for (const [key, n] of Object.entries(m.messages)) messages[key] = (messages[key] ?? 0) + n;
        for (const [key, k] of Object.entries(m.examples)) examples[key] ??= k;
        if (m.done) {
          finished = true;
          clearInterval(timer);
        }
      });
      w.on("error", (e) => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        const running = beat[0], target = TARGETS[beat[2]] ?? "?";
        failures.push({ k: running, target, label: "worker crash", detail: `case ${running}: ${e?.stack ?? e}` });
        counts[`${target}:FAIL worker crash`] = (counts[`${target}:FAIL worker crash`] ?? 0) + 1;
        skip.add(running);
        restart(running);
      });
      w.on("exit", (code) => {
        if (finished && code === 0) return resolveShard();
        if (!finished) {
          finished = true;
          clearInterval(timer);
          const running = beat[0], target = TARGETS[beat[2]] ?? "?";
          failures.push({ k: running, target, label: "worker exit", detail: `case ${running}: worker exited with code ${code}` });
          counts[`${target}:FAIL worker exit`] = (counts[`${target}:FAIL worker exit`] ?? 0) + 1;
          skip.add(running);
          restart(running);
        }
      });
    };
    start(from);
  })));

  await Promise.all([...workDirs].map((d) => rm(d, { recursive: true, force: true })));
  const seconds = (performance.now() - started) / 1000;
  const byTarget = {};
  for (const [key, n] of Object.entries(counts)) {
    const [target, outcome] = key.split(/:(.*)/s);
    (byTarget[target] ??= {})[outcome] = n;
  }
  console.log(`\noutcomes (target: outcome = cases):`);
  for (const [target, outcomes] of Object.entries(byTarget).sort()) {
    const sum = Object.values(outcomes).reduce((a, b) => a + b, 0);
    // Rare outcomes name a case to replay.
    console.log(`  ${target} (${sum}): ` + Object.entries(outcomes).sort((a, b) => b[1] - a[1])
      .map(([o, n]) => `${o} ${n}${n <= 20 && examples[`${target}:${o}`] !== undefined ? ` (e.g. case ${examples[`${target}:${o}`]})` : ""}`).join(", "));
  }
  if (flags.messages) {
    // The refusals' messages, numbers masked, most frequent first: are they the library's own?
    for (const [m, n] of Object.entries(messages).sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${m}`);
  }
  console.log(`slowest case: ${slowest.ms.toFixed(1)} ms (case ${slowest.k}, ${slowest.what})`);
  // Failures grouped by kind and the place they were thrown, with the first case of each to replay.
  const groups = new Map();
  for (const f of failures) {
    const key = `[${f.target}] ${f.label} at ${f.site || "?"}`;
    const g = groups.get(key) ?? { n: 0, first: f };
    g.n++;
    groups.set(key, g);
  }
  for (const [key, g] of [...groups].sort((a, b) => b[1].n - a[1].n)) {
    console.error(`FAIL x${g.n} ${key}\n     e.g. case ${g.first.k}: ${g.first.detail}`);
  }
  const failed = failures.length;
  console.log(`${done} cases in ${seconds.toFixed(1)} s (seed ${seed}), peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (a case may add ${MAX_RSS_MB} MB)`);
  console.log(`${done - failures.filter((f) => f.label !== "hang" && !f.label.startsWith("worker")).length} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

// =================================================================================================
// Worker: fixtures, mutators, and the cases.
// =================================================================================================

async function setup(targets) {
  const imp = (p) => import(join(root, "dist", p));
  const [format, definition, checkpoint, trainer, integer, model, policy, data, idx, linear, dataErr] = await Promise.all([
    imp("model-file/codec.js"), imp("model-file/definition.js"), imp("train/checkpoint.js"), imp("train/trainer.js"),
    imp("train/integer.js"), imp("nn/model.js"), imp("train/policy.js"), imp("data/index.js"), imp("data/idx.js"),
    imp("nn/layers/linear.js"), imp("data/error.js"),
  ]);
  const { loadModel } = await imp("model-file/load.js");
  const { saveModel } = await imp("model-file/save.js");
  const { BudgetError } = await imp("budget/errors.js");
  const { readModelFile } = await imp("model-file/read.js");
  const { InputFileError } = await imp("io/errors.js");
  const lib = { BudgetError, ...format, ...definition, ...checkpoint, ...trainer, ...integer, ...model, ...policy, ...data, ...idx, ...linear, ...dataErr, loadModel, saveModel, readModelFile, InputFileError };
  const work = await mkdtemp(join(tmpdir(), "aptkit-fuzz-"));
  const ctx = { lib, work, targets, cleanup: () => rm(work, { recursive: true, force: true }) };

  // Model files: an MLP with two widths, a small CNN with both pools, a wider MLP on 28x28x1.
  const { mlp, sequential, conv2d, relu, maxPool, avgPool, flatten, dense, IntegerLearner } = lib;
  const defs = [
    ["mlp-3", mlp([3], [5], 3), { dense0: 5, dense2: 12 }],
    ["tinyconv", sequential("tinyconv", [6, 6, 1], 3, [
      conv2d({ filters: 2, kernel: 3, padding: 1, relu: true }), maxPool(2),
      conv2d({ filters: 3, kernel: [2, 2], stride: 1 }), relu(), avgPool({ size: 2, stride: 1 }), flatten(), dense({ units: 3 }),
    ]), { conv2d0: 4, conv2d2: 9, dense6: 16 }],
    ["mlp-16", mlp([16], [28, 28, 1], 10), { dense1: 7, dense3: 3 }],
  ];
  ctx.models = [];
  for (const [name, def, widths] of defs) {
    const per = def.input.reduce((a, b) => a * b, 1);
    const learner = await IntegerLearner.create(def, { batch: 4, seed: 5, weightBits: 8, maxWeightBits: 16 });
    const x = Float32Array.from({ length: 4 * per }, (_, i) => Math.abs(Math.sin(i * 1.7)));
    const y = Uint8Array.from([0, 1, 2, 0]);
    learner.trainStep(x, y, 0.1);
    for (const [layer, bits] of Object.entries(widths)) learner.setBits(layer, bits);
    learner.trainStep(x, y, 0.1);
    const bytes = await lib.saveModel(learner);
    ctx.models.push({ name, def, bytes, fields: modelFields(lib, bytes) });
  }

  // Checkpoints: a small synthetic run, apt with delayed scaling (controller and scaling state) and
  // fixed:6 with exact scaling; mid-epoch and after the last epoch.
  ctx.checkpoints = [];
  if (targets.includes("checkpoint") || targets.includes("files")) {
    const blobsData = blobs(lib, 200, 9);
    const runs = [
      ["apt-delayed", { model: mlp([8], [12], 3), data: blobsData, policy: lib.apt({ interval: 3, bMin: 3, bMax: 10, initialBits: 5 }), epochs: 2, batch: 16, lr: 0.1, seed: 4, isa: "simd", scaling: "delayed", logEvery: 1 }],
      ["fixed6-exact", { model: mlp([8], [12], 3), data: blobsData, policy: lib.fixed(6), epochs: 2, batch: 16, lr: 0.1, seed: 4, isa: "simd", scaling: "exact", logEvery: 1 }],
    ];
    for (const [name, options] of runs) {
      const path = join(work, `${name}.ckpt`);
      await lib.train({ ...options, checkpoint: { path, every: 3 }, onProgress: (p) => { if (p.step >= 14) throw new Error("stop"); } }).catch(() => {});
      const mid = await steady(lib, new Uint8Array(await readFile(path)));
      await lib.train({ ...options, checkpoint: { path, every: 3 } });
      const end = await steady(lib, new Uint8Array(await readFile(path)));
      const { onProgress, ...resumeOptions } = options;
      for (const [when, bytes] of [["mid", mid], ["end", end]]) {
        ctx.checkpoints.push({ name: `${name}-${when}`, bytes, options: { ...resumeOptions, logEvery: 5 }, parts: checkpointParts(bytes) });
      }
    }
  }

  // IDX: a small MNIST-layout set (24 train, 8 test images of 4x5).
  const img = (n, seed) => idxBytes([n, 4, 5], Uint8Array.from({ length: n * 20 }, (_, i) => (i * 37 + seed) & 255));
  const lbl = (n) => idxBytes([n], Uint8Array.from({ length: n }, (_, i) => (i * 7) % 10));
  ctx.idx = {
    trainImages: img(24, 1), trainLabels: lbl(24), testImages: img(8, 2), testLabels: lbl(8),
  };
  ctx.idxDir = join(work, "idx");
  return ctx;
}

/** A checkpoint with its wall-clock timings replaced by constants, so that the fixture's bytes,
 *  and with them every case, are the same on every run (--case K replays exactly). */
async function steady(lib, bytes) {
  const { model, state } = await lib.decodeCheckpoint(bytes);
  return lib.encodeCheckpoint(model, { ...state, timings: { trainMs: 1000, evalMs: 100 } });
}

function blobs(lib, count, seed) {
  const F = 12, C = 3;
  let s = seed >>> 0;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const centers = Array.from({ length: C }, () => Array.from({ length: F }, () => r()));
  const images = new Float32Array(count * F), labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % C;
    for (let f = 0; f < F; f++) images[i * F + f] = Math.min(1, Math.max(0, centers[i % C][f] + (r() - 0.5) * 0.5));
  }
  const ds = lib.createDataset({ name: "blobs", count, height: 1, width: F, channels: 1, classes: C, images, labels });
  return lib.split(ds, Math.floor(count * 0.8), 1);
}

function idxBytes(dims, data) {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x0800 | dims.length, false);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

const align4 = (n) => Math.ceil(n / 4) * 4;

/** Offsets of a valid model file's fields and sections. */
function modelFields(lib, bytes) {
  const { HEADER, RECORD, HEADER_BYTES, RECORD_BYTES, CHECKSUM_BYTES } = lib;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields = [
    [HEADER.version, 2], [HEADER.checksumKind, 2], [HEADER.headerLength, 4], [HEADER.fileLength, 4],
    [HEADER.definitionLength, 4], [HEADER.layerCount, 4], [HEADER.reserved, 4],
  ];
  const defLength = v.getUint32(HEADER.definitionLength, true);
  const sections = [[0, HEADER_BYTES], [HEADER_BYTES, align4(HEADER_BYTES + defLength)]];
  let at = align4(HEADER_BYTES + defLength);
  const records = [];
  for (let i = 0; i < v.getUint32(HEADER.layerCount, true); i++) {
    const nameLength = v.getUint16(at + RECORD.nameLength, true);
    const weightsAt = align4(at + RECORD_BYTES + nameLength);
    const biasAt = weightsAt + v.getUint32(at + RECORD.weightLength, true);
    const end = biasAt + v.getUint32(at + RECORD.biasLength, true);
    fields.push([at + RECORD.nameLength, 2], [at + RECORD.bits, 1], [at + RECORD.biasBits, 1], [at + RECORD.rows, 4],
      [at + RECORD.cols, 4], [at + RECORD.exp, 4], [at + RECORD.biasExp, 4], [at + RECORD.weightLength, 4], [at + RECORD.biasLength, 4]);
    sections.push([at, weightsAt], [weightsAt, biasAt], [biasAt, end]);
    records.push([at, end]);
    at = end;
  }
  sections.push([at, at + CHECKSUM_BYTES]);
  return { fields, sections, records, defAt: HEADER_BYTES, defLength, recordsAt: align4(HEADER_BYTES + defLength), checksumAt: bytes.length - CHECKSUM_BYTES };
}

/** A checkpoint's parts: its model file and state JSON. */
function checkpointParts(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m = v.getUint32(12, true), s = v.getUint32(16, true);
  const model = bytes.slice(20, 20 + m);
  const state = bytes.slice(20 + align4(m), 20 + align4(m) + s);
  return { model, state, fields: [[8, 2], [10, 2], [12, 4], [16, 4]] };
}

// ---- sealing: recompute checksums (and lengths) so mutations reach the checks behind them --------

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** A model file with its fileLength field and/or trailing SHA-256 made consistent with its bytes. */
async function sealModel(bytes, { length = true } = {}) {
  if (bytes.length < 64) return bytes;
  const out = bytes.slice();
  if (length) new DataView(out.buffer).setUint32(16, out.length, true);
  const n = out.length - 32;
  out.set(await sha256(out.subarray(0, n)), n);
  return out;
}

async function buildCheckpoint(model, state, { modelLength = model.length, stateLength = state.length } = {}) {
  const total = 20 + align4(model.length) + align4(state.length) + 32;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set([0x41, 0x50, 0x54, 0x4b, 0x49, 0x54, 0x43, 0x00], 0);
  v.setUint16(8, 1, true);
  v.setUint32(12, modelLength >>> 0, true);
  v.setUint32(16, stateLength >>> 0, true);
  out.set(model, 20);
  out.set(state, 20 + align4(model.length));
  out.set(await sha256(out.subarray(0, total - 32)), total - 32);
  return out;
}

async function resealCheckpoint(bytes) {
  if (bytes.length < 52) return bytes;
  const out = bytes.slice();
  out.set(await sha256(out.subarray(0, out.length - 32)), out.length - 32);
  return out;
}

/** A model file rebuilt around a new definition section (lengths and checksum made right). */
async function withDefinitionText(fixture, text) {
  const json = new TextEncoder().encode(text);
  const { recordsAt, checksumAt } = fixture.fields;
  const records = fixture.bytes.subarray(recordsAt, checksumAt);
  const size = 32 + align4(json.length) + records.length + 32;
  const out = new Uint8Array(size);
  out.set(fixture.bytes.subarray(0, 32), 0);
  const v = new DataView(out.buffer);
  v.setUint32(16, size, true);
  v.setUint32(20, json.length, true);
  out.set(json, 32);
  out.set(records, 32 + align4(json.length));
  out.set(await sha256(out.subarray(0, size - 32)), size - 32);
  return out;
}

// ---- byte-level mutators --------------------------------------------------------------------------

const INTERESTING_U32 = [0, 1, 2, 3, 4, 7, 8, 16, 31, 32, 255, 256, 0xffff, 0x10000, 0xffffff, 0x1000000, 0x1000001,
  0x7ffffffe, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff];
const INTERESTING_U8 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x10, 0x11, 0x20, 0x40];

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function randomBytes(r, n) {
  const out = new Uint8Array(n);
  const mode = r.int(3);
  for (let i = 0; i < n; i++) out[i] = mode === 0 ? 0 : mode === 1 ? 0xff : r.int(256);
  return out;
}

/** One random byte-level mutation of `b`; `fields` = [offset, width] of length fields (little- or
 *  big-endian per `bigEndian`), `sections` = [from, to) ranges, `others` = files to splice in. */
function mutateBytes(r, b, { fields = [], sections = [], others = [], bigEndian = false }, desc) {
  const n = b.length;
  const op = r.weighted([
    ["bitflip", 6], ["byteset", 4], ["truncate", 3], ["extend", 2], ["field", n > 0 && fields.length ? 6 : 0],
    ["u32", n >= 4 ? 2 : 0], ["swap", n >= 8 ? 2 : 0], ["duplicate", n > 0 ? 2 : 0], ["delete", n > 0 ? 2 : 0],
    ["insert", 1], ["splice", others.length ? 2 : 0], ["swap-sections", sections.length >= 2 ? 2 : 0],
  ]);
  switch (op) {
    case "bitflip": {
      const out = b.slice();
      const k = r.pick([1, 1, 1, 2, 3, 8]);
      const at = [];
      for (let i = 0; i < k && n > 0; i++) { const p = r.int(n); out[p] ^= 1 << r.int(8); at.push(p); }
      desc.push(`bitflip@${at.join(",")}`);
      return out;
    }
    case "byteset": {
      const out = b.slice();
      const k = r.pick([1, 1, 2, 4]);
      for (let i = 0; i < k && n > 0; i++) { const p = r.int(n); out[p] = r.chance(0.7) ? r.pick(INTERESTING_U8) : r.int(256); desc.push(`byteset@${p}=${out[p]}`); }
      return out;
    }
    case "truncate": {
      const len = r.weighted([[0, 1], [r.int(Math.max(n, 1)), 6], [Math.max(0, n - 1 - r.int(4)), 3], [Math.max(0, n - 32 - r.int(8)), 2]]);
      desc.push(`truncate->${len}`);
      return b.slice(0, len);
    }
    case "extend": {
      const k = r.pick([1, 2, 3, 4, 32, 64, 1000]);
      desc.push(`extend+${k}`);
      return concat(b, randomBytes(r, k));
    }
    case "field": case "u32": {
      const out = b.slice();
      const v = new DataView(out.buffer);
      let at, width;
      if (op === "field") [at, width] = r.pick(fields);
      else { at = r.int(n - 3) & ~(r.chance(0.5) ? 3 : 0); width = 4; }
      if (at + width > n) return out;
      const near = [n, n + 1, n - 1, n - 32, n * 2].map((x) => x >>> 0);
      const value = r.chance(0.75) ? r.pick([...INTERESTING_U32, ...near]) : (r.next() * 2 ** 32) >>> 0;
      if (width === 1) v.setUint8(at, value & 0xff);
      else if (width === 2) v.setUint16(at, value & 0xffff, !bigEndian);
      else v.setUint32(at, value, !bigEndian);
      desc.push(`${op}@${at}/${width}=${value >>> 0}`);
      return out;
    }
    case "swap": {
      const len = r.range(1, Math.min(64, n >> 1));
      const a = r.int(n - 2 * len + 1), c = a + len + r.int(n - a - 2 * len + 1);
      const out = b.slice();
      out.set(b.subarray(c, c + len), a);
      out.set(b.subarray(a, a + len), c);
      desc.push(`swap ${a}<->${c} x${len}`);
      return out;
    }
    case "swap-sections": {
      let i = r.int(sections.length), j = r.int(sections.length);
      if (i === j) j = (i + 1) % sections.length;
      if (i > j) [i, j] = [j, i];
      const [a0, a1] = sections[i], [c0, c1] = sections[j];
      if (a1 > c0 || c1 > n) return b.slice();
      desc.push(`swap-sections [${a0},${a1}) <-> [${c0},${c1})`);
      return concat(b.subarray(0, a0), b.subarray(c0, c1), b.subarray(a1, c0), b.subarray(a0, a1), b.subarray(c1));
    }
    case "duplicate": {
      const from = r.int(n), len = r.range(1, Math.min(n - from, r.pick([4, 16, 64, 512])));
      const to = r.int(n + 1);
      desc.push(`duplicate [${from},${from + len}) at ${to}`);
      return concat(b.subarray(0, to), b.subarray(from, from + len), b.subarray(to));
    }
    case "delete": {
      const from = r.int(n), len = r.range(1, Math.min(n - from, r.pick([1, 4, 16, 64])));
      desc.push(`delete [${from},${from + len})`);
      return concat(b.subarray(0, from), b.subarray(from + len));
    }
    case "insert": {
      const at = r.int(n + 1), k = r.pick([1, 2, 4, 8, 64]);
      desc.push(`insert ${k} at ${at}`);
      return concat(b.subarray(0, at), randomBytes(r, k), b.subarray(at));
    }
    case "splice": {
      const other = r.pick(others);
      const cut = r.int(n + 1), cut2 = r.int(other.length + 1);
      desc.push(`splice ${cut}|${cut2}`);
      return concat(b.subarray(0, cut), other.subarray(cut2));
    }
  }
  return b.slice();
}

function mutateMany(r, b, o, desc) {
  let out = b;
  const k = r.weighted([[1, 6], [2, 3], [3, 1], [6, 0.5]]);
  for (let i = 0; i < k; i++) out = mutateBytes(r, out, o, desc);
  return out;
}

// ---- structure-aware JSON mutation --------------------------------------------------------------

const DEEP = "\u0000DEEP\u0000";
const PALETTE = [0, -1, 1, 2, 3, 7, 16, 17, 255, 256, 65535, 65536, 2 ** 24, 2 ** 24 + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1,
  2 ** 32, 2 ** 53, -(2 ** 31), 1e308, -1e308, 0.5, -0.5, 1e-300, "", "x", "dense", "conv2d", "maxPool", "flatten",
  "stochastic", "nearest", "exact", "delayed", "__proto__", "constructor", null, true, false, [], {}, [0], [1, 1], [1, 1, 1],
  [2 ** 24, 2 ** 24, 1], { type: "dense", units: 2 }, { g: 1, n: 1 }, "y".repeat(300), DEEP];
const SMALL = [0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, -1, 0.5, 2 ** 24, "3", null, true, [2, 2], [1, 3]];

function nodes(value) {
  const out = [];
  const walk = (v, parent, key, depth) => {
    out.push({ v, parent, key, depth });
    if (depth > 8 || v === null || typeof v !== "object") return;
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, v, i, depth + 1));
    else for (const k of Object.keys(v)) walk(v[k], v, k, depth + 1);
  };
  walk(value, null, null, 0);
  return out;
}

function randomLayer(r) {
  return r.pick([
    () => ({ type: "dense", units: r.range(1, 8), ...(r.chance(0.3) && { relu: true }) }),
    () => ({ type: "conv2d", filters: r.range(1, 4), kernel: r.chance(0.8) ? r.range(1, 4) : [r.range(1, 3), r.range(1, 3)],
      ...(r.chance(0.4) && { stride: r.range(1, 3) }), ...(r.chance(0.4) && { padding: r.range(0, 2) }) }),
    () => ({ type: "relu" }),
    () => ({ type: r.pick(["maxPool", "avgPool"]), size: r.range(1, 3), ...(r.chance(0.5) && { stride: r.range(1, 3) }) }),
    () => ({ type: "flatten" }),
  ])();
}

/** Mutates a JSON value in place (or returns a new root); `palette` the values to plant. */
function mutateJson(r, root, palette, desc, { layers = false } = {}) {
  const k = r.weighted([[1, 6], [2, 3], [4, 1]]);
  for (let i = 0; i < k; i++) {
    const all = nodes(root);
    const layerArrays = all.filter((x) => x.key === "layers" && Array.isArray(x.v));
    const op = r.weighted([["replace", 6], ["delete", 2], ["add-key", 1], ["dup", 1], ["swap", 1], ["layer", layers && layerArrays.length ? 4 : 0]]);
    const target = r.pick(all.slice(1).length ? all.slice(1) : all);
    const plant = () => { const p = r.pick(palette); return p !== null && typeof p === "object" ? JSON.parse(JSON.stringify(p)) : p; };
    const path = () => `${target.key}`;
    if (op === "layer") {
      const arr = r.pick(layerArrays).v;
      const what = r.pick(["insert", "delete", "swap"]);
      if (what === "insert") { const at = r.int(arr.length + 1); arr.splice(at, 0, randomLayer(r)); desc.push(`layer insert@${at}`); }
      else if (what === "delete" && arr.length) { const at = r.int(arr.length); arr.splice(at, 1); desc.push(`layer delete@${at}`); }
      else if (arr.length > 1) { const a = r.int(arr.length), b = r.int(arr.length); [arr[a], arr[b]] = [arr[b], arr[a]]; desc.push(`layer swap ${a},${b}`); }
      continue;
    }
    if (target.parent === null) {
      root = plant();
      desc.push(`root=${JSON.stringify(root)?.slice(0, 40)}`);
      continue;
    }
    const { parent, key } = target;
    switch (op) {
      case "replace": parent[key] = plant(); desc.push(`${path()}=${String(JSON.stringify(parent[key])).slice(0, 40)}`); break;
      case "delete":
        if (Array.isArray(parent)) parent.splice(key, 1); else delete parent[key];
        desc.push(`delete ${path()}`);
        break;
      case "add-key":
        if (target.v !== null && typeof target.v === "object" && !Array.isArray(target.v)) {
          const name = r.pick(["extra", "__proto__", "type", "units", "g", "0"]);
          Object.defineProperty(target.v, name, { value: plant(), enumerable: true, configurable: true, writable: true });
          desc.push(`add ${path()}.${name}`);
        }
        break;
      case "dup":
        if (Array.isArray(parent)) { parent.splice(key, 0, JSON.parse(JSON.stringify(parent[key]) ?? "null")); desc.push(`dup ${path()}`); }
        break;
      case "swap": {
        const sib = Array.isArray(parent) ? r.int(parent.length) : r.pick(Object.keys(parent));
        [parent[key], parent[sib]] = [parent[sib], parent[key]];
        desc.push(`swap ${path()},${sib}`);
        break;
      }
    }
  }
  return root;
}

function jsonText(value, r) {
  let text = JSON.stringify(value) ?? "null";
  if (text.includes(JSON.stringify(DEEP).slice(1, -1))) {
    const depth = r.pick([100, 2000, 100000]);
    text = text.split(JSON.stringify(DEEP)).join("[".repeat(depth) + "]".repeat(depth));
  }
  return text;
}

// ---- coherent random models (valid files with odd shapes, to exercise the kernels) ---------------

function packCodes(codes, rows, cols, bits) {
  const stride = Math.ceil((cols * bits) / 32) * 4;
  const out = new Uint8Array(rows * stride);
  const mask = (1 << bits) - 1;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const u = codes[r * cols + j] & mask;
      for (let b = 0; b < bits; b++) if ((u >>> b) & 1) { const p = j * bits + b; out[r * stride + (p >>> 3)] |= 1 << (p & 7); }
    }
  }
  return out;
}

function randomRecord(r, lib, w, allowBad) {
  const bits = r.range(2, 16);
  const max = 2 ** (bits - 1) - 1;
  const codes = Int32Array.from({ length: w.rows * w.cols }, () => r.chance(0.1) ? r.pick([max, -max, 0]) : r.range(-max, max));
  if (allowBad && r.chance(0.05) && codes.length) codes[r.int(codes.length)] = -(max + 1);
  const bmax = 2 ** (lib.BIAS_BITS - 1) - 1;
  const bias = Int32Array.from({ length: w.rows }, () => r.range(-bmax, bmax));
  const exp = r.chance(0.9) ? r.range(-14, 2) : r.pick([-960, 960, -961, 961, -100, 100]);
  return {
    name: w.name, rows: w.rows, cols: w.cols, bits, exp, biasBits: lib.BIAS_BITS, biasExp: lib.BIAS_EXP,
    weights: packCodes(codes, w.rows, w.cols, bits), bias: packCodes(bias, 1, w.rows, lib.BIAS_BITS),
  };
}

// ---- outcome classification ---------------------------------------------------------------------

/** The TypeErrors the library throws on purpose (src/: `new TypeError(`); any other TypeError is
 *  the engine's (a property of undefined read, a non-function called): a check the library lacks. */
const LIBRARY_TYPE_ERROR = /^(aptkit|invalid report|predict:|checkpoint must be|gemm:)|bits must be a number|array of integer codes|, not an integer$|must be a PackedMatrix|\.bytes must be a Uint8Array/;
/** RangeErrors the engine raises by itself (the library throws many RangeErrors on purpose). */
const ENGINE_RANGE_ERROR = /Maximum call stack|allocation failed|Invalid (typed )?array (buffer )?length|Invalid string length|out of bounds|outside the bounds|Invalid DataView|digits argument|Invalid time value|Invalid code point|BigInt|Division by zero|could not allocate|out of memory|radix/;

function classify(lib, e) {
  const c = classifyError(lib, e);
  if (c.ok) return { ...c, message: String(e?.message) };
  // Where it was thrown: the first frame inside dist/ (failures are grouped by it).
  const site = (e?.stack ?? "").split("\n").find((l) => l.includes("/dist/"))?.replace(/^.*\/dist\//, "dist/").replace(/\)$/, "") ?? "?";
  return { ...c, site, detail: `${e?.name}: ${String(e?.message).slice(0, 200)} (at ${site})` };
}

function classifyError(lib, e) {
  if (e instanceof lib.InputFileError) return { label: "InputFileError", ok: e.message.length > 0 };
  if (e instanceof lib.ModelFileError) return { label: "ModelFileError", ok: e.message.length > 0 };
  if (e instanceof lib.CheckpointError) return { label: "CheckpointError", ok: e.message.length > 0 };
  if (e instanceof lib.DatasetError) return { label: "DatasetError", ok: e.message.length > 0 };
  if (e instanceof lib.DivergenceError) return { label: "DivergenceError", ok: true };
  if (e instanceof lib.BudgetError) return { label: "BudgetError", ok: true };
  if (e instanceof WebAssembly.RuntimeError) return { label: "WebAssembly.RuntimeError", ok: false };
  if ((e instanceof RangeError || e instanceof TypeError) && e.constructor === (e instanceof RangeError ? RangeError : TypeError)) {
    if (!e.message) return { label: `${e.name} without a message`, ok: false };
    if (e instanceof TypeError ? !LIBRARY_TYPE_ERROR.test(e.message) : ENGINE_RANGE_ERROR.test(e.message)) return { label: `engine ${e.name}`, ok: false };
    return { label: e.name, ok: true };
  }
  return { label: e?.constructor?.name ?? typeof e, ok: false };
}

// ---- the cases ----------------------------------------------------------------------------------

async function checkLoadedModel(lib, r, bytes, desc, options = {}) {
  const m = await lib.loadModel(bytes, options);
  const per = m.definition.input.reduce((a, b) => a * b, 1);
  const n = 2;
  const x = Float32Array.from({ length: n * per }, () => r.next());
  let p;
  try {
    p = m.predict(x, n);
  } catch (e) {
    // A model that loaded must predict, except one whose exponents cannot be combined in float64
    // for this input: that is refused with its own code, naming the layer. Anything else is a failure.
    if (e instanceof RangeError && e.code === "APTKIT_NUMERIC_RANGE" && / (forward|backward)/.test(e.message)) return { label: "predict refused (numeric range)", ok: true };
    return { label: `predict threw ${e?.name}`, ok: false, detail: `${e?.message}` };
  }
  const k = m.definition.classes;
  if (p.logits.length !== n * k || p.classes.length !== n || ![...p.classes].every((c) => c < k)) {
    return { label: "predict gave invalid output", ok: false, detail: `logits ${[...p.logits].slice(0, 8)}, classes ${[...p.classes]}` };
  }
  // Exponents are bounded per tensor, not along the network (docs/model-file.md): a file whose
  // exponents add up past float64's range reports infinite logits. Counted apart, not a failure.
  if (p.logits.some(Number.isNaN)) return { label: "loaded+predicted (NaN logits)", ok: true };
  if (!p.logits.every(Number.isFinite)) return { label: "loaded+predicted (infinite logits)", ok: true };
  return { label: "loaded+predicted", ok: true };
}

async function modelCase(ctx, r, desc) {
  const { lib } = ctx;
  const fx = r.pick(ctx.models);
  desc.push(fx.name);
  const kind = r.weighted([["raw", 3], ["resealed", 4], ["definition", 3], ["coherent", 2], ["rebits", 1]]);
  desc.push(kind);
  let bytes, loadOptions = {};
  if (kind === "raw" || kind === "resealed") {
    const others = ctx.models.filter((m) => m !== fx).map((m) => m.bytes);
    if (ctx.checkpoints.length) others.push(ctx.checkpoints[0].bytes);
    bytes = mutateMany(r, fx.bytes, { fields: fx.fields.fields, sections: fx.fields.sections, others }, desc);
    if (kind === "resealed") bytes = await sealModel(bytes, { length: r.chance(0.7) });
  } else if (kind === "definition") {
    const value = JSON.parse(new TextDecoder().decode(fx.bytes.subarray(fx.fields.defAt, fx.fields.defAt + fx.fields.defLength)));
    bytes = await withDefinitionText(fx, jsonText(mutateJson(r, value, PALETTE, desc, { layers: true }), r));
  } else if (kind === "coherent") {
    const value = JSON.parse(new TextDecoder().decode(fx.bytes.subarray(fx.fields.defAt, fx.fields.defAt + fx.fields.defLength)));
    const def = mutateJson(r, value.model, SMALL, desc, { layers: true });
    let checked;
    try {
      checked = lib.checkDefinition(def, (p, d) => { throw new lib.ModelFileError(`definition.model.${p}`, 32, d); });
    } catch {
      checked = null;
    }
    const weights = checked ? checked.weighted.reduce((s, w) => s + w.rows * w.cols, 0) : Infinity;
    if (checked && weights <= 1 << 16) {
      const file = {
        definition: def, actBits: r.chance(0.8) ? r.range(2, 16) : r.pick([1, 17, 0]), rounding: r.pick(["stochastic", "nearest"]),
        seed: (r.next() * 2 ** 32) >>> 0, step: r.chance(0.5) ? r.int(1000) : (r.next() * 2 ** 32) >>> 0, batch: r.range(1, 64),
        layers: checked.weighted.map((w) => randomRecord(r, lib, w, true)),
      };
      bytes = await lib.encodeModelFile(file);
      if (r.chance(0.1)) bytes = await sealModel(mutateBytes(r, bytes, {}, desc));
      desc.push(`${weights} weights, widths ${file.layers.map((l) => l.bits)}, exps ${file.layers.map((l) => l.exp)}, actBits ${file.actBits}`);
    } else {
      bytes = await withDefinitionText(fx, jsonText({ ...value, model: def }, r));
    }
    // Odd shapes can declare much work: predict at batch 2 with an 8 MiB engine cap keeps a case
    // to milliseconds (the loader's own default cap is what the other kinds run under).
    loadOptions = { batch: 2, maxMemoryBytes: 8 * 2 ** 20 };
  } else {
    // rebits: a layer record re-declared at another width, its payload random bytes of the size
    // that width implies (lengths and checksum right).
    const v = new DataView(fx.bytes.buffer, fx.bytes.byteOffset);
    const [at, end] = r.pick(fx.fields.records);
    const nameLength = v.getUint16(at, true), rows = v.getUint32(at + 4, true), cols = v.getUint32(at + 8, true);
    const bits = r.range(2, 16);
    const stride = Math.ceil((cols * bits) / 32) * 4;
    const head = fx.bytes.slice(at, align4(at + 28 + nameLength));
    const hv = new DataView(head.buffer);
    hv.setUint8(2, bits);
    hv.setUint32(20, rows * stride, true);
    const payload = randomBytes(r, rows * stride);
    if (r.chance(0.7)) {
      // Keep it valid: clear padding and most-negative codes.
      const codes = Int32Array.from({ length: rows * cols }, () => r.range(-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1));
      payload.set(packCodes(codes, rows, cols, bits));
    }
    const biasLen = v.getUint32(at + 24, true);
    const weightsAt = align4(at + 28 + nameLength);
    const bias = fx.bytes.subarray(weightsAt + v.getUint32(at + 20, true), weightsAt + v.getUint32(at + 20, true) + biasLen);
    bytes = await sealModel(concat(fx.bytes.subarray(0, at), head, payload, bias, fx.bytes.subarray(end)));
    desc.push(`record@${at} bits=${bits}`);
  }
  // Both wasm builds: either may read out of bounds if a check is missing.
  loadOptions.isa = r.pick(["simd", "scalar"]);
  if (ctx.verbose) {
    const file = join(tmpdir(), "aptkit-fuzz-case.aptkit");
    await writeFile(file, bytes);
    console.error(`case: ${desc.join(" ")}; load options ${JSON.stringify(loadOptions)}; the file: ${file}`);
  }
  // decodeModelFile first (the checks), then a full load and predict if it passes.
  try {
    await lib.decodeModelFile(bytes);
  } catch (e) {
    return classify(lib, e);
  }
  try {
    return await checkLoadedModel(lib, r, bytes, desc, loadOptions);
  } catch (e) {
    return classify(lib, e);
  }
}

async function checkpointCase(ctx, r, desc) {
  const { lib } = ctx;
  const fx = r.pick(ctx.checkpoints);
  desc.push(fx.name);
  const kind = r.weighted([["raw", 3], ["resealed", 3], ["state", 5], ["state-bytes", 1], ["model", 3], ["lengths", 1], ["forged", 4]]);
  desc.push(kind);
  let bytes;
  if (kind === "forged") {
    const state = forgeState(r, JSON.parse(new TextDecoder().decode(fx.parts.state)), desc);
    bytes = await buildCheckpoint(fx.parts.model, new TextEncoder().encode(JSON.stringify(state)));
  } else
  if (kind === "raw" || kind === "resealed") {
    const others = [...ctx.checkpoints.filter((c) => c !== fx).map((c) => c.bytes), ctx.models[0].bytes];
    const sections = [[0, 20], [20, 20 + align4(fx.parts.model.length)], [20 + align4(fx.parts.model.length), fx.bytes.length - 32], [fx.bytes.length - 32, fx.bytes.length]];
    bytes = mutateMany(r, fx.bytes, { fields: fx.parts.fields, sections, others }, desc);
    if (kind === "resealed") bytes = await resealCheckpoint(bytes);
  } else if (kind === "state") {
    const state = JSON.parse(new TextDecoder().decode(fx.parts.state));
    const text = jsonText(mutateJson(r, state, PALETTE, desc), r);
    bytes = await buildCheckpoint(fx.parts.model, new TextEncoder().encode(text));
  } else if (kind === "state-bytes") {
    bytes = await buildCheckpoint(fx.parts.model, mutateMany(r, fx.parts.state, {}, desc));
  } else if (kind === "model") {
    const mf = modelFieldsCache(ctx, fx);
    let model = mutateMany(r, fx.parts.model, { fields: mf.fields, sections: mf.sections }, desc);
    if (r.chance(0.8)) model = await sealModel(model, { length: r.chance(0.8) });
    bytes = await buildCheckpoint(model, fx.parts.state);
  } else {
    const m = fx.parts.model.length, s = fx.parts.state.length;
    const near = [0, 1, m, s, m + s, m - 1, s + 1, 0xffffffff, 0x7fffffff, 64 * 2 ** 20, 64 * 2 ** 20 + 1];
    const o = r.chance(0.5) ? { modelLength: r.pick(near) } : { stateLength: r.pick(near) };
    desc.push(JSON.stringify(o));
    bytes = await buildCheckpoint(fx.parts.model, fx.parts.state, o);
  }
  let decoded;
  try {
    decoded = await lib.decodeCheckpoint(bytes);
  } catch (e) {
    return classify(lib, e);
  }
  // It decoded: training must resume from it and finish, or refuse it with a typed error.
  try {
    const { report } = await lib.train({ ...fx.options, resume: bytes });
    if (typeof report.modelSha256 !== "string" || report.modelSha256.length !== 64) {
      return { label: "resumed run without a model hash", ok: false };
    }
    return { label: decoded.state.step === JSON.parse(new TextDecoder().decode(fx.parts.state)).step ? "resumed" : "resumed (changed state)", ok: true };
  } catch (e) {
    const c = classify(lib, e);
    return { ...c, label: `resume: ${c.label}` };
  }
}


// ---- forged checkpoints: valid checksums, hostile content ----------------------------------------

/** One to three targeted forgeries of a checkpoint's state: histories far longer than the steps
 *  allow, step counts and epochs moved (alone or all together), figures changed, widths and layer
 *  names out of range, counters inflated. Some stay consistent (a changed accuracy cannot be told
 *  from a real one): those must resume and finish. */
function forgeState(r, s, desc) {
  // 300,000 entries (the size of the report that crashed restore) is slow to build and parse:
  // drawn now and then, smaller floods most of the time.
  const big = () => r.weighted([[1000, 6], [20_000, 3], [300_000, 0.5]]);
  const grow = (arr, n) => { const out = []; for (let i = 0; i < n; i++) out.push(arr.length ? arr[i % arr.length] : {}); return out; };
  const k = r.weighted([[1, 6], [2, 3], [3, 1]]);
  const floods = ["history", "timeline", "loss", "evals"];
  let flooded = false;
  for (let i = 0; i < k; i++) {
    let op = r.pick([...floods, "step", "epoch-all", "accuracy", "eval-loss", "widths", "layer",
      "controller", "window", "energy", "fingerprint", "limitedBy", "timings"]);
    // One flood per state: a state of several 300,000-entry arrays measures the harness's own
    // JSON building more than the decoder.
    if (floods.includes(op) && flooded) op = "step";
    if (floods.includes(op)) flooded = true;
    desc.push(`forge ${op}`);
    switch (op) {
      case "history": s.bitsHistory = grow(s.bitsHistory, big()); break;
      case "timeline": s.bitsTimeline = grow(s.bitsTimeline, big()); break;
      case "loss": s.loss = grow(s.loss, big()); break;
      case "evals": s.evaluations = grow(s.evaluations, r.pick([s.evaluations.length + 1, big()])); break;
      case "step": s.step = r.pick([s.step + 1, s.step - 1, s.step * 1000, 2 ** 31, 2 ** 53, 0]); break;
      case "epoch-all": {
        // Epoch, batches done and step moved together (consistent with each other).
        const perEpoch = s.fingerprint.batch > 0 ? Math.floor(s.fingerprint.trainCount / s.fingerprint.batch) : 1;
        s.epoch = r.pick([0, s.epoch + 1, s.fingerprint.epochs, s.fingerprint.epochs + 1]);
        s.stepInEpoch = r.pick([0, 1, perEpoch - 1, perEpoch]);
        s.step = s.epoch * perEpoch + s.stepInEpoch;
        break;
      }
      case "accuracy": for (const e of s.evaluations) e.accuracy = r.pick([1, 0, 0.999, 1.0001, -0]); break;
      case "eval-loss": for (const e of s.evaluations) e.loss = r.pick([0, 1e308, -1e-9]); break;
      case "widths": {
        const t = r.pick(s.bitsTimeline);
        const name = r.pick(Object.keys(t.bits));
        t.bits[name] = r.pick([1, 2, 16, 17, 32]);
        break;
      }
      case "layer": if (s.bitsHistory.length) r.pick(s.bitsHistory).layer = r.pick(["ghost", "__proto__", "constructor", "dense0"]); break;
      case "controller": if (s.controller) for (const v of Object.values(s.controller)) v.n = r.pick([0, 1, 2, 3, 1e6]); break;
      case "window": s.window.steps = r.pick([0, s.window.steps + 1, 1e9]); s.window.correct = r.pick([0, 1e9]); break;
      case "energy": if (s.energy) s.energy.steps = r.pick([0, s.step + 1, 1e12]); break;
      case "fingerprint": {
        const key = r.pick(["trainCount", "batch", "epochs", "seed"]);
        s.fingerprint[key] = r.pick([0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53]);
        break;
      }
      case "limitedBy": if (s.bitsHistory.length) r.pick(s.bitsHistory).limitedBy = r.pick(["bMax", "budget", "x", 7]); break;
      case "timings": s.timings.trainMs = r.pick([0, 1e308, 5]); break;
    }
  }
  return s;
}

// ---- named files: devices, pipes, directories, sparse giants, declared-size bombs -----------------

let fifoCount = 0;
async function makeFifo(ctx) {
  const { execFileSync } = await import("node:child_process");
  const path = join(ctx.work, `case-${fifoCount++}.fifo`);
  execFileSync("mkfifo", [path]);
  return path;
}

/** A writer process on the FIFO; `exec` so that killing the pid kills the process holding the pipe. */
async function fifoWriter(path, source) {
  const { spawn } = await import("node:child_process");
  const child = spawn("sh", ["-c", `exec cat ${source.map((f) => `'${f}'`).join(" ")} > '${path}'`], { stdio: "ignore" });
  child.on("error", () => {});
  return child;
}

async function fileDigest(path) {
  const { stat } = await import("node:fs/promises");
  const st = await stat(path).catch(() => null);
  if (!st || !st.isFile()) return null;
  return `${st.size}:${st.size <= 1 << 20 ? Buffer.from(await sha256(await readFile(path))).toString("hex") : st.mtimeMs}`;
}

/** A header that declares `length` bytes, for each format. */
function declaringHeader(ctx, format, length, r) {
  if (format === "model") {
    const head = ctx.models[0].bytes.slice(0, 32);
    new DataView(head.buffer).setUint32(16, length >>> 0, true);
    return head;
  }
  if (format === "checkpoint") {
    const head = ctx.checkpoints.length ? ctx.checkpoints[0].bytes.slice(0, 20) : new Uint8Array(20);
    const v = new DataView(head.buffer);
    if (r.chance(0.5)) v.setUint32(12, length >>> 0, true);
    else v.setUint32(16, r.chance(0.5) ? length >>> 0 : 64 * 2 ** 20, true);
    return head;
  }
  // IDX images: dims whose product is about `length`.
  const side = r.pick([28, 1000, 0xffff]);
  return idxBytes([Math.max(1, Math.floor(length / (side * side))), side, side], new Uint8Array(0));
}

async function filesCase(ctx, r, desc) {
  const { lib } = ctx;
  const { writeFile: write, symlink, open: openFile } = await import("node:fs/promises");
  const format = r.pick(ctx.checkpoints.length ? ["model", "checkpoint", "idx"] : ["model", "idx"]);
  const maxBytes = r.chance(0.3) ? r.pick([1 << 10, 1 << 20, 16 << 20]) : undefined;
  // The default wait (2 s) now and then; shorter ones keep the run short.
  const writerWaitMs = r.weighted([[100, 6], [300, 3], [2000, 0.5]]);
  desc.push(format, `maxBytes ${maxBytes ?? "default"}`);
  const kind = r.weighted([["device", 2], ["directory", 1], ["missing", 1], ["link", 1], ["fifo-silent", 1], ["fifo", 4], ["sparse", 1], ["bomb", 5]]);
  desc.push(kind);
  let path, writer = null;
  const stamp = `${Date.now()}-${r.int(1e9)}`;
  const valid = () => (format === "model" ? r.pick(ctx.models).bytes : format === "checkpoint" ? r.pick(ctx.checkpoints).bytes
    : r.chance(0.5) ? ctx.idx.trainImages : gzipSync(ctx.idx.trainImages));
  const bomb = () => {
    // A header declaring more than the body holds, more than the limit, or far more than either
    // (up to 4 GiB), followed by zeros, some valid bytes, or nothing; raw or gzipped (IDX).
    const declared = r.pick([2 ** 32 - 1, 2 ** 31, 256 * 2 ** 20, 100 * 2 ** 20, 64 * 2 ** 20 + 1, 2 ** 20, 4096]);
    const body = r.pick([new Uint8Array(0), new Uint8Array(r.pick([1, 4096, 1 << 20])), valid().subarray(0, r.int(valid().length))]);
    let bytes = concat(declaringHeader(ctx, format, declared, r), body);
    if (format === "idx" && r.chance(0.5)) bytes = gzipSync(r.chance(0.5) ? bytes : concat(bytes, (ctx.zeros4m ??= new Uint8Array(4 << 20))));
    desc.push(`declares ${declared}, ${bytes.length} bytes`);
    return bytes;
  };
  switch (kind) {
    case "device": path = r.pick(["/dev/zero", "/dev/null", "/dev/urandom", "/dev/full"]); break;
    case "directory": path = ctx.work; break;
    case "missing": path = join(ctx.work, `missing-${stamp}`); break;
    case "link": {
      path = join(ctx.work, `link-${stamp}`);
      await symlink(r.pick(["/dev/zero", join(ctx.work, "nowhere"), ctx.work]), path);
      break;
    }
    case "fifo-silent": path = await makeFifo(ctx); break;
    case "fifo": {
      path = await makeFifo(ctx);
      const src = join(ctx.work, `src-${stamp}`);
      const what = r.pick(["valid", "bomb", "valid+zeros", "zeros"]);
      desc.push(what);
      await write(src, what === "bomb" ? bomb() : what === "zeros" ? new Uint8Array(0) : valid());
      writer = await fifoWriter(path, what.includes("zeros") ? [src, "/dev/zero"] : [src]);
      break;
    }
    case "sparse": {
      path = join(ctx.work, `sparse-${stamp}`);
      const h = await openFile(path, "w");
      await h.write(r.chance(0.5) ? valid().subarray(0, 32) : new Uint8Array(1));
      await h.truncate(r.pick([2 ** 31, 2 ** 33, 2 ** 40]));
      await h.close();
      break;
    }
    case "bomb": {
      path = join(ctx.work, `bomb-${stamp}${format === "idx" && r.chance(0.5) ? ".gz" : ""}`);
      await write(path, bomb());
      break;
    }
  }
  const before = await fileDigest(path);
  const options = { writerWaitMs, ...(maxBytes !== undefined && { maxBytes }) };
  let result;
  try {
    if (format === "model") {
      const bytes = await lib.readModelFile(path, options);
      await lib.decodeModelFile(bytes);
      result = { label: "read+decoded", ok: true };
    } else if (format === "checkpoint") {
      const bytes = await lib.readCheckpointFile(path, options);
      await lib.decodeCheckpoint(bytes);
      result = { label: "read+decoded", ok: true };
    } else {
      const src = await lib.readIdxSource(path, { ...(maxBytes !== undefined && { maxBytes }) }, { ndims: 3, what: "images" });
      const a = lib.parseIdx(src, 3, "images");
      result = a.data.length === a.dims.reduce((p, d) => p * d, 1) ? { label: "read+parsed", ok: true } : { label: "parsed with wrong length", ok: false };
    }
  } catch (e) {
    result = e instanceof lib.InputFileError ? { label: `InputFileError ${e.problem}`, ok: e.message.includes(path), message: e.message } : classify(lib, e);
  } finally {
    if (writer) {
      writer.kill("SIGKILL");
      await new Promise((ok) => (writer.exitCode !== null || writer.signalCode !== null ? ok() : writer.on("exit", ok)));
    }
  }
  // Nothing already on disk is lost: the file read is as it was.
  if (before !== null && (await fileDigest(path)) !== before) return { label: "the file read was changed", ok: false };
  if (kind === "sparse" || kind === "bomb" || kind.startsWith("fifo") || kind === "link") await rm(path, { force: true });
  return result;
}

function modelFieldsCache(ctx, fx) {
  return (fx.modelFields ??= modelFields(ctx.lib, fx.parts.model));
}

const IDX_NAMES = ["trainImages", "trainLabels", "testImages", "testLabels"];

function mutateIdx(ctx, r, which, desc) {
  const b = ctx.idx[which];
  const dims = which.endsWith("Images") ? 3 : 1;
  if (r.chance(0.25)) {
    // Header-aware: new dimensions with exactly as many data bytes as they declare (or one off).
    const d = Array.from({ length: dims }, () => r.pick([0, 1, 2, 3, 4, 5, 8, 24, 255, 0xffff, 0x10000]));
    let size = d.reduce((a, x) => a * x, 1);
    if (size > 1 << 20) { d[0] = 0; size = 0; }
    const off = r.pick([0, 0, 0, 1, -1]);
    const data = randomBytes(r, Math.max(0, size + off));
    if (r.chance(0.5)) for (let i = 0; i < data.length; i++) data[i] %= 12;
    desc.push(`dims [${d}]${off ? ` ${off > 0 ? "+" : ""}${off}` : ""}`);
    return idxBytes(d, data);
  }
  const fields = Array.from({ length: dims }, (_, i) => [4 + 4 * i, 4]).concat([[0, 4], [2, 1], [3, 1]]);
  const sections = [[0, 4], [4, 4 + 4 * dims], [4 + 4 * dims, b.length]];
  const others = IDX_NAMES.filter((n) => n !== which).map((n) => ctx.idx[n]);
  return mutateMany(r, b, { fields, sections, others, bigEndian: true }, desc);
}

async function idxCase(ctx, r, desc) {
  const { lib } = ctx;
  if (r.chance(0.7)) {
    const which = r.pick(IDX_NAMES);
    desc.push(`parse ${which}`);
    const bytes = mutateIdx(ctx, r, which, desc);
    const ndims = which.endsWith("Images") ? 3 : 1;
    try {
      const a = lib.parseIdx({ file: which, bytes, decompressed: false }, ndims, which.endsWith("Images") ? "images" : "labels");
      const want = a.dims.reduce((p, d) => p * d, 1);
      if (a.data.length !== want || a.dataOffset !== 4 + 4 * ndims) return { label: "parsed with wrong length", ok: false };
      return { label: "parsed", ok: true };
    } catch (e) {
      return classify(lib, e);
    }
  }
  // A whole directory: 1..4 files mutated, each raw or gzipped (gzip before the mutation: a corrupt
  // stream; after: a valid stream of mutated bytes), sometimes a gzip bomb under a small maxBytes.
  desc.push("dataset");
  const dir = ctx.idxDir;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const k = r.weighted([[1, 5], [2, 2], [4, 1]]);
  const mutated = new Set(Array.from({ length: k }, () => r.pick(IDX_NAMES)));
  let maxBytes;
  for (const name of IDX_NAMES) {
    const base = ctx.lib.IDX_FILES[name];
    let bytes = ctx.idx[name];
    const gz = r.chance(0.3);
    if (mutated.has(name)) {
      const how = gz ? r.pick(["before", "after", "bomb"]) : "raw";
      desc.push(`${name}:${how}`);
      if (how === "bomb") {
        bytes = (ctx.bomb ??= gzipSync(new Uint8Array(4 << 20)));
        maxBytes = 1 << 20;
      } else if (how === "before") {
        bytes = mutateMany(r, gzipSync(bytes), {}, desc);
      } else {
        bytes = mutateIdx(ctx, r, name, desc);
        if (how === "after") bytes = gzipSync(bytes);
      }
    } else if (gz) {
      bytes = gzipSync(bytes);
    }
    await writeFile(join(dir, gz ? `${base}.gz` : base), bytes);
  }
  let split;
  try {
    split = await lib.loadIdxDataset(dir, maxBytes ? { maxBytes } : {});
  } catch (e) {
    return classify(lib, e);
  }
  for (const ds of [split.train, split.test]) {
    const per = ds.height * ds.width * ds.channels;
    if (ds.images.length !== ds.count * per || ds.labels.length !== ds.count || ds.labels.some((l) => l >= ds.classes) ||
      ds.images.some((v) => !(v >= 0 && v <= 1)) || ds.height !== split.train.height || ds.width !== split.train.width) {
      return { label: "loaded an inconsistent data set", ok: false };
    }
  }
  return { label: "loaded", ok: true };
}

async function runOne(ctx, seed, k, verbose = false, onTarget = () => {}) {
  const r = caseRng(seed, k);
  const target = r.pick(ctx.targets.filter((t) => t !== "checkpoint" || ctx.checkpoints.length));
  onTarget(target);
  const desc = [];
  const t0 = performance.now();
  let res;
  try {
    res = target === "model" ? await modelCase(ctx, r, desc) : target === "checkpoint" ? await checkpointCase(ctx, r, desc)
      : target === "files" ? await filesCase(ctx, r, desc) : await idxCase(ctx, r, desc);
  } catch (e) {
    // An exception from the harness's own steps (building the mutated file) is reported too.
    res = { label: `harness ${e?.name}`, ok: false, detail: e?.stack };
    if (verbose) console.error(e);
  }
  const ms = performance.now() - t0;
  if (ms > LIMIT_MS) res = { label: `slow (${res.label})`, ok: false, detail: `${ms.toFixed(0)} ms` };
  return { k, target, ms, desc: desc.join(" "), ...res };
}

async function worker() {
  const { seed, from, to, skip, targets, beat, messages: collect, selftest, maxRssMb } = workerData;
  // The process's peak RSS only grows: a case is blamed when it passes the RSS the process had
  // when the case started (garbage of earlier cases included) plus the limit.
  let messages = {}, examples = {};
  const ctx = await setup(targets);
  parentPort.postMessage({ work: ctx.work });
  const skipped = new Set(skip);
  let counts = {}, failures = [], cases = 0, slowest = { ms: 0, k: -1, what: "" };
  const flush = (upTo, done) => {
    parentPort.postMessage({ counts, failures, cases, upTo, done, slowest, messages, examples });
    counts = {}; failures = []; cases = 0; messages = {}; examples = {};
  };
  const origin = performance.timeOrigin;
  for (let k = from; k < to; k++) {
    if (skipped.has(k)) continue;
    beat[0] = k;
    beat[2] = -1;
    beat[1] = origin + performance.now();
    const rssStartMb = process.memoryUsage.rss() / 2 ** 20;
    const peakBeforeMb = process.resourceUsage().maxRSS / 1024;
    const self = selftest === null ? -1 : k - selftest;
    if (self === 3) for (;;);
    if (self === 6) setTimeout(() => { throw new Error("selftest: worker crash"); });
    if (self === 6) await new Promise(() => {});
    const res = self === 9 ? await new Promise((ok) => setTimeout(() => ok({ k, target: "selftest", ms: 2500, desc: "", label: "slow (selftest)", ok: false }), 2500))
      : await runOne(ctx, seed, k, false, (t) => { beat[2] = TARGETS.indexOf(t); });
    beat[1] = 0;
    const peakMb = process.resourceUsage().maxRSS / 1024;
    // Only a case that raised the peak can have passed it (an earlier case's peak is not this one's).
    if (peakMb > peakBeforeMb && peakMb > rssStartMb + maxRssMb && res.ok) {
      Object.assign(res, { ok: false, label: `RSS grew over ${maxRssMb} MB (${res.label})`, detail: `peak ${peakMb.toFixed(0)} MB from ${rssStartMb.toFixed(0)} MB` });
    }
    cases++;
    const key = `${res.target}:${res.ok ? res.label : `FAIL ${res.label}`}`;
    counts[key] = (counts[key] ?? 0) + 1;
    examples[key] ??= k;
    if (!res.ok) failures.push({ k, target: res.target, label: res.label, site: res.site ?? "", detail: `${res.desc} -> ${res.detail ?? ""}`.slice(0, 600) });
    if (collect && res.ok && res.message) {
      const m = `${res.target} ${res.label}: ${res.message.replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/g, "N").replace(/"[^"]*"/g, "S").slice(0, 110)}`;
      messages[m] = (messages[m] ?? 0) + 1;
    }
    if (res.ms > slowest.ms) slowest = { ms: res.ms, k, what: `${res.target} ${res.desc}`.slice(0, 200) };
    if (cases >= 200) flush(k + 1, false);
  }
  flush(to, true);
  await ctx.cleanup();
}

if (isMainThread) await main();
else await worker();
