// ReLU and the NHWC <-> dense reshape, on packed codes. Codes only: exponents are unchanged.

import { rowStrideBytes } from "./packed";
import { loadCode, storeCode, clearTail, validBits } from "./quantize";
import { packedFits, STATUS_BITS, STATUS_RANGE } from "./extents";

// At 8 and 16 bits codes are whole bytes / halfwords, so the kernels treat the matrix (padding
// included: it is zero, and stays zero or is re-zeroed) as one flat run of lanes. Integer max and
// masks are exact, so the SIMD and scalar builds still agree bit for bit.

/** q = max(q, 0) over a packed rows x cols matrix, in place. Returns 0, STATUS_BITS or STATUS_RANGE. */
export function reluForward(ptr: usize, rows: u32, cols: u32, bits: u32): i32 {
  if (!validBits(bits)) return STATUS_BITS;
  if (!packedFits(ptr, rows, cols, bits)) return STATUS_RANGE;
  const stride = rowStrideBytes(cols, bits);
  if (bits == 8 || bits == 16) {
    const bytes = <usize>rows * stride;
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = i32x4.splat(0);
      if (bits == 8) for (; i + 16 <= bytes; i += 16) v128.store(ptr + i, i8x16.max_s(v128.load(ptr + i), zero));
      else for (; i + 16 <= bytes; i += 16) v128.store(ptr + i, i16x8.max_s(v128.load(ptr + i), zero));
    }
    if (bits == 8) {
      for (; i < bytes; i++) { const q = load<i8>(ptr + i); store<i8>(ptr + i, q < 0 ? 0 : q); }
    } else {
      for (; i < bytes; i += 2) { const q = load<i16>(ptr + i); store<i16>(ptr + i, q < 0 ? 0 : q); }
    }
    return 0;
  }
  for (let r: u32 = 0; r < rows; r++) {
    const row = ptr + <usize>r * stride;
    for (let j: u32 = 0; j < cols; j++) {
      if (loadCode(row, j, bits) < 0) storeCode(row, j, bits, 0);
    }
  }
  return 0;
}

/**
 * dx = dy where the saved ReLU OUTPUT y is > 0, else 0. y: rows x cols at yBits; dy and dx:
 * rows x cols at dyBits (dx keeps dY's exponent). dx may be dy (in place).
 * Returns 0, STATUS_BITS or STATUS_RANGE.
 */
export function reluBackward(
  y: usize, yBits: u32, dy: usize, dyBits: u32, rows: u32, cols: u32, dx: usize,
): i32 {
  if (!validBits(yBits) || !validBits(dyBits)) return STATUS_BITS;
  if (!packedFits(y, rows, cols, yBits) || !packedFits(dy, rows, cols, dyBits) || !packedFits(dx, rows, cols, dyBits)) {
    return STATUS_RANGE;
  }
  const sY = rowStrideBytes(cols, yBits);
  const sD = rowStrideBytes(cols, dyBits);
  if (yBits == dyBits && (yBits == 8 || yBits == 16)) {
    const bytes = <usize>rows * sD;
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = i32x4.splat(0);
      if (yBits == 8) {
        for (; i + 16 <= bytes; i += 16) {
          v128.store(dx + i, v128.and(v128.load(dy + i), i8x16.gt_s(v128.load(y + i), zero)));
        }
      } else {
        for (; i + 16 <= bytes; i += 16) {
          v128.store(dx + i, v128.and(v128.load(dy + i), i16x8.gt_s(v128.load(y + i), zero)));
        }
      }
    }
    if (yBits == 8) {
      for (; i < bytes; i++) store<i8>(dx + i, load<i8>(y + i) > 0 ? load<i8>(dy + i) : 0);
    } else {
      for (; i < bytes; i += 2) store<i16>(dx + i, load<i16>(y + i) > 0 ? load<i16>(dy + i) : 0);
    }
    // Padding: zero already when dy's is; re-zeroed so dx never depends on it.
    for (let r: u32 = 0; r < rows; r++) clearTail(dx + <usize>r * sD, cols * dyBits, sD);
    return 0;
  }
  for (let r: u32 = 0; r < rows; r++) {
    const yRow = y + <usize>r * sY;
    const dyRow = dy + <usize>r * sD;
    const dxRow = dx + <usize>r * sD;
    for (let j: u32 = 0; j < cols; j++) {
      storeCode(dxRow, j, dyBits, loadCode(yRow, j, yBits) > 0 ? loadCode(dyRow, j, dyBits) : 0);
    }
    clearTail(dxRow, cols * dyBits, sD);
  }
  return 0;
}

// Flatten concatenates each image's H rows into one row, dropping the per-line padding. An
// element's flat position is never after its rows-layout position (an image's H padded lines are at
// least as long as its one padded row), so flattening walks forwards and unflattening backwards,
// and both may run in place (dst == src, buffer reserved at the larger size).

// Both layouts of the tensor must lie in memory with every count inside u32: the rows layout
// (N*H x W*C) on one side, the flat one (N x H*W*C) on the other.
function nhwcFits(src: usize, dst: usize, N: u32, H: u32, W: u32, C: u32, bits: u32, flatten: bool): bool {
  const n = <f64>N, h = <f64>H, line = <f64>W * <f64>C;
  const rowsAt = flatten ? src : dst, flatAt = flatten ? dst : src;
  return packedFits(rowsAt, n * h, line, bits) && packedFits(flatAt, n, h * line, bits);
}

/**
 * NHWC rows layout (N*H rows x W*C cols) at `src` -> N rows x H*W*C cols at `dst`, same bits.
 * dst may be src. Returns 0, STATUS_BITS or STATUS_RANGE.
 */
export function flattenNhwc(src: usize, N: u32, H: u32, W: u32, C: u32, bits: u32, dst: usize): i32 {
  if (!validBits(bits)) return STATUS_BITS;
  if (!nhwcFits(src, dst, N, H, W, C, bits, true)) return STATUS_RANGE;
  const line = W * C;
  const sS = rowStrideBytes(line, bits);
  const sD = rowStrideBytes(H * line, bits);
  for (let n: u32 = 0; n < N; n++) {
    const dRow = dst + <usize>n * sD;
    for (let y: u32 = 0; y < H; y++) {
      const sRow = src + <usize>(n * H + y) * sS;
      const at = y * line;
      for (let e: u32 = 0; e < line; e++) storeCode(dRow, at + e, bits, loadCode(sRow, e, bits));
    }
    clearTail(dRow, H * line * bits, sD);
  }
  return 0;
}

/**
 * The inverse of flattenNhwc: N rows x H*W*C cols at `src` -> N*H rows x W*C cols at `dst`.
 * dst may be src. Returns 0, STATUS_BITS or STATUS_RANGE.
 */
export function unflattenNhwc(src: usize, N: u32, H: u32, W: u32, C: u32, bits: u32, dst: usize): i32 {
  if (!validBits(bits)) return STATUS_BITS;
  if (!nhwcFits(src, dst, N, H, W, C, bits, false)) return STATUS_RANGE;
  const line = W * C;
  const sS = rowStrideBytes(H * line, bits);
  const sD = rowStrideBytes(line, bits);
  for (let n = N; n-- > 0;) {
    const sRow = src + <usize>n * sS;
    for (let y = H; y-- > 0;) {
      const dRow = dst + <usize>(n * H + y) * sD;
      const at = y * line;
      clearTail(dRow, line * bits, sD);
      for (let e = line; e-- > 0;) storeCode(dRow, e, bits, loadCode(sRow, at + e, bits));
    }
  }
  return 0;
}
