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
  reluFields(ptr, rows, cols * bits, stride, bits);
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
  // (The scalar build's byte loop at 8 bits is slower than the word-at-a-time fields below.)
  if (yBits == dyBits && (yBits == 16 || (ASC_FEATURE_SIMD && yBits == 8))) {
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
  // Both paths write every word of dX's rows, padding bits as zero.
  if (yBits == dyBits) {
    reluBackwardFields(y, dy, dx, rows, cols * yBits, sD, yBits);
  } else if (ASC_FEATURE_SIMD) {
    reluBackwardGroups(y, yBits, sY, dy, dyBits, sD, dx, rows, cols);
  } else {
    for (let r: u32 = 0; r < rows; r++) {
      reluBackwardStream<u32>(y + <usize>r * sY, yBits, dy + <usize>r * sD, dyBits, dx + <usize>r * sD, cols);
    }
  }
  return 0;
}

// ---- any width: a row's fields a 64-bit word at a time ------------------------------------------
// Away from 8 and 16 bits a code is a field of the row's bit stream, and a field may straddle two
// words. The kernels below still work a whole 64-bit word at a time (SWAR): a field's sign bit
// (its top bit) says whether it is negative, and one marked bit per field (at its sign position)
// becomes a mask of the whole field by one subtraction over the row taken as a long integer,
//   mask = (marks << 1) - (marks >> (bits - 1)),
// a mark at bit t adding 2^(t+1) - 2^(t+1-bits), the ones at t+1-bits..t; the terms are disjoint,
// so the sum is their union. Taken a 64-bit word at a time (each mod 2^64), a field inside the word
// is its own term; one ending at bit 63 loses its 2^64, and -2^(t+1-bits) alone is its ones from
// there up. A field straddling words w and w+1 has its mark in w+1 below bit bits - 1 (where no
// other field's can be): word w gets its -2^(start), the next word's mark shifted down (its ones
// from its start up), and word w + 1 its 2^(t+1) minus the borrow word w would pass up, taken from
// that mark alone. So a word's masks need only its own marks and the next word's, and no borrow
// runs along the row. Only integer bit operations: the SIMD and scalar builds run the same code.

// Word w of a row (8 bytes, or the last 4 of a stride that is not a multiple of 8).
@inline function loadWord(row: usize, w: u32, stride: u32): u64 {
  const at = w << 3;
  return at + 8 <= stride ? load<u64>(row + at) : <u64>load<u32>(row + at);
}

@inline function storeWord(row: usize, w: u32, stride: u32, v: u64): void {
  const at = w << 3;
  if (at + 8 <= stride) store<u64>(row + at, v);
  else store<u32>(row + at, <u32>v);
}

// The sign bits of word 0: bits - 1, 2*bits - 1, ... The fields repeat every `bits` bits, so word
// w + 1's are word w's shifted down by r = 64 % bits, the top r refilled from bits - r below:
// (h >> r) | (h << (bits - r)).
function firstSigns(bits: u32): u64 {
  let h: u64 = 0;
  for (let t = bits - 1; t < 64; t += bits) h |= <u64>1 << t;
  return h;
}

// A row's fields: the code bits of each of its `words` words (all but the last are full).
@inline function codeBits(w: u32, words: u32, last: u64): u64 {
  return w + 1 < words ? ~(<u64>0) : w + 1 == words ? last : 0;
}

@inline function lastCodeBits(nbits: u32): u64 {
  const left = nbits - (((nbits - 1) >>> 6) << 6); // 1..64
  return left == 64 ? ~(<u64>0) : (<u64>1 << left) - 1;
}

// Word w's masks from its marks s and the next word's sNext (see above).
@inline function wordMasks(s: u64, sNext: u64, down: u64, up: u64, lowSigns: u64): u64 {
  return (s << 1) - ((s >> down) | (sNext << up)) - <u64>((s & lowSigns) != 0);
}

/** max(q, 0) on the fields of each row: the negative ones (sign bit set) are cleared. */
function reluFields(ptr: usize, rows: u32, nbits: u32, stride: u32, bits: u32): void {
  if (nbits == 0) return;
  const words = (nbits >>> 6) + <u32>((nbits & 63) != 0), last = lastCodeBits(nbits); // (no nbits + 63: it may wrap)
  const r = <u64>(64 % bits), back = <u64>bits - r, down = <u64>(bits - 1), up = <u64>(65 - bits);
  const lowSigns = (<u64>1 << down) - 1;
  const h0 = firstSigns(bits);
  for (let row = ptr, end = ptr + <usize>rows * stride; row < end; row += stride) {
    let h = h0;
    let x = loadWord(row, 0, stride);
    let s = x & h & codeBits(0, words, last); // the marks: sign bits that are set
    let w: u32 = 0;
    // While the next word is whole and not the last: full 8-byte words, every bit a code bit.
    for (; w + 2 < words; w++) {
      h = (h >> r) | (h << back);
      const xNext = load<u64>(row + (<usize>(w + 1) << 3));
      const sNext = xNext & h;
      store<u64>(row + (<usize>w << 3), x & ~wordMasks(s, sNext, down, up, lowSigns));
      s = sNext;
      x = xNext;
    }
    for (; w < words; w++) {
      h = (h >> r) | (h << back);
      const xNext = w + 1 < words ? loadWord(row, w + 1, stride) : 0;
      const sNext = xNext & h & codeBits(w + 1, words, last);
      storeWord(row, w, stride, x & ~wordMasks(s, sNext, down, up, lowSigns));
      s = sNext;
      x = xNext;
    }
  }
}

/**
 * dx = dy where y > 0, on rows whose y and dy fields have the same width. A field is positive
 * when its sign bit is clear and its other bits are not all zero: adding 0b0111..1 to those bits
 * carries into the sign position exactly when they are not (never further: the sign position is
 * clear in both addends), so the marks are t & ~y & signs with t = (y & low) + low. Only a field
 * straddling two words carries out of the lower one (when its low part there is not zero), and
 * adding that carry to the upper word cannot carry again: no chain runs along the row.
 */
function reluBackwardFields(y: usize, dy: usize, dx: usize, rows: u32, nbits: u32, stride: u32, bits: u32): void {
  if (nbits == 0) return;
  const words = (nbits >>> 6) + <u32>((nbits & 63) != 0), last = lastCodeBits(nbits); // (no nbits + 63: it may wrap)
  const r = <u64>(64 % bits), back = <u64>bits - r, down = <u64>(bits - 1), up = <u64>(65 - bits);
  const lowSigns = (<u64>1 << down) - 1;
  const h0 = firstSigns(bits);
  for (let i: u32 = 0; i < rows; i++) {
    const at = <usize>i * stride;
    const yRow = y + at, dyRow = dy + at, dxRow = dx + at;
    let h = h0;
    let yw = loadWord(yRow, 0, stride);
    let f = codeBits(0, words, last);
    let low = f & ~h;
    let u = (yw & low) + low;
    let s = u & ~yw & h & f; // word 0's marks: no field reaches into it
    let w: u32 = 0;
    // While the next word is whole and not the last: full 8-byte words, every bit a code bit.
    for (; w + 2 < words; w++) {
      const carry = <u64>(u < low);
      h = (h >> r) | (h << back);
      const at = <usize>w << 3;
      yw = load<u64>(yRow + at + 8);
      low = ~h;
      u = (yw & low) + low;
      const sNext = (u + carry) & ~yw & h;
      store<u64>(dxRow + at, load<u64>(dyRow + at) & wordMasks(s, sNext, down, up, lowSigns));
      s = sNext;
    }
    for (; w < words; w++) {
      // Only a straddling field's low part carries out of bit 63 (the others stop at their sign).
      const carry = <u64>(u < low);
      h = (h >> r) | (h << back);
      yw = w + 1 < words ? loadWord(yRow, w + 1, stride) : 0;
      f = codeBits(w + 1, words, last);
      low = f & ~h;
      u = (yw & low) + low;
      const sNext = (u + carry) & ~yw & h & f;
      storeWord(dxRow, w, stride, loadWord(dyRow, w, stride) & wordMasks(s, sNext, down, up, lowSigns));
      s = sNext;
    }
  }
}

// ---- y and dY of different widths -----------------------------------------------------------------

/**
 * dx = dy where y > 0 when y and dy differ in width, for `count` codes from y's and dy's bit 0 at
 * the given addresses (byte addresses; with T = u32 they are the rows' starts). y's fields are read
 * in order from a bit buffer, each one's test becomes a whole-field mask at dy's width, and every
 * chunk (T) of masks is applied to the same chunk of dy. A y field v (as unsigned) is positive when
 * 1 <= v <= 2^(yBits-1) - 1. Chunks are loaded only when the next field needs them and stored once
 * they hold codes, so nothing past the last code's chunk is touched; its padding bits come out zero.
 */
function reluBackwardStream<T>(yAt: usize, yBits: u32, dyAt: usize, dyBits: u32, dxAt: usize, count: u32): void {
  const size = <usize>sizeof<T>(), chunk = <u32>size * 8;
  const yMask: u64 = (<u64>1 << yBits) - 1;
  const dMask: u64 = (<u64>1 << dyBits) - 1;
  const below = (<u64>1 << (yBits - 1)) - 1; // v - 1 < below: 1 <= v <= 2^(yBits-1) - 1
  let p = yAt;
  let buf: u64 = 0, have: u32 = 0;
  let masks: u64 = 0, filled: u32 = 0;
  let o: usize = 0;
  for (let j: u32 = 0; j < count; j++) {
    while (have < yBits) {
      buf |= <u64>load<T>(p) << have;
      p += size;
      have += chunk;
    }
    const v = buf & yMask;
    buf >>= yBits;
    have -= yBits;
    masks |= (dMask & (<u64>0 - <u64>(v - 1 < below))) << filled;
    filled += dyBits;
    while (filled >= chunk) {
      store<T>(dxAt + o, <T>(<u64>load<T>(dyAt + o) & masks));
      o += size;
      masks >>= chunk;
      filled -= chunk;
    }
  }
  if (filled > 0) store<T>(dxAt + o, <T>(<u64>load<T>(dyAt + o) & masks));
}

// The SIMD build's mixed widths: 8 codes a step. Eight y codes are yBits whole bytes and eight dY
// codes dyBits whole bytes, so every step has the same layout relative to its first bytes. A
// swizzle gathers each y code's bytes into an i32 lane, a multiply by a per-lane power of two moves
// the code to the top of its lane and an arithmetic shift brings it back sign-extended (as
// decodeRowGroups in packed.ts); its test, as an i16 lane of ones or zeros, then goes into the
// bits of its dY field by byte swizzles: a byte of dY holds parts of up to four fields, so up to
// four swizzle-and-mask passes, OR-ed. The 16-byte store writes dY's own bytes back past the
// step's dyBits (ones in the mask), which the next step or the row's tail rewrites.
function reluBackwardGroups(
  y: usize, yBits: u32, sY: u32, dy: usize, dyBits: u32, sD: u32, dx: usize, rows: u32, cols: u32,
): void {
  // y: lane t (codes 0..3 in idxA/mulA, 4..7 in idxB/mulB) gathers bytes off/8 .. off/8 + 3.
  let iA: u64 = 0, iA2: u64 = 0, iB: u64 = 0, iB2: u64 = 0, mA: u64 = 0, mA2: u64 = 0, mB: u64 = 0, mB2: u64 = 0;
  for (let t: u32 = 0; t < 8; t++) {
    const off = t * yBits;
    let lane: u64 = 0;
    for (let k: u32 = 0; k < 4; k++) {
      const b = (off >>> 3) + k;
      lane |= <u64>(b < 16 ? b : 0x80) << (k << 3);
    }
    const mul = <u64>(<u32>1 << (32 - yBits - (off & 7)));
    const shift = <u64>((t & 1) << 5);
    if (t < 2) { iA |= lane << shift; mA |= mul << shift; }
    else if (t < 4) { iA2 |= lane << shift; mA2 |= mul << shift; }
    else if (t < 6) { iB |= lane << shift; mB |= mul << shift; }
    else { iB2 |= lane << shift; mB2 |= mul << shift; }
  }
  const idxA = halves(iA, iA2), idxB = halves(iB, iB2), mulA = halves(mA, mA2), mulB = halves(mB, mB2);
  const down = 32 - yBits;
  // dY: pass s takes to byte t the test of field floor(8t / dyBits) + s, masked to its bits there.
  const passes: u32 = dyBits <= 3 ? 4 : dyBits <= 7 ? 3 : 2;
  const pick0 = fieldPick(dyBits, 0, false), keep0 = fieldPick(dyBits, 0, true);
  const pick1 = fieldPick(dyBits, 1, false), keep1 = fieldPick(dyBits, 1, true);
  const pick2 = fieldPick(dyBits, 2, false), keep2 = fieldPick(dyBits, 2, true);
  const pick3 = fieldPick(dyBits, 3, false), keep3 = fieldPick(dyBits, 3, true);
  const past = bytesFrom(dyBits); // ones past the step's dyBits bytes (none at 16)
  const zero = i32x4.splat(0);
  const full = cols >>> 3;
  const yEnd = y + <usize>rows * sY, dEnd = <usize>rows * sD;
  for (let r: u32 = 0; r < rows; r++) {
    const yRow = y + <usize>r * sY, at = <usize>r * sD;
    let g: u32 = 0;
    // Steps whose 16-byte loads and store lie in the buffers (the next row's bytes are still theirs).
    for (; g < full; g++) {
      const ya = yRow + <usize>g * yBits, da = at + <usize>g * dyBits;
      if (ya + 16 > yEnd || da + 16 > dEnd) break;
      const x = v128.load(ya);
      const a = i32x4.gt_s(i32x4.shr_s(i32x4.mul(i8x16.swizzle(x, idxA), mulA), down), zero);
      const b = i32x4.gt_s(i32x4.shr_s(i32x4.mul(i8x16.swizzle(x, idxB), mulB), down), zero);
      const tests = i16x8.narrow_i32x4_s(a, b); // lane t: all ones when y code t > 0
      let mask = v128.or(v128.and(i8x16.swizzle(tests, pick0), keep0), past);
      mask = v128.or(mask, v128.and(i8x16.swizzle(tests, pick1), keep1));
      if (passes > 2) mask = v128.or(mask, v128.and(i8x16.swizzle(tests, pick2), keep2));
      if (passes > 3) mask = v128.or(mask, v128.and(i8x16.swizzle(tests, pick3), keep3));
      v128.store(dx + da, v128.and(v128.load(dy + da), mask));
    }
    // The rest from the step's first bytes, a byte at a time, then the row's padding.
    const done = g << 3;
    reluBackwardStream<u8>(yRow + <usize>g * yBits, yBits, dy + at + <usize>g * dyBits, dyBits,
      dx + at + <usize>g * dyBits, cols - done);
    clearTail(dx + at, cols * dyBits, sD);
  }
}

// Ones in bytes t..15 of a vector.
function bytesFrom(t: u32): v128 {
  const lo = t >= 8 ? 0 : ~(<u64>0) << <u64>(t << 3);
  const hi = t <= 8 ? ~(<u64>0) : t >= 16 ? 0 : ~(<u64>0) << <u64>((t - 8) << 3);
  return halves(lo, hi);
}

@inline function halves(lo: u64, hi: u64): v128 {
  return i64x2.replace_lane(i64x2.splat(lo), 1, hi);
}

// reluBackwardGroups' pass s: for each byte t < dyBits of a step's dY bytes, the swizzle index of
// the test of field j = floor(8t / dyBits) + s (byte 2j of the i16 tests) and, with `keep`, that
// field's bits within byte t; no field (0x80, which swizzles to 0, and no bits) where j is past
// the step's 8 fields or starts after the byte.
function fieldPick(dyBits: u32, s: u32, keep: bool): v128 {
  let lo: u64 = 0, hi: u64 = 0;
  for (let t: u32 = 0; t < 16; t++) {
    const j = (8 * t) / dyBits + s;
    let byte: u64 = keep ? 0 : 0x80;
    if (t < dyBits && j < 8 && j * dyBits < 8 * t + 8) {
      if (keep) {
        const from = max<i32>(<i32>(j * dyBits) - <i32>(8 * t), 0);
        const to = min<i32>(<i32>(j * dyBits + dyBits) - <i32>(8 * t), 8);
        byte = <u64>(((1 << (to - from)) - 1) << from);
      } else {
        byte = <u64>(2 * j);
      }
    }
    if (t < 8) lo |= byte << <u64>(t << 3);
    else hi |= byte << <u64>((t - 8) << 3);
  }
  return halves(lo, hi);
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
