// The energy model (src/energy/energy.ts, docs/energy.md): a known product priced by hand from
// Horowitz's table, monotone in every width (more bits never cheaper, for arithmetic and for
// memory), and the fp32 repricing of any integer record never below its integer price.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  EnergyCounter, HOROWITZ_45NM, MUL_EXPONENT, intAddJoules, intMulJoules, int32Block, masterWeightOps, price, reprice,
  type EnergyOp, type EnergyReport,
} from "../src/energy/energy.js";

const pJ = 1e-12;

function priced(ops: EnergyOp[], o: { arithmetic?: "integer" | "float"; rounding?: "nearest" | "stochastic" } = {}): EnergyReport {
  const c = new EnergyCounter({ arithmetic: o.arithmetic ?? "integer", rounding: o.rounding ?? "nearest" });
  for (const op of ops) c.record(op);
  c.endStep();
  return c.report();
}

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.abs(expected), `${what}: ${actual} vs ${expected}`);

test("the table is Horowitz's 45 nm figures, and the width rules pass through its points", () => {
  assert.deepEqual([HOROWITZ_45NM.intAdd[8], HOROWITZ_45NM.intAdd[32], HOROWITZ_45NM.intMul[8], HOROWITZ_45NM.intMul[32]].map((v) => v / pJ),
    [0.03, 0.1, 0.2, 3.1]);
  assert.deepEqual([HOROWITZ_45NM.fpAdd[16], HOROWITZ_45NM.fpAdd[32], HOROWITZ_45NM.fpMul[16], HOROWITZ_45NM.fpMul[32]].map((v) => v / pJ),
    [0.4, 0.9, 1.1, 3.7]);
  assert.deepEqual(Object.values(HOROWITZ_45NM.sram64).map((v) => v / pJ), [10, 20, 100]);
  close(intMulJoules(8, 8), 0.2 * pJ, "8x8 multiply");
  close(intMulJoules(32, 32), 3.1 * pJ, "32x32 multiply");
  close(intAddJoules(8), 0.03 * pJ, "8-bit add");
  close(intAddJoules(32), 0.1 * pJ, "32-bit add");
  assert.ok(MUL_EXPONENT > 0.98 && MUL_EXPONENT < 1, `exponent ${MUL_EXPONENT}`);
});

test("a dense 2x4 * 4x3 product at 8 x 6 bits, requantized to 8 bits, costs what the table says", () => {
  // Batch M = 2, fan-in K = 4, units N = 3: 24 MACs, 6 outputs.
  const op: EnergyOp = { kind: "gemm", what: "dense forward", mode: "requant", M: 2, N: 3, K: 4, aBits: 8, bBits: 6, outBits: 8 };
  const r = priced([op]);
  const alpha = Math.log(3.1 / 0.2) / Math.log(16);
  const mul8x6 = 0.2 * (48 / 64) ** alpha; // pJ
  // 24 multiplies at 8x6 and 24 int32 accumulator adds; per output: scale multiply (32x32), bias
  // add, rounding add and clamp (32-bit adds).
  const compute = 24 * mul8x6 + 24 * 0.1 + 6 * (3.1 + 3 * 0.1);
  // Main memory (1 MB SRAM, 100 pJ / 64 bits): A 2x4 at 8 bits + B 4x3 at 6 bits read once, 6
  // outputs at 8 bits written. Local buffer (8 KB, 10 pJ / 64 bits): the panels written once
  // (same 136 bits), then A read once per 8-column tile and B once per 4-row tile (one tile each).
  const main = 2 * 4 * 8 + 4 * 3 * 6 + 6 * 8;
  const local = 136 + (2 * 4 * 8 + 3 * 4 * 6);
  const memory = (main * 100 + local * 10) / 64;
  close(r.computeJoules, compute * pJ, "compute");
  close(r.memoryJoules, memory * pJ, "memory");
  close(r.totalJoules, (compute + memory) * pJ, "total");
  // By hand: 24 * 0.15049 + 2.4 + 20.4 = 26.41 pJ compute, (184 * 100 + 272 * 10) / 64 = 330 pJ memory.
  assert.ok(Math.abs(r.totalJoules / pJ - 356.41) < 0.01, `total ${r.totalJoules / pJ} pJ`);
  assert.deepEqual(r.opCounts.macs, { "8x6": 24 });
  assert.deepEqual(r.opCounts.intMuls, { "8x6": 24, "32x32": 6 });
  assert.deepEqual(r.opCounts.intAdds, { 32: 24 + 18 });
  assert.deepEqual(r.bytes, { mainRead: 136 / 8, mainWrite: 6, localRead: 136 / 8, localWrite: 136 / 8 });
  // The same product as fp32: 24 fp multiply-adds and 6 output multiply-adds, everything 32 bits.
  const fpCompute = 30 * (3.7 + 0.9);
  const fpMemory = ((8 + 12 + 6) * 32 * 100 + (20 + 20) * 32 * 10) / 64;
  close(r.fp32Joules, (fpCompute + fpMemory) * pJ, "fp32 repricing");
  assert.equal(r.perStepJoules, r.totalJoules);
});

test("stochastic rounding adds one random draw per rounded element, priced as a 32-bit add", () => {
  const op: EnergyOp = { kind: "gemm", what: "w", mode: "update", M: 3, N: 5, K: 2, aBits: 8, bBits: 8, outBits: 6 };
  const near = priced([op]), sr = priced([op], { rounding: "stochastic" });
  assert.equal(sr.opCounts.randomDraws, 15);
  close(sr.totalJoules - near.totalJoules, 15 * 0.1 * pJ, "random draws");
});

test("K beyond the int32 block widens: one 64-bit add per block and output (16 x 16 bits)", () => {
  assert.equal(int32Block(16, 16), 2);
  assert.ok(int32Block(8, 8) > 100000);
  const r = priced([{ kind: "gemm", what: "g", mode: "maxabs", M: 1, N: 1, K: 5, aBits: 16, bBits: 16, outBits: 0 }]);
  assert.equal(r.opCounts.intAdds[64], 3);
});

const MODES = ["maxabs", "requant", "update", "store"] as const;
const SHAPES = [[1, 1, 1], [2, 3, 4], [7, 9, 33], [64, 6, 25]] as const;

test("more bits never cost less: every width of every GEMM mode, arithmetic and memory separately", () => {
  for (const mode of MODES) {
    for (const [M, N, K] of SHAPES) {
      for (let a = 2; a <= 16; a++) {
        for (let b = 2; b <= 16; b++) {
          for (const out of [2, 8, 16]) {
            const at = (da: number, db: number, dout: number) =>
              priced([{ kind: "gemm", what: "g", mode, M, N, K, aBits: a + da, bBits: b + db, outBits: out + dout }], { rounding: "stochastic" });
            const base = at(0, 0, 0);
            for (const [da, db, dout] of [[1, 0, 0], [0, 1, 0], [0, 0, 1]]) {
              const more = at(da, db, dout);
              const where = `${mode} ${M}x${N}x${K} at ${a}x${b}->${out} +(${da},${db},${dout})`;
              assert.ok(more.computeJoules >= base.computeJoules, `${where}: compute fell`);
              assert.ok(more.memoryJoules >= base.memoryJoules, `${where}: memory fell`);
            }
          }
        }
      }
    }
  }
});

test("more bits never cost less for elementwise kernels either", () => {
  for (const op of ["compare", "add", "mask", "requant", "exp", "multiplyAdd", "copy"] as const) {
    for (let bits = 2; bits < 32; bits++) {
      const at = (w: number) => priced([{ kind: "elementwise", what: "e", op, elements: 100, bits: w, reads: 150, writes: 100 }]);
      const a = at(bits), b = at(bits + 1);
      assert.ok(b.computeJoules >= a.computeJoules && b.memoryJoules >= a.memoryJoules, `${op} at ${bits} -> ${bits + 1}`);
    }
  }
});

test("fp32 repricing is never cheaper than the integer price of the same records", () => {
  const ops: EnergyOp[] = [];
  for (const mode of MODES) {
    for (const [M, N, K] of SHAPES) {
      for (const [a, b, out] of [[2, 8, 8], [8, 8, 8], [8, 16, 8], [16, 16, 16], [4, 6, 2]]) {
        ops.push({ kind: "gemm", what: "g", mode, M, N, K, aBits: a, bBits: b, outBits: mode === "maxabs" || mode === "store" ? 0 : out });
      }
    }
  }
  for (const op of ["compare", "add", "mask", "requant", "exp", "multiplyAdd", "copy"] as const) {
    for (const bits of [2, 8, 16]) ops.push({ kind: "elementwise", what: "e", op, elements: 10, bits, reads: 20, writes: 10 });
  }
  ops.push(...masterWeightOps([{ name: "fc", weights: 1200, biases: 10, weightBits: 8 }]));
  for (const rounding of ["nearest", "stochastic"] as const) {
    for (const op of ops) {
      const r = priced([op], { rounding });
      assert.ok(r.fp32Joules >= r.totalJoules, `${JSON.stringify(op)} (${rounding}): fp32 ${r.fp32Joules} < ${r.totalJoules}`);
    }
  }
  // A float run's own records priced as fp32 are the run itself.
  const f = priced([{ kind: "gemm", what: "g", mode: "store", M: 4, N: 5, K: 6, aBits: 32, bBits: 32, outBits: 32 },
    { kind: "elementwise", what: "sgd", op: "multiplyAdd", elements: 30, bits: 32, reads: 60, writes: 30 }], { arithmetic: "float" });
  close(f.fp32Joules, f.totalJoules, "float run repriced");
});

test("the report adds up, and repricing it at another memory level uses the same counts", () => {
  const c = new EnergyCounter({ arithmetic: "integer", rounding: "stochastic" });
  for (let s = 0; s < 3; s++) {
    c.record({ kind: "gemm", what: "conv forward", mode: "requant", M: 50, N: 6, K: 25, aBits: 8, bBits: 5, outBits: 8 });
    c.record({ kind: "elementwise", what: "relu backward", op: "mask", elements: 300, bits: 8, reads: 600, writes: 300 });
    c.endStep();
  }
  const r = c.report();
  assert.equal(r.steps, 3);
  close(r.totalJoules, r.computeJoules + r.memoryJoules, "total");
  close(r.perStepJoules * 3, r.totalJoules, "per step");
  close(Object.values(r.byWhat).reduce((s, j) => s + j, 0), r.totalJoules, "by site");
  close(reprice(r, { main: "1MB", local: "8KB" }).totalJoules, r.totalJoules, "same table");
  const sram32 = reprice(r, { main: "32KB", local: "8KB" }), dram = reprice(r, { main: "dram-low", local: "8KB" });
  close(sram32.computeJoules, r.computeJoules, "compute does not depend on the memory level");
  assert.ok(sram32.memoryJoules < r.memoryJoules && r.memoryJoules < dram.memoryJoules);
  assert.deepEqual(price(r.opCounts, { localRead: 0, localWrite: 0, mainRead: 0, mainWrite: 0 }).memoryJoules, 0);
});
