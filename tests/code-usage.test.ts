// The output statistic's sample (src/format/usage.ts): whole rows in blocks spread over the
// tensor, counted exactly against codes decoded by the reference, at every width.
import { test } from "node:test";
import assert from "node:assert/strict";
import { codeUsage, rmsCode, USAGE_BLOCKS } from "../src/format/usage.js";
import { packInto, packedByteLength, maxCode } from "../src/format/packed.js";
import { Rng } from "./helpers/random.js";

test("codeUsage counts the rows it samples exactly, spread from the first row to the last, at widths 2..16", () => {
  const rng = new Rng(5);
  for (const bits of [2, 3, 5, 6, 7, 8, 11, 16]) {
    for (const [rows, cols] of [[1, 1], [7, 3], [300, 6], [32, 120], [5000, 16]]) {
      const q = maxCode(bits);
      const codes = Int32Array.from({ length: rows * cols }, () => (rng.u32() % 3 === 0 ? 0 : (rng.u32() % (2 * q + 1)) - q));
      const bytes = new Uint8Array(packedByteLength(rows, cols, bits) + 8);
      packInto(bytes.subarray(8), codes, rows, cols, bits);
      const maxCodes = 256;
      const u = codeUsage(bytes.buffer, 8, rows, cols, bits, maxCodes);
      // The same sample, by hand: the rows the rule picks.
      const perBlock = Math.max(1, Math.ceil(maxCodes / USAGE_BLOCKS / cols));
      const blocks = Math.max(1, Math.min(USAGE_BLOCKS, Math.floor(rows / perBlock)));
      let count = 0, nonzero = 0, sumSquares = 0, last = 0;
      for (let b = 0; b < blocks; b++) {
        const first = Math.floor((b * rows) / blocks);
        for (let r = first; r < Math.min(rows, first + perBlock); r++) {
          for (let c = 0; c < cols; c++) {
            const v = codes[r * cols + c];
            count++;
            if (v !== 0) { nonzero++; sumSquares += v * v; }
          }
          last = r;
        }
      }
      const what = `${rows}x${cols} at ${bits} bits`;
      assert.deepEqual(u, { count, nonzero, sumSquares }, what);
      if (rows >= USAGE_BLOCKS * perBlock) assert.ok(last >= rows - rows / USAGE_BLOCKS - perBlock, `${what}: the sample reaches the last part`);
      assert.ok(u.count <= Math.max(maxCodes + USAGE_BLOCKS * cols, cols), what);
    }
  }
});

test("rmsCode: the rms of all the codes read, 0 when all are zero", () => {
  assert.equal(rmsCode({ count: 10, nonzero: 0, sumSquares: 0 }), 0);
  assert.equal(rmsCode({ count: 10, nonzero: 2, sumSquares: 3 * 3 + 4 * 4 }), Math.sqrt(2.5));
  assert.equal(rmsCode({ count: 0, nonzero: 0, sumSquares: 0 }), 0);
});
