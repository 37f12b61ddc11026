// The IDX reader: synthetic MNIST-layout directories, raw and gzipped, load to the right values;
// every malformed file is refused with a DatasetError naming the file and the byte offset.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DatasetError, IDX_FILES, loadDataset, loadIdxDataset } from "../src/data/index.js";

let root: string;
before(() => { root = mkdtempSync(join(tmpdir(), "aptkit-idx-")); });
after(() => rmSync(root, { recursive: true, force: true }));

/** An IDX file: magic 0x000008NN (or `magic`), big-endian dims, then `data` (or count bytes `data.length`). */
function idx(dims: number[], data: ArrayLike<number>, magic = 0x0800 | dims.length): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, k) => view.setUint32(4 + 4 * k, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** `count` images of rows x cols whose pixel j of image i is (i * 7 + j * 3) % 256, labels i % 10. */
function images(count: number, rows: number, cols: number): Uint8Array {
  return idx([count, rows, cols], Array.from({ length: count * rows * cols }, (_, k) => {
    const i = Math.floor(k / (rows * cols));
    return (i * 7 + (k % (rows * cols)) * 3) % 256;
  }));
}
function labels(count: number): Uint8Array {
  return idx([count], Array.from({ length: count }, (_, i) => i % 10));
}

interface Files { trainImages: Uint8Array; trainLabels: Uint8Array; testImages: Uint8Array; testLabels: Uint8Array }
const good = (): Files => ({ trainImages: images(12, 3, 5), trainLabels: labels(12), testImages: images(4, 3, 5), testLabels: labels(4) });

let dirs = 0;
/** A fresh directory holding `files`, each gzipped when named in `gz`. Returns it and each file's path. */
function dir(files: Files, gz: (keyof Files)[] = []): { dir: string; path: Record<keyof Files, string> } {
  const d = join(root, `case${dirs++}`);
  mkdirSync(d);
  const path = {} as Record<keyof Files, string>;
  for (const key of Object.keys(files) as (keyof Files)[]) {
    const zip = gz.includes(key);
    path[key] = join(d, IDX_FILES[key] + (zip ? ".gz" : ""));
    writeFileSync(path[key], zip ? gzipSync(files[key]) : files[key]);
  }
  return { dir: d, path };
}

const ALL: (keyof Files)[] = ["trainImages", "trainLabels", "testImages", "testLabels"];

/** The promise rejects with a DatasetError for `file` at `offset`, both named in the message. */
async function refused(p: Promise<unknown>, file: string, offset: number, message: RegExp, decompressed = false): Promise<DatasetError> {
  const err = await p.then(() => assert.fail("expected a DatasetError"), (e: unknown) => e);
  assert.ok(err instanceof DatasetError, `expected DatasetError, got ${err}`);
  assert.equal(err.file, file);
  assert.equal(err.offset, offset);
  assert.equal(err.decompressed, decompressed);
  assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
  assert.ok(err.message.includes(`byte offset ${offset}`), `message names offset ${offset}: ${err.message}`);
  if (decompressed) assert.match(err.message, /of the decompressed stream/);
  assert.match(err.message, message);
  return err;
}

describe("loading", () => {
  for (const [what, gz] of [["raw", []], ["gzipped", ALL], ["mixed", ["trainImages", "testLabels"]]] as const) {
    test(`${what} files load to b/255 pixels and their labels`, async () => {
      const { dir: d } = dir(good(), [...gz]);
      const { train, test: tst } = await loadIdxDataset(d, { name: "synth" });
      assert.equal(train.name, "synth/train");
      assert.equal(tst.name, "synth/test");
      for (const [ds, count] of [[train, 12], [tst, 4]] as const) {
        assert.deepEqual([ds.count, ds.height, ds.width, ds.channels, ds.classes], [count, 3, 5, 1, 10]);
        assert.equal(ds.images.length, count * 15);
        for (let i = 0; i < count; i++) {
          assert.equal(ds.labels[i], i % 10);
          for (let j = 0; j < 15; j++) assert.equal(ds.images[i * 15 + j], Math.fround(((i * 7 + j * 3) % 256) / 255));
        }
      }
    });
  }

  test("pixel bytes 0 and 255 map to exactly 0 and 1", async () => {
    const f = good();
    f.trainImages = idx([2, 1, 2], [0, 255, 255, 0]);
    f.trainLabels = labels(2);
    f.testImages = idx([1, 1, 2], [128, 1]);
    f.testLabels = labels(1);
    const { train, test: tst } = await loadIdxDataset(dir(f).dir);
    assert.deepEqual(Array.from(train.images), [0, 1, 1, 0]);
    assert.deepEqual(Array.from(tst.images), [Math.fround(128 / 255), Math.fround(1 / 255)]);
  });

  test("loadDataset('idx:DIR') reads the directory", async () => {
    const { dir: d } = dir(good(), ["testImages"]);
    const { train, test: tst } = await loadDataset(`idx:${d}`);
    assert.equal(train.count, 12);
    assert.equal(tst.count, 4);
  });

  test("loadDataset refuses an unknown spec with a RangeError naming it and the accepted forms", async () => {
    for (const spec of ["mnist", "idx:", "", "Digits"]) {
      await assert.rejects(loadDataset(spec), (e: unknown) => {
        assert.ok(e instanceof RangeError);
        assert.ok(e.message.includes(JSON.stringify(spec)), e.message);
        for (const form of ["digits", "fashion-mnist", "idx:DIR"]) assert.ok(e.message.includes(form), e.message);
        return true;
      });
    }
  });
});

describe("truncated files", () => {
  // images(12, 3, 5): 16 header bytes + 180 data bytes.
  for (const cut of [0, 2, 4, 7, 12, 15, 16, 17, 100, 195]) {
    test(`raw images cut to ${cut} bytes: error at byte offset ${cut}`, async () => {
      const f = good();
      f.trainImages = f.trainImages.subarray(0, cut);
      const { dir: d, path } = dir(f);
      await refused(loadIdxDataset(d), path.trainImages, cut, /truncated/);
    });
  }
  for (const cut of [0, 5, 8, 9]) {
    test(`raw labels cut to ${cut} bytes: error at byte offset ${cut}`, async () => {
      const f = good();
      f.testLabels = f.testLabels.subarray(0, cut);
      const { dir: d, path } = dir(f);
      await refused(loadIdxDataset(d), path.testLabels, cut, /truncated/);
    });
  }
  test("a gzip of a truncated file: the offset is into the decompressed stream, and says so", async () => {
    const f = good();
    f.trainImages = f.trainImages.subarray(0, 150);
    const { dir: d, path } = dir(f, ["trainImages"]);
    await refused(loadIdxDataset(d), path.trainImages, 150, /truncated/, true);
  });
  const zipped = gzipSync(good().trainImages);
  for (const cut of [1, 5, 12, Math.floor(zipped.length / 2), zipped.length - 4, zipped.length - 1]) {
    test(`gzip stream cut to ${cut} of ${zipped.length} bytes`, async () => {
      const { dir: d, path } = dir(good(), ["trainImages"]);
      writeFileSync(path.trainImages, zipped.subarray(0, cut));
      const err = await p(loadIdxDataset(d));
      assert.ok(err instanceof DatasetError);
      assert.equal(err.file, path.trainImages);
      assert.equal(err.decompressed, true);
      assert.ok(err.offset >= 0 && err.offset <= 196, `offset ${err.offset}`);
      assert.match(err.message, /gzip stream is truncated or corrupt/);
      await refused(Promise.reject(err), path.trainImages, err.offset, /zlib/, true);
    });
  }
  test("a gzip bomb stops at maxBytes", async () => {
    // 20 MB of zero pixels gzip to ~20 KB: the size check passes and the inflation must stop at the cap.
    const bomb = gzipSync(idx([20, 1000, 1000], new Uint8Array(20_000_000)));
    const cap = 1 << 20;
    assert.ok(bomb.length < cap);
    const { dir: d, path } = dir(good(), ["trainImages"]);
    writeFileSync(path.trainImages, bomb);
    // The header declares 20 MB: refused from the header, before the body is inflated.
    await refused(loadIdxDataset(d, { maxBytes: cap }), path.trainImages, 4, /declare 20000000 bytes of images.*more than maxBytes = 1048576/, true);
  });
  test("a gzip stream longer than its header declares stops at the declared length", async () => {
    // A header of 12 images of 3 x 5 followed by 20 MB of zeros: inflation stops 180 bytes in.
    const body = new Uint8Array(20_000_000);
    const bomb = gzipSync(idx([12, 3, 5], body));
    const { dir: d, path } = dir(good(), ["trainImages"]);
    writeFileSync(path.trainImages, bomb);
    await refused(loadIdxDataset(d), path.trainImages, 16 + 180, /more than \d{7,} unexpected bytes after the 180 bytes of images/, true);
  });
  test("a gzip stream of something else stops at its magic number, not at the end", async () => {
    const bomb = gzipSync(new Uint8Array(40_000_000).fill(7));
    const { dir: d, path } = dir(good(), ["trainImages"]);
    writeFileSync(path.trainImages, bomb);
    await refused(loadIdxDataset(d), path.trainImages, 0, /wrong magic number 0x07070707 for images/, true);
  });
  test("a raw file above maxBytes is refused before it is read", async () => {
    const { dir: d, path } = dir(good());
    await refused(loadIdxDataset(d, { maxBytes: 100 }), path.trainImages, 100, /is 196 bytes, more than the IDX file limit of 100 bytes/);
  });
});

/** The rejection reason of `promise` (fails if it resolves). */
async function p(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => assert.fail("expected a rejection"), (e: unknown) => e);
}

describe("malformed headers and contents", () => {
  const cases: [string, (f: Files) => void, keyof Files, number, RegExp][] = [
    ["images with the labels magic 0x00000801", (f) => { f.trainImages = idx([12], new Uint8Array(12)); }, "trainImages", 0, /wrong magic number 0x00000801 for images, expected 0x00000803/],
    ["images with 2 dimensions (0x00000802)", (f) => { f.trainImages = idx([12, 15], new Uint8Array(180)); }, "trainImages", 0, /0x00000802.*2 dimension\(s\), but IDX images have 3/],
    ["labels with the images magic", (f) => { f.testLabels = images(4, 3, 5); }, "testLabels", 0, /wrong magic number 0x00000803 for labels, expected 0x00000801/],
    ["float32 images (type 0x0d)", (f) => { f.trainImages = idx([12, 3, 5], new Uint8Array(180), 0x0d03); }, "trainImages", 0, /type 0x0d \(float32\) is not supported/],
    ["a non-IDX file", (f) => { f.trainImages = new TextEncoder().encode("P5 28 28 255\n...."); }, "trainImages", 0, /not an IDX file/],
    ["label 10", (f) => { const l = labels(12); l[8 + 5] = 10; f.trainLabels = l; }, "trainLabels", 13, /label 10 of sample 5 is out of range 0\.\.9/],
    ["label 255 in the test set", (f) => { const l = labels(4); l[8 + 3] = 255; f.testLabels = l; }, "testLabels", 11, /label 255 of sample 3/],
    ["11 labels for 12 images", (f) => { f.trainLabels = labels(11); }, "trainLabels", 4, /holds 11 labels but .*train-images-idx3-ubyte(\.gz)? holds 12 images \(count mismatch\)/],
    ["trailing bytes after the data", (f) => { f.testLabels = Uint8Array.from([...labels(4), 0, 0]); }, "testLabels", 12, /2 unexpected bytes after the 4 bytes of labels/],
    ["test images 3 x 4 where train is 3 x 5", (f) => { f.testImages = images(4, 3, 4); }, "testImages", 12, /4 columns, expected 5/],
    ["images of 0 rows", (f) => { f.trainImages = idx([12, 0, 5], []); }, "trainImages", 8, /0 rows/],
  ];
  for (const [name, spoil, key, offset, message] of cases) {
    test(`${name}: error at byte offset ${offset}`, async () => {
      const f = good();
      spoil(f);
      const raw = dir(f);
      await refused(loadIdxDataset(raw.dir), raw.path[key], offset, message);
      const gz = dir(f, ALL);
      await refused(loadIdxDataset(gz.dir), gz.path[key], offset, message, true);
    });
  }

  describe("hostile dimensions are refused before anything is allocated from them", () => {
    const big = 0xffffffff;
    const hostile: [string, number[], keyof Files, number, RegExp][] = [
      ["4294967295 images of 28 x 28", [big, 28, 28], "trainImages", 4, /dimensions 4294967295 x 28 x 28 .* declare 3367254359280 bytes/],
      ["dims whose product passes 2^64", [big, big, big], "trainImages", 4, /declare 79228162458924105385300197375 bytes/],
      ["0 images of 4294967295 x 4294967295", [0, big, big], "trainImages", 8, /4294967295 rows: expected 1\.\.65535/],
    ];
    for (const [name, dims, key, offset, message] of hostile) {
      test(name, async () => {
        const f = good();
        f[key] = idx(dims, []);
        const { dir: d, path } = dir(f);
        await refused(loadIdxDataset(d), path[key], offset, message);
      });
    }
    test("labels claiming 4294967295 entries", async () => {
      const f = good();
      f.trainLabels = idx([big], [1, 2, 3]);
      const { dir: d, path } = dir(f);
      await refused(loadIdxDataset(d), path.trainLabels, 4, /declare 4294967295 bytes of labels/);
    });
  });

  test("a missing file is named, with both names looked for", async () => {
    const { dir: d, path } = dir(good());
    rmSync(path.testLabels);
    const err = await p(loadIdxDataset(d));
    assert.ok(err instanceof DatasetError);
    assert.equal(err.file, path.testLabels);
    assert.equal(err.offset, -1);
    assert.match(err.message, /missing \(looked for t10k-labels-idx1-ubyte and t10k-labels-idx1-ubyte\.gz/);
  });

  test("a missing directory", async () => {
    const err = await p(loadIdxDataset(join(root, "nowhere")));
    assert.ok(err instanceof DatasetError);
    assert.match(err.message, /nowhere.*missing/);
  });
});
