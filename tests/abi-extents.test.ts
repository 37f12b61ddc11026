// Every wasm export that takes sizes or offsets, called raw with hostile extents: a buffer that
// starts just before the end of memory, an offset near 2^32, counts whose u32 product wraps to a
// small number, negative i32 arguments. Each must answer its documented status (the shared table,
// src/runtime/abi-status.ts) instead of trapping, and leave all of memory byte for byte as it was.
// Each export is first called once with sane arguments that succeed, so a case cannot pass by
// calling the export wrongly. Both builds, SIMD and scalar.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

import {
  STATUS_BITS, STATUS_DIMENSION, STATUS_OK, STATUS_RANGE, STATUS_WINDOW,
} from "../src/runtime/abi-status.js";
import { STAGE_BYTES, VIEW_BYTES, writeStage, writeView } from "../src/runtime/descriptors.js";

type Fn = (...args: number[]) => number;
type Exports = { memory: WebAssembly.Memory; heap_base(): number } & Record<string, Fn>;

const PAGES = 8;
const REGION = 8192;

/** Where buffers go: region i is REGION bytes at base + i * REGION; `past` starts 4 bytes before
 *  the end of memory; `near` is 2^32 - 16 (as the i32 a caller passes). */
interface Layout {
  r: (i: number) => number;
  end: number;
  past: number;
  near: number;
}

interface Case {
  /** The export's parameter names, in order. */
  params: string;
  /** Arguments of a call that succeeds (returns `ok`, default 0). */
  valid: (L: Layout) => Record<string, number>;
  ok?: number;
  /** Writes what the valid call needs into memory (codes in range, finite floats, descriptors). */
  setup?: (L: Layout, x: Exports) => void;
  /** [what, argument overrides, status]. */
  hostile: (L: Layout) => [string, Record<string, number>, number][];
  /** Byte ranges [at, bytes] the ABI documents as written by the module even on a refusal (a
   *  view descriptor's stride field, a stage descriptor's result fields): excluded from the check. */
  written?: (L: Layout) => [number, number][];
}

// A view descriptor's stride field (byte 24, docs/abi.md) and a stage descriptor's results
// (bytes 64..112: maxAbs, sumAbs, saturated, changed, count).
const viewStride = (at: number): [number, number] => [at + 24, 4];
const stageResults = (at: number): [number, number] => [at + 64, STAGE_BYTES - 64];

const U32_MAX = 0xffffffff | 0; // -1 as the i32 the call carries
const pool = "x N H W C bits kh kw sh sw";

function plainView(at: number, bits: number, rows: number, cols: number) {
  return { kind: "plain" as const, at, bits, rows, cols };
}

const CASES: Record<string, Case> = {
  packed_row_stride: {
    params: "cols bits",
    valid: () => ({ cols: 5, bits: 3 }),
    ok: 4,
    hostile: () => [
      ["bits 1", { bits: 1 }, STATUS_BITS],
      ["a row of 2^35 bits", { cols: 2 ** 31, bits: 16 }, STATUS_RANGE],
      ["cols 2^32 - 1", { cols: U32_MAX, bits: 2 }, STATUS_RANGE],
    ],
  },
  pack: {
    params: "src rows cols bits dst",
    setup: (L, x) => new Int32Array(x.memory.buffer, L.r(0), 6).fill(1),
    valid: (L) => ({ src: L.r(0), rows: 2, cols: 3, bits: 8, dst: L.r(1) }),
    hostile: (L) => [
      ["codes past the end", { src: L.past }, STATUS_RANGE],
      ["packed matrix near 2^32", { dst: L.near }, STATUS_RANGE],
      ["65536 x 65536 codes (x4 bytes wraps to 0)", { rows: 65536, cols: 65536 }, STATUS_RANGE],
      ["rows -1", { rows: U32_MAX }, STATUS_RANGE],
      ["a row of 2^33 bits", { rows: 1, cols: 2 ** 29, bits: 16 }, STATUS_RANGE],
    ],
  },
  unpack: {
    params: "src rows cols bits dst",
    valid: (L) => ({ src: L.r(0), rows: 2, cols: 3, bits: 8, dst: L.r(1) }),
    hostile: (L) => [
      ["packed matrix past the end", { src: L.past }, STATUS_RANGE],
      ["codes near 2^32", { dst: L.near }, STATUS_RANGE],
      ["65536 x 65536 codes", { rows: 65536, cols: 65536 }, STATUS_RANGE],
      ["cols -1", { cols: U32_MAX }, STATUS_RANGE],
    ],
  },
  random_bits: {
    params: "seed step stream index out",
    valid: (L) => ({ seed: 1, step: 2, stream: 3, index: 4, out: L.r(0) }),
    hostile: (L) => [
      ["out past the end", { out: L.past }, STATUS_RANGE],
      ["out at 2^32 - 4 (8 bytes wrap past 2^32)", { out: -4 }, STATUS_RANGE],
    ],
  },
  change_precision: {
    params: "ptr rows cols fromBits toBits mode seed step stream stats",
    valid: (L) => ({ ptr: L.r(0), rows: 4, cols: 5, fromBits: 4, toBits: 12, mode: 1, seed: 0, step: 0, stream: 0, stats: L.r(1) }),
    hostile: (L) => [
      ["matrix past the end", { ptr: L.past }, STATUS_RANGE],
      ["stats near 2^32", { stats: L.near }, STATUS_RANGE],
      ["rows -1", { rows: U32_MAX }, STATUS_RANGE],
      ["65536 x 65536 at 8 bits (bytes wrap to 0)", { rows: 65536, cols: 65536, fromBits: 8, toBits: 8 }, STATUS_RANGE],
      ["a row of 2^34 bits at the wider width", { rows: 1, cols: 2 ** 30, fromBits: 2, toBits: 16 }, STATUS_RANGE],
    ],
  },
  pool_output_size: {
    params: "n k s",
    valid: () => ({ n: 7, k: 3, s: 2 }),
    ok: 3,
    hostile: () => [
      ["an output of 2^32 - 1 (reads as -1 in i32)", { n: U32_MAX, k: 1, s: 1 }, STATUS_RANGE],
      ["an output of 2^31", { n: 2 ** 31, k: 1, s: 1 }, STATUS_RANGE],
    ],
  },
  max_pool_forward: {
    params: `${pool} y`,
    valid: (L) => ({ x: L.r(0), N: 2, H: 4, W: 4, C: 3, bits: 8, kh: 2, kw: 2, sh: 2, sw: 2, y: L.r(1) }),
    hostile: (L) => [
      ["x past the end", { x: L.past }, STATUS_RANGE],
      ["y near 2^32", { y: L.near }, STATUS_RANGE],
      ["N -1", { N: U32_MAX }, STATUS_RANGE],
      ["N * H = 2^32 (wraps to 0)", { N: 65536, H: 65536 }, STATUS_RANGE],
      ["C 2^30: a row of 2^35 bits", { C: 2 ** 30 }, STATUS_RANGE],
      ["kh -1", { kh: U32_MAX }, STATUS_WINDOW],
      ["general path: x past the end", { x: L.past, kh: 3, kw: 3, sh: 1, sw: 1 }, STATUS_RANGE],
    ],
  },
  max_pool_backward: {
    params: `${pool} dy dyBits dx stats`,
    valid: (L) => ({ x: L.r(0), N: 2, H: 4, W: 4, C: 3, bits: 8, kh: 2, kw: 2, sh: 2, sw: 2, dy: L.r(1), dyBits: 8, dx: L.r(2), stats: L.r(3) }),
    hostile: (L) => [
      ["x past the end", { x: L.past }, STATUS_RANGE],
      ["dy past the end", { dy: L.past }, STATUS_RANGE],
      ["dx near 2^32", { dx: L.near }, STATUS_RANGE],
      ["stats near 2^32", { stats: L.near }, STATUS_RANGE],
      ["N * H = 2^32", { N: 65536, H: 65536 }, STATUS_RANGE],
      ["W -1", { W: U32_MAX }, STATUS_RANGE],
      ["overlapping windows: dx past the end", { dx: L.past, kh: 3, kw: 3, sh: 1, sw: 1 }, STATUS_RANGE],
    ],
  },
  avg_pool_forward: {
    params: `${pool} mode seed step stream y`,
    valid: (L) => ({ x: L.r(0), N: 2, H: 4, W: 4, C: 3, bits: 6, kh: 2, kw: 2, sh: 2, sw: 2, mode: 0, seed: 1, step: 2, stream: 3, y: L.r(1) }),
    hostile: (L) => [
      ["x past the end", { x: L.past }, STATUS_RANGE],
      ["y near 2^32", { y: L.near }, STATUS_RANGE],
      ["N * H = 2^32", { N: 65536, H: 65536 }, STATUS_RANGE],
      ["C -1", { C: U32_MAX }, STATUS_RANGE],
    ],
  },
  avg_pool_backward: {
    params: "dy N H W C bits kh kw sh sw mode seed step stream dx",
    valid: (L) => ({ dy: L.r(0), N: 2, H: 4, W: 4, C: 3, bits: 6, kh: 2, kw: 2, sh: 1, sw: 1, mode: 1, seed: 1, step: 2, stream: 3, dx: L.r(1) }),
    hostile: (L) => [
      ["dy past the end", { dy: L.past }, STATUS_RANGE],
      ["dx near 2^32", { dx: L.near }, STATUS_RANGE],
      ["N -1", { N: U32_MAX }, STATUS_RANGE],
    ],
  },
  relu_forward: {
    params: "ptr rows cols bits",
    valid: (L) => ({ ptr: L.r(0), rows: 5, cols: 7, bits: 8 }),
    hostile: (L) => [
      ["matrix past the end", { ptr: L.past }, STATUS_RANGE],
      ["matrix near 2^32", { ptr: L.near }, STATUS_RANGE],
      ["65536 x 65536 at 8 bits (bytes wrap to 0)", { rows: 65536, cols: 65536 }, STATUS_RANGE],
      ["rows -1 at 5 bits", { rows: U32_MAX, bits: 5 }, STATUS_RANGE],
    ],
  },
  relu_backward: {
    params: "y yBits dy dyBits rows cols dx",
    valid: (L) => ({ y: L.r(0), yBits: 8, dy: L.r(1), dyBits: 8, rows: 5, cols: 7, dx: L.r(2) }),
    hostile: (L) => [
      ["y past the end", { y: L.past }, STATUS_RANGE],
      ["dy past the end", { dy: L.past, dyBits: 6 }, STATUS_RANGE],
      ["dx near 2^32", { dx: L.near }, STATUS_RANGE],
      ["65536 x 65536", { rows: 65536, cols: 65536 }, STATUS_RANGE],
    ],
  },
  flatten_nhwc: {
    params: "src N H W C bits dst",
    valid: (L) => ({ src: L.r(0), N: 2, H: 3, W: 4, C: 5, bits: 7, dst: L.r(1) }),
    hostile: (L) => [
      ["src past the end", { src: L.past }, STATUS_RANGE],
      ["dst near 2^32", { dst: L.near }, STATUS_RANGE],
      ["H * W * C past a row's 2^32 bits", { H: 65536, W: 65536, C: 1 }, STATUS_RANGE],
      ["N -1", { N: U32_MAX }, STATUS_RANGE],
    ],
  },
  unflatten_nhwc: {
    params: "src N H W C bits dst",
    valid: (L) => ({ src: L.r(0), N: 2, H: 3, W: 4, C: 5, bits: 7, dst: L.r(1) }),
    hostile: (L) => [
      ["src past the end", { src: L.past }, STATUS_RANGE],
      ["dst near 2^32", { dst: L.near }, STATUS_RANGE],
      ["N * H = 2^32", { N: 65536, H: 65536 }, STATUS_RANGE],
    ],
  },
  quantize_f32: {
    params: "src rows cols bits mode seed step stream dst expOut",
    setup: (L, x) => new Float32Array(x.memory.buffer, L.r(0), 12).set([1, -2, 3.5, 0, 0.25, -7, 1, 2, 3, 4, 5, 6]),
    valid: (L) => ({ src: L.r(0), rows: 3, cols: 4, bits: 8, mode: 0, seed: 1, step: 2, stream: 3, dst: L.r(1), expOut: L.r(2) }),
    hostile: (L) => [
      ["src past the end", { src: L.past }, STATUS_RANGE],
      ["dst near 2^32", { dst: L.near }, STATUS_RANGE],
      ["expOut past the end", { expOut: L.end - 2 }, STATUS_RANGE],
      ["65536 x 65536 floats (x4 bytes wraps to 0)", { rows: 65536, cols: 65536 }, STATUS_RANGE],
    ],
  },
  max_abs_codes: {
    params: "ptr rows cols bits",
    setup: (L, x) => new Int8Array(x.memory.buffer, L.r(0), 16).set([3, -9, 4]),
    valid: (L) => ({ ptr: L.r(0), rows: 1, cols: 3, bits: 8 }),
    ok: 9,
    hostile: (L) => [
      ["matrix past the end", { ptr: L.end - 2 }, STATUS_RANGE],
      ["rows -1", { rows: U32_MAX }, STATUS_RANGE],
    ],
  },
  input_max_abs_f32: {
    params: "src n",
    setup: (L, x) => new Float32Array(x.memory.buffer, L.r(0), 5).set([1, -2, 3.5, 0, -7]),
    valid: (L) => ({ src: L.r(0), n: 5 }),
    ok: 7,
    hostile: (L) => [
      ["values past the end", { src: L.past }, STATUS_RANGE],
      ["values near 2^32", { src: L.near }, STATUS_RANGE],
      ["n 2^30 (x4 bytes wraps to 0)", { n: 2 ** 30 }, STATUS_RANGE],
      ["n -1", { n: U32_MAX }, STATUS_RANGE],
    ],
  },
  input_round_f32: {
    params: "src n exp bits dst rows cols first",
    setup: (L, x) => new Float32Array(x.memory.buffer, L.r(0), 12).set([1, -2, 3.5, 0, 0.25, -7, 1, 2, 3, 4, 5, 6]),
    valid: (L) => ({ src: L.r(0), n: 12, exp: -3, bits: 8, dst: L.r(1), rows: 3, cols: 4, first: 0 }),
    hostile: (L) => [
      ["src past the end", { src: L.past }, STATUS_RANGE],
      ["dst near 2^32", { dst: L.near }, STATUS_RANGE],
      ["dst past the end at 5 bits", { dst: L.end - 4, bits: 5 }, STATUS_RANGE],
      ["a run past the matrix", { first: 1 }, STATUS_RANGE],
      ["first near 2^32 (first + n wraps to 11)", { first: U32_MAX }, STATUS_RANGE],
      ["n 2^30 floats (x4 bytes wraps to 0)", { n: 2 ** 30, rows: 2 ** 15, cols: 2 ** 15 }, STATUS_RANGE],
      ["65536 x 65536 codes", { rows: 65536, cols: 65536 }, STATUS_RANGE],
      ["a row of 2^34 bits", { rows: 1, cols: 2 ** 30, bits: 16 }, STATUS_RANGE],
    ],
  },
  softmax_cross_entropy: {
    params: "logits N classes bits exp labels labelBytes errBits mode seed step stream dlogits lossOut correctOut expOut",
    setup: (L, x) => new Int32Array(x.memory.buffer, L.r(1), 3).set([0, 2, 1]),
    valid: (L) => ({
      logits: L.r(0), N: 3, classes: 4, bits: 8, exp: -3, labels: L.r(1), labelBytes: 4, errBits: 8,
      mode: 0, seed: 1, step: 2, stream: 3, dlogits: L.r(2), lossOut: L.r(3), correctOut: L.r(3) + 8, expOut: L.r(3) + 12,
    }),
    hostile: (L) => [
      ["logits past the end", { logits: L.past }, STATUS_RANGE],
      ["labels past the end", { labels: L.past }, STATUS_RANGE],
      ["dlogits near 2^32", { dlogits: L.near }, STATUS_RANGE],
      ["lossOut past the end", { lossOut: L.end - 4 }, STATUS_RANGE],
      ["correctOut near 2^32", { correctOut: L.near }, STATUS_RANGE],
      ["expOut past the end", { expOut: L.end - 2 }, STATUS_RANGE],
      ["N -1", { N: U32_MAX }, STATUS_RANGE],
      ["N 2^30 labels of 4 bytes (wraps to 0)", { N: 2 ** 30 }, STATUS_RANGE],
    ],
  },
  gemm: {
    params: "a aRows aCols aBits transA b bRows bCols bBits transB c work workBytes",
    valid: (L) => ({
      a: L.r(0), aRows: 3, aCols: 4, aBits: 8, transA: 0, b: L.r(1), bRows: 4, bCols: 5, bBits: 8, transB: 0,
      c: L.r(2), work: L.r(3), workBytes: 4 * REGION,
    }),
    hostile: (L) => [
      ["C past the end", { c: L.past }, STATUS_RANGE],
      ["A near 2^32", { a: L.near }, STATUS_RANGE],
      ["workspace past the end", { workBytes: L.end }, STATUS_RANGE],
    ],
  },
  gemm_views: {
    params: "a b c work workBytes",
    setup: (L, x) => {
      writeView(x.memory.buffer, L.r(7), plainView(L.r(0), 8, 3, 4));
      writeView(x.memory.buffer, L.r(7) + VIEW_BYTES, plainView(L.r(1), 8, 4, 5));
    },
    valid: (L) => ({ a: L.r(7), b: L.r(7) + VIEW_BYTES, c: L.r(2), work: L.r(3), workBytes: 4 * REGION }),
    written: (L) => [viewStride(L.r(7)), viewStride(L.r(7) + VIEW_BYTES)],
    hostile: (L) => [
      ["view descriptor near 2^32", { a: L.near }, STATUS_RANGE],
      ["C past the end", { c: L.past }, STATUS_RANGE],
    ],
  },
  gemm_fused: {
    params: "a b out stage work workBytes",
    setup: (L, x) => {
      writeView(x.memory.buffer, L.r(7), plainView(L.r(0), 8, 3, 4));
      writeView(x.memory.buffer, L.r(7) + VIEW_BYTES, plainView(L.r(1), 8, 4, 5));
      writeStage(x.memory.buffer, L.r(7) + 2 * VIEW_BYTES, { mode: "store", c: L.r(2) });
    },
    valid: (L) => ({ a: L.r(7), b: L.r(7) + VIEW_BYTES, out: 0, stage: L.r(7) + 2 * VIEW_BYTES, work: L.r(3), workBytes: 4 * REGION }),
    written: (L) => [viewStride(L.r(7)), viewStride(L.r(7) + VIEW_BYTES), stageResults(L.r(7) + 2 * VIEW_BYTES)],
    hostile: (L) => [
      ["stage descriptor past the end", { stage: L.end - STAGE_BYTES + 8 }, STATUS_RANGE],
      ["workspace near 2^32", { work: L.near, workBytes: 64 }, STATUS_RANGE],
    ],
  },
  f32_gemm: {
    params: "a b c M N K transA transB accumulate work workBytes",
    valid: (L) => ({ a: L.r(0), b: L.r(1), c: L.r(2), M: 3, N: 5, K: 4, transA: 0, transB: 0, accumulate: 0, work: L.r(3), workBytes: 4 * REGION }),
    hostile: (L) => [
      ["C past the end", { c: L.past }, STATUS_RANGE],
      ["B near 2^32", { b: L.near }, STATUS_RANGE],
      ["M * N = 2^32 (x4 bytes wraps to 0)", { M: 65536, N: 65536, K: 1 }, STATUS_RANGE],
      ["workspace past the end", { workBytes: L.end }, STATUS_RANGE],
    ],
  },
  f32_im2col: {
    params: "x N H W C kh kw sh sw ph pw cols",
    valid: (L) => ({ x: L.r(0), N: 1, H: 4, W: 4, C: 2, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, cols: L.r(1) }),
    hostile: (L) => [
      ["x past the end", { x: L.past }, STATUS_RANGE],
      ["cols near 2^32", { cols: L.near }, STATUS_RANGE],
      ["N -1", { N: -1 }, STATUS_DIMENSION],
      ["padding 2^30 (the padded size passes i32)", { ph: 2 ** 30 }, STATUS_DIMENSION],
      ["C 2^28, N 16: x would be 2^36 bytes", { N: 16, C: 2 ** 28 }, STATUS_RANGE],
    ],
  },
  f32_col2im: {
    params: "dcols N H W C kh kw sh sw ph pw dx",
    valid: (L) => ({ dcols: L.r(0), N: 1, H: 4, W: 4, C: 2, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dx: L.r(1) }),
    hostile: (L) => [
      ["dcols past the end", { dcols: L.past }, STATUS_RANGE],
      ["dx near 2^32", { dx: L.near }, STATUS_RANGE],
      ["W -5", { W: -5 }, STATUS_DIMENSION],
    ],
  },
  f32_bias_act: {
    params: "y rows cols bias relu",
    valid: (L) => ({ y: L.r(0), rows: 3, cols: 6, bias: L.r(1), relu: 1 }),
    hostile: (L) => [
      ["y past the end", { y: L.past }, STATUS_RANGE],
      ["bias near 2^32", { bias: L.near }, STATUS_RANGE],
      ["rows -1", { rows: -1 }, STATUS_DIMENSION],
      ["65536 x 65536 (x4 bytes wraps to 0)", { rows: 65536, cols: 65536 }, STATUS_RANGE],
    ],
  },
  f32_bias_grad: {
    params: "dy rows cols db",
    valid: (L) => ({ dy: L.r(0), rows: 3, cols: 6, db: L.r(1) }),
    hostile: (L) => [
      ["db past the end", { db: L.past }, STATUS_RANGE],
      ["cols -1", { cols: -1 }, STATUS_DIMENSION],
      ["65536 x 65536", { rows: 65536, cols: 65536 }, STATUS_RANGE],
    ],
  },
  f32_relu_forward: {
    params: "x n y",
    valid: (L) => ({ x: L.r(0), n: 10, y: L.r(1) }),
    hostile: (L) => [
      ["y past the end", { y: L.past }, STATUS_RANGE],
      ["n -1", { n: -1 }, STATUS_DIMENSION],
      ["n 2^30 (x4 bytes wraps to 0)", { n: 2 ** 30 }, STATUS_RANGE],
    ],
  },
  f32_relu_backward: {
    params: "y dy n dx",
    valid: (L) => ({ y: L.r(0), dy: L.r(1), n: 10, dx: L.r(2) }),
    hostile: (L) => [
      ["dx near 2^32", { dx: L.near }, STATUS_RANGE],
      ["n -7", { n: -7 }, STATUS_DIMENSION],
    ],
  },
  f32_sgd: {
    params: "w g n lr",
    valid: (L) => ({ w: L.r(0), g: L.r(1), n: 10, lr: 0.5 }),
    hostile: (L) => [
      ["w past the end", { w: L.past }, STATUS_RANGE],
      ["n -1", { n: -1 }, STATUS_DIMENSION],
      ["n 2^30", { n: 2 ** 30 }, STATUS_RANGE],
    ],
  },
  f32_max_pool_forward: {
    params: "x N H W C kh kw sh sw y",
    valid: (L) => ({ x: L.r(0), N: 2, H: 4, W: 4, C: 3, kh: 2, kw: 2, sh: 2, sw: 2, y: L.r(1) }),
    hostile: (L) => [
      ["y past the end", { y: L.past }, STATUS_RANGE],
      ["N -1", { N: -1 }, STATUS_DIMENSION],
      ["N 2^20, C 2^10: x past memory", { N: 2 ** 20, C: 2 ** 10 }, STATUS_RANGE],
    ],
  },
  f32_max_pool_backward: {
    params: "x N H W C kh kw sh sw dy dx",
    valid: (L) => ({ x: L.r(0), N: 2, H: 4, W: 4, C: 3, kh: 2, kw: 2, sh: 2, sw: 2, dy: L.r(1), dx: L.r(2) }),
    hostile: (L) => [
      ["dx near 2^32", { dx: L.near }, STATUS_RANGE],
      ["dy past the end", { dy: L.past }, STATUS_RANGE],
    ],
  },
  f32_avg_pool_forward: {
    params: "x N H W C kh kw sh sw y",
    valid: (L) => ({ x: L.r(0), N: 2, H: 4, W: 4, C: 3, kh: 2, kw: 2, sh: 2, sw: 2, y: L.r(1) }),
    hostile: (L) => [["x past the end", { x: L.past }, STATUS_RANGE]],
  },
  f32_avg_pool_backward: {
    params: "dy N H W C kh kw sh sw dx",
    valid: (L) => ({ dy: L.r(0), N: 2, H: 4, W: 4, C: 3, kh: 2, kw: 2, sh: 1, sw: 1, dx: L.r(1) }),
    hostile: (L) => [
      ["dx past the end", { dx: L.past }, STATUS_RANGE],
      ["C -3", { C: -3 }, STATUS_DIMENSION],
    ],
  },
  f32_softmax_xent: {
    params: "logits N classes labels dlogits out",
    setup: (L, x) => new Uint8Array(x.memory.buffer, L.r(1), 3).set([0, 2, 1]),
    valid: (L) => ({ logits: L.r(0), N: 3, classes: 4, labels: L.r(1), dlogits: L.r(2), out: L.r(3) }),
    hostile: (L) => [
      ["out past the end (12 bytes)", { out: L.end - 8 }, STATUS_RANGE],
      ["dlogits near 2^32", { dlogits: L.near }, STATUS_RANGE],
      ["labels past the end", { labels: L.end - 2 }, STATUS_RANGE],
      ["N 2^30 (x classes x4 bytes wraps)", { N: 2 ** 30 }, STATUS_RANGE],
    ],
  },
};

const wasmBytes = {
  simd: await readFile(new URL("../build/aptkit.simd.wasm", import.meta.url)),
  scalar: await readFile(new URL("../build/aptkit.scalar.wasm", import.meta.url)),
};

async function load(isa: keyof typeof wasmBytes): Promise<Exports> {
  const { instance } = await WebAssembly.instantiate(wasmBytes[isa], {});
  const x = instance.exports as unknown as Exports;
  x.memory.grow(PAGES - x.memory.buffer.byteLength / 65536);
  return x;
}

function call(x: Exports, name: string, params: string, args: Record<string, number>): number {
  const names = params.split(" ");
  for (const k of Object.keys(args)) assert.ok(names.includes(k), `${name}: no parameter ${k}`);
  const f = x[name];
  assert.equal(typeof f, "function", `export ${name}`);
  return f(...names.map((n) => {
    assert.ok(n in args, `${name}: argument ${n} missing`);
    return args[n];
  }));
}

for (const isa of ["simd", "scalar"] as const) {
  describe(`${isa} build: hostile extents get a status, never a trap or a stray write`, async () => {
    const x = await load(isa);
    const base = (x.heap_base() + 15) & ~15;
    const end = x.memory.buffer.byteLength;
    const L: Layout = { r: (i) => base + i * REGION, end, past: end - 4, near: 0xfffffff0 | 0 };
    assert.ok(L.r(8) <= end, "the layout fits the test's memory");

    test("every export with sizes or offsets has a case", () => {
      const exported = WebAssembly.Module.exports(new WebAssembly.Module(wasmBytes[isa]))
        .filter((e) => e.kind === "function").map((e) => e.name);
      const sizeFree = new Set([
        "abi_version", "has_simd", "has_relaxed_simd", "heap_base", "gemm_relaxed_used", "f32_abi_version",
        // size queries: they compute, never touch memory (their bounds are tested below)
        "gemm_workspace_bytes", "gemm_fused_workspace_bytes", "gemm_b_panels_bytes", "f32_gemm_workspace_bytes",
        // covered with their plain twin: same entry checks, tested in tests/memory-limits.test.ts
        "gemm_prepack_b", "gemm_prepacked",
      ]);
      const missing = exported.filter((n) => !sizeFree.has(n) && !(n in CASES));
      assert.deepEqual(missing, [], "exports without a hostile-extents case");
    });

    test("size queries stay in range for the largest arguments", () => {
      for (const name of ["gemm_workspace_bytes", "gemm_fused_workspace_bytes", "gemm_b_panels_bytes"]) {
        const bytes = x[name](U32_MAX, U32_MAX, U32_MAX, 16, 16) >>> 0;
        assert.ok(bytes < 2 ** 31, `${name}(2^32-1, 2^32-1, 2^32-1, 16, 16) = ${bytes}`);
      }
      assert.ok(x.f32_gemm_workspace_bytes(U32_MAX, U32_MAX, U32_MAX) >>> 0 < 2 ** 31);
    });

    for (const [name, c] of Object.entries(CASES)) {
      test(name, () => {
        new Uint8Array(x.memory.buffer, base).fill(0);
        c.setup?.(L, x);
        const valid = c.valid(L);
        assert.equal(call(x, name, c.params, valid), c.ok ?? STATUS_OK, `${name}: the sane call`);
        for (const [what, overrides, status] of c.hostile(L)) {
          // A pattern the kernels would not write, so a stray write of any value shows.
          const memory = new Uint8Array(x.memory.buffer);
          for (let i = base; i < memory.length; i++) memory[i] = (i * 131 + 7) & 0xff;
          c.setup?.(L, x);
          const before = memory.slice();
          assert.equal(call(x, name, c.params, { ...valid, ...overrides }), status, `${name}: ${what}`);
          assert.equal(x.memory.buffer.byteLength, before.length, `${name}: ${what}: memory grew`);
          const after = new Uint8Array(x.memory.buffer);
          for (const [at, bytes] of c.written?.(L) ?? []) after.set(before.subarray(at, at + bytes), at);
          // The caller's memory: from heap_base up (below it is the module's own data).
          const changed = after.findIndex((b, i) => i >= base && b !== before[i]);
          assert.equal(changed, -1, `${name}: ${what}: byte ${changed} changed`);
        }
      });
    }
  });
}
