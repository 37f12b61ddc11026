// The GEMM call in progress: every piece of module state the GEMM stages share, in one place.
// Module globals, not objects: the stub runtime never frees, and the stages run one call at a time
// (a wasm instance is single-threaded). Each entry point sets what it uses before reading it.

import { VIEW_BYTES } from "../../src/runtime/abi-layout";

// Operands (driver.ts bindOperands): the views, whether each is used transposed, the product's shape.
export let viewA: usize = 0, viewB: usize = 0;
export let aTransG: bool = false, bTransG: bool = false;
export let gM: u32 = 0, gN: u32 = 0, gK: u32 = 0;

// Overflow blocking (blocking.ts setOperands): whether an operand is split into hi/lo byte planes,
// the longest K block whose pair sums fit an i32 lane (capped by the cache block), and the longest
// K whose full sums do (no cap; 0 when split).
export let splitA: bool = false, splitB: bool = false;
export let kcLimit: u32 = 0;
export let kDirect: u64 = 0;
// Fused calls whose whole K fits kDirect (and no split) keep the block accumulator in i32: the K
// blocks add up exactly there, and the output stage converts each sum to f64 once, the same value
// the f64 accumulation gave (exact integers either way).
export let accI32: bool = false;

// The scalar build's lane panels (packing.ts packBLanes, microkernels-scalar.ts): when the call
// keeps i32 sums and the widths leave room, B is packed three columns to a word of lanes and each
// multiply makes three products. The words are i64 (21-bit lanes) or, for narrower operands with
// room for an f64 copy of a tile's A rows, f64 (17-bit lanes). blocking.ts setOperands gives the
// pairs of k whose sums a lane holds exactly for each (0: not worth it), workspace.ts planExtras
// chooses: bLanes (this call's B panels, at laneB or bAllPanels, are lane panels), laneF64 (of f64
// words, with A's tile rows converted at laneA), laneChunk (the chunk of the words chosen).
export let laneChunkI64: u32 = 0, laneChunkF64: u32 = 0;
export let laneChunk: u32 = 0;
export let bLanes: bool = false, laneF64: bool = false;
export let laneB: usize = 0, laneA: usize = 0;

// Blocks chosen for the call (blocking.ts), shared by the plain and the relaxed (i8) paths.
export let MC: u32 = 0, NC: u32 = 0, KC: u32 = 0;
export let withBlockAcc: bool = false;

// Workspace regions (workspace.ts layoutWorkspace).
export let panelA: usize = 0, panelA2: usize = 0, panelB: usize = 0, panelB2: usize = 0, blockAcc: usize = 0;
export let tile: usize = 0;
// Scratch: [scratch, rectEnd) decodes operand rectangles while packing; in the output stage it
// holds the bias row, then i16 codes up to rectEnd (output-stages.ts); at least the 2*NC + KC + MC
// i16 the blocking reserved. What the caller's
// workspace has beyond the blocking's need goes, from its end down, to the line cache of an
// IM2COL operand and to B panels for every K block (packed once per N block instead of once per
// (M block, K block) when K spans several blocks).
export let scratch: usize = 0, rectEnd: usize = 0, workEnd: usize = 0;
export let bAllPanels: usize = 0, bAllPanels2: usize = 0, bBlockBytes: usize = 0;

// Zero kernel rows of the A rows just packed (views.ts rectZeroMasks), when A is an IM2COL view
// read through the line cache (block-multiply.ts multiplyBlockI32). The masks (u32 per A row) and
// the pair ranges of a tile live at the start of the scratch, which packing a non-transposed A
// does not use; without room for them nothing is skipped. (No static buffers: the module's data
// size is part of every memory plan.)
export let zeroMasks: usize = 0, pairRanges: usize = 0;
export let useZeroMasks: bool = false;
export let zeroSeg: u32 = 0;

// Pre-packed B panels (blocking.ts panelsNeed): one plane's bytes, one block's stride, K blocks.
export let panelPlane: usize = 0, panelStride: usize = 0, panelKBlocks: u32 = 0;

// The relaxed build's i8 path (relaxed.ts): quads of relaxed dots summed in i16 before each
// widening, and whether the last gemm / gemm_views call ran the path to the end (1) or not (0).
export let quadsPerWiden: u32 = 1;
export let relaxedUsed: i32 = 0;

// The fused output stage (output-stages.ts): the view written, and where a run of output columns
// lives. An output row's columns [jc, jc+nc) are consecutive codes of one packed line for PLAIN
// and 1x1 views; for the whole-image view they run on into the next line every W*C codes
// (outWrap). Rows of a block are visited in order, so the position of row r+1 follows from row
// r's without divisions (nextOutRow).
export let outView: usize = 0;
export let outRow: usize = 0, outCol: u32 = 0, outWrap: u32 = 0, outStride: usize = 0;
export let outKind: i32 = 0, outX: u32 = 0, outW: u32 = 0, outC: u32 = 0, outCol0: u32 = 0, outRowStep: usize = 0;

// Static data, in the order the kernels always allocated it: the module's data size (and so
// __heap_base, which every memory plan starts from) must not move with a kernel change.
/** Kept only for that size. */
export const reservedSlot: usize = memory.data(8, 8);
/** The two PLAIN views the plain-matrix entry points build (driver.ts). */
export const plainViews: usize = memory.data(2 * VIEW_BYTES, 16);
