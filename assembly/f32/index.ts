// The f32 ABI of the fp32 reference trainer (docs: src/train/fp32/abi.ts). Flat functions on byte
// offsets into the module's memory; every buffer is placed by the host, f32 little-endian,
// row-major, 16-byte aligned where it is a GEMM workspace. Every name starts with `f32_` so that
// `export * from "./f32/index"` in assembly/index.ts cannot collide with the integer ABI.
// Status codes (the shared table, src/runtime/abi-status.ts): 0 ok, -3 workspace too small (gemm),
// -6 a buffer outside memory, -7 a dimension 0 or negative (or a kernel larger than its padded
// input), -8 window or stride 0, -9 window larger than input, k+1 bad label k (loss).

import { f32Gemm, f32GemmWorkspaceBytes } from "./gemm";
import {
  im2col, col2im, biasAct, biasGrad, reluForward, reluBackward, sgd,
  maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward, softmaxXent,
} from "./ops";

/** Bumped whenever an f32_ export's meaning or signature changes. 2: status codes from the shared
 *  table, every export checks its extents, and the former void exports return a status. */
export const F32_ABI_VERSION: u32 = 2;

export function f32_abi_version(): u32 { return F32_ABI_VERSION; }

export function f32_gemm_workspace_bytes(M: u32, N: u32, K: u32): usize {
  return f32GemmWorkspaceBytes(M, N, K);
}

/** C (M x N) = op(A) op(B), or += when `accumulate`. See assembly/f32/gemm.ts. */
export function f32_gemm(
  a: usize, b: usize, c: usize, M: u32, N: u32, K: u32,
  transA: bool, transB: bool, accumulate: bool, work: usize, workBytes: usize,
): i32 {
  return f32Gemm(a, b, c, M, N, K, transA, transB, accumulate, work, workBytes);
}

export function f32_im2col(x: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, cols: usize): i32 {
  return im2col(x, N, H, W, C, kh, kw, sh, sw, ph, pw, cols);
}

export function f32_col2im(dcols: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dx: usize): i32 {
  return col2im(dcols, N, H, W, C, kh, kw, sh, sw, ph, pw, dx);
}

export function f32_bias_act(y: usize, rows: i32, cols: i32, bias: usize, relu: bool): i32 {
  return biasAct(y, rows, cols, bias, relu);
}

export function f32_bias_grad(dy: usize, rows: i32, cols: i32, db: usize): i32 {
  return biasGrad(dy, rows, cols, db);
}

export function f32_relu_forward(x: usize, n: i32, y: usize): i32 { return reluForward(x, n, y); }

export function f32_relu_backward(y: usize, dy: usize, n: i32, dx: usize): i32 { return reluBackward(y, dy, n, dx); }

export function f32_sgd(w: usize, g: usize, n: i32, lr: f32): i32 { return sgd(w, g, n, lr); }

export function f32_max_pool_forward(x: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, y: usize): i32 {
  return maxPoolForward(x, N, H, W, C, kh, kw, sh, sw, y);
}

export function f32_max_pool_backward(x: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dy: usize, dx: usize): i32 {
  return maxPoolBackward(x, N, H, W, C, kh, kw, sh, sw, dy, dx);
}

export function f32_avg_pool_forward(x: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, y: usize): i32 {
  return avgPoolForward(x, N, H, W, C, kh, kw, sh, sw, y);
}

export function f32_avg_pool_backward(dy: usize, N: i32, H: i32, W: i32, C: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dx: usize): i32 {
  return avgPoolBackward(dy, N, H, W, C, kh, kw, sh, sw, dx);
}

export function f32_softmax_xent(logits: usize, N: i32, classes: i32, labels: usize, dlogits: usize, out: usize): i32 {
  return softmaxXent(logits, N, classes, labels, dlogits, out);
}
