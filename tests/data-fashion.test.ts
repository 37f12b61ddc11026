// Fashion-MNIST from Debian's dataset-fashion-mnist (gzipped IDX files in
// /usr/share/datasets/fashion-mnist/): 60,000 / 10,000, balanced classes, known first labels.
// Skipped (with the install line) where the package is not installed; .ci/run installs it and sets
// APTKIT_REQUIRE_ALL=1, under which its absence fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FASHION_MNIST_DIR, IDX_FILES, loadDataset, type Dataset } from "../src/data/index.js";
import { filesIn, skipUnless } from "./helpers/system-tool.js";

const skip = skipUnless({
  what: `Fashion-MNIST in ${FASHION_MNIST_DIR}`,
  present: filesIn(FASHION_MNIST_DIR, Object.values(IDX_FILES)),
  install: "apt-get install dataset-fashion-mnist",
});

test("Fashion-MNIST loads 60,000 train / 10,000 test", { skip }, async (t) => {
  const t0 = performance.now();
  const { train, test: tst } = await loadDataset("fashion-mnist");
  t.diagnostic(`loadDataset("fashion-mnist") took ${(performance.now() - t0).toFixed(0)} ms`);
  const per = (ds: Dataset) => Array.from({ length: 10 }, (_, c) => ds.labels.filter((l) => l === c).length);
  for (const [ds, count, name] of [[train, 60000, "fashion-mnist/train"], [tst, 10000, "fashion-mnist/test"]] as const) {
    assert.equal(ds.name, name);
    assert.deepEqual([ds.count, ds.height, ds.width, ds.channels, ds.classes], [count, 28, 28, 1, 10]);
    assert.equal(ds.images.length, count * 784);
    assert.deepEqual(per(ds), Array(10).fill(count / 10));
    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    assert.deepEqual([min, max], [0, 1]);
  }
  // The published files' first labels (9 = ankle boot).
  assert.deepEqual([...train.labels.subarray(0, 10)], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  assert.deepEqual([...tst.labels.subarray(0, 10)], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
});
