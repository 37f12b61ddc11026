// Blocking (GotoBLAS / gemmlowp): the cache blocks MC x NC x KC of a call, and the overflow block
// that bounds KC so an i32 lane never overflows (the argument is in ./index.ts). The plain (i16)
// and the relaxed (i8) paths both start from startBlocks and shrink with shrinkBlocks; each
// measures its own workspace need.

import { maxCode } from "../packed";
import {
  laneChunkI64, laneChunkF64, splitA, splitB, kcLimit, kDirect, MC, NC, KC, withBlockAcc, panelPlane, panelStride, panelKBlocks,
} from "./state";

/** The micro-tile: MR rows of A by NR columns of B. */
export const MR: u32 = 4;
export const NR: u32 = 8;
/** The K block the cache holds (also the relaxed path's K block). */
export const KC_CACHE: u32 = 256;
const MC_CACHE: u32 = 64;
const NC_CACHE: u32 = 256;
const SPLIT_BELOW: u32 = 64;
/** Fused calls with i32 sums take a K up to this long in one block when the workspace holds it. */
export const WHOLE_K_MAX: u32 = 1024;
const I32_MAX: u64 = 0x7fffffff;
/** Lane panels (scalar build): three columns of B per word, in lanes of LANE_BITS (i64 words) or
 *  LANE_BITS_F64 (f64 words), LANE_COLS columns (two words) per tile. */
export const LANE_BITS: u32 = 21;
export const LANE_BITS_F64: u32 = 17;
export const LANE_COLS: u32 = 6;
/** Lane chunks shorter than this many pairs are not worth their extractions: the plain kernel runs. */
const LANE_MIN_CHUNK: u32 = 8;

@inline export function roundUp(x: u32, m: u32): u32 { return (x + m - 1) / m * m; }
@inline export function align16(x: usize): usize { return (x + 15) & ~(<usize>15); }
@inline export function nextPow2(x: u32): u32 { return x <= 1 ? 1 : <u32>1 << (32 - clz(x - 1)); }

export function setOperands(aBits: u32, bBits: u32): void {
  const mA = <u64>maxCode(aBits), mB = <u64>maxCode(bBits);
  let pairs = I32_MAX / (2 * mA * mB);
  splitA = false;
  splitB = false;
  if (2 * pairs < <u64>SPLIT_BELOW) {
    if (aBits >= bBits) splitA = true; else splitB = true;
    const eA: u64 = splitA ? 255 : mA, eB: u64 = splitB ? 255 : mB;
    pairs = I32_MAX / (2 * eA * eB);
  }
  kcLimit = <u32>min<u64>(2 * pairs, <u64>KC_CACHE);
  kDirect = splitA || splitB ? 0 : 2 * pairs;
  // A lane of an i64 word b0 + 2^21 b1 + 2^42 b2 times a code a sums a*b_t; the low two lanes
  // come out exactly (sign-extended 21 bits) while their sums lie in [-2^20, 2^20), the top one
  // while in [-2^21, 2^21). Any code of w bits has |v| <= 2^(w-1) (the most negative pattern
  // included), so n products stay inside when n * 2^(aBits-1) * 2^(bBits-1) <= 2^20 - 1.
  const e = aBits + bBits - 2;
  const n: u32 = e >= LANE_BITS - 1 ? 0 : (<u32>1 << (LANE_BITS - 1 - e)) - 1;
  laneChunkI64 = n >>> 1 >= LANE_MIN_CHUNK ? n >>> 1 : 0;
  // Narrower operands may take f64 words of 17-bit lanes instead (workspace.ts planExtras): the
  // multiplies then run on the floating-point units, two a cycle where the integer multiplier
  // does one. Exact while every lane sum lies in [-2^16, 2^16): a word b0 + 2^17 b1 + 2^34 b2,
  // its products and partial sums are then integers of magnitude below 2^51, which f64 holds.
  const nF: u32 = e >= LANE_BITS_F64 - 1 ? 0 : (<u32>1 << (LANE_BITS_F64 - 1 - e)) - 1;
  laneChunkF64 = nF >>> 1 >= LANE_MIN_CHUNK ? nF >>> 1 : 0;
}

export function workspaceNeed(mc: u32, nc: u32, kc: u32): usize {
  const mcp = roundUp(mc, MR), ncp = roundUp(nc, NR), kcp = roundUp(kc, 2);
  const planesA: usize = splitA ? 2 : 1, planesB: usize = splitB ? 2 : 1;
  const acc: usize = withBlockAcc ? <usize>mcp * ncp * 8 : 0;
  return planesA * align16(<usize>mcp * kcp * 2) + planesB * align16(<usize>ncp * kcp * 2) + acc
    + 2 * align16(<usize>ncp * 2) + align16(<usize>kcp * 2) + align16(<usize>mcp * 2)
    + MR * NR * 4 + 16;
}

// Largest blocks that fit the workspace (startBlocks, then shrinkBlocks until they do).
export function chooseBlocking(M: u32, N: u32, K: u32, workBytes: usize): bool {
  startBlocks(M, N, K, kcLimit, 2);
  while (workspaceNeed(MC, NC, KC) > workBytes) {
    if (!shrinkBlocks(2)) return false;
  }
  return true;
}

/**
 * The largest blocks before the workspace is considered: each dimension capped by its cache block
 * (K by kLimit) and rounded up to its step (K to kStep: 2 for i16 pairs, 4 for i8 quads). Capped
 * before rounding up (the caps are multiples of the steps, so the blocks are the same): rounding a
 * dimension near 2^32 up would wrap it to 0.
 */
export function startBlocks(M: u32, N: u32, K: u32, kLimit: u32, kStep: u32): void {
  KC = roundUp(min(K, kLimit), kStep);
  NC = roundUp(min(N, NC_CACHE), NR);
  MC = roundUp(min(M, MC_CACHE), MR);
}

/** One step smaller when the blocks do not fit: N first, then M, then K (K last: fewest passes
 *  over C). False when every block is already one step. (NC also fixes the order in which the
 *  output stage visits elements, and so the f64 sum of SF_SUM_ABS: keep this order as it is.) */
export function shrinkBlocks(kStep: u32): bool {
  if (NC > NR) NC = roundUp(NC >>> 1, NR);
  else if (MC > MR) MC = roundUp(MC >>> 1, MR);
  else if (KC > kStep) KC = roundUp(KC >>> 1, kStep);
  else return false;
  return true;
}

// Pre-packed B (onnxruntime's constant-B case: the same weights against many activations). The B
// panels of every (N block, K block) are kept in a caller's buffer, `panels`, laid out by block
// index: panel (jb, kb) at (jb * kBlocks + kb) * stride, each block's planes at `planeBytes` apart,
// stride = planes * align16(NCp * KCp * 2) for the full block sizes. gemmPrepackB fills it with
// exactly what packB would write in a call; gemmViewsPanels then reads the panels instead of
// packing. The blocking is a function of (M, N, K, widths, workBytes) only, so both see the same
// blocks when given the same arguments, and the products are the same sums of the same panel
// entries: bit for bit the result of gemmViews.

/** Panel geometry for the blocking chosen; returns the bytes all panels need. */
export function panelsNeed(N: u32, K: u32): u64 {
  panelPlane = align16(<usize>roundUp(NC, NR) * roundUp(KC, 2) * 2);
  panelStride = panelPlane * (splitB ? 2 : 1);
  // In u64: K or N near 2^32 would wrap the rounding up.
  panelKBlocks = <u32>((<u64>K + KC - 1) / KC);
  const nBlocks = (<u64>N + NC - 1) / NC;
  return nBlocks * <u64>panelKBlocks * <u64>panelStride;
}

@inline export function panelAt(panels: usize, jc: u32, pc: u32): usize {
  return panels + (<usize>(jc / NC) * panelKBlocks + pc / KC) * panelStride;
}
