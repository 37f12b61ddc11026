// The in-memory form of a labelled image dataset, and the deterministic ways of cutting it:
// split into train/test, and shuffled mini-batches per (seed, epoch).
import { DOMAIN_BATCHES, DOMAIN_SPLIT, SplitMix32, checkU32, permutation } from "./shuffle.js";

/**
 * `count` images of `height x width x channels` pixels, sample-major, row-major inside a sample,
 * channels innermost (HWC), values in [0, 1]; `labels[i]` in 0..classes-1. Float because input
 * data is one of the edges where float appears (docs/architecture.md, "The number format"); the trainer quantizes a batch
 * at a time.
 */
export interface Dataset {
  readonly name: string;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classes: number;
  readonly images: Float32Array;
  readonly labels: Uint8Array;
}

export interface Split {
  readonly train: Dataset;
  readonly test: Dataset;
}

/** Pixels per sample. */
export function sampleSize(ds: Pick<Dataset, "height" | "width" | "channels">): number {
  return ds.height * ds.width * ds.channels;
}

function checkPositive(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${what} must be an integer in 1..${max}, got ${value}`);
  }
}

/**
 * Checks that the arrays agree with the shape and the labels with `classes`, and returns the
 * dataset. Pixel values are not scanned (that is the loaders' job, where a bad value can be
 * blamed on a file).
 */
export function createDataset(ds: Dataset): Dataset {
  const { name } = ds;
  checkPositive(`${name}: height`, ds.height, 0xffff);
  checkPositive(`${name}: width`, ds.width, 0xffff);
  checkPositive(`${name}: channels`, ds.channels, 0xffff);
  // Labels are bytes.
  checkPositive(`${name}: classes`, ds.classes, 256);
  if (!Number.isInteger(ds.count) || ds.count < 0) {
    throw new RangeError(`${name}: count must be a non-negative integer, got ${ds.count}`);
  }
  const size = sampleSize(ds);
  if (ds.images.length !== ds.count * size) {
    throw new RangeError(
      `${name}: images has ${ds.images.length} values, expected count*height*width*channels = ` +
        `${ds.count}*${ds.height}*${ds.width}*${ds.channels} = ${ds.count * size}`,
    );
  }
  if (ds.labels.length !== ds.count) {
    throw new RangeError(`${name}: labels has ${ds.labels.length} entries, expected count = ${ds.count}`);
  }
  for (let i = 0; i < ds.count; i++) {
    if (ds.labels[i] >= ds.classes) {
      throw new RangeError(`${name}: label ${ds.labels[i]} of sample ${i} is not in 0..${ds.classes - 1}`);
    }
  }
  return ds;
}

/** A copy holding the samples `indices`, in that order. */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const { images, labels } = gather(ds, indices);
  return { ...shapeOf(ds), name, count: indices.length, images, labels };
}

function shapeOf(ds: Dataset) {
  return { height: ds.height, width: ds.width, channels: ds.channels, classes: ds.classes };
}

export interface SplitOptions {
  /**
   * Keep each class's share the same in train and test: every class gives the test set
   * round(testCount * classCount / count) samples, the rounding settled by largest remainder
   * (ties to the lower class) so the sizes are exact. Default false: one seeded shuffle of all
   * samples, the first `trainCount` train.
   */
  stratified?: boolean;
}

/**
 * Deterministic train/test split into copies named `<name>/train` and `<name>/test`. Which
 * samples land where, and their order inside each part (shuffled, so a part read front to back
 * is not sorted by class), depends only on (dataset, trainCount, seed, stratified).
 */
export function split(ds: Dataset, trainCount: number, seed: number, options: SplitOptions = {}): Split {
  if (!Number.isInteger(trainCount) || trainCount < 0 || trainCount > ds.count) {
    throw new RangeError(`${ds.name}: trainCount must be an integer in 0..${ds.count}, got ${trainCount}`);
  }
  checkU32("seed", seed);
  const rng = new SplitMix32(seed, 0, DOMAIN_SPLIT);
  let trainIdx: Uint32Array;
  let testIdx: Uint32Array;
  if (!options.stratified) {
    const order = rng.shuffle(identity(ds.count));
    trainIdx = order.slice(0, trainCount);
    testIdx = order.slice(trainCount);
  } else {
    [trainIdx, testIdx] = stratifiedIndices(ds, ds.count - trainCount, rng);
    rng.shuffle(trainIdx);
    rng.shuffle(testIdx);
  }
  return {
    train: subset(ds, trainIdx, `${ds.name}/train`),
    test: subset(ds, testIdx, `${ds.name}/test`),
  };
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

function stratifiedIndices(ds: Dataset, testCount: number, rng: SplitMix32): [Uint32Array, Uint32Array] {
  const byClass: number[][] = Array.from({ length: ds.classes }, () => []);
  for (let i = 0; i < ds.count; i++) byClass[ds.labels[i]].push(i);
  // Largest-remainder apportionment of testCount over the classes.
  const quota = byClass.map((members) => Math.floor((testCount * members.length) / Math.max(ds.count, 1)));
  let left = testCount - quota.reduce((a, b) => a + b, 0);
  const rank = byClass
    .map((members, c) => ({ c, rem: testCount * members.length - quota[c] * ds.count }))
    .sort((a, b) => b.rem - a.rem || a.c - b.c);
  for (const { c } of rank) {
    if (left === 0) break;
    if (quota[c] < byClass[c].length) {
      quota[c]++;
      left--;
    }
  }
  const train = new Uint32Array(ds.count - testCount);
  const test = new Uint32Array(testCount);
  let tr = 0;
  let te = 0;
  for (let c = 0; c < ds.classes; c++) {
    const members = rng.shuffle(Uint32Array.from(byClass[c]));
    for (let k = 0; k < members.length; k++) {
      if (k < quota[c]) test[te++] = members[k];
      else train[tr++] = members[k];
    }
  }
  return [train, test];
}

export interface BatchOptions {
  /** Drop the last batch when it is smaller than batchSize. Default false: keep it. */
  dropLast?: boolean;
}

/**
 * The mini-batches of one epoch: sample indices in an order fixed by (seed, epoch) alone,
 * different for every epoch, each index exactly once (or, with dropLast, all but the last
 * count % batchSize). Each batch is a view into one Uint32Array owned by this call; copy it to
 * keep it past the loop.
 */
export function* batches(
  ds: Pick<Dataset, "count">,
  batchSize: number,
  seed: number,
  epoch: number,
  options: BatchOptions = {},
): Generator<Uint32Array, void, undefined> {
  checkPositive("batchSize", batchSize, 0xffffffff);
  checkU32("seed", seed);
  checkU32("epoch", epoch);
  const order = permutation(ds.count, seed, epoch, DOMAIN_BATCHES);
  const end = options.dropLast ? ds.count - (ds.count % batchSize) : ds.count;
  for (let start = 0; start < end; start += batchSize) {
    yield order.subarray(start, Math.min(start + batchSize, end));
  }
}

/** Number of batches `batches` yields. */
export function batchCount(ds: Pick<Dataset, "count">, batchSize: number, options: BatchOptions = {}): number {
  checkPositive("batchSize", batchSize, 0xffffffff);
  return options.dropLast ? Math.floor(ds.count / batchSize) : Math.ceil(ds.count / batchSize);
}

/**
 * Copies the samples `indices` into `images` / `labels` (the first indices.length samples of
 * each), e.g. a trainer's input buffers, and returns them; allocates only when they are omitted.
 */
export function gather(
  ds: Dataset,
  indices: ArrayLike<number>,
  images: Float32Array = new Float32Array(indices.length * sampleSize(ds)),
  labels: Uint8Array = new Uint8Array(indices.length),
): { images: Float32Array; labels: Uint8Array } {
  const size = sampleSize(ds);
  if (images.length < indices.length * size || labels.length < indices.length) {
    throw new RangeError(
      `${ds.name}: gather of ${indices.length} samples needs images >= ${indices.length * size} ` +
        `and labels >= ${indices.length}, got ${images.length} and ${labels.length}`,
    );
  }
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
      throw new RangeError(`${ds.name}: sample index ${i} (position ${k}) is not in 0..${ds.count - 1}`);
    }
    images.set(ds.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = ds.labels[i];
  }
  return { images, labels };
}
