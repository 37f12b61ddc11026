// Packing: operand rectangles decoded into the i16 panels the micro-kernels read (layouts in
// ./index.ts). Operands are read a rectangle at a time through their views (views.ts
// viewDecodeRect: an IM2COL view assembles patches from a cache of decoded input lines), and an
// operand too wide for one pass is split into hi and lo byte planes here.

import { viewDecodeRect } from "../views";
import { MR, NR, LANE_BITS, LANE_BITS_F64, LANE_COLS, roundUp } from "./blocking";
import { viewA, viewB, aTransG, bTransG, splitA, splitB, panelA, panelA2, scratch, rectEnd, bLanes, laneF64 } from "./state";

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

// The 8 x 8 i16 block at src (row stride ld bytes) transposed to dst (row stride ldDst), of which
// only the first `rows` rows are stored: interleaves of i16, then i32, then i64 lanes.
@inline function transpose8x8(src: usize, ld: usize, dst: usize, ldDst: usize, rows: u32): void {
  const x0 = v128.load(src), x1 = v128.load(src + ld), x2 = v128.load(src + 2 * ld), x3 = v128.load(src + 3 * ld);
  const x4 = v128.load(src + 4 * ld), x5 = v128.load(src + 5 * ld), x6 = v128.load(src + 6 * ld), x7 = v128.load(src + 7 * ld);
  // t01l = x0 and x1 interleaved by code, low half (columns 0..3), and so on.
  const t01l = i16x8.shuffle(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), t01h = i16x8.shuffle(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15);
  const t23l = i16x8.shuffle(x2, x3, 0, 8, 1, 9, 2, 10, 3, 11), t23h = i16x8.shuffle(x2, x3, 4, 12, 5, 13, 6, 14, 7, 15);
  const t45l = i16x8.shuffle(x4, x5, 0, 8, 1, 9, 2, 10, 3, 11), t45h = i16x8.shuffle(x4, x5, 4, 12, 5, 13, 6, 14, 7, 15);
  const t67l = i16x8.shuffle(x6, x7, 0, 8, 1, 9, 2, 10, 3, 11), t67h = i16x8.shuffle(x6, x7, 4, 12, 5, 13, 6, 14, 7, 15);
  // u0 = rows 0..3 of columns 0 and 1, u4 = rows 4..7 of the same, and so on.
  const u0 = i32x4.shuffle(t01l, t23l, 0, 4, 1, 5), u1 = i32x4.shuffle(t01l, t23l, 2, 6, 3, 7);
  const u2 = i32x4.shuffle(t01h, t23h, 0, 4, 1, 5), u3 = i32x4.shuffle(t01h, t23h, 2, 6, 3, 7);
  const u4 = i32x4.shuffle(t45l, t67l, 0, 4, 1, 5), u5 = i32x4.shuffle(t45l, t67l, 2, 6, 3, 7);
  const u6 = i32x4.shuffle(t45h, t67h, 0, 4, 1, 5), u7 = i32x4.shuffle(t45h, t67h, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(u0, u4, 0, 2));
  if (rows > 1) v128.store(dst + ldDst, i64x2.shuffle(u0, u4, 1, 3));
  if (rows > 2) v128.store(dst + 2 * ldDst, i64x2.shuffle(u1, u5, 0, 2));
  if (rows > 3) v128.store(dst + 3 * ldDst, i64x2.shuffle(u1, u5, 1, 3));
  if (rows > 4) v128.store(dst + 4 * ldDst, i64x2.shuffle(u2, u6, 0, 2));
  if (rows > 5) v128.store(dst + 5 * ldDst, i64x2.shuffle(u2, u6, 1, 3));
  if (rows > 6) v128.store(dst + 6 * ldDst, i64x2.shuffle(u3, u7, 0, 2));
  if (rows > 7) v128.store(dst + 7 * ldDst, i64x2.shuffle(u3, u7, 1, 3));
}

// A panel rows [0, mcp) x k [0, kcp) from op(A) rows [ic, ic+mc) x k [pc, pc+kc). Only what the
// micro-kernel reads is written: rows >= mc and the odd k column are zeroed, nothing else is cleared.
export function packA(ic: u32, mc: u32, pc: u32, kc: u32): void {
  const mcp = roundUp(mc, MR), kcp = roundUp(kc, 2);
  const rowBytes = <usize>kcp * 2;
  if (!aTransG) {
    viewDecodeRect(viewA, ic, mc, pc, kc, panelA, kcp);
  } else {
    // A is stored K x M: decode stored rows [pc, pc+kc), columns [ic, ic+mc) a chunk at a time and
    // transpose them into the panel. The SIMD build transposes 8 x 8 blocks, whose 16-byte row
    // loads may read past a chunk row's mc codes: 16 bytes are kept free after the chunk.
    const ldBytes = <usize>mc << 1;
    const chunk = max<u32>(1, <u32>((rectEnd - scratch - 16) / ldBytes));
    for (let k0: u32 = 0; k0 < kc; k0 += chunk) {
      const cnt = min(chunk, kc - k0);
      viewDecodeRect(viewA, pc + k0, cnt, ic, mc, scratch, mc);
      let k8: u32 = 0;
      if (ASC_FEATURE_SIMD) {
        k8 = cnt & ~7;
        for (let r0: u32 = 0; r0 < mc; r0 += 8) {
          const rows = min<u32>(8, mc - r0);
          for (let k: u32 = 0; k < k8; k += 8) {
            transpose8x8(scratch + <usize>k * ldBytes + (<usize>r0 << 1), ldBytes,
              panelA + <usize>r0 * rowBytes + (<usize>(k0 + k) << 1), rowBytes, rows);
          }
        }
      }
      for (let r: u32 = 0; r < mc; r++) {
        const dst = panelA + <usize>r * rowBytes + (<usize>k0 << 1);
        let src = scratch + <usize>k8 * ldBytes + (<usize>r << 1);
        for (let k = k8; k < cnt; k++) {
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

// op(B) rows [k0, k0+cnt) of the panel's k, columns [jc, jc+nc), into dst (row stride nc). With
// run != 0 the panel's k has a zero row after every `run` rows of op(B) (block-multiply.ts
// multiplyBlockRows: odd runs of an IM2COL A, read as pairs): panel row ky*(run+1) + e is op(B)
// row ky*run + e for e < run, and zero at e = run.
function decodeBRows(k0: u32, cnt: u32, jc: u32, nc: u32, run: u32, dst: usize): void {
  if (run == 0) { viewDecodeRect(viewB, k0, cnt, jc, nc, dst, nc); return; }
  const ldBytes = <usize>nc << 1;
  const run1 = run + 1;
  let k = k0;
  const end = k0 + cnt;
  while (k < end) {
    const ky = k / run1, e = k % run1;
    const out = dst + <usize>(k - k0) * ldBytes;
    if (e == run) {
      memory.fill(out, 0, ldBytes);
      k++;
      continue;
    }
    const n = min(run - e, end - k);
    viewDecodeRect(viewB, ky * run + e, n, jc, nc, out, nc);
    k += n;
  }
}

// Stored rows [j0, j0+cnt) of an N x K B, the panel's k [pc, pc+kc), into dst (row stride ld);
// with run != 0 (pc = 0), as decodeBRows maps k.
function decodeBCols(j0: u32, cnt: u32, pc: u32, kc: u32, run: u32, dst: usize, ld: u32): void {
  if (run == 0) { viewDecodeRect(viewB, j0, cnt, pc, kc, dst, ld); return; }
  const run1 = run + 1;
  for (let ky: u32 = 0; ky < kc / run1; ky++) {
    viewDecodeRect(viewB, j0, cnt, ky * run, run, dst + (<usize>(ky * run1) << 1), ld);
    for (let jj: u32 = 0; jj < cnt; jj++) store<i16>(dst + <usize>jj * (<usize>ld << 1) + (<usize>(ky * run1 + run) << 1), 0);
  }
}

// B panel (at pb, pb2) for op(B) k [pc, pc+kc) x columns [jc, jc+nc). Every byte of the panel is
// written (padding columns and the odd k row as zeros). With run != 0, the whole of K padded as
// decodeBRows says (pc = 0, kc = K / run * (run + 1)).
export function packB(pb: usize, pb2: usize, jc: u32, nc: u32, pc: u32, kc: u32, run: u32 = 0): void {
  if (!ASC_FEATURE_SIMD && bLanes) { packBLanes(pb, jc, nc, pc, kc); return; }
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
      decodeBRows(pc + k0, cnt, jc, nc, run, scratch);
      if (cnt & 1) memory.fill(scratch + <usize>cnt * ldBytes, 0, ldBytes);
      const chunkPairs = (cnt + 1) >>> 1;
      const p0 = k0 >>> 1;
      if (ASC_FEATURE_SIMD) {
        // Group by group over 16 pairs at a time: the groups' panels lie pairs*32 bytes apart (4 KiB
        // at KC = 256), so a pass over every group for each pair would store to one cache set per
        // group, while 16 pairs of one group are 512 contiguous bytes from 32 rows of scratch.
        // Lanes t < tailCols of the partial group keep their value: (t - tailCols) is negative there.
        const keep = i16x8.lt_s(i16x8(0, 1, 2, 3, 4, 5, 6, 7), i16x8.splat(<i16>tailCols));
        const rowStep = ldBytes << 1;
        for (let q0: u32 = 0; q0 < chunkPairs; q0 += 16) {
          const q1 = min(chunkPairs, q0 + 16);
          for (let g: u32 = 0; g < groups; g++) {
            const mask = g < fullGroups ? i16x8.splat(-1) : keep;
            let s0 = scratch + <usize>(2 * q0) * ldBytes + (<usize>g << 4);
            let o = pb + <usize>g * groupBytes + (<usize>(p0 + q0) << 5);
            for (let q = q0; q < q1; q++) {
              const v0 = v128.and(v128.load(s0), mask), v1 = v128.and(v128.load(s0 + ldBytes), mask);
              v128.store(o, i16x8.shuffle(v0, v1, 0, 8, 1, 9, 2, 10, 3, 11));
              v128.store(o, i16x8.shuffle(v0, v1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
              s0 += rowStep;
              o += 32;
            }
          }
        }
      } else {
        for (let q: u32 = 0; q < chunkPairs; q++) {
          const s0row = scratch + <usize>(2 * q) * ldBytes;
          const s1row = s0row + ldBytes;
          const dst = pb + (<usize>(p0 + q) << 5);
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
      decodeBCols(jc + j0, cnt, pc, kc, run, scratch, kcp);
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

// The scalar build's lane panel (state.ts bLanes; microkernels-scalar.ts gemm_4x6l3_i32acc_scalar):
// group h holds columns [6h, 6h+6) of op(B), groupBytes = kcp * 16 apart; at k, 16 bytes: the
// words b(k,6h) + 2^L b(k,6h+1) + 2^2L b(k,6h+2) and the same of columns 6h+3..6h+5, the codes
// sign-extended: i64 (L = 21, exact integers mod 2^64) or, when state.ts laneF64, f64 (L = 17,
// exact integers below 2^47). Columns >= nc and the odd k row are zero.
@inline function laneWord(x0: i64, x1: i64, x2: i64, f64Words: bool): i64 {
  if (f64Words) return reinterpret<i64>(<f64>(x0 + (x1 << LANE_BITS_F64) + (x2 << (2 * LANE_BITS_F64))));
  return x0 + (x1 << LANE_BITS) + (x2 << (2 * LANE_BITS));
}

// Lane words of op(B) columns [j0, j0+cnt) (j0 a multiple of LANE_COLS) at panel k [k0, k0+kn),
// element (k0 + k, j0 + j) read at src + k * kStride + j * jStride.
@inline function laneGroups(pb: usize, groupBytes: usize, src: usize, kStride: usize, jStride: usize, j0: u32, cnt: u32, k0: u32, kn: u32, f64Words: bool): void {
  for (let g: u32 = 0; g < cnt; g += LANE_COLS) {
    let o = pb + <usize>((j0 + g) / LANE_COLS) * groupBytes + (<usize>k0 << 4);
    let s = src + <usize>g * jStride;
    const w = min(LANE_COLS, cnt - g);
    if (w == LANE_COLS) {
      for (let k: u32 = 0; k < kn; k++) {
        store<i64>(o, laneWord(<i64>load<i16>(s), <i64>load<i16>(s + jStride), <i64>load<i16>(s + 2 * jStride), f64Words));
        store<i64>(o, laneWord(<i64>load<i16>(s + 3 * jStride), <i64>load<i16>(s + 4 * jStride), <i64>load<i16>(s + 5 * jStride), f64Words), 8);
        s += kStride;
        o += 16;
      }
    } else {
      // The last group: columns t >= w are zero.
      for (let k: u32 = 0; k < kn; k++) {
        const c0 = <i64>load<i16>(s);
        const c1 = w > 1 ? <i64>load<i16>(s + jStride) : 0;
        const c2 = w > 2 ? <i64>load<i16>(s + 2 * jStride) : 0;
        const c3 = w > 3 ? <i64>load<i16>(s + 3 * jStride) : 0;
        const c4 = w > 4 ? <i64>load<i16>(s + 4 * jStride) : 0;
        store<i64>(o, laneWord(c0, c1, c2, f64Words));
        store<i64>(o, laneWord(c3, c4, 0, f64Words), 8);
        s += kStride;
        o += 16;
      }
    }
  }
}

@inline function laneGroupsAny(pb: usize, groupBytes: usize, src: usize, kStride: usize, jStride: usize, j0: u32, cnt: u32, k0: u32, kn: u32): void {
  if (laneF64) laneGroups(pb, groupBytes, src, kStride, jStride, j0, cnt, k0, kn, true);
  else laneGroups(pb, groupBytes, src, kStride, jStride, j0, cnt, k0, kn, false);
}

function packBLanes(pb: usize, jc: u32, nc: u32, pc: u32, kc: u32): void {
  const kcp = roundUp(kc, 2);
  const groupBytes = <usize>kcp << 4;
  if (!bTransG) {
    // B is stored K x N: a chunk of stored rows decoded compactly (ld = nc), then each group's
    // words k by k (contiguous stores).
    const ldBytes = <usize>nc << 1;
    const chunk = max<u32>(1, <u32>((rectEnd - scratch) / ldBytes));
    for (let k0: u32 = 0; k0 < kc; k0 += chunk) {
      const cnt = min(chunk, kc - k0);
      viewDecodeRect(viewB, pc + k0, cnt, jc, nc, scratch, nc);
      laneGroupsAny(pb, groupBytes, scratch, ldBytes, 2, 0, nc, k0, cnt);
    }
  } else {
    // B is stored N x K: whole groups of stored rows (k contiguous) a chunk at a time; the scratch
    // holds at least LANE_COLS rows (workspace.ts planExtras).
    const ldBytes = <usize>kcp << 1;
    const chunk = max<u32>(LANE_COLS, <u32>((rectEnd - scratch) / ldBytes) / LANE_COLS * LANE_COLS);
    for (let j0: u32 = 0; j0 < nc; j0 += chunk) {
      const cnt = min(chunk, nc - j0);
      viewDecodeRect(viewB, jc + j0, cnt, pc, kc, scratch, kcp);
      laneGroupsAny(pb, groupBytes, scratch, 2, ldBytes, j0, cnt, 0, kc);
    }
  }
  if (kc & 1) {
    // Zero words (0.0 is all zero bits too).
    const groups = (nc + LANE_COLS - 1) / LANE_COLS;
    for (let h: u32 = 0; h < groups; h++) memory.fill(pb + <usize>h * groupBytes + (<usize>kc << 4), 0, 16);
  }
}
