// Exact scaling with a guessed exponent (Engine.product given previousExp): one REQUANT pass that
// also takes the maximum, kept when that maximum chooses the guess, redone otherwise. Whatever the
// guess, the codes, the exponent and the saturation count must be those of the two-pass order
// (MAXABS, then REQUANT), and the energy account must see the same two passes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine, type OpRecord } from "../src/engine/engine.js";
import { packInto, packedByteLength } from "../src/format/packed.js";
import { maxCode } from "../src/format/packed.js";
import type { View } from "../src/runtime/descriptors.js";

function codes(n: number, bits: number, seed: number): Int32Array {
  let s = seed >>> 0;
  const m = maxCode(bits);
  return Int32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s % (2 * m + 1)) - m;
  });
}

for (const isa of ["simd", "scalar"] as const) {
  for (const c of [
    { M: 37, K: 29, N: 6, aBits: 8, bBits: 8, outBits: 8, relu: true, bias: true },
    { M: 50, K: 70, N: 13, aBits: 6, bBits: 10, outBits: 8, relu: false, bias: false },
    { M: 9, K: 300, N: 21, aBits: 8, bBits: 12, outBits: 5, relu: false, bias: true },
    { M: 16, K: 40, N: 10, aBits: 16, bBits: 16, outBits: 8, relu: true, bias: false },
  ]) {
    test(`${isa}: exact scaling at any guessed exponent writes what two passes write (${JSON.stringify(c)})`, async () => {
      const engine = await Engine.create(isa);
      const plan = engine.plan;
      const aAt = plan.reserve("a", "activations", null, packedByteLength(c.M, c.K, c.aBits));
      const bAt = plan.reserve("b", "weights", null, packedByteLength(c.N, c.K, c.bBits));
      const biasAt = plan.reserve("bias", "biases", null, packedByteLength(1, c.N, 16));
      const outAt = plan.reserve("out", "activations", null, packedByteLength(c.M, c.N, c.outBits));
      engine.declareGemm({ M: c.M, N: c.N, K: c.K, aBits: c.aBits, bBits: c.bBits });
      engine.finishPlan();
      const mem = engine.memory;
      packInto(new Uint8Array(mem, aAt, packedByteLength(c.M, c.K, c.aBits)), codes(c.M * c.K, c.aBits, 1), c.M, c.K, c.aBits);
      packInto(new Uint8Array(mem, bAt, packedByteLength(c.N, c.K, c.bBits)), codes(c.N * c.K, c.bBits, 2), c.N, c.K, c.bBits);
      packInto(new Uint8Array(mem, biasAt, packedByteLength(1, c.N, 16)), codes(c.N, 16, 3), 1, c.N, 16);
      const a: View = { kind: "plain", at: aAt, bits: c.aBits, rows: c.M, cols: c.K };
      const b: View = { kind: "plain", at: bAt, bits: c.bBits, rows: c.N, cols: c.K, trans: true };
      const out: View = { kind: "plain", at: outAt, bits: c.outBits, rows: c.M, cols: c.N };
      const outBytes = () => new Uint8Array(mem, outAt, packedByteLength(c.M, c.N, c.outBits)).slice();
      const ops: OpRecord[] = [];
      engine.onOp = (op) => ops.push(op);
      const run = (previousExp?: number) => {
        new Uint8Array(mem, outAt, packedByteLength(c.M, c.N, c.outBits)).fill(0);
        const before = engine.saturatedCodes;
        ops.length = 0;
        const r = engine.product(a, b, out, -7, {
          bias: c.bias ? { at: biasAt, bits: 16, exp: -12 } : undefined, relu: c.relu, stream: 3, previousExp, what: "p",
        });
        return { ...r, bytes: outBytes(), saturated: engine.saturatedCodes - before, ops: ops.map((o) => (o.kind === "gemm" ? o.mode : o.op)) };
      };
      const twoPass = run();
      assert.deepEqual(twoPass.ops, ["maxabs", "requant"]);
      for (const guess of [twoPass.exp, twoPass.exp - 1, twoPass.exp + 1, twoPass.exp - 9, twoPass.exp + 9]) {
        const r = run(guess);
        assert.equal(r.exp, twoPass.exp, `guess ${guess}`);
        assert.equal(r.nextExp, twoPass.nextExp, `guess ${guess}`);
        assert.deepEqual(r.bytes, twoPass.bytes, `guess ${guess}: codes`);
        assert.equal(r.saturated, twoPass.saturated, `guess ${guess}: saturation`);
        assert.deepEqual(r.ops, ["maxabs", "requant"], `guess ${guess}: energy account`);
      }
    });
  }
}
