// The example's data, in the worker: the digits slice written by make-subset.mjs when the page is
// given one (?data=URL), else digit-like seven-segment glyphs drawn here (no file needed).
import { createDataset } from "../../dist/index.js";

/** Parses the "APTD" file of make-subset.mjs into a train/test Split (pixels to [0, 1]). */
export function parseSubset(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== "APTD") throw new Error(`not a digits subset (magic ${JSON.stringify(magic)}): run examples/browser/make-subset.mjs`);
  const height = view.getUint16(4, true), width = view.getUint16(6, true);
  const trainCount = view.getUint32(8, true), testCount = view.getUint32(12, true);
  const size = height * width;
  const labels = new Uint8Array(buffer, 16, trainCount + testCount);
  const pixels = new Uint8Array(buffer, 16 + trainCount + testCount, (trainCount + testCount) * size);
  const part = (name, from, count) => createDataset({
    name, count, height, width, channels: 1, classes: 10,
    labels: labels.slice(from, from + count),
    images: Float32Array.from(pixels.subarray(from * size, (from + count) * size), (b) => b / 255),
  });
  return { train: part("digits-14/train", 0, trainCount), test: part("digits-14/test", trainCount, testCount) };
}

//  aaa      Segments of each digit, as on a seven-segment display.
// f   b
//  ggg
// e   c
//  ddd
const SEGMENTS = ["abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg"];

/** `count` 14x14 seven-segment digits, randomly shifted, thickened and noised (seeded). */
export function sevenSegment(count, seed, name) {
  const H = 14, W = 14;
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const images = new Float32Array(count * H * W);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const digit = i % 10;
    labels[i] = digit;
    const img = images.subarray(i * H * W, (i + 1) * H * W);
    const ox = 3 + Math.floor(rand() * 3), oy = 1 + Math.floor(rand() * 3);
    const w = 5 + Math.floor(rand() * 2), h = 4 + Math.floor(rand() * 2);
    const ink = 0.6 + 0.4 * rand();
    const line = (x0, y0, x1, y1) => {
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
        if (x >= 0 && x < W && y >= 0 && y < H) img[y * W + x] = ink;
      }
    };
    for (const seg of SEGMENTS[digit]) {
      if (seg === "a") line(ox, oy, ox + w, oy);
      if (seg === "g") line(ox, oy + h, ox + w, oy + h);
      if (seg === "d") line(ox, oy + 2 * h, ox + w, oy + 2 * h);
      if (seg === "f") line(ox, oy, ox, oy + h);
      if (seg === "b") line(ox + w, oy, ox + w, oy + h);
      if (seg === "e") line(ox, oy + h, ox, oy + 2 * h);
      if (seg === "c") line(ox + w, oy + h, ox + w, oy + 2 * h);
    }
    for (let p = 0; p < H * W; p++) img[p] = Math.min(1, Math.max(0, img[p] + 0.25 * (rand() - 0.5)));
  }
  return createDataset({ name, count, height: H, width: W, channels: 1, classes: 10, images, labels });
}

/** The Split the page asked for: the file at `url`, or synthetic digits. */
export async function loadData(url) {
  if (!url) return { train: sevenSegment(600, 1, "seven-segment/train"), test: sevenSegment(200, 2, "seven-segment/test") };
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch ${url}: HTTP ${response.status} (run examples/browser/make-subset.mjs)`);
  return parseSubset(await response.arrayBuffer());
}
