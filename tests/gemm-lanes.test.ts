// The scalar build's lane panels (assembly/gemm/index.ts, "Lane panels"): three columns of B per
// i64 word (21-bit lanes) or f64 word (17-bit lanes), each lane's sums taken out into the i32 tile
// after a stretch of K bounded from the widths (blocking.ts setOperands). A stretch one pair too
// long overflows a lane only when the codes are near their maximum and K reaches it inside one K
// block, which the shape sweeps elsewhere rarely do. Here fused STORE and MAXABS products (and
// REQUANT with nearest rounding) of the scalar build are compared with the SIMD build and with
// reference.gemm, on: every width pair 2..16, more cases for the narrow pairs that take f64 lanes
// and for 8x8 / 8x6; all-maximum codes (the lane bound's worst case); K at the stretch, one either
// side and twice it, for both word kinds; plain and padded IM2COL operands; all four transposes;
// workspaces from the minimum up (the lane panels, whole-K blocks and f64 words each need room).
// Then decodeRow at every width, start column and count, through an IM2COL view, which packing
// decodes one patch (a run of one line) at a time when the workspace has no room for a line cache.
//
// Deterministic (seeded). LANES_SCALAR_WASM=path runs the scalar side from another build, e.g. a
// deliberately broken one, to see the test fail.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { instantiateAbi } from "../src/runtime/wasm.js";
import type { AbiExports } from "../src/runtime/abi-exports.js";
import { VIEW_BYTES, readStage, writeStage, writeView, type Stage, type View } from "../src/runtime/descriptors.js";
import { gemm as referenceGemm } from "../src/reference/gemm.js";
import { pack, unpack } from "../src/reference/packed.js";
import { nearestEven } from "../src/reference/rounding.js";
import type { PackedMatrix } from "../src/format/packed.js";
import { Rng, maxCodeOf } from "./helpers/random.js";

const ALL_BITS = Array.from({ length: 15 }, (_, i) => i + 2);

/** The largest K block (blocking.ts WHOLE_K_MAX): a lane stretch longer than this is never reached. */
const WHOLE_K_MAX = 1024;

/**
 * The lane stretches in K (elements, a whole number of pairs) of a width pair, derived here from the
 * bound itself: n products of codes of magnitude <= 2^(aBits-1), 2^(bBits-1) stay inside an L-bit
 * lane when n * 2^(aBits-1) * 2^(bBits-1) <= 2^(L-1) - 1, n rounded down to whole pairs; stretches
 * under 8 pairs are not used (0). i64 words: L = 21; f64 words: L = 17.
 */
function laneStretches(aBits: number, bBits: number): { i64: number; f64: number } {
  const stretch = (laneBits: number) => {
    const e = aBits + bBits - 2;
    if (e >= laneBits - 1) return 0;
    const pairs = Math.floor((2 ** (laneBits - 1 - e) - 1) / 2);
    return pairs >= 8 ? 2 * pairs : 0;
  };
  return { i64: stretch(21), f64: stretch(17) };
}

/** K values around a pair's stretches worth a case: stretch - 1, stretch, stretch + 1, 2 * stretch. */
function boundaryKs(aBits: number, bBits: number, limit: number): number[] {
  const { i64, f64 } = laneStretches(aBits, bBits);
  const ks: number[] = [];
  for (const s of [i64, f64]) if (s > 0) ks.push(s - 1, s, s + 1, 2 * s);
  return [...new Set(ks)].filter((k) => k <= limit).sort((x, y) => x - y);
}

type Fill = "allmax" | "extremes" | "random";

interface Operand {
  /** Stored codes and their matrix shape (the tensor's N*H x W*C lines for an IM2COL view). */
  codes: Int32Array;
  rows: number;
  cols: number;
  bits: number;
  view: View;
  /** op(X) as a plain matrix for the reference (stored M x K, or K x M when trans, as the view). */
  plain: PackedMatrix;
}

interface Case {
  name: string;
  M: number;
  N: number;
  K: number;
  a: Operand;
  b: Operand;
  /** Workspace sizes beyond gemm_fused_workspace_bytes to run the scalar build at. */
  extras: number[];
}

// ---------------------------------------------------------------------------------------------
// Operands

/** op(X) codes, M x K (or K x N for B), by fill. allmax: every code +-max with one sign for the
 *  whole matrix, so every lane sums K products of the same sign, the largest the bound allows. */
function opCodes(rng: Rng, rows: number, cols: number, bits: number, fill: Fill, sign: 1 | -1, byRow: boolean): Int32Array {
  const m = maxCodeOf(bits);
  const out = new Int32Array(rows * cols);
  if (fill === "allmax") return out.fill(sign * m);
  if (fill === "random") {
    for (let x = 0; x < out.length; x++) out[x] = rng.int(-m, m);
    return out;
  }
  // extremes: +-max, one sign per row (A) or column (B): rank-1 signs, |C| = K * mA * mB.
  const lineCount = byRow ? rows : cols;
  const signs = Array.from({ length: lineCount }, (_, i) => (i === 0 ? sign : rng.sign()));
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = signs[byRow ? r : c] * m;
  return out;
}

function transpose(src: Int32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/** A plain operand holding op(X) (rows x cols of op) stored transposed or not. */
function plainOperand(op: Int32Array, opRows: number, opCols: number, bits: number, trans: boolean): Operand {
  const codes = trans ? transpose(op, opRows, opCols) : op;
  const rows = trans ? opCols : opRows, cols = trans ? opRows : opCols;
  return {
    codes, rows, cols, bits,
    view: { kind: "plain", at: 0, bits, rows, cols, trans },
    plain: pack(codes, rows, cols, bits),
  };
}

interface Conv { n: number; h: number; w: number; c: number; kh: number; kw: number; ph: number; pw: number }

/** An IM2COL operand of a stride-1 padded convolution's input; `plain` is its patch matrix
 *  P (n*oh*ow x kh*kw*c), so op = P, or P^T when trans (the weight gradient). */
function im2colOperand(input: Int32Array, cv: Conv, bits: number, trans: boolean): Operand {
  const { n, h, w, c, kh, kw, ph, pw } = cv;
  const oh = h + 2 * ph - kh + 1, ow = w + 2 * pw - kw + 1;
  const pr = n * oh * ow, pc = kh * kw * c;
  const p = new Int32Array(pr * pc);
  for (let b = 0; b < n; b++) for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
    const r = (b * oh + y) * ow + x;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = y + ky - ph, ix = x + kx - pw;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      for (let ch = 0; ch < c; ch++) p[r * pc + (ky * kw + kx) * c + ch] = input[((b * h + iy) * w + ix) * c + ch];
    }
  }
  return {
    codes: input, rows: n * h, cols: w * c, bits,
    view: {
      kind: "im2col", at: 0, bits, n, h, w, c, kh, kw, strideH: 1, strideW: 1, padH: ph, padW: pw,
      dilateH: 1, dilateW: 1, outH: oh, outW: ow, trans,
    },
    plain: pack(p, pr, pc, bits),
  };
}

// ---------------------------------------------------------------------------------------------
// Running a case on a build

const PAGE = 65536;

class Build {
  constructor(readonly isa: string, readonly abi: AbiExports) {}
  static async load(isa: string, path: URL | string): Promise<Build> {
    return new Build(isa, await instantiateAbi(new Uint8Array(await readFile(path))));
  }
  get mem(): ArrayBuffer { return this.abi.memory.buffer; }
  reserve(end: number): void {
    const have = this.abi.memory.buffer.byteLength;
    if (end > have) this.abi.memory.grow(Math.ceil((end - have) / PAGE));
  }
}

interface Placed { va: number; vb: number; vo: number; st: number; aAt: number; bAt: number; free: number }

const align = (x: number, to = 16) => Math.ceil(x / to) * to;

/** Writes both operands' bytes and views into the build's memory. */
function place(build: Build, cs: Case): Placed {
  const base = align(build.abi.heap_base());
  const va = base, vb = va + VIEW_BYTES, vo = vb + VIEW_BYTES, st = align(vo + VIEW_BYTES);
  const aBytes = pack(cs.a.codes, cs.a.rows, cs.a.cols, cs.a.bits).bytes;
  const bBytes = pack(cs.b.codes, cs.b.rows, cs.b.cols, cs.b.bits).bytes;
  const aAt = align(st + 1024), bAt = align(aAt + aBytes.length + 64);
  const free = align(bAt + bBytes.length + 64);
  build.reserve(free);
  new Uint8Array(build.mem, aAt, aBytes.length).set(aBytes);
  new Uint8Array(build.mem, bAt, bBytes.length).set(bBytes);
  writeView(build.mem, va, { ...cs.a.view, at: aAt });
  writeView(build.mem, vb, { ...cs.b.view, at: bAt });
  return { va, vb, vo, st, aAt, bAt, free };
}

interface Run { c: Float64Array; maxAbs: number }

/** STORE then MAXABS, the workspace `extra` bytes beyond the minimum and poisoned. */
function runStoreMax(build: Build, cs: Case, extra: number): Run {
  const p = place(build, cs);
  const { M, N, K } = cs;
  const need = build.abi.gemm_fused_workspace_bytes(M, N, K, cs.a.bits, cs.b.bits) >>> 0;
  const cAt = p.free, work = align(cAt + M * N * 8 + 64), workBytes = need + extra;
  build.reserve(work + workBytes + 64);
  new Uint8Array(build.mem, cAt, M * N * 8).fill(0x5a);
  const call = (stage: Stage, what: string) => {
    new Uint8Array(build.mem, work, workBytes).fill(0xa5);
    writeStage(build.mem, p.st, stage);
    const status = build.abi.gemm_fused(p.va, p.vb, p.vo, p.st, work, workBytes);
    assert.equal(status, 0, `${build.isa} ${what} status, ${cs.name} extra=${extra}`);
  };
  call({ mode: "store", c: cAt }, "STORE");
  const c = new Float64Array(build.mem, cAt, M * N).slice();
  call({ mode: "maxabs" }, "MAXABS");
  return { c, maxAbs: readStage(build.mem, p.st).maxAbs };
}

function firstDifference(got: Float64Array, want: ArrayLike<number>): number {
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return i;
  return got.length === want.length ? -1 : want.length;
}

function maxAbsOf(c: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < c.length; i++) m = Math.max(m, Math.abs(c[i]));
  return m;
}

/** The whole check of a case: reference, SIMD build, scalar build at each workspace size. */
function check(scalar: Build, simd: Build, cs: Case): void {
  const want = referenceGemm(cs.a.plain, cs.b.plain, { transA: cs.a.view.trans, transB: cs.b.view.trans });
  assert.equal(want.length, cs.M * cs.N, `reference shape, ${cs.name}`);
  const wantMax = maxAbsOf(want);
  const compare = (run: Run, who: string) => {
    const at = firstDifference(run.c, want);
    if (at >= 0) {
      assert.fail(`${who} STORE differs from reference.gemm at C[${Math.floor(at / cs.N)}][${at % cs.N}]: ` +
        `${run.c[at]} != ${want[at]}, ${cs.name}`);
    }
    assert.equal(run.maxAbs, wantMax, `${who} MAXABS, ${cs.name}`);
  };
  const fromSimd = runStoreMax(simd, cs, 1 << 20);
  compare(fromSimd, "simd");
  for (const extra of cs.extras) {
    const fromScalar = runStoreMax(scalar, cs, extra);
    // Same as the SIMD build (bit-identical builds), then as the reference.
    const at = firstDifference(fromScalar.c, fromSimd.c);
    if (at >= 0) {
      assert.fail(`scalar (extra workspace ${extra}) STORE differs from simd at C[${Math.floor(at / cs.N)}][${at % cs.N}]: ` +
        `${fromScalar.c[at]} != ${fromSimd.c[at]}, ${cs.name}`);
    }
    assert.equal(fromScalar.maxAbs, fromSimd.maxAbs, `scalar (extra workspace ${extra}) MAXABS vs simd, ${cs.name}`);
    compare(fromScalar, `scalar (extra workspace ${extra})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Case generation

/** Workspace sizes beyond the minimum: none (short K blocks, no lane panel or i64 words only),
 *  a little, enough for whole-K blocks and lane panels, and plenty (f64 words where allowed). */
const EXTRAS = [0, 64, 2048, 16384, 65536, 1 << 20];
const MS = [1, 3, 4, 5, 8, 9];
const NS = [1, 5, 6, 7, 12, 13];
const LAYOUTS = [[false, false], [false, true], [true, false], [true, true]] as const;

function plainCase(
  rng: Rng, aBits: number, bBits: number, M: number, N: number, K: number, tA: boolean, tB: boolean,
  fill: Fill, signs: [1 | -1, 1 | -1], extras: number[], tag: string,
): Case {
  const opA = opCodes(rng, M, K, aBits, fill, signs[0], true);
  const opB = opCodes(rng, K, N, bBits, fill, signs[1], false);
  return {
    name: `${tag}: bits=(${aBits},${bBits}) M=${M} N=${N} K=${K} transA=${tA} transB=${tB} fill=${fill} ` +
      `signs=(${signs[0]},${signs[1]})`,
    M, N, K,
    a: plainOperand(opA, M, K, aBits, tA),
    b: plainOperand(opB, K, N, bBits, tB),
    extras,
  };
}

/** An IM2COL A (a padded convolution's input, or its transpose for the weight gradient) times a
 *  plain B, with the convolution shaped so K comes near `targetK`. */
function im2colCase(
  rng: Rng, aBits: number, bBits: number, targetK: number, tA: boolean, tB: boolean, fill: Fill,
  signs: [1 | -1, 1 | -1], extras: number[], tag: string,
): Case {
  let cv: Conv;
  if (!tA) {
    // K = kh * kw * c.
    const kh = rng.int(1, 3), kw = rng.int(2, 3);
    const c = Math.max(1, Math.round(targetK / (kh * kw)));
    cv = { n: rng.int(1, 2), h: rng.int(2, 5), w: rng.int(3, 6), c, kh, kw, ph: rng.int(0, kh - 1), pw: rng.int(1, kw - 1) };
  } else {
    // K = n * oh * ow, with oh = h and ow = w (pad (k-1)/2 of an odd kernel).
    const kh = rng.pick([1, 3]), kw = 3;
    const w = rng.int(4, 12);
    const h = Math.max(1, Math.round(targetK / w));
    cv = { n: 1, h, w, c: rng.int(1, 3), kh, kw, ph: (kh - 1) / 2, pw: 1 };
  }
  const input = opCodes(rng, cv.n * cv.h, cv.w * cv.c, aBits, fill, signs[0], true);
  const a = im2colOperand(input, cv, aBits, tA);
  const pr = a.plain.rows, pc = a.plain.cols;
  const M = tA ? pc : pr, K = tA ? pr : pc;
  const N = rng.pick(NS);
  const opB = opCodes(rng, K, N, bBits, fill, signs[1], false);
  return {
    name: `${tag}: bits=(${aBits},${bBits}) im2col n=${cv.n} h=${cv.h} w=${cv.w} c=${cv.c} k=${cv.kh}x${cv.kw} ` +
      `pad=${cv.ph},${cv.pw} transA=${tA} transB=${tB} M=${M} N=${N} K=${K} fill=${fill} signs=(${signs[0]},${signs[1]})`,
    M, N, K, a, b: plainOperand(opB, K, N, bBits, tB), extras,
  };
}

/** The narrow pairs that may take f64 lanes (aBits + bBits <= 13) with a stretch inside a K block. */
const F64_PAIRS = ALL_BITS.flatMap((a) => ALL_BITS.map((b) => [a, b] as [number, number]))
  .filter(([a, b]) => laneStretches(a, b).f64 > 0);
/** Pairs given many cases: byte x byte (lenet5's), 8 x 6, and a spread of narrow ones. */
const FOCUS: [number, number][] = [[8, 8], [8, 6], [6, 8], [4, 4], [5, 8], [6, 6], [7, 6], [4, 9], [3, 10], [2, 8]];

// ---------------------------------------------------------------------------------------------

const scalarPath = process.env.LANES_SCALAR_WASM ?? new URL("../build/aptkit.scalar.wasm", import.meta.url);

describe("gemm lane panels: scalar build vs simd build vs reference", () => {
  let scalar: Build, simd: Build;
  before(async () => {
    scalar = await Build.load("scalar", scalarPath);
    simd = await Build.load("simd", new URL("../build/aptkit.simd.wasm", import.meta.url));
    assert.equal(Boolean(scalar.abi.has_simd()), false);
    assert.equal(Boolean(simd.abi.has_simd()), true);
  });

  test("the stretch bound: every pair's stretch keeps n * 2^(a-1) * 2^(b-1) below 2^(L-1), one more pair would not", () => {
    for (const a of ALL_BITS) for (const b of ALL_BITS) {
      for (const [kind, L] of [["i64", 21], ["f64", 17]] as const) {
        const s = laneStretches(a, b)[kind];
        if (s === 0) continue;
        const unit = 2 ** (a - 1) * 2 ** (b - 1);
        assert.ok(s * unit <= 2 ** (L - 1) - 1, `${kind} stretch ${s} of (${a},${b}) within the lane`);
        assert.ok((s + 2) * unit > 2 ** (L - 1) - 1, `${kind} stretch ${s} of (${a},${b}) is the longest`);
      }
    }
    // The cases below reach both kinds of stretch inside a K block.
    assert.ok(F64_PAIRS.length > 0 && boundaryKs(8, 8, WHOLE_K_MAX).length > 0);
  });

  test("every width pair 2..16: all-maximum codes at K = stretch - 1, stretch, stretch + 1, 2 * stretch", () => {
    const rng = new Rng(1);
    let s = 0;
    for (const a of ALL_BITS) for (const b of ALL_BITS) {
      const ks = boundaryKs(a, b, 2 * WHOLE_K_MAX + 2);
      // Pairs without a reachable stretch: one K block, and several.
      if (ks.length === 0) ks.push(WHOLE_K_MAX - 1, WHOLE_K_MAX + 3);
      for (const K of ks) {
        s++;
        const [tA, tB] = LAYOUTS[s % 4];
        const signs: [1 | -1, 1 | -1] = [s & 1 ? 1 : -1, s & 2 ? 1 : -1];
        // The minimum, plenty, and one size between (rotating).
        const extras = [0, EXTRAS[1 + (s % 4)], 1 << 20];
        check(scalar, simd, plainCase(rng, a, b, MS[s % MS.length], NS[(s >> 1) % NS.length], K, tA, tB,
          "allmax", signs, extras, `pair sweep #${s}`));
      }
    }
  });

  test("narrow pairs (f64 lanes) and 8x8 / 8x6: boundary K, each layout, every workspace size, all fills", () => {
    const rng = new Rng(2);
    let s = 0;
    const pairs = [...FOCUS, ...F64_PAIRS.filter((_, i) => i % 3 === 0)];
    for (const [a, b] of pairs) {
      for (const K of boundaryKs(a, b, 2 * WHOLE_K_MAX + 2)) {
        for (const [tA, tB] of LAYOUTS) {
          s++;
          const fill: Fill = (["allmax", "allmax", "extremes", "random"] as const)[s % 4];
          const signs: [1 | -1, 1 | -1] = [s & 4 ? 1 : -1, s & 8 ? 1 : -1];
          check(scalar, simd, plainCase(rng, a, b, MS[s % MS.length], NS[(s >> 2) % NS.length], K, tA, tB,
            fill, signs, EXTRAS, `focus #${s}`));
        }
      }
    }
  });

  test("narrow and wide pairs whose stretch no K block reaches: K across blocks (255..1025, 2049)", () => {
    const rng = new Rng(3);
    let s = 0;
    for (const [a, b] of [[2, 2], [2, 3], [3, 3], [2, 5], [4, 2], [16, 2], [12, 12], [16, 16], [10, 8]] as const) {
      for (const K of [255, 257, 1023, 1025, 2049]) {
        s++;
        const [tA, tB] = LAYOUTS[s % 4];
        check(scalar, simd, plainCase(rng, a, b, 5, 7, K, tA, tB, s % 2 ? "allmax" : "extremes",
          [1, s & 2 ? 1 : -1], [0, EXTRAS[s % EXTRAS.length], 1 << 20], `blocks #${s}`));
      }
    }
  });

  test("padded IM2COL A (forward and weight gradient) near each stretch, both B transposes", () => {
    const rng = new Rng(4);
    let s = 0;
    for (const [a, b] of [...FOCUS, [9, 4], [10, 10], [12, 8], [16, 8]] as [number, number][]) {
      const targets = boundaryKs(a, b, WHOLE_K_MAX);
      if (targets.length === 0) targets.push(200);
      for (const K of targets) {
        for (const tA of [false, true]) {
          s++;
          const fill: Fill = s % 3 === 2 ? "random" : "allmax";
          check(scalar, simd, im2colCase(rng, a, b, K, tA, s % 2 === 0, fill, [1, s & 2 ? 1 : -1],
            [0, EXTRAS[s % EXTRAS.length], 1 << 20], `im2col #${s}`));
        }
      }
    }
  });

  test("REQUANT, nearest rounding: scalar = simd = round-half-even(C * 2^-s) clamped", () => {
    const rng = new Rng(5);
    let s = 0;
    for (const [a, b, K, outBits] of [[8, 8, 62, 8], [8, 6, 254, 5], [4, 4, 1022, 8], [6, 6, 126, 12]] as const) {
      for (const [tA, tB] of LAYOUTS) {
        s++;
        const M = 9, N = 13;
        const cs = plainCase(rng, a, b, M, N, K, tA, tB, s % 2 ? "random" : "extremes", [1, -1], [], `requant #${s}`);
        const C = referenceGemm(cs.a.plain, cs.b.plain, { transA: tA, transB: tB });
        // A power-of-two scale (products exact) that puts the largest |C| a little past the
        // output's range: some codes clamp, the rest round, ties included.
        const limit = maxCodeOf(outBits);
        const shift = Math.max(0, Math.ceil(Math.log2(maxAbsOf(C) / limit)) - 1);
        const scale = 2 ** -shift;
        const want = Array.from(C, (v) => Math.max(-limit, Math.min(limit, nearestEven(v * scale))) + 0); // + 0: no -0
        const outs: Uint8Array[] = [];
        for (const [build, extra] of [[simd, 1 << 20], [scalar, 0], [scalar, 1 << 20]] as const) {
          const p = place(build, cs);
          const outAt = p.free, outBytes = pack(new Int32Array(M * N), M, N, outBits).bytes.length;
          const need = build.abi.gemm_fused_workspace_bytes(M, N, K, a, b) >>> 0;
          const work = align(outAt + outBytes + 64), workBytes = need + extra;
          build.reserve(work + workBytes + 64);
          new Uint8Array(build.mem, outAt, outBytes).fill(0);
          new Uint8Array(build.mem, work, workBytes).fill(0xa5);
          writeView(build.mem, p.vo, { kind: "plain", at: outAt, bits: outBits, rows: M, cols: N, trans: false });
          writeStage(build.mem, p.st, { mode: "requant", rounding: "nearest", scale });
          const status = build.abi.gemm_fused(p.va, p.vb, p.vo, p.st, work, workBytes);
          const what = `${build.isa} (extra workspace ${extra}) REQUANT out bits ${outBits} scale 2^-${shift}, ${cs.name}`;
          assert.equal(status, 0, `status, ${what}`);
          const bytes = new Uint8Array(build.mem, outAt, outBytes).slice();
          const got = unpack({ rows: M, cols: N, bits: outBits, bytes });
          assert.deepEqual(Array.from(got), want, what);
          outs.push(bytes);
        }
        assert.deepEqual(outs[1], outs[0], `scalar vs simd REQUANT bytes, ${cs.name}`);
      }
    }
  });
});

describe("decodeRow at every width, start column and count (IM2COL patches, both builds)", () => {
  // A 1 x W single-channel line read through a 1 x cnt kernel with padding cnt - 1: patch x is the
  // line's codes [x - pad, x - pad + cnt) clipped to [0, W), one decodeRow call each when the
  // workspace is the minimum (no line cache). Times the cnt x cnt identity, C is those codes.
  // Start columns 0..W-cnt cover every bit offset within a 32-bit word at every width; the clipped
  // patches at both ends give every count 1..cnt-1 from column 0 and up to the line's end.
  const COUNTS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100];
  for (const isa of ["scalar", "simd"] as const) {
    test(`${isa}: widths 2..16, counts ${COUNTS.join(",")}, start columns 0..63+`, async () => {
      const build = await Build.load(isa, isa === "scalar" ? scalarPath : new URL("../build/aptkit.simd.wasm", import.meta.url));
      const rng = new Rng(6);
      for (let bits = 2; bits <= 16; bits++) {
        const m = maxCodeOf(bits);
        for (const cnt of COUNTS) {
          const W = 64 + cnt, pad = cnt - 1;
          const line = new Int32Array(W);
          for (let x = 0; x < W; x++) line[x] = rng.int(-m, m);
          // Some codes at the extremes (sign extension).
          for (let x = 0; x < W; x += 5) line[x] = rng.sign() * m;
          const cv: Conv = { n: 1, h: 1, w: W, c: 1, kh: 1, kw: cnt, ph: 0, pw: pad };
          const a = im2colOperand(line, cv, bits, false);
          const M = a.plain.rows, K = cnt, N = cnt;
          const eye = new Int32Array(K * N);
          for (let k = 0; k < K; k++) eye[k * N + k] = 1;
          const cs: Case = { name: `bits=${bits} count=${cnt} W=${W}`, M, N, K, a, b: plainOperand(eye, K, N, 2, false), extras: [] };
          const run = runStoreMax(build, cs, 0);
          for (let x = 0; x < M; x++) {
            for (let k = 0; k < K; k++) {
              const col = x - pad + k;
              const want = col >= 0 && col < W ? line[col] : 0;
              const got = run.c[x * N + k];
              if (got !== want) {
                const start = Math.max(0, x - pad), end = Math.min(W, x - pad + cnt);
                assert.fail(`${isa} decodeRow bits=${bits} start column ${start} count ${end - start}: ` +
                  `code ${col} is ${got}, want ${want} (line of ${W} codes)`);
              }
            }
          }
        }
      }
    });
  }
});
