// The relaxed build's sweep: products where its i8 path applies (both widths <= 8, op(A) codes in
// 0..127), over widths, all four layouts, edge tiles and K across the K block, compared bit for
// bit with the SIMD build; plus cases with one negative A code, which must fall back to the plain
// path with the same results. Used in-process by tests/relaxed.test.ts where the engine validates
// the relaxed build, and run directly in a child `node --experimental-wasm-relaxed-simd` where it
// does not (Node 20): `node --experimental-wasm-relaxed-simd --import tsx tests/helpers/relaxed-sweep.ts`
// prints one JSON line and exits 1 on any failure.
import { createKernels, type Kernels, type PackedMatrix } from "../../src/index.js";
import type { AbiExports } from "../../src/runtime/wasm.js";
import { LAYOUTS } from "./gemm-tester.js";
import { maxCodeOf, Rng } from "./random.js";

export interface SweepResult {
  cases: number;
  relaxedRan: number;
  fallbacks: number;
  failures: string[];
}

interface Case {
  M: number; N: number; K: number; aBits: number; bBits: number;
  transA: boolean; transB: boolean; fill: "random" | "extremes"; negativeAt: number | null; seed: number;
}

const name = (c: Case) =>
  `m=${c.M} n=${c.N} k=${c.K} bits=(${c.aBits},${c.bBits})${c.transA ? " transA" : ""}${c.transB ? " transB" : ""} ` +
  `fill=${c.fill}${c.negativeAt !== null ? ` negativeA@${c.negativeAt}` : ""} seed=${c.seed}`;

/** The cases: a fixed edge grid, then random ones. */
export function sweepCases(): Case[] {
  const out: Case[] = [];
  let seed = 0;
  // Edge tiles (the 4x8 micro-tile, the 64-row and 256-column blocks) and K around the 256 block
  // and the quad of 4, each layout, at 8 x 8 bits with extreme codes.
  for (const [M, N, K] of [[1, 1, 1], [3, 7, 3], [4, 8, 4], [5, 9, 5], [65, 9, 255], [4, 257, 256], [63, 17, 257], [9, 8, 513], [2, 3, 1030]]) {
    for (const l of LAYOUTS) {
      out.push({ M, N, K, aBits: 8, bBits: 8, transA: l.transA, transB: l.transB, fill: "extremes", negativeAt: null, seed: ++seed });
      out.push({ M, N, K, aBits: 8, bBits: 8, transA: l.transA, transB: l.transB, fill: "random", negativeAt: null, seed: ++seed });
    }
  }
  const rng = new Rng(0x5eed);
  for (let i = 0; i < 160; i++) {
    const l = LAYOUTS[i % 4];
    const small = i % 3 !== 0;
    const M = rng.int(1, small ? 13 : 140), N = rng.int(1, small ? 19 : 300);
    const K = rng.pick(small ? [1, 2, 3, 4, 5, 7, 8, 16, 31, 64, 65] : [127, 255, 256, 257, 260, 300, 511, 512, 513, 777]);
    const c: Case = {
      M, N, K, aBits: rng.int(2, 8), bBits: rng.int(2, 8), transA: l.transA, transB: l.transB,
      fill: rng.pick(["random", "random", "extremes"] as const), negativeAt: null, seed: ++seed,
    };
    // Every fifth case: one negative A code somewhere (the last element of op(A) on every tenth).
    if (i % 5 === 4 && c.aBits > 1) c.negativeAt = i % 10 === 9 ? M * K - 1 : rng.int(0, M * K - 1);
    out.push(c);
  }
  return out;
}

function operands(c: Case): { a: Int32Array; b: Int32Array } {
  const rng = new Rng(c.seed * 7919 + 17);
  const mA = maxCodeOf(c.aBits), mB = maxCodeOf(c.bBits);
  const opA = new Int32Array(c.M * c.K), opB = new Int32Array(c.K * c.N);
  for (let x = 0; x < opA.length; x++) opA[x] = c.fill === "extremes" ? mA : rng.int(0, mA);
  for (let x = 0; x < opB.length; x++) opB[x] = c.fill === "extremes" ? rng.sign() * mB : rng.int(-mB, mB);
  if (c.negativeAt !== null) opA[c.negativeAt] = -Math.max(1, Math.min(mA, 1 + (c.seed % mA)));
  const t = (x: Int32Array, rows: number, cols: number) => {
    const y = new Int32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) y[q * rows + r] = x[r * cols + q];
    return y;
  };
  return { a: c.transA ? t(opA, c.M, c.K) : opA, b: c.transB ? t(opB, c.K, c.N) : opB };
}

export function runSweep(relaxed: Kernels, simd: Kernels, cases = sweepCases()): SweepResult {
  const result: SweepResult = { cases: 0, relaxedRan: 0, fallbacks: 0, failures: [] };
  for (const c of cases) {
    result.cases++;
    const { a: ac, b: bc } = operands(c);
    const a = simd.pack(ac, c.transA ? c.K : c.M, c.transA ? c.M : c.K, c.aBits);
    const b = simd.pack(bc, c.transB ? c.N : c.K, c.transB ? c.K : c.N, c.bBits);
    const options = { transA: c.transA, transB: c.transB };
    const got = relaxed.gemm(a, b, options);
    const ran = relaxed.lastGemmUsedRelaxed();
    const want = simd.gemm(a, b, options);
    if (ran) result.relaxedRan++; else result.fallbacks++;
    const shouldRun = c.negativeAt === null;
    if (ran !== shouldRun) result.failures.push(`${name(c)}: relaxed path ${ran ? "ran" : "did not run"}`);
    const gb = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
    const wb = Buffer.from(want.buffer, want.byteOffset, want.byteLength);
    if (!gb.equals(wb)) {
      const at = got.findIndex((v, i) => !Object.is(v, want[i]));
      result.failures.push(`${name(c)}: C[${Math.floor(at / c.N)}][${at % c.N}] relaxed ${got[at]}, simd ${want[at]}`);
    }
  }
  return result;
}

/**
 * op(A) * op(B) through the kernels' raw ABI, past the Kernels API's checks (which refuse the
 * forbidden code), as the engine calls it with its own unchecked buffers. Returns C and whether
 * the relaxed path ran.
 */
function rawGemm(kernels: Kernels, a: PackedMatrix, b: PackedMatrix): { c: Float64Array; relaxed: boolean } {
  const abi = (kernels as unknown as { abi: AbiExports }).abi;
  const M = a.rows, N = b.cols, K = a.cols;
  const work = abi.gemm_workspace_bytes(M, N, K, a.bits, b.bits) >>> 0;
  const at = Math.ceil(abi.heap_base() / 16) * 16;
  const bAt = at + Math.ceil(a.bytes.length / 16) * 16;
  const cAt = bAt + Math.ceil(b.bytes.length / 16) * 16;
  const workAt = cAt + M * N * 8;
  const end = workAt + work;
  if (end > abi.memory.buffer.byteLength) abi.memory.grow(Math.ceil((end - abi.memory.buffer.byteLength) / 65536));
  new Uint8Array(abi.memory.buffer, at, a.bytes.length).set(a.bytes);
  new Uint8Array(abi.memory.buffer, bAt, b.bytes.length).set(b.bytes);
  const status = abi.gemm(at, a.rows, a.cols, a.bits, 0, bAt, b.rows, b.cols, b.bits, 0, cAt, workAt, work);
  if (status !== 0) throw new Error(`raw gemm: status ${status}`);
  return { c: new Float64Array(abi.memory.buffer, cAt, M * N).slice(), relaxed: abi.gemm_relaxed_used?.() === 1 };
}

/**
 * The i16 bound at its edge, every width pair 2..8: A all at its largest code, B all at the most
 * negative bit pattern -2^(bBits-1), which the symmetric format never writes (pack and the
 * Kernels API refuse it) but a packed row can hold and both builds decode (through the raw ABI). The relaxed kernels size their i16
 * accumulation for it; the product must be exact: -K * maxA * 2^(bBits-1) everywhere.
 */
export function runRawExtremes(relaxed: Kernels, simd: Kernels): SweepResult {
  const result: SweepResult = { cases: 0, relaxedRan: 0, fallbacks: 0, failures: [] };
  const M = 5, N = 9, K = 301;
  for (let aBits = 2; aBits <= 8; aBits++) {
    for (let bBits = 2; bBits <= 8; bBits++) {
      result.cases++;
      const maxA = maxCodeOf(aBits);
      const a = simd.pack(new Int32Array(M * K).fill(maxA), M, K, aBits);
      const stride = Math.ceil((N * bBits) / 32) * 4;
      const bytes = new Uint8Array(K * stride);
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < N; j++) {
          const bit = j * bBits + bBits - 1; // only the sign bit set: -2^(bBits-1)
          bytes[k * stride + (bit >> 3)] |= 1 << (bit & 7);
        }
      }
      const b = { rows: K, cols: N, bits: bBits, bytes };
      const { c: got, relaxed: ran } = rawGemm(relaxed, a, b);
      if (ran) result.relaxedRan++; else result.failures.push(`(${aBits},${bBits}): relaxed path did not run`);
      const want = -K * maxA * 2 ** (bBits - 1);
      const plain = rawGemm(simd, a, b).c;
      const bad = got.findIndex((v, i) => v !== want || plain[i] !== want);
      if (bad >= 0) result.failures.push(`(${aBits},${bBits}) raw extremes: C[${bad}] relaxed ${got[bad]}, simd ${plain[bad]}, want ${want}`);
    }
  }
  return result;
}

// Run directly (a child process with the engine flag): one JSON line, exit 1 on any failure.
if (import.meta.url === `file://${process.argv[1]}`) {
  const relaxed = await createKernels({ isa: "relaxed" });
  const simd = await createKernels({ isa: "simd" });
  const r = runSweep(relaxed, simd);
  const x = runRawExtremes(relaxed, simd);
  r.cases += x.cases;
  r.relaxedRan += x.relaxedRan;
  r.failures.push(...x.failures);
  console.log(JSON.stringify({ node: process.version, isaReason: relaxed.isaReason, ...r, failures: r.failures.slice(0, 10) }));
  process.exit(r.failures.length === 0 ? 0 : 1);
}
