// The entry checks of the auxiliary kernels (assembly/extents.ts): packed matrices and arrays are
// sized in f64, so counts whose u32 products wrap to small numbers are still seen; the pooling
// geometry near 2^32 neither wraps nor reads as a status.

import { packedFits, arrayFits, packedBytes, MAX_ROW_BITS, STATUS_RANGE, STATUS_WINDOW } from "../../assembly/extents";
import { poolOutputSize, maxPoolForward, avgPoolBackward } from "../../assembly/pool";
import { gemmWorkspaceBytes, gemmBPanelsBytes } from "../../assembly/gemm/index";

const BUF = memory.data(64, 16);

describe("packedFits", () => {
  it("sizes rows * ceil(cols * bits / 32) * 4 exactly", () => {
    expect(packedBytes(3, 5, 3)).toBe(12);
    expect(packedBytes(2, 33, 2)).toBe(24);
    expect(packedFits(BUF, 4, 8, 16)).toBe(true);
  });
  it("refuses a matrix whose byte count wraps a u32 to 0", () => {
    // 65536 rows of 65536 bytes: 2^32, which a u32 product makes 0.
    expect(packedFits(BUF, 65536, 65536, 8)).toBe(false);
  });
  it("refuses a row longer than MAX_ROW_BITS even when it would fit, and a row count past u32", () => {
    expect(packedFits(0, 0, <f64>(1 << 28), 16)).toBe(false); // 2^32 bits, zero rows: zero bytes
    expect(<f64>(1 << 28) * 16 > MAX_ROW_BITS).toBe(true);
    expect(packedFits(BUF, 4294967296, 0, 8)).toBe(false); // zero-width rows, 2^32 of them
    expect(packedFits(BUF, 4294967295, 0, 8)).toBe(true);
  });
  it("arrayFits refuses an offset near 2^32 even for one element", () => {
    expect(arrayFits(<usize>0xfffffffc, 1, 8)).toBe(false);
    expect(arrayFits(BUF, 1, 8)).toBe(true);
  });
});

describe("pool geometry near 2^32", () => {
  it("an output size past i32 is STATUS_RANGE, not a negative size", () => {
    expect(poolOutputSize(0xffffffff, 1, 1)).toBe(STATUS_RANGE);
    expect(poolOutputSize(0x80000000, 1, 1)).toBe(STATUS_RANGE);
    expect(poolOutputSize(0x80000000, 2, 1)).toBe(0x7fffffff);
  });
  it("windows of 2^31 elements or more are STATUS_WINDOW; wrapped extents STATUS_RANGE", () => {
    expect(maxPoolForward(BUF, 1, 2, 2, 1, 8, 0xffffffff, 1, 1, 1, BUF)).toBe(STATUS_WINDOW);
    expect(maxPoolForward(BUF, 65536, 65536, 2, 1, 8, 2, 2, 2, 2, BUF)).toBe(STATUS_RANGE);
    expect(avgPoolBackward(BUF, 0xffffffff, 2, 2, 1, 8, 2, 2, 1, 1, 1, 0, 0, 0, BUF)).toBe(STATUS_RANGE);
  });
});

describe("gemm size queries near 2^32", () => {
  it("capped blocks: no dimension rounds up through 2^32 to 0", () => {
    // The default blocking caps every block, so the largest shape needs the same as a capped one.
    expect(gemmWorkspaceBytes(0xffffffff, 0xffffffff, 0xffffffff, 8, 8, false)).toBe(gemmWorkspaceBytes(4096, 4096, 4096, 8, 8, false));
    expect(gemmWorkspaceBytes(0xffffffff, 0xffffffff, 0xffffffff, 16, 16, true)).toBe(gemmWorkspaceBytes(4096, 4096, 4096, 16, 16, true));
  });
  it("panel bytes past 2^31 are 0 (cannot be reserved), not a division by zero", () => {
    expect(gemmBPanelsBytes(1, 0xffffffff, 0xffffffff, 8, 8)).toBe(0);
    expect(gemmBPanelsBytes(64, 64, 64, 8, 8) > 0).toBe(true);
  });
});
