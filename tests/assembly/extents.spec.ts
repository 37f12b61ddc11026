// The extent checks of the wasm ABI (assembly/extents.ts inMemory, assembly/views.ts viewRowTooLong
// and viewPrepare): sizes from u32/i32 arguments are compared in f64, so products that would wrap a
// u32 or even a u64 (N * H * stride of three i32 fields) are still seen as too large.

import { inMemory, gemm } from "../../assembly/gemm/index";
import { STATUS_RANGE, STATUS_VIEW } from "../../assembly/extents";
import { viewRowTooLong, viewPrepare, viewDataBytes } from "../../assembly/views";
import {
  VIEW_FIELDS, V_KIND, V_BITS, V_ROWS, V_COLS, V_N, V_H, V_W, V_C, V_KH, V_KW, V_SH, V_SW, V_DH, V_DW, V_OH, V_OW,
  VIEW_KIND_PLAIN as KIND_PLAIN, VIEW_KIND_IM2COL as KIND_IM2COL, VIEW_KIND_WFLIP as KIND_WFLIP,
} from "../../src/runtime/abi-layout";

const VIEW = memory.data(<i32>(VIEW_FIELDS * 4), 16);

function setField(f: u32, x: i32): void { store<i32>(VIEW + (<usize>f << 2), x); }
function clearView(kind: i32, bits: i32): void {
  memory.fill(VIEW, 0, VIEW_FIELDS * 4);
  setField(V_KIND, kind);
  setField(V_BITS, bits);
}
function im2col(n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32, bits: i32): void {
  clearView(KIND_IM2COL, bits);
  setField(V_N, n); setField(V_H, h); setField(V_W, w); setField(V_C, c);
  setField(V_KH, 1); setField(V_KW, 1); setField(V_SH, 1); setField(V_SW, 1); setField(V_DH, 1); setField(V_DW, 1);
  setField(V_OH, oh); setField(V_OW, ow);
  setField(V_ROWS, <i32>(<i64>n * oh * ow)); setField(V_COLS, c);
}

function memoryEnd(): usize { return <usize>memory.size() << 16; }

describe("inMemory", () => {
  it("accepts extents that end at or before the end of memory", () => {
    const end = memoryEnd();
    expect(inMemory(0, <f64>end)).toBe(true);
    expect(inMemory(end - 8, 8)).toBe(true);
    expect(inMemory(end, 0)).toBe(true);
  });
  it("refuses extents past the end, and sizes a u32 or u64 would wrap", () => {
    expect(inMemory(memoryEnd() - 8, 9)).toBe(false);
    expect(inMemory(<usize>0xfffffff0, 32)).toBe(false); // at + bytes wraps u32
    expect(inMemory(16, <f64>65536 * 65536 * 8)).toBe(false); // M * N * 8 wraps u32 to 0
    expect(inMemory(16, <f64>0x7fffffff * <f64>0x7fffffff * <f64>0x7fffffff)).toBe(false); // past u64
  });
});

describe("viewRowTooLong and viewPrepare", () => {
  it("plain rows up to the stride limit pass; longer ones are refused before any u32 stride wraps", () => {
    clearView(KIND_PLAIN, 16);
    setField(V_ROWS, 1);
    setField(V_COLS, 1 << 20);
    expect(viewRowTooLong(VIEW)).toBe(false);
    expect(viewPrepare(VIEW)).toBe(true);
    setField(V_COLS, 1 << 28); // 2^32 bits: a u32 cols * bits wraps to 0
    expect(viewRowTooLong(VIEW)).toBe(true);
    expect(viewPrepare(VIEW)).toBe(false);
  });
  it("IM2COL lines (W * C codes) and WFLIP rows (KH * KW * C) are measured in f64", () => {
    im2col(1, 1, 1 << 16, 1 << 15, 1, 1, 16); // W * C * bits = 2^35
    expect(viewRowTooLong(VIEW)).toBe(true);
    expect(viewPrepare(VIEW)).toBe(false);
    clearView(KIND_WFLIP, 8);
    setField(V_N, 1); setField(V_C, 1 << 16); setField(V_KH, 1 << 8); setField(V_KW, 1 << 8);
    setField(V_ROWS, 1 << 16); setField(V_COLS, 1 << 16);
    expect(viewRowTooLong(VIEW)).toBe(true);
  });
  it("an IM2COL row count that only matches N * OH * OW modulo 2^64 is refused", () => {
    // 2^31-ish factors: the true product is 2^90, which wraps an i64 to 0 = the rows given.
    im2col(1 << 30, 1, 1, 1, 1 << 30, 1 << 30, 8);
    setField(V_ROWS, 0);
    expect(viewPrepare(VIEW)).toBe(false);
  });
  it("viewDataBytes passes 2^64 without wrapping", () => {
    im2col(0x7fffffff, 0x7fffffff, 1, 1, 1, 1, 8);
    setField(V_ROWS, 0x7fffffff);
    expect(viewPrepare(VIEW)).toBe(true);
    expect(viewDataBytes(VIEW) > <f64>0x7fffffff * <f64>0x7fffffff).toBe(true);
  });
});

describe("gemm status for extents", () => {
  it("is STATUS_RANGE for a result sized past u32, STATUS_VIEW for a negative dimension", () => {
    const at = VIEW; // any in-memory address: the checks run before anything is read or written
    expect(gemm(at, 65536, 1, 2, false, at, 1, 65536, 2, false, at, at, 4096)).toBe(STATUS_RANGE);
    expect(gemm(at, 0x80000000, 1, 2, false, at, 1, 1, 2, false, at, at, 4096)).toBe(STATUS_VIEW);
  });
});
