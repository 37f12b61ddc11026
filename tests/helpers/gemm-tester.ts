// Builder-style GEMM case, after XNNPACK's GemmMicrokernelTester: one line states a case,
//   new GemmTester().m(5).n(9).k(17).bits(4, 8).transA().extremes().test(kernels)
// and test() generates the codes from a seed, packs them with the kernels (checking the bytes
// against reference.pack), runs kernels.gemm, and compares every element of the result with a
// BigInt product computed here from the raw codes, and with reference.gemm (so the reference is
// checked too).
import assert from "node:assert/strict";
import { reference, type Kernels, type PackedMatrix } from "../../src/index.js";
import { maxCodeOf, Rng } from "./random.js";

/** How codes are drawn. */
export type Fill =
  /** Uniform over the symmetric range. */
  | "random"
  /** +-max filling whole rows of op(A) and whole columns of op(B): |C| = K*maxA*maxB, the worst
   *  case for an int32 accumulator. Row 0 of op(A) is +max, column 0 of op(B) is -max, column 1
   *  +max, so C[0][0] is the most negative and C[0][1] the most positive possible sum. */
  | "extremes"
  /** Every code +-max with a random sign: extreme magnitudes, but no rank-1 structure. */
  | "randomSigns";

export interface Layout {
  readonly transA: boolean;
  readonly transB: boolean;
  readonly name: string;
}

/** The four layouts: A*B (forward), A*B^T (error to the input), A^T*B (weight gradient), A^T*B^T. */
export const LAYOUTS: readonly Layout[] = [
  { transA: false, transB: false, name: "A*B" },
  { transA: false, transB: true, name: "A*B^T" },
  { transA: true, transB: false, name: "A^T*B" },
  { transA: true, transB: true, name: "A^T*B^T" },
];

export const ALL_BITS: readonly number[] = Array.from({ length: 15 }, (_, i) => i + 2);

/** The cache K block of the design (docs/kernels.md; KC_CACHE in the GEMM kernels). */
export const CACHE_K_BLOCK = 256;

const I32_MAX = 2 ** 31 - 1;

/**
 * The K (in elements, a whole number of pairs) up to which an int32 lane summing pairs of products
 * of codes bounded by mA and mB cannot overflow: 2 * floor((2^31-1) / (2*mA*mB)).
 */
export function overflowBlockK(mA: number, mB: number): number {
  return 2 * Math.floor(I32_MAX / (2 * mA * mB));
}

/**
 * The overflow-safe K blocks worth testing around for a width pair: the direct one, and the one
 * after splitting the wider operand into 8-bit halves (|hi| <= 128, lo <= 255), which the design
 * uses when the direct block is too short. Only blocks below `limit` are returned.
 */
export function overflowBlocks(aBits: number, bBits: number, limit = 1 << 16): number[] {
  const mA = maxCodeOf(aBits), mB = maxCodeOf(bBits);
  const direct = overflowBlockK(mA, mB);
  const split = aBits >= bBits ? overflowBlockK(255, mB) : overflowBlockK(mA, 255);
  return [...new Set([direct, ...(Math.max(aBits, bBits) > 8 ? [split] : [])])].filter((k) => k < limit);
}

export interface Operands {
  /** Stored A: M x K row-major, or K x M when transA. */
  readonly a: Int32Array;
  readonly aRows: number;
  readonly aCols: number;
  readonly b: Int32Array;
  readonly bRows: number;
  readonly bCols: number;
}

export class GemmTester {
  private M = 1;
  private N = 1;
  private K = 1;
  private aBits = 8;
  private bBits = 8;
  private tA = false;
  private tB = false;
  private fillMode: Fill = "random";
  private seedValue = 1;
  private srcReference = true;
  private prepacked = false;

  m(v: number): this { this.M = v; return this; }
  n(v: number): this { this.N = v; return this; }
  k(v: number): this { this.K = v; return this; }
  bits(a: number, b: number): this { this.aBits = a; this.bBits = b; return this; }
  transA(on = true): this { this.tA = on; return this; }
  transB(on = true): this { this.tB = on; return this; }
  layout(l: Layout): this { this.tA = l.transA; this.tB = l.transB; return this; }
  fill(f: Fill): this { this.fillMode = f; return this; }
  extremes(): this { return this.fill("extremes"); }
  randomSigns(): this { return this.fill("randomSigns"); }
  seed(s: number): this { this.seedValue = s; return this; }
  /** Multiply through prepareGemm(a, b, { prepackB: true }), running it twice (the panels are reused). */
  prepackB(on = true): this { this.prepacked = on; return this; }
  /** Skip the (slow, closure-per-MAC) comparison with reference.gemm for very large cases. */
  skipSrcReference(): this { this.srcReference = false; return this; }

  toString(): string {
    return (
      `m=${this.M} n=${this.N} k=${this.K} bits=(${this.aBits},${this.bBits})` +
      `${this.tA ? " transA" : ""}${this.tB ? " transB" : ""}${this.prepacked ? " prepackB" : ""} fill=${this.fillMode} seed=${this.seedValue}`
    );
  }

  /** The stored codes of A and B for this case (deterministic in the seed). */
  operands(): Operands {
    const { M, N, K, tA, tB } = this;
    const rng = new Rng(this.seedValue ^ Math.imul(M * 1000003 + N * 1009 + K, 0x9e3779b1));
    const mA = maxCodeOf(this.aBits), mB = maxCodeOf(this.bBits);
    // op(A)[i][k] and op(B)[k][j] are drawn in op() coordinates, then stored per layout.
    const opA = new Int32Array(M * K);
    const opB = new Int32Array(K * N);
    if (this.fillMode === "extremes") {
      for (let i = 0; i < M; i++) {
        const s = i === 0 ? 1 : rng.sign();
        for (let k = 0; k < K; k++) opA[i * K + k] = s * mA;
      }
      for (let j = 0; j < N; j++) {
        const s = j === 0 ? -1 : j === 1 ? 1 : rng.sign();
        for (let k = 0; k < K; k++) opB[k * N + j] = s * mB;
      }
    } else {
      const draw = this.fillMode === "random"
        ? (max: number) => rng.int(-max, max)
        : (max: number) => rng.sign() * max;
      for (let x = 0; x < M * K; x++) opA[x] = draw(mA);
      for (let x = 0; x < K * N; x++) opB[x] = draw(mB);
    }
    const a = tA ? transpose(opA, M, K) : opA;
    const b = tB ? transpose(opB, K, N) : opB;
    return {
      a, aRows: tA ? K : M, aCols: tA ? M : K,
      b, bRows: tB ? N : K, bCols: tB ? K : N,
    };
  }

  /** C = op(A) * op(B) from the stored codes, exactly, in BigInt. */
  expected(ops: Operands): bigint[] {
    const { M, N, K, tA, tB } = this;
    // Contiguous copies of op(A) rows and op(B) columns.
    const rowsA = tA ? transpose(ops.a, K, M) : ops.a;
    const colsB = tB ? ops.b : transpose(ops.b, K, N);
    const out: bigint[] = new Array(M * N);
    // Each product is below 2^30 in magnitude, so a chunk of 4096 of them sums exactly in a double
    // (< 2^42); chunks are then summed in BigInt, exact for any K.
    const CHUNK = 4096;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let total = 0n;
        for (let k0 = 0; k0 < K; k0 += CHUNK) {
          let s = 0;
          const end = Math.min(K, k0 + CHUNK);
          for (let k = k0; k < end; k++) s += rowsA[i * K + k] * colsB[j * K + k];
          total += BigInt(s);
        }
        out[i * N + j] = total;
      }
    }
    return out;
  }

  /** Packs both operands with the kernels, asserting the bytes equal reference.pack's. */
  pack(kernels: Kernels, ops: Operands = this.operands()): { a: PackedMatrix; b: PackedMatrix } {
    const a = packChecked(kernels, ops.a, ops.aRows, ops.aCols, this.aBits, `A of ${this}`);
    const b = packChecked(kernels, ops.b, ops.bRows, ops.bCols, this.bBits, `B of ${this}`);
    return { a, b };
  }

  /** Packs and multiplies with the kernels, without checking the result. */
  result(kernels: Kernels): Float64Array {
    const { a, b } = this.pack(kernels);
    return kernels.gemm(a, b, { transA: this.tA, transB: this.tB });
  }

  /** The whole check: pack bytes, gemm result vs BigInt, reference.gemm vs BigInt. */
  test(kernels: Kernels): void {
    const ops = this.operands();
    const { a, b } = this.pack(kernels, ops);
    const options = { transA: this.tA, transB: this.tB };
    const want = this.expected(ops);
    if (this.prepacked) {
      const prepared = kernels.prepareGemm(a, b, { ...options, prepackB: true });
      for (const call of ["first", "second"]) {
        prepared.run();
        compare(prepared.result(), want, this.M, this.N, `${kernels.isa} prepackB run (${call}), ${this}`);
      }
    } else {
      compare(kernels.gemm(a, b, options), want, this.M, this.N, `${kernels.isa} kernels.gemm, ${this}`);
    }
    if (this.srcReference) {
      compare(reference.gemm(a, b, options), want, this.M, this.N, `reference.gemm, ${this}`);
    }
  }
}

function packChecked(kernels: Kernels, codes: Int32Array, rows: number, cols: number, bits: number, what: string): PackedMatrix {
  const p = kernels.pack(codes, rows, cols, bits);
  assert.equal(p.rows, rows, `${what}: rows`);
  assert.equal(p.cols, cols, `${what}: cols`);
  assert.equal(p.bits, bits, `${what}: bits`);
  const r = reference.pack(codes, rows, cols, bits);
  if (!Buffer.from(p.bytes).equals(Buffer.from(r.bytes))) {
    let at = 0;
    while (at < p.bytes.length && p.bytes[at] === r.bytes[at]) at++;
    assert.fail(
      `${what}: ${kernels.isa} pack differs from reference.pack (lengths ${p.bytes.length}/${r.bytes.length}, ` +
        `first difference at byte ${at}: ${p.bytes[at]} vs ${r.bytes[at]})`,
    );
  }
  return p;
}

function compare(got: Float64Array, want: bigint[], M: number, N: number, what: string): void {
  assert.equal(got.length, M * N, `${what}: result length`);
  const bad: string[] = [];
  let count = 0;
  for (let x = 0; x < got.length; x++) {
    const g = got[x];
    if (!Number.isInteger(g) || BigInt(g) !== want[x]) {
      if (++count <= 5) bad.push(`C[${Math.floor(x / N)}][${x % N}] = ${g}, want ${want[x]}`);
    }
  }
  if (count > 0) assert.fail(`${what}: ${count} of ${M * N} elements wrong: ${bad.join("; ")}`);
}

function transpose(x: Int32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/**
 * Runs every case and fails once at the end with the count and the first few failures, so one
 * broken case does not hide the shape of the rest of a sweep.
 */
export function testAll(kernels: Kernels, cases: Iterable<GemmTester>): number {
  const failures: string[] = [];
  let count = 0;
  for (const c of cases) {
    count++;
    try {
      c.test(kernels);
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (failures.length > 0) {
    assert.fail(`${failures.length} of ${count} cases failed:\n  ${failures.slice(0, 8).join("\n  ")}`);
  }
  assert.ok(count > 0, "an empty sweep checks nothing");
  return count;
}
