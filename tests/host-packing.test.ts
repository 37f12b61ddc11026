// The host's word-at-a-time packer (data entering the engine) against the bit-by-bit reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { packInto, packedByteLength, unpackFrom, maxCode } from "../src/format/packed.js";
import { reference } from "../src/index.js";

test("packInto and unpackFrom agree with the reference at every width and odd shapes", () => {
  let s = 7;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  for (let bits = 2; bits <= 16; bits++) {
    for (const [rows, cols] of [[1, 1], [3, 7], [2, 33], [5, 28]]) {
      const m = maxCode(bits);
      const codes = Int32Array.from({ length: rows * cols }, (_, i) => (i % 5 === 0 ? (i % 2 ? m : -m) : (next() % (2 * m + 1)) - m));
      const out = new Uint8Array(packedByteLength(rows, cols, bits)).fill(0xff);
      packInto(out, codes, rows, cols, bits);
      assert.deepEqual(out, reference.pack(codes, rows, cols, bits).bytes, `${rows}x${cols} at ${bits} bits`);
      assert.deepEqual(unpackFrom(out, rows, cols, bits), codes);
    }
  }
});
