// What the packed format forbids (docs/format.md) is refused at the public API: the code
// -2^(bits-1), which symmetric codes never use, and set bits in a row's padding. Every width 2..16,
// every Kernels entry point that takes a PackedMatrix (unpack, gemm as a or b, prepareGemm),
// a RangeError naming the matrix, the row and the column. The scan itself is checked against a
// bit-by-bit search on random matrices.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createKernels, reference, type Kernels, type PackedMatrix } from "../src/index.js";
import { findPackedViolation, unpackFrom } from "../src/format/packed.js";
import { ALL_BITS } from "./helpers/gemm-tester.js";
import { expectedRowStride, packIndependently } from "./helpers/packed.js";
import { randomCodes, Rng } from "./helpers/random.js";

const COLS = [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 40];

/** A rows x cols matrix of valid codes with the forbidden code planted at (row, col). */
function withForbidden(rng: Rng, rows: number, cols: number, bits: number, row: number, col: number): PackedMatrix {
  const codes = randomCodes(rng, rows * cols, bits);
  codes[row * cols + col] = -(2 ** (bits - 1));
  return { rows, cols, bits, bytes: packIndependently(codes, rows, cols, bits) };
}

/** A valid matrix with one padding bit of `row` set (`bit` counted from the row's first bit). */
function withPaddingBit(rng: Rng, rows: number, cols: number, bits: number, row: number, bit: number): PackedMatrix {
  const bytes = packIndependently(randomCodes(rng, rows * cols, bits), rows, cols, bits);
  bytes[row * expectedRowStride(cols, bits) + (bit >> 3)] |= 1 << (bit & 7);
  return { rows, cols, bits, bytes };
}

function expectRefusal(run: () => unknown, name: string, row: number, column: number, kind: "forbidden code" | "padding", what: string): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof RangeError, `${what}: ${String(e)}`);
    const r = e as RangeError & { code?: string; matrix?: string; row?: number; column?: number; kind?: string };
    assert.equal(r.code, "APTKIT_PACKED_FORMAT", what);
    assert.equal(r.matrix, name, what);
    assert.equal(r.row, row, what);
    assert.equal(r.kind, kind, what);
    if (kind === "forbidden code") {
      assert.equal(r.column, column, what);
      assert.match(r.message, new RegExp(`^${name}: row ${row}, column ${column} holds the code -\\d+`), what);
    } else {
      assert.match(r.message, new RegExp(`^${name}: row ${row} has padding bits set after its last column \\(column ${column - 1}\\)`), what);
    }
    return true;
  }, what);
}

/** Bit-by-bit: padding of each row first, then its codes, rows in order (the order the scan reports). */
function slowViolation(m: PackedMatrix): { kind: string; row: number; column: number } | null {
  const stride = expectedRowStride(m.cols, m.bits);
  const codes = unpackFrom(m.bytes, m.rows, m.cols, m.bits);
  for (let r = 0; r < m.rows; r++) {
    for (let bit = m.cols * m.bits; bit < stride * 8; bit++) {
      if ((m.bytes[r * stride + (bit >> 3)] >> (bit & 7)) & 1) return { kind: "padding", row: r, column: m.cols };
    }
    for (let j = 0; j < m.cols; j++) if (codes[r * m.cols + j] === -(2 ** (m.bits - 1))) return { kind: "forbidden code", row: r, column: j };
  }
  return null;
}

test("the scan finds what a bit-by-bit search finds, on random bytes at every width", () => {
  const rng = new Rng(41);
  for (const bits of ALL_BITS) {
    for (const cols of COLS) {
      for (let trial = 0; trial < 6; trial++) {
        const rows = rng.int(1, 4);
        const valid = packIndependently(randomCodes(rng, rows * cols, bits), rows, cols, bits);
        // Sparse damage: a few random bytes, so both clean and dirty matrices occur.
        for (let k = rng.int(0, 2); k > 0; k--) valid[rng.int(0, valid.length - 1)] = rng.int(0, 255);
        const m = { rows, cols, bits, bytes: valid };
        const got = findPackedViolation(m);
        const want = slowViolation(m);
        const what = `${rows}x${cols} at ${bits} bits, bytes ${Array.from(valid).join(",")}`;
        assert.deepEqual(got && { kind: got.kind, row: got.row, column: got.column }, want, what);
      }
    }
  }
});

for (const isa of ["simd", "scalar"] as const) {
  describe(`packed-format validation at the Kernels API (${isa})`, () => {
    let kernels: Kernels;
    before(async () => {
      kernels = await createKernels({ isa });
    });

    test("the forbidden code -2^(bits-1) at every width, first / middle / last column, is refused everywhere", () => {
      const rng = new Rng(42);
      for (const bits of ALL_BITS) {
        for (const cols of [1, 7, 33]) {
          for (const col of new Set([0, cols >> 1, cols - 1])) {
            const rows = 3, row = rng.int(0, rows - 1);
            const bad = withForbidden(rng, rows, cols, bits, row, col);
            const good = kernels.pack(randomCodes(rng, rows * cols, bits), rows, cols, bits);
            const what = `${bits} bits, ${rows}x${cols}, at [${row}, ${col}]`;
            expectRefusal(() => kernels.unpack(bad), "m", row, col, "forbidden code", `unpack, ${what}`);
            // The reference stays a plain reader (it also reads the engine's own tensors).
            assert.equal(reference.unpack(bad)[row * cols + col], -(2 ** (bits - 1)), what);
            expectRefusal(() => kernels.gemm(bad, good, { transB: true }), "a", row, col, "forbidden code", `gemm a, ${what}`);
            expectRefusal(() => kernels.gemm(good, bad, { transA: true }), "b", row, col, "forbidden code", `gemm b, ${what}`);
            expectRefusal(() => kernels.prepareGemm(good, bad, { transB: true, prepackB: true }), "b", row, col, "forbidden code", `prepareGemm b, ${what}`);
          }
        }
      }
    });

    test("a set padding bit at every width and every padding position is refused, naming the row", () => {
      const rng = new Rng(43);
      let cases = 0;
      for (const bits of ALL_BITS) {
        for (const cols of [1, 3, 5, 9]) {
          const used = cols * bits, end = expectedRowStride(cols, bits) * 8;
          for (let bit = used; bit < end; bit++) {
            const rows = 2, row = bit % rows;
            const bad = withPaddingBit(rng, rows, cols, bits, row, bit);
            const good = kernels.pack(randomCodes(rng, rows * cols, bits), rows, cols, bits);
            const what = `${bits} bits, ${rows}x${cols}, padding bit ${bit} of row ${row}`;
            expectRefusal(() => kernels.unpack(bad), "m", row, cols, "padding", `unpack, ${what}`);
            expectRefusal(() => kernels.gemm(good, bad, { transB: true }), "b", row, cols, "padding", `gemm b, ${what}`);
            cases++;
          }
        }
      }
      assert.ok(cases > 1000, `only ${cases} padding positions tried`);
    });

    test("every valid code, the extremes +-(2^(bits-1)-1) included, still passes at every width", () => {
      for (const bits of ALL_BITS) {
        const max = 2 ** (bits - 1) - 1;
        const codes = Int32Array.from({ length: 2 * 11 }, (_, i) => [max, -max, 0, 1, -1][i % 5]);
        const m = { rows: 2, cols: 11, bits, bytes: packIndependently(codes, 2, 11, bits) };
        assert.equal(findPackedViolation(m), null, `${bits} bits`);
        assert.deepEqual(kernels.unpack(m), codes, `${bits} bits`);
        assert.deepEqual(kernels.gemm(m, m, { transB: true }), reference.gemm(m, m, { transB: true }), `${bits} bits`);
      }
    });
  });
}
