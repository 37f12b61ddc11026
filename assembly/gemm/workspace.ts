// The workspace of a call: where the panels, the block accumulator, the tile and the scratch
// lie, and what the caller gave beyond the blocking's need (the line cache of an IM2COL operand,
// B panels for every K block). With none of the extra every call still runs, through the slower
// paths; the blocking depends only on the need (blocking.ts), so the host's plans do not move
// with the extra.

import { inMemory, STATUS_OK, STATUS_WORKSPACE, STATUS_RANGE } from "../extents";
import { viewCacheBytes, viewCacheBind, field } from "../views";
import { V_KH } from "../../src/runtime/abi-layout";
import { MR, NR, LANE_COLS, roundUp, align16, nextPow2, chooseBlocking } from "./blocking";
import {
  accI32, laneChunk, bLanes, laneB, viewA, viewB, aTransG, bTransG, splitA, splitB, MC, NC, KC, withBlockAcc, gM, gN, gK,
  panelA, panelA2, panelB, panelB2, blockAcc, tile, scratch, rectEnd, workEnd, bAllPanels, bAllPanels2, bBlockBytes,
} from "./state";

export function layoutWorkspace(work: usize, end: usize): void {
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


// The minimum scratch the blocking reserved (see workspaceNeed).
export function scratchNeed(): usize {
  const mcp = roundUp(MC, MR), ncp = roundUp(NC, NR), kcp = roundUp(KC, 2);
  return 2 * align16(<usize>ncp * 2) + align16(<usize>kcp * 2) + align16(<usize>mcp * 2);
}

// Hands the workspace beyond the blocking's need to the line cache and the all-K B panels.
export function planExtras(M: u32, K: u32, cacheB: bool): void {
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
  const allK = cacheB && K > KC && M > MC;
  // Scalar build, i32 sums with room in the lanes: lane panels (all K blocks when wanted, else
  // the first fallback is the i16 panels for all K blocks, then one lane panel).
  bLanes = false;
  laneB = panelB;
  const lanes = !ASC_FEATURE_SIMD && cacheB && accI32 && laneChunk != 0;
  const laneBytes = align16(<usize>((NC + LANE_COLS - 1) / LANE_COLS) * roundUp(KC, 2) * 16);
  // Packing a transposed B into lanes decodes whole groups of its stored rows (packing.ts).
  const laneFloor = max(floor, scratch + (bTransG ? <usize>LANE_COLS * roundUp(KC, 2) * 2 : 0));
  if (lanes && allK) {
    const bytes = <u64>((K + KC - 1) / KC) * <u64>laneBytes;
    if (laneFloor <= rectEnd && bytes <= <u64>(rectEnd - laneFloor)) {
      rectEnd -= <usize>bytes;
      bAllPanels = rectEnd;
      bBlockBytes = laneBytes;
      bLanes = true;
      return;
    }
  }
  if (allK) {
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
  if (lanes && bAllPanels == 0 && laneFloor <= rectEnd && laneBytes <= rectEnd - laneFloor) {
    rectEnd -= laneBytes;
    laneB = rectEnd;
    bLanes = true;
  }
}


export function bindWorkspace(work: usize, workBytes: usize): i32 {
  if (!inMemory(work, <f64>workBytes)) return STATUS_RANGE;
  const aligned = align16(work);
  if (aligned - work >= workBytes) return STATUS_WORKSPACE;
  // workspaceNeed already counts 16 bytes of alignment slack; only the actual gap is spent.
  if (!chooseBlocking(gM, gN, gK, workBytes + 16 - (aligned - work))) return STATUS_WORKSPACE;
  layoutWorkspace(aligned, work + workBytes);
  return STATUS_OK;
}
