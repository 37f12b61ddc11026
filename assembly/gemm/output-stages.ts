// Fused output stages. The product is accumulated for one (MC x NC) block over all of K in a
// block accumulator (f64 or i32, exact), then the stage consumes it: nothing M x N is ever held,
// which is what lets the weight gradient be applied without materialising it
// (docs/architecture.md). The stage descriptor's fields are named in src/runtime/abi-layout.ts.

import { maxCode, readCode, writeCode, encodeRun, decodeRow } from "../packed";
import { randomKey } from "../random";
import { field } from "../views";
import {
  V_KIND, V_BASE, V_BITS, V_STRIDE, V_H, V_W, V_C, V_KH, V_KW, VIEW_KIND_PLAIN,
  STAGE_F64_AT, S_MODE, S_RELU, S_ROUNDING, S_SEED, S_STEP, S_STREAM, S_BIAS, S_BIAS_BITS, S_OUT_BITS, S_C, S_TRACK_MAX,
  SF_BIAS_SCALE, SF_SCALE, SF_MAX_ABS, SF_SUM_ABS, SF_SATURATED, SF_CHANGED,
  STAGE_MODE_STORE, STAGE_MODE_MAXABS, STAGE_MODE_REQUANT, STAGE_STORE_F32,
} from "../../src/runtime/abi-layout";
import { ROUND_STOCHASTIC } from "../../src/format/codes";
import { NR, roundUp, align16 } from "./blocking";
import {
  accI32, NC, gN, blockAcc, scratch, rectEnd, outView, outRow, outCol, outWrap, outStride, outKind, outX, outW, outC, outCol0, outRowStep,
} from "./state";

@inline export function sfield(s: usize, f: i32): i32 { return load<i32>(s + (<usize>f << 2)); }
@inline export function sf64(s: usize, f: i32): f64 { return load<f64>(s + STAGE_F64_AT + (<usize>f << 3)); }
@inline export function setSf64(s: usize, f: i32, x: f64): void { store<f64>(s + STAGE_F64_AT + (<usize>f << 3), x); }

const GOLDEN: u64 = 0x9e3779b97f4a7c15;

// randomUnit(key, index) of random.ts for z = key + (index + 1) * GOLDEN, which the stage steps by
// GOLDEN along a row instead of recomputing. The 53-bit integer converts exactly either way, and the
// signed conversion is the cheaper instruction.
@inline function unitAt(z: u64): f64 {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  z ^= z >> 31;
  return <f64>(<i64>(z >> 11)) * 1.1102230246251565e-16; // 2^-53
}

// Where a run of output columns lives (state.ts outRow ...): OUT_PLAIN and OUT_POINT rows are runs
// of one line, OUT_WHOLE rows wrap to the next line every W*C codes.
const OUT_PLAIN: i32 = 0, OUT_POINT: i32 = 1, OUT_WHOLE: i32 = 2;

export function locateOut(row: u32, col: u32): void {
  const v = outView;
  const base = <usize>field(v, V_BASE);
  outStride = <usize>field(v, V_STRIDE);
  outWrap = 0xffffffff;
  if (field(v, V_KIND) == VIEW_KIND_PLAIN) {
    outKind = OUT_PLAIN;
    outRow = base + <usize>row * outStride;
    outCol = col;
    outRowStep = outStride;
    return;
  }
  const c = <u32>field(v, V_C), w = <u32>field(v, V_W);
  if (field(v, V_KH) == 1 && field(v, V_KW) == 1) {
    // As viewLocate: row (n, y, x) is line r / W, column x*C + c.
    outKind = OUT_POINT;
    outRow = base + <usize>(row / w) * outStride;
    outX = row % w;
    outW = w;
    outC = c;
    outCol0 = col;
    outCol = outX * c + col;
    return;
  }
  // Whole-image view: row n, column (y, x, c).
  const lineLen = w * c, h = <u32>field(v, V_H);
  outKind = OUT_WHOLE;
  outRow = base + <usize>(row * h + col / lineLen) * outStride;
  outCol = col % lineLen;
  outWrap = lineLen;
  outRowStep = <usize>h * outStride;
}

@inline function nextOutRow(): void {
  if (outKind == OUT_POINT) {
    if (++outX == outW) {
      outX = 0;
      outRow += outStride;
      outCol = outCol0;
    } else {
      outCol += outC;
    }
  } else {
    outRow += outRowStep;
  }
}

// MAXABS over an i32 block: the largest and smallest sum of each column (i32 max/min, four columns
// per instruction in SIMD), then per column in f64 only those two. Exact: f64(i32) and adding the
// column's bias are monotonic, so the extreme sums give the extreme values, and |v| over a column
// peaks at one of its two ends.
function maxAbsI32(m: f64, mc: u32, nc: u32, ld: usize, bias: usize, hasBias: bool, biasScale: f64, relu: bool): f64 {
  for (let j0: u32 = 0; j0 < nc; j0 += 4) {
    const col = blockAcc + (<usize>j0 << 2);
    let h0: i32 = 0, h1: i32 = 0, h2: i32 = 0, h3: i32 = 0, l0: i32 = 0, l1: i32 = 0, l2: i32 = 0, l3: i32 = 0;
    if (ASC_FEATURE_SIMD) {
      let hi4 = v128.load(col);
      let lo4 = hi4;
      for (let r: u32 = 1; r < mc; r++) {
        const v = v128.load(col + <usize>r * ld);
        hi4 = i32x4.max_s(hi4, v);
        lo4 = i32x4.min_s(lo4, v);
      }
      h0 = i32x4.extract_lane(hi4, 0); h1 = i32x4.extract_lane(hi4, 1); h2 = i32x4.extract_lane(hi4, 2); h3 = i32x4.extract_lane(hi4, 3);
      l0 = i32x4.extract_lane(lo4, 0); l1 = i32x4.extract_lane(lo4, 1); l2 = i32x4.extract_lane(lo4, 2); l3 = i32x4.extract_lane(lo4, 3);
    } else {
      h0 = l0 = load<i32>(col); h1 = l1 = load<i32>(col, 4); h2 = l2 = load<i32>(col, 8); h3 = l3 = load<i32>(col, 12);
      for (let r: u32 = 1; r < mc; r++) {
        const p = col + <usize>r * ld;
        let v = load<i32>(p); if (v > h0) h0 = v; if (v < l0) l0 = v;
        v = load<i32>(p, 4); if (v > h1) h1 = v; if (v < l1) l1 = v;
        v = load<i32>(p, 8); if (v > h2) h2 = v; if (v < l2) l2 = v;
        v = load<i32>(p, 12); if (v > h3) h3 = v; if (v < l3) l3 = v;
      }
    }
    const n = min<u32>(4, nc - j0);
    for (let t: u32 = 0; t < n; t++) {
      const hv = t == 0 ? h0 : t == 1 ? h1 : t == 2 ? h2 : h3;
      const lv = t == 0 ? l0 : t == 1 ? l1 : t == 2 ? l2 : l3;
      let hi = <f64>hv, lo = <f64>lv;
      if (hasBias) {
        const b = biasScale * <f64>load<i16>(bias + (<usize>(j0 + t) << 1));
        hi += b;
        lo += b;
      }
      m = relu ? max(m, hi) : max(m, max(abs(hi), abs(lo)));
    }
  }
  return m;
}

@inline function accAt(row: usize, j: u32): f64 {
  return accI32 ? <f64>load<i32>(row + (<usize>j << 2)) : load<f64>(row + (<usize>j << 3));
}

// MAXABS of the block (and of a REQUANT block with S_TRACK_MAX): SF_MAX_ABS = max(SF_MAX_ABS,
// max |acc + bias|), or of its positive side under a fused ReLU. One function for both modes, so a
// REQUANT pass reports exactly the maximum the MAXABS pass would.
function blockMaxAbs(stage: usize, mc: u32, nc: u32, ld: usize, bias: usize, biasAt: usize, biasScale: f64, relu: bool): void {
  // With a fused ReLU only the positive side survives, so only it sets the scale.
  let m = sf64(stage, SF_MAX_ABS);
  if (accI32) {
    setSf64(stage, SF_MAX_ABS, maxAbsI32(m, mc, nc, ld, bias, biasAt != 0, biasScale, relu));
    return;
  }
  if (ASC_FEATURE_SIMD) {
    // Two columns at a time; f64x2.max is f64.max per lane, and the maximum of a set does not
    // depend on the order it is taken in.
    const hasBias = biasAt != 0;
    const bs = f64x2.splat(biasScale);
    let mv = f64x2.splat(m);
    for (let r: u32 = 0; r < mc; r++) {
      const accRow = blockAcc + <usize>r * ld;
      let j: u32 = 0;
      for (; j + 2 <= nc; j += 2) {
        let v = accI32
          ? f64x2.convert_low_i32x4_s(v128.load64_zero(accRow + (<usize>j << 2)))
          : v128.load(accRow + (<usize>j << 3));
        if (hasBias) {
          const codes = f64x2.convert_low_i32x4_s(i32x4.extend_low_i16x8_s(v128.load32_zero(bias + (<usize>j << 1))));
          v = f64x2.add(v, f64x2.mul(bs, codes));
        }
        mv = f64x2.max(mv, relu ? v : f64x2.abs(v));
      }
      if (j < nc) {
        let v = accAt(accRow, j);
        if (hasBias) v += biasScale * <f64>load<i16>(bias + (<usize>j << 1));
        m = max(m, relu ? v : abs(v));
      }
    }
    m = max(m, max(f64x2.extract_lane(mv, 0), f64x2.extract_lane(mv, 1)));
  } else if (biasAt != 0) {
    for (let r: u32 = 0; r < mc; r++) {
      const accRow = blockAcc + <usize>r * ld;
      for (let j: u32 = 0; j < nc; j++) {
        const v = accAt(accRow, j) + biasScale * <f64>load<i16>(bias + (<usize>j << 1));
        m = max(m, relu ? v : abs(v));
      }
    }
  } else {
    for (let r: u32 = 0; r < mc; r++) {
      const accRow = blockAcc + <usize>r * ld;
      for (let j: u32 = 0; j < nc; j++) {
        const v = accAt(accRow, j);
        m = max(m, relu ? v : abs(v));
      }
    }
  }
  setSf64(stage, SF_MAX_ABS, m);
}

export function outputStage(stage: usize, ic: u32, mc: u32, jc: u32, nc: u32, ld: usize): void {
  const mode = sfield(stage, S_MODE);
  const biasAt = <usize>sfield(stage, S_BIAS);
  const biasScale = sf64(stage, SF_BIAS_SCALE);
  const bias = scratch;
  if (biasAt != 0) decodeRow(biasAt, jc, nc, <u32>sfield(stage, S_BIAS_BITS), bias);
  const N = gN;
  if (mode == STAGE_MODE_STORE) {
    // S_OUT_BITS 32 stores f32 (a float master's gradient, as QAT keeps it); otherwise exact f64.
    const c = <usize>sfield(stage, S_C);
    const asF32 = sfield(stage, S_OUT_BITS) == STAGE_STORE_F32;
    const scale = sf64(stage, SF_SCALE);
    for (let r: u32 = 0; r < mc; r++) {
      for (let j: u32 = 0; j < nc; j++) {
        let v = accAt(blockAcc + <usize>r * ld, j);
        if (biasAt != 0) v += biasScale * <f64>load<i16>(bias + (<usize>j << 1));
        const at = <usize>(ic + r) * N + jc + j;
        if (asF32) store<f32>(c + (at << 2), <f32>(v * scale));
        else store<f64>(c + (at << 3), v);
      }
    }
    return;
  }
  const relu = sfield(stage, S_RELU) != 0;
  if (mode == STAGE_MODE_MAXABS || (mode == STAGE_MODE_REQUANT && sfield(stage, S_TRACK_MAX) != 0)) {
    blockMaxAbs(stage, mc, nc, ld, bias, biasAt, biasScale, relu);
    if (mode == STAGE_MODE_MAXABS) return;
  }
  const stochastic = sfield(stage, S_ROUNDING) == ROUND_STOCHASTIC;
  const key = randomKey(<u32>sfield(stage, S_SEED), <u32>sfield(stage, S_STEP), <u32>sfield(stage, S_STREAM));
  const scale = sf64(stage, SF_SCALE);
  const outBits = <u32>field(outView, V_BITS);
  if (mode == STAGE_MODE_REQUANT) {
    const saturated = sf64(stage, SF_SATURATED);
    locateOut(ic, jc);
    let z0 = key + (<u64>ic * N + jc + 1) * GOLDEN;
    const rowZ = <u64>N * GOLDEN;
    const hasBias = biasAt != 0;
    // Specialised on the width's path, the accumulator type and the rounding (loop-invariant, so
    // not tested per code).
    let sat: i32;
    if (outBits == 8) {
      if (accI32) {
        sat = stochastic
          ? requantBlock8(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, true, true)
          : requantBlock8(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, true, false);
      } else {
        sat = stochastic
          ? requantBlock8(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, false, true)
          : requantBlock8(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, false, false);
      }
    } else if (accI32) {
      sat = stochastic
        ? requantBlockRuns(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, outBits, true, true)
        : requantBlockRuns(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, outBits, true, false);
    } else {
      sat = stochastic
        ? requantBlockRuns(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, outBits, false, true)
        : requantBlockRuns(mc, nc, ld, bias, hasBias, biasScale, scale, z0, rowZ, relu, outBits, false, false);
    }
    // A count of clamped codes: adding it at once equals adding 1 per code (integers below 2^53).
    setSf64(stage, SF_SATURATED, saturated + <f64>sat);
    return;
  }
  // STAGE_MODE_UPDATE
  locateOut(ic, jc);
  const z0 = key + (<u64>ic * N + jc + 1) * GOLDEN;
  if (accI32) {
    if (stochastic) updateBlock(stage, mc, nc, ld, scale, z0, <u64>N * GOLDEN, outBits, true, true);
    else updateBlock(stage, mc, nc, ld, scale, z0, <u64>N * GOLDEN, outBits, true, false);
  } else {
    if (stochastic) updateBlock(stage, mc, nc, ld, scale, z0, <u64>N * GOLDEN, outBits, false, true);
    else updateBlock(stage, mc, nc, ld, scale, z0, <u64>N * GOLDEN, outBits, false, false);
  }
}

// UPDATE of the block's rows: W += round(scale * acc), in place. sumAbs is summed in element order,
// exactly as before (f64 addition is not associative); the changed and clamped codes are counted
// as integers and added once (exact below 2^53, as adding 1 per code was).
@inline function updateBlock(
  stage: usize, mc: u32, nc: u32, ld: usize, scale: f64, z0: u64, rowZ: u64, outBits: u32,
  i32acc: bool, stochastic: bool,
): void {
  if (!ASC_FEATURE_SIMD) {
    updateBlockScalar(stage, mc, nc, ld, scale, z0, rowZ, outBits, i32acc, stochastic);
    return;
  }
  const limit = maxCode(outBits);
  updSumAbs = sf64(stage, SF_SUM_ABS);
  updChanged = 0;
  updSaturated = 0;
  // Widths that are not whole bytes: a run of codes is decoded once, updated as i16 and re-encoded
  // when any changed, the same codes as a read-modify-write per changed code, which costs a dozen
  // operations each (at 12 bits and lr 0.01 a fifth of lenet5's dense weights change per step).
  const codes = scratch + align16(<usize>roundUp(NC, NR) << 1);
  let rowPtr = outRow, col = outCol, x = outX;
  const pointwise = outKind == OUT_POINT, wrap = outWrap;
  for (let r: u32 = 0; r < mc; r++) {
    const acc = blockAcc + <usize>r * ld;
    let p = rowPtr, at = col;
    let j: u32 = 0;
    while (j < nc) {
      const end = wrap == 0xffffffff ? nc : min(nc, j + (wrap - at));
      const zj = z0 + <u64>j * GOLDEN;
      if (outBits == 8) {
        updateCodes(acc, j, end, p + at - j, zj, scale, limit, i32acc, stochastic, true);
      } else {
        // 16-bit codes are updated where they lie.
        const inPlace = outBits == 16;
        if (!inPlace) decodeRow(p, at, end - j, outBits, codes);
        const before = updChanged;
        updateCodes(acc, j, end, (inPlace ? p + (<usize>at << 1) : codes) - (<usize>j << 1), zj, scale, limit, i32acc, stochastic, false);
        if (!inPlace && updChanged != before) encodeRun(p, at, end - j, outBits, codes);
      }
      at += end - j;
      j = end;
      if (at == wrap) { p += outStride; at = 0; }
    }
    if (pointwise) {
      if (++x == outW) { x = 0; rowPtr += outStride; col = outCol0; } else col += outC;
    } else {
      rowPtr += outRowStep;
    }
    z0 += rowZ;
  }
  outRow = rowPtr; outCol = col; outX = x;
  setSf64(stage, SF_SATURATED, sf64(stage, SF_SATURATED) + <f64>updSaturated);
  setSf64(stage, SF_CHANGED, sf64(stage, SF_CHANGED) + <f64>updChanged);
  setSf64(stage, SF_SUM_ABS, updSumAbs);
}

// What updateCodes adds up, across the rows of a block.
let updSumAbs: f64 = 0;
let updChanged: i32 = 0, updSaturated: i32 = 0;

// Codes j0..j1-1 of one row (bytes codes[j] when `bytes`, else i16 at codes + 2j; codes is biased
// by -j0 already) updated in place: q = old + round(scale * acc), clamped to +-limit. A lane whose
// rounded update is 0 keeps its code and is neither clamped nor changed, as in the scalar loop;
// the code stored is the one computed there (NaN converts to 0 in both).
@inline function updateCodes(
  acc: usize, j0: u32, j1: u32, codes: usize, z: u64, scale: f64, limit: i32, i32acc: bool, stochastic: bool, bytes: bool,
): void {
  let sumAbs = updSumAbs;
  let changed: i32 = 0, saturated: i32 = 0;
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    const scaleV = f64x2.splat(scale), hiV = f64x2.splat(<f64>limit), loV = f64x2.splat(-<f64>limit), zero = f64x2.splat(0);
    let chV = i64x2.splat(0), satV = i64x2.splat(0);
    for (; j + 2 <= j1; j += 2) {
      const v = i32acc
        ? f64x2.convert_low_i32x4_s(v128.load64_zero(acc + (<usize>j << 2)))
        : v128.load(acc + (<usize>j << 3));
      const d = f64x2.mul(v, scaleV);
      // |d| of both lanes at once, added one at a time in element order.
      const a = f64x2.abs(d);
      sumAbs += f64x2.extract_lane(a, 0);
      sumAbs += f64x2.extract_lane(a, 1);
      const dq = stochastic
        ? f64x2.floor(f64x2.add(d, f64x2.replace_lane(f64x2.splat(unitAt(z)), 1, unitAt(z + GOLDEN))))
        : f64x2.nearest(d);
      z += 2 * GOLDEN;
      // Most rounded updates are 0 (small steps): lanes are loaded, clamped and stored only
      // when one of the two moves.
      const moves = f64x2.ne(dq, zero);
      if (!v128.any_true(moves)) continue;
      const oldI = bytes
        ? i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load16_splat(codes + j)))
        : i32x4.extend_low_i16x8_s(v128.load32_zero(codes + (<usize>j << 1)));
      const old = f64x2.convert_low_i32x4_s(oldI);
      let q = f64x2.add(old, dq);
      const over = f64x2.gt(q, hiV), under = f64x2.lt(q, loV);
      satV = i64x2.sub(satV, v128.and(v128.or(over, under), moves));
      q = v128.bitselect(hiV, v128.bitselect(loV, q, under), over);
      const ch = v128.and(f64x2.ne(q, old), moves);
      chV = i64x2.sub(chV, ch);
      // Unchanged lanes store their old code back.
      const h = i16x8.narrow_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(v128.bitselect(q, old, ch)), oldI);
      if (bytes) v128.store16_lane(codes + j, i8x16.narrow_i16x8_s(h, h), 0);
      else v128.store32_lane(codes + (<usize>j << 1), h, 0);
    }
    changed += <i32>(i64x2.extract_lane(chV, 0) + i64x2.extract_lane(chV, 1));
    saturated += <i32>(i64x2.extract_lane(satV, 0) + i64x2.extract_lane(satV, 1));
  }
  const lim = <f64>limit;
  for (; j < j1; j++) {
    const d = (i32acc ? <f64>load<i32>(acc + (<usize>j << 2)) : load<f64>(acc + (<usize>j << 3))) * scale;
    sumAbs += abs(d);
    const dq = stochastic ? Math.floor(d + unitAt(z)) : nearest<f64>(d);
    z += GOLDEN;
    if (dq != 0) {
      const old = bytes ? <f64>load<i8>(codes + j) : <f64>load<i16>(codes + (<usize>j << 1));
      let q = old + dq;
      if (q > lim) { q = lim; saturated++; } else if (q < -lim) { q = -lim; saturated++; }
      if (q != old) {
        changed++;
        if (bytes) store<i8>(codes + j, <i8><i32>q);
        else store<i16>(codes + (<usize>j << 1), <i16><i32>q);
      }
    }
  }
  updSumAbs = sumAbs;
  updChanged += changed;
  updSaturated += saturated;
}

// The scalar build's UPDATE: codes read and written only where the rounded update is non-zero
// (byte and half-word widths directly, others through the bit stream), which measured faster
// there than decoding and re-encoding runs.
function updateBlockScalar(
  stage: usize, mc: u32, nc: u32, ld: usize, scale: f64, z0: u64, rowZ: u64, outBits: u32,
  i32acc: bool, stochastic: bool,
): void {
  const limit = <f64>maxCode(outBits);
  let saturated = sf64(stage, SF_SATURATED), changed = sf64(stage, SF_CHANGED), sumAbs = sf64(stage, SF_SUM_ABS);
  for (let r: u32 = 0; r < mc; r++) {
    let z = z0;
    z0 += rowZ;
    const accRow = blockAcc + <usize>r * ld;
    let rowPtr = outRow, at = outCol;
    nextOutRow();
    for (let j: u32 = 0; j < nc; j++) {
      if (at == outWrap) { rowPtr += outStride; at = 0; }
      const d = (i32acc ? <f64>load<i32>(accRow + (<usize>j << 2)) : load<f64>(accRow + (<usize>j << 3))) * scale;
      sumAbs += abs(d);
      const dq = stochastic ? Math.floor(d + unitAt(z)) : nearest<f64>(d);
      z += GOLDEN;
      if (dq != 0) {
        let old: f64;
        if (outBits == 8) old = <f64>load<i8>(rowPtr + at);
        else if (outBits == 16) old = <f64>load<i16>(rowPtr + (<usize>at << 1));
        else old = <f64>readCode(rowPtr, at, outBits);
        let q = old + dq;
        if (q > limit) { q = limit; saturated += 1; } else if (q < -limit) { q = -limit; saturated += 1; }
        if (q != old) {
          changed += 1;
          if (outBits == 8) store<i8>(rowPtr + at, <i8><i32>q);
          else if (outBits == 16) store<i16>(rowPtr + (<usize>at << 1), <i16><i32>q);
          else writeCode(rowPtr, at, outBits, <i32>q);
        }
      }
      at++;
    }
  }
  setSf64(stage, SF_SATURATED, saturated);
  setSf64(stage, SF_CHANGED, changed);
  setSf64(stage, SF_SUM_ABS, sumAbs);
}

// REQUANT of the block's rows into 8-bit codes, written in place (a row's codes are bytes outRow +
// outCol ..., running on into the next line every W*C codes for a whole-image view); returns the
// number of codes clamped.
@inline function requantBlock8(
  mc: u32, nc: u32, ld: usize, bias: usize, hasBias: bool, biasScale: f64, scale: f64,
  z0: u64, rowZ: u64, relu: bool, i32acc: bool, stochastic: bool,
): i32 {
  let sat: i32 = 0;
  // The output position advances in locals (a row is often only a few codes: 6 filters).
  let rowPtr = outRow, col = outCol, x = outX;
  const pointwise = outKind == OUT_POINT, wrap = outWrap;
  for (let r: u32 = 0; r < mc; r++) {
    const acc = blockAcc + <usize>r * ld;
    if (wrap == 0xffffffff) {
      sat += requantCodes(acc, bias, 0, nc, rowPtr + col, z0, hasBias, biasScale, scale, 127, relu, i32acc, stochastic, true);
    } else {
      let p = rowPtr, at = col;
      let j: u32 = 0;
      while (j < nc) {
        const end = min(nc, j + (wrap - at));
        sat += requantCodes(acc, bias, j, end, p + at - j, z0 + <u64>j * GOLDEN, hasBias, biasScale, scale, 127, relu, i32acc, stochastic, true);
        at += end - j;
        j = end;
        if (at == wrap) { p += outStride; at = 0; }
      }
    }
    if (pointwise) {
      if (++x == outW) { x = 0; rowPtr += outStride; col = outCol0; } else col += outC;
    } else {
      rowPtr += outRowStep;
    }
    z0 += rowZ;
  }
  outRow = rowPtr; outCol = col; outX = x;
  return sat;
}

// REQUANT at any other width: each row's codes are computed as i16 into the scratch after the bias
// row, then written by encodeRun once per run of codes that follow each other on one line (a
// read-modify-write of the bit stream per code cost more than computing the code). A 1x1 view
// whose rows fill its lines (a convolution's output with all its channels in the block) has row
// r+1 right after row r, so one run spans up to a line of W rows. The buffer holds at least NC
// codes (workspace.ts scratchNeed: two NC rows); a run is written early when it is full.
@inline function requantBlockRuns(
  mc: u32, nc: u32, ld: usize, bias: usize, hasBias: bool, biasScale: f64, scale: f64,
  z0: u64, rowZ: u64, relu: bool, bits: u32, i32acc: bool, stochastic: bool,
): i32 {
  const limit = maxCode(bits);
  const buf = scratch + align16(<usize>roundUp(NC, NR) << 1);
  const cap = <u32>min<usize>((rectEnd - buf) >>> 1, 0x7fffffff);
  let sat: i32 = 0;
  let rowPtr = outRow, col = outCol, x = outX;
  const pointwise = outKind == OUT_POINT, wrap = outWrap;
  if (pointwise && nc == outC) {
    // The block holds all C channels (jc is 0): rows x .. W-1 of a line follow each other on it,
    // so their codes go to the buffer in order, one encodeRun per line (or per buffer full).
    const per = cap / nc;
    let r: u32 = 0;
    while (r < mc) {
      const k = min(min(outW - x, mc - r), per);
      for (let t: u32 = 0; t < k; t++) {
        sat += requantCodes(blockAcc + <usize>(r + t) * ld, bias, 0, nc, buf + (<usize>(t * nc) << 1), z0, hasBias, biasScale, scale, limit, relu, i32acc, stochastic, false);
        z0 += rowZ;
      }
      encodeRun(rowPtr, col, k * nc, bits, buf);
      r += k;
      x += k;
      if (x == outW) { x = 0; rowPtr += outStride; col = outCol0; } else col += k * nc;
    }
    outRow = rowPtr; outCol = col; outX = x;
    return sat;
  }
  // The pending run: runLen codes from buffer slot runAt, for line runLine from column runCol. It
  // always ends at the buffer's last code (`used`).
  let used: u32 = 0, runAt: u32 = 0, runLen: u32 = 0, runCol: u32 = 0;
  let runLine: usize = 0;
  for (let r: u32 = 0; r < mc; r++) {
    const acc = blockAcc + <usize>r * ld;
    if (used + nc > cap) {
      if (runLen != 0) encodeRun(runLine, runCol, runLen, bits, buf + (<usize>runAt << 1));
      runLen = 0;
      used = 0;
    }
    sat += requantCodes(acc, bias, 0, nc, buf + (<usize>used << 1), z0, hasBias, biasScale, scale, limit, relu, i32acc, stochastic, false);
    let p = rowPtr, at = col;
    let j: u32 = 0;
    while (j < nc) {
      const end = wrap == 0xffffffff ? nc : min(nc, j + (wrap - at));
      const n = end - j;
      if (runLen != 0 && p == runLine && at == runCol + runLen) {
        runLen += n;
      } else {
        if (runLen != 0) encodeRun(runLine, runCol, runLen, bits, buf + (<usize>runAt << 1));
        runLine = p;
        runCol = at;
        runAt = used + j;
        runLen = n;
      }
      at += n;
      j = end;
      if (at == wrap) { p += outStride; at = 0; }
    }
    used += nc;
    if (pointwise) {
      if (++x == outW) { x = 0; rowPtr += outStride; col = outCol0; } else col += outC;
    } else {
      rowPtr += outRowStep;
    }
    z0 += rowZ;
  }
  if (runLen != 0) encodeRun(runLine, runCol, runLen, bits, buf + (<usize>runAt << 1));
  outRow = rowPtr; outCol = col; outX = x;
  return sat;
}

// Codes j0..j1-1 of one accumulator row, clamped to +-limit and cut at 0 under a fused ReLU, into
// bytes dst[j] (`bytes`) or i16 at dst + 2j (dst is biased by -j0 already); z is the draw counter
// of code j0. Returns the number of codes clamped. The rounded value is an integer (or NaN), so
// clamping it after the saturating conversion to i32 gives the code the f64 clamp gave (and NaN
// gives 0 either way). ReLU is a mask on the integer code: a compare-and-branch on the sign of
// random pre-activations mispredicts half the time.
@inline function requantCodes(
  acc: usize, bias: usize, j0: u32, j1: u32, dst: usize, z: u64, hasBias: bool, biasScale: f64, scale: f64,
  limit: i32, relu: bool, i32acc: bool, stochastic: bool, bytes: bool,
): i32 {
  let sat: i32 = 0;
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    // Four codes at a time: two f64x2 for the arithmetic (the same per-lane operations as the
    // scalar loop), one i32x4 for the clamp and the store. The draws stay scalar: below AVX-512 an
    // i64x2.mul is three 32-bit multiplies and shifts, which measured slower than the scalar
    // 64-bit multiplies (and those run beside the vector work).
    const scaleV = f64x2.splat(scale), bsV = f64x2.splat(biasScale);
    const hiV = i32x4.splat(limit), loV = i32x4.splat(-limit);
    // Clamped codes counted per lane (a lane compare is -1 where true).
    let satV = i32x4.splat(0);
    for (; j + 4 <= j1; j += 4) {
      let v0: v128, v1: v128;
      if (i32acc) {
        v0 = f64x2.convert_low_i32x4_s(v128.load64_zero(acc + (<usize>j << 2)));
        v1 = f64x2.convert_low_i32x4_s(v128.load64_zero(acc + (<usize>j << 2) + 8));
      } else {
        v0 = v128.load(acc + (<usize>j << 3));
        v1 = v128.load(acc + (<usize>j << 3), 16);
      }
      if (hasBias) {
        const b = i32x4.extend_low_i16x8_s(v128.load64_zero(bias + (<usize>j << 1)));
        v0 = f64x2.add(v0, f64x2.mul(bsV, f64x2.convert_low_i32x4_s(b)));
        v1 = f64x2.add(v1, f64x2.mul(bsV, f64x2.convert_low_i32x4_s(i32x4.shuffle(b, b, 2, 3, 2, 3))));
      }
      const x0 = f64x2.mul(v0, scaleV), x1 = f64x2.mul(v1, scaleV);
      let q0: v128, q1: v128;
      if (stochastic) {
        q0 = f64x2.floor(f64x2.add(x0, f64x2.replace_lane(f64x2.splat(unitAt(z)), 1, unitAt(z + GOLDEN))));
        q1 = f64x2.floor(f64x2.add(x1, f64x2.replace_lane(f64x2.splat(unitAt(z + 2 * GOLDEN)), 1, unitAt(z + 3 * GOLDEN))));
      } else {
        q0 = f64x2.nearest(x0);
        q1 = f64x2.nearest(x1);
      }
      z += 4 * GOLDEN;
      let qi = i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(q0), i32x4.trunc_sat_f64x2_s_zero(q1), 0, 1, 4, 5);
      satV = i32x4.sub(satV, v128.or(i32x4.gt_s(qi, hiV), i32x4.lt_s(qi, loV)));
      qi = i32x4.min_s(i32x4.max_s(qi, loV), hiV);
      if (relu) qi = i32x4.max_s(qi, i32x4.splat(0));
      const h = i16x8.narrow_i32x4_s(qi, qi);
      if (bytes) v128.store32_lane(dst + j, i8x16.narrow_i16x8_s(h, h), 0);
      else v128.store64_lane(dst + (<usize>j << 1), h, 0);
    }
    if (j + 2 <= j1) {
      let v = i32acc
        ? f64x2.convert_low_i32x4_s(v128.load64_zero(acc + (<usize>j << 2)))
        : v128.load(acc + (<usize>j << 3));
      if (hasBias) {
        v = f64x2.add(v, f64x2.mul(bsV, f64x2.convert_low_i32x4_s(i32x4.extend_low_i16x8_s(v128.load32_zero(bias + (<usize>j << 1))))));
      }
      const x = f64x2.mul(v, scaleV);
      const q = stochastic
        ? f64x2.floor(f64x2.add(x, f64x2.replace_lane(f64x2.splat(unitAt(z)), 1, unitAt(z + GOLDEN))))
        : f64x2.nearest(x);
      z += 2 * GOLDEN;
      let qi = i32x4.trunc_sat_f64x2_s_zero(q);
      // Lanes 2 and 3 are 0: neither clamped nor counted.
      satV = i32x4.sub(satV, v128.or(i32x4.gt_s(qi, hiV), i32x4.lt_s(qi, loV)));
      qi = i32x4.min_s(i32x4.max_s(qi, loV), hiV);
      if (relu) qi = i32x4.max_s(qi, i32x4.splat(0));
      const h = i16x8.narrow_i32x4_s(qi, qi);
      if (bytes) v128.store16_lane(dst + j, i8x16.narrow_i16x8_s(h, h), 0);
      else v128.store32_lane(dst + (<usize>j << 1), h, 0);
      j += 2;
    }
    sat += i32x4.extract_lane(satV, 0) + i32x4.extract_lane(satV, 1) + i32x4.extract_lane(satV, 2) + i32x4.extract_lane(satV, 3);
  }
  for (; j < j1; j++) {
    let v = i32acc ? <f64>load<i32>(acc + (<usize>j << 2)) : load<f64>(acc + (<usize>j << 3));
    if (hasBias) v += biasScale * <f64>load<i16>(bias + (<usize>j << 1));
    const x = v * scale;
    const q = stochastic ? Math.floor(x + unitAt(z)) : nearest<f64>(x);
    z += GOLDEN;
    let qi = <i32>q;
    if (qi > limit) { qi = limit; sat++; } else if (qi < -limit) { qi = -limit; sat++; }
    if (relu) qi &= ~(qi >> 31);
    if (bytes) store<i8>(dst + j, <i8>qi);
    else store<i16>(dst + (<usize>j << 1), <i16>qi);
  }
  return sat;
}
