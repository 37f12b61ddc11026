// The relaxed-SIMD build's int8 GEMM: C (f64, M x N) = op(A) * op(B) for operands of at most 8
// bits whose op(A) codes are all in 0..127 (post-ReLU activations at 8 bits and below are). Used
// by gemmViews (driver.ts) only in the relaxed build, and only when it applies; otherwise, or when a
// negative A code turns up while packing, the plain dot_i16x8 path computes the product instead.
// Either way every element is the same exact integer, so the results are bit-identical.
//
// Why it pays: i16x8.relaxed_dot_i8x16_i7x16_s multiplies 16 byte pairs per instruction (x86:
// one pmaddubsw) where i32x4.dot_i16x8_s multiplies 8; a dot_i16x8_s by ones then widens the i16
// pair sums to i32. Per 4 k and a 4x8 tile: 8 dots + 8 widening dots + 8 adds + 6 loads, against
// 16 dots + 16 adds + 12 loads on the plain path. Both issue 16 multiplies per 128 MACs, and x86
// cores here run 2 vector multiplies a cycle either way, so the gain is the other instructions
// (docs/kernels.md, "The relaxed-SIMD build", has the measured ceiling).
//
// Panel layouts (i8, k in groups of 4 = one i32 lane of the product):
//   A panel: MCp/4 micro-panels of 4 rows; in micro-panel m, quad q holds 16 bytes:
//            [a(4m, 4q..4q+3) a(4m+1, 4q..) a(4m+2, 4q..) a(4m+3, 4q..)] (KC4 = kc rounded up
//            to 4; k past kc and rows past mc are zeros). The micro-kernel splats 4 bytes at a
//            time from one pointer with immediate offsets.
//   B panel: NCp/8 groups of 8 columns; in group g, quad q holds 32 bytes:
//            [b(4q..4q+3, j0) b(4q..4q+3, j1) ... b(4q..4q+3, j7)] (4 bytes per column).
//   relaxed_dot(group quad half, splat(a quad)) gives, in i16 lane 2t+h, the sum of the two
//   products b(4q+2h, jt) a(i,4q+2h) + b(4q+2h+1, jt) a(i,4q+2h+1); the widening adds lanes 2t
//   and 2t+1 into i32 lane t: the 4 products of the quad for column jt.
//
// Exactness bounds.
//   i16 lane of the relaxed dot: 2 products of an i8 code (|b| <= 128, even a raw -128 byte that
//   the symmetric format never produces) by an i7 code (0 <= a <= 127): |sum| <= 2*128*127 =
//   32512 <= 32767, so the lane holds the exact sum and no engine has anything to saturate. The
//   i7 operand must be in 0..127: a byte >= 128 there is where engines differ (signed or
//   unsigned), so A is checked while it is packed and a negative code abandons this path.
//   Narrower operands leave i16 headroom: with maxA the largest A code and maxB = 2^(bBits-1),
//   a dot lane is at most L = 2*maxA*maxB, and D = floor(32767 / L) dots sum exactly in an i16
//   lane (8 x 8: D = 1; 8 x 4: 16; 4 x 4: 292); gemm_4x8c4_i16acc_relaxed widens once per D quads.
//   Widening: dot_i16x8_s(ones, d) = d(2t) + d(2t+1), at most 65024 in magnitude (32767 * 2 with
//   i16 accumulation): exact in i32.
//   i32 accumulator lane: per quad at most 4*128*127 = 65024 (i16 accumulation changes nothing:
//   D quads add at most D*4*maxA*maxB), so a K block of kc elements stays
//   below kc*16256, under 2^31 - 1 for kc <= 132104; KC here is at most KC_CACHE (256), and C
//   widens to f64 between K blocks (exact while |C| < 2^53: K <= 2^22 at 8 x 8 bits, as ./index.ts).

import { viewDecodeRect, field } from "../views";
import { V_KIND, V_BASE, V_BITS, V_ROWS, V_COLS, V_STRIDE, VIEW_KIND_PLAIN } from "../../src/runtime/abi-layout";
import { MR, NR, KC_CACHE, roundUp, align16, startBlocks, shrinkBlocks } from "./blocking";
import {
  viewA, viewB, aTransG, bTransG, MC, NC, KC, panelA, panelB, tile, scratch, quadsPerWiden, relaxedUsed,
} from "./state";
import { gemm_4x8c4_relaxed, gemm_4x8c4_i16acc_relaxed } from "./microkernels-relaxed";

// The i16-accumulating kernel from this many quads per widening up (microkernels-relaxed.ts).
const MIN_QUADS_PER_WIDEN: u32 = 4;
/** The widest operands the i8 panels hold. */
export const RELAXED_MAX_BITS: i32 = 8;

// The call in progress lives in state.ts with the plain path's: the operands (set by the
// driver's bindOperands), the blocks (MC, NC, KC: the relaxed path's own choice, made before the
// plain path makes its own if this one gives up) and the workspace regions.

/** 1 when the last gemm / gemm_views call ran this path to the end (tests and the start-up check
 *  read it through gemm_relaxed_used), else 0. */
export function relaxedLastUsed(): i32 { return relaxedUsed; }

// Decode scratch: 4 rows of A (KC4 rounded up to 8 i16 each), 4 k rows of B (NCp i16), 4 B
// columns (KC4 i16), or 4 stored rows of a transposed A (MCp i16), whichever is largest. With
// this, the smallest workspace the plain path accepts (gemm_workspace_bytes(4, 8, 2, ...)) holds
// one tile here too.
function scratchBytesR(mcp: u32, ncp: u32, kc4: u32): usize {
  return align16(max<usize>(max<usize>(<usize>roundUp(kc4, 8) * 8, <usize>ncp * 8), <usize>mcp * 8));
}

function needR(mc: u32, nc: u32, kc: u32): usize {
  const mcp = roundUp(mc, MR), ncp = roundUp(nc, NR), kc4 = roundUp(kc, 4);
  return align16(<usize>mcp * kc4) + align16(<usize>ncp * kc4) + MR * NR * 4 + 16
    + scratchBytesR(mcp, ncp, kc4) + 16;
}

// Largest blocks that fit the caller's workspace (sized for the plain path, which needs about
// twice these panels): the plain path's blocking (blocking.ts) with K in quads. False when not
// even one tile fits.
function chooseBlockingR(M: u32, N: u32, K: u32, workBytes: usize): bool {
  startBlocks(M, N, K, KC_CACHE, 4);
  while (needR(MC, NC, KC) > workBytes) {
    if (!shrinkBlocks(4)) return false;
  }
  return true;
}

/**
 * C = op(A) * op(B) on the i8 path, for views `a`, `b` already validated by the caller (driver.ts
 * bindOperands) with the product's M, N, K. Returns true when C holds the product; false when the
 * path does not apply (a width above 8 bits, a workspace too small for one tile, or a negative
 * op(A) code found while packing), in which case C's contents are unspecified and the caller
 * computes the product its own way.
 */
export function gemmRelaxed(a: usize, b: usize, c: usize, M: u32, N: u32, K: u32, work: usize, workBytes: usize): bool {
  relaxedUsed = 0;
  if (!ASC_FEATURE_RELAXED_SIMD) return false;
  if (field(a, V_BITS) > RELAXED_MAX_BITS || field(b, V_BITS) > RELAXED_MAX_BITS) return false;
  if (M == 0 || N == 0 || K == 0) return false;
  const aligned = align16(work);
  if (aligned - work >= workBytes) return false;
  if (!chooseBlockingR(M, N, K, workBytes - (aligned - work) + 16)) return false;
  if (field(a, V_KIND) == VIEW_KIND_PLAIN && field(a, V_BITS) == 8 && !plainBytesNonNegative(a)) return false;
  // i16 headroom: each lane of a dot is at most 2 * maxA * maxB in magnitude, with maxA the
  // largest nonnegative A code and maxB = 2^(bBits-1) (the most negative B pattern, even one the
  // symmetric format never writes); D of them sum exactly in i16 while D * that <= 32767.
  const laneMax = 2 * ((<u32>1 << (<u32>field(a, V_BITS) - 1)) - 1) * (<u32>1 << (<u32>field(b, V_BITS) - 1));
  quadsPerWiden = 32767 / laneMax;
  const mcp = roundUp(MC, MR), ncp = roundUp(NC, NR), kc4 = roundUp(KC, 4);
  let p = aligned;
  panelA = p; p += align16(<usize>mcp * kc4);
  panelB = p; p += align16(<usize>ncp * kc4);
  tile = p; p += MR * NR * 4 + 16;
  scratch = p;

  const ldc = <usize>N << 3;
  memory.fill(c, 0, <usize>M * ldc);
  for (let jc: u32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc: u32 = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packBR(jc, nc, pc, kc);
      for (let ic: u32 = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        if (!packAR(ic, mc, pc, kc)) return false;
        multiplyBlockR(mc, nc, kc, c + <usize>ic * ldc + (<usize>jc << 3), ldc);
      }
    }
  }
  relaxedUsed = 1;
  return true;
}

// A plain 8-bit A is its codes byte for byte: one pass over them settles the sign check before
// any work, so a negative code costs a scan, not the product so far. (Other views are checked
// while packing: a negative code found late wastes the blocks done before it.)
function plainBytesNonNegative(v: usize): bool {
  if (!ASC_FEATURE_RELAXED_SIMD) return false;
  const base = <usize>field(v, V_BASE), rows = <u32>field(v, V_ROWS), cols = <u32>field(v, V_COLS);
  const stride = <usize>field(v, V_STRIDE);
  let acc = i8x16.splat(0);
  let tail: i32 = 0;
  for (let r: u32 = 0; r < rows; r++) {
    const row = base + <usize>r * stride;
    let j: u32 = 0;
    for (; j + 16 <= cols; j += 16) acc = v128.or(acc, v128.load(row + j));
    for (; j < cols; j++) tail |= <i32>load<i8>(row + j);
  }
  return i8x16.bitmask(acc) == 0 && tail >= 0;
}

// A panel rows [0, mcp) x k [0, kc4) as bytes from op(A) rows [ic, ic+mc) x k [pc, pc+kc).
// Returns false at the first negative code (the i7 operand must be 0..127).
function packAR(ic: u32, mc: u32, pc: u32, kc: u32): bool {
  if (!ASC_FEATURE_RELAXED_SIMD) return false;
  const mcp = roundUp(mc, MR), kc4 = roundUp(kc, 4);
  let neg = i16x8.splat(0);
  if (!aTransG) {
    // Decode the 4 rows of a micro-panel (ld = kc8 i16; rows past mc and k past kc zeroed), narrow
    // pairs of rows to bytes and interleave the rows quad by quad.
    const kc8 = roundUp(kc, 8);
    const ldBytes = <usize>kc8 << 1;
    for (let r0: u32 = 0; r0 < mcp; r0 += MR) {
      const cnt = r0 < mc ? min<u32>(MR, mc - r0) : 0;
      if (cnt > 0) viewDecodeRect(viewA, ic + r0, cnt, pc, kc, scratch, kc8);
      if (kc < kc8) {
        for (let r: u32 = 0; r < cnt; r++) memory.fill(scratch + <usize>r * ldBytes + (<usize>kc << 1), 0, <usize>(kc8 - kc) << 1);
      }
      if (cnt < MR) memory.fill(scratch + <usize>cnt * ldBytes, 0, <usize>(MR - cnt) * ldBytes);
      const dst = panelA + <usize>r0 * kc4;
      for (let k: u32 = 0; k < kc4; k += 8) {
        const s = scratch + (<usize>k << 1);
        const v0 = v128.load(s), v1 = v128.load(s + ldBytes);
        const v2 = v128.load(s + 2 * ldBytes), v3 = v128.load(s + 3 * ldBytes);
        neg = v128.or(neg, v128.or(v128.or(v0, v1), v128.or(v2, v3)));
        const n01 = i8x16.narrow_i16x8_s(v0, v1), n23 = i8x16.narrow_i16x8_s(v2, v3);
        const o = dst + (<usize>k << 2);
        v128.store(o, i8x16.shuffle(n01, n23, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
        // The second quad of the last 8 k lies past kc4 when kc4 % 8 == 4: not written.
        if (k + 4 < kc4) v128.store(o, i8x16.shuffle(n01, n23, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31), 16);
      }
    }
  } else {
    // A is stored K x M: decode 4 stored rows (k) of mc codes, gather each row's quad into its
    // micro-panel slot.
    const ldBytes = <usize>mc << 1;
    for (let k0: u32 = 0; k0 < kc4; k0 += 4) {
      const cnt = k0 < kc ? min<u32>(4, kc - k0) : 0;
      if (cnt > 0) viewDecodeRect(viewA, pc + k0, cnt, ic, mc, scratch, mc);
      if (cnt < 4) memory.fill(scratch + <usize>cnt * ldBytes, 0, <usize>(4 - cnt) * ldBytes);
      const quad = panelA + (<usize>k0 << 2);
      for (let r: u32 = 0; r < mc; r++) {
        const s = scratch + (<usize>r << 1);
        const x0 = <i32>load<i16>(s), x1 = <i32>load<i16>(s + ldBytes);
        const x2 = <i32>load<i16>(s + 2 * ldBytes), x3 = <i32>load<i16>(s + 3 * ldBytes);
        if ((x0 | x1 | x2 | x3) < 0) return false;
        const at = quad + <usize>(r & ~(MR - 1)) * kc4 + (<usize>(r & (MR - 1)) << 2);
        store<u32>(at, <u32>(x0 | (x1 << 8) | (x2 << 16) | (x3 << 24)));
      }
    }
    // Rows past mc inside the last micro-panel.
    for (let r = mc; r < mcp; r++) {
      const base = panelA + <usize>(r & ~(MR - 1)) * kc4 + (<usize>(r & (MR - 1)) << 2);
      for (let q: u32 = 0; q < (kc4 >>> 2); q++) store<u32>(base + (<usize>q << 4), 0);
    }
  }
  return i16x8.bitmask(neg) == 0;
}

// B panel for op(B) k [pc, pc+kc) x columns [jc, jc+nc), every byte written (padding columns and
// the k past kc as zeros).
function packBR(jc: u32, nc: u32, pc: u32, kc: u32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return;
  const ncp = roundUp(nc, NR), kc4 = roundUp(kc, 4);
  const groupBytes = <usize>kc4 << 3;
  const groups = ncp >>> 3;
  if (!bTransG) {
    // B is stored K x N: decode 4 k rows (ld = ncp, padding columns zeroed), narrow pairs of rows
    // to bytes and interleave the four rows column by column.
    const ldBytes = <usize>ncp << 1;
    for (let k0: u32 = 0; k0 < kc4; k0 += 4) {
      const cnt = k0 < kc ? min<u32>(4, kc - k0) : 0;
      if (cnt > 0) viewDecodeRect(viewB, pc + k0, cnt, jc, nc, scratch, ncp);
      if (nc < ncp) {
        for (let r: u32 = 0; r < cnt; r++) memory.fill(scratch + <usize>r * ldBytes + (<usize>nc << 1), 0, <usize>(ncp - nc) << 1);
      }
      if (cnt < 4) memory.fill(scratch + <usize>cnt * ldBytes, 0, <usize>(4 - cnt) * ldBytes);
      const dst = panelB + (<usize>(k0 >>> 2) << 5);
      for (let g: u32 = 0; g < groups; g++) {
        const s = scratch + (<usize>g << 4);
        const n01 = i8x16.narrow_i16x8_s(v128.load(s), v128.load(s + ldBytes));
        const n23 = i8x16.narrow_i16x8_s(v128.load(s + 2 * ldBytes), v128.load(s + 3 * ldBytes));
        const o = dst + <usize>g * groupBytes;
        v128.store(o, i8x16.shuffle(n01, n23, 0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27));
        v128.store(o, i8x16.shuffle(n01, n23, 4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31), 16);
      }
    }
  } else {
    // B is stored N x K: stored row j is column j of op(B), k contiguous: decode 4 columns at a
    // time, narrow, and scatter each quad's 4 bytes to its place in the group.
    const ldBytes = <usize>kc4 << 1;
    for (let j0: u32 = 0; j0 < ncp; j0 += 4) {
      const cnt = j0 < nc ? min<u32>(4, nc - j0) : 0;
      if (cnt > 0) viewDecodeRect(viewB, jc + j0, cnt, pc, kc, scratch, kc4);
      if (cnt < 4) memory.fill(scratch + <usize>cnt * ldBytes, 0, <usize>(4 - cnt) * ldBytes);
      const group = panelB + <usize>(j0 >>> 3) * groupBytes + (<usize>(j0 & 7) << 2);
      for (let t: u32 = 0; t < 4; t++) {
        const src = scratch + <usize>t * ldBytes;
        for (let k = kc; k < kc4; k++) store<i16>(src + (<usize>k << 1), 0);
        const col = group + (<usize>t << 2);
        let k: u32 = 0;
        for (; k + 16 <= kc4; k += 16) {
          const v = i8x16.narrow_i16x8_s(v128.load(src + (<usize>k << 1)), v128.load(src + (<usize>k << 1), 16));
          const o = col + (<usize>(k >>> 2) << 5);
          store<u32>(o, i32x4.extract_lane(v, 0));
          store<u32>(o, i32x4.extract_lane(v, 1), 32);
          store<u32>(o, i32x4.extract_lane(v, 2), 64);
          store<u32>(o, i32x4.extract_lane(v, 3), 96);
        }
        for (; k < kc4; k += 4) {
          const s = src + (<usize>k << 1);
          const w = (<u32>load<u16>(s) & 255) | ((<u32>load<u16>(s, 2) & 255) << 8)
            | ((<u32>load<u16>(s, 4) & 255) << 16) | ((<u32>load<u16>(s, 6) & 255) << 24);
          store<u32>(col + (<usize>(k >>> 2) << 5), w);
        }
      }
    }
  }
}

// All micro-tiles of one (mc x nc) block for K block kc, added into c (leading dim ldc bytes).
function multiplyBlockR(mc: u32, nc: u32, kc: u32, c: usize, ldc: usize): void {
  const kc4 = roundUp(kc, 4);
  const quads = kc4 >>> 2;
  const groupBytes = <usize>kc4 << 3;
  for (let jr: u32 = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const bp = panelB + <usize>(jr >>> 3) * groupBytes;
    for (let ir: u32 = 0; ir < mc; ir += MR) {
      const mr = min(MR, mc - ir);
      const ct = c + <usize>ir * ldc + (<usize>jr << 3);
      if (quadsPerWiden < MIN_QUADS_PER_WIDEN) {
        gemm_4x8c4_relaxed(panelA + <usize>ir * kc4, bp, quads, ct, ldc, mr, nr);
      } else {
        gemm_4x8c4_i16acc_relaxed(quadsPerWiden, panelA + <usize>ir * kc4, bp, quads, ct, ldc, mr, nr);
      }
    }
  }
}

