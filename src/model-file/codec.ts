// The model file (docs/model-file.md): bytes <-> ModelFile. Decoding trusts nothing: every read is
// preceded by a bounds check against the buffer, every length is checked against what the fields
// before it imply before anything is sliced, and nothing is allocated from a length field (only a
// copy of the input and what is decoded from it). Every refusal is a ModelFileError naming the
// field and the byte offset.
import { packedByteLength, rowStrideBytes, MIN_BITS, MAX_BITS } from "../format/packed.js";
import { BIAS_BITS, BIAS_EXP } from "../nn/layers/linear.js";
import type { ModelDefinition } from "../nn/model.js";
import type { Rounding } from "../runtime/descriptors.js";
import { checkDefinition, checkKeys, DEFINITION_LIMITS, type WeightedShape } from "./definition.js";

/** "APTKITM\0" */
export const MAGIC: readonly number[] = [0x41, 0x50, 0x54, 0x4b, 0x49, 0x54, 0x4d, 0x00];
export const FORMAT_VERSION = 1;
/** Checksum algorithm 1: SHA-256 of every byte before the checksum. */
export const CHECKSUM_SHA256 = 1;
export const CHECKSUM_BYTES = 32;
export const HEADER_BYTES = 32;
/** Fixed part of a layer record, before its name. */
export const RECORD_BYTES = 28;

/** Byte offsets of the header fields (docs/model-file.md). */
export const HEADER = {
  magic: 0, version: 8, checksumKind: 10, headerLength: 12, fileLength: 16, definitionLength: 20, layerCount: 24, reserved: 28,
} as const;

/** Byte offsets inside a layer record, from the record's start. */
export const RECORD = {
  nameLength: 0, bits: 2, biasBits: 3, rows: 4, cols: 8, exp: 12, biasExp: 16, weightLength: 20, biasLength: 24, name: 28,
} as const;

export const LIMITS = {
  ...DEFINITION_LIMITS,
  /** Bytes of the definition section (UTF-8 JSON). */
  definitionBytes: 1 << 20,
  /** Bytes of a layer name in a record. */
  nameBytes: 1024,
  /** Exponents of weights and biases: well inside the float64 range, so value = q*2^exp is exact. */
  minExp: -960,
  maxExp: 960,
} as const;

/** A refusal to read a model file: `field` names what was wrong, `offset` where (bytes from the
 *  start of the file). */
export class ModelFileError extends Error {
  override readonly name = "ModelFileError";
  readonly code = "APTKIT_MODEL_FILE";
  constructor(readonly field: string, readonly offset: number, detail: string) {
    super(`model file: ${field} at byte ${offset}: ${detail}`);
  }
}

/** One weighted layer's parameters: W (rows x cols packed at `bits`, value = q*2^exp) and its bias
 *  (1 x rows packed at `biasBits`, value = q*2^biasExp). */
export interface LayerRecord {
  name: string;
  rows: number;
  cols: number;
  bits: number;
  exp: number;
  biasBits: number;
  biasExp: number;
  /** Exactly rows * rowStrideBytes(cols, bits) bytes, padding bits zero. */
  weights: Uint8Array;
  /** Exactly packedByteLength(1, rows, biasBits) bytes, padding bits zero. */
  bias: Uint8Array;
}

/** What the definition section holds besides the definition: how the saved model computed, so a
 *  loaded one computes the same codes. */
export interface ModelSettings {
  /** Activation width of every layer output (and of the quantized input). */
  actBits: number;
  /** Rounding of the forward requantization (and of average pooling). */
  rounding: Rounding;
  /** The engine's PRNG seed and step counter: stochastic rounding draws from (seed, step, stream,
   *  element), so these make a loaded model's outputs those of the saved one. */
  seed: number;
  step: number;
  /** The batch the model was trained at. Exponents are chosen per batch, so logits are the saved
   *  model's exactly when the loaded one predicts in chunks of this batch. */
  batch: number;
}

export interface ModelFile extends ModelSettings {
  definition: ModelDefinition;
  /** The weighted layers (conv2d, dense) in definition order. */
  layers: LayerRecord[];
}

const SETTINGS_KEYS = ["model", "actBits", "rounding", "seed", "step", "batch"] as const;

export const align4 = (n: number): number => Math.ceil(n / 4) * 4;

export async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// ---- codes --------------------------------------------------------------------------------------

/** The first element of a packed matrix that a valid file cannot hold: the most negative pattern
 *  -2^(bits-1) (symmetric codes never use it), or a set padding bit. `byte` is relative to `at`. */
export function findInvalidCode(
  bytes: Uint8Array, at: number, rows: number, cols: number, bits: number,
): { row: number; col: number; byte: number; kind: "code" | "padding" } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stride = rowStrideBytes(cols, bits);
  const words = stride / 4;
  const mask = (1 << bits) - 1;
  const mostNegative = 1 << (bits - 1);
  const used = cols * bits;
  const lastWord = (used - 1) >>> 5, tail = used & 31;
  for (let r = 0; r < rows; r++) {
    const row = at + r * stride;
    for (let j = 0; j < cols; j++) {
      const p = j * bits, w = p >>> 5, s = p & 31;
      let v = view.getUint32(row + 4 * w, true) >>> s;
      // bits <= 16, so s + bits > 32 only when s > 16: the shift below is in 16..31.
      if (s + bits > 32) v |= view.getUint32(row + 4 * (w + 1), true) << (32 - s);
      if ((v & mask) === mostNegative) return { row: r, col: j, byte: r * stride + (p >>> 3), kind: "code" };
    }
    if (tail !== 0 && view.getUint32(row + 4 * lastWord, true) >>> tail !== 0) {
      return { row: r, col: cols, byte: r * stride + 4 * lastWord, kind: "padding" };
    }
    for (let k = lastWord + 1; k < words; k++) {
      if (view.getUint32(row + 4 * k, true) !== 0) return { row: r, col: cols, byte: r * stride + 4 * k, kind: "padding" };
    }
  }
  return null;
}

/** Zeroes the padding bits of a packed matrix in place (the canonical form a file stores). */
export function clearPadding(bytes: Uint8Array, rows: number, cols: number, bits: number): void {
  const stride = rowStrideBytes(cols, bits);
  const used = cols * bits;
  for (let r = 0; r < rows; r++) {
    for (let b = used >>> 3; b < stride; b++) {
      const keep = b === used >>> 3 ? (1 << (used & 7)) - 1 : 0;
      bytes[r * stride + b] &= keep;
    }
  }
}

// ---- writing ------------------------------------------------------------------------------------

/**
 * Lays out a ModelFile as bytes, fields as given (no checks beyond what the field widths can hold:
 * decodeModelFile is the judge; saveModel runs it on every file it writes). Lengths come from the
 * byte arrays, so a test can write a record whose fields and payload disagree only by patching.
 */
export async function encodeModelFile(file: ModelFile): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify({
    model: file.definition, actBits: file.actBits, rounding: file.rounding, seed: file.seed, step: file.step, batch: file.batch,
  }));
  const records = file.layers.map((l) => ({ l, name: new TextEncoder().encode(l.name) }));
  let size = HEADER_BYTES + align4(json.length);
  for (const { l, name } of records) size += RECORD_BYTES + align4(name.length) + l.weights.length + l.bias.length;
  size += CHECKSUM_BYTES;
  const fits = (v: number, max: number, what: string) => {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`encodeModelFile: ${what} = ${v} does not fit its field (0..${max})`);
  };
  const fitsI32 = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`encodeModelFile: ${what} = ${v} does not fit an i32`);
  };
  fits(size, 0xffffffff, "file length");
  fits(file.layers.length, 0xffffffff, "layer count");
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, HEADER.magic);
  view.setUint16(HEADER.version, FORMAT_VERSION, true);
  view.setUint16(HEADER.checksumKind, CHECKSUM_SHA256, true);
  view.setUint32(HEADER.headerLength, HEADER_BYTES, true);
  view.setUint32(HEADER.fileLength, size, true);
  view.setUint32(HEADER.definitionLength, json.length, true);
  view.setUint32(HEADER.layerCount, file.layers.length, true);
  out.set(json, HEADER_BYTES);
  let at = HEADER_BYTES + align4(json.length);
  records.forEach(({ l, name }, i) => {
    const what = (f: string) => `layers[${i}].${f}`;
    fits(name.length, 0xffff, what("name length"));
    fits(l.bits, 0xff, what("bits"));
    fits(l.biasBits, 0xff, what("biasBits"));
    fits(l.rows, 0xffffffff, what("rows"));
    fits(l.cols, 0xffffffff, what("cols"));
    fitsI32(l.exp, what("exp"));
    fitsI32(l.biasExp, what("biasExp"));
    view.setUint16(at + RECORD.nameLength, name.length, true);
    view.setUint8(at + RECORD.bits, l.bits);
    view.setUint8(at + RECORD.biasBits, l.biasBits);
    view.setUint32(at + RECORD.rows, l.rows, true);
    view.setUint32(at + RECORD.cols, l.cols, true);
    view.setInt32(at + RECORD.exp, l.exp, true);
    view.setInt32(at + RECORD.biasExp, l.biasExp, true);
    view.setUint32(at + RECORD.weightLength, l.weights.length, true);
    view.setUint32(at + RECORD.biasLength, l.bias.length, true);
    out.set(name, at + RECORD.name);
    at += RECORD_BYTES + align4(name.length);
    out.set(l.weights, at);
    at += l.weights.length;
    out.set(l.bias, at);
    at += l.bias.length;
  });
  out.set(await sha256(out.subarray(0, at)), at);
  return out;
}

// ---- reading ------------------------------------------------------------------------------------

/** Bounds-checked little-endian reads: `need` before every access, against `end`. */
class Reader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array<ArrayBuffer>, public end: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(at: number, n: number, field: string): void {
    if (at + n > this.end) {
      throw new ModelFileError(field, at, `needs ${n} byte${n === 1 ? "" : "s"} (to byte ${at + n}), but ${this.end === this.bytes.length ? "the file ends" : "the checksum starts"} at byte ${this.end}`);
    }
  }
  u8(at: number, field: string): number { this.need(at, 1, field); return this.view.getUint8(at); }
  u16(at: number, field: string): number { this.need(at, 2, field); return this.view.getUint16(at, true); }
  u32(at: number, field: string): number { this.need(at, 4, field); return this.view.getUint32(at, true); }
  i32(at: number, field: string): number { this.need(at, 4, field); return this.view.getInt32(at, true); }
  /** Zero bytes in [from, to) (alignment padding). */
  zeros(from: number, to: number, field: string): void {
    this.need(from, to - from, field);
    for (let i = from; i < to; i++) {
      if (this.bytes[i] !== 0) throw new ModelFileError(field, i, `padding byte is 0x${this.bytes[i].toString(16).padStart(2, "0")}, must be 0`);
    }
  }
  utf8(at: number, n: number, field: string): string {
    this.need(at, n, field);
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(this.bytes.subarray(at, at + n));
    } catch {
      throw new ModelFileError(field, at, `is not valid UTF-8`);
    }
  }
}

/** A short description of a JSON value for messages (never the whole of a hostile value). */
function brief(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return Array.isArray(v) ? "an array" : "an object";
}

function checkRange(v: number, min: number, max: number, field: string, at: number, what = ""): void {
  if (v < min || v > max) throw new ModelFileError(field, at, `${v} is outside ${min}..${max}${what}`);
}

/** The JSON section: the definition and the settings, all checked. */
function readDefinition(r: Reader, at: number, length: number): { settings: ModelSettings; definition: ModelDefinition; weighted: WeightedShape[] } {
  const text = r.utf8(at, length, "definition");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // Includes a RangeError from nesting too deep for the parser's stack.
    throw new ModelFileError("definition", at, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  // Fields of the section are named as JSON paths under "definition": "definition.actBits" is the
  // section's actBits, "definition.model.layers[3].units" a layer's units.
  const fail = (path: string, detail: string): never => {
    throw new ModelFileError(path === "" ? "definition" : `definition.${path}`, at, detail);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("", "must be a JSON object");
  const o = value as Record<string, unknown>;
  checkKeys(o, SETTINGS_KEYS, "", fail);
  const int = (k: string, min: number, max: number): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      fail(k, `must be an integer in ${min}..${max}, got ${brief(v)}`);
    }
    return v as number;
  };
  const actBits = int("actBits", MIN_BITS, MAX_BITS);
  if (o.rounding !== "stochastic" && o.rounding !== "nearest") {
    fail("rounding", `must be "stochastic" or "nearest", got ${brief(o.rounding)}`);
  }
  const settings: ModelSettings = {
    actBits, rounding: o.rounding as Rounding, seed: int("seed", 0, 0xffffffff), step: int("step", 0, 0xffffffff), batch: int("batch", 1, 65536),
  };
  const { definition, weighted } = checkDefinition(o.model, (p, d) => fail(p === "" ? "model" : `model.${p}`, d));
  return { settings, definition, weighted };
}

/**
 * Parses and checks a whole model file (docs/model-file.md, "What a reader checks"): structure,
 * bounds, checksum, definition, and every weight and bias code. Never reads outside `bytes`, never
 * allocates beyond one copy of it and the values decoded from it; any refusal is a ModelFileError.
 */
export async function decodeModelFile(input: Uint8Array): Promise<ModelFile> {
  if (!(input instanceof Uint8Array)) {
    throw new ModelFileError("file", 0, `expected the file's bytes as a Uint8Array, got ${input === null ? "null" : typeof input}`);
  }
  // A private copy: the caller cannot change the bytes between the checksum and the parse.
  const bytes = new Uint8Array(input);
  const r = new Reader(bytes, bytes.length);

  // Header.
  if (bytes.length < MAGIC.length) {
    throw new ModelFileError("magic", 0, `the file is ${bytes.length} bytes, shorter than the ${MAGIC.length}-byte magic "APTKITM\\0"`);
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new ModelFileError("magic", i, `expected "APTKITM\\0" (41 50 54 4b 49 54 4d 00), this is not an aptkit model file`);
  }
  const version = r.u16(HEADER.version, "version");
  if (version !== FORMAT_VERSION) throw new ModelFileError("version", HEADER.version, `format version ${version} is not supported (this reader reads version ${FORMAT_VERSION})`);
  const checksumKind = r.u16(HEADER.checksumKind, "checksumKind");
  if (checksumKind !== CHECKSUM_SHA256) throw new ModelFileError("checksumKind", HEADER.checksumKind, `checksum algorithm ${checksumKind} is not supported (1 = SHA-256)`);
  const headerLength = r.u32(HEADER.headerLength, "headerLength");
  if (headerLength !== HEADER_BYTES) throw new ModelFileError("headerLength", HEADER.headerLength, `${headerLength} bytes, version ${FORMAT_VERSION} headers are ${HEADER_BYTES}`);
  const fileLength = r.u32(HEADER.fileLength, "fileLength");
  if (fileLength < HEADER_BYTES + CHECKSUM_BYTES) {
    throw new ModelFileError("fileLength", HEADER.fileLength, `${fileLength} bytes is below the smallest file (${HEADER_BYTES + CHECKSUM_BYTES}: header and checksum)`);
  }
  if (fileLength !== bytes.length) {
    throw new ModelFileError("fileLength", HEADER.fileLength, bytes.length < fileLength
      ? `the header says ${fileLength} bytes, the file has ${bytes.length}: truncated`
      : `the header says ${fileLength} bytes, the file has ${bytes.length}: ${bytes.length - fileLength} trailing bytes`);
  }
  const recordsEnd = fileLength - CHECKSUM_BYTES;
  const definitionLength = r.u32(HEADER.definitionLength, "definitionLength");
  const definitionRoom = Math.min(LIMITS.definitionBytes, recordsEnd - HEADER_BYTES);
  checkRange(definitionLength, 2, definitionRoom, "definitionLength", HEADER.definitionLength,
    definitionRoom < LIMITS.definitionBytes ? " (the bytes between the header and the checksum)" : ` (at most ${LIMITS.definitionBytes})`);
  const layerCount = r.u32(HEADER.layerCount, "layerCount");
  checkRange(layerCount, 0, LIMITS.layers, "layerCount", HEADER.layerCount);
  const reserved = r.u32(HEADER.reserved, "reserved");
  if (reserved !== 0) throw new ModelFileError("reserved", HEADER.reserved, `is 0x${reserved.toString(16)}, must be 0 in version ${FORMAT_VERSION}`);

  // Checksum, before anything past the header is interpreted: corruption gets one clear message.
  const digest = await sha256(bytes.subarray(0, recordsEnd));
  for (let i = 0; i < CHECKSUM_BYTES; i++) {
    if (digest[i] !== bytes[recordsEnd + i]) {
      throw new ModelFileError("checksum", recordsEnd, `SHA-256 of bytes 0..${recordsEnd} does not match the stored checksum: the file is corrupted`);
    }
  }
  r.end = recordsEnd;

  // Definition section.
  const { settings, definition, weighted } = readDefinition(r, HEADER_BYTES, definitionLength);
  let at = HEADER_BYTES + definitionLength;
  r.zeros(at, align4(at), "definition padding");
  at = align4(at);
  if (layerCount !== weighted.length) {
    throw new ModelFileError("layerCount", HEADER.layerCount, `the file has ${layerCount} layer records, the definition has ${weighted.length} weighted layers`);
  }

  // Layer records, matched one by one against the definition's weighted layers.
  const layers: LayerRecord[] = [];
  for (let i = 0; i < layerCount; i++) {
    const want = weighted[i];
    const f = (name: string) => `layers[${i}].${name}`;
    const base = at;
    r.need(base, RECORD_BYTES, `layers[${i}]`);
    const nameLength = r.u16(base + RECORD.nameLength, f("nameLength"));
    checkRange(nameLength, 1, LIMITS.nameBytes, f("nameLength"), base + RECORD.nameLength);
    const bits = r.u8(base + RECORD.bits, f("bits"));
    checkRange(bits, MIN_BITS, MAX_BITS, f("bits"), base + RECORD.bits);
    const biasBits = r.u8(base + RECORD.biasBits, f("biasBits"));
    checkRange(biasBits, MIN_BITS, MAX_BITS, f("biasBits"), base + RECORD.biasBits);
    if (biasBits !== BIAS_BITS) throw new ModelFileError(f("biasBits"), base + RECORD.biasBits, `${biasBits}: this engine keeps biases at ${BIAS_BITS} bits`);
    const rows = r.u32(base + RECORD.rows, f("rows"));
    checkRange(rows, 1, LIMITS.dim, f("rows"), base + RECORD.rows);
    const cols = r.u32(base + RECORD.cols, f("cols"));
    checkRange(cols, 1, LIMITS.dim, f("cols"), base + RECORD.cols);
    const exp = r.i32(base + RECORD.exp, f("exp"));
    checkRange(exp, LIMITS.minExp, LIMITS.maxExp, f("exp"), base + RECORD.exp);
    const biasExp = r.i32(base + RECORD.biasExp, f("biasExp"));
    checkRange(biasExp, LIMITS.minExp, LIMITS.maxExp, f("biasExp"), base + RECORD.biasExp);
    if (biasExp !== BIAS_EXP) throw new ModelFileError(f("biasExp"), base + RECORD.biasExp, `${biasExp}: this engine keeps biases at exponent ${BIAS_EXP}`);
    // rows, cols <= 2^24 and bits <= 16: both products are below 2^53, exact.
    const weightLength = r.u32(base + RECORD.weightLength, f("weightLength"));
    const wantWeights = packedByteLength(rows, cols, bits);
    if (weightLength !== wantWeights) {
      throw new ModelFileError(f("weightLength"), base + RECORD.weightLength, `${weightLength} bytes, a ${rows}x${cols} matrix at ${bits} bits packs into exactly ${wantWeights}`);
    }
    const biasLength = r.u32(base + RECORD.biasLength, f("biasLength"));
    const wantBias = packedByteLength(1, rows, biasBits);
    if (biasLength !== wantBias) {
      throw new ModelFileError(f("biasLength"), base + RECORD.biasLength, `${biasLength} bytes, ${rows} biases at ${biasBits} bits pack into exactly ${wantBias}`);
    }
    const nameAt = base + RECORD.name;
    const name = r.utf8(nameAt, nameLength, f("name"));
    r.zeros(nameAt + nameLength, align4(nameAt + nameLength), f("name padding"));
    if (name !== want.name) {
      throw new ModelFileError(f("name"), nameAt, `${JSON.stringify(name)}, the definition's weighted layer ${i} is ${JSON.stringify(want.name)}`);
    }
    if (rows !== want.rows) throw new ModelFileError(f("rows"), base + RECORD.rows, `${rows}, the definition's ${want.kind} layer ${JSON.stringify(want.name)} has ${want.rows}`);
    if (cols !== want.cols) throw new ModelFileError(f("cols"), base + RECORD.cols, `${cols}, the definition's ${want.kind} layer ${JSON.stringify(want.name)} has ${want.cols}`);
    const weightsAt = align4(nameAt + nameLength);
    r.need(weightsAt, weightLength, f("weights"));
    const biasAt = weightsAt + weightLength;
    r.need(biasAt, biasLength, f("bias"));
    for (const [what, from, m, n, b] of [["weights", weightsAt, rows, cols, bits], ["bias", biasAt, 1, rows, biasBits]] as const) {
      const bad = findInvalidCode(bytes, from, m, n, b);
      if (bad?.kind === "code") {
        throw new ModelFileError(f(what), from + bad.byte, `code at [${bad.row}, ${bad.col}] is -${2 ** (b - 1)}, the most negative ${b}-bit pattern, which symmetric codes never use (|q| <= ${2 ** (b - 1) - 1})`);
      }
      if (bad) throw new ModelFileError(f(what), from + bad.byte, `row ${bad.row} has padding bits set after its ${n} elements (padding must be zero)`);
    }
    layers.push({
      name, rows, cols, bits, exp, biasBits, biasExp,
      weights: bytes.slice(weightsAt, biasAt), bias: bytes.slice(biasAt, biasAt + biasLength),
    });
    at = biasAt + biasLength;
  }
  if (at !== recordsEnd) {
    throw new ModelFileError("layers", at, `${recordsEnd - at} unexpected bytes between the last layer record and the checksum`);
  }
  return { definition, ...settings, layers };
}
