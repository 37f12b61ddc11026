// IDX files (the format of MNIST and Fashion-MNIST): a 4-byte magic number 0x0000TTNN (TT the
// element type, NN the number of dimensions), NN big-endian uint32 dimensions, then the elements,
// row-major. Only unsigned-byte files (TT = 0x08) are read: images 0x00000803 (count, rows, cols)
// and labels 0x00000801 (count). Files may be raw or gzipped (recognised by the gzip magic bytes or a .gz name).
//
// Every length the header claims is checked against the bytes actually present before anything
// is allocated from it, so a hostile header costs an error, not a giant allocation.
//
// The node: modules are imported when first needed, not at load: this module sits in the import
// graph of train() (via src/data/index.ts), which also runs in browsers and workers.
import { createDataset, type Dataset, type Split } from "./dataset.js";
import { DatasetError } from "./error.js";

/** Where Debian's `dataset-fashion-mnist` package installs the four gzipped IDX files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** The four file names shared by MNIST and Fashion-MNIST, each looked for raw, then with .gz. */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** Default cap on a file's (decompressed) size: Fashion-MNIST's largest file is 47 MB. */
export const DEFAULT_MAX_BYTES = 1 << 30;

const UBYTE = 0x08;
/** Bound on rows and columns (as in createDataset), so a header of 0 images of 4e9 x 4e9 is refused too. */
const MAX_SIDE = 0xffff;
const IDX_TYPES: Record<number, string> = {
  0x08: "unsigned byte", 0x09: "signed byte", 0x0b: "int16", 0x0c: "int32", 0x0d: "float32", 0x0e: "float64",
};

/** The contents of one file and how to blame a position in it. */
export interface IdxSource {
  file: string;
  bytes: Uint8Array;
  /** True when `bytes` is the decompressed stream of a gzipped file. */
  decompressed: boolean;
}

/** A parsed unsigned-byte IDX array; `data` is a view into the source bytes. */
export interface IdxArray {
  dims: number[];
  /** Byte offset of the first element (4 + 4 * dims.length). */
  dataOffset: number;
  data: Uint8Array;
}

function fail(src: Pick<IdxSource, "file" | "decompressed">, offset: number, problem: string, cause?: unknown): DatasetError {
  const where = src.decompressed ? `byte offset ${offset} of the decompressed stream` : `byte offset ${offset}`;
  return new DatasetError(`${src.file}: ${problem} (at ${where})`, {
    file: src.file, offset, decompressed: src.decompressed, cause,
  });
}

function hex32(v: number): string {
  return "0x" + (v >>> 0).toString(16).padStart(8, "0");
}

function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Parses an unsigned-byte IDX array of `ndims` dimensions ("what" names it in messages:
 * "images", "labels"). Throws DatasetError for a short header, a wrong magic number, or a data
 * length other than the product of the dimensions (missing bytes or trailing ones).
 */
export function parseIdx(src: IdxSource, ndims: number, what: string): IdxArray {
  const b = src.bytes;
  const expected = (UBYTE << 8) | ndims;
  if (b.length < 4) {
    throw fail(src, b.length, `truncated: the file ends after ${b.length} bytes, inside the 4-byte IDX magic number`);
  }
  const magic = u32be(b, 0);
  if (magic !== expected) {
    const type = IDX_TYPES[b[2]];
    const detail =
      b[0] !== 0 || b[1] !== 0 ? "not an IDX file (its first two bytes must be zero)"
      : b[2] !== UBYTE ? `element type 0x${b[2].toString(16).padStart(2, "0")} (${type ?? "unknown"}) is not supported, only 0x08 (unsigned byte)`
      : `${b[3]} dimension(s), but IDX ${what} have ${ndims}`;
    throw fail(src, 0, `wrong magic number ${hex32(magic)} for ${what}, expected ${hex32(expected)}: ${detail}`);
  }
  const dataOffset = 4 + 4 * ndims;
  const dims: number[] = [];
  for (let k = 0; k < ndims; k++) {
    const o = 4 + 4 * k;
    if (b.length < o + 4) {
      throw fail(src, b.length, `truncated: the file ends after ${b.length} bytes, inside the header (dimension ${k} occupies bytes ${o}..${o + 3})`);
    }
    dims.push(u32be(b, o));
  }
  // BigInt: three uint32 dims can multiply past 2^53, where a float product would round.
  const declared = dims.reduce((p, d) => p * BigInt(d), 1n);
  const present = BigInt(b.length - dataOffset);
  const shape = dims.join(" x ");
  if (declared > present) {
    throw fail(
      src, b.length,
      `truncated: dimensions ${shape} (header bytes 4..${dataOffset - 1}) declare ${declared} bytes of ${what} ` +
        `from byte offset ${dataOffset}, but only ${b.length - dataOffset} are present (a cut file or a corrupt header)`,
    );
  }
  if (declared < present) {
    const end = dataOffset + Number(declared);
    throw fail(src, end, `${b.length - end} unexpected bytes after the ${declared} bytes of ${what} that dimensions ${shape} declare`);
  }
  return { dims, dataOffset, data: b.subarray(dataOffset, b.length) };
}

export interface IdxReadOptions {
  /** Refuse files whose (decompressed) size exceeds this many bytes. Default 1 GiB. */
  maxBytes?: number;
}

async function gunzip(file: string, compressed: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const { createGunzip } = await import("node:zlib");
  return new Promise((resolve, reject) => {
    const z = createGunzip({ chunkSize: 1 << 20 });
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const src = { file, decompressed: true };
    z.on("data", (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (total > maxBytes) {
        // A gzip bomb stops here, before it is all in memory.
        settled = true;
        z.destroy();
        reject(fail(src, maxBytes, `decompresses to more than maxBytes = ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    z.on("error", (e: Error) => {
      if (settled) return;
      settled = true;
      reject(fail(src, total, `gzip stream is truncated or corrupt (zlib: ${e.message}); decompression stopped after ${total} bytes`, e));
    });
    z.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, total));
    });
    z.end(compressed);
  });
}

/** Reads a raw or gzipped file into an IdxSource (its bytes decompressed). */
export async function readIdxSource(file: string, options: IdxReadOptions = {}): Promise<IdxSource> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let bytes: Uint8Array;
  const { readFile, stat } = await import("node:fs/promises");
  try {
    const size = (await stat(file)).size;
    if (size > maxBytes) {
      throw fail({ file, decompressed: false }, maxBytes, `the file is ${size} bytes, more than maxBytes = ${maxBytes}`);
    }
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(`${file}: cannot read (${code ?? (e as Error).message})`, { file, offset: -1, cause: e });
  }
  // The gzip magic, or the name for a file too short to show it (so a cut .gz still reports as gzip).
  if ((bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) || file.endsWith(".gz")) {
    return { file, bytes: await gunzip(file, bytes, maxBytes), decompressed: true };
  }
  return { file, bytes, decompressed: false };
}

/** pixel byte -> [0, 1], exactly as Float32(b / 255). */
const UNIT = Float32Array.from({ length: 256 }, (_, b) => b / 255);

export interface IdxDatasetOptions extends IdxReadOptions {
  /** Dataset name (default: the directory's base name); parts are named `<name>/train`, `<name>/test`. */
  name?: string;
  /** Labels must be below this. Default 10. */
  classes?: number;
  /** Required image height / width; default: whatever the files say, the same for train and test. */
  height?: number;
  width?: number;
}

/**
 * One images file and one labels file -> a Dataset. Checks: image dims (count, rows > 0,
 * cols > 0, and height / width when given), labels < classes, and equal counts.
 */
export async function loadIdxPair(imagesFile: string, labelsFile: string, name: string, options: IdxDatasetOptions = {}): Promise<Dataset> {
  const classes = options.classes ?? 10;
  const [imgSrc, lblSrc] = await Promise.all([readIdxSource(imagesFile, options), readIdxSource(labelsFile, options)]);
  const img = parseIdx(imgSrc, 3, "images");
  const lbl = parseIdx(lblSrc, 1, "labels");
  const [count, height, width] = img.dims;
  for (const [side, value, offset] of [["rows", height, 8], ["columns", width, 12]] as const) {
    if (value === 0 || value > MAX_SIDE) {
      throw fail(imgSrc, offset, `images have ${value} ${side}: expected 1..${MAX_SIDE}`);
    }
  }
  if (options.height !== undefined && height !== options.height) {
    throw fail(imgSrc, 8, `images have ${height} rows, expected ${options.height}`);
  }
  if (options.width !== undefined && width !== options.width) {
    throw fail(imgSrc, 12, `images have ${width} columns, expected ${options.width}`);
  }
  if (lbl.dims[0] !== count) {
    throw fail(lblSrc, 4, `holds ${lbl.dims[0]} labels but ${imagesFile} holds ${count} images (count mismatch)`);
  }
  for (let i = 0; i < count; i++) {
    if (lbl.data[i] >= classes) {
      throw fail(lblSrc, lbl.dataOffset + i, `label ${lbl.data[i]} of sample ${i} is out of range 0..${classes - 1}`);
    }
  }
  const images = new Float32Array(img.data.length);
  const px = img.data;
  for (let i = 0; i < px.length; i++) images[i] = UNIT[px[i]];
  return createDataset({
    name, count, height, width, channels: 1, classes, images, labels: Uint8Array.from(lbl.data),
  });
}

async function exists(file: string): Promise<boolean> {
  const { stat } = await import("node:fs/promises");
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** `dir/<base>` if present, else `dir/<base>.gz`, else DatasetError. */
async function findIdxFile(dir: string, base: string): Promise<string> {
  const { join } = await import("node:path");
  const raw = join(dir, base);
  if (await exists(raw)) return raw;
  if (await exists(raw + ".gz")) return raw + ".gz";
  throw new DatasetError(`${raw}: missing (looked for ${base} and ${base}.gz in ${dir})`, { file: raw, offset: -1 });
}

/**
 * The MNIST-layout directory `dir` (train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or .gz) -> {train, test}.
 */
export async function loadIdxDataset(dir: string, options: IdxDatasetOptions = {}): Promise<Split> {
  const { basename } = await import("node:path");
  const name = options.name ?? basename(dir);
  const [trI, trL, teI, teL] = await Promise.all(
    [IDX_FILES.trainImages, IDX_FILES.trainLabels, IDX_FILES.testImages, IDX_FILES.testLabels].map((f) => findIdxFile(dir, f)),
  );
  const train = await loadIdxPair(trI, trL, `${name}/train`, options);
  // The test images must have the train images' shape, or a model trained on one cannot read the other.
  const test = await loadIdxPair(teI, teL, `${name}/test`, {
    ...options, height: options.height ?? train.height, width: options.width ?? train.width,
  });
  return { train, test };
}

/**
 * Fashion-MNIST (60,000 train / 10,000 test, 28 x 28, 10 classes) from `dir`, by default where
 * Debian's `dataset-fashion-mnist` package puts it.
 */
export async function fashionMnist(dir: string = FASHION_MNIST_DIR, options: IdxReadOptions = {}): Promise<Split> {
  const { stat } = await import("node:fs/promises");
  try {
    await stat(dir);
  } catch (e) {
    throw new DatasetError(
      `${dir}: Fashion-MNIST not found; install the Debian package dataset-fashion-mnist ` +
        `(apt-get install dataset-fashion-mnist) or give the directory holding its IDX files`,
      { file: dir, offset: -1, cause: e },
    );
  }
  return loadIdxDataset(dir, { ...options, name: "fashion-mnist", classes: 10, height: 28, width: 28 });
}
