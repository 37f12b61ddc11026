// The small f32 operations the fp32 reference trainer needs around the GEMM. Tensors are dense
// row-major f32; activations are NHWC (channel fastest). Every function works on caller-placed
// buffers and allocates nothing.


import { arrayFits, STATUS_WINDOW, STATUS_WINDOW_TOO_LARGE, STATUS_OK, STATUS_DIMENSION, STATUS_RANGE } from "../extents";

/** Errors (nothing written; the shared table, src/runtime/abi-status.ts). */

// Whether `count` f32 at `at` lie inside memory (counts from i32 products, taken in f64).
@inline function floatsFit(at: usize, count: f64): bool {
  return arrayFits(at, count, 4);
}

@inline function minI(a: i32, b: i32): i32 { return a < b ? a : b; }
@inline function maxI(a: i32, b: i32): i32 { return a > b ? a : b; }

/** Output size of a convolution along one axis: floor((n + 2p - k) / s) + 1, or STATUS_DIMENSION (< 0)
 *  when the kernel does not fit the padded input or the padded input passes i32 (the loops index
 *  it in i32). */
export function convOutputSize(n: i32, k: i32, s: i32, p: i32): i32 {
  if (k <= 0 || s <= 0 || p < 0 || n <= 0) return STATUS_DIMENSION;
  const span = <i64>n + 2 * <i64>p;
  if (span > 0x7fffffff || <i64>k > span) return STATUS_DIMENSION;
  return <i32>((span - <i64>k) / <i64>s) + 1;
}

// Whether the image (N x H x W x C) at `img` and the patch matrix (N*OH*OW x KH*KW*C) at `cols`
// lie inside memory; arguments already checked positive.
function patchesFit(img: usize, cols: usize, N: i32, H: i32, W: i32, C: i32, kh: i32, kw: i32, OH: i32, OW: i32): bool {
  const n = <f64>N, c = <f64>C;
  return floatsFit(img, n * <f64>H * <f64>W * c) && floatsFit(cols, n * <f64>OH * <f64>OW * <f64>kh * <f64>kw * c);
}

// ---- im2col / col2im -------------------------------------------------------------------------
// The patch matrix has one row per output position (n, oy, ox), n-major, and KH*KW*C columns in
// (ky, kx, c) order: exactly the column order of the conv weight W[co][ky][kx][ci] (and of the
// integer engine's implicit im2col view), so Y = cols * W^T. For a fixed (row, ky) the valid kx
// form one range whose inputs are contiguous in the NHWC line: one copy per kernel row.

/** cols (N*OH*OW x KH*KW*C) = patches of x (N x H x W x C), zero padding. */
export function im2col(
  x: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, cols: usize,
): i32 {
  const OH = convOutputSize(H, kh, sh, ph), OW = convOutputSize(W, kw, sw, pw);
  if (OH < 0 || OW < 0 || N <= 0 || C <= 0) return STATUS_DIMENSION;
  if (!patchesFit(x, cols, N, H, W, C, kh, kw, OH, OW)) return STATUS_RANGE;
  const seg = kw * C;
  const K = <usize>(kh * seg);
  // (n, oy, ky) outermost: one input line feeds the kernel row ky of a whole row of patches, so
  // the inner loop over ox is a run copy with two pointer bumps (the rows of one oy stay in L1).
  for (let n = 0; n < N; n++) {
    const img = x + ((<usize>n * H * W * C) << 2);
    for (let oy = 0; oy < OH; oy++) {
      const rows = cols + ((<usize>(n * OH + oy) * OW * K) << 2);
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * sh + ky - ph;
        let out = rows + ((<usize>ky * seg) << 2);
        if (iy < 0 || iy >= H) {
          for (let ox = 0; ox < OW; ox++) {
            zeroF32(out, seg);
            out += K << 2;
          }
          continue;
        }
        const line = img + ((<usize>iy * W * C) << 2);
        for (let ox = 0; ox < OW; ox++) {
          const x0 = ox * sw - pw;
          if (x0 >= 0 && x0 + kw <= W) {
            copyF32(out, line + ((<usize>x0 * C) << 2), seg);
          } else {
            const kxLo = maxI(0, -x0), kxHi = minI(kw, W - x0);
            if (kxHi <= kxLo) {
              zeroF32(out, seg);
            } else {
              if (kxLo > 0) zeroF32(out, kxLo * C);
              copyF32(out + ((<usize>kxLo * C) << 2), line + ((<usize>(x0 + kxLo) * C) << 2), (kxHi - kxLo) * C);
              if (kxHi < kw) zeroF32(out + ((<usize>kxHi * C) << 2), (kw - kxHi) * C);
            }
          }
          out += K << 2;
        }
      }
    }
  }
  return STATUS_OK;
}

/** dx (N x H x W x C) = the adjoint of im2col applied to dcols: dx is zeroed, then every patch
 *  element is added back to the input position it was copied from (padding drops out). */
export function col2im(
  dcols: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dx: usize,
): i32 {
  const OH = convOutputSize(H, kh, sh, ph), OW = convOutputSize(W, kw, sw, pw);
  if (OH < 0 || OW < 0 || N <= 0 || C <= 0) return STATUS_DIMENSION;
  if (!patchesFit(dx, dcols, N, H, W, C, kh, kw, OH, OW)) return STATUS_RANGE;
  memory.fill(dx, 0, (<usize>N * H * W * C) << 2);
  const seg = kw * C;
  let src = dcols;
  for (let n = 0; n < N; n++) {
    const img = dx + ((<usize>n * H * W * C) << 2);
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * sw - pw;
        const kxLo = maxI(0, -x0), kxHi = minI(kw, W - x0);
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh + ky - ph;
          if (iy >= 0 && iy < H && kxHi > kxLo) {
            const dst = img + ((<usize>(iy * W + x0 + kxLo) * C) << 2);
            addInto(dst, src + ((<usize>kxLo * C) << 2), (kxHi - kxLo) * C);
          }
          src += <usize>seg << 2;
        }
      }
    }
  }
  return STATUS_OK;
}

// Patch runs are short (KW*C floats: 5 for lenet5's first layer), so inline loops beat
// memory.copy / memory.fill, which V8 runs as calls out of the generated code.

/** dst[0..n] = src[0..n] (no overlap). With SIMD and n >= 4 the last vector is stored at n - 4,
 *  overlapping the one before it: no scalar tail. */
@inline function copyF32(dst: usize, src: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (n >= 4) {
      const last = <usize>(n - 4) << 2;
      for (let i = 0; i < n - 4; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
      v128.store(dst + last, v128.load(src + last));
      return;
    }
  }
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

/** dst[0..n] = 0 (overlapping last vector as in copyF32). */
@inline function zeroF32(dst: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (n >= 4) {
      const z = f32x4.splat(0);
      for (let i = 0; i < n - 4; i += 4) v128.store(dst + (<usize>i << 2), z);
      v128.store(dst + (<usize>(n - 4) << 2), z);
      return;
    }
  }
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), 0);
}

/** dst[0..n] += src[0..n]. */
@inline function addInto(dst: usize, src: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

// ---- bias, ReLU, SGD ------------------------------------------------------------------------

/** y[r][j] += bias[j] for rows x cols y, then y = max(y, 0) when relu. Returns STATUS_OK,
 *  STATUS_DIMENSION (rows or cols negative) or STATUS_RANGE. */
export function biasAct(y: usize, rows: i32, cols: i32, bias: usize, relu: bool): i32 {
  if (rows < 0 || cols < 0) return STATUS_DIMENSION;
  if (!floatsFit(y, <f64>rows * <f64>cols) || !floatsFit(bias, cols)) return STATUS_RANGE;
  for (let r = 0; r < rows; r++) {
    const row = y + ((<usize>r * cols) << 2);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      for (; j + 4 <= cols; j += 4) {
        const o = <usize>j << 2;
        let v = f32x4.add(v128.load(row + o), v128.load(bias + o));
        if (relu) v = v128.and(v, f32x4.gt(v, zero));
        v128.store(row + o, v);
      }
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      let v = load<f32>(row + o) + load<f32>(bias + o);
      if (relu && !(v > 0)) v = 0;
      store<f32>(row + o, v);
    }
  }
  return STATUS_OK;
}

/** db[j] = sum over rows of dy[r][j] (rows summed in order). Returns STATUS_OK, STATUS_DIMENSION or
 *  STATUS_RANGE. */
export function biasGrad(dy: usize, rows: i32, cols: i32, db: usize): i32 {
  if (rows < 0 || cols < 0) return STATUS_DIMENSION;
  if (!floatsFit(dy, <f64>rows * <f64>cols) || !floatsFit(db, cols)) return STATUS_RANGE;
  memory.fill(db, 0, <usize>cols << 2);
  for (let r = 0; r < rows; r++) addInto(db, dy + ((<usize>r * cols) << 2), cols);
  return STATUS_OK;
}

/** y = max(x, 0) elementwise (y may be x). NaN becomes 0 in both builds. Returns STATUS_OK,
 *  STATUS_DIMENSION (n negative) or STATUS_RANGE; so do reluBackward and sgd. */
export function reluForward(x: usize, n: i32, y: usize): i32 {
  if (n < 0) return STATUS_DIMENSION;
  if (!floatsFit(x, n) || !floatsFit(y, n)) return STATUS_RANGE;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      v128.store(y + o, v128.and(v, f32x4.gt(v, zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : 0);
  }
  return STATUS_OK;
}

/** dx = dy where the ReLU output y > 0, else 0 (dx may be dy). */
export function reluBackward(y: usize, dy: usize, n: i32, dx: usize): i32 {
  if (n < 0) return STATUS_DIMENSION;
  if (!floatsFit(y, n) || !floatsFit(dy, n) || !floatsFit(dx, n)) return STATUS_RANGE;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(y + o), zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(y + o) > 0 ? load<f32>(dy + o) : 0);
  }
  return STATUS_OK;
}

/** w -= lr * g over n floats (plain SGD, in f32). */
export function sgd(w: usize, g: usize, n: i32, lr: f32): i32 {
  if (n < 0) return STATUS_DIMENSION;
  if (!floatsFit(w, n) || !floatsFit(g, n)) return STATUS_RANGE;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vlr = f32x4.splat(lr);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.mul(vlr, v128.load(g + o))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(w + o, load<f32>(w + o) - lr * load<f32>(g + o));
  }
  return STATUS_OK;
}

// ---- pooling (no padding; OH = floor((H - kh) / sh) + 1, as the integer kernels) --------------

function checkPool(N: i32, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32): i32 {
  if (N <= 0 || C <= 0 || H <= 0 || W <= 0) return STATUS_DIMENSION;
  if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0) return STATUS_WINDOW;
  if (kh > H || kw > W) return STATUS_WINDOW_TOO_LARGE;
  return STATUS_OK;
}

// Whether the pool's input-shaped (N x H x W x C) and output-shaped (N x OH x OW x C) buffers lie
// inside memory.
function poolFits(input: usize, output: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32): bool {
  const n = <f64>N, c = <f64>C;
  return floatsFit(input, n * <f64>H * <f64>W * c) && floatsFit(output, n * <f64>OH * <f64>OW * c);
}

/** Offset (in floats, within the image) of the FIRST maximum of window (oy, ox), channel c, in
 *  row-major scan order: later equal values do not replace it (the integer kernel's tie rule). */
@inline function firstMax(img: usize, W: i32, C: i32, kh: i32, kw: i32, y0: i32, x0: i32, c: i32): i32 {
  let best = (y0 * W + x0) * C + c;
  let bestV = load<f32>(img + (<usize>best << 2));
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const at = ((y0 + i) * W + x0 + j) * C + c;
      const v = load<f32>(img + (<usize>at << 2));
      if (v > bestV) { bestV = v; best = at; }
    }
  }
  return best;
}

export function maxPoolForward(x: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, y: usize): i32 {
  const bad = checkPool(N, H, W, C, kh, kw, sh, sw);
  if (bad != STATUS_OK) return bad;
  const OH = (H - kh) / sh + 1, OW = (W - kw) / sw + 1;
  if (!poolFits(x, y, N, H, W, C, OH, OW)) return STATUS_RANGE;
  let out = y;
  for (let n = 0; n < N; n++) {
    const img = x + ((<usize>n * H * W * C) << 2);
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          // Four channels at once; max of an ordered scan equals the first max's value.
          for (; c + 4 <= C; c += 4) {
            let m = v128.load(img + ((<usize>((oy * sh) * W + ox * sw) * C + c) << 2));
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const v = v128.load(img + ((<usize>((oy * sh + i) * W + ox * sw + j) * C + c) << 2));
                m = v128.bitselect(v, m, f32x4.gt(v, m));
              }
            }
            v128.store(out + (<usize>c << 2), m);
          }
        }
        for (; c < C; c++) {
          const at = firstMax(img, W, C, kh, kw, oy * sh, ox * sw, c);
          store<f32>(out + (<usize>c << 2), load<f32>(img + (<usize>at << 2)));
        }
        out += <usize>C << 2;
      }
    }
  }
  return STATUS_OK;
}

/** dx (zeroed first) receives each dy at the first maximum of its window in the saved input x;
 *  overlapping windows add (in window order). */
export function maxPoolBackward(x: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dy: usize, dx: usize): i32 {
  const bad = checkPool(N, H, W, C, kh, kw, sh, sw);
  if (bad != STATUS_OK) return bad;
  const OH = (H - kh) / sh + 1, OW = (W - kw) / sw + 1;
  if (!poolFits(x, dy, N, H, W, C, OH, OW) || !floatsFit(dx, <f64>N * <f64>H * <f64>W * <f64>C)) return STATUS_RANGE;
  memory.fill(dx, 0, (<usize>N * H * W * C) << 2);
  let g = dy;
  for (let n = 0; n < N; n++) {
    const img = x + ((<usize>n * H * W * C) << 2);
    const dimg = dx + ((<usize>n * H * W * C) << 2);
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          // Four channels at once: find the window maximum, then hand dY to the first position
          // (scan order) equal to it; `taken` marks the lanes already served.
          for (; c + 4 <= C; c += 4) {
            const corner = (<usize>((oy * sh) * W + ox * sw) * C + c) << 2;
            let m = v128.load(img + corner);
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const v = v128.load(img + ((<usize>((oy * sh + i) * W + ox * sw + j) * C + c) << 2));
                m = v128.bitselect(v, m, f32x4.gt(v, m));
              }
            }
            const gv = v128.load(g + (<usize>c << 2));
            let taken = i32x4.splat(0);
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const o = (<usize>((oy * sh + i) * W + ox * sw + j) * C + c) << 2;
                const hit = v128.andnot(f32x4.eq(v128.load(img + o), m), taken);
                v128.store(dimg + o, f32x4.add(v128.load(dimg + o), v128.and(gv, hit)));
                taken = v128.or(taken, hit);
              }
            }
          }
        }
        for (; c < C; c++) {
          const at = firstMax(img, W, C, kh, kw, oy * sh, ox * sw, c);
          const p = dimg + (<usize>at << 2);
          store<f32>(p, load<f32>(p) + load<f32>(g + (<usize>c << 2)));
        }
        g += <usize>C << 2;
      }
    }
  }
  return STATUS_OK;
}

export function avgPoolForward(x: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, y: usize): i32 {
  const bad = checkPool(N, H, W, C, kh, kw, sh, sw);
  if (bad != STATUS_OK) return bad;
  const OH = (H - kh) / sh + 1, OW = (W - kw) / sw + 1;
  if (!poolFits(x, y, N, H, W, C, OH, OW)) return STATUS_RANGE;
  const inv: f32 = 1 / <f32>(kh * kw);
  let out = y;
  for (let n = 0; n < N; n++) {
    const img = x + ((<usize>n * H * W * C) << 2);
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        zeroF32(out, C);
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            addInto(out, img + ((<usize>((oy * sh + i) * W + ox * sw + j) * C) << 2), C);
          }
        }
        for (let c = 0; c < C; c++) store<f32>(out + (<usize>c << 2), load<f32>(out + (<usize>c << 2)) * inv);
        out += <usize>C << 2;
      }
    }
  }
  return STATUS_OK;
}

/** dx (zeroed first) = each dy / (kh*kw) spread over its window; overlapping windows add. */
export function avgPoolBackward(dy: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dx: usize): i32 {
  const bad = checkPool(N, H, W, C, kh, kw, sh, sw);
  if (bad != STATUS_OK) return bad;
  const OH = (H - kh) / sh + 1, OW = (W - kw) / sw + 1;
  if (!poolFits(dx, dy, N, H, W, C, OH, OW)) return STATUS_RANGE;
  const inv: f32 = 1 / <f32>(kh * kw);
  memory.fill(dx, 0, (<usize>N * H * W * C) << 2);
  let g = dy;
  for (let n = 0; n < N; n++) {
    const dimg = dx + ((<usize>n * H * W * C) << 2);
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const p = dimg + ((<usize>((oy * sh + i) * W + ox * sw + j) * C) << 2);
            for (let c = 0; c < C; c++) {
              const o = <usize>c << 2;
              store<f32>(p + o, load<f32>(p + o) + load<f32>(g + o) * inv);
            }
          }
        }
        g += <usize>C << 2;
      }
    }
  }
  return STATUS_OK;
}

// ---- softmax cross-entropy ------------------------------------------------------------------

/**
 * logits: N x classes f32; labels: N u8. Writes the mean loss (f64) to `out` and the count of
 * samples whose FIRST argmax equals the label (i32) to `out + 8`; when dlogits != 0 also
 * dlogits = (softmax - onehot) / N as f32. Computed in f64 per sample: t_j = z_j - max z,
 * loss_i = log(sum_j exp t_j) - t_label. Returns STATUS_OK, STATUS_DIMENSION, STATUS_RANGE, or k+1
 * when label k is outside 0..classes-1 (nothing written).
 */
export function softmaxXent(logits: usize, N: i32, classes: i32, labels: usize, dlogits: usize, out: usize): i32 {
  if (N <= 0 || classes <= 0) return STATUS_DIMENSION;
  const elements = <f64>N * <f64>classes;
  if (
    !floatsFit(logits, elements) || !arrayFits(labels, N, 1) || (dlogits != 0 && !floatsFit(dlogits, elements)) ||
    !arrayFits(out, 1, 12)
  ) return STATUS_RANGE;
  for (let i = 0; i < N; i++) if (<i32>load<u8>(labels + i) >= classes) return i + 1;
  const invN: f64 = 1 / <f64>N;
  let total: f64 = 0;
  let correct: i32 = 0;
  for (let i = 0; i < N; i++) {
    const row = logits + ((<usize>i * classes) << 2);
    const label = <i32>load<u8>(labels + i);
    let m = load<f32>(row);
    let arg = 0;
    for (let j = 1; j < classes; j++) {
      const v = load<f32>(row + (<usize>j << 2));
      if (v > m) { m = v; arg = j; }
    }
    if (arg == label) correct++;
    const mf = <f64>m;
    let s: f64 = 0;
    for (let j = 0; j < classes; j++) s += Math.exp(<f64>load<f32>(row + (<usize>j << 2)) - mf);
    total += Math.log(s) - (<f64>load<f32>(row + (<usize>label << 2)) - mf);
    if (dlogits != 0) {
      const g = dlogits + ((<usize>i * classes) << 2);
      const inv = 1 / s;
      for (let j = 0; j < classes; j++) {
        const p = Math.exp(<f64>load<f32>(row + (<usize>j << 2)) - mf) * inv;
        store<f32>(g + (<usize>j << 2), <f32>((j == label ? p - 1 : p) * invN));
      }
    }
  }
  store<f64>(out, total * invN);
  store<i32>(out + 8, correct);
  return STATUS_OK;
}
