// Datasets: what a Trainer reads batches from.
import type { Split } from "./dataset.js";
import { digits } from "./digits.js";
import { fashionMnist, loadIdxDataset } from "./idx.js";

export {
  type Dataset, type Split, type SplitOptions, type BatchOptions,
  createDataset, subset, split, batches, batchCount, gather, sampleSize,
} from "./dataset.js";
export { DatasetError, type DatasetErrorOptions } from "./error.js";
export { permutation } from "./shuffle.js";
export { digits, allDigits, DIGITS_SEED } from "./digits.js";
export {
  parseIdx, readIdxSource, loadIdxPair, loadIdxDataset, fashionMnist,
  FASHION_MNIST_DIR, IDX_FILES, DEFAULT_MAX_BYTES,
  type IdxSource, type IdxArray, type IdxReadOptions, type IdxDatasetOptions,
} from "./idx.js";

/** The forms loadDataset accepts. */
export const DATASET_SPECS = ["digits", "fashion-mnist", "idx:DIR"] as const;

/**
 * "digits" (the bundled 10,000 MNIST digits, 8,000/2,000), "fashion-mnist" (Debian's
 * dataset-fashion-mnist, 60,000/10,000) or "idx:DIR" (an MNIST-layout directory of IDX files).
 */
export async function loadDataset(spec: string): Promise<Split> {
  if (spec === "digits") return digits();
  if (spec === "fashion-mnist") return fashionMnist();
  if (spec.startsWith("idx:") && spec.length > 4) return loadIdxDataset(spec.slice(4));
  throw new RangeError(
    `unknown dataset ${JSON.stringify(spec)}: expected one of ${DATASET_SPECS.map((s) => JSON.stringify(s)).join(", ")}`,
  );
}
