// Kernel internals of assembly/packed.ts against the format as docs/format.md states it.
//
// Buffers are static regions (memory.data), below __heap_base, so the test runtime's allocator never
// hands them out. Loops count mismatches and one expect per case states the count: as-pect's
// per-expect reflection is too slow for tens of thousands of values.

import {
  encodeMatrix, decodeMatrix, decodeRow, readCode, writeCode, rowStrideBytes, maxCode, MIN_BITS, MAX_BITS,
} from "../../assembly/packed";
import { nextU32, seedRandom } from "./xorshift";

const CODES = memory.data(16384, 16); // i32 codes fed to encodeMatrix
const PACKED = memory.data(16384, 16); // packed matrix, then guard bytes
const DECODED = memory.data(16384, 16); // i32 codes out of decodeMatrix
const WINDOW = memory.data(1024, 16); // decodeRow output with guards either side

const GUARD_BYTE: u8 = 0xa5;
const ODD_COLS: StaticArray<u32> = [1, 3, 7, 31, 33];
const COUNTS: StaticArray<u32> = [0, 1, 7, 8, 15, 16, 17, 40];
const COL0S: StaticArray<u32> = [0, 1, 2, 3, 4, 7, 8, 9, 16, 17, 26, 27];

seedRandom(0x2545f491);

// Codes in the symmetric range, with the extremes, zero and -1 (all ones) placed often.
function fillCodes(n: u32, bits: u32): void {
  const m = maxCode(bits);
  for (let i: u32 = 0; i < n; i++) {
    let v: i32;
    switch (i % 6) {
      case 0: v = m; break;
      case 1: v = -m; break;
      case 2: v = 0; break;
      case 3: v = -1; break;
      default: v = <i32>(nextU32() % <u32>(2 * m + 1)) - m;
    }
    store<i32>(CODES + (<usize>i << 2), v);
  }
}

function fillConst(n: u32, v: i32): void {
  for (let i: u32 = 0; i < n; i++) store<i32>(CODES + (<usize>i << 2), v);
}

function fillBytes(p: usize, n: usize, b: u8): void {
  memory.fill(p, b, n);
}

function countNot(p: usize, n: usize, b: u8): i32 {
  let bad = 0;
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) != b) bad++;
  return bad;
}

// Element j of a packed row read bit by bit from bytes: bits [j*bits, j*bits+bits) of the row's
// little-endian bit stream, two's complement. Independent of the kernels under test.
function refElement(row: usize, j: u32, bits: u32): i32 {
  let v: u32 = 0;
  for (let t: u32 = 0; t < bits; t++) {
    const pos = j * bits + t;
    v |= ((<u32>load<u8>(row + (pos >>> 3)) >>> (pos & 7)) & 1) << t;
  }
  const up = 32 - bits;
  return <i32>(v << up) >> up;
}

function refBit(row: usize, pos: u32): u32 {
  return (<u32>load<u8>(row + (pos >>> 3)) >>> (pos & 7)) & 1;
}

let failure = "";
function fail(what: string, bits: u32, cols: u32): void {
  if (failure.length == 0) failure = what + " (bits=" + bits.toString() + ", cols=" + cols.toString() + ")";
}

// Encodes CODES (rows x cols) into PACKED and checks the bytes against the format; returns faults.
function checkEncode(rows: u32, cols: u32, bits: u32): i32 {
  const stride = rowStrideBytes(cols, bits);
  const total = <usize>rows * stride;
  fillBytes(PACKED, total + 64, GUARD_BYTE);
  let bad = 0;
  if (encodeMatrix(CODES, rows, cols, bits, PACKED) != 0) { fail("encode refused", bits, cols); return 1; }
  for (let r: u32 = 0; r < rows; r++) {
    const row = PACKED + <usize>r * stride;
    for (let j: u32 = 0; j < cols; j++) {
      if (refElement(row, j, bits) != load<i32>(CODES + (<usize>(r * cols + j) << 2))) {
        bad++;
        fail("element bits differ", bits, cols);
      }
    }
    // Padding bits of the row's last word are zero (reproducible bytes for a model file).
    for (let pos: u32 = cols * bits; pos < stride * 8; pos++) {
      if (refBit(row, pos) != 0) { bad++; fail("padding bit set", bits, cols); }
    }
  }
  const over = countNot(PACKED + total, 64, GUARD_BYTE);
  if (over != 0) { bad += over; fail("encode wrote past the matrix", bits, cols); }
  return bad;
}

// decodeMatrix(PACKED) must give back CODES exactly and write nothing past rows*cols i32.
function checkDecode(rows: u32, cols: u32, bits: u32): i32 {
  const n = rows * cols;
  fillBytes(DECODED, (<usize>n << 2) + 64, GUARD_BYTE);
  decodeMatrix(PACKED, rows, cols, bits, DECODED);
  let bad = 0;
  for (let i: u32 = 0; i < n; i++) {
    if (load<i32>(DECODED + (<usize>i << 2)) != load<i32>(CODES + (<usize>i << 2))) {
      bad++;
      fail("round trip differs", bits, cols);
    }
  }
  const over = countNot(DECODED + (<usize>n << 2), 64, GUARD_BYTE);
  if (over != 0) { bad += over; fail("decodeMatrix wrote past rows*cols", bits, cols); }
  return bad;
}

function roundTripSweep(): i32 {
  let bad = 0;
  for (let bits = MIN_BITS; bits <= MAX_BITS; bits++) {
    for (let c = 0; c < ODD_COLS.length; c++) {
      const cols = ODD_COLS[c];
      for (let rows: u32 = 1; rows <= 3; rows++) {
        fillCodes(rows * cols, bits);
        bad += checkEncode(rows, cols, bits);
        bad += checkDecode(rows, cols, bits);
      }
    }
  }
  return bad;
}

function extremesSweep(): i32 {
  let bad = 0;
  for (let bits = MIN_BITS; bits <= MAX_BITS; bits++) {
    const m = maxCode(bits);
    for (let c = 0; c < ODD_COLS.length; c++) {
      const cols = ODD_COLS[c];
      const rows: u32 = 3;
      const n = rows * cols;
      fillConst(n, m);
      bad += checkEncode(rows, cols, bits) + checkDecode(rows, cols, bits);
      fillConst(n, -m);
      bad += checkEncode(rows, cols, bits) + checkDecode(rows, cols, bits);
      fillConst(n, 0);
      bad += checkEncode(rows, cols, bits) + checkDecode(rows, cols, bits);
      fillConst(n, -1);
      bad += checkEncode(rows, cols, bits) + checkDecode(rows, cols, bits);
      for (let i: u32 = 0; i < n; i++) store<i32>(CODES + (<usize>i << 2), (i & 1) ? -m : m);
      bad += checkEncode(rows, cols, bits) + checkDecode(rows, cols, bits);
    }
  }
  return bad;
}

// rowStrideBytes against the byte count written out: ceil(cols*bits/8) bytes rounded up to 4.
function strideSweep(): i32 {
  let bad = 0;
  for (let bits = MIN_BITS; bits <= MAX_BITS; bits++) {
    for (let cols: u32 = 0; cols <= 200; cols++) {
      const bytes = (cols * bits + 7) / 8;
      if (rowStrideBytes(cols, bits) != ((bytes + 3) & ~3)) { bad++; fail("stride", bits, cols); }
    }
  }
  return bad;
}

// Out-of-range code at `idx` of a 2 x 5 matrix: result idx+1 and nothing written.
function checkReject(bits: u32, idx: u32, v: i32): i32 {
  const rows: u32 = 2, cols: u32 = 5;
  fillCodes(rows * cols, bits);
  store<i32>(CODES + (<usize>idx << 2), v);
  const span = <usize>rows * rowStrideBytes(cols, bits) + 64;
  fillBytes(PACKED, span, GUARD_BYTE);
  let bad = 0;
  const got = encodeMatrix(CODES, rows, cols, bits, PACKED);
  if (got != <i32>idx + 1) { bad++; fail("reject result " + got.toString() + " for " + v.toString(), bits, cols); }
  const touched = countNot(PACKED, span, GUARD_BYTE);
  if (touched != 0) { bad += touched; fail("reject wrote bytes", bits, cols); }
  return bad;
}

function rejectSweep(): i32 {
  let bad = 0;
  for (let bits = MIN_BITS; bits <= MAX_BITS; bits++) {
    const m = maxCode(bits);
    for (let idx: u32 = 0; idx < 10; idx += 3) {
      bad += checkReject(bits, idx, m + 1);
      bad += checkReject(bits, idx, -m - 1); // -2^(bits-1): two's complement has it, the format does not
      bad += checkReject(bits, idx, 1 << bits);
      bad += checkReject(bits, idx, -(1 << bits));
      bad += checkReject(bits, idx, i32.MAX_VALUE);
      bad += checkReject(bits, idx, i32.MIN_VALUE);
    }
    // The first offending index is reported when several are out of range.
    fillCodes(10, bits);
    store<i32>(CODES + (3 << 2), -m - 1);
    store<i32>(CODES + (7 << 2), m + 1);
    if (encodeMatrix(CODES, 2, 5, bits, PACKED) != 4) { bad++; fail("first bad index", bits, 5); }
    // The extremes themselves are accepted.
    fillConst(10, m);
    store<i32>(CODES + (4 << 2), -m);
    if (encodeMatrix(CODES, 2, 5, bits, PACKED) != 0) { bad++; fail("extreme refused", bits, 5); }
  }
  return bad;
}

// decodeRow on windows of every row of a rows x cols matrix against decodeMatrix; guards around
// the i16 output catch any write outside [dst, dst + 2*count).
let windowsRun: i32 = 0;
function windowSweep(cols: u32): i32 {
  const rows: u32 = 3;
  let bad = 0;
  for (let bits = MIN_BITS; bits <= MAX_BITS; bits++) {
    fillCodes(rows * cols, bits);
    if (encodeMatrix(CODES, rows, cols, bits, PACKED) != 0) { bad++; fail("encode refused", bits, cols); continue; }
    decodeMatrix(PACKED, rows, cols, bits, DECODED);
    const stride = rowStrideBytes(cols, bits);
    for (let r: u32 = 0; r < rows; r++) {
      for (let a = 0; a < COL0S.length; a++) {
        for (let b = 0; b < COUNTS.length; b++) {
          const col0 = COL0S[a], count = COUNTS[b];
          if (col0 + count > cols) continue;
          windowsRun++;
          // Vary the destination's alignment: the SIMD paths store whole vectors.
          const dst = WINDOW + 64 + (<usize>(col0 & 7) << 1);
          fillBytes(WINDOW, 1024, GUARD_BYTE);
          decodeRow(PACKED + <usize>r * stride, col0, count, bits, dst);
          for (let j: u32 = 0; j < count; j++) {
            const want = load<i32>(DECODED + (<usize>(r * cols + col0 + j) << 2));
            if (<i32>load<i16>(dst + (<usize>j << 1)) != want) {
              bad++;
              fail("decodeRow differs at col0=" + col0.toString() + " count=" + count.toString(), bits, cols);
            }
          }
          const before = countNot(WINDOW, dst - WINDOW, GUARD_BYTE);
          const after = countNot(dst + (<usize>count << 1), 256, GUARD_BYTE);
          if (before + after != 0) {
            bad += before + after;
            fail("decodeRow wrote outside its window at col0=" + col0.toString() + " count=" + count.toString(), bits, cols);
          }
        }
      }
    }
  }
  return bad;
}

// Places a 2-row matrix so that its last row's padded stride ends exactly at the end of linear
// memory: any read past the stride traps. The page is grown here and so belongs to no allocator.
let grownEnd: usize = 0;
function endOfMemorySweep(): i32 {
  if (grownEnd == 0) {
    if (memory.grow(1) < 0) { fail("memory.grow failed", 0, 0); return 1; }
    grownEnd = <usize>memory.size() << 16;
  }
  const colsList: StaticArray<u32> = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 67];
  let bad = 0;
  for (let bits = MIN_BITS; bits <= MAX_BITS; bits++) {
    for (let c = 0; c < colsList.length; c++) {
      const cols = colsList[c];
      const rows: u32 = 2;
      const stride = rowStrideBytes(cols, bits);
      fillCodes(rows * cols, bits);
      if (encodeMatrix(CODES, rows, cols, bits, PACKED) != 0) { bad++; fail("encode refused", bits, cols); continue; }
      const base = grownEnd - <usize>rows * stride;
      memory.copy(base, PACKED, <usize>rows * stride);
      decodeMatrix(base, rows, cols, bits, DECODED);
      for (let i: u32 = 0; i < rows * cols; i++) {
        if (load<i32>(DECODED + (<usize>i << 2)) != load<i32>(CODES + (<usize>i << 2))) { bad++; fail("decodeMatrix at end of memory", bits, cols); }
      }
      const last = base + stride;
      for (let col0: u32 = 0; col0 <= cols; col0++) {
        const count = cols - col0;
        decodeRow(last, col0, count, bits, WINDOW);
        for (let j: u32 = 0; j < count; j++) {
          if (<i32>load<i16>(WINDOW + (<usize>j << 1)) != load<i32>(CODES + (<usize>(cols + col0 + j) << 2))) {
            bad++;
            fail("decodeRow at end of memory, col0=" + col0.toString(), bits, cols);
          }
        }
        // Short windows too, ending anywhere in the row.
        if (count > 0) decodeRow(last, col0, 1, bits, WINDOW);
      }
    }
  }
  return bad;
}

// readCode on every element; writeCode of fresh codes, element by element in a scrambled order,
// must produce exactly the bytes encodeMatrix gives for the fresh codes (neighbours, padding and
// other rows intact). Rows at the end of linear memory catch reads or writes past the stride.
function singleCodeSweep(): i32 {
  if (grownEnd == 0) {
    if (memory.grow(1) < 0) { fail("memory.grow failed", 0, 0); return 1; }
    grownEnd = <usize>memory.size() << 16;
  }
  const colsList: StaticArray<u32> = [1, 3, 7, 8, 31, 32, 33, 67];
  let bad = 0;
  for (let bits = MIN_BITS; bits <= MAX_BITS; bits++) {
    for (let c = 0; c < colsList.length; c++) {
      const cols = colsList[c];
      const rows: u32 = 3, n = rows * cols;
      const stride = rowStrideBytes(cols, bits), bytes = <usize>rows * stride;
      const base = grownEnd - bytes;
      fillCodes(n, bits);
      encodeMatrix(CODES, rows, cols, bits, base);
      for (let i: u32 = 0; i < n; i++) {
        const r = i / cols, j = i % cols;
        if (readCode(base + <usize>r * stride, j, bits) != load<i32>(CODES + (<usize>i << 2))) { bad++; fail("readCode", bits, cols); }
      }
      // New codes into DECODED, their encoding into PACKED as the expected bytes.
      for (let i: u32 = 0; i < n; i++) {
        const m = maxCode(bits);
        store<i32>(DECODED + (<usize>i << 2), <i32>(nextU32() % <u32>(2 * m + 1)) - m);
      }
      encodeMatrix(DECODED, rows, cols, bits, PACKED);
      for (let t: u32 = 0; t < n; t++) {
        const i = (t * 13 + 5) % n; // a permutation: 13 divides none of the n = 3 * cols here
        const r = i / cols, j = i % cols;
        writeCode(base + <usize>r * stride, j, bits, load<i32>(DECODED + (<usize>i << 2)));
      }
      if (memory.compare(base, PACKED, bytes) != 0) { bad++; fail("writeCode bytes differ from encodeMatrix", bits, cols); }
    }
  }
  return bad;
}

describe("packed format: rowStrideBytes", () => {
  it("gives ceil(cols*bits/32)*4 bytes", () => {
    expect<u32>(rowStrideBytes(0, 8)).toBe(0);
    expect<u32>(rowStrideBytes(1, 2)).toBe(4);
    expect<u32>(rowStrideBytes(16, 2)).toBe(4);
    expect<u32>(rowStrideBytes(17, 2)).toBe(8);
    expect<u32>(rowStrideBytes(5, 3)).toBe(4);
    expect<u32>(rowStrideBytes(11, 3)).toBe(8); // 33 bits
    expect<u32>(rowStrideBytes(3, 12)).toBe(8); // 36 bits
    expect<u32>(rowStrideBytes(4, 8)).toBe(4);
    expect<u32>(rowStrideBytes(5, 8)).toBe(8);
    expect<u32>(rowStrideBytes(2, 16)).toBe(4);
    expect<u32>(rowStrideBytes(3, 16)).toBe(8);
    expect<u32>(rowStrideBytes(33, 16)).toBe(68);
    expect<u32>(rowStrideBytes(31, 15)).toBe(60); // 465 bits -> 15 words
    failure = "";
    expect<i32>(strideSweep()).toBe(0, failure);
  });
});

describe("packed format: encodeMatrix / decodeMatrix", () => {
  it("writes each code at bits [j*bits, j*bits+bits) of its row, zero padding, nothing past the matrix", () => {
    failure = "";
    expect<i32>(roundTripSweep()).toBe(0, failure);
  });

  it("round-trips constant extreme matrices (+max, -max, 0, -1, alternating) for bits 2..16", () => {
    failure = "";
    expect<i32>(extremesSweep()).toBe(0, failure);
  });

  it("returns index+1 of the first out-of-range code, including -2^(bits-1), and writes nothing", () => {
    failure = "";
    expect<i32>(rejectSweep()).toBe(0, failure);
  });

  it("accepts +-(2^(bits-1)-1) and rejects one past at the widths' edges", () => {
    store<i32>(CODES, 1); store<i32>(CODES, -1, 4);
    expect<i32>(encodeMatrix(CODES, 1, 2, 2, PACKED)).toBe(0);
    store<i32>(CODES, -2);
    expect<i32>(encodeMatrix(CODES, 1, 2, 2, PACKED)).toBe(1);
    store<i32>(CODES, 32767); store<i32>(CODES, -32767, 4);
    expect<i32>(encodeMatrix(CODES, 1, 2, 16, PACKED)).toBe(0);
    store<i32>(CODES, -32768, 4);
    expect<i32>(encodeMatrix(CODES, 1, 2, 16, PACKED)).toBe(2);
  });
});

describe("packed format: decodeRow", () => {
  it("matches decodeMatrix on windows of a 3 x 67 matrix for bits 2..16 and writes only count i16", () => {
    failure = "";
    windowsRun = 0;
    expect<i32>(windowSweep(67)).toBe(0, failure);
    expect<i32>(windowsRun).toBeGreaterThan(1000);
  });

  it("matches decodeMatrix on windows of a 3 x 40 matrix (col0 + count = cols edge)", () => {
    failure = "";
    expect<i32>(windowSweep(40)).toBe(0, failure);
  });

  it("covers the 4-bit and 8-bit fast paths with known values", () => {
    // 40 codes cycling through -7..7 at 4 bits; window from an even col0 of 33 elements takes the
    // 16-at-a-time path twice, then the generic tail.
    for (let i: u32 = 0; i < 40; i++) store<i32>(CODES + (<usize>i << 2), <i32>(i % 15) - 7);
    expect<i32>(encodeMatrix(CODES, 1, 40, 4, PACKED)).toBe(0);
    decodeRow(PACKED, 2, 33, 4, WINDOW);
    let bad = 0;
    for (let j: u32 = 0; j < 33; j++) if (<i32>load<i16>(WINDOW + (<usize>j << 1)) != <i32>((j + 2) % 15) - 7) bad++;
    expect<i32>(bad).toBe(0, "4-bit even col0");
    decodeRow(PACKED, 3, 33, 4, WINDOW); // odd col0: generic path
    bad = 0;
    for (let j: u32 = 0; j < 33; j++) if (<i32>load<i16>(WINDOW + (<usize>j << 1)) != <i32>((j + 3) % 15) - 7) bad++;
    expect<i32>(bad).toBe(0, "4-bit odd col0");
    for (let i: u32 = 0; i < 40; i++) store<i32>(CODES + (<usize>i << 2), <i32>(i * 37 % 255) - 127);
    expect<i32>(encodeMatrix(CODES, 1, 40, 8, PACKED)).toBe(0);
    decodeRow(PACKED, 5, 35, 8, WINDOW);
    bad = 0;
    for (let j: u32 = 0; j < 35; j++) if (<i32>load<i16>(WINDOW + (<usize>j << 1)) != <i32>((j + 5) * 37 % 255) - 127) bad++;
    expect<i32>(bad).toBe(0, "8-bit");
  });

  it("covers the 2-bit fast path (col0 % 4 == 0) with known values", () => {
    // 100 codes cycling through -1..1 with a stride that hits every code at every position of a
    // byte; from col0 4, 70 codes take the 32-at-a-time path twice, then the generic tail.
    for (let i: u32 = 0; i < 100; i++) store<i32>(CODES + (<usize>i << 2), <i32>((i * 7 + i / 5) % 3) - 1);
    expect<i32>(encodeMatrix(CODES, 1, 100, 2, PACKED)).toBe(0);
    const col0s: StaticArray<u32> = [0, 4, 28, 2, 5];
    for (let c = 0; c < col0s.length; c++) {
      const col0 = col0s[c];
      decodeRow(PACKED, col0, 70, 2, WINDOW);
      let bad = 0;
      for (let j: u32 = 0; j < 70; j++) {
        if (<i32>load<i16>(WINDOW + (<usize>j << 1)) != load<i32>(CODES + (<usize>(col0 + j) << 2))) bad++;
      }
      expect<i32>(bad).toBe(0, "2-bit col0=" + col0.toString());
    }
  });

  it("decodes short 2-bit and 4-bit rows (one 8-byte load for the tail) and writes only count i16", () => {
    // Rows of 9..31 codes whose words span 8 bytes (a B of 10 to 31 columns): the tail paths.
    let bad = 0;
    for (let bits: u32 = 2; bits <= 4; bits += 2) {
      for (let cols: u32 = 9; cols <= 31; cols++) {
        const rows: u32 = 2;
        const m = maxCode(bits);
        for (let i: u32 = 0; i < rows * cols; i++) store<i32>(CODES + (<usize>i << 2), <i32>((i * 5 + i / 3) % <u32>(2 * m + 1)) - m);
        if (encodeMatrix(CODES, rows, cols, bits, PACKED) != 0) { bad++; continue; }
        const stride = rowStrideBytes(cols, bits);
        for (let r: u32 = 0; r < rows; r++) {
          fillBytes(WINDOW, 1024, GUARD_BYTE);
          decodeRow(PACKED + <usize>r * stride, 0, cols, bits, WINDOW + 64);
          for (let j: u32 = 0; j < cols; j++) {
            if (<i32>load<i16>(WINDOW + 64 + (<usize>j << 1)) != load<i32>(CODES + (<usize>(r * cols + j) << 2))) bad++;
          }
          bad += countNot(WINDOW, 64, GUARD_BYTE) + countNot(WINDOW + 64 + (<usize>cols << 1), 256, GUARD_BYTE);
        }
      }
    }
    expect<i32>(bad).toBe(0, "short rows");
  });

  it("never reads past the row's padded stride (row placed at the end of linear memory)", () => {
    failure = "";
    expect<i32>(endOfMemorySweep()).toBe(0, failure);
  });
});

describe("packed format: readCode / writeCode", () => {
  it("read and overwrite single elements exactly, touching nothing else, at the end of memory", () => {
    failure = "";
    expect<i32>(singleCodeSweep()).toBe(0, failure);
  });
});
