// IDX files (the format of MNIST and Fashion-MNIST): a 4-byte magic number 0x0000TTNN (TT the
// element type, NN the number of dimensions), NN big-endian uint32 dimensions, then the elements,
// row-major. Only unsigned-byte files (TT = 0x08) are read: images 0x00000803 (count, rows, cols)
// and labels 0x00000801 (count). Files may be raw or gzipped (recognised by the gzip magic bytes or a .gz name).
//
// Reads are bounded before they happen (docs/reliability.md, "Bounded reads"): a file must be a
// regular file or a pipe of at most maxBytes; the header's dimensions are checked (against the
// shape and count the caller expects, and their product against maxBytes) as soon as the header is
// in, before the body is read or decompressed; decompression stops at the length the header
// declares. Every length the header claims is checked against the bytes actually present, so a
// hostile header costs an error, not a giant allocation.
//
// The node: modules are imported when first needed, not at load: this module sits in the import
// graph of train() (via src/data/index.ts), which also runs in browsers and workers.
import { createDataset, type Dataset, type Split } from "./dataset.js";
import { DatasetError } from "./error.js";
import { readUserFile } from "../io/read.js";
import { InputFileError } from "../io/errors.js";
import { nodeFs, nodePath, nodeZlib } from "../runtime/files.js";

/** Where Debian's `dataset-fashion-mnist` package installs the four gzipped IDX files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** The four file names shared by MNIST and Fashion-MNIST, each looked for raw, then with .gz. */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** Default cap on a file's (decompressed) size: 64 MiB, 1.4 times Fashion-MNIST's largest file
 *  (47 MB). The images of a file at the cap take 256 MiB as the Float32Array a Dataset holds. */
export const DEFAULT_MAX_BYTES = 64 * 2 ** 20;

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

/** Refuses a file whose 4-byte magic number is not that of unsigned-byte `ndims`-dimensional IDX. */
function checkMagic(src: Pick<IdxSource, "file" | "decompressed">, b: Uint8Array, ndims: number, what: string): void {
  const expected = (UBYTE << 8) | ndims;
  const magic = u32be(b, 0);
  if (magic !== expected) {
    const type = IDX_TYPES[b[2]];
    const detail =
      b[0] !== 0 || b[1] !== 0 ? "not an IDX file (its first two bytes must be zero)"
      : b[2] !== UBYTE ? `element type 0x${b[2].toString(16).padStart(2, "0")} (${type ?? "unknown"}) is not supported, only 0x08 (unsigned byte)`
      : `${b[3]} dimension(s), but IDX ${what} have ${ndims}`;
    throw fail(src, 0, `wrong magic number ${hex32(magic)} for ${what}, expected ${hex32(expected)}: ${detail}`);
  }
}

/**
 * Parses an unsigned-byte IDX array of `ndims` dimensions ("what" names it in messages:
 * "images", "labels"). Throws DatasetError for a short header, a wrong magic number, or a data
 * length other than the product of the dimensions (missing bytes or trailing ones).
 */
export function parseIdx(src: IdxSource, ndims: number, what: string): IdxArray {
  const b = src.bytes;
  if (b.length < 4) {
    throw fail(src, b.length, `truncated: the file ends after ${b.length} bytes, inside the 4-byte IDX magic number`);
  }
  checkMagic(src, b, ndims, what);
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
  /** Refuse files whose (decompressed) size exceeds this many bytes. Default DEFAULT_MAX_BYTES. */
  maxBytes?: number;
}

/** What a reader expects of a file's header, checked before its body is read. */
export interface IdxExpectation {
  /** Dimensions of the array (3 for images, 1 for labels) and what it is, for messages. */
  ndims: number;
  what: string;
  /** Called with the header's dimensions as soon as they are in: throw to refuse the file. */
  check?: (dims: number[], src: Pick<IdxSource, "file" | "decompressed">) => void;
}

/** The header's dimensions, the data bytes they declare and the file's total length, or undefined
 *  when `head` is not (yet) a whole unsigned-byte header of `ndims` dimensions (parseIdx then says
 *  what is wrong). */
function declaredLength(head: Uint8Array, ndims: number): { dims: number[]; data: bigint; length: number } | undefined {
  const headerBytes = 4 + 4 * ndims;
  if (head.length < headerBytes || u32be(head, 0) !== ((UBYTE << 8) | ndims)) return undefined;
  const dims = Array.from({ length: ndims }, (_, k) => u32be(head, 4 + 4 * k));
  // BigInt: three uint32 dims can multiply past 2^53, where a float product would round.
  const data = dims.reduce((p, d) => p * BigInt(d), 1n);
  const length = data + BigInt(headerBytes);
  return { dims, data, length: length > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(length) };
}

function checkHeader(head: Uint8Array, src: Pick<IdxSource, "file" | "decompressed">, maxBytes: number, expect?: IdxExpectation): number | undefined {
  if (!expect) return undefined;
  // A stream of anything else (zeros from a pipe) is refused at its first 4 bytes.
  if (head.length >= 4) checkMagic(src, head, expect.ndims, expect.what);
  const d = declaredLength(head, expect.ndims);
  if (!d) return undefined;
  if (d.length > maxBytes) {
    const headerBytes = 4 + 4 * expect.ndims;
    throw fail(src, 4, `dimensions ${d.dims.join(" x ")} (header bytes 4..${headerBytes - 1}) declare ${d.data} bytes of ${expect.what}, ` +
      `a ${d.length === Number.MAX_SAFE_INTEGER ? "file over 2^53" : `${d.length}-byte file`}: more than maxBytes = ${maxBytes} (refused before reading it)`);
  }
  expect.check?.(d.dims, src);
  return d.length;
}

/** Decompresses a gzip stream into one buffer, stopping at maxBytes and, once the IDX header is
 *  in, at the length it declares (a stream that goes on past it is refused there). */
async function gunzip(file: string, compressed: Uint8Array, maxBytes: number, expect?: IdxExpectation): Promise<Uint8Array> {
  const { createGunzip } = await nodeZlib();
  const src = { file, decompressed: true };
  const headerBytes = expect ? 4 + 4 * expect.ndims : 0;
  return new Promise((resolve, reject) => {
    const z = createGunzip({ chunkSize: 1 << 16 });
    let chunks: Uint8Array[] = [];
    let out: Uint8Array | null = null;
    let total = 0;
    let cap = maxBytes;
    let declared: number | undefined;
    let settled = false;
    // Bytes past the declared length are counted (up to a bound), not kept, so the message can
    // say how many there are, as parseIdx does for a raw file.
    let excess = 0;
    const MAX_EXCESS = 1 << 20;
    const stop = (e: unknown) => {
      settled = true;
      z.destroy();
      chunks = [];
      out = null;
      reject(e);
    };
    const tooLong = (more: boolean) => fail(src, declared!,
      `${more ? "more than " : ""}${excess} unexpected bytes after the ${declared! - headerBytes} bytes of ${expect!.what} that the header's dimensions declare`);
    z.on("data", (chunk: Buffer) => {
      if (settled) return;
      if (excess > 0 || (declared !== undefined && total + chunk.length > declared)) {
        const room = excess > 0 ? 0 : declared! - total;
        if (out && room > 0) out.set(chunk.subarray(0, room), total);
        total += room;
        excess += chunk.length - room;
        if (excess > MAX_EXCESS) return stop(tooLong(true));
        return;
      }
      if (total + chunk.length > cap) {
        // A gzip bomb stops here.
        return stop(fail(src, maxBytes, `decompresses to more than maxBytes = ${maxBytes} bytes`));
      }
      if (out) out.set(chunk, total);
      else chunks.push(chunk);
      total += chunk.length;
      if (!out && declared === undefined && expect && total >= headerBytes) {
        const head = concatChunks(chunks, total);
        try {
          declared = checkHeader(head, src, maxBytes, expect);
        } catch (e) {
          return stop(e);
        }
        if (declared !== undefined) {
          cap = declared;
          // One buffer of the declared length (at most maxBytes): pages the stream never reaches
          // are never touched, and nothing is copied twice.
          out = new Uint8Array(declared);
          out.set(head.subarray(0, Math.min(total, declared)));
          chunks = [];
          if (total > declared) {
            excess = total - declared;
            total = declared;
          }
        }
      }
    });
    z.on("error", (e: Error) => {
      if (settled) return;
      stop(fail(src, total, `gzip stream is truncated or corrupt (zlib: ${e.message}); decompression stopped after ${total} bytes`, e));
    });
    z.on("end", () => {
      if (settled) return;
      if (excess > 0) return stop(tooLong(false));
      settled = true;
      // A stream cut short keeps its length: parseIdx reports the truncation.
      resolve(out ? (total === out.length ? out : out.slice(0, total)) : concatChunks(chunks, total));
    });
    z.end(compressed);
  });
}

/** The chunks of a stream as one array of `total` bytes. */
export function concatChunks(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Reads a raw or gzipped file into an IdxSource (its bytes decompressed). The file must be a
 * regular file or a pipe of at most maxBytes, and its (decompressed) contents at most maxBytes;
 * given `expect`, the header's dimensions are checked before the body is read or decompressed.
 * Every refusal is a DatasetError naming the file.
 */
export async function readIdxSource(file: string, options: IdxReadOptions = {}, expect?: IdxExpectation): Promise<IdxSource> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const gzName = file.endsWith(".gz");
  let bytes: Uint8Array;
  try {
    bytes = await readUserFile(file, {
      what: "IDX file", maxBytes,
      // A raw file's header is checked before its body is read; a gzipped one's as it decompresses.
      declared: {
        headerBytes: expect ? 4 + 4 * expect.ndims : 4,
        length: (head) => (gzName || (head[0] === 0x1f && head[1] === 0x8b) ? undefined : checkHeader(head, { file, decompressed: false }, maxBytes, expect)),
      },
    });
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    if (e instanceof InputFileError) {
      const offset = e.problem === "too-large" ? maxBytes : -1;
      throw new DatasetError(`${file}: ${e.detail}${offset >= 0 ? ` (at byte offset ${offset})` : ""}`, { file, offset, cause: e });
    }
    throw new DatasetError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file, offset: -1, cause: e });
  }
  // The gzip magic, or the name for a file too short to show it (so a cut .gz still reports as gzip).
  if ((bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) || gzName) {
    return { file, bytes: await gunzip(file, bytes, maxBytes, expect), decompressed: true };
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
  // Labels first (the small file): the images' header must then agree with their count before
  // the images' body is read.
  const lblSrc = await readIdxSource(labelsFile, options, { ndims: 1, what: "labels" });
  const lbl = parseIdx(lblSrc, 1, "labels");
  const checkImages = ([count, height, width]: number[], src: Pick<IdxSource, "file" | "decompressed">) => {
    for (const [side, value, offset] of [["rows", height, 8], ["columns", width, 12]] as const) {
      if (value === 0 || value > MAX_SIDE) {
        throw fail(src, offset, `images have ${value} ${side}: expected 1..${MAX_SIDE}`);
      }
    }
    if (options.height !== undefined && height !== options.height) {
      throw fail(src, 8, `images have ${height} rows, expected ${options.height}`);
    }
    if (options.width !== undefined && width !== options.width) {
      throw fail(src, 12, `images have ${width} columns, expected ${options.width}`);
    }
    if (lbl.dims[0] !== count) {
      throw fail(lblSrc, 4, `holds ${lbl.dims[0]} labels but ${imagesFile} holds ${count} images (count mismatch)`);
    }
  };
  const imgSrc = await readIdxSource(imagesFile, options, { ndims: 3, what: "images", check: checkImages });
  const img = parseIdx(imgSrc, 3, "images");
  checkImages(img.dims, imgSrc);
  const [count, height, width] = img.dims;
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

/** Whether anything is at `file`: what it is (a directory, a device) the reader then judges and names. */
async function exists(file: string): Promise<boolean> {
  const { lstat } = await nodeFs();
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** `dir/<base>` if present, else `dir/<base>.gz`, else DatasetError. */
async function findIdxFile(dir: string, base: string): Promise<string> {
  const { join } = await nodePath();
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
  const { basename } = await nodePath();
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
  const { stat } = await nodeFs();
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
