// The packed format (docs/format.md): pack/unpack round trip at every width, kernels.pack
// equal to reference.pack and to an independent BigInt packer byte for byte, hand-checked bytes,
// and the row stride / byte length arithmetic.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  createKernels, packedByteLength, reference, rowStrideBytes, type Kernels,
} from "../src/index.js";
import { instantiateAbi, resolveIsa } from "../src/runtime/wasm.js";
import { ALL_BITS } from "./helpers/gemm-tester.js";
import { expectedRowStride, hex, packIndependently } from "./helpers/packed.js";
import { maxCodeOf, randomCodes, Rng } from "./helpers/random.js";

/** Column counts that end a row at every offset within a 32-bit word for some width. */
const COLS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100];

/** Random codes with the extremes and zero planted, so every width's sign bit and range ends appear. */
function codesFor(rng: Rng, rows: number, cols: number, bits: number): Int32Array {
  const codes = randomCodes(rng, rows * cols, bits);
  const max = maxCodeOf(bits);
  const planted = [max, -max, 0, 1, -1];
  for (let i = 0; i < planted.length && i < codes.length; i++) codes[rng.int(0, codes.length - 1)] = planted[i];
  return codes;
}

function assertBytes(got: Uint8Array, want: ArrayLike<number>, what: string): void {
  assert.equal(hex(got), hex(want), what);
}

test("hand-checked bytes: reference.pack and both builds", async () => {
  const cases: { codes: number[]; rows: number; cols: number; bits: number; bytes: number[] }[] = [
    // Element j at bits [4j, 4j+4): 1 | -1 = 0xF -> 0xF1; 7 | -7 = 0x9 -> 0x97; padded to a word.
    { codes: [1, -1, 7, -7], rows: 1, cols: 4, bits: 4, bytes: [0xf1, 0x97, 0x00, 0x00] },
    // Two rows: each starts on its own word.
    { codes: [1, 2, 3, -1, -2, -3], rows: 2, cols: 3, bits: 4, bytes: [0x21, 0x03, 0, 0, 0xef, 0x0d, 0, 0] },
    // 3 bits: 001, 111, 011 -> stream bits 0..8 = 1,0,0, 1,1,1, 1,1,0 -> 0xF9, 0x00.
    { codes: [1, -1, 3], rows: 1, cols: 3, bits: 3, bytes: [0xf9, 0x00, 0, 0] },
    // 12 bits across a word boundary: 0x7FF | 0x801 << 12 | 0x123 << 24 = 0x1_2380_17FF.
    { codes: [2047, -2047, 0x123], rows: 1, cols: 3, bits: 12, bytes: [0xff, 0x17, 0x80, 0x23, 0x01, 0, 0, 0] },
    // 16 bits: little-endian halfwords; -32767 = 0x8001.
    { codes: [-32767, 1, 256], rows: 1, cols: 3, bits: 16, bytes: [0x01, 0x80, 0x01, 0x00, 0x00, 0x01, 0, 0] },
    // 2 bits: 1, -1 (11), 0, 1 -> 0b01_00_11_01 = 0x4D.
    { codes: [1, -1, 0, 1], rows: 1, cols: 4, bits: 2, bytes: [0x4d, 0, 0, 0] },
  ];
  type Packer = { name: string; pack: (codes: number[], rows: number, cols: number, bits: number) => { bytes: Uint8Array } };
  const packers: Packer[] = [
    { name: "reference", pack: reference.pack },
    { name: "independent", pack: (c, r, k, b) => ({ bytes: packIndependently(c, r, k, b) }) },
  ];
  for (const isa of ["simd", "scalar"] as const) {
    const k = await createKernels({ isa });
    packers.push({ name: isa, pack: (c, r, cols, b) => k.pack(c, r, cols, b) });
  }
  for (const c of cases) {
    for (const p of packers) {
      assertBytes(p.pack(c.codes, c.rows, c.cols, c.bits).bytes, c.bytes, `${p.name} pack of ${JSON.stringify(c.codes)} at ${c.bits} bits`);
    }
    assert.deepEqual(Array.from(reference.unpack({ rows: c.rows, cols: c.cols, bits: c.bits, bytes: Uint8Array.from(c.bytes) })), c.codes);
  }
});

test("rowStride = ceil(cols*bits/32)*4 and bytes length = rows*rowStride, at every width", () => {
  // A few spot values by hand, then the formula everywhere.
  assert.equal(rowStrideBytes(4, 4), 4);
  assert.equal(rowStrideBytes(9, 4), 8);
  assert.equal(rowStrideBytes(3, 12), 8);
  assert.equal(rowStrideBytes(2, 16), 4);
  assert.equal(rowStrideBytes(0, 7), 0);
  assert.equal(packedByteLength(3, 9, 4), 24);
  for (const bits of ALL_BITS) {
    for (const cols of [0, ...COLS]) {
      assert.equal(rowStrideBytes(cols, bits), expectedRowStride(cols, bits), `rowStrideBytes(${cols}, ${bits})`);
      for (const rows of [0, 1, 3]) {
        const m = reference.pack(new Int32Array(rows * cols), rows, cols, bits);
        assert.equal(m.bytes.length, rows * expectedRowStride(cols, bits), `reference.pack ${rows}x${cols}@${bits} length`);
        assert.equal(packedByteLength(rows, cols, bits), rows * expectedRowStride(cols, bits));
      }
    }
  }
});

for (const isa of ["simd", "scalar"] as const) {
  describe(`packed format (${isa})`, () => {
    let kernels: Kernels;
    before(async () => {
      kernels = await createKernels({ isa });
      assert.equal(kernels.isa, isa);
    });

    test("pack equals reference.pack and the independent packer byte for byte, bits 2..16", () => {
      const rng = new Rng(11);
      for (const bits of ALL_BITS) {
        for (const cols of COLS) {
          const rows = rng.int(1, 4);
          const codes = codesFor(rng, rows, cols, bits);
          const what = `${rows}x${cols} at ${bits} bits`;
          const got = kernels.pack(codes, rows, cols, bits);
          assert.deepEqual([got.rows, got.cols, got.bits], [rows, cols, bits], what);
          assert.equal(got.bytes.length, rows * expectedRowStride(cols, bits), `${what}: byte length`);
          const independent = packIndependently(codes, rows, cols, bits);
          assertBytes(got.bytes, independent, `${isa} pack, ${what}`);
          assertBytes(reference.pack(codes, rows, cols, bits).bytes, independent, `reference.pack, ${what}`);
        }
      }
    });

    test("unpack(pack(codes)) == codes for bits 2..16, including the extremes, and across implementations", () => {
      const rng = new Rng(12);
      for (const bits of ALL_BITS) {
        for (const cols of COLS) {
          const rows = rng.int(1, 5);
          const codes = codesFor(rng, rows, cols, bits);
          const what = `${rows}x${cols} at ${bits} bits`;
          const packed = kernels.pack(codes, rows, cols, bits);
          assert.deepEqual(kernels.unpack(packed), codes, `${isa} unpack(${isa} pack), ${what}`);
          assert.deepEqual(reference.unpack(packed), codes, `reference.unpack(${isa} pack), ${what}`);
          assert.deepEqual(kernels.unpack(reference.pack(codes, rows, cols, bits)), codes, `${isa} unpack(reference.pack), ${what}`);
        }
      }
    });

    test("a row of only extremes and a row of only -1 round-trip at every width (all sign bits set)", () => {
      for (const bits of ALL_BITS) {
        const max = maxCodeOf(bits);
        const cols = 37;
        const codes = new Int32Array(3 * cols);
        for (let j = 0; j < cols; j++) {
          codes[j] = j % 2 ? max : -max;
          codes[cols + j] = -1;
          codes[2 * cols + j] = j % 3 ? -max : max;
        }
        const packed = kernels.pack(codes, 3, cols, bits);
        assertBytes(packed.bytes, packIndependently(codes, 3, cols, bits), `${bits} bits`);
        assert.deepEqual(kernels.unpack(packed), codes, `${bits} bits`);
      }
    });

    test("padding bits set to ones by hand: refused at the API, ignored by the wasm decoders", async () => {
      // The format puts zeros in the padding, and the public API now refuses a matrix without them
      // (tests/packed-validation.test.ts sweeps that). The engine hands its own buffers to the ABI
      // unchecked, so the decoders must still never read padding: a reader off by a word would return
      // a wrong code here instead of a lucky zero.
      const abi = await instantiateAbi((await resolveIsa(isa)).bytes);
      const rng = new Rng(13);
      for (const bits of ALL_BITS) {
        const cols = 5;
        const codes = codesFor(rng, 2, cols, bits);
        const packed = kernels.pack(codes, 2, cols, bits);
        const stride = expectedRowStride(cols, bits);
        const used = cols * bits;
        const dirty = packed.bytes.slice();
        for (let r = 0; r < 2; r++) {
          for (let bit = used; bit < stride * 8; bit++) dirty[r * stride + (bit >> 3)] |= 1 << (bit & 7);
        }
        const m = { rows: 2, cols, bits, bytes: dirty };
        if (used % 32 !== 0) {
          assert.throws(() => kernels.unpack(m), /^RangeError: m: row 0 has padding bits set/, `${isa} unpack, ${bits} bits`);
          assert.throws(() => kernels.gemm(m, packed, { transB: true }), /^RangeError: a: row 0 has padding bits set/);
          assert.deepEqual(reference.unpack(m), codes, `reference.unpack reads past dirty padding, ${bits} bits`);
        }
        // Raw ABI: unpack, and (2 x 5) * (2 x 5)^T and A^T * A, where every byte of both rows,
        // padding included, reaches the kernel.
        const base = abi.heap_base() + 64;
        const at = { m: base, codes: base + 256, c: base + 512, work: base + 1024 };
        const workBytes = 60000;
        const need = at.work + workBytes;
        if (abi.memory.buffer.byteLength < need) abi.memory.grow(Math.ceil((need - abi.memory.buffer.byteLength) / 65536));
        new Uint8Array(abi.memory.buffer, at.m, dirty.length).set(dirty);
        assert.equal(abi.unpack(at.m, 2, cols, bits, at.codes), 0);
        assert.deepEqual(new Int32Array(abi.memory.buffer, at.codes, 2 * cols), codes, `${isa} raw unpack with dirty padding, ${bits} bits`);
        for (const [tA, tB, M, N] of [[0, 1, 2, 2], [1, 0, cols, cols]] as const) {
          assert.equal(abi.gemm(at.m, 2, cols, bits, tA, at.m, 2, cols, bits, tB, at.c, at.work, workBytes), 0);
          const want = reference.gemm(packed, packed, { transA: tA === 1, transB: tB === 1 });
          assert.deepEqual(new Float64Array(abi.memory.buffer, at.c, M * N).slice(), want, `${isa} raw gemm (transA ${tA}) with dirty padding, ${bits} bits`);
        }
      }
    });

    test("empty matrices: 0 rows or 0 cols pack to zero bytes and unpack to nothing", () => {
      for (const [rows, cols] of [[0, 5], [3, 0], [0, 0]] as const) {
        const packed = kernels.pack([], rows, cols, 7);
        assert.equal(packed.bytes.length, 0);
        assert.equal(kernels.unpack(packed).length, 0);
      }
    });

    test("pack returns a copy: a later call does not change an earlier result", () => {
      const first = kernels.pack([1, 2, 3, 4, 5], 1, 5, 8);
      const snapshot = hex(first.bytes);
      kernels.pack([-1, -2, -3, -4, -5], 1, 5, 8);
      kernels.unpack(kernels.pack(new Int32Array(64).fill(-100), 8, 8, 8));
      assert.equal(hex(first.bytes), snapshot);
      const unpacked = kernels.unpack(first);
      kernels.unpack(kernels.pack([7, 7, 7, 7, 7], 1, 5, 8));
      assert.deepEqual(Array.from(unpacked), [1, 2, 3, 4, 5]);
    });
  });
}
