// A PreparedGemm that can no longer give the right answer refuses to run. Its operands and result
// live in memory the next call on the same Kernels reuses, and it multiplies the operands as they
// were when prepared: after another call, or once an operand's shape, width or bytes changed, run()
// and result() throw StaleGemmError saying why, instead of returning some other product. Both
// builds, with and without pre-packed B.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createKernels, reference, type Kernels, type PackedMatrix } from "../src/index.js";
import { StaleGemmError } from "../src/kernels/kernels.js";
import { randomCodes, Rng } from "./helpers/random.js";

function stale(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof StaleGemmError, String(e));
    assert.equal(e.code, "APTKIT_STALE_GEMM");
    assert.match(e.message, pattern);
    return true;
  };
}

for (const isa of ["simd", "scalar"] as const) {
  for (const prepackB of [false, true]) {
    describe(`stale PreparedGemm (${isa}${prepackB ? ", prepackB" : ""})`, () => {
      let kernels: Kernels;
      let rng: Rng;
      const matrix = (rows: number, cols: number, bits: number): PackedMatrix => kernels.pack(randomCodes(rng, rows * cols, bits), rows, cols, bits);
      before(async () => {
        kernels = await createKernels({ isa });
        rng = new Rng(prepackB ? 7 : 8);
      });

      test("runs again and again while nothing else touched its memory", () => {
        const a = matrix(5, 9, 6), b = matrix(9, 4, 11);
        const p = kernels.prepareGemm(a, b, { prepackB });
        const want = reference.gemm(a, b);
        for (let i = 0; i < 3; i++) {
          p.run();
          assert.deepEqual(p.result(), want);
        }
      });

      test("every later call on the same Kernels (pack, unpack, gemm, prepareGemm) makes it refuse", () => {
        const a = matrix(6, 7, 8), b = matrix(7, 3, 8);
        const others: [string, () => unknown][] = [
          ["pack", () => kernels.pack([1, 2, 3], 1, 3, 4)],
          ["unpack", () => kernels.unpack(a)],
          ["gemm", () => kernels.gemm(matrix(2, 7, 3), b)],
          ["prepareGemm", () => kernels.prepareGemm(b, a, { transA: true, transB: true })],
        ];
        for (const [name, other] of others) {
          const p = kernels.prepareGemm(a, b, { prepackB });
          p.run();
          other();
          assert.throws(() => p.run(), stale(/^PreparedGemm\.run: a later call on the same Kernels .* reused the memory holding this 6x3x7 gemm's operands and result; prepare it again$/), name);
          assert.throws(() => p.result(), stale(/^PreparedGemm\.result: a later call/), name);
          // Prepared again, it is right again.
          const q = kernels.prepareGemm(a, b, { prepackB });
          q.run();
          assert.deepEqual(q.result(), reference.gemm(a, b), name);
        }
      });

      test("an operand whose width, shape or bytes changed after prepareGemm makes it refuse", () => {
        const codes = randomCodes(rng, 4 * 8, 4);
        const b = matrix(8, 5, 9);
        const changes: [string, (m: { rows: number; cols: number; bits: number; bytes: Uint8Array }) => void, RegExp][] = [
          // Same byte length at 4 and 3 bits (one word per row), so only the width tells them apart.
          ["width", (m) => { m.bits = 3; }, /operand a changed from 4x8 at 4 bits to 4x8 at 3 bits since prepareGemm/],
          ["shape", (m) => { m.rows = 8; m.cols = 4; }, /operand a changed from 4x8 at 4 bits to 8x4 at 4 bits/],
          ["bytes", (m) => { m.bytes = m.bytes.slice(); }, /operand a's bytes were replaced since prepareGemm/],
        ];
        for (const [name, change, pattern] of changes) {
          const a = { ...kernels.pack(codes, 4, 8, 4) };
          const p = kernels.prepareGemm(a, b, { prepackB });
          p.run();
          change(a);
          assert.throws(() => p.run(), stale(pattern), name);
          assert.throws(() => p.result(), stale(pattern), name);
        }
      });
    });
  }
}
