// The GEMM entry points: validate the operands and the workspace, then run the loop nest over
// (N block, K block, M block): pack B (packing.ts, or a caller's pre-packed panels), pack A,
// multiply the block (block-multiply.ts) and, for fused calls, hand the finished block to its
// output stage (output-stages.ts). The relaxed build first tries its i8 path (relaxed.ts). A fused
// call whose A is an IM2COL view with all of K in one block skips packing A in the SIMD build: its
// tiles read their rows in the view's line cache (fusedRows).

import { MIN_BITS, MAX_BITS } from "../../src/format/codes";
import {
  VIEW_BYTES, V_KIND, V_BASE, V_BITS, V_ROWS, V_COLS, V_TRANS, V_KH, V_KW, V_C, VIEW_KIND_PLAIN, VIEW_KIND_IM2COL,
  STAGE_BYTES, S_MODE, S_BIAS, S_BIAS_BITS, S_OUT_BITS, S_C, SF_COUNT, STAGE_MODE_STORE, STAGE_MODE_REQUANT,
  STAGE_MODE_UPDATE, STAGE_STORE_F32,
} from "../../src/runtime/abi-layout";
import {
  inMemory, STATUS_OK, STATUS_BITS, STATUS_SHAPE, STATUS_WORKSPACE, STATUS_VIEW, STATUS_STAGE, STATUS_RANGE,
} from "../extents";
import {
  setRectZeroMasks, viewPrepare, viewRowTooLong, viewDataBytes, viewWritable, viewCacheBind, viewCacheBytes, viewRowsDirect,
  viewRowsSpan, field,
} from "../views";
import { NR, MR, WHOLE_K_MAX, roundUp, align16, nextPow2, setOperands, workspaceNeed, chooseBlocking, panelsNeed, panelAt } from "./blocking";
import { layoutWorkspace, planExtras, bindWorkspace } from "./workspace";
import { packA, packB } from "./packing";
import { multiplyBlock, multiplyBlockI32, multiplyBlockRows, MAX_RANGES } from "./block-multiply";
import { outputStage, sfield, sf64, setSf64 } from "./output-stages";
import { gemmRelaxed } from "./relaxed";
import {
  viewA, viewB, aTransG, bTransG, gM, gN, gK, kDirect, accI32, MC, NC, KC, withBlockAcc, panelA, panelA2, panelB, panelB2, blockAcc,
  tile, scratch, rectEnd, workEnd, bAllPanels, bAllPanels2, bBlockBytes, zeroMasks, pairRanges, useZeroMasks, zeroSeg, panelPlane,
  outView, plainViews, laneB,
} from "./state";

export function gemmWorkspaceBytes(M: u32, N: u32, K: u32, aBits: u32, bBits: u32, fused: bool): usize {
  if (aBits < <u32>MIN_BITS || aBits > <u32>MAX_BITS || bBits < <u32>MIN_BITS || bBits > <u32>MAX_BITS) return 0;
  setOperands(aBits, bBits);
  withBlockAcc = fused;
  chooseBlocking(M, N, K, <usize>-1);
  return workspaceNeed(MC, NC, KC);
}

// Validates the operand views of a call and derives (M, N, K); returns an error code or OK.
function bindOperands(a: usize, b: usize): i32 {
  if (!inMemory(a, VIEW_BYTES) || !inMemory(b, VIEW_BYTES)) return STATUS_RANGE;
  const aBits = field(a, V_BITS), bBits = field(b, V_BITS);
  if (aBits < MIN_BITS || aBits > MAX_BITS || bBits < MIN_BITS || bBits > MAX_BITS) return STATUS_BITS;
  if (viewRowTooLong(a) || viewRowTooLong(b)) return STATUS_RANGE;
  if (!viewPrepare(a) || !viewPrepare(b)) return STATUS_VIEW;
  viewA = a; viewB = b;
  aTransG = field(a, V_TRANS) != 0;
  bTransG = field(b, V_TRANS) != 0;
  const aRows = <u32>field(a, V_ROWS), aCols = <u32>field(a, V_COLS);
  const bRows = <u32>field(b, V_ROWS), bCols = <u32>field(b, V_COLS);
  gM = aTransG ? aCols : aRows;
  gK = aTransG ? aRows : aCols;
  gN = bTransG ? bRows : bCols;
  const Kb = bTransG ? bCols : bRows;
  if (gK != Kb) return STATUS_SHAPE;
  if (!inMemory(<usize>field(a, V_BASE), viewDataBytes(a)) || !inMemory(<usize>field(b, V_BASE), viewDataBytes(b))) return STATUS_RANGE;
  setOperands(<u32>aBits, <u32>bBits);
  return STATUS_OK;
}

/**
 * C = op(A) * op(B) exactly into a row-major M x N f64 matrix at `c`. A and B are views (views.ts).
 * C is the accumulator: the loop order packs each B block once.
 */
export function gemmViews(a: usize, b: usize, c: usize, work: usize, workBytes: usize): i32 {
  return gemmViewsPanels(a, b, c, work, workBytes, 0, 0);
}

/** Bytes of the pre-packed B panels for the default blocking (the workspace gemmWorkspaceBytes gives). */
export function gemmBPanelsBytes(M: u32, N: u32, K: u32, aBits: u32, bBits: u32): usize {
  if (aBits < <u32>MIN_BITS || aBits > <u32>MAX_BITS || bBits < <u32>MIN_BITS || bBits > <u32>MAX_BITS) return 0;
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
  if (status != STATUS_OK) return status;
  const M = gM, N = gN, K = gK;
  if (M == 0 || N == 0 || K == 0) return STATUS_OK;
  withBlockAcc = false;
  status = bindWorkspace(work, workBytes);
  if (status != STATUS_OK) return status;
  if (panelsNeed(N, K) > <u64>panelsBytes) return STATUS_WORKSPACE;
  if (!inMemory(panels, <f64>panelsBytes)) return STATUS_RANGE;
  planExtras(M, K, false);
  for (let jc: u32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc: u32 = 0; pc < K; pc += KC) {
      const pb = panelAt(panels, jc, pc);
      packB(pb, pb + panelPlane, jc, nc, pc, min(KC, K - pc));
    }
  }
  viewCacheBind(0, 0, 0, 0);
  return STATUS_OK;
}

/** gemmViews, reading B's panels from `panels` (filled by gemmPrepackB with the same arguments)
 *  when panels != 0. */
export function gemmViewsPanels(a: usize, b: usize, c: usize, work: usize, workBytes: usize, panels: usize, panelsBytes: usize): i32 {
  let status = bindOperands(a, b);
  if (status != STATUS_OK) return status;
  const M = gM, N = gN, K = gK;
  if (!inMemory(c, <f64>M * <f64>N * 8) || !inMemory(work, <f64>workBytes)) return STATUS_RANGE;
  if (panels != 0 && !inMemory(panels, <f64>panelsBytes)) return STATUS_RANGE;
  // Relaxed-SIMD build: the i8 path where the operands fit (relaxed.ts); else on as before.
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (gemmRelaxed(a, b, c, M, N, K, work, workBytes)) return STATUS_OK;
  }
  const ldc = <usize>N << 3;
  withBlockAcc = false;
  if (M != 0 && N != 0 && K != 0) {
    status = bindWorkspace(work, workBytes);
    if (status != STATUS_OK) return status;
    if (panels != 0 && panelsNeed(N, K) > <u64>panelsBytes) return STATUS_WORKSPACE;
  }
  memory.fill(c, 0, <usize>M * ldc);
  if (M == 0 || N == 0 || K == 0) return STATUS_OK;
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
  return STATUS_OK;
}

/**
 * op(A) * op(B) with a fused output stage (`stage` descriptor). `out` is the view written by
 * REQUANT (fresh codes) or updated in place by UPDATE (the weights); M x N virtual.
 */
export function gemmFused(a: usize, b: usize, out: usize, stage: usize, work: usize, workBytes: usize): i32 {
  let status = bindOperands(a, b);
  if (status != STATUS_OK) return status;
  const M = gM, N = gN, K = gK;
  if (!inMemory(stage, STAGE_BYTES)) return STATUS_RANGE;
  const mode = sfield(stage, S_MODE);
  if (mode < STAGE_MODE_STORE || mode > STAGE_MODE_UPDATE) return STATUS_STAGE;
  if (mode == STAGE_MODE_REQUANT || mode == STAGE_MODE_UPDATE) {
    if (!inMemory(out, VIEW_BYTES)) return STATUS_RANGE;
    if (viewRowTooLong(out)) return STATUS_RANGE;
    if (!viewPrepare(out)) return STATUS_VIEW;
    const kind = field(out, V_KIND);
    if (kind == VIEW_KIND_IM2COL) {
      if (!viewWritable(out)) return STATUS_VIEW;
    } else if (kind != VIEW_KIND_PLAIN) {
      return STATUS_VIEW;
    }
    if (<u32>field(out, V_ROWS) != M || <u32>field(out, V_COLS) != N) return STATUS_SHAPE;
    if (!inMemory(<usize>field(out, V_BASE), viewDataBytes(out))) return STATUS_RANGE;
    outView = out;
  }
  const biasBits = sfield(stage, S_BIAS_BITS);
  if (sfield(stage, S_BIAS) != 0 && (biasBits < MIN_BITS || biasBits > MAX_BITS)) return STATUS_BITS;
  if (sfield(stage, S_BIAS) != 0 && !inMemory(<usize>sfield(stage, S_BIAS), Math.ceil(<f64>N * <f64>biasBits / 32) * 4)) return STATUS_RANGE;
  if (mode == STAGE_MODE_STORE && !inMemory(<usize>sfield(stage, S_C), <f64>M * <f64>N * (sfield(stage, S_OUT_BITS) == STAGE_STORE_F32 ? 4 : 8))) return STATUS_RANGE;
  setSf64(stage, SF_COUNT, sf64(stage, SF_COUNT) + <f64>M * <f64>N);
  if (M == 0 || N == 0) return STATUS_OK;
  withBlockAcc = true;
  status = bindWorkspace(work, workBytes);
  if (status != STATUS_OK) return status;
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
  if (ASC_FEATURE_SIMD && accI32 && rowsOperand()) {
    if (K <= KC && fusedRows(stage, M, N)) {
      viewCacheBind(0, 0, 0, 0);
      return STATUS_OK;
    }
    // The blocking sized for packing A left no room to read it in place (a small workspace: K in
    // several blocks, or too few cache slots): lay the workspace out for fusedRows instead.
    if (K <= WHOLE_K_MAX && layoutRows(work, work + workBytes, M, K)) {
      rowsLoop(stage, M, N, panelA, panelB);
      viewCacheBind(0, 0, 0, 0);
      return STATUS_OK;
    }
  }
  zeroMasks = scratch;
  pairRanges = scratch + <usize>MC * 4;
  useZeroMasks = accI32 && !aTransG && field(viewA, V_KIND) == VIEW_KIND_IM2COL &&
    pairRanges + MAX_RANGES * 8 <= rectEnd;
  if (useZeroMasks) zeroSeg = <u32>(field(viewA, V_KW) * field(viewA, V_C));
  const ld = <usize>roundUp(NC, NR) << (accI32 ? 2 : 3);
  const kBlocks: u32 = K == 0 ? 0 : (K + KC - 1) / KC;
  // B for every K block is packed once per N block when it stays put across the M blocks: one K
  // block (the panel is not touched by packA) or room for all of them. Its one-block place is
  // laneB: the B panel, or a lane panel in the scalar build (workspace.ts planExtras).
  const bOnce = kBlocks <= 1 || bAllPanels != 0;
  for (let jc: u32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    if (bOnce) {
      for (let pc: u32 = 0; pc < K; pc += KC) {
        const kc = min(KC, K - pc);
        const blk = <usize>(pc / KC) * bBlockBytes;
        if (kBlocks == 1) packB(laneB, panelB2, jc, nc, pc, kc);
        else packB(bAllPanels + blk, bAllPanels2 + blk, jc, nc, pc, kc);
      }
    }
    for (let ic: u32 = 0; ic < M; ic += MC) {
      const mc = min(MC, M - ic);
      if (!accI32 || K == 0) memory.fill(blockAcc, 0, <usize>roundUp(mc, MR) * ld);
      for (let pc: u32 = 0; pc < K; pc += KC) {
        const kc = min(KC, K - pc);
        let pb = laneB, pb2 = panelB2;
        if (!bOnce) {
          packB(laneB, panelB2, jc, nc, pc, kc);
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
  return STATUS_OK;
}

/**
 * gemmFused's loop nest when A is read in place (SIMD build): an IM2COL A, not transposed, whose
 * line cache serves whole tiles (views.ts viewRowsDirect) and whose K is one block. No A panel is
 * packed: each tile's rows are runs of cached lines (block-multiply.ts multiplyBlockRows), and B
 * gets a zero row after each run when runs are odd, so that pairs of k never straddle two runs.
 * The sums are the same exact i32 values as the packed path's. Returns false, having done
 * nothing, when the cache does not serve tiles or the A panel's place cannot hold the run table
 * and the padded B panel.
 */
function fusedRows(stage: usize, M: u32, N: u32): bool {
  if (!viewRowsDirect(viewA, MR)) return false;
  const runs = <u32>field(viewA, V_KH), run = <u32>(field(viewA, V_KW) * field(viewA, V_C));
  const Kp = runs * roundUp(run, 2);
  // The A panel's place (workspace.ts layoutWorkspace), free here: the run table first, then a
  // padded B panel when the runs are odd (longer than the B panel's K).
  const aBytes = align16(<usize>roundUp(MC, MR) * roundUp(KC, 2) * 2);
  const ptrBytes = align16(<usize>runs << 4);
  let pb = panelB;
  if ((run & 1) != 0) {
    const bBytes = <usize>roundUp(NC, NR) * Kp * 2;
    if (ptrBytes + bBytes > aBytes) return false;
    pb = panelA + ptrBytes;
  } else if (ptrBytes > aBytes) {
    return false;
  }
  rowsLoop(stage, M, N, panelA, pb);
  return true;
}

/** Whether A is an operand fusedRows can read in place: IM2COL, not transposed, with runs KW*C
 *  that are even or at least 5 codes (an odd run costs a zero pair per run: not worth it below). */
function rowsOperand(): bool {
  if (aTransG || field(viewA, V_KIND) != VIEW_KIND_IM2COL) return false;
  const run = <u32>(field(viewA, V_KW) * field(viewA, V_C));
  return (run & 1) == 0 || run >= 5;
}

/**
 * The workspace [work, end) laid out for fusedRows alone, when the blocking's layout (sized for
 * packing A) leaves it no room: the run table, one B panel for all of K (padded for odd runs), the
 * i32 block accumulator, the tile, the scratch the output stage and packB need, and a line cache
 * with a slot for every line a tile spans (up to 32 slots, as planExtras gives). NC stays the
 * blocking's (it fixes the order of the output stage's sums); MC starts at the blocking's and
 * halves until everything fits: fewer rows per block rather than no direct path. False, with
 * nothing changed, when not even MR rows fit.
 */
function layoutRows(work: usize, end: usize, M: u32, K: u32): bool {
  const v = viewA;
  const span = viewRowsSpan(v, MR);
  if (span > 0x80000000) return false;
  const minSlots = nextPow2(<u32>span);
  if (viewCacheBytes(v, minSlots) == 0) return false;
  const runs = <u32>field(v, V_KH), run = <u32>(field(v, V_KW) * field(v, V_C));
  const Kp = runs * roundUp(run, 2);
  const ncp = roundUp(NC, NR);
  const start = align16(work);
  const ptrBytes = align16(<usize>runs << 4), bBytes = align16(<usize>ncp * Kp * 2);
  const scratchBytes = (align16(<usize>ncp * 2) << 1) + align16(<usize>Kp * 2);
  let mc = roundUp(min(MC, M), MR);
  while (true) {
    const fixed = ptrBytes + bBytes + <usize>mc * ncp * 4 + MR * NR * 4 + scratchBytes;
    if (start <= end && fixed <= end - start) {
      for (let slots = max<u32>(minSlots, 32); slots >= minSlots; slots >>>= 1) {
        const bytes = viewCacheBytes(v, slots);
        if (bytes != 0 && bytes <= end - start - fixed) {
          MC = mc;
          KC = roundUp(K, 2);
          panelA = start;
          panelA2 = start;
          panelB = start + ptrBytes;
          panelB2 = panelB;
          blockAcc = panelB + bBytes;
          tile = blockAcc + <usize>mc * ncp * 4;
          scratch = tile + MR * NR * 4;
          workEnd = end;
          rectEnd = end - bytes;
          bAllPanels = 0;
          bAllPanels2 = 0;
          viewCacheBind(v, rectEnd, slots, bytes);
          return true;
        }
      }
    }
    if (mc <= MR) return false;
    mc = roundUp(mc >>> 1, MR);
  }
}

/** Loop nest of fusedRows: run table at rowPtrs, B packed (padded for odd runs) at pb. */
function rowsLoop(stage: usize, M: u32, N: u32, rowPtrs: usize, pb: usize): void {
  const runs = <u32>field(viewA, V_KH), run = <u32>(field(viewA, V_KW) * field(viewA, V_C));
  const run2 = roundUp(run, 2), Kp = runs * run2;
  const ld = <usize>roundUp(NC, NR) << 2;
  for (let jc: u32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    packB(pb, panelB2, jc, nc, 0, Kp, run2 != run ? run : 0);
    for (let ic: u32 = 0; ic < M; ic += MC) {
      const mc = min(MC, M - ic);
      multiplyBlockRows(pb, ic, mc, nc, runs, run2 >>> 1, rowPtrs, blockAcc, ld);
      outputStage(stage, ic, mc, jc, nc, ld);
    }
  }
}

// The plain-matrix entry points build two PLAIN views in static memory (state.ts plainViews).
function plainView(v: usize, base: usize, rows: u32, cols: u32, bits: u32, trans: bool): void {
  memory.fill(v, 0, VIEW_BYTES);
  store<i32>(v + (<usize>V_KIND << 2), VIEW_KIND_PLAIN);
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
  const va = plainViews, vb = plainViews + VIEW_BYTES;
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
  const va = plainViews, vb = plainViews + VIEW_BYTES;
  plainView(va, a, aRows, aCols, aBits, transA);
  plainView(vb, b, bRows, bCols, bBits, transB);
  return gemmPrepackB(va, vb, work, workBytes, panels, panelsBytes);
}

export function gemmPrepackedPlain(
  a: usize, aRows: u32, aCols: u32, aBits: u32, transA: bool,
  b: usize, bRows: u32, bCols: u32, bBits: u32, transB: bool,
  c: usize, work: usize, workBytes: usize, panels: usize, panelsBytes: usize,
): i32 {
  const va = plainViews, vb = plainViews + VIEW_BYTES;
  plainView(va, a, aRows, aCols, aBits, transA);
  plainView(vb, b, bRows, bCols, bBits, transB);
  return gemmViewsPanels(va, vb, c, work, workBytes, panels, panelsBytes);
}
