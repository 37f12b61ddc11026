// Operand views: how a GEMM operand's rows are found in memory. A view is a descriptor of i32
// fields (docs/abi.md) describing a virtual row-major matrix `rows x cols` whose rows are decoded
// on demand, a segment at a time, by the GEMM's packing step. This is where convolution becomes
// GEMM without an im2col buffer: the IM2COL view decodes a patch row straight from the activation
// tensor's packed lines.
//
// Activation tensors are NHWC, stored as a packed matrix of N*H lines of W*C codes (x-major,
// channel fastest), so the KW*C codes that one kernel row of a patch needs are one contiguous run
// of a line: one decodeRow call per kernel row, not one per element.

import { decodeRow, rowStrideBytes } from "./packed";
import { MAX_ROW_BITS } from "./extents";
import {
  VIEW_BYTES, V_KIND, V_BASE, V_BITS, V_ROWS, V_COLS, V_STRIDE, V_N, V_H, V_W, V_C, V_KH, V_KW, V_SH, V_SW, V_PH, V_PW,
  V_DH, V_DW, V_OH, V_OW, VIEW_KIND_PLAIN, VIEW_KIND_IM2COL, VIEW_KIND_WFLIP,
} from "../src/runtime/abi-layout";
import { MIN_BITS, MAX_BITS } from "../src/format/codes";

// The descriptor's fields are named in src/runtime/abi-layout.ts, the layout the host writes.
// WFLIP (the weights of conv backward-data) reuses IM2COL fields: V_N = Cout, V_C = Cin, V_KH, V_KW.

@inline export function field(v: usize, f: i32): i32 {
  return load<i32>(v + (<usize>f << 2));
}
@inline function setField(v: usize, f: i32, x: i32): void {
  store<i32>(v + (<usize>f << 2), x);
}

// The longest stored row (line) a view may have: MAX_ROW_BITS (assembly/extents.ts).

/**
 * Whether a view's stored row is too long for the u32 stride arithmetic (2^32 - 32 bits). Computed in
 * f64 from the i32 fields: the products of up to three of them exceed u64 but never lose the
 * comparison (below 2^53 they are exact, above it they are far past the limit). Call before
 * viewPrepare, which would otherwise compute the stride in wrapping u32.
 */
export function viewRowTooLong(v: usize): bool {
  const kind = field(v, V_KIND), bits = <f64>field(v, V_BITS);
  let codes: f64 = 0;
  if (kind == VIEW_KIND_PLAIN) codes = <f64>field(v, V_COLS);
  else if (kind == VIEW_KIND_IM2COL) codes = <f64>field(v, V_W) * <f64>field(v, V_C);
  else if (kind == VIEW_KIND_WFLIP) codes = <f64>field(v, V_KH) * <f64>field(v, V_KW) * <f64>field(v, V_C);
  return codes * bits > MAX_ROW_BITS;
}

/** Validates a view and fills V_STRIDE; returns false when it is inconsistent. */
export function viewPrepare(v: usize): bool {
  if (viewRowTooLong(v)) return false;
  const kind = field(v, V_KIND), bits = field(v, V_BITS);
  if (bits < MIN_BITS || bits > MAX_BITS) return false;
  const rows = field(v, V_ROWS), cols = field(v, V_COLS);
  if (rows < 0 || cols < 0) return false;
  if (kind == VIEW_KIND_PLAIN) {
    setField(v, V_STRIDE, <i32>rowStrideBytes(<u32>cols, <u32>bits));
    return true;
  }
  if (kind == VIEW_KIND_IM2COL) {
    const n = field(v, V_N), h = field(v, V_H), w = field(v, V_W), c = field(v, V_C);
    const kh = field(v, V_KH), kw = field(v, V_KW), sh = field(v, V_SH), sw = field(v, V_SW);
    const dh = field(v, V_DH), dw = field(v, V_DW), oh = field(v, V_OH), ow = field(v, V_OW);
    if (n < 0 || h <= 0 || w <= 0 || c <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0) return false;
    if (oh < 0 || ow < 0) return false;
    // f64: exact below 2^53, and a larger product cannot equal an i32 (an i64 product could wrap to one).
    if (<f64>rows != <f64>n * <f64>oh * <f64>ow || <f64>cols != <f64>kh * <f64>kw * <f64>c) return false;
    setField(v, V_STRIDE, <i32>rowStrideBytes(<u32>(w * c), <u32>bits));
    return true;
  }
  if (kind == VIEW_KIND_WFLIP) {
    const co = field(v, V_N), ci = field(v, V_C), kh = field(v, V_KH), kw = field(v, V_KW);
    if (co <= 0 || ci <= 0 || kh <= 0 || kw <= 0) return false;
    if (<f64>rows != <f64>kh * <f64>kw * <f64>co || cols != ci) return false;
    setField(v, V_STRIDE, <i32>rowStrideBytes(<u32>(kh * kw * ci), <u32>bits));
    return true;
  }
  return false;
}

/** Byte length of the packed data a prepared view reads or writes, in f64 (N * H * stride can
 *  pass 2^64; the value is exact wherever it could still fit a wasm32 memory). */
export function viewDataBytes(v: usize): f64 {
  const kind = field(v, V_KIND);
  const stride = <f64>field(v, V_STRIDE);
  if (kind == VIEW_KIND_PLAIN) return <f64>field(v, V_ROWS) * stride;
  if (kind == VIEW_KIND_IM2COL) return <f64>field(v, V_N) * <f64>field(v, V_H) * stride;
  return <f64>field(v, V_N) * stride;
}

/** Decodes virtual elements [c0, c0+count) of virtual row r into i16 at dst. */
export function viewDecode(v: usize, r: u32, c0: u32, count: u32, dst: usize): void {
  const kind = field(v, V_KIND);
  const base = <usize>field(v, V_BASE), bits = <u32>field(v, V_BITS), stride = <usize>field(v, V_STRIDE);
  if (kind == VIEW_KIND_PLAIN) {
    decodeRow(base + <usize>r * stride, c0, count, bits, dst);
  } else if (kind == VIEW_KIND_IM2COL) {
    im2colDecode(v, base, bits, stride, r, c0, count, dst);
  } else {
    const ci = <u32>field(v, V_C), kh = <u32>field(v, V_KH), kw = <u32>field(v, V_KW), co = <u32>field(v, V_N);
    const tap = r / co, out = r % co;
    const ky = tap / kw, kx = tap % kw;
    const flipped = (kh - 1 - ky) * kw + (kw - 1 - kx);
    decodeRow(base + <usize>out * stride, flipped * ci + c0, count, bits, dst);
  }
}

function im2colDecode(v: usize, base: usize, bits: u32, stride: usize, r: u32, c0: u32, count: u32, dst: usize): void {
  const h = field(v, V_H), w = field(v, V_W), c = field(v, V_C);
  const kw = field(v, V_KW), sh = field(v, V_SH), sw = field(v, V_SW);
  const ph = field(v, V_PH), pw = field(v, V_PW), dh = field(v, V_DH), dw = field(v, V_DW);
  const oh = <u32>field(v, V_OH), ow = <u32>field(v, V_OW);
  const plane = oh * ow;
  const n = r / plane, rem = r % plane;
  const oy = <i32>(rem / ow), ox = <i32>(rem % ow);
  const seg = <u32>(kw * c);
  const end = c0 + count;
  let t = c0;
  while (t < end) {
    const ky = <i32>(t / seg);
    const segEnd = min(end, <u32>(ky + 1) * seg);
    const out = dst + (<usize>(t - c0) << 1);
    const runLen = segEnd - t;
    // Position in the (dilated, padded) input of this kernel row.
    const vy = oy * sh + ky - ph;
    let iy = -1;
    if (vy >= 0 && vy % dh == 0) iy = vy / dh;
    if (iy < 0 || iy >= h) {
      memory.fill(out, 0, <usize>runLen << 1);
    } else {
      const line = base + <usize>(<u32>n * <u32>h + <u32>iy) * stride;
      const e0 = <i32>(t - <u32>ky * seg); // offset inside the kernel row: kx*C + ch
      if (dw == 1) {
        // Contiguous in the line: line column = (ox*sw - pw)*C + e, valid inside [0, W*C).
        const shift = (ox * sw - pw) * c;
        const lo = max(e0, -shift), hi = min(e0 + <i32>runLen, w * c - shift);
        if (hi <= lo) {
          memory.fill(out, 0, <usize>runLen << 1);
        } else {
          if (lo > e0) memory.fill(out, 0, <usize>(lo - e0) << 1);
          decodeRow(line, <u32>(lo + shift), <u32>(hi - lo), bits, out + (<usize>(lo - e0) << 1));
          if (hi < e0 + <i32>runLen) memory.fill(out + (<usize>(hi - e0) << 1), 0, <usize>(e0 + <i32>runLen - hi) << 1);
        }
      } else {
        for (let e = e0; e < e0 + <i32>runLen; e++) {
          const kx = e / c, ch = e % c;
          const vx = ox * sw + kx - pw;
          const o = out + (<usize>(e - e0) << 1);
          if (vx < 0 || vx % dw != 0 || vx / dw >= w) {
            store<i16>(o, 0);
          } else {
            decodeRow(line, <u32>((vx / dw) * c + ch), 1, bits, o);
          }
        }
      }
    }
    t = segEnd;
  }
}

/** Output views are the tensor itself: 1x1 (row (n, y, x), col c) or whole-image (row n, col
 *  (y, x, c): a flattened tensor), both with unit stride, no padding, no dilation. */
export function viewWritable(v: usize): bool {
  if (field(v, V_KIND) == VIEW_KIND_PLAIN) return true;
  if (field(v, V_KIND) != VIEW_KIND_IM2COL) return false;
  if (field(v, V_SH) != 1 || field(v, V_SW) != 1 || field(v, V_PH) != 0 || field(v, V_PW) != 0 ||
      field(v, V_DH) != 1 || field(v, V_DW) != 1) return false;
  const pointwise = field(v, V_KH) == 1 && field(v, V_KW) == 1 && field(v, V_OH) == field(v, V_H) && field(v, V_OW) == field(v, V_W);
  const whole = field(v, V_KH) == field(v, V_H) && field(v, V_KW) == field(v, V_W) && field(v, V_OH) == 1 && field(v, V_OW) == 1;
  return pointwise || whole;
}

/** Where virtual element (r, col) of a writable view lives: stores its packed row's address at
 *  `rowOut` and returns the column within that row. */
@inline export function viewLocate(v: usize, r: u32, col: u32, rowOut: usize): u32 {
  const base = <usize>field(v, V_BASE), stride = <usize>field(v, V_STRIDE);
  if (field(v, V_KIND) == VIEW_KIND_PLAIN) {
    store<usize>(rowOut, base + <usize>r * stride);
    return col;
  }
  const c = <u32>field(v, V_C), w = <u32>field(v, V_W);
  if (field(v, V_KH) == 1 && field(v, V_KW) == 1) {
    // Row (n, y, x) is line n*H + y = r / W; the column is x*C + c.
    store<usize>(rowOut, base + <usize>(r / w) * stride);
    return (r % w) * c + col;
  }
  // Whole-image view: row n, column (y, x, c).
  const lineLen = w * c, h = <u32>field(v, V_H);
  store<usize>(rowOut, base + <usize>(r * h + col / lineLen) * stride);
  return col % lineLen;
}

// ---------------------------------------------------------------------------------------------
// Rectangle decoding: many virtual rows at once, for the GEMM's packing step. A packing block reads
// tens to hundreds of consecutive virtual rows; decoding them one viewDecode at a time pays the
// view's index arithmetic (divisions) per row and a decodeRow call per kernel row of each patch
// (5 codes for a 5x5 single-channel conv). Here consecutive rows are walked incrementally, runs that
// are contiguous in the packed tensor are decoded in one call, and IM2COL patches are assembled
// from a small cache of decoded, zero-padded input lines, so each input line is decoded once per
// block instead of once per (patch, kernel row).

// Copies n i16 (non-overlapping ranges); touches only [dst, dst + 2n) and [src, src + 2n).
@inline export function copyI16(dst: usize, src: usize, n: u32): void {
  const bytes = <usize>n << 1;
  if (bytes >= 16) {
    if (ASC_FEATURE_SIMD) {
      let o: usize = 0;
      for (; o + 16 <= bytes; o += 16) v128.store(dst + o, v128.load(src + o));
      if (o < bytes) v128.store(dst + bytes - 16, v128.load(src + bytes - 16));
    } else {
      let o: usize = 0;
      for (; o + 8 <= bytes; o += 8) store<u64>(dst + o, load<u64>(src + o));
      if (o < bytes) store<u64>(dst + bytes - 8, load<u64>(src + bytes - 8));
    }
  } else if (bytes >= 8) {
    const x = load<u64>(src), y = load<u64>(src + bytes - 8);
    store<u64>(dst, x);
    store<u64>(dst + bytes - 8, y);
  } else if (bytes >= 4) {
    const x = load<u32>(src), y = load<u32>(src + bytes - 4);
    store<u32>(dst, x);
    store<u32>(dst + bytes - 4, y);
  } else if (bytes == 2) {
    store<u16>(dst, load<u16>(src));
  }
}

// `count` runs of n i16 (non-overlapping), run j from src + j*srcStep to dst + j*dstStep; with
// spill, a run of 8 to 15 bytes may be written as 16 (bytes past it are the caller's to rewrite).
@inline function copyRuns(dst: usize, dstStep: usize, src: usize, srcStep: usize, count: u32, n: u32, spill: bool): void {
  const bytes = <usize>n << 1;
  if (bytes >= 16) {
    for (let j: u32 = 0; j < count; j++) { copyI16(dst, src, n); dst += dstStep; src += srcStep; }
  } else if (bytes >= 8) {
    if (ASC_FEATURE_SIMD && spill) {
      for (let j: u32 = 0; j < count; j++) { v128.store(dst, v128.load(src)); dst += dstStep; src += srcStep; }
    } else {
      const tail = bytes - 8;
      for (let j: u32 = 0; j < count; j++) {
        const x = load<u64>(src), y = load<u64>(src + tail);
        store<u64>(dst, x);
        store<u64>(dst + tail, y);
        dst += dstStep; src += srcStep;
      }
    }
  } else if (bytes >= 4) {
    const tail = bytes - 4;
    for (let j: u32 = 0; j < count; j++) {
      const x = load<u32>(src), y = load<u32>(src + tail);
      store<u32>(dst, x);
      store<u32>(dst + tail, y);
      dst += dstStep; src += srcStep;
    }
  } else if (bytes == 2) {
    for (let j: u32 = 0; j < count; j++) { store<u16>(dst, load<u16>(src)); dst += dstStep; src += srcStep; }
  }
}

// Decodes like packed.ts decodeRow, 16 codes per 16-byte load for the widths 3..7 that decodeRow
// takes 8 at a time (its i32 lanes): a code of at most 7 bits starting at bit s of a byte lies in
// that byte and the next, so each i16 lane gathers its code's two bytes (a swizzle), a multiply
// by 2^(16 - bits - s) moves the code to the lane's top bits and an arithmetic shift brings it
// back sign-extended. 16 codes are exactly 2*bits bytes, so every load has the same layout; the
// last of the 16 codes ends in byte 14 at the latest (bit 7 + 15*7 + 7 = 119). Loads stay inside
// the 32-bit words that hold the requested codes, as decodeRow's do. When at most 16 codes are
// left, the last 16 are decoded from the 16 bytes that end with those words (the same values
// again where they overlap), if their first code starts inside them; else the rest goes to
// decodeRow.
// (A candidate for packed.ts, whose row decoder this is.)
function decodeRun(row: usize, col0: u32, count: u32, bits: u32, dst: usize): void {
  let j: u32 = 0;
  if (ASC_FEATURE_SIMD && bits < 8 && count >= 16 && !(bits == 4 && (col0 & 1) == 0) && !(bits == 2 && (col0 & 3) == 0)) {
    const start = <usize>col0 * bits;
    let p = row + (start >>> 3);
    const limit = row + <usize>(((<u64>(col0 + count) * bits + 31) >>> 5) << 2);
    const r0 = <u32>(start & 7);
    if (runBits != bits || runR0 != r0) {
      runLayout(bits, r0);
      runBits = bits; runR0 = r0;
      runIdxLo0 = layIdxLo0; runIdxLo1 = layIdxLo1; runIdxHi0 = layIdxHi0; runIdxHi1 = layIdxHi1;
      runMulLo0 = layMulLo0; runMulLo1 = layMulLo1; runMulHi0 = layMulHi0; runMulHi1 = layMulHi1;
    }
    const down = 16 - bits;
    const step = <usize>bits << 1;
    {
      const idxLo = i64x2(runIdxLo0, runIdxLo1), idxHi = i64x2(runIdxHi0, runIdxHi1);
      const mulLo = i64x2(runMulLo0, runMulLo1), mulHi = i64x2(runMulHi0, runMulHi1);
      for (; j + 16 <= count && p + 16 <= limit; j += 16) {
        const x = v128.load(p);
        const out = dst + (<usize>j << 1);
        v128.store(out, i16x8.shr_s(i16x8.mul(i8x16.swizzle(x, idxLo), mulLo), down));
        v128.store(out, i16x8.shr_s(i16x8.mul(i8x16.swizzle(x, idxHi), mulHi), down), 16);
        p += step;
      }
    }
    if (j < count && count - j <= 16 && limit - row >= 16) {
      // Codes count-16 .. count-1 from the 16 bytes ending at `limit`: code count-16 starts at bit
      // o of them, o >= 0 when the words' padding after the last code is at most 128 - 16*bits.
      const first = (<i64>(col0 + count - 16) * bits) - (<i64>(limit - row - 16) << 3);
      if (first >= 0) {
        const o = <u32>first;
        if (tailBits != bits || tailO != o) {
          runLayout(bits, o);
          tailBits = bits; tailO = o;
          tailIdxLo0 = layIdxLo0; tailIdxLo1 = layIdxLo1; tailIdxHi0 = layIdxHi0; tailIdxHi1 = layIdxHi1;
          tailMulLo0 = layMulLo0; tailMulLo1 = layMulLo1; tailMulHi0 = layMulHi0; tailMulHi1 = layMulHi1;
        }
        const x = v128.load(limit - 16);
        const out = dst + (<usize>(count - 16) << 1);
        v128.store(out, i16x8.shr_s(i16x8.mul(i8x16.swizzle(x, i64x2(tailIdxLo0, tailIdxLo1)), i64x2(tailMulLo0, tailMulLo1)), down));
        v128.store(out, i16x8.shr_s(i16x8.mul(i8x16.swizzle(x, i64x2(tailIdxHi0, tailIdxHi1)), i64x2(tailMulHi0, tailMulHi1)), down), 16);
        return;
      }
    }
  }
  decodeRow(row, col0 + j, count - j, bits, dst + (<usize>j << 1));
}

// decodeRun's swizzles and multipliers, for the last (bits, first bit offset) of its main loop
// (run*) and of its last 16 codes (tail*): lane t of the low half holds code t, at bit offset
// o = first + t*bits of the load, bytes o>>3 and (o>>3)+1 (as the i16 (o>>3)*257 + 256),
// multiplier 2^(16 - bits - (o&7)); the high half codes 8..15. runLayout computes them into lay*.
// (Kept as i64 halves: a v128 global would not compile in the scalar build.)
let runBits: u32 = 0, runR0: u32 = 0, tailBits: u32 = 0, tailO: u32 = 0;
let runIdxLo0: i64 = 0, runIdxLo1: i64 = 0, runIdxHi0: i64 = 0, runIdxHi1: i64 = 0;
let runMulLo0: i64 = 0, runMulLo1: i64 = 0, runMulHi0: i64 = 0, runMulHi1: i64 = 0;
let tailIdxLo0: i64 = 0, tailIdxLo1: i64 = 0, tailIdxHi0: i64 = 0, tailIdxHi1: i64 = 0;
let tailMulLo0: i64 = 0, tailMulLo1: i64 = 0, tailMulHi0: i64 = 0, tailMulHi1: i64 = 0;
let layIdxLo0: i64 = 0, layIdxLo1: i64 = 0, layIdxHi0: i64 = 0, layIdxHi1: i64 = 0;
let layMulLo0: i64 = 0, layMulLo1: i64 = 0, layMulHi0: i64 = 0, layMulHi1: i64 = 0;
function runLayout(bits: u32, first: u32): void {
  if (!ASC_FEATURE_SIMD) return;
  const oLo = i16x8.add(i16x8.splat(<i16>first), i16x8.mul(i16x8(0, 1, 2, 3, 4, 5, 6, 7), i16x8.splat(<i16>bits)));
  const oHi = i16x8.add(oLo, i16x8.splat(<i16>(8 * bits)));
  const idxLo = i16x8.add(i16x8.mul(i16x8.shr_u(oLo, 3), i16x8.splat(257)), i16x8.splat(256));
  const idxHi = i16x8.add(i16x8.mul(i16x8.shr_u(oHi, 3), i16x8.splat(257)), i16x8.splat(256));
  const mulLo = powersOfTwo(i16x8.sub(i16x8.splat(<i16>(16 - bits)), v128.and(oLo, i16x8.splat(7))));
  const mulHi = powersOfTwo(i16x8.sub(i16x8.splat(<i16>(16 - bits)), v128.and(oHi, i16x8.splat(7))));
  layIdxLo0 = i64x2.extract_lane(idxLo, 0); layIdxLo1 = i64x2.extract_lane(idxLo, 1);
  layIdxHi0 = i64x2.extract_lane(idxHi, 0); layIdxHi1 = i64x2.extract_lane(idxHi, 1);
  layMulLo0 = i64x2.extract_lane(mulLo, 0); layMulLo1 = i64x2.extract_lane(mulLo, 1);
  layMulHi0 = i64x2.extract_lane(mulHi, 0); layMulHi1 = i64x2.extract_lane(mulHi, 1);
}

// 2^e in each i16 lane, for exponents e in 0..14 (through the exponent field of an f32: wasm SIMD
// has no per-lane shifts).
@inline function powersOfTwo(e: v128): v128 {
  const lo = i32x4.extend_low_i16x8_s(e), hi = i32x4.extend_high_i16x8_s(e);
  const bias = i32x4.splat(127);
  const pLo = i32x4.trunc_sat_f32x4_s(i32x4.shl(i32x4.add(lo, bias), 23));
  const pHi = i32x4.trunc_sat_f32x4_s(i32x4.shl(i32x4.add(hi, bias), 23));
  return i16x8.narrow_i32x4_s(pLo, pHi);
}

// The line cache of one IM2COL view (at most one per GEMM call). A cached line is one input line
// (n, iy) as seen by the patches: Lx = (OW-1)*SW + KW virtual x positions, C codes each, with the
// zero padding and the input dilation already applied, so kernel row ky of patch (n, oy, ox) is the
// contiguous run [ox*SW*C, ox*SW*C + KW*C) of line (n, oy*SH + ky - PH). Lines are direct-mapped by
// g = n*Hv + oy*SH + ky into a power-of-two number of slots, tagged with g.
let lcView: usize = 0;
let lcData: usize = 0, lcTags: usize = 0, lcZero: usize = 0;
let lcMask: u32 = 0, lcLineBytes: usize = 0, lcHv: u32 = 0, lcLx: u32 = 0;
// The view's PH, DH and H, for telling padding and dilation rows (the zero line) from input lines.
let lcPh: i32 = 0, lcDh: i32 = 1, lcH: i32 = 0;
const LINE_PTRS: u32 = 32;
/** When non-zero, viewDecodeRect stores there, per decoded row (u32), a mask of the kernel rows ky
 *  whose codes all came from a zero line (padding, or a row that input dilation skips): bit ky set
 *  means virtual columns [ky*KW*C, (ky+1)*KW*C) of that row are zero. Only IM2COL rows decoded
 *  through the line cache with KH <= 32 report bits; every other row gets 0 (nothing known). */
export let rectZeroMasks: usize = 0;
export function setRectZeroMasks(at: usize): void { rectZeroMasks = at; }
// The line pointers of the current output row (LINE_PTRS usize), kept in the cache's region (no
// static buffers: the module's data size is part of every memory plan).
let linePtrs: usize = 0;

/** Whether an IM2COL view reads its patches contiguously from its tensor without a line cache:
 *  the 1x1 tensor view and the whole-image view (no padding, dilation or stride effects). */
function im2colSimpleKind(v: usize): i32 {
  if (field(v, V_SH) != 1 || field(v, V_SW) != 1 || field(v, V_PH) != 0 || field(v, V_PW) != 0 ||
      field(v, V_DH) != 1 || field(v, V_DW) != 1) return 0;
  if (field(v, V_KH) == 1 && field(v, V_KW) == 1 && field(v, V_OH) == field(v, V_H) && field(v, V_OW) == field(v, V_W)) return 1;
  if (field(v, V_KH) == field(v, V_H) && field(v, V_KW) == field(v, V_W) && field(v, V_OH) == 1 && field(v, V_OW) == 1) return 2;
  return 0;
}

/** Bytes a line cache for prepared view v needs with `slots` slots (0 when v needs none). */
export function viewCacheBytes(v: usize, slots: u32): usize {
  if (field(v, V_KIND) != VIEW_KIND_IM2COL || im2colSimpleKind(v) != 0) return 0;
  if (field(v, V_OW) <= 0 || field(v, V_OH) <= 0) return 0;
  const lx = <u64>(field(v, V_OW) - 1) * <u64>field(v, V_SW) + <u64>field(v, V_KW);
  const lineBytes = (lx * <u64>field(v, V_C) * 2 + 15) & ~(<u64>15);
  // Tags are u32 line numbers n*Hv + t below the 0xffffffff that marks an empty slot.
  const hv = <u64>(field(v, V_OH) - 1) * <u64>field(v, V_SH) + <u64>field(v, V_KH);
  if (lineBytes > 0x10000000 || <u64>field(v, V_N) * hv >= 0xffffffff) return 0;
  // + 16 for aligning the start, + 32 so that 16-byte reads of a run may run past a line's end,
  // + the line pointer table.
  const total = (<u64>slots + 1) * lineBytes + <u64>slots * 4 + 48 + LINE_PTRS * 4;
  return total > 0x40000000 ? 0 : <usize>total;
}

/** Binds a line cache for v in [at, at + bytes) (bytes from viewCacheBytes); 0 bytes unbinds. */
export function viewCacheBind(v: usize, at: usize, slots: u32, bytes: usize): void {
  if (bytes == 0 || slots == 0) { lcView = 0; return; }
  lcView = v;
  lcLx = <u32>((field(v, V_OW) - 1) * field(v, V_SW) + field(v, V_KW));
  lcLineBytes = (<usize>lcLx * <usize>field(v, V_C) * 2 + 15) & ~(<usize>15);
  lcHv = <u32>((field(v, V_OH) - 1) * field(v, V_SH) + field(v, V_KH));
  lcPh = field(v, V_PH);
  lcDh = field(v, V_DH);
  lcH = field(v, V_H);
  lcMask = slots - 1;
  lcZero = (at + 15) & ~(<usize>15);
  lcData = lcZero + lcLineBytes;
  lcTags = lcData + <usize>slots * lcLineBytes;
  linePtrs = lcTags + <usize>slots * 4 + 32;
  memory.fill(lcZero, 0, lcLineBytes);
  memory.fill(lcTags, 0xff, <usize>slots * 4);
}

/** The decoded line for virtual input row t = oy*SH + ky (0 <= t < Hv) of image n. */
@inline function cachedLine(v: usize, n: u32, t: u32): usize {
  const vy = <i32>t - lcPh;
  let iy = vy;
  if (lcDh != 1) {
    if (vy % lcDh != 0) return lcZero;
    iy = vy / lcDh;
  }
  if (vy < 0 || iy >= lcH) return lcZero;
  const g = n * lcHv + t;
  const slot = g & lcMask;
  const ptr = lcData + <usize>slot * lcLineBytes;
  if (load<u32>(lcTags + (<usize>slot << 2)) == g) return ptr;
  store<u32>(lcTags + (<usize>slot << 2), g);
  fillLine(v, n, <u32>iy, ptr);
  return ptr;
}

// Decodes input line (n, iy) of v into the cache line at ptr: zero padding, input dilation.
function fillLine(v: usize, n: u32, iy: u32, ptr: usize): void {
  const h = field(v, V_H);
  const c = field(v, V_C), w = field(v, V_W), pw = field(v, V_PW), dw = field(v, V_DW);
  const bits = <u32>field(v, V_BITS);
  const line = <usize>field(v, V_BASE) + <usize>(n * <u32>h + iy) * <usize>field(v, V_STRIDE);
  const lx = <i32>lcLx;
  if (dw == 1) {
    // Input x = t' - PW for cache position t' in [PW, PW + W).
    const lo = max(0, pw), hi = min(lx, pw + w);
    if (hi <= lo) {
      memory.fill(ptr, 0, <usize>lx * c * 2);
    } else {
      if (lo > 0) memory.fill(ptr, 0, <usize>(lo * c) << 1);
      decodeRun(line, <u32>((lo - pw) * c), <u32>((hi - lo) * c), bits, ptr + (<usize>(lo * c) << 1));
      if (hi < lx) memory.fill(ptr + (<usize>(hi * c) << 1), 0, <usize>((lx - hi) * c) << 1);
    }
  } else {
    memory.fill(ptr, 0, <usize>lx * c * 2);
    // Virtual x = t' - PW holds input x = vx / DW when DW divides it.
    let vx = max(0, -pw);
    const r = vx % dw;
    if (r != 0) vx += dw - r;
    for (; vx / dw < w && vx + pw < lx; vx += dw) {
      decodeRun(line, <u32>((vx / dw) * c), <u32>c, bits, ptr + (<usize>((vx + pw) * c) << 1));
    }
  }
}

/**
 * Decodes virtual rows [r0, r0+nr) x columns [c0, c0+nc) of prepared view v into i16, row i at
 * dst + 2*i*ld. Same values as viewDecode row by row.
 */
export function viewDecodeRect(v: usize, r0: u32, nr: u32, c0: u32, nc: u32, dst: usize, ld: u32): void {
  if (nr == 0 || nc == 0) return;
  if (rectZeroMasks != 0 && (field(v, V_KIND) != VIEW_KIND_IM2COL || lcView != v || field(v, V_KH) > 32)) {
    memory.fill(rectZeroMasks, 0, <usize>nr << 2);
  }
  const kind = field(v, V_KIND);
  const base = <usize>field(v, V_BASE), bits = <u32>field(v, V_BITS), stride = <usize>field(v, V_STRIDE);
  const ldBytes = <usize>ld << 1;
  if (kind == VIEW_KIND_PLAIN) {
    let src = base + <usize>r0 * stride;
    for (let i: u32 = 0; i < nr; i++) {
      decodeRun(src, c0, nc, bits, dst + <usize>i * ldBytes);
      src += stride;
    }
    return;
  }
  if (kind == VIEW_KIND_WFLIP) {
    const ci = <u32>field(v, V_C), kh = <u32>field(v, V_KH), kw = <u32>field(v, V_KW), co = <u32>field(v, V_N);
    let tap = r0 / co, out = r0 % co;
    for (let i: u32 = 0; i < nr; i++) {
      const ky = tap / kw, kx = tap % kw;
      const flipped = (kh - 1 - ky) * kw + (kw - 1 - kx);
      decodeRun(base + <usize>out * stride, flipped * ci + c0, nc, bits, dst + <usize>i * ldBytes);
      if (++out == co) { out = 0; tap++; }
    }
    return;
  }
  const simple = im2colSimpleKind(v);
  const c = <u32>field(v, V_C), w = <u32>field(v, V_W);
  if (simple == 1) {
    // Row (n, y, x) is line r / W at column x*C: rows of one line are one contiguous run.
    let lineIdx = r0 / w, x = r0 % w;
    let i: u32 = 0;
    while (i < nr) {
      const run = min(nr - i, w - x);
      const line = base + <usize>lineIdx * stride;
      const out = dst + <usize>i * ldBytes;
      if (nc == c && ld == c) {
        decodeRun(line, x * c, run * c, bits, out);
      } else {
        for (let j: u32 = 0; j < run; j++) decodeRun(line, (x + j) * c + c0, nc, bits, out + <usize>j * ldBytes);
      }
      i += run;
      x = 0;
      lineIdx++;
    }
    return;
  }
  if (simple == 2) {
    // Row n is lines n*H .. n*H + H - 1 end to end.
    const lineLen = w * c, h = <u32>field(v, V_H);
    for (let i: u32 = 0; i < nr; i++) {
      const out = dst + <usize>i * ldBytes;
      let col = c0;
      const end = c0 + nc;
      let lineIdx = (r0 + i) * h + col / lineLen;
      let inLine = col % lineLen;
      while (col < end) {
        const run = min(end - col, lineLen - inLine);
        decodeRun(base + <usize>lineIdx * stride, inLine, run, bits, out + (<usize>(col - c0) << 1));
        col += run;
        inLine = 0;
        lineIdx++;
      }
    }
    return;
  }
  if (lcView != v) {
    for (let i: u32 = 0; i < nr; i++) viewDecode(v, r0 + i, c0, nc, dst + <usize>i * ldBytes);
    return;
  }
  const sh = <u32>field(v, V_SH), sw = <u32>field(v, V_SW), kw = <u32>field(v, V_KW);
  const oh = <u32>field(v, V_OH), ow = <u32>field(v, V_OW);
  const seg = kw * c;
  const plane = oh * ow;
  let n = r0 / plane;
  const rem = r0 % plane;
  let oy = rem / ow, ox = rem % ow;
  const end = c0 + nc;
  const ky0 = c0 / seg, ky1 = (end - 1) / seg;
  // The lines of kernel rows ky0..ky1 change only when (n, oy) does: looked up once per output row
  // when they fit the pointer table, else per patch.
  const hoist = ky1 - ky0 < LINE_PTRS;
  let mask: u32 = 0;
  if (hoist && c0 == 0 && end == (ky1 + 1) * seg) {
    // Whole patch rows (K in one block): KH runs of KW*C codes. The rows of one output row (n, oy)
    // read the same KH lines, run ky of row i + 1 starting SW*C codes after row i's: copied kernel
    // row by kernel row, a strided run of copies from one line each.
    const kRows = ky1 + 1;
    const segBytes = <usize>seg << 1, step = <usize>(sw * c) << 1;
    let i: u32 = 0;
    while (i < nr) {
      const rows = min(nr - i, ow - ox);
      mask = 0;
      for (let ky: u32 = 0; ky < kRows; ky++) {
        const line = cachedLine(v, n, oy * sh + ky);
        store<usize>(linePtrs + (<usize>ky << 2), line);
        if (line == lcZero) mask |= <u32>1 << ky;
      }
      if (rectZeroMasks != 0) {
        for (let j: u32 = 0; j < rows; j++) store<u32>(rectZeroMasks + (<usize>(i + j) << 2), mask);
      }
      const out = dst + <usize>i * ldBytes, xOff = <usize>ox * step;
      for (let ky: u32 = 0; ky < kRows; ky++) {
        // Runs of 8 to 15 bytes before the last kernel row are copied as one 16-byte block that
        // spills into the place of run ky + 1 of the same row, written in the next pass.
        copyRuns(out + <usize>ky * segBytes, ldBytes, load<usize>(linePtrs + (<usize>ky << 2)) + xOff, step, rows, seg, ky + 1 < kRows);
      }
      i += rows;
      ox = 0;
      if (++oy == oh) { oy = 0; n++; }
    }
    return;
  }
  if (hoist) {
    // Part of the patch rows (K in several blocks, or a weight gradient's N block of B's columns):
    // the same strided copies, kernel row ky's part [lo, hi) of each row. A run of 8 to 15 bytes
    // spills only when 16 bytes from its start stay inside the row's columns, written after it.
    const step = <usize>(sw * c) << 1;
    let i: u32 = 0;
    while (i < nr) {
      const rows = min(nr - i, ow - ox);
      mask = 0;
      for (let ky = ky0; ky <= ky1; ky++) {
        const line = cachedLine(v, n, oy * sh + ky);
        store<usize>(linePtrs + (<usize>(ky - ky0) << 2), line);
        if (line == lcZero && ky < 32) mask |= <u32>1 << ky;
      }
      if (rectZeroMasks != 0) {
        for (let j: u32 = 0; j < rows; j++) store<u32>(rectZeroMasks + (<usize>(i + j) << 2), mask);
      }
      const out = dst + <usize>i * ldBytes, xOff = <usize>ox * step;
      for (let ky = ky0; ky <= ky1; ky++) {
        const segLo = ky * seg;
        const lo = max(c0, segLo), hi = min(end, segLo + seg);
        const src = load<usize>(linePtrs + (<usize>(ky - ky0) << 2)) + xOff + (<usize>(lo - segLo) << 1);
        copyRuns(out + (<usize>(lo - c0) << 1), ldBytes, src, step, rows, hi - lo, end - lo >= 8);
      }
      i += rows;
      ox = 0;
      if (++oy == oh) { oy = 0; n++; }
    }
    return;
  }
  // More kernel rows than the pointer table holds: each patch looks its lines up.
  for (let i: u32 = 0; i < nr; i++) {
    const out = dst + <usize>i * ldBytes;
    const xOff = <usize>(ox * sw * c) << 1;
    if (rectZeroMasks != 0) store<u32>(rectZeroMasks + (<usize>i << 2), 0);
    for (let ky = ky0; ky <= ky1; ky++) {
      const segLo = ky * seg;
      const lo = max(c0, segLo), hi = min(end, segLo + seg);
      const src = cachedLine(v, n, oy * sh + ky) + xOff + (<usize>(lo - segLo) << 1);
      copyI16(out + (<usize>(lo - c0) << 1), src, hi - lo);
    }
    if (++ox == ow) {
      ox = 0;
      if (++oy == oh) { oy = 0; n++; }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Direct rows: the GEMM's IM2COL A without a panel. Kernel row ky of patch (n, oy, ox) is already a
// contiguous run of the cached line (n, oy*SH + ky), so a micro-kernel can read its pairs of k
// there (dotTile's row pointers) instead of from a copy. viewRowsNext hands out, for the next tile
// of MR consecutive rows, the address of each row's run for every kernel row: KH entries of 4
// u32, entry ky at out + 16*ky. A tile's rows stay on at most a few output rows, and every line
// they point to stays cached until the tile is done when the cache has a slot for each line
// number between the tile's first and last (viewRowsDirect). Runs of odd length KW*C are read one
// code further (into the line's padding, the next slot or the cache's slack): the caller packs B
// with a zero row there, so whatever that code is adds 0.
let rowN: u32 = 0, rowOy: u32 = 0, rowOx: u32 = 0;
// The view's geometry, read once by viewRowsBegin: KH, SH, OH, OW, and SW*C codes in bytes.
let rowKh: u32 = 0, rowSh: u32 = 0, rowOh: u32 = 0, rowOw: u32 = 0, rowStep: u32 = 0;
// The output row (n, oy) whose KH line addresses linePtrs holds, and which of them are the zero line.
let tableN: u32 = 0, tableOy: u32 = 0, tableZero: u32 = 0;
let tableValid = false;

/** Whether the line cache bound for v can serve tiles of `mr` consecutive rows through
 *  viewRowsNext (KH fits the line table, and every line of a tile has its own slot). */
export function viewRowsDirect(v: usize, mr: u32): bool {
  if (lcView != v || lcView == 0) return false;
  return viewRowsSpan(v, mr) <= <u64>lcMask + 1;
}

/** The line numbers `mr` consecutive rows of IM2COL view v can span: the fewest cache slots that
 *  serve tiles of them through viewRowsNext (u64 max when KH does not fit the line table). */
export function viewRowsSpan(v: usize, mr: u32): u64 {
  if (field(v, V_KH) > <i32>LINE_PTRS || field(v, V_OW) <= 0) return u64.MAX_VALUE;
  const kh = <u64>field(v, V_KH), sh = <u64>field(v, V_SH), ow = <u64>field(v, V_OW);
  // mr consecutive rows cross at most ceil((mr-1)/OW) output-row boundaries; each crossing moves
  // the line number n*Hv + oy*SH by SH (same image) or KH (next image: Hv - (OH-1)*SH = KH).
  const crossings = (<u64>mr - 1 + ow - 1) / ow;
  return crossings * max(sh, kh) + kh;
}

/** Starts handing out rows at virtual row r0 of v (bound by viewRowsDirect). */
export function viewRowsBegin(v: usize, r0: u32): void {
  rowKh = <u32>field(v, V_KH);
  rowSh = <u32>field(v, V_SH);
  rowOh = <u32>field(v, V_OH);
  rowOw = <u32>field(v, V_OW);
  rowStep = <u32>(field(v, V_SW) * field(v, V_C)) << 1;
  const plane = rowOh * rowOw;
  rowN = r0 / plane;
  const rem = r0 % plane;
  rowOy = rem / rowOw;
  rowOx = rem % rowOw;
  tableValid = false;
}

// Fills linePtrs with the lines of output row (rowN, rowOy). The next output row of the same image
// shares all but SH of its lines with the one before (line oy*SH + ky is line (oy+1)*SH + ky - SH):
// those are moved down, and only the last SH looked up.
function rowTable(v: usize): void {
  let ky0: u32 = 0, zero: u32 = 0;
  if (tableValid && tableN == rowN && tableOy + 1 == rowOy && rowSh < rowKh) {
    ky0 = rowKh - rowSh;
    memory.copy(linePtrs, linePtrs + (<usize>rowSh << 2), <usize>ky0 << 2);
    zero = tableZero >>> rowSh;
  }
  for (let ky = ky0; ky < rowKh; ky++) {
    const line = cachedLine(v, rowN, rowOy * rowSh + ky);
    store<u32>(linePtrs + (<usize>ky << 2), <u32>line);
    if (line == lcZero) zero |= <u32>1 << ky;
  }
  tableN = rowN;
  tableOy = rowOy;
  tableZero = zero;
  tableValid = true;
}

@inline function nextRow(): void {
  if (++rowOx == rowOw) {
    rowOx = 0;
    if (++rowOy == rowOh) { rowOy = 0; rowN++; }
  }
}

/**
 * The run addresses of the next `rows` (1..mr, mr <= 4) rows for every kernel row (see above), rows
 * past `rows` pointing at the zero line; advances by `rows`. Returns the kernel rows (bit ky,
 * ky < 32) whose runs are all zero in every row handed out.
 */
export function viewRowsNext(v: usize, rows: u32, mr: u32, out: usize): u32 {
  if (!tableValid || tableN != rowN || tableOy != rowOy) rowTable(v);
  const kh = rowKh, step = rowStep;
  if (ASC_FEATURE_SIMD && rows == 4 && mr == 4 && rowOx + 4 <= rowOw) {
    // All four on one output row: run addresses step by SW*C codes.
    const steps = i32x4(0, <i32>step, <i32>(2 * step), <i32>(3 * step));
    const xOff = rowOx * step;
    for (let ky: u32 = 0; ky < kh; ky++) {
      const at = load<u32>(linePtrs + (<usize>ky << 2)) + xOff;
      v128.store(out + (<usize>ky << 4), i32x4.add(i32x4.splat(<i32>at), steps));
    }
    rowOx += 3;
    nextRow();
    return tableZero;
  }
  let zero: u32 = 0xffffffff;
  for (let r: u32 = 0; r < mr; r++) {
    if (r >= rows) {
      for (let ky: u32 = 0; ky < kh; ky++) store<u32>(out + (<usize>ky << 4) + (<usize>r << 2), <u32>lcZero);
      continue;
    }
    if (tableN != rowN || tableOy != rowOy) rowTable(v);
    zero &= tableZero;
    const xOff = rowOx * step;
    for (let ky: u32 = 0; ky < kh; ky++) {
      store<u32>(out + (<usize>ky << 4) + (<usize>r << 2), load<u32>(linePtrs + (<usize>ky << 2)) + xOff);
    }
    nextRow();
  }
  return zero;
}
