// The auxiliary wasm kernels (assembly/precision.ts, pool.ts, activation.ts, quantize.ts, loss.ts)
// against their references in src/reference/, on both builds, which must agree bit for bit.
//
// A tiny loader of its own (no src/kernels/kernels.ts): each build is instantiated with no imports and
// buffers are placed from heap_base() up. Every output buffer starts full of junk (a different
// byte per build) and is followed by guard bytes; every input is checked unchanged afterwards.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

import { maxCode, packedByteLength, rowStrideBytes } from "../src/format/packed.js";
import { pack, unpack } from "../src/reference/packed.js";
import { randomBits, randomKey } from "../src/reference/random.js";
import { ROUND_RNE, ROUND_SR, type Rounding } from "../src/reference/rounding.js";
import { changePrecision } from "../src/reference/precision.js";
import {
  avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward, poolOutputSize, type PoolShape,
} from "../src/reference/pool.js";
import { reluBackward, reluForward } from "../src/reference/activation.js";
import { maxAbsCodes, quantizeF32 } from "../src/reference/quantize.js";
import { softmaxCrossEntropy } from "../src/reference/loss.js";
import { Rng, edgeCodes, randomCodes } from "./helpers/random.js";
import {
  STATUS_BITS, STATUS_DIMENSION, STATUS_EXPONENT, STATUS_LABEL_WIDTH, STATUS_MODE, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE,
} from "../src/runtime/abi-status.js";

// ---- loader --------------------------------------------------------------------------------------

type Fn = (...args: number[]) => number;
interface AuxExports {
  memory: WebAssembly.Memory;
  heap_base(): number;
  [name: string]: Fn | WebAssembly.Memory;
}

const GUARD = 32;
const GUARD_BYTE = 0xc3;

class Mem {
  private top = 0;
  private checks: { at: number; bytes: Uint8Array; what: string }[] = [];
  constructor(readonly name: string, readonly x: AuxExports, private readonly junk: number) {}

  fn(name: string): Fn {
    const f = this.x[name];
    if (typeof f !== "function") throw new Error(`${this.name}: no export ${name}`);
    return f;
  }

  reset(): void {
    this.top = (this.x.heap_base() + 15) & ~15;
    this.checks = [];
  }

  private alloc(n: number): number {
    const at = this.top;
    this.top = (at + n + GUARD + 15) & ~15;
    const memory = this.x.memory;
    if (this.top > memory.buffer.byteLength) memory.grow(Math.ceil((this.top - memory.buffer.byteLength) / 65536));
    const guard = this.view(at + n, GUARD);
    guard.fill(GUARD_BYTE);
    this.checks.push({ at: at + n, bytes: guard.slice(), what: `guard after ${n} bytes at ${at}` });
    return at;
  }

  view(at: number, n: number): Uint8Array {
    return new Uint8Array(this.x.memory.buffer, at, n);
  }

  /** An input: copied in, checked unchanged by verify() unless `mutable`. */
  put(bytes: Uint8Array, mutable = false, reserve = bytes.length): number {
    const at = this.alloc(reserve);
    this.view(at, reserve).fill(this.junk);
    this.view(at, bytes.length).set(bytes);
    if (!mutable) this.checks.push({ at, bytes: bytes.slice(), what: `input at ${at}` });
    return at;
  }

  /** An output of n bytes, full of junk. */
  out(n: number): number {
    const at = this.alloc(n);
    this.view(at, n).fill(this.junk);
    return at;
  }

  get(at: number, n: number): Uint8Array {
    return this.view(at, n).slice();
  }

  i32(at: number): number {
    return new DataView(this.x.memory.buffer).getInt32(at, true);
  }

  f64(at: number): number {
    return new DataView(this.x.memory.buffer).getFloat64(at, true);
  }

  verify(): void {
    for (const c of this.checks) assert.deepEqual(this.get(c.at, c.bytes.length), c.bytes, `${this.name}: ${c.what} changed`);
  }
}

// APTKIT_WASM_DIR points the tests at other builds (e.g. deliberately broken ones, to check that
// the tests catch them) without touching build/.
const wasmDir = process.env.APTKIT_WASM_DIR ? `file://${process.env.APTKIT_WASM_DIR.replace(/\/?$/, "/")}` : new URL("../build/", import.meta.url);

async function load(isa: string, junk: number): Promise<Mem> {
  const bytes = await readFile(new URL(`aptkit.${isa}.wasm`, wasmDir));
  const { instance } = await WebAssembly.instantiate(bytes, {});
  return new Mem(isa, instance.exports as unknown as AuxExports, junk);
}

const builds = [await load("simd", 0xa5), await load("scalar", 0x5a)];

/** Runs `f` on both builds; asserts both return the same thing (bytes, codes, counts). */
function both<T>(f: (m: Mem) => T, what: string): T {
  const results = builds.map((m) => {
    m.reset();
    const r = f(m);
    m.verify();
    return r;
  });
  assert.deepStrictEqual(results[1], results[0], `${what}: scalar build differs from SIMD build`);
  return results[0];
}

// The shared status table (its values are pinned against docs/abi.md in tests/abi-status.test.ts).

const ALL_BITS = Array.from({ length: 15 }, (_, i) => i + 2);

const codesFor = (rng: Rng, count: number, bits: number): Int32Array => edgeCodes(rng, count, bits);

function rounding(mode: number, seed: number): Required<Rounding> {
  return { mode, seed, step: seed * 7 + 3, stream: seed % 5 };
}

// ---- randomness ------------------------------------------------------------------------------------

test("random_bits matches the BigInt reference", () => {
  const rng = new Rng(1);
  for (let t = 0; t < 50; t++) {
    const seed = rng.u32(), step = rng.u32(), stream = rng.u32(), index = rng.int(0, 1 << 30);
    const got = both((m) => {
      const out = m.out(8);
      m.fn("random_bits")(seed, step, stream, index, out);
      return new DataView(m.x.memory.buffer).getBigUint64(out, true);
    }, "random_bits");
    assert.equal(got, randomBits(randomKey(seed, step, stream), index));
  }
});

// ---- change_precision -----------------------------------------------------------------------------

interface PrecisionRun { status: number; bytes: Uint8Array; stats: [number, number] }

function runChangePrecision(
  codes: Int32Array, rows: number, cols: number, from: number, to: number, r: Rounding,
): PrecisionRun {
  const src = pack(codes, rows, cols, from);
  const reserve = packedByteLength(rows, cols, Math.max(from, to));
  return both((m) => {
    const ptr = m.put(src.bytes, true, reserve);
    const stats = m.out(8);
    const status = m.fn("change_precision")(ptr, rows, cols, from, to, r.mode, r.seed ?? 0, r.step ?? 0, r.stream ?? 0, stats);
    return {
      status,
      bytes: m.get(ptr, status === 0 ? packedByteLength(rows, cols, to) : reserve),
      stats: [m.i32(stats), m.i32(stats + 4)] as [number, number],
    };
  }, `change_precision ${rows}x${cols} ${from}->${to}`);
}

const SHAPES: [number, number][] = [[1, 1], [1, 3], [2, 7], [3, 13], [4, 31], [2, 33], [5, 17], [3, 64], [2, 100]];

test("change_precision: every (from, to) pair, both modes, in place, matches the reference", () => {
  const rng = new Rng(2);
  let cases = 0;
  for (const from of ALL_BITS) {
    for (const to of ALL_BITS) {
      for (const mode of [ROUND_SR, ROUND_RNE]) {
        const [rows, cols] = rng.pick(SHAPES);
        const codes = codesFor(rng, rows * cols, from);
        const r = rounding(mode, rng.u32());
        const got = runChangePrecision(codes, rows, cols, from, to, r);
        const want = changePrecision(codes, from, to, r);
        const what = `${rows}x${cols} ${from}->${to} mode ${mode}`;
        assert.equal(got.status, 0, what);
        assert.deepEqual(unpack({ rows, cols, bits: to, bytes: got.bytes }), want.codes, what);
        assert.deepEqual(got.bytes, pack(want.codes, rows, cols, to).bytes, `${what}: padding`);
        assert.deepEqual(got.stats, [want.rounded, want.clamped], `${what}: stats`);
        cases++;
      }
    }
  }
  assert.equal(cases, 15 * 15 * 2);
});

test("change_precision: +-1 bit on every shape, odd strides included", () => {
  const rng = new Rng(3);
  for (const [rows, cols] of SHAPES) {
    for (const b of ALL_BITS) {
      for (const to of [b - 1, b + 1]) {
        if (to < 2 || to > 16) continue;
        const codes = codesFor(rng, rows * cols, b);
        const r = rounding(rng.int(0, 1), rng.u32());
        const got = runChangePrecision(codes, rows, cols, b, to, r);
        const want = changePrecision(codes, b, to, r);
        assert.deepEqual(got.bytes, pack(want.codes, rows, cols, to).bytes, `${rows}x${cols} ${b}->${to}`);
        assert.deepEqual(got.stats, [want.rounded, want.clamped]);
      }
    }
  }
});

test("change_precision: up then down returns the original codes exactly", () => {
  const rng = new Rng(4);
  for (const [rows, cols] of SHAPES) {
    for (const b of ALL_BITS) {
      for (const k of [1, 2, 5]) {
        if (b + k > 16) continue;
        const codes = codesFor(rng, rows * cols, b);
        const mode = rng.int(0, 1);
        const up = runChangePrecision(codes, rows, cols, b, b + k, rounding(mode, 1));
        assert.deepEqual(up.stats, [0, 0]);
        const upCodes = unpack({ rows, cols, bits: b + k, bytes: up.bytes });
        const down = runChangePrecision(upCodes, rows, cols, b + k, b, rounding(mode, 2));
        assert.deepEqual(down.stats, [0, 0], `${b}->${b + k}->${b}: nothing to round or clamp`);
        assert.deepEqual(down.bytes, pack(codes, rows, cols, b).bytes, `${rows}x${cols} ${b}->${b + k}->${b}`);
      }
    }
  }
});

test("change_precision: SR down is unbiased over seeds", () => {
  // Codes away from the extremes (no clamping). For one bit, 2q' - q is +-1 on odd q with mean 0;
  // over S seeds x M odd codes the mean has standard deviation 1/sqrt(S*M). Tolerance: 5 sigma.
  // For k bits, 2^k q' - q lies in -(2^k - 1)..2^k - 1, standard deviation < 2^k / 2: tolerance
  // 5 * 2^(k-1) / sqrt(S*M).
  const rows = 10, cols = 50, S = 200;
  for (const [from, to] of [[8, 7], [8, 5], [16, 15], [3, 2]] as const) {
    const rng = new Rng(5 + from);
    const limit = maxCode(to) * 2 ** (from - to); // q / 2^k rounds to at most maxCode(to)
    const codes = Int32Array.from({ length: rows * cols }, () => rng.int(-limit, limit));
    const f = 2 ** (from - to);
    let sum = 0, inexact = 0;
    for (let s = 0; s < S; s++) {
      const got = runChangePrecision(codes, rows, cols, from, to, rounding(ROUND_SR, 1000 + s));
      assert.equal(got.stats[1], 0);
      const q = unpack({ rows, cols, bits: to, bytes: got.bytes });
      for (let i = 0; i < q.length; i++) {
        if (codes[i] % f !== 0) {
          sum += q[i] * f - codes[i];
          inexact++;
        }
      }
    }
    const mean = sum / inexact;
    const tolerance = (5 * (f / 2)) / Math.sqrt(inexact);
    assert.ok(Math.abs(mean) < tolerance, `${from}->${to}: mean error ${mean} (in old steps), tolerance ${tolerance}`);
  }
});

test("change_precision: clamps at the narrower range and counts it", () => {
  for (const b of ALL_BITS.filter((b) => b >= 3)) {
    const m = maxCode(b);
    const codes = Int32Array.from({ length: 40 }, (_, i) => (i % 2 ? m : -m));
    // RNE: +-(2^(b-1) - 1) / 2 is a tie that goes to the even +-2^(b-2), one past the new range.
    const rne = runChangePrecision(codes, 4, 10, b, b - 1, rounding(ROUND_RNE, 0));
    assert.deepEqual(rne.stats, [40, 40], `RNE ${b}->${b - 1}`);
    assert.deepEqual(unpack({ rows: 4, cols: 10, bits: b - 1, bytes: rne.bytes }),
      Int32Array.from(codes, (q) => Math.sign(q) * maxCode(b - 1)));
    // SR: q = +m rounds up (and clamps) with probability 1/2, q = -m rounds down with 1/2.
    const sr = runChangePrecision(codes, 4, 10, b, b - 1, rounding(ROUND_SR, b));
    const want = changePrecision(codes, b, b - 1, rounding(ROUND_SR, b));
    assert.deepEqual(sr.stats, [40, want.clamped]);
    assert.ok(want.clamped > 5 && want.clamped < 35, `SR clamps about half: ${want.clamped}`);
  }
});

test("change_precision: bad arguments return an error code and write nothing", () => {
  const codes = new Int32Array(21).fill(3);
  const src = pack(codes, 3, 7, 8);
  for (const [from, to, mode, code] of [[1, 8, 0, STATUS_BITS], [8, 17, 0, STATUS_BITS], [8, 1, 1, STATUS_BITS], [17, 16, 0, STATUS_BITS], [8, 7, 2, STATUS_MODE]]) {
    both((m) => {
      const ptr = m.put(src.bytes, false, packedByteLength(3, 7, 16));
      const stats = m.put(new Uint8Array(8).fill(7));
      assert.equal(m.fn("change_precision")(ptr, 3, 7, from, to, mode, 1, 2, 3, stats), code);
      return 0;
    }, "change_precision errors");
  }
});

// ---- pooling --------------------------------------------------------------------------------------

const POOLS: PoolShape[] = [
  { N: 1, H: 4, W: 4, C: 1, kh: 2, kw: 2, sh: 2, sw: 2 },
  { N: 2, H: 6, W: 5, C: 3, kh: 2, kw: 3, sh: 2, sw: 1 }, // non-square, overlapping in x
  { N: 1, H: 7, W: 7, C: 2, kh: 3, kw: 3, sh: 2, sw: 2 }, // overlapping, floor output
  { N: 2, H: 5, W: 9, C: 3, kh: 1, kw: 3, sh: 1, sw: 3 },
  { N: 1, H: 5, W: 5, C: 1, kh: 5, kw: 5, sh: 1, sw: 1 }, // global
  { N: 3, H: 8, W: 6, C: 4, kh: 3, kw: 2, sh: 1, sw: 2 },
  { N: 1, H: 7, W: 7, C: 5, kh: 2, kw: 2, sh: 3, sw: 3 }, // stride > kernel: gaps
  { N: 2, H: 3, W: 11, C: 7, kh: 2, kw: 4, sh: 1, sw: 3 },
  { N: 1, H: 9, W: 4, C: 1, kh: 4, kw: 1, sh: 2, sw: 1 },
  { N: 1, H: 1, W: 1, C: 1, kh: 1, kw: 1, sh: 1, sw: 1 },
  { N: 2, H: 12, W: 12, C: 6, kh: 2, kw: 2, sh: 2, sw: 2 }, // lenet-like
];

function poolDims(p: PoolShape) {
  const OH = poolOutputSize(p.H, p.kh, p.sh), OW = poolOutputSize(p.W, p.kw, p.sw);
  return { OH, OW, inRows: p.N * p.H, inCols: p.W * p.C, outRows: p.N * OH, outCols: OW * p.C };
}

function poolArgs(p: PoolShape): number[] {
  return [p.N, p.H, p.W, p.C];
}

function describePool(p: PoolShape): string {
  return `N${p.N} ${p.H}x${p.W}x${p.C} k${p.kh}x${p.kw} s${p.sh}x${p.sw}`;
}

test("pool_output_size", () => {
  for (const [n, k, s, want] of [[7, 3, 2, 3], [4, 2, 2, 2], [5, 5, 1, 1], [7, 2, 3, 2], [3, 4, 1, STATUS_WINDOW_TOO_LARGE], [3, 0, 1, STATUS_WINDOW], [3, 1, 0, STATUS_WINDOW]]) {
    assert.equal(both((m) => m.fn("pool_output_size")(n, k, s), "pool_output_size"), want);
  }
});

test("max_pool_forward: every width, every shape", () => {
  const rng = new Rng(10);
  for (const p of POOLS) {
    const d = poolDims(p);
    for (const bits of ALL_BITS) {
      const x = codesFor(rng, d.inRows * d.inCols, bits);
      const X = pack(x, d.inRows, d.inCols, bits);
      const got = both((m) => {
        const xp = m.put(X.bytes);
        const n = packedByteLength(d.outRows, d.outCols, bits);
        const y = m.out(n);
        const status = m.fn("max_pool_forward")(xp, ...poolArgs(p), bits, p.kh, p.kw, p.sh, p.sw, y);
        return { status, y: m.get(y, n) };
      }, `max_pool_forward ${describePool(p)} ${bits}b`);
      assert.equal(got.status, 0);
      assert.deepEqual(got.y, pack(maxPoolForward(x, p), d.outRows, d.outCols, bits).bytes, `${describePool(p)} ${bits}b`);
    }
  }
});

test("max_pool_backward: first maximum wins, overlaps sum and clamp", () => {
  const rng = new Rng(11);
  let saturations = 0, ties = 0;
  for (const p of POOLS) {
    const d = poolDims(p);
    for (let t = 0; t < 12; t++) {
      // Narrow x makes ties common; narrow dY with large codes makes overlaps saturate.
      const xBits = t < 4 ? rng.int(2, 3) : rng.pick(ALL_BITS);
      const dyBits = t % 3 === 0 ? rng.int(2, 4) : rng.pick(ALL_BITS);
      const x = codesFor(rng, d.inRows * d.inCols, xBits);
      const dy = codesFor(rng, d.outRows * d.outCols, dyBits);
      const X = pack(x, d.inRows, d.inCols, xBits);
      const DY = pack(dy, d.outRows, d.outCols, dyBits);
      const got = both((m) => {
        const xp = m.put(X.bytes);
        const dyp = m.put(DY.bytes);
        const n = packedByteLength(d.inRows, d.inCols, dyBits);
        const dx = m.out(n);
        const stats = m.out(4);
        const status = m.fn("max_pool_backward")(xp, ...poolArgs(p), xBits, p.kh, p.kw, p.sh, p.sw, dyp, dyBits, dx, stats);
        return { status, dx: m.get(dx, n), saturated: m.i32(stats) };
      }, `max_pool_backward ${describePool(p)}`);
      const want = maxPoolBackward(x, dy, dyBits, p);
      const what = `${describePool(p)} x${xBits}b dy${dyBits}b`;
      assert.equal(got.status, 0, what);
      assert.deepEqual(got.dx, pack(want.dx, d.inRows, d.inCols, dyBits).bytes, what);
      assert.equal(got.saturated, want.saturated, `${what}: saturations`);
      saturations += want.saturated;
      if (xBits <= 3) ties++;
    }
  }
  assert.ok(saturations > 0, "the sweep exercises saturation");
  assert.ok(ties > 0);
});

test("max pooling 2x2 at stride 2 on 8-bit codes (the byte path): odd sizes, row padding, ties", () => {
  const rng = new Rng(21);
  const shapes: PoolShape[] = [
    { N: 2, H: 7, W: 5, C: 3, kh: 2, kw: 2, sh: 2, sw: 2 },
    { N: 1, H: 28, W: 28, C: 6, kh: 2, kw: 2, sh: 2, sw: 2 },
    { N: 3, H: 10, W: 10, C: 16, kh: 2, kw: 2, sh: 2, sw: 2 },
    { N: 1, H: 3, W: 3, C: 1, kh: 2, kw: 2, sh: 2, sw: 2 },
    { N: 2, H: 6, W: 9, C: 5, kh: 2, kw: 2, sh: 2, sw: 2 },
    { N: 1, H: 2, W: 2, C: 2, kh: 2, kw: 2, sh: 2, sw: 2 },
    { N: 2, H: 5, W: 7, C: 16, kh: 2, kw: 2, sh: 2, sw: 2 },
    { N: 1, H: 4, W: 6, C: 20, kh: 2, kw: 2, sh: 2, sw: 2 },
    { N: 2, H: 9, W: 40, C: 1, kh: 2, kw: 2, sh: 2, sw: 2 },
  ];
  for (const p of shapes) {
    const d = poolDims(p);
    for (const narrow of [true, false]) {
      // Codes in -2..2 make ties in most windows; full-range codes test the comparisons' signs.
      const x = narrow ? Int32Array.from({ length: d.inRows * d.inCols }, () => rng.int(-2, 2)) : codesFor(rng, d.inRows * d.inCols, 8);
      const dy = codesFor(rng, d.outRows * d.outCols, 8);
      const X = pack(x, d.inRows, d.inCols, 8), DY = pack(dy, d.outRows, d.outCols, 8);
      const what = `${describePool(p)}${narrow ? " (ties)" : ""}`;
      const got = both((m) => {
        const xp = m.put(X.bytes), dyp = m.put(DY.bytes);
        const ny = packedByteLength(d.outRows, d.outCols, 8), nx = packedByteLength(d.inRows, d.inCols, 8);
        const y = m.out(ny), dx = m.out(nx), stats = m.out(4);
        const f = m.fn("max_pool_forward")(xp, ...poolArgs(p), 8, 2, 2, 2, 2, y);
        const b = m.fn("max_pool_backward")(xp, ...poolArgs(p), 8, 2, 2, 2, 2, dyp, 8, dx, stats);
        return { f, b, y: m.get(y, ny), dx: m.get(dx, nx), saturated: m.i32(stats) };
      }, what);
      assert.equal(got.f, 0, what);
      assert.equal(got.b, 0, what);
      assert.deepEqual(got.y, pack(maxPoolForward(x, p), d.outRows, d.outCols, 8).bytes, `${what}: forward`);
      const want = maxPoolBackward(x, dy, 8, p);
      assert.deepEqual(got.dx, pack(want.dx, d.inRows, d.inCols, 8).bytes, `${what}: backward`);
      assert.equal(got.saturated, 0, what);
    }
  }
});

test("max_pool_backward: the tie rule is the first position in row-major order", () => {
  // One 2x3 window of equal codes: the whole gradient goes to (0, 0); then make (1, 0) larger.
  const p: PoolShape = { N: 1, H: 2, W: 3, C: 1, kh: 2, kw: 3, sh: 1, sw: 1 };
  for (const [x, at] of [[[5, 5, 5, 5, 5, 5], 0], [[1, 2, 2, 7, 7, 7], 3], [[0, 0, 3, 0, 3, 3], 2]] as const) {
    const got = both((m) => {
      const xp = m.put(pack(x, 2, 3, 4).bytes);
      const dyp = m.put(pack([9], 1, 1, 5).bytes);
      const dx = m.out(packedByteLength(2, 3, 5));
      const stats = m.out(4);
      assert.equal(m.fn("max_pool_backward")(xp, ...poolArgs(p), 4, 2, 3, 1, 1, dyp, 5, dx, stats), 0);
      return unpack({ rows: 2, cols: 3, bits: 5, bytes: m.get(dx, packedByteLength(2, 3, 5)) });
    }, "tie rule");
    const want = new Int32Array(6);
    want[at] = 9;
    assert.deepEqual(got, want);
  }
});

test("avg_pool_forward and avg_pool_backward: RNE and SR, every width", () => {
  const rng = new Rng(12);
  for (const p of POOLS) {
    const d = poolDims(p);
    for (const bits of ALL_BITS) {
      for (const mode of [ROUND_SR, ROUND_RNE]) {
        const r = rounding(mode, rng.u32());
        const x = codesFor(rng, d.inRows * d.inCols, bits);
        const dy = codesFor(rng, d.outRows * d.outCols, bits);
        const X = pack(x, d.inRows, d.inCols, bits);
        const DY = pack(dy, d.outRows, d.outCols, bits);
        const what = `${describePool(p)} ${bits}b mode ${mode}`;
        const got = both((m) => {
          const xp = m.put(X.bytes);
          const dyp = m.put(DY.bytes);
          const ny = packedByteLength(d.outRows, d.outCols, bits);
          const nx = packedByteLength(d.inRows, d.inCols, bits);
          const y = m.out(ny);
          const dx = m.out(nx);
          const args = [...poolArgs(p), bits, p.kh, p.kw, p.sh, p.sw, r.mode, r.seed, r.step, r.stream];
          const s1 = m.fn("avg_pool_forward")(xp, ...args, y);
          const s2 = m.fn("avg_pool_backward")(dyp, ...args, dx);
          return { s1, s2, y: m.get(y, ny), dx: m.get(dx, nx) };
        }, `avg_pool ${what}`);
        assert.equal(got.s1, 0, what);
        assert.equal(got.s2, 0, what);
        assert.deepEqual(got.y, pack(avgPoolForward(x, p, r), d.outRows, d.outCols, bits).bytes, `forward ${what}`);
        assert.deepEqual(got.dx, pack(avgPoolBackward(dy, p, r), d.inRows, d.inCols, bits).bytes, `backward ${what}`);
      }
    }
  }
});

test("avg_pool_forward: SR is unbiased, RNE ties go to even", () => {
  // 2x2 windows: sums of 4 codes / 4. RNE of 2/4 = 0.5 -> 0, 6/4 = 1.5 -> 2, -2/4 -> 0, -6/4 -> -2.
  const p: PoolShape = { N: 1, H: 2, W: 8, C: 1, kh: 2, kw: 2, sh: 2, sw: 2 };
  const x = [1, 1, 3, 3, -1, -1, -3, -3, 0, 0, 0, 0, 0, 0, 0, 0];
  const rne = both((m) => {
    const y = m.out(packedByteLength(1, 4, 6));
    m.fn("avg_pool_forward")(m.put(pack(x, 2, 8, 6).bytes), ...poolArgs(p), 6, p.kh, p.kw, p.sh, p.sw, ROUND_RNE, 0, 0, 0, y);
    return unpack({ rows: 1, cols: 4, bits: 6, bytes: m.get(y, packedByteLength(1, 4, 6)) });
  }, "avg RNE ties");
  assert.deepEqual(rne, Int32Array.from([0, 2, 0, -2]));
  assert.deepEqual(avgPoolForward(x, p, { mode: ROUND_RNE }), rne, "the reference agrees");
  // SR over many seeds: window sums 1, 3, 2, -1 (/4), mean within 5 sigma (sigma <= 0.5/sqrt(S)).
  const xs = [1, 0, 1, 1, 3, 0, -1, 0, 0, 0, 0, 1, 0, -1, 0, 0];
  const S = 2000;
  const sums = [0, 0, 0, 0];
  for (let s = 0; s < S; s++) {
    const y = both((m) => {
      const y = m.out(packedByteLength(1, 4, 6));
      m.fn("avg_pool_forward")(m.put(pack(xs, 2, 8, 6).bytes), ...poolArgs(p), 6, p.kh, p.kw, p.sh, p.sw, ROUND_SR, s, 9, 1, y);
      return unpack({ rows: 1, cols: 4, bits: 6, bytes: m.get(y, packedByteLength(1, 4, 6)) });
    }, "avg SR");
    y.forEach((v, i) => (sums[i] += v));
  }
  [1 / 4, 3 / 4, 2 / 4, -1 / 4].forEach((want, i) => {
    assert.ok(Math.abs(sums[i] / S - want) < 5 * 0.5 / Math.sqrt(S), `window ${i}: mean ${sums[i] / S}, want ${want}`);
  });
});

test("pool kernels: bad arguments return an error code and write nothing", () => {
  const X = pack(new Int32Array(4 * 5 * 2).fill(1), 4, 10, 8);
  const cases: [string, number[], number][] = [
    ["bits 1", [1, 4, 5, 2, 1, 2, 2, 1, 1], STATUS_BITS],
    ["bits 17", [1, 4, 5, 2, 17, 2, 2, 1, 1], STATUS_BITS],
    ["kh 0", [1, 4, 5, 2, 8, 0, 2, 1, 1], STATUS_WINDOW],
    ["kw 0", [1, 4, 5, 2, 8, 2, 0, 1, 1], STATUS_WINDOW],
    ["sh 0", [1, 4, 5, 2, 8, 2, 2, 0, 1], STATUS_WINDOW],
    ["sw 0", [1, 4, 5, 2, 8, 2, 2, 1, 0], STATUS_WINDOW],
    ["kh > H", [1, 4, 5, 2, 8, 5, 2, 1, 1], STATUS_WINDOW_TOO_LARGE],
    ["kw > W", [1, 4, 5, 2, 8, 2, 6, 1, 1], STATUS_WINDOW_TOO_LARGE],
  ];
  for (const [what, a, code] of cases) {
    both((m) => {
      const xp = m.put(X.bytes);
      const dyp = m.put(X.bytes);
      const outs = [m.put(new Uint8Array(256)), m.put(new Uint8Array(256)), m.put(new Uint8Array(256))];
      assert.equal(m.fn("max_pool_forward")(xp, ...a, outs[0]), code, `max fwd ${what}`);
      assert.equal(m.fn("max_pool_backward")(xp, ...a, dyp, 8, outs[1], outs[2]), code, `max bwd ${what}`);
      assert.equal(m.fn("avg_pool_forward")(xp, ...a, 0, 1, 2, 3, outs[0]), code, `avg fwd ${what}`);
      assert.equal(m.fn("avg_pool_backward")(dyp, ...a, 1, 1, 2, 3, outs[1]), code, `avg bwd ${what}`);
      return 0;
    }, what);
  }
  both((m) => {
    const xp = m.put(X.bytes);
    const out = m.put(new Uint8Array(256));
    const ok = [1, 4, 5, 2, 8, 2, 2, 1, 1];
    assert.equal(m.fn("max_pool_backward")(xp, ...ok, xp, 1, out, out), STATUS_BITS, "dyBits 1");
    assert.equal(m.fn("avg_pool_forward")(xp, ...ok, 2, 1, 2, 3, out), STATUS_MODE);
    assert.equal(m.fn("avg_pool_backward")(xp, ...ok, 7, 1, 2, 3, out), STATUS_MODE);
    return 0;
  }, "pool errors");
});

// ---- activations and reshapes --------------------------------------------------------------------

test("relu_forward in place and relu_backward, every width pair", () => {
  const rng = new Rng(20);
  for (const [rows, cols] of SHAPES) {
    for (const bits of ALL_BITS) {
      const x = codesFor(rng, rows * cols, bits);
      const X = pack(x, rows, cols, bits);
      const y = both((m) => {
        const p = m.put(X.bytes, true);
        assert.equal(m.fn("relu_forward")(p, rows, cols, bits), 0);
        return m.get(p, X.bytes.length);
      }, "relu_forward");
      const want = reluForward(x);
      assert.deepEqual(y, pack(want, rows, cols, bits).bytes, `relu ${rows}x${cols} ${bits}b`);
      for (const dyBits of [bits, rng.pick(ALL_BITS)]) { // equal widths take the flat-lane path at 8 and 16
        const dy = codesFor(rng, rows * cols, dyBits);
        const DY = pack(dy, rows, cols, dyBits);
        const wantDx = pack(reluBackward(want, dy), rows, cols, dyBits).bytes;
        const got = both((m) => {
          const yp = m.put(y);
          const dyp = m.put(DY.bytes);
          const dx = m.out(DY.bytes.length);
          assert.equal(m.fn("relu_backward")(yp, bits, dyp, dyBits, rows, cols, dx), 0);
          const inPlace = m.put(DY.bytes, true);
          assert.equal(m.fn("relu_backward")(yp, bits, inPlace, dyBits, rows, cols, inPlace), 0);
          return [m.get(dx, DY.bytes.length), m.get(inPlace, DY.bytes.length)];
        }, "relu_backward");
        assert.deepEqual(got[0], wantDx, `relu_backward ${rows}x${cols} y${bits}b dy${dyBits}b`);
        assert.deepEqual(got[1], wantDx, "relu_backward in place");
      }
    }
  }
  both((m) => {
    const p = m.put(new Uint8Array(64));
    assert.equal(m.fn("relu_forward")(p, 2, 3, 1), STATUS_BITS);
    assert.equal(m.fn("relu_backward")(p, 8, p, 17, 2, 3, p), STATUS_BITS);
    return 0;
  }, "relu errors");
});

test("flatten_nhwc and unflatten_nhwc, out of place and in place", () => {
  const rng = new Rng(21);
  const dims: [number, number, number, number][] = [[1, 1, 1, 1], [2, 3, 5, 1], [3, 4, 4, 6], [2, 5, 3, 7], [1, 7, 7, 3], [4, 2, 9, 5]];
  for (const [N, H, W, C] of dims) {
    for (const bits of ALL_BITS) {
      const codes = codesFor(rng, N * H * W * C, bits);
      const rowsLayout = pack(codes, N * H, W * C, bits);
      const flat = pack(codes, N, H * W * C, bits);
      const reserve = Math.max(rowsLayout.bytes.length, flat.bytes.length);
      const got = both((m) => {
        const src = m.put(rowsLayout.bytes);
        const dst = m.out(flat.bytes.length);
        assert.equal(m.fn("flatten_nhwc")(src, N, H, W, C, bits, dst), 0);
        const back = m.out(rowsLayout.bytes.length);
        assert.equal(m.fn("unflatten_nhwc")(dst, N, H, W, C, bits, back), 0);
        const inPlace = m.put(rowsLayout.bytes, true, reserve);
        assert.equal(m.fn("flatten_nhwc")(inPlace, N, H, W, C, bits, inPlace), 0);
        const flatInPlace = m.get(inPlace, flat.bytes.length);
        assert.equal(m.fn("unflatten_nhwc")(inPlace, N, H, W, C, bits, inPlace), 0);
        return [m.get(dst, flat.bytes.length), m.get(back, rowsLayout.bytes.length), flatInPlace, m.get(inPlace, rowsLayout.bytes.length)];
      }, "flatten");
      const what = `N${N} ${H}x${W}x${C} ${bits}b`;
      assert.deepEqual(got[0], flat.bytes, `flatten ${what}`);
      assert.deepEqual(got[1], rowsLayout.bytes, `unflatten ${what}`);
      assert.deepEqual(got[2], flat.bytes, `flatten in place ${what}`);
      assert.deepEqual(got[3], rowsLayout.bytes, `unflatten in place ${what}`);
    }
  }
  both((m) => {
    const p = m.put(new Uint8Array(64));
    assert.equal(m.fn("flatten_nhwc")(p, 1, 2, 2, 2, 0, p), STATUS_BITS);
    assert.equal(m.fn("unflatten_nhwc")(p, 1, 2, 2, 2, 17, p), STATUS_BITS);
    return 0;
  }, "flatten errors");
});

// ---- the float edge ---------------------------------------------------------------------------------

function floats(rng: Rng, n: number, kind: number): Float32Array {
  const out = new Float32Array(n);
  const scale = 2 ** rng.int(-140, 120);
  for (let i = 0; i < n; i++) {
    const u = rng.u32() / 2 ** 32;
    switch (kind % 4) {
      case 0: out[i] = u; break; // pixels in [0, 1)
      case 1: out[i] = (u - 0.5) * scale; break;
      case 2: out[i] = rng.int(-3, 3) * 0.25; break; // exact ties
      default: out[i] = (u - 0.5) * 2 ** rng.int(-149, 127); // every magnitude, subnormals too
    }
  }
  return out;
}

function runQuantize(data: Float32Array, rows: number, cols: number, bits: number, r: Rounding) {
  return both((m) => {
    const src = m.put(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const n = packedByteLength(rows, cols, bits);
    const dst = m.out(n);
    const exp = m.out(4);
    const status = m.fn("quantize_f32")(src, rows, cols, bits, r.mode, r.seed ?? 0, r.step ?? 0, r.stream ?? 0, dst, exp);
    return { status, bytes: m.get(dst, n), exp: m.i32(exp) };
  }, `quantize_f32 ${rows}x${cols} ${bits}b`);
}

test("quantize_f32: every width, both modes, all magnitudes", () => {
  const rng = new Rng(30);
  for (const [rows, cols] of SHAPES) {
    for (const bits of ALL_BITS) {
      for (const mode of [ROUND_SR, ROUND_RNE]) {
        const data = floats(rng, rows * cols, rng.int(0, 3));
        const r = rounding(mode, rng.u32());
        const got = runQuantize(data, rows, cols, bits, r);
        const want = quantizeF32(data, bits, r);
        const what = `${rows}x${cols} ${bits}b mode ${mode}`;
        assert.equal(got.status, 0, what);
        assert.equal(got.exp, want.exp, `${what}: exponent`);
        assert.deepEqual(got.bytes, pack(want.codes, rows, cols, bits).bytes, what);
        // The exponent is the smallest that saturates nothing: one less would overflow the range.
        const codes = unpack({ rows, cols, bits, bytes: got.bytes });
        const peak = Math.max(...data.map(Math.abs));
        if (peak > 0) assert.ok(peak * 2 ** -(got.exp - 1) > maxCode(bits) + (mode === ROUND_RNE ? 0.5 : 0) - 1e-9, what);
        for (let i = 0; i < codes.length; i++) {
          const err = Math.abs(codes[i] - data[i] * 2 ** -got.exp);
          assert.ok(mode === ROUND_RNE ? err <= 0.5 : err < 1, `${what}: element ${i} off by ${err}`);
        }
      }
    }
  }
});

test("quantize_f32: zeros, NaN and Inf, bad arguments; max_abs_codes", () => {
  const zeros = runQuantize(new Float32Array(10), 2, 5, 8, rounding(0, 1));
  assert.deepEqual([zeros.status, zeros.exp], [0, 0]);
  assert.deepEqual(zeros.bytes, pack(new Int32Array(10), 2, 5, 8).bytes);
  for (const [bad, at] of [[NaN, 3], [Infinity, 0], [-Infinity, 9]] as const) {
    const data = new Float32Array(10).fill(0.5);
    data[at] = bad;
    if (at < 9) data[9] = NaN; // a second bad element: the first one is named
    const first = at;
    both((m) => {
      const src = m.put(new Uint8Array(data.buffer));
      const dst = m.put(new Uint8Array(packedByteLength(2, 5, 8)).fill(1));
      const exp = m.put(new Uint8Array(4));
      assert.equal(m.fn("quantize_f32")(src, 2, 5, 8, 0, 0, 0, 0, dst, exp), first + 1, `${bad} at ${first}`);
      return 0;
    }, "quantize NaN");
  }
  both((m) => {
    const src = m.put(new Uint8Array(40));
    const dst = m.put(new Uint8Array(16));
    assert.equal(m.fn("quantize_f32")(src, 2, 5, 1, 0, 0, 0, 0, dst, dst), STATUS_BITS);
    assert.equal(m.fn("quantize_f32")(src, 2, 5, 8, 3, 0, 0, 0, dst, dst), STATUS_MODE);
    assert.equal(m.fn("max_abs_codes")(src, 2, 5, 17), STATUS_BITS);
    return 0;
  }, "quantize errors");
  const rng = new Rng(31);
  for (const [rows, cols] of SHAPES) {
    for (const bits of ALL_BITS) {
      const codes = randomCodes(rng, rows * cols, bits).map((q) => (rng.int(0, 3) ? q >> 2 : q));
      const X = pack(codes, rows, cols, bits);
      const got = both((m) => m.fn("max_abs_codes")(m.put(X.bytes), rows, cols, bits), "max_abs_codes");
      assert.equal(got, maxAbsCodes(codes), `${rows}x${cols} ${bits}b`);
    }
  }
  // Rows long enough for the vector paths, small codes, and every padding bit set: an output row's
  // padding may hold anything (the canary, an earlier tensor), and only the codes may count.
  for (const cols of [1, 15, 16, 17, 31, 33, 70, 129]) {
    for (const bits of ALL_BITS) {
      const rows = 3;
      const codes = randomCodes(rng, rows * cols, bits).map((q) => q >> Math.max(0, bits - 3));
      const X = pack(codes, rows, cols, bits);
      const stride = X.bytes.length / rows;
      for (let r = 0; r < rows; r++) {
        for (let bit = cols * bits; bit < stride * 8; bit++) X.bytes[r * stride + (bit >> 3)] |= 1 << (bit & 7);
      }
      const got = both((m) => m.fn("max_abs_codes")(m.put(X.bytes), rows, cols, bits), "max_abs_codes, junk padding");
      assert.equal(got, maxAbsCodes(codes), `${rows}x${cols} ${bits}b, junk padding`);
    }
  }
});

// ---- softmax cross-entropy ----------------------------------------------------------------------

interface LossRun { status: number; loss: number; correct: number; exp: number; bytes: Uint8Array }

function runLoss(
  logits: Int32Array, N: number, classes: number, bits: number, exp: number,
  labels: ArrayLike<number>, labelBytes: number, errBits: number, r: Rounding,
): LossRun {
  const L = pack(logits, N, classes, bits);
  const lab = labelBytes === 1 ? Uint8Array.from(labels) : new Uint8Array(Int32Array.from(labels).buffer);
  return both((m) => {
    const lp = m.put(L.bytes);
    const labp = m.put(lab);
    const n = packedByteLength(N, classes, errBits);
    const out = m.out(n);
    const loss = m.out(8), correct = m.out(4), e = m.out(4);
    const status = m.fn("softmax_cross_entropy")(lp, N, classes, bits, exp, labp, labelBytes, errBits,
      r.mode, r.seed ?? 0, r.step ?? 0, r.stream ?? 0, out, loss, correct, e);
    return { status, loss: m.f64(loss), correct: m.i32(correct), exp: m.i32(e), bytes: m.get(out, n) };
  }, `softmax_cross_entropy N${N} C${classes}`);
}

test("softmax_cross_entropy: loss, accuracy and quantized error against the reference", (t) => {
  const rng = new Rng(40);
  let codesCompared = 0, offByOne = 0, cases = 0;
  for (const N of [1, 3, 8, 17]) {
    for (const classes of [1, 2, 10, 13]) {
      for (let k = 0; k < 8; k++) {
        const bits = rng.pick(ALL_BITS);
        const errBits = k === 0 ? 8 : rng.pick(ALL_BITS);
        const exp = rng.int(-bits - 4, 2);
        const mode = k % 2;
        const r = rounding(mode, rng.u32());
        const logits = codesFor(rng, N * classes, bits);
        const labels = Array.from({ length: N }, () => rng.int(0, classes - 1));
        const labelBytes = k % 4 < 2 ? 1 : 4;
        const got = runLoss(logits, N, classes, bits, exp, labels, labelBytes, errBits, r);
        const want = softmaxCrossEntropy(logits, N, classes, exp, labels, errBits, r);
        const what = `N${N} C${classes} ${bits}b exp ${exp} err ${errBits}b mode ${mode}`;
        assert.equal(got.status, 0, what);
        assert.equal(got.correct, want.correct, `${what}: correct`);
        assert.ok(Math.abs(got.loss - want.loss) <= 1e-12 * Math.max(1, Math.abs(want.loss)), `${what}: loss ${got.loss} vs ${want.loss}`);
        assert.equal(got.exp, want.exp, `${what}: exponent`);
        const codes = unpack({ rows: N, cols: classes, bits: errBits, bytes: got.bytes });
        for (let i = 0; i < codes.length; i++) {
          const diff = Math.abs(codes[i] - want.codes[i]);
          assert.ok(diff <= 1, `${what}: code ${i} is ${codes[i]}, reference ${want.codes[i]}`);
          if (diff) offByOne++;
        }
        // The padding is zero: the output is byte-identical to pack() of its own codes.
        assert.deepEqual(got.bytes, pack(codes, N, classes, errBits).bytes, `${what}: padding`);
        codesCompared += codes.length;
        cases++;
      }
    }
  }
  t.diagnostic(`${cases} cases, ${codesCompared} error codes, ${offByOne} one step off the reference (engine vs AssemblyScript Math.exp)`);
});

test("softmax_cross_entropy: known values", () => {
  // Two classes, equal logits: loss log 2, error +-1/(2N), one correct (first argmax is class 0).
  const got = runLoss(Int32Array.from([3, 3, 3, 3]), 2, 2, 8, 0, [0, 1], 1, 8, rounding(ROUND_RNE, 0));
  assert.equal(got.status, 0);
  assert.ok(Math.abs(got.loss - Math.LN2) < 1e-15);
  assert.equal(got.correct, 1);
  // max |g| = 1/4 -> the smallest e with 0.25 * 2^-e <= 127 (nearest) is -8: codes +-64.
  assert.equal(got.exp, -8);
  assert.deepEqual(unpack({ rows: 2, cols: 2, bits: 8, bytes: got.bytes }), Int32Array.from([-64, 64, 64, -64]));
  // A certain prediction: p = 1 exactly, so the error is all zero (exponent 0) and the loss is 0.
  const sure = runLoss(Int32Array.from([127, -127, -127]), 1, 3, 8, 4, [0], 4, 8, rounding(ROUND_SR, 1));
  assert.deepEqual([sure.status, sure.loss, sure.correct, sure.exp], [0, 0, 1, 0]);
  assert.deepEqual(unpack({ rows: 1, cols: 3, bits: 8, bytes: sure.bytes }), new Int32Array(3));
});

test("softmax_cross_entropy: bad labels and arguments", () => {
  const logits = Int32Array.from({ length: 12 }, (_, i) => i - 6);
  const L = pack(logits, 4, 3, 6);
  const call = (m: Mem, labels: Uint8Array, a: Partial<Record<string, number>> = {}) => {
    const lp = m.put(L.bytes);
    const labp = m.put(labels);
    const out = m.put(new Uint8Array(64));
    return m.fn("softmax_cross_entropy")(lp, a.N ?? 4, a.classes ?? 3, a.bits ?? 6, a.exp ?? -2, labp, a.labelBytes ?? 1,
      a.errBits ?? 8, a.mode ?? 0, 1, 2, 3, out, out + 16, out + 24, out + 28);
  };
  both((m) => {
    assert.equal(call(m, Uint8Array.from([0, 1, 3, 2])), 3, "label 3 of sample 2");
    assert.equal(call(m, Uint8Array.from([0, 1, 2, 200])), 4, "label 200 of sample 3");
    assert.equal(call(m, new Uint8Array(Int32Array.from([0, -1, 1, 1]).buffer), { labelBytes: 4 }), 2, "label -1 of sample 1");
    const ok = Uint8Array.from([0, 1, 2, 0]);
    assert.equal(call(m, ok, { labelBytes: 2 }), STATUS_LABEL_WIDTH);
    assert.equal(call(m, ok, { bits: 1 }), STATUS_BITS);
    assert.equal(call(m, ok, { errBits: 17 }), STATUS_BITS);
    assert.equal(call(m, ok, { N: 0 }), STATUS_DIMENSION);
    assert.equal(call(m, ok, { classes: 0 }), STATUS_DIMENSION);
    assert.equal(call(m, ok, { mode: 2 }), STATUS_MODE);
    assert.equal(call(m, ok, { exp: 961 }), STATUS_EXPONENT);
    assert.equal(call(m, ok, { exp: -961 }), STATUS_EXPONENT);
    return 0;
  }, "loss errors");
});

test("row strides used here agree with the module", () => {
  for (const cols of [1, 3, 7, 31, 33, 100]) {
    for (const bits of ALL_BITS) {
      assert.equal(both((m) => m.fn("packed_row_stride")(cols, bits), "stride"), rowStrideBytes(cols, bits));
    }
  }
});
