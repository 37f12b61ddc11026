// The packed matrix format (docs/format.md) and its argument checks, shared by the wasm wrapper
// and the reference so that both refuse malformed arguments with the same messages. What a
// well-formed matrix's bytes hold (checkPackedCodes) is checked at the Kernels API only.

import { MIN_BITS, MAX_BITS } from "./codes.js";

// The width range is the ABI's (src/format/codes.ts, compiled into the kernels too).
export { MIN_BITS, MAX_BITS };

/** A rows x cols matrix of `bits`-bit symmetric two's-complement codes, in the packed format. */
export interface PackedMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly bits: number;
  /** Exactly rows * rowStrideBytes(cols, bits) bytes. */
  readonly bytes: Uint8Array;
}

export function maxCode(bits: number): number {
  return (1 << (bits - 1)) - 1;
}

/** Bytes per packed row: rows start on 4-byte boundaries. */
export function rowStrideBytes(cols: number, bits: number): number {
  return Math.ceil((cols * bits) / 32) * 4;
}

export function packedByteLength(rows: number, cols: number, bits: number): number {
  return rows * rowStrideBytes(cols, bits);
}

function describe(v: unknown): string {
  return typeof v === "number" ? String(v) : typeof v === "string" ? JSON.stringify(v) : v === null ? "null" : typeof v;
}

export function checkBits(bits: number, name: string): void {
  if (typeof bits !== "number") throw new TypeError(`${name}: bits must be a number in ${MIN_BITS}..${MAX_BITS}, got ${describe(bits)}`);
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new RangeError(`${name}: bits must be an integer in ${MIN_BITS}..${MAX_BITS}, got ${bits}`);
  }
}

export function checkDimension(n: number, name: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new RangeError(`${name} must be a non-negative integer below 2^31, got ${n}`);
  }
}

/** Checks a codes array for pack(): length, integrality, symmetric range. */
export function checkCodes(codes: ArrayLike<number>, rows: number, cols: number, bits: number, name: string): void {
  if (codes === null || typeof codes !== "object" || typeof codes.length !== "number") {
    throw new TypeError(`${name} must be an array of integer codes (Int32Array or number[]), got ${describe(codes)}`);
  }
  checkDimension(rows, `${name}: rows`);
  checkDimension(cols, `${name}: cols`);
  checkBits(bits, name);
  if (codes.length !== rows * cols) {
    throw new RangeError(`${name}: expected rows*cols = ${rows}*${cols} = ${rows * cols} codes, got ${codes.length}`);
  }
  const limit = maxCode(bits);
  for (let i = 0; i < codes.length; i++) {
    const v = codes[i];
    if (!Number.isInteger(v)) {
      throw new TypeError(`${name}: code at [${Math.floor(i / cols)}, ${i % cols}] is ${describe(v)}, not an integer`);
    }
    if (v > limit || v < -limit) {
      throw new RangeError(
        `${name}: code at [${Math.floor(i / cols)}, ${i % cols}] is ${v}, outside -${limit}..${limit} for ${bits} bits`,
      );
    }
  }
}

/** What checkPackedCodes found: the first forbidden code or nonzero row padding, in row order. */
export interface PackedViolation {
  kind: "forbidden code" | "padding";
  row: number;
  /** The column of the forbidden code; for padding, the first padding bit set, counted from the
   *  row's first bit (padding occupies bits cols*bits .. rowStride*8 - 1). */
  column: number;
  bit: number;
}

/**
 * Scans a packed matrix (already shape-checked) for what the format forbids (docs/format.md):
 * the code -2^(bits-1), which symmetric codes never use, and set bits in a row's padding. One pass
 * over the bytes; rows are read a 32-bit word at a time, and 8- and 16-bit widths compare whole
 * bytes. Returns the first violation, or null.
 */
export function findPackedViolation(m: PackedMatrix): PackedViolation | null {
  const { rows, cols, bits, bytes } = m;
  const stride = rowStrideBytes(cols, bits);
  if (rows === 0 || stride === 0) return null;
  const usedInLast = cols * bits - (stride - 4) * 8; // 1..32 bits of the row's last word are codes
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // 16-bit codes as aligned i16 where the bytes start on an even offset (rows start on 4-byte
  // boundaries within them).
  const halves = bits === 16 && (bytes.byteOffset & 1) === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1) : null;
  for (let r = 0, at = 0; r < rows; r++, at += stride) {
    if (usedInLast < 32) {
      const padding = view.getUint32(at + stride - 4, true) >>> usedInLast;
      if (padding !== 0) {
        const bit = (stride - 4) * 8 + usedInLast + (31 - Math.clz32(padding & -padding));
        return { kind: "padding", row: r, column: cols, bit };
      }
    }
    const column = forbiddenColumn(bytes, view, halves, at, cols, bits);
    if (column >= 0) return { kind: "forbidden code", row: r, column, bit: column * bits };
  }
  return null;
}

// The first column of the row at byte `at` whose field is 1 followed by bits-1 zeros, or -1.
function forbiddenColumn(bytes: Uint8Array, view: DataView, halves: Int16Array | null, at: number, cols: number, bits: number): number {
  if (bits === 8) {
    for (let j = 0; j < cols; j++) if (bytes[at + j] === 0x80) return j;
    return -1;
  }
  if (bits === 16) {
    if (halves !== null) {
      const first = at >> 1;
      for (let j = 0; j < cols; j++) if (halves[first + j] === -32768) return j;
      return -1;
    }
    for (let j = 0; j < cols; j++) if (bytes[at + 2 * j + 1] === 0x80 && bytes[at + 2 * j] === 0) return j;
    return -1;
  }
  const mask = (1 << bits) - 1;
  const forbidden = 1 << (bits - 1);
  const words = Math.ceil((cols * bits) / 32);
  // A window of the row's bit stream: `have` bits of `low` are pending (never more than 31 + 16).
  let low = 0, have = 0, j = 0;
  for (let w = 0; w < words && j < cols; w++) {
    const word = view.getUint32(at + 4 * w, true);
    // Finish the field that straddles the previous word.
    if (have > 0) {
      const field = (low | (word << have)) & mask;
      if (field === forbidden) return j;
      j++;
      const consumed = bits - have;
      low = consumed === 32 ? 0 : word >>> consumed;
      have = 32 - consumed;
    } else {
      low = word;
      have = 32;
    }
    while (have >= bits && j < cols) {
      if ((low & mask) === forbidden) return j;
      j++;
      low >>>= bits;
      have -= bits;
    }
  }
  return -1;
}

/** Refuses a packed matrix holding a forbidden code or set padding bits, naming where. */
export function checkPackedCodes(m: PackedMatrix, name: string): void {
  const v = findPackedViolation(m);
  if (v === null) return;
  const message = v.kind === "forbidden code"
    ? `${name}: row ${v.row}, column ${v.column} holds the code -${2 ** (m.bits - 1)}, which the symmetric ` +
      `${m.bits}-bit format never uses (codes are -${maxCode(m.bits)}..${maxCode(m.bits)})`
    : `${name}: row ${v.row} has padding bits set after its last column (column ${m.cols - 1}), from bit ${v.bit} ` +
      `of the row; the format requires a row's padding to be zero`;
  throw Object.assign(new RangeError(message), { code: "APTKIT_PACKED_FORMAT", matrix: name, ...v });
}

/** Checks that a PackedMatrix is self-consistent (shape, width, byte length). What the bytes hold
 *  is checkPackedCodes' part: the public Kernels API runs both, while the reference and test
 *  harnesses also read the engine's own tensors, whose row padding is never cleared. */
export function checkPacked(m: PackedMatrix, name: string): void {
  if (m === null || typeof m !== "object") throw new TypeError(`${name} must be a PackedMatrix, got ${m}`);
  checkDimension(m.rows, `${name}.rows`);
  checkDimension(m.cols, `${name}.cols`);
  checkBits(m.bits, name);
  if (!(m.bytes instanceof Uint8Array)) throw new TypeError(`${name}.bytes must be a Uint8Array`);
  const expected = packedByteLength(m.rows, m.cols, m.bits);
  if (m.bytes.length !== expected) {
    throw new RangeError(
      `${name}: ${m.rows}x${m.cols} at ${m.bits} bits needs ${expected} bytes, but bytes has ${m.bytes.length}`,
    );
  }
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  /**
   * prepareGemm only: decode B into the kernel's i16 panels once, when the GEMM is prepared, and
   * let every run() read them (B as a constant, e.g. weights at inference). Same results; costs
   * the panels' memory (about 2 bytes per element of B).
   */
  prepackB?: boolean;
}

/** The (M, N, K) of op(A) * op(B), or a RangeError naming the disagreeing dimensions. */
export function gemmShape(a: PackedMatrix, b: PackedMatrix, options: GemmOptions | null = {}): { M: number; N: number; K: number } {
  if (options === null || typeof options !== "object") throw new TypeError(`gemm: options must be an object { transA?, transB?, prepackB? }, got ${describe(options)}`);
  checkPacked(a, "a");
  checkPacked(b, "b");
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const M = transA ? a.cols : a.rows;
  const K = transA ? a.rows : a.cols;
  const N = transB ? b.rows : b.cols;
  const Kb = transB ? b.cols : b.rows;
  if (K !== Kb) {
    throw new RangeError(
      `gemm: inner dimensions differ: op(a) is ${M}x${K}${transA ? " (a transposed)" : ""}, ` +
        `op(b) is ${Kb}x${N}${transB ? " (b transposed)" : ""}`,
    );
  }
  if (K > 1 << 22) throw new RangeError(`gemm: K = ${K} exceeds 2^22, beyond which f64 results are not exact`);
  return { M, N, K };
}

/**
 * Packs codes (already checked) into `out` (rows * rowStrideBytes bytes) a 32-bit word at a time:
 * the host-side fast path for data entering the engine. src/reference/packed.ts is the bit-by-bit
 * definition it is tested against.
 */
export function packInto(out: Uint8Array, codes: ArrayLike<number>, rows: number, cols: number, bits: number): void {
  const stride = rowStrideBytes(cols, bits);
  if (bits === 8 || bits === 16) {
    // Whole-byte codes: each code is its own byte(s), little-endian; a row's padding bytes are zero.
    const n = bits >> 3;
    for (let r = 0; r < rows; r++) {
      const at = r * stride, src = r * cols;
      if (n === 1) {
        for (let j = 0; j < cols; j++) out[at + j] = codes[src + j] & 0xff;
      } else {
        for (let j = 0; j < cols; j++) {
          const c = codes[src + j] & 0xffff;
          out[at + 2 * j] = c & 0xff;
          out[at + 2 * j + 1] = c >>> 8;
        }
      }
      out.fill(0, at + cols * n, at + stride);
    }
    return;
  }
  const words = new DataView(out.buffer, out.byteOffset, rows * stride);
  const mask = bits === 32 ? 0xffffffff : 2 ** bits - 1;
  for (let r = 0; r < rows; r++) {
    let at = r * stride;
    let buf = 0;   // pending bits, low first (fewer than 32 + 16, kept exact in a double)
    let have = 0;
    for (let j = 0; j < cols; j++) {
      buf += (codes[r * cols + j] & mask) * 2 ** have;
      have += bits;
      if (have >= 32) {
        words.setUint32(at, buf % 2 ** 32, true);
        at += 4;
        buf = Math.floor(buf / 2 ** 32);
        have -= 32;
      }
    }
    if (have > 0) words.setUint32(at, buf, true);
  }
}

/** The inverse of packInto: codes of a packed rows x cols matrix. */
export function unpackFrom(bytes: Uint8Array, rows: number, cols: number, bits: number): Int32Array {
  const stride = rowStrideBytes(cols, bits);
  const out = new Int32Array(rows * cols);
  const up = 32 - bits;
  for (let r = 0; r < rows; r++) {
    const row = r * stride;
    for (let j = 0; j < cols; j++) {
      const start = j * bits;
      let v = 0;
      for (let k = start >> 3, shift = -(start & 7); shift < bits; k++, shift += 8) {
        v |= shift >= 0 ? bytes[row + k] << shift : bytes[row + k] >>> -shift;
      }
      out[r * cols + j] = (v << up) >> up;
    }
  }
  return out;
}
