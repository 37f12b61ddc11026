// Block multiplication: every micro-tile of one (MC x NC) block for one K block, through the
// micro-kernel of the build's ISA (microkernels-simd.ts, microkernels-scalar.ts), into the f64 C
// of a plain call or the block accumulator of a fused one; or, for an IM2COL A read in place, the
// tiles of the whole of K with rows from the view's line cache (multiplyBlockRows).

import { MR, NR, LANE_COLS, roundUp } from "./blocking";
import { splitA, splitB, panelA, panelA2, zeroMasks, pairRanges, useZeroMasks, zeroSeg, viewA, bLanes, laneF64, laneA } from "./state";
import {
  gemm_4x8c2_f64acc_simd, gemm_4x8c2_i32acc_simd, gemm_2x8c2_i32acc_simd, gemm_4x8c2_i32acc_rows_simd,
} from "./microkernels-simd";
import { viewRowsBegin, viewRowsNext } from "../views";
import { gemm_4x8c2_i32acc_scalar, gemm_4x8c2_f64acc_scalar, gemm_4x6l3_i32acc_scalar, gemm_4x6l3f_i32acc_scalar } from "./microkernels-scalar";

/** The most K ranges one tile of multiplyBlockI32 skips between (pairRanges' capacity). */
export const MAX_RANGES: u32 = 34;

// C (f64) [0..mr, 0..nr] += scale * (A panel rows x B panel group).
@inline function microkernel(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, mr: u32, nr: u32, scale: f64): void {
  if (ASC_FEATURE_SIMD) gemm_4x8c2_f64acc_simd(a, lda, b, pairs, c, ldc, mr, nr, scale);
  else gemm_4x8c2_f64acc_scalar(a, lda, b, pairs, c, ldc, mr, nr, scale);
}

// The fused i32 block accumulator: C (full 4x8 tile, ldc bytes per row of i32) = or += A x B;
// from a lane panel (scalar build), the 4 x 6 tile's first `cols` columns, with A's rows from
// the panel, or for f64 words from their f64 copy at a (tileRowsF64).
@inline function microkernelI32(a: usize, lda: usize, b: usize, pairs: u32, c: usize, ldc: usize, first: bool, mr: u32, cols: u32): void {
  if (ASC_FEATURE_SIMD) {
    if (mr <= 2) gemm_2x8c2_i32acc_simd(a, lda, b, pairs, c, ldc, first);
    else gemm_4x8c2_i32acc_simd(a, lda, b, pairs, c, ldc, first);
  } else if (bLanes) {
    if (laneF64) gemm_4x6l3f_i32acc_scalar(a, b, pairs, c, ldc, first, cols);
    else gemm_4x6l3_i32acc_scalar(a, lda, b, pairs, c, ldc, first, cols);
  } else {
    gemm_4x8c2_i32acc_scalar(a, lda, b, pairs, c, ldc, first);
  }
}

// Lane panels of f64 words (scalar build): the tile's four A rows at pairs [p0, p1) as f64 at
// laneA, interleaved (k's four values at laneA + 32k), converted once for all of the block's
// column groups instead of in every kernel call.
function tileRowsF64(a: usize, lda: usize, p0: u32, p1: u32): void {
  let src = a + (<usize>p0 << 2);
  let dst = laneA + (<usize>p0 << 6);
  const end = laneA + (<usize>p1 << 6);
  while (dst < end) {
    store<f64>(dst, <f64>load<i16>(src));
    store<f64>(dst, <f64>load<i16>(src + lda), 8);
    store<f64>(dst, <f64>load<i16>(src + 2 * lda), 16);
    store<f64>(dst, <f64>load<i16>(src + 3 * lda), 24);
    src += 2;
    dst += 32;
  }
}

// Where a tile's kernels read A: the panel (4 bytes per pair), or its f64 copy (64 bytes per pair).
@inline function tileA(a: usize): usize { return !ASC_FEATURE_SIMD && bLanes && laneF64 ? laneA : a; }
@inline function pairStepA(): u32 { return !ASC_FEATURE_SIMD && bLanes && laneF64 ? 6 : 2; }

// Zero kernel rows (state.ts zeroMasks): padding and dilation make whole kernel rows of a patch
// zero (the input error of a padded conv: 29% of lenet5's second conv's K), and a tile whose four
// rows share such a kernel row skips its K range. Skipping exact zeros leaves every sum as it was.
// The fused block in i32: all full tiles of the (mcp x ncp) block, stored (first K block) or added.
// A lane panel's groups (scalar build, state.ts bLanes) are 6 columns wide, the same groupBytes
// apart; their tiles store only columns < nc.
export function multiplyBlockI32(pb: usize, mc: u32, nc: u32, pc: u32, kc: u32, c: usize, ldc: usize, first: bool): void {
  const kcp = roundUp(kc, 2);
  const pairs = kcp >>> 1;
  const lda = <usize>kcp << 1;
  const groupBytes = <usize>kcp << 4;
  const step: u32 = !ASC_FEATURE_SIMD && bLanes ? LANE_COLS : NR;
  for (let ir: u32 = 0; ir < mc; ir += MR) {
    let skip: u32 = 0;
    if (useZeroMasks) {
      skip = 0xffffffff;
      for (let r = ir; r < ir + MR; r++) if (r < mc) skip &= load<u32>(zeroMasks + (<usize>r << 2));
    }
    const a = panelA + <usize>ir * lda;
    const at = tileA(a), atShift = pairStepA();
    if (skip == 0) {
      if (!ASC_FEATURE_SIMD && bLanes && laneF64) tileRowsF64(a, lda, 0, pairs);
      let b = pb;
      for (let jr: u32 = 0; jr < nc; jr += step) {
        microkernelI32(at, lda, b, pairs, c + <usize>ir * ldc + (<usize>jr << 2), ldc, first, min(MR, mc - ir), min(step, nc - jr));
        b += groupBytes;
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
    if (!ASC_FEATURE_SIMD && bLanes && laneF64) {
      for (let q: u32 = 0; q < ranges; q++) {
        tileRowsF64(a, lda, load<u32>(pairRanges + (<usize>q << 3)), load<u32>(pairRanges + (<usize>q << 3), 4));
      }
    }
    let b = pb;
    for (let jr: u32 = 0; jr < nc; jr += step) {
      const ct = c + <usize>ir * ldc + (<usize>jr << 2);
      const cols = min(step, nc - jr);
      if (ranges == 0 && first) {
        for (let t: u32 = 0; t < MR; t++) memory.fill(ct + <usize>t * ldc, 0, (step == NR ? NR : cols) << 2);
      }
      for (let q: u32 = 0; q < ranges; q++) {
        const p0 = load<u32>(pairRanges + (<usize>q << 3)), p1 = load<u32>(pairRanges + (<usize>q << 3), 4);
        microkernelI32(at + (<usize>p0 << atShift), lda, b + (<usize>p0 << 5), p1 - p0, ct, ldc, first && q == 0, min(MR, mc - ir), cols);
      }
      b += groupBytes;
    }
  }
}

// All micro-tiles of one (mc x nc) block for K block kc, accumulated into c (leading dim ldc).
export function multiplyBlock(pb: usize, pb2: usize, mc: u32, nc: u32, kc: u32, c: usize, ldc: usize, fullTiles: bool): void {
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

// The fused block in i32 with A read in place (SIMD build): an IM2COL A whose K is one block,
// each tile's rows handed out as runs of its line cache (views.ts viewRowsNext, `rowPtrs`: KH
// entries of 16 bytes), against a B packed with `pairs` pairs per run. Rows [ic, ic+mc); kernel
// rows whose runs are zero in all of a tile's rows are skipped, as multiplyBlockI32 skips them.
export function multiplyBlockRows(pb: usize, ic: u32, mc: u32, nc: u32, runs: u32, pairs: u32, rowPtrs: usize, c: usize, ldc: usize): void {
  const groupBytes = <usize>(runs * pairs) << 5;
  viewRowsBegin(viewA, ic);
  for (let ir: u32 = 0; ir < mc; ir += MR) {
    const skip = viewRowsNext(viewA, min(MR, mc - ir), MR, rowPtrs);
    const ct = c + <usize>ir * ldc;
    for (let jr: u32 = 0; jr < nc; jr += NR) {
      gemm_4x8c2_i32acc_rows_simd(rowPtrs, runs, skip, pb + <usize>(jr >>> 3) * groupBytes, pairs, ct + (<usize>jr << 2), ldc);
    }
  }
}
