// The extent checks every ABI entry point runs before it touches memory (docs/abi.md, "Return
// codes"). Sizes come from products of u32 (or i32) arguments, so they are computed in f64: exact
// below 2^53, and far past any wasm32 memory above it, so a product that would wrap a u32 (or
// even a u64) is still seen as too large. Each check is O(1) per call; the kernels' loops then
// index in u32 knowing nothing they compute can wrap.

export * from "../src/runtime/abi-status";

/** The largest u32, as f64: counts the kernels loop over (rows, elements) must not pass it. */
export const U32_MAX: f64 = 4294967295;

/** The longest stored row a kernel may index, in bits: rowStrideBytes and loadCode/storeCode
 *  compute cols * bits (+ 31) in u32, so that must not pass 2^32 - 1 (the stride, at most 2^29
 *  bytes, then fits an i32 view field too). */
export const MAX_ROW_BITS: f64 = 4294967296 - 32;

/** Whether [at, at + bytes) lies inside linear memory. */
export function inMemory(at: usize, bytes: f64): bool {
  return <f64>at + bytes <= <f64>memory.size() * 65536;
}

/** Bytes of a packed rows x cols matrix at `bits` (rows * ceil(cols * bits / 32) * 4), in f64. */
@inline export function packedBytes(rows: f64, cols: f64, bits: u32): f64 {
  return rows * Math.ceil(cols * <f64>bits / 32) * 4;
}

/** Whether a packed rows x cols matrix at `bits` (2..16, checked before) may be read or written
 *  at `at`: it lies inside memory, its rows are short enough for u32 bit positions, and its row
 *  count fits a u32 (a zero-width matrix occupies no bytes whatever its row count). */
export function packedFits(at: usize, rows: f64, cols: f64, bits: u32): bool {
  return rows <= U32_MAX && cols * <f64>bits <= MAX_ROW_BITS && inMemory(at, packedBytes(rows, cols, bits));
}

/** Whether `count` elements of `size` bytes at `at` lie inside memory, with count within u32. */
export function arrayFits(at: usize, count: f64, size: f64): bool {
  return count <= U32_MAX && inMemory(at, count * size);
}
