// gemm() of assembly/gemm/ against a naive triple loop over the same codes, exact to the bit.
//
// Each case: random symmetric codes (extremes sprinkled in) or constant extremes, packed with
// encodeMatrix; C and the workspace sit between guard bytes that must come back untouched; the
// workspace is exactly gemm_workspace_bytes unless a test says otherwise.

import { gemm } from "../../assembly/gemm/index";
import { STATUS_OK, STATUS_BITS, STATUS_SHAPE, STATUS_WORKSPACE } from "../../assembly/extents";
// The workspace size as the host asks for it (the ABI export).
import { gemm_workspace_bytes } from "../../assembly/index";
import { encodeMatrix, maxCode, rowStrideBytes } from "../../assembly/packed";
import { nextU32, seedRandom } from "./xorshift";

const CODE_CAP: usize = 12288; // i32 codes per operand
const A_CODES = memory.data(<i32>(CODE_CAP * 4), 16);
const B_CODES = memory.data(<i32>(CODE_CAP * 4), 16);
const A_PACKED = memory.data(<i32>(CODE_CAP * 2 + 4096), 16);
const B_PACKED = memory.data(<i32>(CODE_CAP * 2 + 4096), 16);
const C_CAP: usize = 24000; // f64
const GUARD: usize = 256;
const C_AREA = memory.data(<i32>(C_CAP * 8 + 2 * GUARD), 16);
const WORK_CAP: usize = 65536;
const WORK_AREA = memory.data(<i32>(WORK_CAP + 2 * GUARD + 16), 16);
const C = C_AREA + GUARD;

const GUARD_BYTE: u8 = 0xcd;
// C's guards hold f64 -0.0: a stray `c += 0.0` past the end (a padded tile column written back)
// turns it into +0.0, where any numeric byte pattern would come back unchanged.
const NEG_ZERO: u64 = 0x8000000000000000;
const C_FILL: u8 = 0xff; // an f64 NaN: every element of C must be written
const DIMS: StaticArray<u32> = [1, 3, 4, 5, 8, 9, 17];

// Fill modes.
const RANDOM: i32 = 0; // random codes with +-max, 0 sprinkled
const MAX_MAX: i32 = 1; // A = +max, B = +max: largest positive sums
const MAX_NEG: i32 = 2; // A = +max, B = -max: largest negative sums

seedRandom(0x6d2b79f5);

function fillCodes(p: usize, n: u32, bits: u32, mode: i32, sign: i32): void {
  const m = maxCode(bits);
  for (let i: u32 = 0; i < n; i++) {
    let v: i32;
    if (mode != RANDOM) v = sign * m;
    else {
      const r = nextU32();
      switch (r & 7) {
        case 0: v = m; break;
        case 1: v = -m; break;
        case 2: v = 0; break;
        default: v = <i32>((r >>> 3) % <u32>(2 * m + 1)) - m;
      }
    }
    store<i32>(p + (<usize>i << 2), v);
  }
}

function countNot(p: usize, n: usize, b: u8): i32 {
  let bad = 0;
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) != b) bad++;
  return bad;
}

function fillNegZero(p: usize, n: usize): void {
  for (let i: usize = 0; i < n; i += 8) store<u64>(p + i, NEG_ZERO);
}

function countNotNegZero(p: usize, n: usize): i32 {
  let bad = 0;
  for (let i: usize = 0; i < n; i += 8) if (load<u64>(p + i) != NEG_ZERO) bad++;
  return bad;
}

let failure = "";
function describeCase(M: u32, N: u32, K: u32, aBits: u32, bBits: u32, tA: bool, tB: bool): string {
  return "M=" + M.toString() + " N=" + N.toString() + " K=" + K.toString() + " bits=(" + aBits.toString() +
    "," + bBits.toString() + ")" + (tA ? " A^T" : "") + (tB ? " B^T" : "");
}
function fail(what: string, M: u32, N: u32, K: u32, aBits: u32, bBits: u32, tA: bool, tB: bool): void {
  if (failure.length == 0) failure = what + ": " + describeCase(M, N, K, aBits, bBits, tA, tB);
}

// op(A)(i, k) and op(B)(k, j) from the stored codes: A is stored M x K, or K x M when transposed.
@inline function opA(i: u32, k: u32, M: u32, K: u32, tA: bool): i64 {
  return <i64>load<i32>(A_CODES + (<usize>(tA ? k * M + i : i * K + k) << 2));
}
@inline function opB(k: u32, j: u32, N: u32, K: u32, tB: bool): i64 {
  return <i64>load<i32>(B_CODES + (<usize>(tB ? j * K + k : k * N + j) << 2));
}

// Packs the operands of the case (codes already in A_CODES / B_CODES).
function packOperands(M: u32, N: u32, K: u32, aBits: u32, bBits: u32, tA: bool, tB: bool): bool {
  const aRows = tA ? K : M, aCols = tA ? M : K;
  const bRows = tB ? N : K, bCols = tB ? K : N;
  assert(<usize>aRows * rowStrideBytes(aCols, aBits) <= CODE_CAP * 2 + 4096);
  assert(<usize>bRows * rowStrideBytes(bCols, bBits) <= CODE_CAP * 2 + 4096);
  return encodeMatrix(A_CODES, aRows, aCols, aBits, A_PACKED) == 0 &&
    encodeMatrix(B_CODES, bRows, bCols, bBits, B_PACKED) == 0;
}

// Runs gemm with `workBytes` of workspace at WORK_AREA + GUARD + misalign and checks everything.
// Returns the number of faults. With `allowWorkspaceErr`, STATUS_WORKSPACE is accepted too (then
// only the guards are checked); any other non-OK result is a fault.
let lastResult: i32 = 0;
function runPacked(M: u32, N: u32, K: u32, aBits: u32, bBits: u32, tA: bool, tB: bool,
                   workBytes: usize, misalign: usize, allowWorkspaceErr: bool): i32 {
  const aRows = tA ? K : M, aCols = tA ? M : K;
  const bRows = tB ? N : K, bCols = tB ? K : N;
  const cBytes = <usize>M * N * 8;
  assert(cBytes <= C_CAP * 8);
  assert(workBytes + misalign <= WORK_CAP + 16);
  const work = WORK_AREA + GUARD + misalign;
  fillNegZero(C_AREA, GUARD);
  memory.fill(C, C_FILL, cBytes);
  fillNegZero(C + cBytes, GUARD);
  memory.fill(WORK_AREA, GUARD_BYTE, GUARD + misalign);
  memory.fill(work, 0x5a, workBytes);
  memory.fill(work + workBytes, GUARD_BYTE, GUARD);
  const aSpan = <usize>aRows * rowStrideBytes(aCols, aBits), bSpan = <usize>bRows * rowStrideBytes(bCols, bBits);
  const aSum = checksum(A_PACKED, aSpan), bSum = checksum(B_PACKED, bSpan);

  const r = gemm(A_PACKED, aRows, aCols, aBits, tA, B_PACKED, bRows, bCols, bBits, tB, C, work, workBytes);
  lastResult = r;
  let bad = 0;
  if (r == STATUS_WORKSPACE && allowWorkspaceErr) {
    // fall through to the guard checks only
  } else if (r != STATUS_OK) {
    fail("gemm returned " + r.toString(), M, N, K, aBits, bBits, tA, tB);
    return 1;
  } else {
    for (let i: u32 = 0; i < M; i++) {
      for (let j: u32 = 0; j < N; j++) {
        let acc: i64 = 0;
        for (let k: u32 = 0; k < K; k++) acc += opA(i, k, M, K, tA) * opB(k, j, N, K, tB);
        const got = load<f64>(C + (<usize>(i * N + j) << 3));
        if (got != <f64>acc) {
          bad++;
          fail("C[" + i.toString() + "," + j.toString() + "] = " + got.toString() + ", want " + acc.toString(),
            M, N, K, aBits, bBits, tA, tB);
        }
      }
    }
  }
  const cOver = countNotNegZero(C_AREA, GUARD) + countNotNegZero(C + cBytes, GUARD);
  if (cOver != 0) { bad += cOver; fail("wrote outside C", M, N, K, aBits, bBits, tA, tB); }
  const wOver = countNot(WORK_AREA, GUARD + misalign, GUARD_BYTE) + countNot(work + workBytes, GUARD, GUARD_BYTE);
  if (wOver != 0) { bad += wOver; fail("wrote outside the workspace", M, N, K, aBits, bBits, tA, tB); }
  if (checksum(A_PACKED, aSpan) != aSum || checksum(B_PACKED, bSpan) != bSum) {
    bad++;
    fail("modified an operand", M, N, K, aBits, bBits, tA, tB);
  }
  return bad;
}

function checksum(p: usize, n: usize): u64 {
  let h: u64 = 0xcbf29ce484222325;
  for (let i: usize = 0; i < n; i++) h = (h ^ <u64>load<u8>(p + i)) * 0x100000001b3;
  return h;
}

function runCase(M: u32, N: u32, K: u32, aBits: u32, bBits: u32, tA: bool, tB: bool, mode: i32): i32 {
  fillCodes(A_CODES, M * K, aBits, mode, 1);
  fillCodes(B_CODES, K * N, bBits, mode, mode == MAX_NEG ? -1 : 1);
  if (!packOperands(M, N, K, aBits, bBits, tA, tB)) {
    fail("encodeMatrix refused", M, N, K, aBits, bBits, tA, tB);
    return 1;
  }
  const ws = gemm_workspace_bytes(M, N, K, aBits, bBits);
  if (ws == 0 || ws > WORK_CAP) { fail("workspace size " + ws.toString(), M, N, K, aBits, bBits, tA, tB); return 1; }
  return runPacked(M, N, K, aBits, bBits, tA, tB, ws, 0, false);
}

// Every M, N, K in DIMS, every transpose combination, random and extreme codes.
let casesRun: i32 = 0;
function sweep(aBits: u32, bBits: u32): i32 {
  let bad = 0;
  for (let t = 0; t < 4; t++) {
    const tA = (t & 1) != 0, tB = (t & 2) != 0;
    for (let x = 0; x < DIMS.length; x++) {
      for (let y = 0; y < DIMS.length; y++) {
        for (let z = 0; z < DIMS.length; z++) {
          const M = DIMS[x], N = DIMS[y], K = DIMS[z];
          bad += runCase(M, N, K, aBits, bBits, tA, tB, RANDOM);
          casesRun++;
        }
      }
    }
    bad += runCase(17, 9, 17, aBits, bBits, tA, tB, MAX_MAX);
    bad += runCase(9, 17, 17, aBits, bBits, tA, tB, MAX_NEG);
  }
  return bad;
}

// Larger shapes: several K blocks (the i32 bound), M blocks and N blocks.
function blockSweep(M: u32, N: u32, K: u32, aBits: u32, bBits: u32): i32 {
  let bad = 0;
  for (let t = 0; t < 4; t++) {
    const tA = (t & 1) != 0, tB = (t & 2) != 0;
    bad += runCase(M, N, K, aBits, bBits, tA, tB, RANDOM);
    bad += runCase(M, N, K, aBits, bBits, tA, tB, MAX_MAX);
    bad += runCase(M, N, K, aBits, bBits, tA, tB, MAX_NEG);
  }
  return bad;
}

// Workspaces from the default size down to refusal: every accepted size must give the exact C and
// stay inside its bytes; the smallest sizes must be refused with STATUS_WORKSPACE.
function shrinkingWorkspace(M: u32, N: u32, K: u32, aBits: u32, bBits: u32, tA: bool, tB: bool): i32 {
  fillCodes(A_CODES, M * K, aBits, RANDOM, 1);
  fillCodes(B_CODES, K * N, bBits, RANDOM, 1);
  if (!packOperands(M, N, K, aBits, bBits, tA, tB)) return 1;
  let bad = 0, accepted = 0, refused = 0;
  const full = gemm_workspace_bytes(M, N, K, aBits, bBits);
  for (let ws = <isize>full; ws >= 0; ws -= 8) {
    bad += runPacked(M, N, K, aBits, bBits, tA, tB, <usize>ws, <usize>(ws & 15), true);
    if (lastResult == STATUS_OK) accepted++;
    else if (lastResult == STATUS_WORKSPACE) refused++;
  }
  if (accepted < 10 || refused == 0 || lastResult != STATUS_WORKSPACE) {
    bad++;
    fail("accepted " + accepted.toString() + ", refused " + refused.toString(), M, N, K, aBits, bBits, tA, tB);
  }
  return bad;
}

describe("gemm vs naive triple loop, M,N,K in {1,3,4,5,8,9,17}, all transposes", () => {
  it("8 x 8 bits", () => { failure = ""; expect<i32>(sweep(8, 8)).toBe(0, failure); });
  it("4 x 8 bits", () => { failure = ""; expect<i32>(sweep(4, 8)).toBe(0, failure); });
  it("8 x 4 bits", () => { failure = ""; expect<i32>(sweep(8, 4)).toBe(0, failure); });
  it("2 x 2 bits", () => { failure = ""; expect<i32>(sweep(2, 2)).toBe(0, failure); });
  it("16 x 16 bits (split A)", () => { failure = ""; expect<i32>(sweep(16, 16)).toBe(0, failure); });
  it("16 x 8 bits", () => { failure = ""; expect<i32>(sweep(16, 8)).toBe(0, failure); });
  it("3 x 13 bits", () => { failure = ""; expect<i32>(sweep(3, 13)).toBe(0, failure); });
  it("15 x 15 bits (split A)", () => { failure = ""; expect<i32>(sweep(15, 15)).toBe(0, failure); });
  it("13 x 16 bits (split B)", () => { failure = ""; expect<i32>(sweep(13, 16)).toBe(0, failure); });
  it("ran every shape", () => { expect<i32>(casesRun).toBe(9 * 4 * 343); });
});

describe("gemm blocking", () => {
  it("13 x 13 bits, K = 300 (K blocks of 128)", () => { failure = ""; expect<i32>(blockSweep(5, 9, 300, 13, 13)).toBe(0, failure); });
  it("16 x 11 bits, K = 200, all-extreme codes (K blocks of 64 at the i32 bound)", () => { failure = ""; expect<i32>(blockSweep(4, 8, 200, 16, 11)).toBe(0, failure); });
  it("16 x 16 bits, K = 520 (split and K blocks of 256)", () => { failure = ""; expect<i32>(blockSweep(9, 17, 520, 16, 16)).toBe(0, failure); });
  it("12 x 16 bits, K = 300 (split B and K blocks)", () => { failure = ""; expect<i32>(blockSweep(6, 5, 300, 12, 16)).toBe(0, failure); });
  it("4 x 4 bits, K = 1000", () => { failure = ""; expect<i32>(blockSweep(3, 5, 1000, 4, 4)).toBe(0, failure); });
  it("8 x 8 bits, M = 70, N = 260 (M and N blocks)", () => { failure = ""; expect<i32>(blockSweep(70, 260, 3, 8, 8)).toBe(0, failure); });
});

describe("gemm workspace and errors", () => {
  it("refuses a too-small workspace with STATUS_WORKSPACE", () => {
    fillCodes(A_CODES, 17 * 17, 8, RANDOM, 1);
    fillCodes(B_CODES, 17 * 17, 8, RANDOM, 1);
    expect<bool>(packOperands(17, 17, 17, 8, 8, false, false)).toBe(true);
    const work = WORK_AREA + GUARD;
    expect<i32>(gemm(A_PACKED, 17, 17, 8, false, B_PACKED, 17, 17, 8, false, C, work, 0)).toBe(STATUS_WORKSPACE);
    expect<i32>(gemm(A_PACKED, 17, 17, 8, false, B_PACKED, 17, 17, 8, false, C, work, 64)).toBe(STATUS_WORKSPACE);
    expect<i32>(gemm(A_PACKED, 17, 17, 8, false, B_PACKED, 17, 17, 8, false, C, work, 128)).toBe(STATUS_WORKSPACE);
    // Misaligned: the 16-byte alignment slack eats the whole workspace.
    expect<i32>(gemm(A_PACKED, 17, 17, 8, false, B_PACKED, 17, 17, 8, false, C, work + 1, 15)).toBe(STATUS_WORKSPACE);
  });

  it("refuses mismatched K with STATUS_SHAPE, for every transpose", () => {
    fillCodes(A_CODES, 64, 8, RANDOM, 1);
    fillCodes(B_CODES, 64, 8, RANDOM, 1);
    encodeMatrix(A_CODES, 5, 5, 8, A_PACKED);
    encodeMatrix(B_CODES, 5, 5, 8, B_PACKED);
    const work = WORK_AREA + GUARD, wb: usize = 4096;
    // op(A) 3 x 5 against op(B) 4 x 3.
    expect<i32>(gemm(A_PACKED, 3, 5, 8, false, B_PACKED, 4, 3, 8, false, C, work, wb)).toBe(STATUS_SHAPE);
    expect<i32>(gemm(A_PACKED, 5, 3, 8, true, B_PACKED, 4, 3, 8, false, C, work, wb)).toBe(STATUS_SHAPE);
    expect<i32>(gemm(A_PACKED, 3, 5, 8, false, B_PACKED, 3, 4, 8, true, C, work, wb)).toBe(STATUS_SHAPE);
    expect<i32>(gemm(A_PACKED, 5, 3, 8, true, B_PACKED, 3, 4, 8, true, C, work, wb)).toBe(STATUS_SHAPE);
    // The same operands with matching K are fine.
    expect<i32>(gemm(A_PACKED, 3, 5, 8, false, B_PACKED, 5, 3, 8, false, C, work, wb)).toBe(STATUS_OK);
  });

  it("refuses bit widths outside 2..16 with STATUS_BITS", () => {
    const work = WORK_AREA + GUARD, wb: usize = 4096;
    expect<i32>(gemm(A_PACKED, 3, 5, 1, false, B_PACKED, 5, 3, 8, false, C, work, wb)).toBe(STATUS_BITS);
    expect<i32>(gemm(A_PACKED, 3, 5, 8, false, B_PACKED, 5, 3, 17, false, C, work, wb)).toBe(STATUS_BITS);
    expect<usize>(gemm_workspace_bytes(3, 3, 5, 1, 8)).toBe(0);
    expect<usize>(gemm_workspace_bytes(3, 3, 5, 8, 17)).toBe(0);
  });

  it("K = 0 gives C = 0", () => {
    memory.fill(C, 0xff, 12 * 8);
    expect<i32>(gemm(A_PACKED, 3, 0, 8, false, B_PACKED, 0, 4, 8, false, C, WORK_AREA + GUARD, 4096)).toBe(STATUS_OK);
    let nonzero = 0;
    for (let i = 0; i < 12; i++) if (load<f64>(C + (<usize>i << 3)) != 0) nonzero++;
    expect<i32>(nonzero).toBe(0);
  });

  it("with exactly gemm_workspace_bytes, at aligned and misaligned addresses, writes nothing past the workspace or C", () => {
    failure = "";
    let bad = 0;
    const shapes: StaticArray<u32> = [1, 1, 1, 3, 5, 7, 17, 9, 17, 4, 8, 2, 33, 65, 31, 70, 9, 150];
    const pairs: StaticArray<u32> = [8, 8, 4, 4, 16, 16, 3, 13, 13, 16, 2, 9];
    for (let s = 0; s < shapes.length; s += 3) {
      for (let p = 0; p < pairs.length; p += 2) {
        for (let t = 0; t < 4; t++) {
          const M = shapes[s], N = shapes[s + 1], K = shapes[s + 2];
          const aBits = pairs[p], bBits = pairs[p + 1];
          const tA = (t & 1) != 0, tB = (t & 2) != 0;
          fillCodes(A_CODES, M * K, aBits, RANDOM, 1);
          fillCodes(B_CODES, K * N, bBits, RANDOM, 1);
          if (!packOperands(M, N, K, aBits, bBits, tA, tB)) { bad++; continue; }
          const ws = gemm_workspace_bytes(M, N, K, aBits, bBits);
          bad += runPacked(M, N, K, aBits, bBits, tA, tB, ws, 0, false);
          // Misaligned: the guards must hold whatever gemm decides (see the next test for the result).
          for (let mis: usize = 1; mis < 16; mis += 7) {
            bad += runPacked(M, N, K, aBits, bBits, tA, tB, ws, mis, true);
          }
        }
      }
    }
    expect<i32>(bad).toBe(0, failure);
  });

  // gemm_workspace_bytes includes 16 bytes of alignment slack, so the call fits at any address; gemm
  // should accept exactly that many bytes wherever they start.
  it("accepts exactly gemm_workspace_bytes at a misaligned address", () => {
    failure = "";
    let bad = 0;
    const shapes: StaticArray<u32> = [1, 1, 1, 3, 5, 7, 17, 9, 17];
    for (let s = 0; s < shapes.length; s += 3) {
      const M = shapes[s], N = shapes[s + 1], K = shapes[s + 2];
      fillCodes(A_CODES, M * K, 8, RANDOM, 1);
      fillCodes(B_CODES, K * N, 8, RANDOM, 1);
      if (!packOperands(M, N, K, 8, 8, false, false)) { bad++; continue; }
      const ws = gemm_workspace_bytes(M, N, K, 8, 8);
      for (let mis: usize = 1; mis < 16; mis += 7) {
        bad += runPacked(M, N, K, 8, 8, false, false, ws, mis, false);
      }
    }
    expect<i32>(bad).toBe(0, failure);
  });

  it("stays exact and in bounds as the workspace shrinks to refusal (8 x 8 and 16 x 16, 17 x 17 x 17)", () => {
    failure = "";
    let bad = 0;
    for (let t = 0; t < 4; t++) {
      const tA = (t & 1) != 0, tB = (t & 2) != 0;
      bad += shrinkingWorkspace(17, 17, 17, 8, 8, tA, tB);
      bad += shrinkingWorkspace(17, 17, 17, 16, 16, tA, tB);
      bad += shrinkingWorkspace(13, 19, 33, 13, 16, tA, tB);
    }
    expect<i32>(bad).toBe(0, failure);
  });
});
