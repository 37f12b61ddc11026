// Max and average pooling on NHWC tensors in the rows layout: a packed matrix of N*H rows (one per
// image line) by W*C columns (x-major, channel fastest). No padding; the output is
// OH = floor((H - kh) / sh) + 1 by OW = floor((W - kw) / sw) + 1, stored the same way (N*OH rows of
// OW*C). Codes only: every output keeps its input's exponent.
//
// Backward passes are gathers (each dX element sums what reaches it, then is rounded or clamped
// once), so overlapping windows (stride < kernel) give an order-independent result and no i32
// scratch tensor is needed.

import { maxCode, rowStrideBytes } from "./packed";
import { randomKey } from "./random";
import { loadCode, storeCode, clearTail, roundDiv, validBits, ROUND_RNE } from "./quantize";
import { packedFits, arrayFits, STATUS_BITS, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE, STATUS_MODE, STATUS_RANGE } from "./extents";

function checkPool(H: u32, W: u32, bits: u32, kh: u32, kw: u32, sh: u32, sw: u32): i32 {
  if (!validBits(bits)) return STATUS_BITS;
  if (kh == 0 || kw == 0 || sh == 0 || sw == 0) return STATUS_WINDOW;
  if (<u64>kh * <u64>kw >= 0x80000000) return STATUS_WINDOW;
  if (kh > H || kw > W) return STATUS_WINDOW_TOO_LARGE;
  return 0;
}

// Whether the pool's input-shaped tensor (N*H x W*C) at `at` and its output-shaped one
// (N*OH x OW*C) at `outAt` lie in memory with every count the loops use inside u32.
function poolFits(at: usize, atBits: u32, outAt: usize, outBits: u32, N: u32, H: u32, W: u32, C: u32, OH: u32, OW: u32): bool {
  const n = <f64>N, c = <f64>C;
  return packedFits(at, n * <f64>H, <f64>W * c, atBits) && packedFits(outAt, n * <f64>OH, <f64>OW * c, outBits);
}

/** Output size along one axis: floor((n - k) / s) + 1, or STATUS_WINDOW / STATUS_WINDOW_TOO_LARGE, or
 *  STATUS_RANGE when the size passes i32 (it would read as a status). */
export function poolOutputSize(n: u32, k: u32, s: u32): i32 {
  if (k == 0 || s == 0) return STATUS_WINDOW;
  if (k > n) return STATUS_WINDOW_TOO_LARGE;
  const size = <u64>((n - k) / s) + 1;
  return size > 0x7fffffff ? STATUS_RANGE : <i32>size;
}

// The windows (along one axis) that contain input coordinate y: o*s <= y <= o*s + k - 1. The
// first is ceil((y + 1 - k) / s), written floor((y - k) / s) + 1 so that no sum can wrap a u32
// whatever the stride.
@inline function firstWindow(y: u32, k: u32, s: u32): u32 {
  return y >= k ? (y - k) / s + 1 : 0;
}
@inline function lastWindow(y: u32, s: u32, outSize: u32): u32 {
  const o = y / s;
  return o < outSize - 1 ? o : outSize - 1;
}

// 2x2 windows at stride 2 on 8- or 16-bit codes (T = i8 or i16: lenet5's pools at width 8, or
// 16): the general loops spend most of their time on loop control and index arithmetic for four
// codes, so this walks lane pointers: window (ox, c) reads a = row0[2ox*C + c], b = the same one
// pixel right (+C lanes), and c0, d below them (+sX bytes). The same maximum; a row's padding bytes
// are written zero.
function maxPool2x2Lanes<T>(x: usize, N: u32, H: u32, C: u32, OH: u32, OW: u32, sX: u32, y: usize, sY: u32): void {
  const size = <usize>sizeof<T>();
  const lanes = <usize>(16 / size);
  const rowCodes = <usize>OW * C;
  for (let n: u32 = 0; n < N; n++) {
    for (let oy: u32 = 0; oy < OH; oy++) {
      let q = y + <usize>(n * OH + oy) * sY;
      let p = x + <usize>(n * H + 2 * oy) * sX;
      const below = <usize>sX, right = <usize>C * size;
      let ox: u32 = 0;
      if (ASC_FEATURE_SIMD && <usize>C <= lanes) {
        // All C channels of a window in one vector: 16-byte loads and a 16-byte store whose lanes
        // past the window's C are rewritten by the windows after it. Only windows whose loads and
        // store stay inside their rows go this way; the rest of the row is done below.
        for (; <usize>ox * C + lanes <= rowCodes && <usize>(2 * ox + 1) * C + lanes <= 2 * rowCodes; ox++) {
          const a = v128.load(p), b = v128.load(p + right);
          const c0 = v128.load(p + below), d = v128.load(p + below + right);
          if (size == 1) v128.store(q, i8x16.max_s(i8x16.max_s(a, b), i8x16.max_s(c0, d)));
          else v128.store(q, i16x8.max_s(i16x8.max_s(a, b), i16x8.max_s(c0, d)));
          p += 2 * right;
          q += right;
        }
      }
      for (; ox < OW; ox++) {
        for (let c: u32 = 0; c < C; c++) {
          const a = <i32>load<T>(p), b = <i32>load<T>(p + right);
          const c0 = <i32>load<T>(p + below), d = <i32>load<T>(p + below + right);
          store<T>(q, <T>max(max(a, b), max(c0, d)));
          p += size;
          q += size;
        }
        p += right;
      }
      for (let t = rowCodes * size; t < <usize>sY; t++) store<u8>(q++, 0);
    }
  }
}

// maxPoolBackward's scatter for 2x2 windows at stride 2 on 8- or 16-bit codes (T = i8 or i16):
// the dY code goes to the first maximum in scan order (a, b, c0, d), decided without branches on
// the data (each of the four positions tests whether it is that first maximum). Every window
// writes its four codes, so only what no window covers is zeroed: each row's bytes past the last
// window (an odd W, and the row padding) and an odd H's last line.
function maxPoolScatter2x2Lanes<T>(
  x: usize, N: u32, H: u32, C: u32, OH: u32, OW: u32, sX: u32, dy: usize, sDy: u32, dx: usize, sDx: u32,
): void {
  const size = <usize>sizeof<T>();
  const lanes = <usize>(16 / size);
  for (let n: u32 = 0; n < N; n++) {
    for (let oy: u32 = 0; oy < OH; oy++) {
      let g = dy + <usize>(n * OH + oy) * sDy;
      let p = x + <usize>(n * H + 2 * oy) * sX;
      let o = dx + <usize>(n * H + 2 * oy) * sDx;
      const below = <usize>sX, right = <usize>C * size, belowDx = <usize>sDx;
      const rowCodes = <usize>OW * C;
      let ox: u32 = 0;
      if (ASC_FEATURE_SIMD && <usize>C <= lanes) {
        // As in maxPool2x2Lanes: a window's C channels in one vector, stores in the order a, b
        // (each one's lanes past C are rewritten by the next store, the last one's by the next
        // window), only while every load and store stays inside its row.
        for (; <usize>ox * C + lanes <= rowCodes && <usize>(2 * ox + 1) * C + lanes <= 2 * rowCodes; ox++) {
          const a = v128.load(p), b = v128.load(p + right);
          const c0 = v128.load(p + below), d = v128.load(p + below + right);
          const v = v128.load(g);
          let isA: v128, isB: v128, isC: v128;
          if (size == 1) {
            isA = v128.and(v128.and(i8x16.ge_s(a, b), i8x16.ge_s(a, c0)), i8x16.ge_s(a, d));
            isB = v128.and(v128.and(i8x16.gt_s(b, a), i8x16.ge_s(b, c0)), i8x16.ge_s(b, d));
            isC = v128.and(v128.and(i8x16.gt_s(c0, a), i8x16.gt_s(c0, b)), i8x16.ge_s(c0, d));
          } else {
            isA = v128.and(v128.and(i16x8.ge_s(a, b), i16x8.ge_s(a, c0)), i16x8.ge_s(a, d));
            isB = v128.and(v128.and(i16x8.gt_s(b, a), i16x8.ge_s(b, c0)), i16x8.ge_s(b, d));
            isC = v128.and(v128.and(i16x8.gt_s(c0, a), i16x8.gt_s(c0, b)), i16x8.ge_s(c0, d));
          }
          v128.store(o, v128.and(v, isA));
          v128.store(o + right, v128.and(v, isB));
          v128.store(o + belowDx, v128.and(v, isC));
          v128.store(o + belowDx + right, v128.andnot(v, v128.or(v128.or(isA, isB), isC)));
          p += 2 * right;
          o += 2 * right;
          g += right;
        }
      }
      for (; ox < OW; ox++) {
        for (let c: u32 = 0; c < C; c++) {
          const a = <i32>load<T>(p), b = <i32>load<T>(p + right);
          const c0 = <i32>load<T>(p + below), d = <i32>load<T>(p + below + right);
          const v = <i32>load<T>(g);
          const isA = <i32>(a >= b) & <i32>(a >= c0) & <i32>(a >= d);
          const isB = <i32>(b > a) & <i32>(b >= c0) & <i32>(b >= d);
          const isC = <i32>(c0 > a) & <i32>(c0 > b) & <i32>(c0 >= d);
          const isD = 1 - isA - isB - isC;
          store<T>(o, <T>(v & -isA));
          store<T>(o + right, <T>(v & -isB));
          store<T>(o + belowDx, <T>(v & -isC));
          store<T>(o + belowDx + right, <T>(v & -isD));
          p += size;
          o += size;
          g += size;
        }
        p += right;
        o += right;
      }
      memory.fill(o, 0, <usize>sDx - <usize>(2 * OW * C) * size);
      memory.fill(o + belowDx, 0, <usize>sDx - <usize>(2 * OW * C) * size);
    }
    if (H > 2 * OH) memory.fill(dx + <usize>(n * H + 2 * OH) * sDx, 0, <usize>(H - 2 * OH) * sDx);
  }
}

// ---- 2x2 windows at stride 2 at any width: k codes at once ------------------------------------
// Away from 8 bits a code is a field of the row's bit stream, and loadCode/storeCode cost tens of
// cycles each. Here a window position's C channels are taken k at a time as one block of k fields,
// k*bits <= 57, read with one unaligned 8-byte load (at most 7 bits of skew + 57) into the low bits
// of a u64. Fields inside a block do not straddle anything, so comparing and selecting are SWAR on
// the u64: integer operations only, the same code in both builds.

// Channels per block: the fewest blocks a pixel's C channels split into, shared out evenly (the
// last block may be shorter). Returns k; the count of blocks is ceil(C / k).
function blockChannels(C: u32, bits: u32): u32 {
  const most = 57 / bits;
  const blocks = (C + most - 1) / most;
  return (C + blocks - 1) / blocks;
}

// The sign bits of k fields of `bits` bits from bit 0.
function fieldSigns(k: u32, bits: u32): u64 {
  let h: u64 = 0;
  for (let j: u32 = 0; j < k; j++) h |= <u64>1 << (j * bits + bits - 1);
  return h;
}

// Sign bits where a >= c, both signed fields. With equal signs the order is that of the other
// bits: (a | signs) - (c & ~signs) leaves a field's sign bit set exactly when a's other bits are at
// least c's, and never borrows from the field above (its left side is at least 2^(bits-1), its
// right side below). With different signs the non-negative one is larger.
@inline function geSigns(a: u64, c: u64, h: u64): u64 {
  const t = (a | h) - (c & ~h);
  return ((c & ~a) | (~(a ^ c) & t)) & h;
}

// One marked bit per field (its sign position) -> all of that field's bits: a mark at bit t adds
// 2^(t+1) - 2^(t+1-bits), the ones at t+1-bits..t, and the terms are disjoint.
@inline function fieldMasks(marks: u64, down: u64): u64 {
  return (marks << 1) - (marks >> down);
}

@inline function maxFields(a: u64, c: u64, h: u64, down: u64): u64 {
  return c ^ ((a ^ c) & fieldMasks(geSigns(a, c, h), down));
}

// Marks at the sign positions of k fields of `from` bits -> masks of the same k fields at `to`
// bits (for a dY whose width differs from x's).
function relayoutMarks(marks: u64, k: u32, from: u32, to: u32): u64 {
  const field: u64 = (<u64>1 << to) - 1;
  let m: u64 = 0;
  for (let j: u32 = 0; j < k; j++) {
    m |= (field & (<u64>0 - ((marks >> (j * from + from - 1)) & 1))) << (j * to);
  }
  return m;
}

/** Bits [pos, pos + n) (n <= 57) of the packed row at `row`, in the low bits: one unaligned 8-byte
 *  load when those 8 bytes end by `end` (the buffer's end; a row's next bytes are the next row's),
 *  else the row's words that hold them. */
@inline function getBlock(row: usize, pos: u32, n: u32, end: usize): u64 {
  const p = row + (pos >>> 3);
  const m = (<u64>1 << n) - 1;
  if (p + 8 <= end) return (load<u64>(p) >> <u64>(pos & 7)) & m;
  return getBlockWords(row, pos, n) & m;
}

function getBlockWords(row: usize, pos: u32, n: u32): u64 {
  let q = row + (<usize>(pos >>> 5) << 2);
  const s = pos & 31;
  let v = <u64>load<u32>(q) >> s;
  let have: u32 = 32 - s;
  while (have < n) {
    q += 4;
    v |= <u64>load<u32>(q) << have;
    have += 32;
  }
  return v;
}

/** Overwrites bits [pos, pos + n) (n <= 57) of a packed row with v (n bits), as getBlock reads. */
@inline function putBlock(row: usize, pos: u32, n: u32, v: u64, end: usize): void {
  const p = row + (pos >>> 3);
  if (p + 8 <= end) {
    const s = <u64>(pos & 7);
    const m = ((<u64>1 << n) - 1) << s;
    store<u64>(p, (load<u64>(p) & ~m) | (v << s));
    return;
  }
  putBlockWords(row, pos, n, v);
}

function putBlockWords(row: usize, pos: u32, n: u32, v: u64): void {
  let q = row + (<usize>(pos >>> 5) << 2);
  let s = pos & 31;
  let left = n;
  while (left > 0) {
    const take = min(32 - s, left);
    const m = <u32>(((<u64>1 << take) - 1) << s);
    store<u32>(q, (load<u32>(q) & ~m) | (<u32>(v << s) & m));
    v >>= take;
    left -= take;
    q += 4;
    s = 0;
  }
}

// maxPoolForward, 2x2 at stride 2, any width: per output row, window ox's blocks are a (pixel 2ox
// of the top line), b (the next pixel, C*bits further), c and d below; the maxima are appended to
// the output row through a 64-bit buffer.
function maxPool2x2Fields(x: usize, N: u32, H: u32, C: u32, bits: u32, OH: u32, OW: u32, sX: u32, y: usize, sY: u32): void {
  const k = blockChannels(C, bits);
  const blocks = (C + k - 1) / k;
  const n = k * bits, nLast = (C - (blocks - 1) * k) * bits;
  const h = fieldSigns(k, bits), hLast = fieldSigns(C - (blocks - 1) * k, bits);
  const down = <u64>(bits - 1);
  const pixel = C * bits;
  const xEnd = x + <usize>N * H * sX;
  for (let img: u32 = 0; img < N; img++) {
    for (let oy: u32 = 0; oy < OH; oy++) {
      const top = x + <usize>(img * H + 2 * oy) * sX;
      const bottom = top + sX;
      const out = y + <usize>(img * OH + oy) * sY;
      let q = out;
      let buf: u64 = 0;
      let have: u32 = 0;
      let pos: u32 = 0;
      for (let ox: u32 = 0; ox < OW; ox++) {
        for (let blk: u32 = 0; blk < blocks; blk++) {
          const last = blk + 1 == blocks;
          const nb = last ? nLast : n, hb = last ? hLast : h;
          const pa = pos + blk * n, pb = pa + pixel;
          const a = getBlock(top, pa, nb, xEnd), b = getBlock(top, pb, nb, xEnd);
          const c0 = getBlock(bottom, pa, nb, xEnd), d = getBlock(bottom, pb, nb, xEnd);
          const v = maxFields(maxFields(a, b, hb, down), maxFields(c0, d, hb, down), hb, down);
          // Append nb bits; a full 64 are all codes of this row, so the 8-byte store stays in it.
          buf |= v << have;
          if (have + nb >= 64) {
            store<u64>(q, buf);
            q += 8;
            buf = v >> (64 - have); // have > 64 - nb >= 7
            have = have + nb - 64;
          } else {
            have += nb;
          }
        }
        pos += 2 * pixel;
      }
      if (have > 0) store<u32>(q, <u32>buf);
      if (have > 32) store<u32>(q + 4, <u32>(buf >> 32));
      clearTail(out, OW * C * bits, sY);
    }
  }
}

// maxPoolBackward's scatter for 2x2 windows at stride 2, any widths: as maxPoolScatter2x2Lanes,
// every window writes its four positions (dY to the first maximum, zero to the rest), k channels
// at a time; what no window covers is zeroed. The first maximum in scan order a, b, c0, d is
// found by pairs: the top pair's (a unless b is larger), the bottom pair's (c0 unless d is
// larger), then the top one unless the bottom maximum is larger; the same position as
// isFirstMax's rule (earlier positions strictly smaller, later ones not larger) in three
// comparisons instead of six.
function maxPoolScatter2x2Fields(
  x: usize, N: u32, H: u32, C: u32, xBits: u32, OH: u32, OW: u32, sX: u32,
  dy: usize, dyBits: u32, sDy: u32, dx: usize, sDx: u32,
): void {
  const k = blockChannels(C, max(xBits, dyBits));
  const blocks = (C + k - 1) / k;
  const kLast = C - (blocks - 1) * k;
  const h = fieldSigns(k, xBits), hLast = fieldSigns(kLast, xBits);
  const same = xBits == dyBits;
  const down = <u64>(xBits - 1);
  const pixelX = C * xBits, pixelD = C * dyBits;
  const xEnd = x + <usize>N * H * sX, dyEnd = dy + <usize>N * OH * sDy, dxEnd = dx + <usize>N * H * sDx;
  for (let img: u32 = 0; img < N; img++) {
    for (let oy: u32 = 0; oy < OH; oy++) {
      const top = x + <usize>(img * H + 2 * oy) * sX;
      const bottom = top + sX;
      const g = dy + <usize>(img * OH + oy) * sDy;
      const o0 = dx + <usize>(img * H + 2 * oy) * sDx;
      const o1 = o0 + sDx;
      // With one block a pixel, both dX lines are written in order (a, b, a, b, ... above, c0, d,
      // ... below) through 64-bit buffers, the two lines' at the same offsets.
      let buf0: u64 = 0, buf1: u64 = 0;
      let have: u32 = 0;
      let at: usize = 0;
      for (let ox: u32 = 0; ox < OW; ox++) {
        for (let blk: u32 = 0; blk < blocks; blk++) {
          const kb = blk + 1 == blocks ? kLast : k;
          const hb = blk + 1 == blocks ? hLast : h;
          const nx = kb * xBits, nd = kb * dyBits;
          const c = ox * C + blk * k; // the block's first output column; its first input column:
          const cx = 2 * ox * C + blk * k;
          const pa = cx * xBits, pb = pa + pixelX;
          const a = getBlock(top, pa, nx, xEnd), b = getBlock(top, pb, nx, xEnd);
          const c0 = getBlock(bottom, pa, nx, xEnd), d = getBlock(bottom, pb, nx, xEnd);
          const ab = geSigns(a, b, hb), cd = geSigns(c0, d, hb);
          const mAB = fieldMasks(ab, down), mCD = fieldMasks(cd, down);
          const topFirst = geSigns(b ^ ((a ^ b) & mAB), d ^ ((c0 ^ d) & mCD), hb);
          const v = getBlock(g, c * dyBits, nd, dyEnd);
          let vA: u64, vB: u64, vC: u64, vD: u64;
          if (same) {
            const vT = v & fieldMasks(topFirst, down), vBottom = v ^ vT;
            vA = vT & mAB; vB = vT ^ vA;
            vC = vBottom & mCD; vD = vBottom ^ vC;
          } else {
            vA = v & relayoutMarks(topFirst & ab, kb, xBits, dyBits);
            vB = v & relayoutMarks(topFirst & ~ab, kb, xBits, dyBits);
            vC = v & relayoutMarks(~topFirst & cd, kb, xBits, dyBits);
            vD = v & relayoutMarks(hb & ~topFirst & ~cd, kb, xBits, dyBits);
          }
          if (blocks == 1) {
            // A full 64 bits are all codes of their line, so the 8-byte stores stay in it.
            buf0 |= vA << have;
            buf1 |= vC << have;
            if (have + nd >= 64) {
              store<u64>(o0 + at, buf0);
              store<u64>(o1 + at, buf1);
              at += 8;
              buf0 = vA >> (64 - have); // have > 64 - nd >= 7
              buf1 = vC >> (64 - have);
              have = have + nd - 64;
            } else {
              have += nd;
            }
            buf0 |= vB << have;
            buf1 |= vD << have;
            if (have + nd >= 64) {
              store<u64>(o0 + at, buf0);
              store<u64>(o1 + at, buf1);
              at += 8;
              buf0 = vB >> (64 - have);
              buf1 = vD >> (64 - have);
              have = have + nd - 64;
            } else {
              have += nd;
            }
          } else {
            const qa = cx * dyBits, qb = qa + pixelD;
            putBlock(o0, qa, nd, vA, dxEnd);
            putBlock(o0, qb, nd, vB, dxEnd);
            putBlock(o1, qa, nd, vC, dxEnd);
            putBlock(o1, qb, nd, vD, dxEnd);
          }
        }
      }
      if (have > 0) { store<u32>(o0 + at, <u32>buf0); store<u32>(o1 + at, <u32>buf1); }
      if (have > 32) { store<u32>(o0 + at + 4, <u32>(buf0 >> 32)); store<u32>(o1 + at + 4, <u32>(buf1 >> 32)); }
      clearTail(o0, 2 * OW * pixelD, sDx);
      clearTail(o1, 2 * OW * pixelD, sDx);
    }
    if (H > 2 * OH) memory.fill(dx + <usize>(img * H + 2 * OH) * sDx, 0, <usize>(H - 2 * OH) * sDx);
  }
}

/**
 * y = max over each kh x kw window of x (same bits). x: N*H x W*C at `bits`; y: N*OH x OW*C.
 * Returns 0, STATUS_BITS, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE, STATUS_RANGE.
 */
export function maxPoolForward(
  x: usize, N: u32, H: u32, W: u32, C: u32, bits: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, y: usize,
): i32 {
  const bad = checkPool(H, W, bits, kh, kw, sh, sw);
  if (bad != 0) return bad;
  const OH = (H - kh) / sh + 1;
  const OW = (W - kw) / sw + 1;
  if (!poolFits(x, bits, y, bits, N, H, W, C, OH, OW)) return STATUS_RANGE;
  const sX = rowStrideBytes(W * C, bits);
  const sY = rowStrideBytes(OW * C, bits);
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2) {
    if (bits == 8) maxPool2x2Lanes<i8>(x, N, H, C, OH, OW, sX, y, sY);
    else if (bits == 16) maxPool2x2Lanes<i16>(x, N, H, C, OH, OW, sX, y, sY);
    else maxPool2x2Fields(x, N, H, C, bits, OH, OW, sX, y, sY);
    return 0;
  }
  for (let n: u32 = 0; n < N; n++) {
    for (let oy: u32 = 0; oy < OH; oy++) {
      const yRow = y + <usize>(n * OH + oy) * sY;
      const xTop = x + <usize>(n * H + oy * sh) * sX;
      for (let ox: u32 = 0; ox < OW; ox++) {
        for (let c: u32 = 0; c < C; c++) {
          let best: i32 = -0x8000;
          for (let i: u32 = 0; i < kh; i++) {
            const xRow = xTop + <usize>i * sX;
            for (let j: u32 = 0; j < kw; j++) {
              const q = loadCode(xRow, (ox * sw + j) * C + c, bits);
              if (q > best) best = q;
            }
          }
          storeCode(yRow, ox * C + c, bits, best);
        }
      }
      clearTail(yRow, OW * C * bits, sY);
    }
  }
  return 0;
}

/** Whether input (yy, xx) is the FIRST maximum, in row-major scan order, of the window whose top
 *  left corner is (y0, x0), channel c. */
function isFirstMax(
  xImg: usize, sX: u32, C: u32, bits: u32, kh: u32, kw: u32,
  y0: u32, x0: u32, c: u32, yy: u32, xx: u32, v: i32,
): bool {
  for (let i: u32 = 0; i < kh; i++) {
    const xRow = xImg + <usize>(y0 + i) * sX;
    const before = y0 + i < yy;
    for (let j: u32 = 0; j < kw; j++) {
      const q = loadCode(xRow, (x0 + j) * C + c, bits);
      // Earlier positions must be strictly smaller, later ones not larger.
      if (before || (y0 + i == yy && x0 + j < xx)) {
        if (q >= v) return false;
      } else if (q > v) {
        return false;
      }
    }
  }
  return true;
}

/**
 * dX of max pooling. x: the saved pool INPUT (N*H x W*C at xBits); dy: N*OH x OW*C at dyBits;
 * dx: N*H x W*C at dyBits (exponent of dY). Each dY element goes to the FIRST maximal x in its
 * window, scanning the window row by row, left to right (ties: the top-most, then left-most
 * position wins); every other dX element gets nothing. Where windows overlap (stride < kernel) an
 * element sums what it receives, clamped once to +-maxCode(dyBits); the number of clamped dX
 * elements is written as i32 to `stats`.
 * Returns 0, STATUS_BITS, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE, STATUS_RANGE.
 */
export function maxPoolBackward(
  x: usize, N: u32, H: u32, W: u32, C: u32, xBits: u32,
  kh: u32, kw: u32, sh: u32, sw: u32,
  dy: usize, dyBits: u32, dx: usize, stats: usize,
): i32 {
  const bad = checkPool(H, W, xBits, kh, kw, sh, sw);
  if (bad != 0) return bad;
  if (!validBits(dyBits)) return STATUS_BITS;
  const OH = (H - kh) / sh + 1;
  const OW = (W - kw) / sw + 1;
  if (
    !poolFits(x, xBits, dy, dyBits, N, H, W, C, OH, OW) || !packedFits(dx, <f64>N * <f64>H, <f64>W * <f64>C, dyBits) ||
    !arrayFits(stats, 1, 4)
  ) return STATUS_RANGE;
  const sX = rowStrideBytes(W * C, xBits);
  const sDy = rowStrideBytes(OW * C, dyBits);
  const sDx = rowStrideBytes(W * C, dyBits);
  let saturated: i32 = 0;
  if (sh >= kh && sw >= kw) {
    // Disjoint windows: each dX element receives at most one dY element; scatter.
    if (kh == 2 && kw == 2 && sh == 2 && sw == 2) {
      // (Without SIMD the byte loop is slower than the SWAR blocks; the halfword loop is not.)
      if (xBits == dyBits && (xBits == 16 || (ASC_FEATURE_SIMD && xBits == 8))) {
        if (xBits == 8) maxPoolScatter2x2Lanes<i8>(x, N, H, C, OH, OW, sX, dy, sDy, dx, sDx);
        else maxPoolScatter2x2Lanes<i16>(x, N, H, C, OH, OW, sX, dy, sDy, dx, sDx);
      } else maxPoolScatter2x2Fields(x, N, H, C, xBits, OH, OW, sX, dy, dyBits, sDy, dx, sDx);
      store<i32>(stats, 0);
      return 0;
    }
    memory.fill(dx, 0, <usize>N * H * sDx);
    for (let n: u32 = 0; n < N; n++) {
      for (let oy: u32 = 0; oy < OH; oy++) {
        const dyRow = dy + <usize>(n * OH + oy) * sDy;
        const top = n * H + oy * sh;
        for (let ox: u32 = 0; ox < OW; ox++) {
          for (let c: u32 = 0; c < C; c++) {
            let best: i32 = -0x8000;
            let bi: u32 = 0;
            let bj: u32 = 0;
            for (let i: u32 = 0; i < kh; i++) {
              const xRow = x + <usize>(top + i) * sX;
              for (let j: u32 = 0; j < kw; j++) {
                const q = loadCode(xRow, (ox * sw + j) * C + c, xBits);
                if (q > best) { best = q; bi = i; bj = j; }
              }
            }
            storeCode(dx + <usize>(top + bi) * sDx, (ox * sw + bj) * C + c, dyBits,
              loadCode(dyRow, ox * C + c, dyBits));
          }
        }
      }
    }
  } else {
    const limit = maxCode(dyBits);
    for (let n: u32 = 0; n < N; n++) {
      const xImg = x + <usize>(n * H) * sX;
      for (let yy: u32 = 0; yy < H; yy++) {
        const dxRow = dx + <usize>(n * H + yy) * sDx;
        const xRow = xImg + <usize>yy * sX;
        const oy0 = firstWindow(yy, kh, sh);
        const oy1 = lastWindow(yy, sh, OH);
        for (let xx: u32 = 0; xx < W; xx++) {
          const ox0 = firstWindow(xx, kw, sw);
          const ox1 = lastWindow(xx, sw, OW);
          for (let c: u32 = 0; c < C; c++) {
            const v = loadCode(xRow, xx * C + c, xBits);
            let sum: i32 = 0;
            for (let oy = oy0; oy <= oy1; oy++) {
              const dyRow = dy + <usize>(n * OH + oy) * sDy;
              for (let ox = ox0; ox <= ox1; ox++) {
                if (isFirstMax(xImg, sX, C, xBits, kh, kw, oy * sh, ox * sw, c, yy, xx, v)) {
                  sum += loadCode(dyRow, ox * C + c, dyBits);
                }
              }
            }
            if (sum > limit) { sum = limit; saturated++; }
            else if (sum < -limit) { sum = -limit; saturated++; }
            storeCode(dxRow, xx * C + c, dyBits, sum);
          }
        }
        clearTail(dxRow, W * C * dyBits, sDx);
      }
    }
  }
  store<i32>(stats, saturated);
  return 0;
}

/**
 * y = round(sum of each kh x kw window of x / (kh*kw)) at the same bits and exponent; RNE or SR
 * (draw index = flat output index). |y| <= maxCode, so nothing clamps.
 * Returns 0, STATUS_BITS, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE, STATUS_MODE, STATUS_RANGE.
 */
export function avgPoolForward(
  x: usize, N: u32, H: u32, W: u32, C: u32, bits: u32,
  kh: u32, kw: u32, sh: u32, sw: u32,
  mode: u32, seed: u32, step: u32, stream: u32, y: usize,
): i32 {
  const bad = checkPool(H, W, bits, kh, kw, sh, sw);
  if (bad != 0) return bad;
  if (mode > ROUND_RNE) return STATUS_MODE;
  const OH = (H - kh) / sh + 1;
  const OW = (W - kw) / sw + 1;
  if (!poolFits(x, bits, y, bits, N, H, W, C, OH, OW)) return STATUS_RANGE;
  const sX = rowStrideBytes(W * C, bits);
  const sY = rowStrideBytes(OW * C, bits);
  const k = kh * kw;
  const key = randomKey(seed, step, stream);
  for (let n: u32 = 0; n < N; n++) {
    for (let oy: u32 = 0; oy < OH; oy++) {
      const yRow = y + <usize>(n * OH + oy) * sY;
      const xTop = x + <usize>(n * H + oy * sh) * sX;
      const base = <u64>(n * OH + oy) * <u64>(OW * C);
      for (let ox: u32 = 0; ox < OW; ox++) {
        for (let c: u32 = 0; c < C; c++) {
          let sum: i64 = 0;
          for (let i: u32 = 0; i < kh; i++) {
            const xRow = xTop + <usize>i * sX;
            for (let j: u32 = 0; j < kw; j++) sum += loadCode(xRow, (ox * sw + j) * C + c, bits);
          }
          const col = ox * C + c;
          storeCode(yRow, col, bits, <i32>roundDiv(sum, k, mode, key, base + col));
        }
      }
      clearTail(yRow, OW * C * bits, sY);
    }
  }
  return 0;
}

/**
 * dX of average pooling: dx(y, x) = round(sum of dY over the windows containing (y, x) / (kh*kw)),
 * rounded once (RNE or SR; draw index = flat dX index); 0 where no window reaches. At most kh*kw
 * windows contain a point, so |dx| <= maxCode: nothing clamps.
 * dy: N*OH x OW*C at `bits`; dx: N*H x W*C at `bits`, exponent of dY.
 * Returns 0, STATUS_BITS, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE, STATUS_MODE, STATUS_RANGE.
 */
export function avgPoolBackward(
  dy: usize, N: u32, H: u32, W: u32, C: u32, bits: u32,
  kh: u32, kw: u32, sh: u32, sw: u32,
  mode: u32, seed: u32, step: u32, stream: u32, dx: usize,
): i32 {
  const bad = checkPool(H, W, bits, kh, kw, sh, sw);
  if (bad != 0) return bad;
  if (mode > ROUND_RNE) return STATUS_MODE;
  const OH = (H - kh) / sh + 1;
  const OW = (W - kw) / sw + 1;
  if (!poolFits(dx, bits, dy, bits, N, H, W, C, OH, OW)) return STATUS_RANGE;
  const sDy = rowStrideBytes(OW * C, bits);
  const sDx = rowStrideBytes(W * C, bits);
  const k = kh * kw;
  const key = randomKey(seed, step, stream);
  for (let n: u32 = 0; n < N; n++) {
    for (let yy: u32 = 0; yy < H; yy++) {
      const dxRow = dx + <usize>(n * H + yy) * sDx;
      const base = <u64>(n * H + yy) * <u64>(W * C);
      const oy0 = firstWindow(yy, kh, sh);
      const oy1 = lastWindow(yy, sh, OH);
      for (let xx: u32 = 0; xx < W; xx++) {
        const ox0 = firstWindow(xx, kw, sw);
        const ox1 = lastWindow(xx, sw, OW);
        for (let c: u32 = 0; c < C; c++) {
          let sum: i64 = 0;
          for (let oy = oy0; oy <= oy1; oy++) {
            const dyRow = dy + <usize>(n * OH + oy) * sDy;
            for (let ox = ox0; ox <= ox1; ox++) sum += loadCode(dyRow, ox * C + c, bits);
          }
          const col = xx * C + c;
          storeCode(dxRow, col, bits, <i32>roundDiv(sum, k, mode, key, base + col));
        }
      }
      clearTail(dxRow, W * C * bits, sDx);
    }
  }
  return 0;
}
