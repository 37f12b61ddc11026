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
// Lane panels (scalar build, fused i32 calls whose widths leave room): without SIMD a multiply
// makes one product, so B is packed three columns to a word instead, b0 + 2^L b1 + 2^2L b2, and a
// times that word makes three: the sums of each column stay in their own L-bit lane for a chunk of
// K (blocking.ts setOperands bounds it from the widths) and are taken out of the lanes into the i32
// tile after each chunk. The words are i64 (L = 21, sums mod 2^64) or, for narrower operands, f64
// (L = 17, every value an integer below 2^51, so exact), whose multiplies the floating-point units
// run faster than the integer multiplier. Tiles are 4 x 6 (two words); f64 tiles read their A
// rows from an f64 copy made once per tile row (block-multiply.ts tileRowsF64). The lane panel
// takes the i16 B panel's place, or room from the extra workspace (workspace.ts planExtras); where
// neither holds one, the 4 x 8 paired kernel runs as before.
//
// Where the time went before (lenet5, batch 32: N = 6 filters, K = 25, M = 25088 patches) was not
// the multiply-adds but per-row and per-code overheads, so packing reads operands a rectangle at a
// time (views.ts viewDecodeRect: an IM2COL view assembles patches from a cache of decoded input
// lines), B is packed once per N block when it can stay put, and the output stages walk rows
// incrementally with byte stores and the draw counter stepped instead of recomputed.
//
// Convolutions read A where it is: in the SIMD build, the forward and input-error products of an
// IM2COL A whose K fits one block skip the A panel (driver.ts fusedRows, block-multiply.ts
// multiplyBlockRows): each kernel row of a patch is a contiguous run in the line cache, and the
// micro-kernel reads its pairs there. A workspace too small for the usual layout gets one laid out
// for this path alone (driver.ts layoutRows: fewer rows per block, never no cache).
//
// Workspace: what the caller passes beyond workspaceNeed (the blocking's need, unchanged, so the
// host's plans are too) goes to the line cache, to B panels for all K blocks and to lane panels; with none of it
// every call still runs, through the slower paths. Blocking is chosen as before: NC fixes the order
// in which the output stage visits elements, and so the f64 sum SF_SUM_ABS.
//
// Files, one stage each (the call in progress is module state, all of it in state.ts):
//   blocking.ts              the overflow block, the cache blocks (shared with the relaxed path), panel geometry
//   workspace.ts             where panels, accumulator, tile and scratch lie; the extra workspace's uses
//   packing.ts               operand rectangles into the i16 "c2" panels (and the hi/lo split), or B into lane panels
//   microkernels-simd.ts     gemm_4x8c2_f64acc_simd, gemm_4x8c2_i32acc_simd, gemm_2x8c2_i32acc_simd: one tile body
//   microkernels-scalar.ts   gemm_4x8c2_f64acc_scalar, gemm_4x8c2_i32acc_scalar: the same tile in i64 arithmetic;
//                            gemm_4x6l3_i32acc_scalar, gemm_4x6l3f_i32acc_scalar: 4 x 6 tiles from lane panels
//   block-multiply.ts        every tile of a block through the build's micro-kernel; zero-row skipping
//   output-stages.ts         STORE, MAXABS, REQUANT, UPDATE of a finished block
//   relaxed.ts               the relaxed build's i8 path: its panels ("c4") and loop nest
//   microkernels-relaxed.ts  gemm_4x8c4_relaxed, gemm_4x8c4_i16acc_relaxed
//   driver.ts                the entry points: checks, then the loop nest over the blocks

import { STATUS_OK, STATUS_BITS, STATUS_SHAPE, STATUS_WORKSPACE, STATUS_VIEW, STATUS_STAGE, STATUS_RANGE, inMemory } from "../extents";

export {
  gemm, gemmViews, gemmViewsPanels, gemmFused, gemmWorkspaceBytes, gemmBPanelsBytes, gemmPrepackB, gemmPrepackPlain,
  gemmPrepackedPlain,
} from "./driver";
export { relaxedLastUsed, RELAXED_MAX_BITS } from "./relaxed";
export { MR, NR } from "./blocking";
export { inMemory };

