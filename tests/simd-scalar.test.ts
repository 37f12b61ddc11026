// The SIMD and scalar builds are the same function: identical packed bytes and bit-identical
// results on random cases over all layouts, a spread of widths and shapes.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createKernels, type Kernels } from "../src/index.js";
import { ALL_BITS, GemmTester, LAYOUTS, type Fill } from "./helpers/gemm-tester.js";
import { hex } from "./helpers/packed.js";
import { randomCodes, Rng } from "./helpers/random.js";

let simd: Kernels;
let scalar: Kernels;
before(async () => {
  simd = await createKernels({ isa: "simd" });
  scalar = await createKernels({ isa: "scalar" });
  assert.equal(simd.isa, "simd");
  assert.equal(scalar.isa, "scalar");
});

/** Same bits, same everything: f64 results compared as raw bytes (so -0 vs 0 would show). */
function assertIdentical(c: GemmTester): void {
  const s = c.result(simd);
  const x = c.result(scalar);
  assert.equal(s.length, x.length, `${c}: result lengths`);
  const sb = Buffer.from(s.buffer, s.byteOffset, s.byteLength);
  const xb = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  if (!sb.equals(xb)) {
    const at = s.findIndex((v, i) => !Object.is(v, x[i]));
    assert.fail(`${c}: simd and scalar differ first at element ${at}: ${s[at]} vs ${x[at]}`);
  }
}

test("random cases: every layout, widths drawn from 2..16, shapes across tile and block edges", () => {
  const rng = new Rng(20240601);
  const fills: Fill[] = ["random", "random", "extremes", "randomSigns"];
  for (let i = 0; i < 240; i++) {
    const small = i % 4 !== 0;
    const c = new GemmTester()
      .m(rng.int(1, small ? 13 : 70))
      .n(rng.int(1, small ? 19 : 70))
      .k(rng.pick(small ? [1, 2, 3, 5, 8, 16, 31, 64, 65, 100] : [127, 255, 256, 257, 300, 513, 600]))
      .bits(rng.pick(ALL_BITS), rng.pick(ALL_BITS))
      .layout(LAYOUTS[i % LAYOUTS.length])
      .fill(rng.pick(fills))
      .seed(i + 1);
    assertIdentical(c);
  }
});

test("the split wide-by-wide widths (16x16, 16x13, 13x16, 15x15) agree, each layout", () => {
  let s = 500;
  for (const [ba, bb] of [[16, 16], [16, 13], [13, 16], [15, 15]] as const) {
    for (const l of LAYOUTS) {
      assertIdentical(new GemmTester().m(9).n(17).k(515).bits(ba, bb).layout(l).seed(++s));
      assertIdentical(new GemmTester().m(5).n(9).k(515).bits(ba, bb).layout(l).extremes().seed(++s));
    }
  }
});

test("packing agrees byte for byte between the builds at every width", () => {
  const rng = new Rng(7);
  for (const bits of ALL_BITS) {
    for (const cols of [1, 3, 8, 17, 33]) {
      const codes = randomCodes(rng, 2 * cols, bits);
      assert.equal(hex(simd.pack(codes, 2, cols, bits).bytes), hex(scalar.pack(codes, 2, cols, bits).bytes), `${cols} cols at ${bits} bits`);
    }
  }
});
