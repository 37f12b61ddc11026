// Bad input is refused with a typed error that names the argument and what was allowed, the
// kernels and the reference refuse it identically, a refused call leaves the kernels working, and
// gemm / pack / unpack never write into the caller's arrays.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createKernels, reference, type Kernels, type PackedMatrix } from "../src/index.js";
import { ALL_BITS, GemmTester, LAYOUTS } from "./helpers/gemm-tester.js";
import { maxCodeOf } from "./helpers/random.js";

let simd: Kernels;
let scalar: Kernels;
before(async () => {
  simd = await createKernels({ isa: "simd" });
  scalar = await createKernels({ isa: "scalar" });
});

type Ctor = RangeErrorConstructor | TypeErrorConstructor;

/** A valid case run after each refusal: a refusal that scribbled on wasm memory shows up here. */
const canary = new GemmTester().m(5).n(9).k(33).bits(7, 12).transB().seed(99);

/**
 * `call(impl)` must throw `type` with a message matching `message`, for both builds and for the
 * reference alike (same class, same text), and leave both builds computing correctly.
 */
function refuses(
  what: string,
  call: (impl: Pick<Kernels, "pack" | "unpack" | "gemm">) => unknown,
  type: Ctor,
  message: RegExp,
): void {
  const texts: string[] = [];
  for (const [name, impl] of [["simd", simd], ["scalar", scalar], ["reference", reference]] as const) {
    let thrown: unknown = undefined;
    try {
      call(impl);
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown !== undefined, `${what}: ${name} accepted it`);
    assert.ok(thrown instanceof type, `${what}: ${name} threw ${String(thrown)}, want a ${type.name}`);
    assert.match((thrown as Error).message, message, `${what}: ${name}'s message`);
    texts.push((thrown as Error).message);
  }
  assert.equal(new Set(texts).size, 1, `${what}: messages differ: ${texts.join(" | ")}`);
  canary.test(simd);
  canary.test(scalar);
}

const pm = (rows: number, cols: number, bits: number, bytes = new Uint8Array(rows * Math.ceil((cols * bits) / 32) * 4)): PackedMatrix =>
  ({ rows, cols, bits, bytes });

test("a code outside its width's symmetric range, including -2^(b-1), at every width", () => {
  for (const bits of ALL_BITS) {
    const max = maxCodeOf(bits);
    const range = new RegExp(`^codes: code at \\[1, 2\\] is (-?\\d+), outside -${max}\\.\\.${max} for ${bits} bits$`);
    for (const bad of [max + 1, -max - 1, 2 ** 20, -(2 ** 31)]) {
      const codes = new Array(2 * 3).fill(0);
      codes[5] = bad;
      refuses(`code ${bad} at ${bits} bits`, (k) => k.pack(codes, 2, 3, bits), RangeError, range);
    }
    // The extremes themselves are fine (the failures above are about the range, not the shape).
    for (const impl of [simd, scalar, reference]) impl.pack([max, -max, 0, 0, 0, 0], 2, 3, bits);
  }
});

test("bits outside 2..16 (1, 17, 0, -4, 2.5, NaN, Infinity), for pack, unpack and gemm", () => {
  for (const bits of [1, 17, 0, -4, 2.5, NaN, Infinity]) {
    const range = new RegExp(`bits must be an integer in 2\\.\\.16, got ${String(bits).replace(".", "\\.")}$`);
    refuses(`pack at bits ${bits}`, (k) => k.pack([0, 0], 1, 2, bits), RangeError, new RegExp(`^codes: ${range.source}`));
    refuses(`unpack at bits ${bits}`, (k) => k.unpack(pm(1, 2, bits, new Uint8Array(4))), RangeError, new RegExp(`^m: ${range.source}`));
    const good = pm(2, 2, 8);
    refuses(`gemm with a at bits ${bits}`, (k) => k.gemm(pm(2, 2, bits, new Uint8Array(8)), good), RangeError, new RegExp(`^a: ${range.source}`));
    refuses(`gemm with b at bits ${bits}`, (k) => k.gemm(good, pm(2, 2, bits, new Uint8Array(8))), RangeError, new RegExp(`^b: ${range.source}`));
  }
});

test("mismatched inner dimensions, for each layout", () => {
  for (const l of LAYOUTS) {
    // op(A) is 2x3 and op(B) is 4x5: K = 3 against 4.
    const a = l.transA ? pm(3, 2, 4) : pm(2, 3, 4);
    const b = l.transB ? pm(5, 4, 4) : pm(4, 5, 4);
    const shapes = new RegExp(
      `^gemm: inner dimensions differ: op\\(a\\) is 2x3${l.transA ? " \\(a transposed\\)" : ""}, ` +
        `op\\(b\\) is 4x5${l.transB ? " \\(b transposed\\)" : ""}$`,
    );
    refuses(`${l.name} with K 3 vs 4`, (k) => k.gemm(a, b, l), RangeError, shapes);
    // The same operands are fine in a layout where they agree: the refusal is about K alone.
    const ok = reference.gemm(l.transA ? pm(3, 2, 4) : pm(2, 3, 4), l.transB ? pm(5, 3, 4) : pm(3, 5, 4), l);
    assert.equal(ok.length, 10);
  }
});

test("K beyond 2^22 (where f64 results stop being exact) is refused", () => {
  const K = 2 ** 22 + 1;
  const a = pm(1, K, 2);
  const b = pm(1, K, 2); // transB: op(b) is K x 1
  refuses("K = 2^22 + 1", (k) => k.gemm(a, b, { transB: true }), RangeError, /K = 4194305 exceeds 2\^22/);
});

test("a non-integer, NaN or infinite code is a TypeError naming the code's position", () => {
  for (const bad of [2.5, -0.5, NaN, Infinity, -Infinity]) {
    const codes = [1, 2, 3, bad];
    const message = new RegExp(`^codes: code at \\[1, 1\\] is ${String(bad).replace(".", "\\.")}, not an integer$`);
    refuses(`code ${bad}`, (k) => k.pack(codes, 2, 2, 8), TypeError, message);
  }
  refuses("code given as a string", (k) => k.pack([1, "2" as unknown as number], 1, 2, 8), TypeError, /^codes: code at \[0, 1\] .*not an integer$/);
});

test("a codes array of the wrong length", () => {
  for (const n of [5, 7, 0]) {
    refuses(`${n} codes for 2x3`, (k) => k.pack(new Int32Array(n), 2, 3, 8), RangeError,
      new RegExp(`^codes: expected rows\\*cols = 2\\*3 = 6 codes, got ${n}$`));
  }
});

test("negative, non-integer or NaN rows / cols, for pack and for a PackedMatrix", () => {
  for (const bad of [-1, 1.5, NaN, 2 ** 31]) {
    const s = String(bad).replace(".", "\\.");
    refuses(`pack rows ${bad}`, (k) => k.pack([], bad, 0, 8), RangeError,
      new RegExp(`^codes: rows must be a non-negative integer below 2\\^31, got ${s}$`));
    refuses(`pack cols ${bad}`, (k) => k.pack([], 0, bad, 8), RangeError,
      new RegExp(`^codes: cols must be a non-negative integer below 2\\^31, got ${s}$`));
    refuses(`unpack rows ${bad}`, (k) => k.unpack(pm(bad, 1, 8, new Uint8Array(4))), RangeError,
      new RegExp(`^m\\.rows must be a non-negative integer below 2\\^31, got ${s}$`));
    refuses(`gemm b.cols ${bad}`, (k) => k.gemm(pm(1, 1, 8), pm(1, bad, 8, new Uint8Array(4))), RangeError,
      new RegExp(`^b\\.cols must be a non-negative integer below 2\\^31, got ${s}$`));
  }
});

test("a PackedMatrix whose byte length disagrees with its shape", () => {
  for (const n of [7, 9, 0, 6]) {
    const bad = pm(2, 3, 4, new Uint8Array(n)); // 2 rows of ceil(12/32)*4 = 4 bytes
    const message = new RegExp(`2x3 at 4 bits needs 8 bytes, but bytes has ${n}$`);
    refuses(`unpack, ${n} bytes`, (k) => k.unpack(bad), RangeError, new RegExp(`^m: ${message.source}`));
    refuses(`gemm a, ${n} bytes`, (k) => k.gemm(bad, pm(3, 1, 4)), RangeError, new RegExp(`^a: ${message.source}`));
    refuses(`gemm b, ${n} bytes`, (k) => k.gemm(pm(1, 2, 4), bad), RangeError, new RegExp(`^b: ${message.source}`));
  }
});

test("wrong types for a PackedMatrix (not an object, bytes not a Uint8Array) are TypeErrors naming it", () => {
  const good = pm(1, 1, 8);
  refuses("unpack(undefined)", (k) => k.unpack(undefined as unknown as PackedMatrix), TypeError, /^m must be a PackedMatrix, got undefined$/);
  refuses("gemm(null, b)", (k) => k.gemm(null as unknown as PackedMatrix, good), TypeError, /^a must be a PackedMatrix, got null$/);
  refuses("gemm(a, 3)", (k) => k.gemm(good, 3 as unknown as PackedMatrix), TypeError, /^b must be a PackedMatrix, got 3$/);
  refuses("bytes as an array", (k) => k.unpack({ rows: 1, cols: 1, bits: 8, bytes: [0, 0, 0, 0] as unknown as Uint8Array }),
    TypeError, /^m\.bytes must be a Uint8Array$/);
  refuses("bytes as an Int8Array", (k) => k.gemm(good, { ...good, bytes: new Int8Array(4) as unknown as Uint8Array }),
    TypeError, /^b\.bytes must be a Uint8Array$/);
});

test(
  "wrong types for codes / options are TypeErrors naming the argument",
  () => {
    const good = pm(1, 1, 8);
    refuses("pack(null)", (k) => k.pack(null as unknown as number[], 1, 1, 8), TypeError, /codes/);
    refuses("pack(42)", (k) => k.pack(42 as unknown as number[], 1, 1, 8), TypeError, /codes/);
    refuses("gemm options null", (k) => k.gemm(good, good, null as unknown as object), TypeError, /options/);
  },
);

test('createKernels({ isa: "bogus" }) is a RangeError listing the choices', async () => {
  for (const isa of ["bogus", "SIMD", "", 1 as unknown as string]) {
    await assert.rejects(createKernels({ isa: isa as "auto" }), (e: unknown) => {
      assert.ok(e instanceof RangeError, `isa ${JSON.stringify(isa)}: ${String(e)}`);
      assert.match(e.message, /^isa must be "auto", "simd", "scalar" or "relaxed", got /);
      assert.ok(e.message.endsWith(JSON.stringify(isa)), e.message);
      return true;
    });
  }
});

test("after every kind of refusal, and after a large call, a small valid gemm is still exact", () => {
  // refuses() already runs the canary after each refusal; here, a large call first (the arena grows,
  // later calls reuse its low end), then small ones, then a failing one in between.
  for (const k of [simd, scalar]) {
    new GemmTester().m(70).n(300).k(600).bits(16, 16).seed(5).test(k);
    canary.test(k);
    new GemmTester().m(1).n(1).k(1).bits(2, 2).seed(6).test(k);
    assert.throws(() => k.gemm(pm(2, 3, 4), pm(4, 2, 4)), RangeError);
    assert.throws(() => k.pack([0, 99], 1, 2, 4), RangeError);
    new GemmTester().m(3).n(2).k(5).bits(3, 3).extremes().seed(7).test(k);
  }
});

test("gemm, pack and unpack do not write into the caller's arrays, and results are copies", () => {
  for (const k of [simd, scalar]) {
    for (const l of LAYOUTS) {
      const c = new GemmTester().m(6).n(10).k(40).bits(5, 11).layout(l).seed(8);
      const ops = c.operands();
      const codesA = ops.a.slice(), codesB = ops.b.slice();
      const { a, b } = c.pack(k, ops);
      assert.deepEqual(ops.a, codesA, "pack wrote into the codes");
      assert.deepEqual(ops.b, codesB, "pack wrote into the codes");
      const bytesA = a.bytes.slice(), bytesB = b.bytes.slice();
      const first = k.gemm(a, b, l);
      const firstCopy = first.slice();
      k.unpack(a);
      k.gemm(a, b, l);
      assert.deepEqual(a.bytes, bytesA, `${k.isa} ${l.name}: gemm or unpack changed a.bytes`);
      assert.deepEqual(b.bytes, bytesB, `${k.isa} ${l.name}: gemm changed b.bytes`);
      // A later call must not change a result already returned.
      new GemmTester().m(6).n(10).k(40).bits(16, 16).extremes().test(k);
      assert.deepEqual(first, firstCopy, `${k.isa} ${l.name}: a later call changed an earlier result`);
    }
    // The same matrix as both operands (aliasing).
    const sq = k.pack([1, -2, 3, -4, 5, -6, 7, -7, 0], 3, 3, 4);
    const before = sq.bytes.slice();
    assert.deepEqual(k.gemm(sq, sq, { transB: true }), reference.gemm(sq, sq, { transB: true }));
    assert.deepEqual(sq.bytes, before);
  }
});
