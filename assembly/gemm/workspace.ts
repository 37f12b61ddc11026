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
  accI32, laneChunk, laneChunkI64, laneChunkF64, bLanes, laneF64, laneB, laneA, viewA, viewB, aTransG, bTransG, splitA, splitB, MC, NC, KC, withBlockAcc, gM, gN, gK,
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
  // Scalar build, i32 sums with room in the lanes: lane panels, for all K blocks when wanted and
  // there is room, else one (the i16 panels are then not used at all).
  bLanes = false;
  laneF64 = false;
  laneB = panelB;
  if (!ASC_FEATURE_SIMD && cacheB && accI32 && laneChunkI64 != 0) {
    if (allK) {
      const bytes = <u64>((K + KC - 1) / KC) * <u64>laneBytes(KC);
      const floorL = laneFloor(floor, KC);
      if (floorL <= rectEnd && bytes <= <u64>(rectEnd - floorL)) {
        rectEnd -= <usize>bytes;
        bAllPanels = rectEnd;
        bBlockBytes = laneBytes(KC);
        bLanes = true;
        laneWords(floorL);
        return;
      }
    }
    // One lane panel, in the i16 B panel's place or else in the room left; when neither holds
    // it, a shorter K block: with i32 sums the K block is only a cache choice, every sum is the
    // same (the A panel, sized for KC, holds the shorter block). B is then packed per K block
    // of each M block, which the lanes' faster multiplies pay for.
    const bPlace = align16(<usize>roundUp(NC, NR) * roundUp(KC, 2) * 2);
    let kc = KC;
    while (true) {
      const bytes = laneBytes(kc), floorL = laneFloor(floor, kc);
      if (floorL <= rectEnd) {
        if (bytes <= bPlace) {
          bLanes = true;
        } else if (bytes <= rectEnd - floorL) {
          rectEnd -= bytes;
          laneB = rectEnd;
          bLanes = true;
        }
        if (bLanes) {
          KC = kc;
          laneWords(floorL);
          return;
        }
      }
      if (kc <= LANE_MIN_KC) break;
      kc = roundUp(kc >>> 1, 2);
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
}

// The lane panels' words: f64 when the widths allow and the room left holds a tile's A rows as
// f64 (4 rows of the K block, interleaved: block-multiply.ts), else i64.
function laneWords(floorL: usize): void {
  const bytes = align16(<usize>roundUp(KC, 2) * MR * 8);
  laneF64 = laneChunkF64 != 0 && floorL <= rectEnd && bytes <= rectEnd - floorL;
  if (laneF64) {
    rectEnd -= bytes;
    laneA = rectEnd;
  }
  laneChunk = laneF64 ? laneChunkF64 : laneChunkI64;
}

// The K block below which a lane panel is not worth shortening K for.
const LANE_MIN_KC: u32 = 16;

// Bytes of a lane panel for K block kc (packing.ts packBLanes: groups of 6 columns, 16 bytes per k).
@inline function laneBytes(kc: u32): usize {
  return align16(<usize>((NC + LANE_COLS - 1) / LANE_COLS) * roundUp(kc, 2) * 16);
}

// Packing a transposed B into lanes decodes whole groups of its stored rows (packing.ts): the
// scratch must hold LANE_COLS rows of the K block.
@inline function laneFloor(floor: usize, kc: u32): usize {
  return max(floor, scratch + (bTransG ? <usize>LANE_COLS * roundUp(kc, 2) * 2 : 0));
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
