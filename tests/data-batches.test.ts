// Dataset cutting on a synthetic dataset: seeded permutations are pinned (same order on every
// platform), batches() covers each index once per epoch, split() is exact and deterministic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { batchCount, batches, createDataset, gather, permutation, split, subset, type Dataset } from "../src/data/index.js";

/** `count` 2x2 images whose pixels all equal i / count, labels given by `label(i)`. */
function synth(count: number, label: (i: number) => number = (i) => i % 10, classes = 10): Dataset {
  const images = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) images.fill(i / count, i * 4, i * 4 + 4);
  return createDataset({
    name: "synth", count, height: 2, width: 2, channels: 1, classes, images, labels: Uint8Array.from({ length: count }, (_, i) => label(i)),
  });
}

/** Sample index of a sample copied out of synth(count): its pixel value times count. */
const origin = (ds: Dataset, k: number, count: number) => Math.round(ds.images[k * 4] * count);

test("permutations are pinned: the same order on every run and platform", () => {
  // Golden values: a change here changes every run's data order; do it on purpose only.
  assert.deepEqual(Array.from(permutation(10, 1, 0)), [8, 7, 4, 2, 3, 5, 0, 6, 9, 1]);
  assert.deepEqual(Array.from(permutation(10, 1, 1)), [2, 7, 6, 1, 3, 0, 8, 4, 9, 5]);
  assert.deepEqual(Array.from(permutation(16, 0xffffffff, 7)), [5, 1, 8, 12, 4, 10, 9, 3, 2, 13, 11, 7, 6, 0, 15, 14]);
  assert.deepEqual(Array.from(permutation(0, 3)), []);
  assert.deepEqual(Array.from(permutation(1, 3)), [0]);
});

test("batches: every index exactly once per epoch, last partial batch kept", () => {
  const ds = { count: 103 };
  const seen = new Uint8Array(103);
  const sizes: number[] = [];
  for (const b of batches(ds, 10, 42, 0)) {
    sizes.push(b.length);
    for (const i of b) seen[i]++;
  }
  assert.deepEqual(sizes, [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
  assert.ok(seen.every((n) => n === 1));
  assert.equal(batchCount(ds, 10), 11);
});

test("batches with dropLast: full batches only, no index twice", () => {
  const ds = { count: 103 };
  const all = [...batches(ds, 10, 42, 0, { dropLast: true })];
  assert.equal(all.length, 10);
  assert.equal(batchCount(ds, 10, { dropLast: true }), 10);
  assert.ok(all.every((b) => b.length === 10));
  assert.equal(new Set(all.flatMap((b) => [...b])).size, 100);
  // The dropped samples are the tail of the same epoch order.
  assert.deepEqual(all.flatMap((b) => [...b]), [...batches(ds, 10, 42, 0)].flatMap((b) => [...b]).slice(0, 100));
});

test("batches: same (seed, epoch) same order; another epoch or seed, another order", () => {
  const order = (seed: number, epoch: number) => [...batches({ count: 500 }, 32, seed, epoch)].flatMap((b) => [...b]);
  assert.deepEqual(order(7, 3), order(7, 3));
  assert.notDeepEqual(order(7, 3), order(7, 4));
  assert.notDeepEqual(order(7, 3), order(8, 3));
  assert.notDeepEqual(order(7, 0), order(0, 7));
});

test("batches refuse a bad batch size, seed or epoch with a RangeError", () => {
  const run = (size: number, seed: number, epoch: number) => () => [...batches({ count: 5 }, size, seed, epoch)];
  assert.throws(run(0, 1, 0), /batchSize must be an integer in 1\.\./);
  assert.throws(run(2.5, 1, 0), RangeError);
  assert.throws(run(2, -1, 0), /seed must be an integer in 0\.\.4294967295, got -1/);
  assert.throws(run(2, 2 ** 32, 0), /seed/);
  assert.throws(run(2, 1, 1.5), /epoch/);
  assert.deepEqual([...batches({ count: 0 }, 4, 1, 0)], []);
});

test("split: exact sizes, disjoint, complete, deterministic, seed-dependent", () => {
  const ds = synth(57);
  const a = split(ds, 40, 9);
  assert.equal(a.train.count, 40);
  assert.equal(a.test.count, 17);
  assert.equal(a.train.name, "synth/train");
  const ids = (d: Dataset) => Array.from({ length: d.count }, (_, k) => origin(d, k, 57));
  assert.deepEqual([...ids(a.train), ...ids(a.test)].sort((x, y) => x - y), Array.from({ length: 57 }, (_, i) => i));
  for (const d of [a.train, a.test]) for (let k = 0; k < d.count; k++) assert.equal(d.labels[k], ids(d)[k] % 10);
  const b = split(ds, 40, 9);
  assert.deepEqual(b.train.images, a.train.images);
  assert.deepEqual(b.test.labels, a.test.labels);
  assert.notDeepEqual(ids(split(ds, 40, 10).train), ids(a.train));
});

test("stratified split keeps each class's share, apportioned by largest remainder", () => {
  // Classes of 50, 30, 15 and 5 samples; 20 of 100 to test -> 10, 6, 3, 1.
  const label = (i: number) => (i < 50 ? 0 : i < 80 ? 1 : i < 95 ? 2 : 3);
  const ds = synth(100, label, 4);
  const { train, test: tst } = split(ds, 80, 1, { stratified: true });
  const per = (d: Dataset) => [0, 1, 2, 3].map((c) => d.labels.filter((l) => l === c).length);
  assert.deepEqual(per(tst), [10, 6, 3, 1]);
  assert.deepEqual(per(train), [40, 24, 12, 4]);
  // 3 of 3+3+1 to test: quotas 9/7, 9/7, 3/7 -> 1, 1, 0, and the one left goes to the largest remainder (class 2).
  const small = synth(7, (i) => (i < 3 ? 0 : i < 6 ? 1 : 2), 3);
  assert.deepEqual(per(split(small, 4, 1, { stratified: true }).test).slice(0, 3), [1, 1, 1]);
  // 3 of 5+5: quotas 1.5, 1.5 -> a tie, settled for the lower class.
  const tie = synth(10, (i) => (i < 5 ? 0 : 1), 2);
  assert.deepEqual(per(split(tie, 7, 1, { stratified: true }).test).slice(0, 2), [2, 1]);
  // Shuffled within each part: not sorted by class.
  const sorted = [...train.labels].sort((x, y) => x - y);
  assert.notDeepEqual([...train.labels], sorted);
});

test("split, subset and gather refuse bad arguments with a RangeError", () => {
  const ds = synth(10);
  assert.throws(() => split(ds, 11, 1), /synth: trainCount must be an integer in 0\.\.10, got 11/);
  assert.throws(() => split(ds, -1, 1), RangeError);
  assert.throws(() => subset(ds, [0, 10]), /sample index 10 \(position 1\) is not in 0\.\.9/);
  assert.throws(() => gather(ds, [1, 2], new Float32Array(7)), /gather of 2 samples needs images >= 8/);
  assert.deepEqual(split(ds, 0, 1).train.count, 0);
  assert.deepEqual(split(ds, 10, 1).test.count, 0);
});

test("gather copies the samples into the caller's buffers", () => {
  const ds = synth(20);
  const images = new Float32Array(3 * 4 + 4).fill(-1);
  const labels = new Uint8Array(4).fill(99);
  const out = gather(ds, Uint32Array.of(5, 0, 19), images, labels);
  assert.equal(out.images, images);
  assert.deepEqual([...labels], [5, 0, 9, 99]);
  assert.deepEqual([...images], [...Array(4).fill(Math.fround(5 / 20)), 0, 0, 0, 0, ...Array(4).fill(Math.fround(19 / 20)), -1, -1, -1, -1]);
});

test("createDataset checks shapes and labels", () => {
  const base = { name: "x", count: 2, height: 2, width: 2, channels: 1, classes: 3, images: new Float32Array(8), labels: Uint8Array.of(0, 2) };
  assert.equal(createDataset(base), base);
  assert.throws(() => createDataset({ ...base, images: new Float32Array(7) }), /x: images has 7 values, expected count\*height\*width\*channels = 2\*2\*2\*1 = 8/);
  assert.throws(() => createDataset({ ...base, labels: Uint8Array.of(0) }), /labels has 1 entries/);
  assert.throws(() => createDataset({ ...base, labels: Uint8Array.of(0, 3) }), /label 3 of sample 1 is not in 0\.\.2/);
  assert.throws(() => createDataset({ ...base, classes: 257 }), /classes must be an integer in 1\.\.256/);
  assert.throws(() => createDataset({ ...base, height: 0 }), /height/);
});
