// The packed format (docs/format.md): a rows x cols matrix of `bits`-bit two's-complement codes,
// row-major, each row starting on a 4-byte boundary, element j of a row at bits [j*bits, j*bits+bits)
// of the row's little-endian bit stream. Codes are symmetric: |q| <= 2^(bits-1) - 1.
//
// Every reader here touches only whole 32-bit words of the row it decodes (or, on the 8- and 16-bit
// fast paths, only the bytes of the requested elements): since rows are padded to words, no read ever
// leaves the row, so no read leaves the matrix.

import { MIN_BITS as ABI_MIN_BITS, MAX_BITS as ABI_MAX_BITS } from "../src/format/codes";

/** The width range of src/format/codes.ts, as the u32 the kernels compare widths in. */
export const MIN_BITS: u32 = <u32>ABI_MIN_BITS;
export const MAX_BITS: u32 = <u32>ABI_MAX_BITS;

@inline export function maxCode(bits: u32): i32 {
  return (1 << (bits - 1)) - 1;
}

@inline export function rowStrideBytes(cols: u32, bits: u32): u32 {
  return ((cols * bits + 31) >>> 5) << 2;
}

/** Encodes `rows*cols` i32 codes into packed rows; returns 0, or 1 + the index of the first code
 *  outside the symmetric range (then nothing is written). */
export function encodeMatrix(src: usize, rows: u32, cols: u32, bits: u32, dst: usize): i32 {
  const limit = maxCode(bits);
  const n = rows * cols;
  for (let i: u32 = 0; i < n; i++) {
    const v = load<i32>(src + (<usize>i << 2));
    if (v > limit || v < -limit) return <i32>i + 1;
  }
  const stride = rowStrideBytes(cols, bits);
  const mask: u64 = (<u64>1 << bits) - 1;
  for (let r: u32 = 0; r < rows; r++) {
    let out = dst + <usize>r * stride;
    const row = src + (<usize>(r * cols) << 2);
    let buf: u64 = 0;
    let have: u32 = 0;
    for (let j: u32 = 0; j < cols; j++) {
      buf |= (<u64>load<i32>(row + (<usize>j << 2)) & mask) << have;
      have += bits;
      if (have >= 32) {
        store<u32>(out, <u32>buf);
        out += 4;
        buf >>= 32;
        have -= 32;
      }
    }
    if (have > 0) store<u32>(out, <u32>buf);
  }
  return 0;
}

/** Decodes elements [col0, col0+count) of one packed row into i16 at `dst`. */
export function decodeRow(row: usize, col0: u32, count: u32, bits: u32, dst: usize): void {
  if (bits == 8) {
    decodeRow8(row + col0, count, dst);
  } else if (bits == 16) {
    memory.copy(dst, row + (<usize>col0 << 1), <usize>count << 1);
  } else if (!ASC_FEATURE_SIMD && bits < 8) {
    decodeRowNarrowScalar(row, col0, count, bits, dst);
  } else if (bits == 4 && (col0 & 1) == 0) {
    decodeRow4(row, col0, count, dst);
  } else if (bits == 2 && (col0 & 3) == 0) {
    decodeRow2(row, col0, count, dst);
  } else {
    decodeRowAny(row, col0, count, bits, dst);
  }
}

// SIMD, any width below 16: 8 codes are exactly `bits` bytes, so every group of 8 has the same
// layout relative to its first byte. One 16-byte load holds a group (its last bit is at most bit
// 7 + 8*15 - 1 = 126); a swizzle gathers each code's bytes into an i32 lane (lane bytes past the
// code's last byte are don't-cares), a multiply by a per-lane power of two shifts the code to the top
// of the lane, an arithmetic shift brings it back sign-extended. Returns how many codes it decoded
// (whole groups whose 16 bytes lie in the words holding the requested codes).
function decodeRowGroups(row: usize, col0: u32, count: u32, bits: u32, dst: usize, limit: usize): u32 {
  if (!ASC_FEATURE_SIMD) return 0;
  const r0 = (col0 * bits) & 7;
  let idxA = i32x4.splat(0), idxB = i32x4.splat(0), mulA = i32x4.splat(0), mulB = i32x4.splat(0);
  for (let t: u32 = 0; t < 8; t++) {
    const off = r0 + t * bits;
    const first = off >>> 3;
    let lane: u32 = 0;
    for (let k: u32 = 0; k < 4; k++) {
      const b = first + k;
      lane |= (b < 16 ? b : 0x80) << (k << 3);
    }
    const mul = <u32>1 << (32 - bits - (off & 7));
    if (t == 0) { idxA = i32x4.replace_lane(idxA, 0, lane); mulA = i32x4.replace_lane(mulA, 0, mul); }
    else if (t == 1) { idxA = i32x4.replace_lane(idxA, 1, lane); mulA = i32x4.replace_lane(mulA, 1, mul); }
    else if (t == 2) { idxA = i32x4.replace_lane(idxA, 2, lane); mulA = i32x4.replace_lane(mulA, 2, mul); }
    else if (t == 3) { idxA = i32x4.replace_lane(idxA, 3, lane); mulA = i32x4.replace_lane(mulA, 3, mul); }
    else if (t == 4) { idxB = i32x4.replace_lane(idxB, 0, lane); mulB = i32x4.replace_lane(mulB, 0, mul); }
    else if (t == 5) { idxB = i32x4.replace_lane(idxB, 1, lane); mulB = i32x4.replace_lane(mulB, 1, mul); }
    else if (t == 6) { idxB = i32x4.replace_lane(idxB, 2, lane); mulB = i32x4.replace_lane(mulB, 2, mul); }
    else { idxB = i32x4.replace_lane(idxB, 3, lane); mulB = i32x4.replace_lane(mulB, 3, mul); }
  }
  const down = 32 - bits;
  let p = row + ((<usize>col0 * bits) >>> 3);
  let j: u32 = 0;
  for (; j + 8 <= count; j += 8) {
    if (p + 16 > row + limit) break;
    const x = v128.load(p);
    const a = i32x4.shr_s(i32x4.mul(i8x16.swizzle(x, idxA), mulA), down);
    const b = i32x4.shr_s(i32x4.mul(i8x16.swizzle(x, idxB), mulB), down);
    v128.store(dst + (<usize>j << 1), i16x8.narrow_i32x4_s(a, b));
    p += bits;
  }
  return j;
}

// Any width: element j from one unaligned 64-bit load at its first byte (no carried bit buffer, so
// elements decode independently), as long as those 8 bytes lie in the words that hold the requested
// elements; the last few go through the bit stream.
function decodeRowAny(row: usize, col0: u32, count: u32, bits: u32, dst: usize): void {
  if (count == 0) return;
  // (The scalar build measured no faster with the 64-bit loads than with the bit stream.)
  if (!ASC_FEATURE_SIMD) { decodeRowBits(row, col0, count, bits, dst); return; }
  const end = col0 + count;
  const limit = <usize>(((<u64>end * bits + 31) >>> 5) << 2);
  const up: u64 = 64 - <u64>bits;
  let j: u32 = 0;
  if (ASC_FEATURE_SIMD && count >= 32) j = decodeRowGroups(row, col0, count, bits, dst, limit);
  let bit = <usize>(col0 + j) * bits;
  for (; j < count; j++) {
    const byte = bit >>> 3;
    if (byte + 8 > limit) break;
    const w = load<u64>(row + byte) >> <u64>(bit & 7);
    store<i16>(dst + (<usize>j << 1), <i16>(<i64>(w << up) >> up));
    bit += bits;
  }
  decodeRowBits(row, col0 + j, count - j, bits, dst + (<usize>j << 1));
}

// Scalar build, widths below 8: 8 codes are exactly `bits` bytes, so every group of 8 starts at the
// same bit offset r0 within its first byte. One unaligned 64-bit load shifted right by r0 holds a
// group (8 * bits + r0 <= 63 bits), and each code comes out by a constant shift pair: width by
// width, the shifts fold. Groups whose 8 bytes pass the words holding the requested codes, and the
// last few codes, go through the bit stream.
function decodeRowNarrowScalar(row: usize, col0: u32, count: u32, bits: u32, dst: usize): void {
  let j: u32 = 0;
  if (count >= 8) {
    const limit = wordsEnd(col0 + count, bits);
    switch (bits) {
      case 2: j = decodeGroups8(row, col0, count, 2, dst, limit); break;
      case 3: j = decodeGroups8(row, col0, count, 3, dst, limit); break;
      case 4: j = decodeGroups8(row, col0, count, 4, dst, limit); break;
      case 5: j = decodeGroups8(row, col0, count, 5, dst, limit); break;
      case 6: j = decodeGroups8(row, col0, count, 6, dst, limit); break;
      default: j = decodeGroups8(row, col0, count, 7, dst, limit); break;
    }
  }
  decodeRowBits(row, col0 + j, count - j, bits, dst + (<usize>j << 1));
}

// Code t (0..7) of a group word x (the group's first code at bit 0), sign-extended.
@inline function groupCode(x: u64, t: u32, bits: u32): i16 {
  return <i16>(<i64>(x << <u64>(64 - bits * (t + 1))) >> <u64>(64 - bits));
}

@inline function decodeGroups8(row: usize, col0: u32, count: u32, bits: u32, dst: usize, limit: usize): u32 {
  const start = <usize>col0 * bits;
  let p = row + (start >>> 3);
  const r0 = <u64>(start & 7);
  const end = row + limit;
  let j: u32 = 0;
  for (; j + 8 <= count; j += 8) {
    if (p + 8 > end) break;
    const x = load<u64>(p) >> r0;
    const o = dst + (<usize>j << 1);
    store<i16>(o, groupCode(x, 0, bits));
    store<i16>(o, groupCode(x, 1, bits), 2);
    store<i16>(o, groupCode(x, 2, bits), 4);
    store<i16>(o, groupCode(x, 3, bits), 6);
    store<i16>(o, groupCode(x, 4, bits), 8);
    store<i16>(o, groupCode(x, 5, bits), 10);
    store<i16>(o, groupCode(x, 6, bits), 12);
    store<i16>(o, groupCode(x, 7, bits), 14);
    p += bits;
  }
  return j;
}

// Shift-left then arithmetic-shift-right sign-extends the low `bits` of a word, and binaryen folds
// the constant shifts when this is inlined into a width-specialised loop.
@inline function decodeRowBits(row: usize, col0: u32, count: u32, bits: u32, dst: usize): void {
  if (count == 0) return;
  const start = col0 * bits;
  let p = row + ((start >>> 5) << 2);
  const skip = start & 31;
  let buf: u64 = <u64>load<u32>(p) >> skip;
  let have: u32 = 32 - skip;
  p += 4;
  const up: u32 = 32 - bits;
  for (let j: u32 = 0; j < count; j++) {
    if (have < bits) {
      // Loaded only when the next element needs it, so the word is inside the row.
      buf |= <u64>load<u32>(p) << have;
      p += 4;
      have += 32;
    }
    store<i16>(dst + (<usize>j << 1), <i16>((<i32>buf << up) >> up));
    buf >>= bits;
    have -= bits;
  }
}

function decodeRow8(src: usize, count: u32, dst: usize): void {
  let j: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 8 <= count; j += 8) {
      v128.store(dst + (<usize>j << 1), v128.load8x8_s(src + j));
    }
  }
  for (; j < count; j++) store<i16>(dst + (<usize>j << 1), <i16>load<i8>(src + j));
}

function decodeRow4(row: usize, col0: u32, count: u32, dst: usize): void {
  const src = row + (col0 >>> 1);
  let j: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    // 8 bytes hold 16 nibbles; element 2i is the low nibble of byte i.
    for (; j + 16 <= count; j += 16) {
      const x = v128.load8x8_u(src + (j >>> 1));
      const lo = i16x8.shr_s(i16x8.shl(x, 12), 12);
      const hi = i16x8.shr_s(i16x8.shl(x, 8), 12);
      const out = dst + (<usize>j << 1);
      v128.store(out, i16x8.shuffle(lo, hi, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(out, i16x8.shuffle(lo, hi, 4, 12, 5, 13, 6, 14, 7, 15), 16);
    }
    // The last 9..15 codes of a short row (a 10-column B: every row is only a tail) from one more
    // 8-byte load, when those bytes lie in the words holding the requested codes (fewer codes
    // never span the 8 bytes' words).
    const rest = count - j;
    if (rest > 8 && (<usize>(col0 + j) >>> 1) + 8 <= wordsEnd(col0 + count, 4)) {
      const x = v128.load8x8_u(src + (j >>> 1));
      const lo = i16x8.shr_s(i16x8.shl(x, 12), 12);
      const hi = i16x8.shr_s(i16x8.shl(x, 8), 12);
      storeCodes16(dst + (<usize>j << 1), i16x8.shuffle(lo, hi, 0, 8, 1, 9, 2, 10, 3, 11), i16x8.shuffle(lo, hi, 4, 12, 5, 13, 6, 14, 7, 15), rest);
      return;
    }
  }
  decodeRowBits(row, col0 + j, count - j, 4, dst + (<usize>j << 1));
}

// Bytes from a row's start to the end of the 32-bit word holding element `end - 1` at `bits`.
@inline function wordsEnd(end: u32, bits: u32): usize {
  return <usize>(((<u64>end * bits + 31) >>> 5) << 2);
}

// The first n (0 < n < 16) codes of lo (codes 0..7) and hi (codes 8..15) to dst, nothing past them.
@inline function storeCodes16(dst: usize, lo: v128, hi: v128, n: u32): void {
  if (n >= 8) {
    v128.store(dst, lo);
    storeCodes8(dst + 16, hi, n - 8);
  } else {
    storeCodes8(dst, lo, n);
  }
}

// The first n (< 8) i16 lanes of v to dst: 4, 2 and 1 lanes by the bits of n.
@inline function storeCodes8(dst: usize, v: v128, n: u32): void {
  if (n & 4) { v128.store64_lane(dst, v, 0); v = i32x4.shuffle(v, v, 2, 3, 2, 3); dst += 8; }
  if (n & 2) { v128.store32_lane(dst, v, 0); v = i32x4.shuffle(v, v, 1, 1, 1, 1); dst += 4; }
  if (n & 1) v128.store16_lane(dst, v, 0);
}

// 2-bit codes start on a byte when col0 % 4 == 0: element 4i+t is bits 2t..2t+1 of byte i. The
// general group decoder (a swizzle and a multiply per 8 codes, with its tables built per call)
// made 2-bit A rows cost twice the 8-bit ones on short shapes (32x128x10, 1568x144x32: 0.5-0.6x of
// (8,8)); here 8 bytes give 32 codes by four shift pairs (one per position t) and two rounds of
// interleaving shuffles.
function decodeRow2(row: usize, col0: u32, count: u32, dst: usize): void {
  const src = row + (col0 >>> 2);
  let j: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 32 <= count; j += 32) {
      const x = v128.load8x8_u(src + (j >>> 2)); // byte i in lane i
      const c0 = i16x8.shr_s(i16x8.shl(x, 14), 14); // lane i: code 4i
      const c1 = i16x8.shr_s(i16x8.shl(x, 12), 14); // 4i + 1
      const c2 = i16x8.shr_s(i16x8.shl(x, 10), 14); // 4i + 2
      const c3 = i16x8.shr_s(i16x8.shl(x, 8), 14);  // 4i + 3
      const lo01 = i16x8.shuffle(c0, c1, 0, 8, 1, 9, 2, 10, 3, 11);   // codes 0 1, 4 5, 8 9, 12 13
      const lo23 = i16x8.shuffle(c2, c3, 0, 8, 1, 9, 2, 10, 3, 11);   // codes 2 3, 6 7, 10 11, 14 15
      const hi01 = i16x8.shuffle(c0, c1, 4, 12, 5, 13, 6, 14, 7, 15); // codes 16 17, 20 21, ...
      const hi23 = i16x8.shuffle(c2, c3, 4, 12, 5, 13, 6, 14, 7, 15);
      const out = dst + (<usize>j << 1);
      v128.store(out, i32x4.shuffle(lo01, lo23, 0, 4, 1, 5));
      v128.store(out, i32x4.shuffle(lo01, lo23, 2, 6, 3, 7), 16);
      v128.store(out, i32x4.shuffle(hi01, hi23, 0, 4, 1, 5), 32);
      v128.store(out, i32x4.shuffle(hi01, hi23, 2, 6, 3, 7), 48);
    }
    // The last 17..31 codes from one more 8-byte load when those bytes lie in the words holding
    // the requested codes, as in decodeRow4 (fewer codes never span the 8 bytes' words).
    const rest = count - j;
    if (rest > 16 && (<usize>(col0 + j) >>> 2) + 8 <= wordsEnd(col0 + count, 2)) {
      const x = v128.load8x8_u(src + (j >>> 2));
      const c0 = i16x8.shr_s(i16x8.shl(x, 14), 14);
      const c1 = i16x8.shr_s(i16x8.shl(x, 12), 14);
      const c2 = i16x8.shr_s(i16x8.shl(x, 10), 14);
      const c3 = i16x8.shr_s(i16x8.shl(x, 8), 14);
      const lo01 = i16x8.shuffle(c0, c1, 0, 8, 1, 9, 2, 10, 3, 11);
      const lo23 = i16x8.shuffle(c2, c3, 0, 8, 1, 9, 2, 10, 3, 11);
      const hi01 = i16x8.shuffle(c0, c1, 4, 12, 5, 13, 6, 14, 7, 15);
      const hi23 = i16x8.shuffle(c2, c3, 4, 12, 5, 13, 6, 14, 7, 15);
      const out = dst + (<usize>j << 1);
      v128.store(out, i32x4.shuffle(lo01, lo23, 0, 4, 1, 5));
      v128.store(out, i32x4.shuffle(lo01, lo23, 2, 6, 3, 7), 16);
      storeCodes16(out + 32, i32x4.shuffle(hi01, hi23, 0, 4, 1, 5), i32x4.shuffle(hi01, hi23, 2, 6, 3, 7), rest - 16);
      return;
    }
  }
  decodeRowBits(row, col0 + j, count - j, 2, dst + (<usize>j << 1));
}

/** Decodes a whole matrix into i32 codes (the inverse of encodeMatrix). */
export function decodeMatrix(src: usize, rows: u32, cols: u32, bits: u32, dst: usize): void {
  const stride = rowStrideBytes(cols, bits);
  for (let r: u32 = 0; r < rows; r++) {
    const row = src + <usize>r * stride;
    const out = dst + (<usize>(r * cols) << 2);
    let p = row;
    let buf: u64 = 0;
    let have: u32 = 0;
    const up: u32 = 32 - bits;
    for (let j: u32 = 0; j < cols; j++) {
      if (have < bits) {
        buf |= <u64>load<u32>(p) << have;
        p += 4;
        have += 32;
      }
      store<i32>(out + (<usize>j << 2), (<i32>buf << up) >> up);
      buf >>= bits;
      have -= bits;
    }
  }
}

/** Overwrites elements [col0, col0+count) of a packed row with the low `bits` of the i16 codes at
 *  `src`, as writeCode would one by one: bits outside the run are kept. */
export function encodeRun(row: usize, col0: u32, count: u32, bits: u32, src: usize): void {
  if (count == 0) return;
  if (bits == 16) {
    memory.copy(row + (<usize>col0 << 1), src, <usize>count << 1);
    return;
  }
  if (bits == 8) {
    encodeRun8(row + col0, count, src);
    return;
  }
  // Constant shifts in the loops of the widths training runs at below 8 bits.
  if (bits == 6) encodeRunBits(row, col0, count, 6, src);
  else if (bits == 4) encodeRunBits(row, col0, count, 4, src);
  else if (bits == 5) encodeRunBits(row, col0, count, 5, src);
  else if (bits == 7) encodeRunBits(row, col0, count, 7, src);
  else encodeRunBits(row, col0, count, bits, src);
}

// The run's bits go through a 64-bit buffer stored 8 bytes at a time, which is only done once the
// buffer holds 64 bits of the run (or of the bits before col0 in its first word, read back), so no
// store touches a byte outside the words holding the run; the last word is merged with what
// follows the run.
@inline function encodeRunBits(row: usize, col0: u32, count: u32, bits: u32, src: usize): void {
  const start = <usize>col0 * bits;
  let p = row + ((start >>> 5) << 2);
  const skip = <u32>(start & 31);
  const mask: u64 = (<u64>1 << bits) - 1;
  let buf: u64 = <u64>load<u32>(p) & ((<u64>1 << skip) - 1);
  let have: u32 = skip;
  let j: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    // Eight codes at a time, packed in lanes: pairs into i32 lanes (c0 | c1 << bits), pairs of
    // those into i64 lanes (4 * bits bits each); below 8 bits the two lanes make one 8 * bits <= 56
    // bit group.
    const m16 = i16x8.splat(<i16>mask);
    for (; j + 8 <= count; j += 8) {
      let x = v128.and(v128.load(src + (<usize>j << 1)), m16);
      x = v128.or(v128.and(x, i32x4.splat(0xffff)), i32x4.shl(i32x4.shr_u(x, 16), bits));
      x = v128.or(v128.and(x, i64x2.splat(0xffffffff)), i64x2.shl(i64x2.shr_u(x, 32), bits << 1));
      const g0 = <u64>i64x2.extract_lane(x, 0), g1 = <u64>i64x2.extract_lane(x, 1);
      if (bits < 8) {
        const g = g0 | (g1 << (<u64>bits << 2));
        const n = bits << 3;
        buf |= g << have;
        if (have + n >= 64) {
          store<u64>(p, buf);
          p += 8;
          // have > 0 here (n < 64), so the shift is below 64.
          buf = g >> <u64>(64 - have);
          have += n - 64;
        } else {
          have += n;
        }
      } else {
        const n = bits << 2;
        buf |= g0 << have;
        if (have + n >= 64) { store<u64>(p, buf); p += 8; buf = g0 >> <u64>(64 - have); have += n - 64; } else have += n;
        buf |= g1 << have;
        if (have + n >= 64) { store<u64>(p, buf); p += 8; buf = g1 >> <u64>(64 - have); have += n - 64; } else have += n;
      }
    }
  }
  for (; j < count; j++) {
    const g = <u64>load<u16>(src + (<usize>j << 1)) & mask;
    buf |= g << have;
    if (have + bits >= 64) {
      store<u64>(p, buf);
      p += 8;
      buf = g >> <u64>(64 - have);
      have += bits - 64;
    } else {
      have += bits;
    }
  }
  if (have >= 32) {
    store<u32>(p, <u32>buf);
    p += 4;
    buf >>= 32;
    have -= 32;
  }
  if (have > 0) {
    const low: u32 = (<u32>1 << have) - 1;
    store<u32>(p, (load<u32>(p) & ~low) | (<u32>buf & low));
  }
}

// The low byte of each code.
function encodeRun8(dst: usize, count: u32, src: usize): void {
  let j: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 8 <= count; j += 8) {
      const x = v128.load(src + (<usize>j << 1));
      v128.store64_lane(dst + j, i8x16.shuffle(x, x, 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14), 0);
    }
  }
  for (; j < count; j++) store<u8>(dst + j, load<u8>(src + (<usize>j << 1)));
}

/** Reads element `col` of a packed row (one element; touches only the words holding it). */
export function readCode(row: usize, col: u32, bits: u32): i32 {
  const start = col * bits;
  const p = row + ((start >>> 5) << 2);
  const skip = start & 31;
  let word: u64 = <u64>load<u32>(p) >> skip;
  if (skip + bits > 32) word |= <u64>load<u32>(p, 4) << (32 - skip);
  const up: u32 = 32 - bits;
  return (<i32>word << up) >> up;
}

/** Overwrites element `col` of a packed row with the low `bits` of q. */
export function writeCode(row: usize, col: u32, bits: u32, q: i32): void {
  const start = col * bits;
  const p = row + ((start >>> 5) << 2);
  const skip = start & 31;
  const mask: u64 = ((<u64>1 << bits) - 1) << skip;
  const value: u64 = (<u64>(<u32>q) << skip) & mask;
  if (skip + bits <= 32) {
    store<u32>(p, (load<u32>(p) & ~<u32>mask) | <u32>value);
  } else {
    store<u32>(p, (load<u32>(p) & ~<u32>mask) | <u32>value);
    store<u32>(p, (load<u32>(p, 4) & ~<u32>(mask >> 32)) | <u32>(value >> 32), 4);
  }
}
