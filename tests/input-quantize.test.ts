// The input batch's data edge (assembly/input.ts) against src/reference/input.ts, on both builds,
// which must agree bit for bit: input_max_abs_f32 around the SIMD loop's 16-value steps with NaN
// and infinities anywhere; input_round_f32 at every width over padded and unpadded rows, the
// matrix written in chunks that start and end anywhere in a row (in order and shuffled), values
// on and next to the rounding ties, below the f32 normals and past the clamp, and exponents
// inside and outside the f32 SIMD path's range; then Engine.quantizeInput, which stages the floats
// through a small (4 KiB: 1024 floats a chunk) or a large GEMM workspace, for sizes around the
// chunk boundary, short batches, and a NaN or infinity at chunk boundaries.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

import { maxCode, packedByteLength } from "../src/format/packed.js";
import { pack } from "../src/reference/packed.js";
import { inputExponent, inputMaxAbs, inputRound } from "../src/reference/input.js";
import { Engine } from "../src/engine/engine.js";
import { STATUS_BITS, STATUS_EXPONENT, STATUS_RANGE } from "../src/runtime/abi-status.js";
import { Rng } from "./helpers/random.js";

type Fn = (...args: number[]) => number;
interface Build {
  name: string;
  memory: WebAssembly.Memory;
  base: number;
  fn: (name: string) => Fn;
}

const GUARD = 32;
const ALL_BITS = Array.from({ length: 15 }, (_, i) => i + 2);

async function load(isa: string): Promise<Build> {
  const { instance } = await WebAssembly.instantiate(await readFile(new URL(`../build/aptkit.${isa}.wasm`, import.meta.url)), {});
  const x = instance.exports as Record<string, unknown>;
  const memory = x.memory as WebAssembly.Memory;
  memory.grow(40);
  return { name: isa, memory, base: ((x.heap_base as () => number)() + 15) & ~15, fn: (n) => x[n] as Fn };
}

const builds = [await load("simd"), await load("scalar")];

/** Values v (in code units) that sit on or beside the rounding rule's edges, and random ones. */
function codeUnits(rng: Rng, count: number, limit: number): number[] {
  const ulp = (v: number) => 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23);
  const edges = [
    0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.5 - 2 ** -25, -0.5 - 2 ** -24, -0.5 + 2 ** -25, 0.5 + 2 ** -24,
    limit, -limit, limit + 0.5, -limit - 0.5, limit - 0.5, -limit + 0.5, limit + 0.49, 2 ** -130, -(2 ** -130), 2 ** -149, -(2 ** -149),
  ];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const k = rng.int(0, 9);
    if (k < 3) out.push(rng.pick(edges));
    else if (k < 5) {
      // A tie k + 0.5, or one f32 step beside it.
      const t = rng.int(-limit, limit) + 0.5;
      out.push(t + rng.pick([0, 1, -1]) * ulp(t));
    } else if (k === 5) out.push((rng.u32() / 2 ** 32 - 0.5) * 2 ** -rng.int(1, 40));
    else out.push((rng.u32() / 2 ** 32 * 2 - 1) * limit);
  }
  return out;
}

/** f32 values x = v * 2^exp (exact unless they leave the f32 range). */
function floats(units: number[], exp: number): Float32Array {
  return Float32Array.from(units, (v) => v * 2 ** exp);
}

function both<T>(what: string, f: (b: Build) => T): T {
  const [a, b] = builds.map(f);
  assert.deepStrictEqual(b, a, `${what}: the scalar build differs from the SIMD build`);
  return a;
}

describe("input_max_abs_f32", () => {
  test("max |x| around the 16-value steps, NaN and infinities anywhere", () => {
    const rng = new Rng(41);
    for (const n of [0, 1, 3, 4, 15, 16, 17, 31, 32, 33, 47, 64, 100, 1023, 1024, 1025]) {
      const cases: Float32Array[] = [floats(codeUnits(rng, n, 127), rng.int(-20, 20))];
      if (n > 0) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          for (const at of new Set([0, n - 1, Math.floor(n / 2), Math.min(n - 1, 16), Math.max(0, n - 17)])) {
            const x = floats(codeUnits(rng, n, 127), 0);
            x[at] = bad;
            cases.push(x);
          }
        }
        const both2 = floats(codeUnits(rng, n, 127), 0);
        both2[rng.int(0, n - 1)] = Infinity;
        both2[rng.int(0, n - 1)] = NaN;
        cases.push(both2);
        // Subnormals and signed zeros only.
        cases.push(Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -0 : (i % 2 ? 1 : -1) * 2 ** -(126 + (i % 23)))));
      }
      for (const x of cases) {
        const what = `n ${n}`;
        const got = both(what, (b) => {
          new Float32Array(b.memory.buffer, b.base, n).set(x);
          return b.fn("input_max_abs_f32")(b.base, n);
        });
        assert.ok(Object.is(got, inputMaxAbs(x)), `${what}: ${got} vs ${inputMaxAbs(x)}`);
      }
    }
  });

  test("a buffer outside memory is -6", () => {
    for (const b of builds) {
      assert.equal(b.fn("input_max_abs_f32")(b.memory.buffer.byteLength - 8, 3), STATUS_RANGE);
      assert.equal(b.fn("input_max_abs_f32")(b.base, 2 ** 30), STATUS_RANGE);
    }
  });
});

// Shapes: single codes, rows without padding at some widths (32 and 64 codes: every width; 28 at
// 8 bits, lenet5's lines), rows that end inside a word, long rows that cross several 64-bit words.
const SHAPES: [number, number][] = [[1, 1], [3, 5], [4, 28], [2, 32], [3, 33], [5, 17], [2, 64], [2, 100], [1, 257]];

/** [first, count] chunks covering 0..n-1 at random cut points (some of one value). */
function chunks(rng: Rng, n: number): [number, number][] {
  const cuts = new Set([0, n]);
  for (let i = 0; i < rng.int(0, 6); i++) cuts.add(rng.int(0, n));
  if (n > 2) cuts.add(rng.int(1, n - 1)), cuts.add(rng.int(1, n - 1) + 0);
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < sorted.length; i++) out.push([sorted[i], sorted[i + 1] - sorted[i]]);
  return out;
}

/** Runs input_round_f32 over the chunks into a junk-filled matrix; returns its bytes, after the
 *  guard bytes past it were checked. */
function roundInChunks(b: Build, x: Float32Array, exp: number, bits: number, rows: number, cols: number, parts: [number, number][]): Uint8Array {
  const bytes = packedByteLength(rows, cols, bits);
  const dst = b.base, src = (b.base + bytes + GUARD + 15) & ~15;
  const mem = new Uint8Array(b.memory.buffer);
  mem.fill(0xa5, dst, dst + bytes + GUARD);
  const srcBytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  for (const [first, count] of parts) {
    new Float32Array(b.memory.buffer, src, count).set(x.subarray(first, first + count));
    mem.fill(0x5a, src + count * 4, src + count * 4 + GUARD);
    const status = b.fn("input_round_f32")(src, count, exp, bits, dst, rows, cols, first);
    assert.equal(status, 0, `${b.name}: chunk at ${first} of ${count}`);
    assert.ok(mem.subarray(src + count * 4, src + count * 4 + GUARD).every((v) => v === 0x5a), `${b.name}: wrote past the floats`);
    if (bits === 8 || bits === 16) {
      assert.deepEqual(mem.slice(src, src + count * 4), srcBytes.slice(first * 4, (first + count) * 4), `${b.name}: changed the floats at ${bits} bits`);
    }
  }
  assert.ok(mem.subarray(dst + bytes, dst + bytes + GUARD).every((v) => v === 0xa5), `${b.name}: wrote past the matrix`);
  return mem.slice(dst, dst + bytes);
}

describe("input_round_f32", () => {
  test("every width and shape, in chunks, against the reference", () => {
    const rng = new Rng(42);
    for (const bits of ALL_BITS) {
      const limit = maxCode(bits);
      for (const [rows, cols] of SHAPES) {
        const n = rows * cols;
        // The exponent the host picks, then ones that clamp (exp too small), ones outside the f32
        // SIMD path's range, and values far below the codes (exp large: all 0 or +-1).
        for (const shift of [0, 0, -3, 5]) {
          const exp0 = rng.pick([-10, 0, 3, -140, 100]);
          const x = floats(codeUnits(rng, n, limit), exp0);
          const m = inputMaxAbs(x);
          const exp = (m > 0 ? inputExponent(m, bits) : 0) + shift;
          const want = pack(inputRound(x, exp, bits), rows, cols, bits).bytes;
          const parts = chunks(rng, n);
          for (const order of ["forward", "shuffled"]) {
            const run = order === "forward" ? parts : parts.slice().sort(() => rng.int(-1, 1));
            const what = `${rows}x${cols} ${bits}b exp ${exp} chunks ${JSON.stringify(run)}`;
            const got = both(what, (b) => roundInChunks(b, x, exp, bits, rows, cols, run));
            assert.deepEqual(got, want, what);
          }
        }
      }
    }
  });

  test("exponents at and past the SIMD path's f32 range, and the extremes allowed", () => {
    const rng = new Rng(43);
    for (const bits of [2, 5, 8, 11, 16]) {
      for (const exp of [-960, -500, -130, -127, -126, -125, 125, 126, 127, 130, 500, 960]) {
        const [rows, cols] = rng.pick(SHAPES.slice(1));
        const n = rows * cols;
        // Values whose codes are in range at this exponent (where f32 reaches), and f32 extremes.
        const units = codeUnits(rng, n, maxCode(bits));
        const x = Float32Array.from(units, (v, i) => (i % 7 === 0 ? rng.pick([3.4e38, -3.4e38, 1e-45, -1e-45, 1, -1]) : v * 2 ** exp));
        const want = pack(inputRound(x, exp, bits), rows, cols, bits).bytes;
        const what = `${rows}x${cols} ${bits}b exp ${exp}`;
        const got = both(what, (b) => roundInChunks(b, x, exp, bits, rows, cols, chunks(new Rng(exp + 1000), n)));
        assert.deepEqual(got, want, what);
      }
    }
  });

  test("NaN codes 0, infinities clamp, in both builds alike", () => {
    for (const bits of [3, 8, 12, 16]) {
      const x = new Float32Array(40).map((_, i) => [NaN, Infinity, -Infinity, 1.5, -2.5][i % 5]);
      const want = pack(inputRound(x, 0, bits), 2, 20, bits).bytes;
      const got = both(`${bits}b`, (b) => roundInChunks(b, x, 0, bits, 2, 20, [[0, 40]]));
      assert.deepEqual(got, want, `${bits}b`);
    }
  });

  test("refusals: bits, exponent, a run past the matrix", () => {
    for (const b of builds) {
      const f = b.fn("input_round_f32");
      const src = b.base + 4096;
      new Float32Array(b.memory.buffer, src, 8).fill(1);
      assert.equal(f(src, 8, 0, 1, b.base, 2, 4, 0), STATUS_BITS);
      assert.equal(f(src, 8, 0, 17, b.base, 2, 4, 0), STATUS_BITS);
      assert.equal(f(src, 8, 961, 8, b.base, 2, 4, 0), STATUS_EXPONENT);
      assert.equal(f(src, 8, -961, 8, b.base, 2, 4, 0), STATUS_EXPONENT);
      assert.equal(f(src, 8, 0, 8, b.base, 2, 4, 1), STATUS_RANGE);
      assert.equal(f(src, 8, 0, 8, b.base, 2, 3, 0), STATUS_RANGE);
      assert.equal(f(src, 0, 0, 8, b.base, 2, 4, 8), 0);
      assert.equal(f(src, 8, 0, 8, b.base, 2, 4, 0), 0);
    }
  });
});

// ---- through the engine ---------------------------------------------------------------------------

/** An engine whose plan holds one rows x cols matrix at `bits` and a small (4 KiB) or a large workspace. */
async function engineWith(isa: "simd" | "scalar", rows: number, cols: number, bits: number, large: boolean) {
  const engine = await Engine.create(isa);
  const at = engine.plan.reserve("out", "input", null, packedByteLength(rows, cols, bits));
  if (large) engine.declareGemm({ M: 512, N: 512, K: 512, aBits: 8, bBits: 8 });
  engine.finishPlan();
  return { engine, at };
}

// Sizes around the 1024-float chunk of a 4 KiB workspace.
const ENGINE_SHAPES: [number, number][] = [[31, 33], [32, 32], [25, 41], [1, 2049], [3, 683], [7, 439], [4, 5]];

describe("Engine.quantizeInput", () => {
  for (const isa of ["simd", "scalar"] as const) {
    test(`${isa}: every width, workspace small and large, full and short batches`, async () => {
      const rng = new Rng(isa === "simd" ? 44 : 45);
      for (const large of [false, true]) {
        for (const bits of ALL_BITS) {
          const [rows, cols] = ENGINE_SHAPES[bits % ENGINE_SHAPES.length];
          const { engine, at } = await engineWith(isa, rows, cols, bits, large);
          assert.ok(large ? engine.workspaceBytes > 4 * rows * cols : engine.workspaceBytes === 4096, "the workspace is as large as meant");
          const bytes = packedByteLength(rows, cols, bits);
          for (const short of [0, 1, rng.int(2, rows * cols - 1)]) {
            const n = rows * cols - short;
            const x = floats(codeUnits(rng, n, maxCode(bits)), rng.int(-30, 30));
            new Uint8Array(engine.memory, at, bytes).fill(0xa5);
            const exp = engine.quantizeInput(x, { at, rows, cols, bits }, "input");
            const padded = new Float32Array(rows * cols);
            padded.set(x);
            const m = inputMaxAbs(x);
            const want = m > 0 ? inputExponent(m, bits) : 0;
            const what = `${isa} ${large ? "large" : "small"} ${rows}x${cols} ${bits}b n ${n}`;
            assert.equal(exp, want, `${what}: exponent`);
            assert.deepEqual(new Uint8Array(engine.memory, at, bytes), pack(inputRound(padded, want, bits), rows, cols, bits).bytes, what);
          }
        }
      }
    });

    test(`${isa}: a NaN or infinity anywhere (chunk edges too) is reported and nothing is written`, async () => {
      const rng = new Rng(46);
      const [rows, cols] = [3, 683];
      for (const large of [false, true]) {
        const { engine, at } = await engineWith(isa, rows, cols, 8, large);
        const n = rows * cols;
        const bytes = packedByteLength(rows, cols, 8);
        for (const pos of [0, 1023, 1024, 1025, 2047, 2048, n - 1]) {
          for (const bad of [NaN, Infinity, -Infinity]) {
            const x = floats(codeUnits(rng, n, 127), -3);
            x[pos] = bad;
            new Uint8Array(engine.memory, at, bytes).fill(0xa5);
            assert.equal(engine.quantizeInput(x, { at, rows, cols, bits: 8 }, "input"), null, `${bad} at ${pos}`);
            assert.ok(new Uint8Array(engine.memory, at, bytes).every((v) => v === 0xa5), `${bad} at ${pos}: the matrix was written`);
          }
        }
        assert.throws(() => engine.quantizeInput(new Float32Array(n + 1), { at, rows, cols, bits: 8 }, "input"), RangeError);
      }
    });
  }
});
