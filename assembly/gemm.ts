// Exact integer GEMM on packed operands: C (f64, M x N) = op(A) * op(B), op = identity or transpose.
//
// Structure (GotoBLAS / gemmlowp): for each (N block, K block) the packed B rows are decoded into an
// i16 panel; for each M block the A rows likewise; an MR x NR micro-kernel multiplies the panels with
// i32 accumulators, and its output stage adds the tile into C exactly in f64.
//
// Panel layouts, chosen so the SIMD micro-kernel needs one splat and two loads per pair of k:
//   A panel: MCp rows of KCp i16 (k contiguous; KCp even, padded with zeros; rows >= mc are zero).
//            Only those paddings are cleared: the rows themselves are overwritten by every pack.
//   B panel: NCp/8 groups of 8 columns; in group g, pair p of k holds 16 i16:
//            [b(2p,j0) b(2p+1,j0) b(2p,j1) b(2p+1,j1) ... b(2p,j7) b(2p+1,j7)].
//   i32x4.dot_i16x8_s(splat(a(i,2p), a(i,2p+1)), group pair) then gives a(i,2p)b(2p,j)+a(i,2p+1)b(2p+1,j)
//   for 4 columns j at once.
//
// Overflow argument. Every i32 lane receives, per pair of k, one value bounded by 2*mA*mB, where mA, mB
// bound the magnitudes of the panel entries (2^(bits-1)-1 for symmetric codes). One pair alone fits:
// 2 * 32767 * 32767 = 2147352578 < 2^31 - 1. So a K block of floor((2^31-1) / (2 mA mB)) pairs can
// never overflow; C is widened to f64 between blocks, exact while |C| < 2^53, which holds for
// K <= 2^22 at any widths (K * 32767^2 < 2^52). When that block would be shorter than SPLIT_BELOW
// elements (wide x wide, e.g. 16 x 16 allows a single pair), the wider operand is split as
// v = 256*hi + lo, hi = v >> 8 in [-128, 127], lo = v & 255 in [0, 255]: two panels of small entries,
// two passes of the micro-kernel, recombined exactly by the f64 output stage with scales 256 and 1.
//
// Fused calls (gemmFused) whose whole K fits the overflow block (no split; lenet5's products at any
// widths up to 12 bits) keep the block accumulator in i32 instead: the micro-kernel stores its tile
// in the first K block and adds in later ones, and the output stage converts each finished sum to
// f64 once. Every sum is the same exact integer either way, so every output is too. Then the K
// block is only a cache choice, and K up to WHOLE_K_MAX is taken in one block when the workspace
// holds the panels.
//
// Where the time went before (lenet5, batch 32: N = 6 filters, K = 25, M = 25088 patches) was not
// the multiply-adds but per-row and per-code overheads, so packing reads operands a rectangle at a
// time (views.ts viewDecodeRect: an IM2COL view assembles patches from a cache of decoded input
// lines), B is packed once per N block when it can stay put, and the output stages walk rows
// incrementally with byte stores and the draw counter stepped instead of recomputed.
//
// Workspace: what the caller passes beyond workspaceNeed (the blocking's need, unchanged, so the
// host's plans are too) goes to the line cache and to B panels for all K blocks; with none of it
// every call still runs, through the slower paths. Blocking is chosen as before: NC fixes the order
// in which the output stage visits elements, and so the f64 sum SF_SUM_ABS.

import { maxCode, readCode, writeCode, encodeRun, MIN_BITS, MAX_BITS, decodeRow } from "./packed";
import {
  viewDecodeRect, setRectZeroMasks, viewPrepare, viewRowTooLong, viewDataBytes, viewWritable, viewCacheBytes, viewCacheBind, field, VIEW_FIELDS,
  V_KIND, V_BASE, V_BITS, V_ROWS, V_COLS, V_TRANS, V_STRIDE, V_H, V_W, V_C, V_KH, V_KW, KIND_PLAIN, KIND_IM2COL,
} from "./views";
import { randomKey } from "./random";
import {
  inMemory, STATUS_OK, STATUS_BITS, STATUS_SHAPE, STATUS_WORKSPACE, STATUS_VIEW, STATUS_STAGE, STATUS_RANGE,
} from "./extents";
import { gemmRelaxed } from "./gemm-relaxed";

export const MR: u32 = 4;
export const NR: u32 = 8;
const KC_CACHE: u32 = 256;
const MC_CACHE: u32 = 64;
const NC_CACHE: u32 = 256;
const SPLIT_BELOW: u32 = 64;
const WHOLE_K_MAX: u32 = 1024;
const I32_MAX: u64 = 0x7fffffff;

// Status codes: the shared table (src/runtime/abi-status.ts), under the names this file uses.
export const GEMM_OK: i32 = STATUS_OK;
export const GEMM_ERR_BITS: i32 = STATUS_BITS;
export const GEMM_ERR_SHAPE: i32 = STATUS_SHAPE;
export const GEMM_ERR_WORKSPACE: i32 = STATUS_WORKSPACE;
export const GEMM_ERR_VIEW: i32 = STATUS_VIEW;
export const GEMM_ERR_STAGE: i32 = STATUS_STAGE;
// A descriptor, operand, output, bias row, workspace or panel buffer that does not lie wholly
// inside memory, sizes computed in f64 from the arguments (a u32 product would wrap and let the
// kernel write over memory it was never given, or trap).
export const GEMM_ERR_RANGE: i32 = STATUS_RANGE;

export { inMemory };

// The call in progress (module state, not objects: the stub runtime never frees).
let viewA: usize = 0, viewB: usize = 0;
let aTransG: bool = false, bTransG: bool = false;
let splitA: bool = false, splitB: bool = false;
let kcLimit: u32 = 0;
// The longest K whose full sums fit an i32 lane (the overflow block without the cache cap).
let kDirect: u64 = 0;
// Fused calls whose whole K fits kDirect (and no split) keep the block accumulator in i32: the K
// blocks add up exactly there, and the output stage converts each sum to f64 once, the same value
// the f64 accumulation gave (exact integers either way).
let accI32: bool = false;
// Blocking and workspace regions chosen for the call.
let MC: u32 = 0, NC: u32 = 0, KC: u32 = 0;
let withBlockAcc: bool = false;
let panelA: usize = 0, panelA2: usize = 0, panelB: usize = 0, panelB2: usize = 0, blockAcc: usize = 0;
let tile: usize = 0;
// Scratch: [scratch, rectEnd) decodes operand rectangles while packing (and the bias row in the
// output stage); at least the 2*NC + KC + MC i16 the blocking reserved. What the caller's
// workspace has beyond the blocking's need goes, from its end down, to the line cache of an
// IM2COL operand and to B panels for every K block (packed once per N block instead of once per
// (M block, K block) when K spans several blocks).
let scratch: usize = 0, rectEnd: usize = 0, workEnd: usize = 0;
let bAllPanels: usize = 0, bAllPanels2: usize = 0, bBlockBytes: usize = 0;

@inline function roundUp(x: u32, m: u32): u32 { return (x + m - 1) / m * m; }
@inline function align16(x: usize): usize { return (x + 15) & ~(<usize>15); }

function setOperands(aBits: u32, bBits: u32): void {
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
}

function workspaceNeed(mc: u32, nc: u32, kc: u32): usize {
  const mcp = roundUp(mc, MR), ncp = roundUp(nc, NR), kcp = roundUp(kc, 2);
  const planesA: usize = splitA ? 2 : 1, planesB: usize = splitB ? 2 : 1;
  const acc: usize = withBlockAcc ? <usize>mcp * ncp * 8 : 0;
  return planesA * align16(<usize>mcp * kcp * 2) + planesB * align16(<usize>ncp * kcp * 2) + acc
    + 2 * align16(<usize>ncp * 2) + align16(<usize>kcp * 2) + align16(<usize>mcp * 2)
    + MR * NR * 4 + 16;
}

// Largest blocks that fit the workspace: K block first (fewest passes over C), then N, then M.
// (NC also fixes the order in which the output stage visits elements, and so the f64 sum of
// SF_SUM_ABS: keep this choice as it is.)
function chooseBlocking(M: u32, N: u32, K: u32, workBytes: usize): bool {
  // Capped before rounding up (the caps are multiples of the steps, so the blocks are the same):
  // rounding a dimension near 2^32 up would wrap it to 0.
  KC = roundUp(min(K, kcLimit), 2);
  NC = roundUp(min(N, NC_CACHE), NR);
  MC = roundUp(min(M, MC_CACHE), MR);
  while (workspaceNeed(MC, NC, KC) > workBytes) {
    if (NC > NR) NC = roundUp(NC >>> 1, NR);
    else if (MC > MR) MC = roundUp(MC >>> 1, MR);
    else if (KC > 2) KC = roundUp(KC >>> 1, 2);
    else return false;
  }
  return true;
}

function layoutWorkspace(work: usize, end: usize): void {
  let p = align16(work);
  const mcp = roundUp(MC, MR), ncp = roundUp(NC, NR), kcp = roundUp(KC, 2);
  const aBytes = align16(<usize>mcp * kcp * 2), bBytes = align16(<usize>ncp * kcp * 2);
  panelA = p; p += aBytes;
  panelA2 = p; if (splitA) p += aBytes;
  panelB = p; p += bBytes;
  panelB2 = p; if (splitB) p += bBytes;
  blockAcc = p; if (withBlockAcc) p += <usize>mcp * ncp * 8;
  tile = p; p += MR * NR * 4;
  scratch = p;
  workEnd = end;
  rectEnd = end;
  bAllPanels = 0;
  bAllPanels2 = 0;
  viewCacheBind(0, 0, 0, 0);
}

/** Bytes of workspace a call uses when not constrained (the default blocking). */
export function gemmWorkspaceBytes(M: u32, N: u32, K: u32, aBits: u32, bBits: u32, fused: bool): usize {
  if (aBits < MIN_BITS || aBits > MAX_BITS || bBits < MIN_BITS || bBits > MAX_BITS) return 0;
  setOperands(aBits, bBits);
  withBlockAcc = fused;
  chooseBlocking(M, N, K, <usize>-1);
  return workspaceNeed(MC, NC, KC);
}

// The minimum scratch the blocking reserved (see workspaceNeed).
function scratchNeed(): usize {
  const mcp = roundUp(MC, MR), ncp = roundUp(NC, NR), kcp = roundUp(KC, 2);
  return 2 * align16(<usize>ncp * 2) + align16(<usize>kcp * 2) + align16(<usize>mcp * 2);
}

@inline function nextPow2(x: u32): u32 { return x <= 1 ? 1 : <u32>1 << (32 - clz(x - 1)); }

// Hands the workspace beyond the blocking's need to the line cache and the all-K B panels.
function planExtras(M: u32, K: u32, cacheB: bool): void {
  const floor = scratch + scratchNeed();
  // Line cache for the operand decoded non-transposed through a general IM2COL view: A's rows, or
  // (weight gradient) B's rows. Slots: a power of two >= KH, so the KH lines of one patch row never
  // evict each other; more keep lines across rows and blocks.
  let cv: usize = 0;
  if (!aTransG && viewCacheBytes(viewA, 1) != 0) cv = viewA;
  else if (!bTransG && viewCacheBytes(viewB, 1) != 0) cv = viewB;
  if (cv != 0) {
    const minSlots = nextPow2(<u32>field(cv, V_KH));
    let slots = max<u32>(minSlots, 32);
    while (slots >= minSlots) {
      const bytes = viewCacheBytes(cv, slots);
      if (bytes != 0 && floor <= rectEnd && bytes <= rectEnd - floor) {
        rectEnd -= bytes;
        viewCacheBind(cv, rectEnd, slots, bytes);
        break;
      }
      slots >>>= 1;
    }
  }
  // B for all K blocks, when there are several K blocks and several M blocks to share it.
  if (cacheB && K > KC && M > MC) {
    const ncp = roundUp(NC, NR);
    bBlockBytes = align16(<usize>ncp * KC * 2);
    const blocks = <u64>((K + KC - 1) / KC);
    const planes: u64 = splitB ? 2 : 1;
    const bytes = blocks * <u64>bBlockBytes * planes;
    if (floor <= rectEnd && bytes <= <u64>(rectEnd - floor)) {
      rectEnd -= <usize>bytes;
      bAllPanels = rectEnd;
      if (splitB) bAllPanels2 = rectEnd + <usize>blocks * bBlockBytes;
    }
  }
}

// v = 256*hi + lo elementwise: hi = v >> 8 stays at p, lo = v & 255 goes to p2 (count % 8 == 0).
function splitPanel(p: usize, p2: usize, count: usize): void {
  if (ASC_FEATURE_SIMD) {
    const low8 = i16x8.splat(255);
    for (let o: usize = 0; o < count << 1; o += 16) {
      const v = v128.load(p + o);
      v128.store(p2 + o, v128.and(v, low8));
      v128.store(p + o, i16x8.shr_s(v, 8));
    }
  } else {
    for (let o: usize = 0; o < count << 1; o += 2) {
      const v = <i32>load<i16>(p + o);
      store<i16>(p2 + o, <i16>(v & 255));
      store<i16>(p + o, <i16>(v >> 8));
    }
  }
}

// A panel rows [0, mcp) x k [0, kcp) from op(A) rows [ic, ic+mc) x k [pc, pc+kc). Only what the
// micro-kernel reads is written: rows >= mc and the odd k column are zeroed, nothing else is cleared.
function packA(ic: u32, mc: u32, pc: u32, kc: u32): void {
  const mcp = roundUp(mc, MR), kcp = roundUp(kc, 2);
  const rowBytes = <usize>kcp * 2;
  if (!aTransG) {
    viewDecodeRect(viewA, ic, mc, pc, kc, panelA, kcp);
  } else {
    // A is stored K x M: decode stored rows [pc, pc+kc), columns [ic, ic+mc) a chunk at a time and
    // transpose them into the panel.
    const chunk = max<u32>(1, <u32>((rectEnd - scratch) / (<usize>mc << 1)));
    const ldBytes = <usize>mc << 1;
    for (let k0: u32 = 0; k0 < kc; k0 += chunk) {
      const cnt = min(chunk, kc - k0);
      viewDecodeRect(viewA, pc + k0, cnt, ic, mc, scratch, mc);
      for (let r: u32 = 0; r < mc; r++) {
        const dst = panelA + <usize>r * rowBytes + (<usize>k0 << 1);
        let src = scratch + (<usize>r << 1);
        for (let k: u32 = 0; k < cnt; k++) {
          store<i16>(dst + (<usize>k << 1), load<i16>(src));
          src += ldBytes;
        }
      }
    }
  }
  if (kc & 1) {
    for (let r: u32 = 0; r < mc; r++) store<i16>(panelA + <usize>r * rowBytes + (<usize>kc << 1), 0);
  }
  if (mc < mcp) memory.fill(panelA + <usize>mc * rowBytes, 0, <usize>(mcp - mc) * rowBytes);
  if (splitA) splitPanel(panelA, panelA2, <usize>mcp * kcp);
}

// B panel (at pb, pb2) for op(B) k [pc, pc+kc) x columns [jc, jc+nc). Every byte of the panel is
// written (padding columns and the odd k row as zeros).
function packB(pb: usize, pb2: usize, jc: u32, nc: u32, pc: u32, kc: u32): void {
  const ncp = roundUp(nc, NR), kcp = roundUp(kc, 2);
  const pairs = kcp >>> 1;
  const groupBytes = <usize>pairs * 32;
  const groups = ncp >>> 3;
  if (!bTransG) {
    // B is stored K x N: decode a chunk of stored rows compactly (ld = nc, so a 1x1 tensor view's
    // rows decode as one run), then interleave rows 2p and 2p+1, zeroing columns >= nc. The
    // 16-byte loads of a partial group may read past a row's end (into the next row, or the 16
    // bytes kept free after the chunk), never past the scratch.
    const ldBytes = <usize>nc << 1;
    const chunk = max<u32>(2, <u32>((rectEnd - scratch - 16) / ldBytes) & ~1);
    const fullGroups = nc >>> 3, tailCols = nc & 7;
    for (let k0: u32 = 0; k0 < kc; k0 += chunk) {
      const cnt = min(chunk, kc - k0);
      viewDecodeRect(viewB, pc + k0, cnt, jc, nc, scratch, nc);
      if (cnt & 1) memory.fill(scratch + <usize>cnt * ldBytes, 0, ldBytes);
      const chunkPairs = (cnt + 1) >>> 1;
      for (let q: u32 = 0; q < chunkPairs; q++) {
        const p = (k0 >>> 1) + q;
        const s0row = scratch + <usize>(2 * q) * ldBytes;
        const s1row = s0row + ldBytes;
        const dst = pb + (<usize>p << 5);
        if (ASC_FEATURE_SIMD) {
          for (let g: u32 = 0; g < fullGroups; g++) {
            const v0 = v128.load(s0row + (<usize>g << 4)), v1 = v128.load(s1row + (<usize>g << 4));
            const o = dst + <usize>g * groupBytes;
            v128.store(o, i16x8.shuffle(v0, v1, 0, 8, 1, 9, 2, 10, 3, 11));
            v128.store(o, i16x8.shuffle(v0, v1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
          }
          if (tailCols != 0) {
            // Lanes t < tailCols keep their value: (t - tailCols) is negative there.
            const keep = i16x8.lt_s(i16x8(0, 1, 2, 3, 4, 5, 6, 7), i16x8.splat(<i16>tailCols));
            const v0 = v128.and(v128.load(s0row + (<usize>fullGroups << 4)), keep);
            const v1 = v128.and(v128.load(s1row + (<usize>fullGroups << 4)), keep);
            const o = dst + <usize>fullGroups * groupBytes;
            v128.store(o, i16x8.shuffle(v0, v1, 0, 8, 1, 9, 2, 10, 3, 11));
            v128.store(o, i16x8.shuffle(v0, v1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
          }
        } else {
          for (let g: u32 = 0; g < groups; g++) {
            const o = dst + <usize>g * groupBytes;
            for (let t: u32 = 0; t < 8; t++) {
              const col = (g << 3) + t;
              let x0: i16 = 0, x1: i16 = 0;
              if (col < nc) {
                x0 = load<i16>(s0row + (<usize>col << 1));
                x1 = load<i16>(s1row + (<usize>col << 1));
              }
              store<i16>(o + (<usize>t << 2), x0);
              store<i16>(o + (<usize>t << 2), x1, 2);
            }
          }
        }
      }
    }
  } else {
    // B is stored N x K: stored row j is column j of op(B), k contiguous; scatter its pairs.
    const ldBytes = <usize>kcp << 1;
    const chunk = max<u32>(1, <u32>((rectEnd - scratch) / ldBytes));
    for (let j0: u32 = 0; j0 < nc; j0 += chunk) {
      const cnt = min(chunk, nc - j0);
      viewDecodeRect(viewB, jc + j0, cnt, pc, kc, scratch, kcp);
      for (let jj: u32 = 0; jj < cnt; jj++) {
        const j = j0 + jj;
        const src = scratch + <usize>jj * ldBytes;
        if (kc & 1) store<i16>(src + (<usize>kc << 1), 0);
        const colOff = pb + <usize>(j >>> 3) * groupBytes + (<usize>(j & 7) << 2);
        for (let p: u32 = 0; p < pairs; p++) {
          store<u32>(colOff + (<usize>p << 5), load<u32>(src + (<usize>p << 2)));
        }
      }
    }
    for (let j = nc; j < ncp; j++) {
      const colOff = pb + <usize>(j >>> 3) * groupBytes + (<usize>(j & 7) << 2);
      for (let p: u32 = 0; p < pairs; p++) store<u32>(colOff + (<usize>p << 5), 0);
    }
  }
  if (splitB) splitPanel(pb, pb2, <usize>ncp * kcp);
}

// C[0..mr, 0..nr] += scale * (A panel rows x B panel group), exactly.
function microkernel(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, mr: u32, nr: u32, scale: f64): void {
  if (ASC_FEATURE_SIMD) {
    let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    for (let p: u32 = 0; p < pairs; p++) {
      const b0 = v128.load(b), b1 = v128.load(b, 16);
      let va = v128.load32_splat(a0);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(va, b0));
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a1);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(va, b0));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a2);
      c20 = i32x4.add(c20, i32x4.dot_i16x8_s(va, b0));
      c21 = i32x4.add(c21, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a3);
      c30 = i32x4.add(c30, i32x4.dot_i16x8_s(va, b0));
      c31 = i32x4.add(c31, i32x4.dot_i16x8_s(va, b1));
      a0 += 4; a1 += 4; a2 += 4; a3 += 4;
      b += 32;
    }
    if (mr == MR && nr == NR) {
      const s = f64x2.splat(scale);
      addRow(c, c00, c01, s);
      addRow(c + ldc, c10, c11, s);
      addRow(c + 2 * ldc, c20, c21, s);
      addRow(c + 3 * ldc, c30, c31, s);
      return;
    }
    v128.store(tile, c00); v128.store(tile, c01, 16);
    v128.store(tile, c10, 32); v128.store(tile, c11, 48);
    v128.store(tile, c20, 64); v128.store(tile, c21, 80);
    v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  } else {
    scalarTile(a, lda, b, pairs, tile, NR << 2, false);
  }
  for (let r: u32 = 0; r < mr; r++) {
    for (let j: u32 = 0; j < nr; j++) {
      const cp = c + <usize>r * ldc + (<usize>j << 3);
      store<f64>(cp, load<f64>(cp) + scale * <f64>load<i32>(tile + (<usize>(r * NR + j) << 2)));
    }
  }
}

// Scalar build: two columns per i64 multiply. A pair word of the B panel holds
// [b(2p,j) b(2p+1,j) b(2p,j') b(2p+1,j')]; its even codes b(2p,j) + 2^32 b(2p,j') (sign-extended
// in place) times a(i,2p), plus the odd ones times a(i,2p+1), summed over the block, is
// S(i,j) + 2^32 S(i,j') exactly: |S| < 2^31 by the K block's overflow bound, so the low word
// sign-extended is S(i,j) and the rest S(i,j'). 16 multiplies per pair for a 4x4 sub-tile
// instead of 32.
const LANES: u64 = 0x0000ffff0000ffff;
const SIGNS: u64 = 0x0000800000008000;
@inline function evenCodes(x: u64): i64 { const y = x & LANES; return <i64>(y - ((y & SIGNS) << 1)); }
@inline function oddCodes(x: u64): i64 { const y = (x >> 16) & LANES; return <i64>(y - ((y & SIGNS) << 1)); }
@inline function lowSum(acc: i64): i32 { return <i32>acc; }
@inline function highSum(acc: i64): i32 { return <i32>((acc - <i64><i32>acc) >> 32); }

// The 4x8 tile of the scalar build as i32 at t (row stride tld bytes): stored, or added when add.
@inline function scalarTile(a: usize, lda: usize, b: usize, pairs: u32, t: usize, tld: usize, add: bool): void {
  for (let j: u32 = 0; j < NR; j += 4) {
    let bp = b + (<usize>j << 2);
    let ap = a;
    let s00: i64 = 0, s01: i64 = 0, s10: i64 = 0, s11: i64 = 0;
    let s20: i64 = 0, s21: i64 = 0, s30: i64 = 0, s31: i64 = 0;
    for (let p: u32 = 0; p < pairs; p++) {
      const x0 = load<u64>(bp), x1 = load<u64>(bp, 8);
      const e0 = evenCodes(x0), o0 = oddCodes(x0), e1 = evenCodes(x1), o1 = oddCodes(x1);
      let u = <i64>load<i16>(ap), w = <i64>load<i16>(ap, 2);
      s00 += u * e0 + w * o0; s01 += u * e1 + w * o1;
      u = <i64>load<i16>(ap + lda); w = <i64>load<i16>(ap + lda, 2);
      s10 += u * e0 + w * o0; s11 += u * e1 + w * o1;
      u = <i64>load<i16>(ap + 2 * lda); w = <i64>load<i16>(ap + 2 * lda, 2);
      s20 += u * e0 + w * o0; s21 += u * e1 + w * o1;
      u = <i64>load<i16>(ap + 3 * lda); w = <i64>load<i16>(ap + 3 * lda, 2);
      s30 += u * e0 + w * o0; s31 += u * e1 + w * o1;
      ap += 4;
      bp += 32;
    }
    storeLanes(t + (<usize>j << 2), s00, s01, add);
    storeLanes(t + tld + (<usize>j << 2), s10, s11, add);
    storeLanes(t + 2 * tld + (<usize>j << 2), s20, s21, add);
    storeLanes(t + 3 * tld + (<usize>j << 2), s30, s31, add);
  }
}

@inline function storeLanes(t: usize, s0: i64, s1: i64, add: bool): void {
  let v0 = lowSum(s0), v1 = highSum(s0), v2 = lowSum(s1), v3 = highSum(s1);
  if (add) { v0 += load<i32>(t); v1 += load<i32>(t, 4); v2 += load<i32>(t, 8); v3 += load<i32>(t, 12); }
  store<i32>(t, v0); store<i32>(t, v1, 4); store<i32>(t, v2, 8); store<i32>(t, v3, 12);
}

// The fused i32 block accumulator: C (full 4x8 tile, ldc bytes per row of i32) = or += A x B.
function microkernelI32(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, first: bool, mr: u32): void {
  if (ASC_FEATURE_SIMD && mr <= 2) {
    // Only two rows of the tile are real (M = 6 pads to 8): half the dot products. The other rows
    // of the block accumulator are never read.
    microkernelI32Rows2(a, lda, b, pairs, c, ldc, first);
    return;
  }
  if (ASC_FEATURE_SIMD) {
    let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    for (let p: u32 = 0; p < pairs; p++) {
      const b0 = v128.load(b), b1 = v128.load(b, 16);
      let va = v128.load32_splat(a0);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(va, b0));
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a1);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(va, b0));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a2);
      c20 = i32x4.add(c20, i32x4.dot_i16x8_s(va, b0));
      c21 = i32x4.add(c21, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a3);
      c30 = i32x4.add(c30, i32x4.dot_i16x8_s(va, b0));
      c31 = i32x4.add(c31, i32x4.dot_i16x8_s(va, b1));
      a0 += 4; a1 += 4; a2 += 4; a3 += 4;
      b += 32;
    }
    const c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
    if (!first) {
      c00 = i32x4.add(c00, v128.load(c)); c01 = i32x4.add(c01, v128.load(c, 16));
      c10 = i32x4.add(c10, v128.load(c1)); c11 = i32x4.add(c11, v128.load(c1, 16));
      c20 = i32x4.add(c20, v128.load(c2)); c21 = i32x4.add(c21, v128.load(c2, 16));
      c30 = i32x4.add(c30, v128.load(c3)); c31 = i32x4.add(c31, v128.load(c3, 16));
    }
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c1, c10); v128.store(c1, c11, 16);
    v128.store(c2, c20); v128.store(c2, c21, 16);
    v128.store(c3, c30); v128.store(c3, c31, 16);
  } else {
    scalarTile(a, lda, b, pairs, c, ldc, !first);
  }
}

function microkernelI32Rows2(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, first: bool): void {
  if (ASC_FEATURE_SIMD) {
    let a0 = a, a1 = a + lda;
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    for (let p: u32 = 0; p < pairs; p++) {
      const b0 = v128.load(b), b1 = v128.load(b, 16);
      let va = v128.load32_splat(a0);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(va, b0));
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a1);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(va, b0));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(va, b1));
      a0 += 4; a1 += 4;
      b += 32;
    }
    const c1 = c + ldc;
    if (!first) {
      c00 = i32x4.add(c00, v128.load(c)); c01 = i32x4.add(c01, v128.load(c, 16));
      c10 = i32x4.add(c10, v128.load(c1)); c11 = i32x4.add(c11, v128.load(c1, 16));
    }
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c1, c10); v128.store(c1, c11, 16);
  }
}

@inline function addRow(c: usize, lo: v128, hi: v128, s: v128): void {
  const hiSwapped = i32x4.shuffle(hi, hi, 2, 3, 0, 1);
  const loSwapped = i32x4.shuffle(lo, lo, 2, 3, 0, 1);
  v128.store(c, f64x2.add(v128.load(c), f64x2.mul(s, f64x2.convert_low_i32x4_s(lo))));
  v128.store(c, f64x2.add(v128.load(c, 16), f64x2.mul(s, f64x2.convert_low_i32x4_s(loSwapped))), 16);
  v128.store(c, f64x2.add(v128.load(c, 32), f64x2.mul(s, f64x2.convert_low_i32x4_s(hi))), 32);
  v128.store(c, f64x2.add(v128.load(c, 48), f64x2.mul(s, f64x2.convert_low_i32x4_s(hiSwapped))), 48);
}

// Zero kernel rows of the A rows just packed (views.ts rectZeroMasks), when A is an IM2COL view
// read through the line cache: padding and dilation make whole kernel rows of a patch zero (the
// input error of a padded conv: 29% of lenet5's second conv's K), and a tile whose four rows share
// such a kernel row skips its K range. Skipping exact zeros leaves every sum as it was.
// The masks (u32 per A row) and the pair ranges of a tile live at the start of the scratch, which
// packing a non-transposed A does not use; without room for them nothing is skipped. (No static
// buffers: the module's data size is part of every memory plan.)
let zeroMasks: usize = 0, pairRanges: usize = 0;
let useZeroMasks: bool = false;
let zeroSeg: u32 = 0;
const MAX_RANGES: u32 = 34;

// The fused block in i32: all full tiles of the (mcp x ncp) block, stored (first K block) or added.
function multiplyBlockI32(pb: usize, mc: u32, nc: u32, pc: u32, kc: u32, c: usize, ldc: usize, first: bool): void {
  const kcp = roundUp(kc, 2);
  const pairs = kcp >>> 1;
  const lda = <usize>kcp << 1;
  const groupBytes = <usize>kcp << 4;
  for (let ir: u32 = 0; ir < mc; ir += MR) {
    let skip: u32 = 0;
    if (useZeroMasks) {
      skip = 0xffffffff;
      for (let r = ir; r < ir + MR; r++) if (r < mc) skip &= load<u32>(zeroMasks + (<usize>r << 2));
    }
    const a = panelA + <usize>ir * lda;
    if (skip == 0) {
      for (let jr: u32 = 0; jr < nc; jr += NR) {
        microkernelI32(a, lda, pb + <usize>(jr >>> 3) * groupBytes, pairs, c + <usize>ir * ldc + (<usize>jr << 2), ldc, first, min(MR, mc - ir));
      }
      continue;
    }
    // The pair ranges [p0, p1) this tile needs: kernel rows not in `skip`, clipped to the K block.
    const seg = zeroSeg;
    let ranges: u32 = 0;
    const ky0 = pc / seg, ky1 = (pc + kc - 1) / seg;
    let runStart: i32 = -1;
    for (let ky = ky0; ky <= ky1 + 1; ky++) {
      const zero = ky > ky1 || (ky < 32 && (skip >>> ky) & 1) != 0;
      if (!zero) {
        if (runStart < 0) runStart = max<i32>(<i32>(ky * seg) - <i32>pc, 0);
        continue;
      }
      if (runStart >= 0) {
        const runEnd = min<i32>(<i32>(ky * seg) - <i32>pc, <i32>kc);
        const p0 = <u32>runStart >>> 1, p1 = (<u32>runEnd + 1) >>> 1;
        if (ranges > 0 && load<u32>(pairRanges + (<usize>(ranges - 1) << 3), 4) >= p0) {
          store<u32>(pairRanges + (<usize>(ranges - 1) << 3), p1, 4);
        } else {
          store<u32>(pairRanges + (<usize>ranges << 3), p0);
          store<u32>(pairRanges + (<usize>ranges << 3), p1, 4);
          ranges++;
        }
        runStart = -1;
      }
    }
    for (let jr: u32 = 0; jr < nc; jr += NR) {
      const b = pb + <usize>(jr >>> 3) * groupBytes;
      const ct = c + <usize>ir * ldc + (<usize>jr << 2);
      if (ranges == 0 && first) {
        for (let t: u32 = 0; t < MR; t++) memory.fill(ct + <usize>t * ldc, 0, NR << 2);
      }
      for (let q: u32 = 0; q < ranges; q++) {
        const p0 = load<u32>(pairRanges + (<usize>q << 3)), p1 = load<u32>(pairRanges + (<usize>q << 3), 4);
        microkernelI32(a + (<usize>p0 << 2), lda, b + (<usize>p0 << 5), p1 - p0, ct, ldc, first && q == 0, min(MR, mc - ir));
      }
    }
  }
}

// All micro-tiles of one (mc x nc) block for K block kc, accumulated into c (leading dim ldc).
function multiplyBlock(pb: usize, pb2: usize, mc: u32, nc: u32, kc: u32, c: usize, ldc: usize, fullTiles: bool): void {
  const kcp = roundUp(kc, 2);
  const lda = <usize>kcp << 1;
  const groupBytes = <usize>kcp << 4;
  const aScaleHi: f64 = splitA ? 256 : 1, bScaleHi: f64 = splitB ? 256 : 1;
  for (let jr: u32 = 0; jr < nc; jr += NR) {
    const nr = fullTiles ? NR : min(NR, nc - jr);
    const bOff = <usize>(jr >>> 3) * groupBytes;
    for (let ir: u32 = 0; ir < mc; ir += MR) {
      const mr = fullTiles ? MR : min(MR, mc - ir);
      const aOff = <usize>ir * lda;
      const cp = c + <usize>ir * ldc + (<usize>jr << 3);
      microkernel(panelA + aOff, lda, pb + bOff, kcp >>> 1, cp, ldc, mr, nr, aScaleHi * bScaleHi);
      if (splitA) microkernel(panelA2 + aOff, lda, pb + bOff, kcp >>> 1, cp, ldc, mr, nr, bScaleHi);
      if (splitB) microkernel(panelA + aOff, lda, pb2 + bOff, kcp >>> 1, cp, ldc, mr, nr, aScaleHi);
    }
  }
}

// Validates the operand views of a call and derives (M, N, K); returns an error code or OK.
let gM: u32 = 0, gN: u32 = 0, gK: u32 = 0;
function bindOperands(a: usize, b: usize): i32 {
  if (!inMemory(a, VIEW_FIELDS * 4) || !inMemory(b, VIEW_FIELDS * 4)) return GEMM_ERR_RANGE;
  const aBits = field(a, V_BITS), bBits = field(b, V_BITS);
  if (aBits < <i32>MIN_BITS || aBits > <i32>MAX_BITS || bBits < <i32>MIN_BITS || bBits > <i32>MAX_BITS) return GEMM_ERR_BITS;
  if (viewRowTooLong(a) || viewRowTooLong(b)) return GEMM_ERR_RANGE;
  if (!viewPrepare(a) || !viewPrepare(b)) return GEMM_ERR_VIEW;
  viewA = a; viewB = b;
  aTransG = field(a, V_TRANS) != 0;
  bTransG = field(b, V_TRANS) != 0;
  const aRows = <u32>field(a, V_ROWS), aCols = <u32>field(a, V_COLS);
  const bRows = <u32>field(b, V_ROWS), bCols = <u32>field(b, V_COLS);
  gM = aTransG ? aCols : aRows;
  gK = aTransG ? aRows : aCols;
  gN = bTransG ? bRows : bCols;
  const Kb = bTransG ? bCols : bRows;
  if (gK != Kb) return GEMM_ERR_SHAPE;
  if (!inMemory(<usize>field(a, V_BASE), viewDataBytes(a)) || !inMemory(<usize>field(b, V_BASE), viewDataBytes(b))) return GEMM_ERR_RANGE;
  setOperands(<u32>aBits, <u32>bBits);
  return GEMM_OK;
}

function bindWorkspace(work: usize, workBytes: usize): i32 {
  if (!inMemory(work, <f64>workBytes)) return GEMM_ERR_RANGE;
  const aligned = align16(work);
  if (aligned - work >= workBytes) return GEMM_ERR_WORKSPACE;
  // workspaceNeed already counts 16 bytes of alignment slack; only the actual gap is spent.
  if (!chooseBlocking(gM, gN, gK, workBytes + 16 - (aligned - work))) return GEMM_ERR_WORKSPACE;
  layoutWorkspace(aligned, work + workBytes);
  return GEMM_OK;
}

/**
 * C = op(A) * op(B) exactly into a row-major M x N f64 matrix at `c`. A and B are views (views.ts).
 * C is the accumulator: the loop order packs each B block once.
 */
export function gemmViews(a: usize, b: usize, c: usize, work: usize, workBytes: usize): i32 {
  return gemmViewsPanels(a, b, c, work, workBytes, 0, 0);
}

// Pre-packed B (onnxruntime's constant-B case: the same weights against many activations). The B
// panels of every (N block, K block) are kept in a caller's buffer, `panels`, laid out by block
// index: panel (jb, kb) at (jb * kBlocks + kb) * stride, each block's planes at `planeBytes` apart,
// stride = planes * align16(NCp * KCp * 2) for the full block sizes. gemmPrepackB fills it with
// exactly what packB would write in a call; gemmViewsPanels then reads the panels instead of
// packing. The blocking is a function of (M, N, K, widths, workBytes) only, so both see the same
// blocks when given the same arguments, and the products are the same sums of the same panel
// entries: bit for bit the result of gemmViews.
let panelPlane: usize = 0, panelStride: usize = 0, panelKBlocks: u32 = 0;

// Panel geometry for the blocking chosen by bindWorkspace; returns the bytes all panels need.
function panelsNeed(N: u32, K: u32): u64 {
  panelPlane = align16(<usize>roundUp(NC, NR) * roundUp(KC, 2) * 2);
  panelStride = panelPlane * (splitB ? 2 : 1);
  // In u64: K or N near 2^32 would wrap the rounding up.
  panelKBlocks = <u32>((<u64>K + KC - 1) / KC);
  const nBlocks = (<u64>N + NC - 1) / NC;
  return nBlocks * <u64>panelKBlocks * <u64>panelStride;
}

@inline function panelAt(panels: usize, jc: u32, pc: u32): usize {
  return panels + (<usize>(jc / NC) * panelKBlocks + pc / KC) * panelStride;
}

/** Bytes of the pre-packed B panels for the default blocking (the workspace gemmWorkspaceBytes gives). */
export function gemmBPanelsBytes(M: u32, N: u32, K: u32, aBits: u32, bBits: u32): usize {
  if (aBits < MIN_BITS || aBits > MAX_BITS || bBits < MIN_BITS || bBits > MAX_BITS) return 0;
  if (M == 0 || N == 0 || K == 0) return 0; // an empty product packs nothing
  setOperands(aBits, bBits);
  withBlockAcc = false;
  chooseBlocking(M, N, K, <usize>-1);
  const bytes = panelsNeed(N, K);
  return bytes > <u64>0x7fffffff ? 0 : <usize>bytes;
}

/** Packs every B panel of op(A) * op(B) into `panels` (panelsBytes long); C is not touched. */
export function gemmPrepackB(a: usize, b: usize, work: usize, workBytes: usize, panels: usize, panelsBytes: usize): i32 {
  let status = bindOperands(a, b);
  if (status != GEMM_OK) return status;
  const M = gM, N = gN, K = gK;
  if (M == 0 || N == 0 || K == 0) return GEMM_OK;
  withBlockAcc = false;
  status = bindWorkspace(work, workBytes);
  if (status != GEMM_OK) return status;
  if (panelsNeed(N, K) > <u64>panelsBytes) return GEMM_ERR_WORKSPACE;
  if (!inMemory(panels, <f64>panelsBytes)) return GEMM_ERR_RANGE;
  planExtras(M, K, false);
  for (let jc: u32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc: u32 = 0; pc < K; pc += KC) {
      const pb = panelAt(panels, jc, pc);
      packB(pb, pb + panelPlane, jc, nc, pc, min(KC, K - pc));
    }
  }
  viewCacheBind(0, 0, 0, 0);
  return GEMM_OK;
}

/** gemmViews, reading B's panels from `panels` (filled by gemmPrepackB with the same arguments)
 *  when panels != 0. */
export function gemmViewsPanels(a: usize, b: usize, c: usize, work: usize, workBytes: usize, panels: usize, panelsBytes: usize): i32 {
  let status = bindOperands(a, b);
  if (status != GEMM_OK) return status;
  const M = gM, N = gN, K = gK;
  if (!inMemory(c, <f64>M * <f64>N * 8) || !inMemory(work, <f64>workBytes)) return GEMM_ERR_RANGE;
  if (panels != 0 && !inMemory(panels, <f64>panelsBytes)) return GEMM_ERR_RANGE;
  // Relaxed-SIMD build: the i8 path where the operands fit (gemm-relaxed.ts); else on as before.
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (gemmRelaxed(a, b, c, M, N, K, work, workBytes)) return GEMM_OK;
  }
  const ldc = <usize>N << 3;
  withBlockAcc = false;
  if (M != 0 && N != 0 && K != 0) {
    status = bindWorkspace(work, workBytes);
    if (status != GEMM_OK) return status;
    if (panels != 0 && panelsNeed(N, K) > <u64>panelsBytes) return GEMM_ERR_WORKSPACE;
  }
  memory.fill(c, 0, <usize>M * ldc);
  if (M == 0 || N == 0 || K == 0) return GEMM_OK;
  planExtras(M, K, false);
  for (let jc: u32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc: u32 = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      let pb = panelB, pb2 = panelB2;
      if (panels != 0) {
        pb = panelAt(panels, jc, pc);
        pb2 = pb + panelPlane;
      } else {
        packB(pb, pb2, jc, nc, pc, kc);
      }
      for (let ic: u32 = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(ic, mc, pc, kc);
        multiplyBlock(pb, pb2, mc, nc, kc, c + <usize>ic * ldc + (<usize>jc << 3), ldc, false);
      }
    }
  }
  viewCacheBind(0, 0, 0, 0);
  return GEMM_OK;
}

// ---------------------------------------------------------------------------------------------
// Fused output stages. The product is accumulated for one (MC x NC) block over all of K in a
// block accumulator (f64, exact), then the stage consumes it: nothing M x N is ever held, which is
// what lets the weight gradient be applied without materialising it (DESIGN 5).

export const STAGE_STORE: i32 = 0;   // C f64 (tests)
export const STAGE_MAXABS: i32 = 1;  // max |acc + bias|: the first pass of exact scaling
export const STAGE_REQUANT: i32 = 2; // bias, shift, round, clamp, ReLU, write codes
export const STAGE_UPDATE: i32 = 3;  // W += round(m * acc), the progress statistic

// Stage descriptor fields (i32 index unless f64; see docs/abi.md).
export const S_MODE: u32 = 0, S_RELU: u32 = 1, S_ROUNDING: u32 = 2, S_SEED: u32 = 3, S_STEP: u32 = 4;
export const S_STREAM: u32 = 5, S_BIAS: u32 = 6, S_BIAS_BITS: u32 = 7, S_OUT_BITS: u32 = 8, S_C: u32 = 9;
// REQUANT: also take the MAXABS maximum into SF_MAX_ABS (a pass at a guessed exponent that is kept
// when the maximum confirms the guess: exact scaling in one pass).
export const S_TRACK_MAX: u32 = 10;
export const S_F64: u32 = 6; // f64 fields start at byte 48
export const SF_BIAS_SCALE: u32 = 0; // bias code -> accumulator units
export const SF_SCALE: u32 = 1;      // accumulator units -> output codes (REQUANT) or update codes (UPDATE)
export const SF_MAX_ABS: u32 = 2;    // out: max |acc + bias| in accumulator units
export const SF_SUM_ABS: u32 = 3;    // out: sum |scale * acc| (UPDATE: sum of |lr*g|/step)
export const SF_SATURATED: u32 = 4;  // out: codes clamped
export const SF_CHANGED: u32 = 5;    // out: codes changed (UPDATE)
export const SF_COUNT: u32 = 6;      // out: elements seen
export const STAGE_BYTES: u32 = 48 + 8 * 8;

export const ROUND_STOCHASTIC: i32 = 0; // the mode numbering every kernel shares
export const ROUND_NEAREST: i32 = 1;

@inline function sfield(s: usize, f: u32): i32 { return load<i32>(s + (<usize>f << 2)); }
@inline function sf64(s: usize, f: u32): f64 { return load<f64>(s + 48 + (<usize>f << 3)); }
@inline function setSf64(s: usize, f: u32, x: f64): void { store<f64>(s + 48 + (<usize>f << 3), x); }

let outView: usize = 0;
// Kept so that the module's static data (and so __heap_base, which every memory plan starts
// from) is the size it was: a plan and its workspace must not move with a kernel change.
const reservedSlot: usize = memory.data(8, 8);

const GOLDEN: u64 = 0x9e3779b97f4a7c15;

// randomUnit(key, index) of random.ts for z = key + (index + 1) * GOLDEN, which the stage steps by
// GOLDEN along a row instead of recomputing. The 53-bit integer converts exactly either way, and the
// signed conversion is the cheaper instruction.
@inline function unitAt(z: u64): f64 {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  z ^= z >> 31;
  return <f64>(<i64>(z >> 11)) * 1.1102230246251565e-16; // 2^-53
}

// Where a run of output columns lives. An output row's columns [jc, jc+nc) are consecutive codes
// of one packed line for PLAIN and 1x1 views; for the whole-image view they run on into the next
// line every W*C codes (outWrap). Rows of a block are visited in order, so the position of row r+1
// follows from row r's without divisions (nextOutRow).
let outRow: usize = 0, outCol: u32 = 0, outWrap: u32 = 0, outStride: usize = 0;
let outKind: i32 = 0, outX: u32 = 0, outW: u32 = 0, outC: u32 = 0, outCol0: u32 = 0, outRowStep: usize = 0;
const OUT_PLAIN: i32 = 0, OUT_POINT: i32 = 1, OUT_WHOLE: i32 = 2;

function locateOut(row: u32, col: u32): void {
  const v = outView;
  const base = <usize>field(v, V_BASE);
  outStride = <usize>field(v, V_STRIDE);
  outWrap = 0xffffffff;
  if (field(v, V_KIND) == KIND_PLAIN) {
    outKind = OUT_PLAIN;
    outRow = base + <usize>row * outStride;
    outCol = col;
    outRowStep = outStride;
    return;
  }
  const c = <u32>field(v, V_C), w = <u32>field(v, V_W);
  if (field(v, V_KH) == 1 && field(v, V_KW) == 1) {
    // As viewLocate: row (n, y, x) is line r / W, column x*C + c.
    outKind = OUT_POINT;
    outRow = base + <usize>(row / w) * outStride;
    outX = row % w;
    outW = w;
    outC = c;
    outCol0 = col;
    outCol = outX * c + col;
    return;
  }
  // Whole-image view: row n, column (y, x, c).
  const lineLen = w * c, h = <u32>field(v, V_H);
  outKind = OUT_WHOLE;
  outRow = base + <usize>(row * h + col / lineLen) * outStride;
  outCol = col % lineLen;
  outWrap = lineLen;
  outRowStep = <usize>h * outStride;
}

@inline function nextOutRow(): void {
  if (outKind == OUT_POINT) {
    if (++outX == outW) {
      outX = 0;
      outRow += outStride;
      outCol = outCol0;
    } else {
      outCol += outC;
    }
  } else {
    outRow += outRowStep;
  }
}

// MAXABS over an i32 block: the largest and smallest sum of each column (i32 max/min, four columns
// per instruction in SIMD), then per column in f64 only those two. Exact: f64(i32) and adding the
// column's bias are monotonic, so the extreme sums give the extreme values, and |v| over a column
// peaks at one of its two ends.
function maxAbsI32(m: f64, mc: u32, nc: u32, ld: usize, bias: usize, hasBias: bool, biasScale: f64, relu: bool): f64 {
  for (let j0: u32 = 0; j0 < nc; j0 += 4) {
    const col = blockAcc + (<usize>j0 << 2);
    let h0: i32 = 0, h1: i32 = 0, h2: i32 = 0, h3: i32 = 0, l0: i32 = 0, l1: i32 = 0, l2: i32 = 0, l3: i32 = 0;
    if (ASC_FEATURE_SIMD) {
      let hi4 = v128.load(col);
      let lo4 = hi4;
      for (let r: u32 = 1; r < mc; r++) {
        const v = v128.load(col + <usize>r * ld);
        hi4 = i32x4.max_s(hi4, v);
        lo4 = i32x4.min_s(lo4, v);
      }
      h0 = i32x4.extract_lane(hi4, 0); h1 = i32x4.extract_lane(hi4, 1); h2 = i32x4.extract_lane(hi4, 2); h3 = i32x4.extract_lane(hi4, 3);
      l0 = i32x4.extract_lane(lo4, 0); l1 = i32x4.extract_lane(lo4, 1); l2 = i32x4.extract_lane(lo4, 2); l3 = i32x4.extract_lane(lo4, 3);
    } else {
      h0 = l0 = load<i32>(col); h1 = l1 = load<i32>(col, 4); h2 = l2 = load<i32>(col, 8); h3 = l3 = load<i32>(col, 12);
      for (let r: u32 = 1; r < mc; r++) {
        const p = col + <usize>r * ld;
        let v = load<i32>(p); if (v > h0) h0 = v; if (v < l0) l0 = v;
        v = load<i32>(p, 4); if (v > h1) h1 = v; if (v < l1) l1 = v;
        v = load<i32>(p, 8); if (v > h2) h2 = v; if (v < l2) l2 = v;
        v = load<i32>(p, 12); if (v > h3) h3 = v; if (v < l3) l3 = v;
      }
    }
    const n = min<u32>(4, nc - j0);
    for (let t: u32 = 0; t < n; t++) {
      const hv = t == 0 ? h0 : t == 1 ? h1 : t == 2 ? h2 : h3;
      const lv = t == 0 ? l0 : t == 1 ? l1 : t == 2 ? l2 : l3;
      let hi = <f64>hv, lo = <f64>lv;
      if (hasBias) {
        const b = biasScale * <f64>load<i16>(bias + (<usize>(j0 + t) << 1));
        hi += b;
        lo += b;
      }
      m = relu ? max(m, hi) : max(m, max(abs(hi), abs(lo)));
    }
  }
  return m;
}

@inline function accAt(row: usize, j: u32): f64 {
  return accI32 ? <f64>load<i32>(row + (<usize>j << 2)) : load<f64>(row + (<usize>j << 3));
}

// MAXABS of the block (and of a REQUANT block with S_TRACK_MAX): SF_MAX_ABS = max(SF_MAX_ABS,
// max |acc + bias|), or of its positive side under a fused ReLU. One function for both modes, so a
// REQUANT pass reports exactly the maximum the MAXABS pass would.
function blockMaxAbs(stage: usize, mc: u32, nc: u32, ld: usize, bias: usize, biasAt: usize, biasScale: f64, relu: bool): void {
  // With a fused ReLU only the positive side survives, so only it sets the scale.
  let m = sf64(stage, SF_MAX_ABS);
  if (accI32) {
    setSf64(stage, SF_MAX_ABS, maxAbsI32(m, mc, nc, ld, bias, biasAt != 0, biasScale, relu));
    return;
  }
  if (ASC_FEATURE_SIMD) {
    // Two columns at a time; f64x2.max is f64.max per lane, and the maximum of a set does not
    // depend on the order it is taken in.
    const hasBias = biasAt != 0;
    const bs = f64x2.splat(biasScale);
    let mv = f64x2.splat(m);
    for (let r: u32 = 0; r < mc; r++) {
      const accRow = blockAcc + <usize>r * ld;
      let j: u32 = 0;
      for (; j + 2 <= nc; j += 2) {
        let v = accI32
          ? f64x2.convert_low_i32x4_s(v128.load64_zero(accRow + (<usize>j << 2)))
          : v128.load(accRow + (<usize>j << 3));
        if (hasBias) {
          const codes = f64x2.convert_low_i32x4_s(i32x4.extend_low_i16x8_s(v128.load32_zero(bias + (<usize>j << 1))));
          v = f64x2.add(v, f64x2.mul(bs, codes));
        }
        mv = f64x2.max(mv, relu ? v : f64x2.abs(v));
      }
      if (j < nc) {
        let v = accAt(accRow, j);
        if (hasBias) v += biasScale * <f64>load<i16>(bias + (<usize>j << 1));
        m = max(m, relu ? v : abs(v));
      }
    }
    m = max(m, max(f64x2.extract_lane(mv, 0), f64x2.extract_lane(mv, 1)));
  } else if (biasAt != 0) {
    for (let r: u32 = 0; r < mc; r++) {
      const accRow = blockAcc + <usize>r * ld;
      for (let j: u32 = 0; j < nc; j++) {
        const v = accAt(accRow, j) + biasScale * <f64>load<i16>(bias + (<usize>j << 1));
        m = max(m, relu ? v : abs(v));
      }
    }
  } else {
    for (let r: u32 = 0; r < mc; r++) {
      const accRow = blockAcc + <usize>r * ld;
      for (let j: u32 = 0; j < nc; j++) {
        const v = accAt(accRow, j);
        m = max(m, relu ? v : abs(v));
      }
    }
  }
  setSf64(stage, SF_MAX_ABS, m);
}

function outputStage(stage: usize, ic: u32, mc: u32, jc: u32, nc: u32, ld: usize): void {
  const mode = sfield(stage, S_MODE);
  const biasAt = <usize>sfield(stage, S_BIAS);
  const biasScale = sf64(stage, SF_BIAS_SCALE);
  const bias = scratch;
  if (biasAt != 0) decodeRow(biasAt, jc, nc, <u32>sfield(stage, S_BIAS_BITS), bias);
  const N = gN;
  if (mode == STAGE_STORE) {
    // S_OUT_BITS 32 stores f32 (a float master's gradient, as QAT keeps it); otherwise exact f64.
    const c = <usize>sfield(stage, S_C);
    const asF32 = sfield(stage, S_OUT_BITS) == 32;
    const scale = sf64(stage, SF_SCALE);
    for (let r: u32 = 0; r < mc; r++) {
      for (let j: u32 = 0; j < nc; j++) {
        let v = accAt(blockAcc + <usize>r * ld, j);
        if (biasAt != 0) v += biasScale * <f64>load<i16>(bias + (<usize>j << 1));
        const at = <usize>(ic + r) * N + jc + j;
        if (asF32) store<f32>(c + (at << 2), <f32>(v * scale));
        else store<f64>(c + (at << 3), v);
      }
    }
    return;
  }
  const relu = sfield(stage, S_RELU) != 0;
  if (mode == STAGE_MAXABS || (mode == STAGE_REQUANT && sfield(stage, S_TRACK_MAX) != 0)) {
    blockMaxAbs(stage, mc, nc, ld, bias, biasAt, biasScale, relu);
    if (mode == STAGE_MAXABS) return;
  }
  const stochastic = sfield(stage, S_ROUNDING) == ROUND_STOCHASTIC;
  const key = randomKey(<u32>sfield(stage, S_SEED), <u32>sfield(stage, S_STEP), <u32>sfield(stage, S_STREAM));
  const scale = sf64(stage, SF_SCALE);
  const outBits = <u32>field(outView, V_BITS);
  if (mode == STAGE_REQUANT) {
    let saturated = sf64(stage, SF_SATURATED);
    locateOut(ic, jc);
    let z0 = key + (<u64>ic * N + jc + 1) * GOLDEN;
    const rowZ = <u64>N * GOLDEN;
    const hasBias = biasAt != 0;
    if (outBits == 8) {
      // Specialised on the accumulator type and the rounding (loop-invariant, so not tested per code).
      let sat: i32;
      if (accI32) {
        sat = stochastic
          ? requantBlock8(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, true, true)
          : requantBlock8(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, true, false);
      } else {
        sat = stochastic
          ? requantBlock8(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, false, true)
          : requantBlock8(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, false, false);
      }
      // A count of clamped codes: adding it at once equals adding 1 per code (integers below 2^53).
      setSf64(stage, SF_SATURATED, saturated + <f64>sat);
      return;
    } else {
      for (let r: u32 = 0; r < mc; r++) {
        saturated = requantRun(blockAcc + <usize>r * ld, nc, bias, hasBias, biasScale, scale, stochastic, z0, relu, outBits, saturated);
        nextOutRow();
        z0 += rowZ;
      }
    }
    setSf64(stage, SF_SATURATED, saturated);
    return;
  }
  // STAGE_UPDATE
  locateOut(ic, jc);
  const z0 = key + (<u64>ic * N + jc + 1) * GOLDEN;
  if (accI32) {
    if (stochastic) updateBlock(stage, mc, nc, ld, scale, z0, <u64>N * GOLDEN, outBits, true, true);
    else updateBlock(stage, mc, nc, ld, scale, z0, <u64>N * GOLDEN, outBits, true, false);
  } else {
    if (stochastic) updateBlock(stage, mc, nc, ld, scale, z0, <u64>N * GOLDEN, outBits, false, true);
    else updateBlock(stage, mc, nc, ld, scale, z0, <u64>N * GOLDEN, outBits, false, false);
  }
}

// UPDATE of the block's rows: W += round(scale * acc), in place, codes read and written only where
// the rounded update is non-zero (byte and half-word widths directly, others through the bit
// stream). sumAbs is summed in element order, exactly as before (f64 addition is not associative).
@inline function updateBlock(
  stage: usize, mc: u32, nc: u32, ld: usize, scale: f64, z0: u64, rowZ: u64, outBits: u32,
  i32acc: bool, stochastic: bool,
): void {
  const limit = <f64>maxCode(outBits);
  let saturated = sf64(stage, SF_SATURATED), changed = sf64(stage, SF_CHANGED), sumAbs = sf64(stage, SF_SUM_ABS);
  // Widths that are not whole bytes (SIMD build, where decoding a run is cheap): the row's run of
  // codes is decoded once, updated as i16 and re-encoded when any changed: the same codes as a
  // read-modify-write per changed code, which costs a dozen operations each (at 12 bits and
  // lr 0.01 a fifth of lenet5's dense weights change per step). The scalar build measured faster
  // with the per-code read-modify-write.
  if (ASC_FEATURE_SIMD && outBits != 8 && outBits != 16 && outWrap == 0xffffffff) {
    const codes = scratch + align16(<usize>roundUp(NC, NR) << 1);
    for (let r: u32 = 0; r < mc; r++) {
      let z = z0;
      z0 += rowZ;
      const accRow = blockAcc + <usize>r * ld;
      const rowPtr = outRow, at = outCol;
      nextOutRow();
      decodeRow(rowPtr, at, nc, outBits, codes);
      let rowChanged = false;
      for (let j: u32 = 0; j < nc; j++) {
        const d = (i32acc ? <f64>load<i32>(accRow + (<usize>j << 2)) : load<f64>(accRow + (<usize>j << 3))) * scale;
        sumAbs += abs(d);
        const dq = stochastic ? Math.floor(d + unitAt(z)) : nearest<f64>(d);
        z += GOLDEN;
        if (dq != 0) {
          const old = <f64>load<i16>(codes + (<usize>j << 1));
          let q = old + dq;
          if (q > limit) { q = limit; saturated += 1; } else if (q < -limit) { q = -limit; saturated += 1; }
          if (q != old) {
            changed += 1;
            store<i16>(codes + (<usize>j << 1), <i16><i32>q);
            rowChanged = true;
          }
        }
      }
      if (rowChanged) encodeRun(rowPtr, at, nc, outBits, codes);
    }
    setSf64(stage, SF_SATURATED, saturated);
    setSf64(stage, SF_CHANGED, changed);
    setSf64(stage, SF_SUM_ABS, sumAbs);
    return;
  }
  for (let r: u32 = 0; r < mc; r++) {
    let z = z0;
    z0 += rowZ;
    const accRow = blockAcc + <usize>r * ld;
    let rowPtr = outRow, at = outCol;
    nextOutRow();
    for (let j: u32 = 0; j < nc; j++) {
      if (at == outWrap) { rowPtr += outStride; at = 0; }
      const d = (i32acc ? <f64>load<i32>(accRow + (<usize>j << 2)) : load<f64>(accRow + (<usize>j << 3))) * scale;
      sumAbs += abs(d);
      const dq = stochastic ? Math.floor(d + unitAt(z)) : nearest<f64>(d);
      z += GOLDEN;
      if (dq != 0) {
        let old: f64;
        if (outBits == 8) old = <f64>load<i8>(rowPtr + at);
        else if (outBits == 16) old = <f64>load<i16>(rowPtr + (<usize>at << 1));
        else old = <f64>readCode(rowPtr, at, outBits);
        let q = old + dq;
        if (q > limit) { q = limit; saturated += 1; } else if (q < -limit) { q = -limit; saturated += 1; }
        if (q != old) {
          changed += 1;
          if (outBits == 8) store<i8>(rowPtr + at, <i8><i32>q);
          else if (outBits == 16) store<i16>(rowPtr + (<usize>at << 1), <i16><i32>q);
          else writeCode(rowPtr, at, outBits, <i32>q);
        }
      }
      at++;
    }
  }
  setSf64(stage, SF_SATURATED, saturated);
  setSf64(stage, SF_CHANGED, changed);
  setSf64(stage, SF_SUM_ABS, sumAbs);
}

// REQUANT of the block's rows into 8-bit codes at PLAIN or 1x1 outputs (a row's codes are bytes
// outRow + outCol ...); returns the number of codes clamped. The rounded value is an integer (or
// NaN), so clamping it after the saturating conversion to i32 gives the code the f64 clamp gave.
// ReLU is a mask on the integer code: a compare-and-branch (or select, which V8 turns into one) on
// the sign of random pre-activations mispredicts half the time.
@inline function requantBlock8(
  mc: u32, nc: u32, ld: usize, bias: usize, hasBias: bool, biasScale: f64, scale: f64,
  z0: u64, rowZ: u64, relu: bool, i32acc: bool, stochastic: bool,
): i32 {
  let sat: i32 = 0;
  // The output position advances in locals (a row is often only a few codes: 6 filters).
  let rowPtr = outRow, col = outCol, x = outX;
  const pointwise = outKind == OUT_POINT, wrap = outWrap;
  for (let r: u32 = 0; r < mc; r++) {
    const acc = blockAcc + <usize>r * ld;
    if (wrap == 0xffffffff) {
      sat += requantRun8(acc, bias, 0, nc, rowPtr + col, z0, hasBias, biasScale, scale, relu, i32acc, stochastic);
    } else {
      // The row's codes run on into the next line every W*C codes (whole-image view).
      let p = rowPtr, at = col;
      let j: u32 = 0;
      while (j < nc) {
        const end = min(nc, j + (wrap - at));
        sat += requantRun8(acc, bias, j, end, p + at - j, z0 + <u64>j * GOLDEN, hasBias, biasScale, scale, relu, i32acc, stochastic);
        at += end - j;
        j = end;
        if (at == wrap) { p += outStride; at = 0; }
      }
    }
    if (pointwise) {
      if (++x == outW) { x = 0; rowPtr += outStride; col = outCol0; } else col += outC;
    } else {
      rowPtr += outRowStep;
    }
    z0 += rowZ;
  }
  outRow = rowPtr; outCol = col; outX = x;
  return sat;
}

// Codes j0..j1-1 of one accumulator row into bytes dst[j0..j1) (dst is biased by -j0 already);
// z is the draw counter of code j0. Returns the number of codes clamped.
@inline function requantRun8(
  acc: usize, bias: usize, j0: u32, j1: u32, dst: usize, z: u64, hasBias: bool, biasScale: f64, scale: f64,
  relu: bool, i32acc: bool, stochastic: bool,
): i32 {
  let sat: i32 = 0;
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    // Two codes at a time: the draws are scalar (64-bit multiplies), the rest is f64x2 / i32x4
    // with the same per-lane operations.
    const scaleV = f64x2.splat(scale), bsV = f64x2.splat(biasScale);
    // Clamped codes counted per lane (a lane compare is -1 where true); lanes 2 and 3 stay 0.
    let satV = i32x4.splat(0);
    for (; j + 2 <= j1; j += 2) {
      let v = i32acc
        ? f64x2.convert_low_i32x4_s(v128.load64_zero(acc + (<usize>j << 2)))
        : v128.load(acc + (<usize>j << 3));
      if (hasBias) {
        v = f64x2.add(v, f64x2.mul(bsV, f64x2.convert_low_i32x4_s(i32x4.extend_low_i16x8_s(v128.load32_zero(bias + (<usize>j << 1))))));
      }
      const x = f64x2.mul(v, scaleV);
      let q: v128;
      if (stochastic) {
        const u = f64x2.replace_lane(f64x2.splat(unitAt(z)), 1, unitAt(z + GOLDEN));
        q = f64x2.floor(f64x2.add(x, u));
      } else {
        q = f64x2.nearest(x);
      }
      z += GOLDEN + GOLDEN;
      let qi = i32x4.trunc_sat_f64x2_s_zero(q);
      satV = i32x4.sub(satV, v128.or(i32x4.gt_s(qi, i32x4.splat(127)), i32x4.lt_s(qi, i32x4.splat(-127))));
      qi = i32x4.min_s(i32x4.max_s(qi, i32x4.splat(-127)), i32x4.splat(127));
      if (relu) qi = i32x4.max_s(qi, i32x4.splat(0));
      const bytes = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(qi, qi), i16x8.splat(0));
      v128.store16_lane(dst + j, bytes, 0);
    }
    sat += i32x4.extract_lane(satV, 0) + i32x4.extract_lane(satV, 1);
  }
  for (; j < j1; j++) {
    let v = i32acc ? <f64>load<i32>(acc + (<usize>j << 2)) : load<f64>(acc + (<usize>j << 3));
    if (hasBias) v += biasScale * <f64>load<i16>(bias + (<usize>j << 1));
    const x = v * scale;
    const q = stochastic ? Math.floor(x + unitAt(z)) : nearest<f64>(x);
    z += GOLDEN;
    let qi = <i32>q;
    if (qi > 127) { qi = 127; sat++; } else if (qi < -127) { qi = -127; sat++; }
    if (relu) qi &= ~(qi >> 31);
    store<i8>(dst + j, <i8>qi);
  }
  return sat;
}

// The general run: any width, following the whole-image view's line wrap.
function requantRun(
  acc: usize, nc: u32, bias: usize, hasBias: bool, biasScale: f64, scale: f64,
  stochastic: bool, z: u64, relu: bool, outBits: u32, saturated: f64,
): f64 {
  const limit = <f64>maxCode(outBits);
  let rowPtr = outRow, at = outCol;
  for (let j: u32 = 0; j < nc; j++) {
    if (at == outWrap) { rowPtr += outStride; at = 0; }
    let v = accAt(acc, j);
    if (hasBias) v += biasScale * <f64>load<i16>(bias + (<usize>j << 1));
    const x = v * scale;
    let q = stochastic ? Math.floor(x + unitAt(z)) : nearest<f64>(x);
    z += GOLDEN;
    if (q > limit) { q = limit; saturated += 1; } else if (q < -limit) { q = -limit; saturated += 1; }
    if (relu && q < 0) q = 0;
    writeCode(rowPtr, at, outBits, <i32>q);
    at++;
  }
  return saturated;
}

/**
 * op(A) * op(B) with a fused output stage (`stage` descriptor). `out` is the view written by
 * REQUANT (fresh codes) or updated in place by UPDATE (the weights); M x N virtual.
 */
export function gemmFused(a: usize, b: usize, out: usize, stage: usize, work: usize, workBytes: usize): i32 {
  let status = bindOperands(a, b);
  if (status != GEMM_OK) return status;
  const M = gM, N = gN, K = gK;
  if (!inMemory(stage, STAGE_BYTES)) return GEMM_ERR_RANGE;
  const mode = sfield(stage, S_MODE);
  if (mode < STAGE_STORE || mode > STAGE_UPDATE) return GEMM_ERR_STAGE;
  if (mode == STAGE_REQUANT || mode == STAGE_UPDATE) {
    if (!inMemory(out, VIEW_FIELDS * 4)) return GEMM_ERR_RANGE;
    if (viewRowTooLong(out)) return GEMM_ERR_RANGE;
    if (!viewPrepare(out)) return GEMM_ERR_VIEW;
    const kind = field(out, V_KIND);
    if (kind == KIND_IM2COL) {
      if (!viewWritable(out)) return GEMM_ERR_VIEW;
    } else if (kind != KIND_PLAIN) {
      return GEMM_ERR_VIEW;
    }
    if (<u32>field(out, V_ROWS) != M || <u32>field(out, V_COLS) != N) return GEMM_ERR_SHAPE;
    if (!inMemory(<usize>field(out, V_BASE), viewDataBytes(out))) return GEMM_ERR_RANGE;
    outView = out;
  }
  const biasBits = sfield(stage, S_BIAS_BITS);
  if (sfield(stage, S_BIAS) != 0 && (biasBits < <i32>MIN_BITS || biasBits > <i32>MAX_BITS)) return GEMM_ERR_BITS;
  if (sfield(stage, S_BIAS) != 0 && !inMemory(<usize>sfield(stage, S_BIAS), Math.ceil(<f64>N * <f64>biasBits / 32) * 4)) return GEMM_ERR_RANGE;
  if (mode == STAGE_STORE && !inMemory(<usize>sfield(stage, S_C), <f64>M * <f64>N * (sfield(stage, S_OUT_BITS) == 32 ? 4 : 8))) return GEMM_ERR_RANGE;
  setSf64(stage, SF_COUNT, sf64(stage, SF_COUNT) + <f64>M * <f64>N);
  if (M == 0 || N == 0) return GEMM_OK;
  withBlockAcc = true;
  status = bindWorkspace(work, workBytes);
  if (status != GEMM_OK) return status;
  accI32 = <u64>K <= kDirect;
  // With i32 sums the K block is only a cache choice: take all of a short K in one block when the
  // workspace holds its panels (one decode per A row and one pass instead of several).
  if (accI32 && K > KC && K <= WHOLE_K_MAX) {
    const kc0 = KC;
    KC = roundUp(K, 2);
    if (workspaceNeed(MC, NC, KC) + (align16(work) - work) <= workBytes + 16) layoutWorkspace(align16(work), work + workBytes);
    else KC = kc0;
  }
  planExtras(M, K, true);
  zeroMasks = scratch;
  pairRanges = scratch + <usize>MC * 4;
  useZeroMasks = accI32 && !aTransG && field(viewA, V_KIND) == KIND_IM2COL &&
    pairRanges + MAX_RANGES * 8 <= rectEnd;
  if (useZeroMasks) zeroSeg = <u32>(field(viewA, V_KW) * field(viewA, V_C));
  const ld = <usize>roundUp(NC, NR) << (accI32 ? 2 : 3);
  const kBlocks: u32 = K == 0 ? 0 : (K + KC - 1) / KC;
  // B for every K block is packed once per N block when it stays put across the M blocks: one K
  // block (the panel is not touched by packA) or room for all of them.
  const bOnce = kBlocks <= 1 || bAllPanels != 0;
  for (let jc: u32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    if (bOnce) {
      for (let pc: u32 = 0; pc < K; pc += KC) {
        const kc = min(KC, K - pc);
        const blk = <usize>(pc / KC) * bBlockBytes;
        if (kBlocks == 1) packB(panelB, panelB2, jc, nc, pc, kc);
        else packB(bAllPanels + blk, bAllPanels2 + blk, jc, nc, pc, kc);
      }
    }
    for (let ic: u32 = 0; ic < M; ic += MC) {
      const mc = min(MC, M - ic);
      if (!accI32 || K == 0) memory.fill(blockAcc, 0, <usize>roundUp(mc, MR) * ld);
      for (let pc: u32 = 0; pc < K; pc += KC) {
        const kc = min(KC, K - pc);
        let pb = panelB, pb2 = panelB2;
        if (!bOnce) {
          packB(panelB, panelB2, jc, nc, pc, kc);
        } else if (kBlocks > 1) {
          const blk = <usize>(pc / KC) * bBlockBytes;
          pb = bAllPanels + blk;
          pb2 = bAllPanels2 + blk;
        }
        if (useZeroMasks) setRectZeroMasks(zeroMasks);
        packA(ic, mc, pc, kc);
        setRectZeroMasks(0);
        if (accI32) multiplyBlockI32(pb, mc, nc, pc, kc, blockAcc, ld, pc == 0);
        else multiplyBlock(pb, pb2, mc, nc, kc, blockAcc, ld, true);
      }
      outputStage(stage, ic, mc, jc, nc, ld);
    }
  }
  viewCacheBind(0, 0, 0, 0);
  return GEMM_OK;
}

// The plain-matrix entry point: builds two PLAIN views in static memory.
const plainViews: usize = memory.data(<i32>(2 * VIEW_FIELDS * 4), 16);

function plainView(v: usize, base: usize, rows: u32, cols: u32, bits: u32, trans: bool): void {
  memory.fill(v, 0, VIEW_FIELDS * 4);
  store<i32>(v + (<usize>V_KIND << 2), KIND_PLAIN);
  store<i32>(v + (<usize>V_BASE << 2), <i32>base);
  store<i32>(v + (<usize>V_BITS << 2), <i32>bits);
  store<i32>(v + (<usize>V_ROWS << 2), <i32>rows);
  store<i32>(v + (<usize>V_COLS << 2), <i32>cols);
  store<i32>(v + (<usize>V_TRANS << 2), trans ? 1 : 0);
}

/**
 * C = op(A) * op(B) exactly, C row-major M x N f64 at `c`.
 * A is stored aRows x aCols packed at aBits (op(A) = A^T when transA); likewise B.
 * `work` (workBytes long) holds the panels; no other memory is touched.
 */
export function gemm(
  a: usize, aRows: u32, aCols: u32, aBits: u32, transA: bool,
  b: usize, bRows: u32, bCols: u32, bBits: u32, transB: bool,
  c: usize, work: usize, workBytes: usize
): i32 {
  const va = plainViews, vb = plainViews + VIEW_FIELDS * 4;
  plainView(va, a, aRows, aCols, aBits, transA);
  plainView(vb, b, bRows, bCols, bBits, transB);
  return gemmViews(va, vb, c, work, workBytes);
}

/** gemm() with B's panels pre-packed: gemm_prepack_b fills `panels` once, gemm_prepacked reads it. */
export function gemmPrepackPlain(
  a: usize, aRows: u32, aCols: u32, aBits: u32, transA: bool,
  b: usize, bRows: u32, bCols: u32, bBits: u32, transB: bool,
  work: usize, workBytes: usize, panels: usize, panelsBytes: usize,
): i32 {
  const va = plainViews, vb = plainViews + VIEW_FIELDS * 4;
  plainView(va, a, aRows, aCols, aBits, transA);
  plainView(vb, b, bRows, bCols, bBits, transB);
  return gemmPrepackB(va, vb, work, workBytes, panels, panelsBytes);
}

export function gemmPrepackedPlain(
  a: usize, aRows: u32, aCols: u32, aBits: u32, transA: bool,
  b: usize, bRows: u32, bCols: u32, bBits: u32, transB: bool,
  c: usize, work: usize, workBytes: usize, panels: usize, panelsBytes: usize,
): i32 {
  const va = plainViews, vb = plainViews + VIEW_FIELDS * 4;
  plainView(va, a, aRows, aCols, aBits, transA);
  plainView(vb, b, bRows, bCols, bBits, transB);
  return gemmViewsPanels(va, vb, c, work, workBytes, panels, panelsBytes);
}
