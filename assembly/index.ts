// The aptkit wasm ABI (docs/abi.md). Flat functions on byte offsets into this module's memory;
// the caller owns every buffer and its placement.

import { encodeMatrix, decodeMatrix, rowStrideBytes, MIN_BITS, MAX_BITS } from "./packed";
import { gemm as gemmImpl, gemmWorkspaceBytes } from "./gemm";

/** Bumped whenever an export's meaning or signature changes. */
export const ABI_VERSION: u32 = 1;

export function abi_version(): u32 { return ABI_VERSION; }
export function has_simd(): bool { return ASC_FEATURE_SIMD; }
export function heap_base(): usize { return __heap_base; }

export function packed_row_stride(cols: u32, bits: u32): u32 {
  return rowStrideBytes(cols, bits);
}

/** i32 codes (rows*cols at `src`) -> packed matrix at `dst`. 0 = ok, -1 = bits out of 2..16,
 *  k+1 = code k out of its symmetric range (nothing written). */
export function pack(src: usize, rows: u32, cols: u32, bits: u32, dst: usize): i32 {
  if (bits < MIN_BITS || bits > MAX_BITS) return -1;
  return encodeMatrix(src, rows, cols, bits, dst);
}

/** packed matrix at `src` -> i32 codes at `dst`. 0 = ok, -1 = bits out of range. */
export function unpack(src: usize, rows: u32, cols: u32, bits: u32, dst: usize): i32 {
  if (bits < MIN_BITS || bits > MAX_BITS) return -1;
  decodeMatrix(src, rows, cols, bits, dst);
  return 0;
}

export function gemm_workspace_bytes(M: u32, N: u32, K: u32, aBits: u32, bBits: u32): usize {
  return gemmWorkspaceBytes(M, N, K, aBits, bBits);
}

export function gemm(
  a: usize, aRows: u32, aCols: u32, aBits: u32, transA: bool,
  b: usize, bRows: u32, bCols: u32, bBits: u32, transB: bool,
  c: usize, work: usize, workBytes: usize
): i32 {
  return gemmImpl(a, aRows, aCols, aBits, transA, b, bRows, bCols, bBits, transB, c, work, workBytes);
}
