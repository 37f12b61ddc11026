// encodeRun (assembly/packed.ts) against writeCode one code at a time: the fused output stages
// write runs of codes with it, so every width, start column and length must give exactly the bytes
// the per-code writes give, keep the bits around the run, and touch nothing outside the row.
//
// Buffers are static regions (memory.data), below __heap_base, as in packed.spec.ts.

import { encodeRun, writeCode, rowStrideBytes, MIN_BITS, MAX_BITS } from "../../assembly/packed";
import { nextU32, seedRandom } from "./xorshift";

const SRC = memory.data(4096, 16); // i16 codes fed to encodeRun
const WANT = memory.data(4096, 16); // the row written by writeCode, then guard bytes
const GOT = memory.data(4096, 16); // the row written by encodeRun, then guard bytes

const COLS: StaticArray<u32> = [1, 7, 8, 9, 31, 67, 130, 400];
const COL0S: StaticArray<u32> = [0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63];
const COUNTS: StaticArray<u32> = [0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 63, 64, 65, 144, 300];

seedRandom(0x9e3779b9);

let failure = "";
let runs: i32 = 0;
function fail(what: string, bits: u32, cols: u32, col0: u32, count: u32): void {
  if (failure.length == 0) {
    failure = what + " (bits=" + bits.toString() + ", cols=" + cols.toString() + ", col0=" + col0.toString() + ", count=" + count.toString() + ")";
  }
}

// One case: a row of random bytes with 64 guard bytes after it; codes are random i16 (encodeRun
// keeps only the low `bits`, as writeCode does), with the extremes and -1 placed often.
function checkRun(bits: u32, cols: u32, col0: u32, count: u32): i32 {
  const span = <usize>rowStrideBytes(cols, bits) + 64;
  for (let i: usize = 0; i < span; i++) store<u8>(WANT + i, <u8>nextU32());
  memory.copy(GOT, WANT, span);
  for (let j: u32 = 0; j < count; j++) {
    const m = (1 << (bits - 1)) - 1;
    let v: i32;
    switch (j % 5) {
      case 0: v = m; break;
      case 1: v = -m; break;
      case 2: v = -1; break;
      default: v = <i32><i16>nextU32();
    }
    store<i16>(SRC + (<usize>j << 1), <i16>v);
    writeCode(WANT, col0 + j, bits, v);
  }
  encodeRun(GOT, col0, count, bits, SRC);
  runs++;
  if (memory.compare(GOT, WANT, span) != 0) {
    fail("bytes differ from writeCode", bits, cols, col0, count);
    return 1;
  }
  return 0;
}

function sweep(): i32 {
  let bad = 0;
  for (let bits = MIN_BITS; bits <= MAX_BITS; bits++) {
    for (let c = 0; c < COLS.length; c++) {
      const cols = COLS[c];
      for (let a = 0; a < COL0S.length; a++) {
        for (let b = 0; b < COUNTS.length; b++) {
          const col0 = COL0S[a], count = COUNTS[b];
          if (col0 + count > cols) continue;
          bad += checkRun(bits, cols, col0, count);
        }
      }
      // The whole row and its last code alone.
      bad += checkRun(bits, cols, 0, cols);
      bad += checkRun(bits, cols, cols - 1, 1);
    }
  }
  return bad;
}

// Rows whose padded stride ends exactly at the end of linear memory: any access past the words
// holding the run traps. The page is grown here and so belongs to no allocator.
function endOfMemorySweep(): i32 {
  if (memory.grow(1) < 0) { failure = "memory.grow failed"; return 1; }
  const end = <usize>memory.size() << 16;
  let bad = 0;
  for (let bits = MIN_BITS; bits <= MAX_BITS; bits++) {
    for (let c = 0; c < COLS.length; c++) {
      const cols = COLS[c];
      const stride = <usize>rowStrideBytes(cols, bits);
      const row = end - stride;
      for (let col0: u32 = 0; col0 < cols; col0 += 1 + col0 / 4) {
        const count = cols - col0;
        for (let i: usize = 0; i < stride; i++) store<u8>(WANT + i, <u8>nextU32());
        memory.copy(row, WANT, stride);
        for (let j: u32 = 0; j < count; j++) {
          const v = <i32><i16>nextU32();
          store<i16>(SRC + (<usize>j << 1), <i16>v);
          writeCode(WANT, col0 + j, bits, v);
        }
        encodeRun(row, col0, count, bits, SRC);
        runs++;
        if (memory.compare(row, WANT, stride) != 0) { bad++; fail("bytes differ at the end of memory", bits, cols, col0, count); }
      }
    }
  }
  return bad;
}

describe("packed format: encodeRun", () => {
  it("writes the bytes writeCode gives one code at a time, for bits 2..16, any start and length", () => {
    failure = "";
    runs = 0;
    expect<i32>(sweep()).toBe(0, failure);
    expect<i32>(runs).toBeGreaterThan(5000);
  });

  it("touches only the words holding the run (rows ending at the end of memory)", () => {
    failure = "";
    expect<i32>(endOfMemorySweep()).toBe(0, failure);
  });
});
