// ReLU and 2x2 stride-2 max pooling at every code width and width pair, against src/reference/,
// on both builds, which must agree bit for bit. The kernels take a whole-word (SWAR) path at
// widths other than 8 and 16, so the shapes here put fields across 64-bit words (long rows, rows
// whose stride is not a multiple of 8 bytes), split a pixel's channels into several blocks (many
// channels at wide codes), and end rows and buffers at every alignment. Outputs start full of junk
// and are followed by guard bytes; inputs must come back unchanged.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

import { maxCode, packedByteLength } from "../src/format/packed.js";
import { pack } from "../src/reference/packed.js";
import { reluBackward, reluForward } from "../src/reference/activation.js";
import { maxPoolBackward, maxPoolForward, poolOutputSize, type PoolShape } from "../src/reference/pool.js";
import { Rng, edgeCodes, randomCodes } from "./helpers/random.js";

type Fn = (...args: number[]) => number;

const GUARD = 24;

/** One build: buffers placed upward from heap_base, each followed by guard bytes. */
class Build {
  private top = 0;
  private checks: { at: number; bytes: Uint8Array }[] = [];
  constructor(readonly name: string, private readonly exports: Record<string, unknown>, private readonly junk: number) {}

  fn(name: string): Fn {
    return this.exports[name] as Fn;
  }

  private get memory(): WebAssembly.Memory {
    return this.exports.memory as WebAssembly.Memory;
  }

  reset(): void {
    this.top = ((this.exports.heap_base as () => number)() + 15) & ~15;
    this.checks = [];
  }

  /** A buffer of n bytes holding `bytes` (then junk), checked unchanged afterwards unless mutable. */
  put(n: number, bytes?: Uint8Array, mutable = false): number {
    const at = this.top;
    this.top = (at + n + GUARD + 15) & ~15;
    if (this.top > this.memory.buffer.byteLength) this.memory.grow(Math.ceil((this.top - this.memory.buffer.byteLength) / 65536));
    this.view(at, n + GUARD).fill(this.junk);
    if (bytes) this.view(at, bytes.length).set(bytes);
    this.checks.push({ at: at + n, bytes: this.get(at + n, GUARD) });
    if (bytes && !mutable) this.checks.push({ at, bytes: bytes.slice() });
    return at;
  }

  view(at: number, n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, at, n);
  }

  get(at: number, n: number): Uint8Array {
    return this.view(at, n).slice();
  }

  i32(at: number): number {
    return new DataView(this.memory.buffer).getInt32(at, true);
  }

  verify(what: string): void {
    for (const c of this.checks) assert.deepEqual(this.get(c.at, c.bytes.length), c.bytes, `${this.name} ${what}: bytes at ${c.at} changed`);
  }
}

async function load(isa: string, junk: number): Promise<Build> {
  const { instance } = await WebAssembly.instantiate(await readFile(new URL(`../build/aptkit.${isa}.wasm`, import.meta.url)), {});
  return new Build(isa, instance.exports, junk);
}

const builds = [await load("simd", 0xa5), await load("scalar", 0x5a)];

/** Runs f on both builds, checks guards and inputs, and that both return the same. */
function both<T>(what: string, f: (b: Build) => T): T {
  const [first, second] = builds.map((b) => {
    b.reset();
    const r = f(b);
    b.verify(what);
    return r;
  });
  assert.deepStrictEqual(second, first, `${what}: scalar build differs from SIMD build`);
  return first;
}

const ALL_BITS = Array.from({ length: 15 }, (_, i) => i + 2);

const codes = edgeCodes;

// ---- ReLU -----------------------------------------------------------------------------------------

// Columns around one and several 64-bit words at every width (fields straddling words, strides of
// 4 mod 8 bytes), and a single column.
const RELU_SHAPES: [number, number][] = [[1, 1], [3, 5], [2, 21], [2, 32], [3, 33], [2, 63], [4, 64], [1, 65], [3, 100], [2, 257]];

test("relu_forward in place: every width and shape", () => {
  const rng = new Rng(31);
  for (const bits of ALL_BITS) {
    for (const [rows, cols] of RELU_SHAPES) {
      const x = codes(rng, rows * cols, bits);
      const X = pack(x, rows, cols, bits).bytes;
      const what = `relu_forward ${rows}x${cols} ${bits}b`;
      const got = both(what, (b) => {
        const p = b.put(X.length, X, true);
        assert.equal(b.fn("relu_forward")(p, rows, cols, bits), 0, what);
        return b.get(p, X.length);
      });
      assert.deepEqual(got, pack(reluForward(x), rows, cols, bits).bytes, what);
    }
  }
});

test("relu_backward: every width pair, out of place and in place", () => {
  const rng = new Rng(32);
  for (const yBits of ALL_BITS) {
    for (const dyBits of ALL_BITS) {
      for (const [rows, cols] of [rng.pick(RELU_SHAPES), rng.pick(RELU_SHAPES), [2, 257] as [number, number]]) {
        const y = reluForward(codes(rng, rows * cols, yBits));
        const dy = codes(rng, rows * cols, dyBits);
        const Y = pack(y, rows, cols, yBits).bytes, DY = pack(dy, rows, cols, dyBits).bytes;
        const what = `relu_backward ${rows}x${cols} y${yBits}b dy${dyBits}b`;
        const got = both(what, (b) => {
          const yp = b.put(Y.length, Y), dyp = b.put(DY.length, DY), dx = b.put(DY.length);
          assert.equal(b.fn("relu_backward")(yp, yBits, dyp, dyBits, rows, cols, dx), 0, what);
          const inPlace = b.put(DY.length, DY, true);
          assert.equal(b.fn("relu_backward")(yp, yBits, inPlace, dyBits, rows, cols, inPlace), 0, what);
          return [b.get(dx, DY.length), b.get(inPlace, DY.length)];
        });
        const want = pack(reluBackward(y, dy), rows, cols, dyBits).bytes;
        assert.deepEqual(got[0], want, what);
        assert.deepEqual(got[1], want, `${what} (in place)`);
      }
    }
  }
});

// ---- max pooling, 2x2 at stride 2 ------------------------------------------------------------------

const pool2 = (N: number, H: number, W: number, C: number): PoolShape => ({ N, H, W, C, kh: 2, kw: 2, sh: 2, sw: 2 });

// lenet5's two pools, odd H and W (a last line and column no window covers), one channel, and
// channel counts that split into several blocks of fields at wide codes (16 at 6 bits is 96 bits
// a pixel; 29 and 40 at 16 bits are 10 and 14 blocks).
const POOL_SHAPES: PoolShape[] = [
  pool2(1, 28, 28, 6), pool2(2, 10, 10, 16), pool2(2, 7, 5, 3), pool2(1, 3, 3, 1), pool2(2, 9, 40, 1),
  pool2(1, 2, 2, 2), pool2(2, 5, 7, 29), pool2(1, 4, 6, 40), pool2(3, 6, 9, 5),
];

function dims(p: PoolShape) {
  const OH = poolOutputSize(p.H, p.kh, p.sh), OW = poolOutputSize(p.W, p.kw, p.sw);
  return { inRows: p.N * p.H, inCols: p.W * p.C, outRows: p.N * OH, outCols: OW * p.C };
}

const describe = (p: PoolShape) => `N${p.N} ${p.H}x${p.W}x${p.C}`;

test("max_pool_forward 2x2/2: every width and shape, ties and full-range codes", () => {
  const rng = new Rng(33);
  for (const bits of ALL_BITS) {
    for (const p of POOL_SHAPES) {
      const d = dims(p);
      for (const range of [2, maxCode(bits)]) {
        const x = codes(rng, d.inRows * d.inCols, bits, range);
        const X = pack(x, d.inRows, d.inCols, bits).bytes;
        const ny = packedByteLength(d.outRows, d.outCols, bits);
        const what = `max_pool_forward ${describe(p)} ${bits}b range ${range}`;
        const got = both(what, (b) => {
          const xp = b.put(X.length, X), y = b.put(ny);
          assert.equal(b.fn("max_pool_forward")(xp, p.N, p.H, p.W, p.C, bits, 2, 2, 2, 2, y), 0, what);
          return b.get(y, ny);
        });
        assert.deepEqual(got, pack(maxPoolForward(x, p), d.outRows, d.outCols, bits).bytes, what);
      }
    }
  }
});

test("max_pool_backward 2x2/2: every (x, dY) width pair, the first maximum takes dY", () => {
  const rng = new Rng(34);
  for (const xBits of ALL_BITS) {
    for (const dyBits of ALL_BITS) {
      for (const p of [rng.pick(POOL_SHAPES), rng.pick(POOL_SHAPES)]) {
        const d = dims(p);
        const x = codes(rng, d.inRows * d.inCols, xBits, rng.pick([1, 2, maxCode(xBits)]));
        const dy = codes(rng, d.outRows * d.outCols, dyBits);
        const X = pack(x, d.inRows, d.inCols, xBits).bytes, DY = pack(dy, d.outRows, d.outCols, dyBits).bytes;
        const nx = packedByteLength(d.inRows, d.inCols, dyBits);
        const what = `max_pool_backward ${describe(p)} x${xBits}b dy${dyBits}b`;
        const got = both(what, (b) => {
          const xp = b.put(X.length, X), dyp = b.put(DY.length, DY), dx = b.put(nx), stats = b.put(4);
          const status = b.fn("max_pool_backward")(xp, p.N, p.H, p.W, p.C, xBits, 2, 2, 2, 2, dyp, dyBits, dx, stats);
          assert.equal(status, 0, what);
          return { dx: b.get(dx, nx), saturated: b.i32(stats) };
        });
        const want = maxPoolBackward(x, dy, dyBits, p);
        assert.deepEqual(got.dx, pack(want.dx, d.inRows, d.inCols, dyBits).bytes, what);
        assert.equal(got.saturated, 0, what);
      }
    }
  }
});
