// f32 GEMM for the fp32 reference trainer: C (M x N, row-major) = op(A) op(B), or C += op(A) op(B).
// op(A) is M x K, stored M x K (transA = 0) or K x M (transA = 1); op(B) is K x N, stored K x N
// (transB = 0) or N x K (transB = 1). All row-major, densely strided.
//
// Structure (GotoBLAS): for each N block (NC) and K block (KC) op(B) is packed into panels of NR = 8
// columns; for each M block (MC) op(A) into panels of MR = 4 rows; a 4 x 8 micro-kernel multiplies
// one A panel by one B panel. Packing absorbs both transposes, so there is one micro-kernel.
//
// Panel layouts:
//   A panel: for each k, 4 floats [a(i0,k) a(i0+1,k) a(i0+2,k) a(i0+3,k)]; rows past M are zero.
//   B panel: for each k, 8 floats [b(k,j0) .. b(k,j0+7)]; columns past N are zero.
// SIMD micro-kernel per k: two f32x4 loads of the B panel, four load32_splat broadcasts of A,
// eight mul+add into eight f32x4 accumulators (8 + 2 + 4 = 14 live vectors: within the ~15 V8 keeps
// in registers on x86-64). The scalar build runs the same panels through a 4 x 4 kernel twice.
//
// Padding with zeros makes every tile full-sized inside the kernel; edge tiles go through a 32-float
// scratch tile in the workspace and only their valid part is written to C.

import { inMemory, STATUS_OK, STATUS_DIMENSION, STATUS_WORKSPACE, STATUS_RANGE } from "../extents";

export const F32_MR: u32 = 4;
export const F32_NR: u32 = 8;
const KC_BLOCK: u32 = 256;
const MC_BLOCK: u32 = 64;
const NC_BLOCK: u32 = 512;

@inline function roundUp(x: u32, m: u32): u32 { return (x + m - 1) / m * m; }
@inline function minU(a: u32, b: u32): u32 { return a < b ? a : b; }

/** Bytes of workspace f32Gemm needs for this shape (B block + A block + the edge tile). */
export function f32GemmWorkspaceBytes(M: u32, N: u32, K: u32): usize {
  if (M == 0 || N == 0 || K == 0) return 128;
  const kc = <usize>minU(KC_BLOCK, K);
  const nc = <usize>minU(NC_BLOCK, roundUp(N, F32_NR));
  const mc = <usize>minU(MC_BLOCK, roundUp(M, F32_MR));
  return (kc * nc + mc * kc) * 4 + 128;
}

/** Packs op(B)[k0 .. k0+kb, j0 .. j0+nb] into NR-column panels at `dst`. */
function packB(b: usize, N: u32, K: u32, transB: bool, k0: u32, kb: u32, j0: u32, nb: u32, dst: usize): void {
  for (let p: u32 = 0; p < nb; p += F32_NR) {
    const cols = minU(F32_NR, nb - p);
    const panel = dst + (<usize>(p / F32_NR) * kb * F32_NR << 2);
    const jj = j0 + p;
    if (!transB) {
      // Row k of op(B) is row k of B: 8 contiguous floats.
      for (let k: u32 = 0; k < kb; k++) {
        const src = b + ((<usize>(k0 + k) * N + jj) << 2);
        const out = panel + (<usize>k * F32_NR << 2);
        if (cols == F32_NR) {
          if (ASC_FEATURE_SIMD) {
            v128.store(out, v128.load(src));
            v128.store(out, v128.load(src, 16), 16);
          } else {
            for (let j: u32 = 0; j < 8; j++) store<f32>(out + (j << 2), load<f32>(src + (j << 2)));
          }
        } else {
          for (let j: u32 = 0; j < cols; j++) store<f32>(out + (j << 2), load<f32>(src + (j << 2)));
          for (let j: u32 = cols; j < F32_NR; j++) store<f32>(out + (j << 2), 0);
        }
      }
    } else {
      // op(B)[k][j] = B[j][k]: walk each stored row (contiguous in k), scatter into the panel.
      for (let j: u32 = 0; j < cols; j++) {
        const src = b + ((<usize>(jj + j) * K + k0) << 2);
        let out = panel + (<usize>j << 2);
        for (let k: u32 = 0; k < kb; k++) {
          store<f32>(out, load<f32>(src + (<usize>k << 2)));
          out += F32_NR << 2;
        }
      }
      for (let j: u32 = cols; j < F32_NR; j++) {
        let out = panel + (<usize>j << 2);
        for (let k: u32 = 0; k < kb; k++) {
          store<f32>(out, 0);
          out += F32_NR << 2;
        }
      }
    }
  }
}

/** Packs op(A)[i0 .. i0+mb, k0 .. k0+kb] into MR-row panels at `dst`. */
function packA(a: usize, M: u32, K: u32, transA: bool, i0: u32, mb: u32, k0: u32, kb: u32, dst: usize): void {
  for (let p: u32 = 0; p < mb; p += F32_MR) {
    const rows = minU(F32_MR, mb - p);
    const panel = dst + (<usize>(p / F32_MR) * kb * F32_MR << 2);
    const ii = i0 + p;
    if (transA) {
      // Column i of op(A) is row k of A: 4 contiguous floats per k.
      for (let k: u32 = 0; k < kb; k++) {
        const src = a + ((<usize>(k0 + k) * M + ii) << 2);
        const out = panel + (<usize>k * F32_MR << 2);
        if (rows == F32_MR) {
          if (ASC_FEATURE_SIMD) {
            v128.store(out, v128.load(src));
          } else {
            for (let i: u32 = 0; i < 4; i++) store<f32>(out + (i << 2), load<f32>(src + (i << 2)));
          }
        } else {
          for (let i: u32 = 0; i < rows; i++) store<f32>(out + (i << 2), load<f32>(src + (i << 2)));
          for (let i: u32 = rows; i < F32_MR; i++) store<f32>(out + (i << 2), 0);
        }
      }
    } else {
      for (let i: u32 = 0; i < F32_MR; i++) {
        let out = panel + (<usize>i << 2);
        if (i < rows) {
          const src = a + ((<usize>(ii + i) * K + k0) << 2);
          for (let k: u32 = 0; k < kb; k++) {
            store<f32>(out, load<f32>(src + (<usize>k << 2)));
            out += F32_MR << 2;
          }
        } else {
          for (let k: u32 = 0; k < kb; k++) {
            store<f32>(out, 0);
            out += F32_MR << 2;
          }
        }
      }
    }
  }
}

/** c[0..4, 0..8] (row stride ldc floats) = or += A panel x B panel over kb. */
function kernel4x8(ap: usize, bp: usize, kb: u32, c: usize, ldc: u32, accumulate: bool): void {
  const ldcB = <usize>ldc << 2;
  if (ASC_FEATURE_SIMD) {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
    let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
    let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
    for (let k: u32 = 0; k < kb; k++) {
      const b0 = v128.load(bp);
      const b1 = v128.load(bp, 16);
      const a0 = v128.load32_splat(ap);
      c00 = f32x4.add(c00, f32x4.mul(a0, b0));
      c01 = f32x4.add(c01, f32x4.mul(a0, b1));
      const a1 = v128.load32_splat(ap, 4);
      c10 = f32x4.add(c10, f32x4.mul(a1, b0));
      c11 = f32x4.add(c11, f32x4.mul(a1, b1));
      const a2 = v128.load32_splat(ap, 8);
      c20 = f32x4.add(c20, f32x4.mul(a2, b0));
      c21 = f32x4.add(c21, f32x4.mul(a2, b1));
      const a3 = v128.load32_splat(ap, 12);
      c30 = f32x4.add(c30, f32x4.mul(a3, b0));
      c31 = f32x4.add(c31, f32x4.mul(a3, b1));
      ap += 16;
      bp += 32;
    }
    const r1 = c + ldcB, r2 = r1 + ldcB, r3 = r2 + ldcB;
    if (accumulate) {
      c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
      c10 = f32x4.add(c10, v128.load(r1)); c11 = f32x4.add(c11, v128.load(r1, 16));
      c20 = f32x4.add(c20, v128.load(r2)); c21 = f32x4.add(c21, v128.load(r2, 16));
      c30 = f32x4.add(c30, v128.load(r3)); c31 = f32x4.add(c31, v128.load(r3, 16));
    }
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(r1, c10); v128.store(r1, c11, 16);
    v128.store(r2, c20); v128.store(r2, c21, 16);
    v128.store(r3, c30); v128.store(r3, c31, 16);
  } else {
    kernel4x4Scalar(ap, bp, kb, c, ldcB, accumulate);
    kernel4x4Scalar(ap, bp + 16, kb, c + 16, ldcB, accumulate);
  }
}

/** Scalar half-tile: columns 0..4 of the B panel starting at `bp` (panel row stride 8 floats). */
function kernel4x4Scalar(ap: usize, bp: usize, kb: u32, c: usize, ldcB: usize, accumulate: bool): void {
  let c00: f32 = 0, c01: f32 = 0, c02: f32 = 0, c03: f32 = 0;
  let c10: f32 = 0, c11: f32 = 0, c12: f32 = 0, c13: f32 = 0;
  let c20: f32 = 0, c21: f32 = 0, c22: f32 = 0, c23: f32 = 0;
  let c30: f32 = 0, c31: f32 = 0, c32: f32 = 0, c33: f32 = 0;
  for (let k: u32 = 0; k < kb; k++) {
    const b0 = load<f32>(bp), b1 = load<f32>(bp, 4), b2 = load<f32>(bp, 8), b3 = load<f32>(bp, 12);
    const a0 = load<f32>(ap), a1 = load<f32>(ap, 4), a2 = load<f32>(ap, 8), a3 = load<f32>(ap, 12);
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    ap += 16;
    bp += 32;
  }
  let r = c;
  if (accumulate) {
    c00 += load<f32>(r); c01 += load<f32>(r, 4); c02 += load<f32>(r, 8); c03 += load<f32>(r, 12);
  }
  store<f32>(r, c00); store<f32>(r, c01, 4); store<f32>(r, c02, 8); store<f32>(r, c03, 12);
  r += ldcB;
  if (accumulate) {
    c10 += load<f32>(r); c11 += load<f32>(r, 4); c12 += load<f32>(r, 8); c13 += load<f32>(r, 12);
  }
  store<f32>(r, c10); store<f32>(r, c11, 4); store<f32>(r, c12, 8); store<f32>(r, c13, 12);
  r += ldcB;
  if (accumulate) {
    c20 += load<f32>(r); c21 += load<f32>(r, 4); c22 += load<f32>(r, 8); c23 += load<f32>(r, 12);
  }
  store<f32>(r, c20); store<f32>(r, c21, 4); store<f32>(r, c22, 8); store<f32>(r, c23, 12);
  r += ldcB;
  if (accumulate) {
    c30 += load<f32>(r); c31 += load<f32>(r, 4); c32 += load<f32>(r, 8); c33 += load<f32>(r, 12);
  }
  store<f32>(r, c30); store<f32>(r, c31, 4); store<f32>(r, c32, 8); store<f32>(r, c33, 12);
}

/**
 * C = op(A) op(B) (accumulate = 0) or C += op(A) op(B) (accumulate = 1). `work` holds
 * f32GemmWorkspaceBytes(M, N, K) bytes, 16-byte aligned. C must not overlap A, B or work.
 * Returns STATUS_OK, STATUS_WORKSPACE (workBytes too small), STATUS_RANGE (A, B, C or the workspace
 * not inside memory); nothing is written on error.
 * M, N or K = 0 is allowed: with K = 0 the product is zero (C is zeroed unless accumulating).
 */
export function f32Gemm(
  a: usize, b: usize, c: usize, M: u32, N: u32, K: u32,
  transA: bool, transB: bool, accumulate: bool, work: usize, workBytes: usize,
): i32 {
  if (workBytes < f32GemmWorkspaceBytes(M, N, K)) return STATUS_WORKSPACE;
  const m = <f64>M, n = <f64>N, k = <f64>K;
  if (!inMemory(a, m * k * 4) || !inMemory(b, k * n * 4) || !inMemory(c, m * n * 4) || !inMemory(work, <f64>workBytes)) {
    return STATUS_RANGE;
  }
  if (M == 0 || N == 0) return STATUS_OK;
  if (K == 0) {
    if (!accumulate) memory.fill(c, 0, (<usize>M * N) << 2);
    return STATUS_OK;
  }
  const kcMax = minU(KC_BLOCK, K);
  const ncMax = minU(NC_BLOCK, roundUp(N, F32_NR));
  const packedB = work;
  const packedA = packedB + ((<usize>kcMax * ncMax) << 2);
  const mcMax = minU(MC_BLOCK, roundUp(M, F32_MR));
  const tile = packedA + ((<usize>mcMax * kcMax) << 2);
  for (let jc: u32 = 0; jc < N; jc += NC_BLOCK) {
    const nb = minU(NC_BLOCK, N - jc);
    for (let pc: u32 = 0; pc < K; pc += KC_BLOCK) {
      const kb = minU(KC_BLOCK, K - pc);
      const acc = accumulate || pc > 0;
      packB(b, N, K, transB, pc, kb, jc, nb, packedB);
      for (let ic: u32 = 0; ic < M; ic += MC_BLOCK) {
        const mb = minU(MC_BLOCK, M - ic);
        packA(a, M, K, transA, ic, mb, pc, kb, packedA);
        for (let jr: u32 = 0; jr < nb; jr += F32_NR) {
          const bp = packedB + (<usize>(jr / F32_NR) * kb * F32_NR << 2);
          const nr = minU(F32_NR, nb - jr);
          for (let ir: u32 = 0; ir < mb; ir += F32_MR) {
            const ap = packedA + (<usize>(ir / F32_MR) * kb * F32_MR << 2);
            const mr = minU(F32_MR, mb - ir);
            const cij = c + ((<usize>(ic + ir) * N + jc + jr) << 2);
            if (mr == F32_MR && nr == F32_NR) {
              kernel4x8(ap, bp, kb, cij, N, acc);
            } else {
              kernel4x8(ap, bp, kb, tile, F32_NR, false);
              for (let i: u32 = 0; i < mr; i++) {
                const row = cij + ((<usize>i * N) << 2);
                const t = tile + ((<usize>i * F32_NR) << 2);
                let j: u32 = 0;
                if (ASC_FEATURE_SIMD) {
                  // The first four columns of a narrow tile (lenet5's 6-filter conv) in one go.
                  if (nr >= 4) {
                    const v = v128.load(t);
                    v128.store(row, acc ? f32x4.add(v128.load(row), v) : v);
                    j = 4;
                  }
                }
                for (; j < nr; j++) {
                  const v = load<f32>(t + (j << 2));
                  store<f32>(row + (j << 2), acc ? load<f32>(row + (j << 2)) + v : v);
                }
              }
            }
          }
        }
      }
    }
  }
  return STATUS_OK;
}
