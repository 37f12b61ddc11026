// The start-up check of the relaxed-SIMD build. Relaxed SIMD lets an engine choose among several
// results for some inputs, and engines have been seen getting even the defined cases wrong (Node
// 20 on x86-64 returned twice the answer of i32x4.relaxed_dot_i8x16_i7x16_add_s). So the relaxed
// build is used only after it computes a product whose exact answer is known: the same as the
// plain-TypeScript reference and as the SIMD build, bit for bit, with its i8 path actually taken.
import { Arena } from "./arena.js";
import type { AbiExports } from "./abi-exports.js";
import { gemm as referenceGemm } from "../reference/gemm.js";
import type { PackedMatrix } from "../format/packed.js";

/** The check's product: odd sizes so that edge tiles and a K tail run, K across the K block. */
export const CHECK_M = 6;
export const CHECK_N = 11;
export const CHECK_K = 301;

/**
 * A (M x K, 8-bit, all codes in 0..127: the operand the i7 lanes take) and B (K x N, 8-bit) of the
 * check, as packed matrices written byte by byte (at 8 bits a code is its byte). Row 0 of A is all
 * 127 and B's columns 0, 1, 2 are all -128, -127, 127, so C[0][0..2] are the extreme sums
 * (each i16 lane of the relaxed dot at its bound 2*127*-128 = -32512); row 1 of A is all zero; the
 * rest is a fixed pseudo-random fill. -128 is outside the symmetric format (pack refuses it) but a
 * byte that the kernels and the reference decode like any other: it checks that the engine treats
 * the first operand of the dot as signed over its whole range.
 */
export function checkOperands(): { a: PackedMatrix; b: PackedMatrix } {
  let s = 0x2545f491;
  const next = () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return s >>> 0;
  };
  const aStride = Math.ceil(CHECK_K / 4) * 4, bStride = Math.ceil(CHECK_N / 4) * 4;
  const aBytes = new Uint8Array(CHECK_M * aStride), bBytes = new Uint8Array(CHECK_K * bStride);
  for (let i = 0; i < CHECK_M; i++) {
    for (let k = 0; k < CHECK_K; k++) aBytes[i * aStride + k] = i === 0 ? 127 : i === 1 ? 0 : next() % 128;
  }
  for (let k = 0; k < CHECK_K; k++) {
    for (let j = 0; j < CHECK_N; j++) {
      const q = j === 0 ? -128 : j === 1 ? -127 : j === 2 ? 127 : (next() % 255) - 127;
      bBytes[k * bStride + j] = q & 255;
    }
  }
  return {
    a: { rows: CHECK_M, cols: CHECK_K, bits: 8, bytes: aBytes },
    b: { rows: CHECK_K, cols: CHECK_N, bits: 8, bytes: bBytes },
  };
}

/** Runs the check's product on one instance: C, and whether its relaxed i8 path ran. */
export function runCheckGemm(abi: AbiExports, a: PackedMatrix, b: PackedMatrix): { c: Float64Array; relaxedUsed: boolean } {
  const arena = new Arena(abi);
  const place = (m: PackedMatrix) => {
    const at = arena.alloc(m.bytes.length);
    arena.bytes(at, m.bytes.length).set(m.bytes);
    return at;
  };
  const aAt = place(a), bAt = place(b);
  const cAt = arena.alloc(CHECK_M * CHECK_N * 8);
  const workBytes = abi.gemm_workspace_bytes(CHECK_M, CHECK_N, CHECK_K, 8, 8);
  const work = arena.alloc(workBytes);
  const status = abi.gemm(aAt, a.rows, a.cols, a.bits, 0, bAt, b.rows, b.cols, b.bits, 0, cAt, work, workBytes);
  if (status !== 0) throw new Error(`gemm returned status ${status}`);
  const c = new Float64Array(abi.memory.buffer, cAt, CHECK_M * CHECK_N).slice();
  const used = typeof abi.gemm_relaxed_used === "function" && abi.gemm_relaxed_used() === 1;
  return { c, relaxedUsed: used };
}

function firstDifference(got: Float64Array, want: Float64Array): number {
  for (let x = 0; x < want.length; x++) if (!Object.is(got[x], want[x])) return x;
  return -1;
}

/**
 * The known-answer check: null when `relaxed` (an instance of build/aptkit.relaxed.wasm) computes
 * the check's product through its i8 path, equal bit for bit to reference.gemm and to `simd` (an
 * instance of the SIMD build); else a sentence saying what failed.
 */
export function knownAnswerCheck(relaxed: AbiExports, simd: AbiExports): string | null {
  if (typeof relaxed.has_relaxed_simd !== "function" || relaxed.has_relaxed_simd() !== 1) {
    return "the module given as the relaxed build is not the relaxed-SIMD build (has_relaxed_simd() is not 1)";
  }
  const { a, b } = checkOperands();
  const want = referenceGemm(a, b);
  let got: { c: Float64Array; relaxedUsed: boolean };
  let plain: Float64Array;
  try {
    got = runCheckGemm(relaxed, a, b);
  } catch (e) {
    return `the relaxed build failed to run the check's ${CHECK_M}x${CHECK_N}x${CHECK_K} gemm: ${(e as Error).message}`;
  }
  try {
    plain = runCheckGemm(simd, a, b).c;
  } catch (e) {
    return `the SIMD build failed to run the check's gemm: ${(e as Error).message}`;
  }
  if (!got.relaxedUsed) return "the relaxed build did not take its relaxed-SIMD path on the check's 8-bit operands";
  const at = firstDifference(got.c, want);
  if (at >= 0) {
    const i = Math.floor(at / CHECK_N), j = at % CHECK_N;
    return `relaxed-SIMD gemm gave C[${i}][${j}] = ${got.c[at]}, the reference ${want[at]} ` +
      `(known-answer check, ${CHECK_M}x${CHECK_N}x${CHECK_K} at 8 bits): this engine computes ` +
      "i16x8.relaxed_dot_i8x16_i7x16_s (or extadd) differently from the spec's deterministic case, or the kernel is wrong";
  }
  const atPlain = firstDifference(plain, want);
  if (atPlain >= 0) return `the SIMD build disagrees with the reference at element ${atPlain}: the check cannot vouch for either`;
  return null;
}
