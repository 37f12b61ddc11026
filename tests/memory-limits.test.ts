// Sizes past what memory can hold are refused while they are still arithmetic, with a RangeError
// (code APTKIT_MEMORY_LIMIT) or BudgetError that names the buffer, its size and the limit, before
// any memory grows; offsets past 2 GiB are placed exactly (no 32-bit wrap). The wasm checks every
// extent it is given, in wide arithmetic, and answers a distinct status (-6, STATUS_RANGE, for
// gemm, pack and unpack alike) instead of wrapping or trapping. Each case ends in well under a second and a few MB.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BudgetError, createKernels, IntegerLearner, lenet5, mlp } from "../src/index.js";
import { Planner } from "../src/plan/plan.js";
import { main } from "../src/cli/main.js";
import { Arena } from "../src/runtime/arena.js";
import { STAGE_BYTES, VIEW_BYTES, writeStage, writeView, type View } from "../src/runtime/descriptors.js";
import { WASM32_MAX_BYTES } from "../src/runtime/memory-limits.js";
import { instantiateAbi, resolveIsa, type AbiExports } from "../src/runtime/wasm.js";

const GiB = 2 ** 30;
const RSS_LIMIT = 300 * 2 ** 20;

function limitError(pattern: RegExp, fields: { what?: RegExp; bytes?: number; limitBytes?: number } = {}) {
  return (e: unknown) => {
    assert.ok(e instanceof RangeError, String(e));
    const r = e as RangeError & { code?: string; what?: string; bytes?: number; limitBytes?: number };
    assert.equal(r.code, "APTKIT_MEMORY_LIMIT");
    assert.match(r.message, pattern);
    if (fields.what) assert.match(r.what!, fields.what);
    if (fields.bytes !== undefined) assert.equal(r.bytes, fields.bytes);
    if (fields.limitBytes !== undefined) assert.equal(r.limitBytes, fields.limitBytes);
    return true;
  };
}

/** Runs `f` and asserts it grew resident memory by less than RSS_LIMIT. */
async function withinRss<T>(what: string, f: () => Promise<T> | T): Promise<T> {
  const before = process.memoryUsage().rss;
  const out = await f();
  const grew = process.memoryUsage().rss - before;
  assert.ok(grew < RSS_LIMIT, `${what}: resident memory grew by ${grew} bytes`);
  return out;
}

describe("the arena (host offsets)", () => {
  /** A stand-in for the module: memory is only a length, grow() is recorded. */
  function fakeAbi(startBytes: number) {
    const grows: number[] = [];
    const memory = {
      buffer: { byteLength: startBytes },
      grow(pages: number) {
        grows.push(pages);
        const old = memory.buffer.byteLength / 65536;
        memory.buffer = { byteLength: memory.buffer.byteLength + pages * 65536 };
        return old;
      },
    };
    return { abi: { memory, heap_base: () => 1000 } as unknown as AbiExports, grows };
  }

  test("offsets past 2 GiB stay exact and aligned, and memory grows to cover them", () => {
    const { abi, grows } = fakeAbi(65536);
    const arena = new Arena(abi);
    assert.equal(arena.alloc(2 * GiB + 5, "first"), 1008);
    const second = arena.alloc(100, "second");
    // 1008 + 2 GiB + 5, rounded up to 16: `& ~15` would have made this negative.
    assert.equal(second, 2 * GiB + 1024);
    assert.equal(second % 16, 0);
    assert.ok(abi.memory.buffer.byteLength >= second + 100);
    assert.ok(grows.length >= 1 && grows.every((p) => p > 0));
  });

  test("a request past the limit is refused before memory grows, naming it and the sizes", () => {
    const { abi, grows } = fakeAbi(65536);
    const arena = new Arena(abi);
    arena.alloc(3 * GiB, "operand a");
    const grown = grows.length;
    assert.throws(() => arena.alloc(2 * GiB, "the 4x4 result"), limitError(
      /^the 4x4 result needs 2,147,483,648 bytes \(2\.00 GiB\), so memory would have to reach 5,368,710,128 bytes \(5\.00 GiB\): more than the wasm32 memory ceiling of 4,294,967,296 bytes \(4\.00 GiB\)$/,
      { what: /^the 4x4 result$/, bytes: 2 * GiB, limitBytes: WASM32_MAX_BYTES },
    ));
    assert.equal(grows.length, grown, "nothing grew");
    // The arena is unchanged: the next fitting request lands where it would have.
    assert.equal(arena.alloc(16, "small"), 3 * GiB + 1008);
    assert.throws(() => arena.alloc(-1, "x"), /x: -1 is not a byte count/);
    assert.throws(() => arena.alloc(2 ** 53, "x"), /x: 9007199254740992 is not a byte count/);
  });
});

for (const isa of ["simd", "scalar"] as const) {
  describe(`Kernels refuse what memory cannot hold (${isa})`, () => {
    test("a product whose f64 result passes 4 GiB: a RangeError naming it, nothing grown", async () => {
      const kernels = await createKernels({ isa });
      const a = kernels.pack(new Int32Array(40000), 40000, 1, 2);
      const b = kernels.pack(new Int32Array(40000), 1, 40000, 2);
      await withinRss("40000x40000 gemm", () => {
        assert.throws(() => kernels.gemm(a, b), limitError(
          /^40000x40000x1 gemm: the 40000x40000 f64 result needs 12,800,000,000 bytes \(11\.92 GiB\), .*more than the wasm32 memory ceiling of 4,294,967,296 bytes/,
          { bytes: 12_800_000_000, limitBytes: WASM32_MAX_BYTES },
        ));
      });
      // The kernels still work afterwards.
      assert.deepEqual(Array.from(kernels.gemm(kernels.pack([1, 2], 1, 2, 4), kernels.pack([3, 4], 2, 1, 4))), [11]);
    });

    test("memoryLimitBytes caps the kernels' memory: refused past it, exact below it", async () => {
      const kernels = await createKernels({ isa, memoryLimitBytes: 8 * 2 ** 20 });
      assert.equal(kernels.memoryLimitBytes, 8 * 2 ** 20);
      const a = kernels.pack(new Int32Array(1200).fill(1), 1200, 1, 3);
      const b = kernels.pack(new Int32Array(1200).fill(-1), 1, 1200, 3);
      assert.throws(() => kernels.gemm(a, b), limitError(/the 1200x1200 f64 result needs 11,520,000 bytes .*more than the kernels' memory limit \(memoryLimitBytes\) of 8,388,608 bytes/));
      const small = kernels.gemm(kernels.pack(new Int32Array(500).fill(1), 500, 1, 3), kernels.pack(new Int32Array(500).fill(-1), 1, 500, 3));
      assert.equal(small.length, 250000);
      assert.ok(small.every((x) => x === -1));
      await assert.rejects(createKernels({ isa, memoryLimitBytes: 5 * GiB }), /memoryLimitBytes must be a whole number of bytes in 1\.\.4,294,967,296/);
      await assert.rejects(createKernels({ isa, memoryLimitBytes: 0 }), RangeError);
    });
  });

  describe(`the wasm checks every extent it is given (${isa})`, () => {
    async function module(): Promise<{ abi: AbiExports; base: number; end: number }> {
      const abi = await instantiateAbi((await resolveIsa(isa)).bytes);
      abi.memory.grow(16);
      const end = abi.memory.buffer.byteLength;
      return { abi, base: Math.ceil(abi.heap_base() / 16) * 16, end };
    }
    const STATUS_RANGE = -6;

    test("gemm: a result, operand, workspace or panel buffer outside memory, or sized past u32, is status -6", async () => {
      const { abi, base, end } = await module();
      const a = base, b = base + 64, c = base + 128, work = base + 1024, workBytes = 8192;
      new Uint8Array(abi.memory.buffer, base, 1024).fill(0x11);
      assert.equal(abi.gemm(a, 2, 2, 4, 0, b, 2, 2, 4, 0, c, work, workBytes), 0, "a 2x2x2 product in place");
      // C's last byte one past the end.
      assert.equal(abi.gemm(a, 2, 2, 4, 0, b, 2, 2, 4, 0, end - 31, work, workBytes), STATUS_RANGE);
      // 65536 x 65536 f64 is 2^35 bytes: a u32 size wraps to 0 and the fill would pass.
      const wide = base + 4096;
      new Uint8Array(abi.memory.buffer, wide, 65536 * 4 * 2).fill(0);
      assert.equal(abi.gemm(wide, 65536, 1, 2, 0, wide, 1, 65536, 2, 0, c, work, workBytes), STATUS_RANGE);
      // Operand data running past the end; a base near 4 GiB (wrapping u32 sums).
      assert.equal(abi.gemm(end - 4, 2, 2, 4, 0, b, 2, 2, 4, 0, c, work, workBytes), STATUS_RANGE);
      assert.equal(abi.gemm(a, 2, 2, 4, 0, 0xfffffff0 | 0, 2, 2, 4, 0, c, work, workBytes), STATUS_RANGE);
      // Workspace past the end.
      assert.equal(abi.gemm(a, 2, 2, 4, 0, b, 2, 2, 4, 0, c, end - 100, workBytes), STATUS_RANGE);
      // A row longer than any stride can hold: 2^30 columns at 16 bits is 2 GiB per row.
      assert.equal(abi.gemm(a, 1, 2 ** 30, 16, 0, b, 2 ** 30, 1, 16, 0, c, work, workBytes), STATUS_RANGE);
      // Pre-packed panels past the end.
      const panels = abi.gemm_b_panels_bytes!(2, 2, 2, 4, 4);
      assert.equal(abi.gemm_prepack_b!(a, 2, 2, 4, 0, b, 2, 2, 4, 0, work, workBytes, end - 8, panels), STATUS_RANGE);
      assert.equal(abi.gemm_prepacked!(a, 2, 2, 4, 0, b, 2, 2, 4, 0, c, work, workBytes, end - 8, panels), STATUS_RANGE);
    });

    test("gemm_fused: descriptors, the output view, the bias row and the STORE target outside memory are status -6", async () => {
      const { abi, base, end } = await module();
      const mem = () => abi.memory.buffer;
      const va = base, vb = va + VIEW_BYTES, vo = vb + VIEW_BYTES, st = vo + VIEW_BYTES;
      const data = base + 1024, work = base + 2048, workBytes = 16384, c = base + 20000;
      new Uint8Array(mem(), data, 1024).fill(0);
      const plain = (at: number, rows: number, cols: number): View => ({ kind: "plain", at, bits: 8, rows, cols });
      const call = (a: View, b: View, out: View | null, stage: Parameters<typeof writeStage>[2], stageAt = st) => {
        writeView(mem(), va, a);
        writeView(mem(), vb, b);
        if (out) writeView(mem(), vo, out);
        if (stageAt === st) writeStage(mem(), st, stage);
        return abi.gemm_fused(va, vb, vo, stageAt, work, workBytes);
      };
      const A = plain(data, 3, 4), B = plain(data + 256, 4, 5);
      assert.equal(call(A, B, null, { mode: "store", c }), 0, "in place");
      assert.equal(call(A, B, null, { mode: "store", c: end - 8 }), STATUS_RANGE, "STORE target");
      assert.equal(call(A, B, null, { mode: "store", c }, end - STAGE_BYTES / 2), STATUS_RANGE, "stage descriptor");
      assert.equal(call(A, B, plain(end - 8, 3, 5), { mode: "requant", scale: 1 }), STATUS_RANGE, "output view data");
      assert.equal(call(A, B, null, { mode: "store", c, bias: { at: end - 2, bits: 8, scale: 1 } }), STATUS_RANGE, "bias row");
      assert.equal(abi.gemm_fused(end - 8, vb, vo, st, work, workBytes), STATUS_RANGE, "operand descriptor");
      // An IM2COL view whose line length W*C*bits passes what a stride can hold.
      const huge: View = { kind: "im2col", at: data, bits: 16, n: 1, h: 1, w: 2 ** 16, c: 2 ** 15, kh: 1, kw: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, dilateH: 1, dilateW: 1, outH: 1, outW: 1 };
      writeView(mem(), va, huge);
      writeView(mem(), vb, plain(data, 2 ** 15, 1));
      writeStage(mem(), st, { mode: "store", c });
      assert.equal(abi.gemm_fused(va, vb, vo, st, work, workBytes), STATUS_RANGE, "im2col line too long");
    });

    test("pack and unpack: extents outside memory or sized past u32 are status -6, nothing written", async () => {
      const { abi, base, end } = await module();
      const src = base, dst = base + 4096;
      new Int32Array(abi.memory.buffer, src, 16).fill(1);
      assert.equal(abi.pack(src, 4, 4, 4, dst), 0);
      assert.equal(abi.pack(src, 4, 4, 4, end - 4), -6);
      assert.equal(abi.unpack(dst, 4, 4, 4, end - 4), -6);
      // 65536 x 65536 codes: rows * cols * 4 wraps u32 to 0.
      assert.equal(abi.pack(src, 65536, 65536, 4, dst), -6);
      assert.equal(abi.unpack(dst, 65536, 65536, 4, src), -6);
      // cols * bits past u32: the stride would wrap.
      assert.equal(abi.unpack(dst, 1, 2 ** 29, 16, src), -6);
    });
  });
}

describe("plans are checked against their limit as they are laid", () => {
  test("a reservation past the wasm32 ceiling is a RangeError naming it; sizes past 2^53 are refused", () => {
    const plan = new Planner(1000);
    plan.reserve("input batch", "input", null, 3 * GiB);
    assert.throws(() => plan.reserve("conv1 output", "activations", "conv1", 2 * GiB), limitError(
      /^plan: conv1 output needs 2,147,483,648 bytes \(2\.00 GiB\), so memory would have to reach 5,368,710,128 bytes \(5\.00 GiB\): more than the wasm32 memory ceiling/,
      { what: /^plan: conv1 output$/ },
    ));
    // The refused item left nothing behind: the next one starts where it would have, and one more
    // GiB is again too much (the layer is named when the item's name does not say it).
    assert.equal(plan.reserve("labels", "input", null, 16), 3 * GiB + 1008);
    assert.throws(() => plan.reserve("weights", "weights", "dense0", GiB), limitError(/^plan: weights \(layer dense0\) needs 1,073,741,824 bytes/));
    assert.throws(() => new Planner(0).reserve("x", "input", null, 2 ** 53), /plan: x: bad size 9007199254740992/);
    const measuring = new Planner(1000, Infinity);
    measuring.reserve("x", "input", null, 64 * GiB);
    assert.equal(measuring.peakBytes, 64 * GiB + 1008);
  });

  test("a model whose plan passes 4 GiB with no budget: a BudgetError against the ceiling, what fits, nothing grown", async () => {
    const error = await withinRss("lenet5 at batch 2^22", () => assert.rejects(
      IntegerLearner.create(lenet5(), { batch: 2 ** 22, seed: 1, isa: "scalar", weightBits: 8, maxWeightBits: 8 }),
      (e: unknown) => {
        assert.ok(e instanceof BudgetError, String(e));
        assert.equal(e.budgetBytes, WASM32_MAX_BYTES);
        assert.ok(e.plannedBytes > 60e9, `the whole plan is measured: ${e.plannedBytes}`);
        assert.equal(e.limit, "wasm32");
        assert.match(e.message, /the plan needs 62,\d{3},\d{3},\d{3} bytes .* but the wasm32 memory ceiling \(no budget is set\) holds 4,294,967,296 bytes/);
        assert.match(e.message, /would fit: batch \d+ fits/);
        assert.doesNotMatch(e.message, /a budget of [\d,]+ pages/, "no budget past 65,536 pages is suggested");
        return true;
      },
    ));
    void error;
  });

  test("with a budget, a plan past 4 GiB is refused the same way, against the budget", async () => {
    await withinRss("mlp at batch 2^26", () => assert.rejects(
      IntegerLearner.create(mlp([512]), { batch: 2 ** 26, seed: 1, isa: "scalar", weightBits: 8, maxWeightBits: 8, budgetBytes: 2 ** 20 }),
      (e: unknown) => e instanceof BudgetError && e.budgetBytes === 2 ** 20 && e.plannedBytes > WASM32_MAX_BYTES && /batch \d+ fits/.test(e.message),
    ));
  });

  test("aptkit plan --batch 65536 answers from arithmetic: no engine memory grown or painted", async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...x: unknown[]) => { lines.push(x.join(" ")); };
    let code: number;
    try {
      code = await withinRss("aptkit plan --batch 65536", () => main(["plan", "--batch", "65536", "--isa", "scalar"]));
    } finally {
      console.log = log;
    }
    assert.equal(code, 0);
    const summary = lines.join("\n");
    assert.match(summary, /lenet5 at batch 65536, .*: 980,\d{3},\d{3} bytes; fp32\(\) would need more than [\d,]+, past the 4 GiB wasm32 ceiling/);
  });
});
