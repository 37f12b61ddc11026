// The raw ABI as the host sees it, the integer kernels' and the f32 ones': a file of its own, that
// imports nothing, so that the loader (wasm.ts), the arena, the relaxed-SIMD probe, which the
// loader runs, and the fp32 baseline's loader can all name it without importing one another.
/** The raw ABI of build/aptkit.*.wasm (docs/abi.md). Offsets are byte offsets into `memory`. */
export interface AbiExports {
  memory: WebAssembly.Memory;
  abi_version(): number;
  has_simd(): number;
  /** 1 in the relaxed-SIMD build. (Absent from builds before it existed.) */
  has_relaxed_simd?(): number;
  /** 1 when the last gemm / gemm_views call ran the relaxed build's i8 path. */
  gemm_relaxed_used?(): number;
  heap_base(): number;
  packed_row_stride(cols: number, bits: number): number;
  pack(src: number, rows: number, cols: number, bits: number, dst: number): number;
  unpack(src: number, rows: number, cols: number, bits: number, dst: number): number;
  gemm_workspace_bytes(M: number, N: number, K: number, aBits: number, bBits: number): number;
  gemm(
    a: number, aRows: number, aCols: number, aBits: number, transA: number,
    b: number, bRows: number, bCols: number, bBits: number, transB: number,
    c: number, work: number, workBytes: number,
  ): number;
  gemm_fused_workspace_bytes(M: number, N: number, K: number, aBits: number, bBits: number): number;
  /** Pre-packed B (added within ABI 1; absent from older builds). */
  gemm_b_panels_bytes?(M: number, N: number, K: number, aBits: number, bBits: number): number;
  gemm_prepack_b?(
    a: number, aRows: number, aCols: number, aBits: number, transA: number,
    b: number, bRows: number, bCols: number, bBits: number, transB: number,
    work: number, workBytes: number, panels: number, panelsBytes: number,
  ): number;
  gemm_prepacked?(
    a: number, aRows: number, aCols: number, aBits: number, transA: number,
    b: number, bRows: number, bCols: number, bBits: number, transB: number,
    c: number, work: number, workBytes: number, panels: number, panelsBytes: number,
  ): number;
  gemm_views(a: number, b: number, c: number, work: number, workBytes: number): number;
  gemm_fused(a: number, b: number, out: number, stage: number, work: number, workBytes: number): number;
  random_bits(seed: number, step: number, stream: number, index: number, out: number): number;
  change_precision(
    ptr: number, rows: number, cols: number, fromBits: number, toBits: number,
    mode: number, seed: number, step: number, stream: number, stats: number,
  ): number;
  max_pool_forward(x: number, N: number, H: number, W: number, C: number, bits: number,
    kh: number, kw: number, sh: number, sw: number, y: number): number;
  max_pool_backward(x: number, N: number, H: number, W: number, C: number, xBits: number,
    kh: number, kw: number, sh: number, sw: number, dy: number, dyBits: number, dx: number, stats: number): number;
  avg_pool_forward(x: number, N: number, H: number, W: number, C: number, bits: number,
    kh: number, kw: number, sh: number, sw: number, mode: number, seed: number, step: number, stream: number, y: number): number;
  avg_pool_backward(dy: number, N: number, H: number, W: number, C: number, bits: number,
    kh: number, kw: number, sh: number, sw: number, mode: number, seed: number, step: number, stream: number, dx: number): number;
  relu_forward(ptr: number, rows: number, cols: number, bits: number): number;
  relu_backward(y: number, yBits: number, dy: number, dyBits: number, rows: number, cols: number, dx: number): number;
  quantize_f32(src: number, rows: number, cols: number, bits: number,
    mode: number, seed: number, step: number, stream: number, dst: number, expOut: number): number;
  max_abs_codes(ptr: number, rows: number, cols: number, bits: number): number;
  softmax_cross_entropy(
    logits: number, N: number, classes: number, bits: number, exp: number,
    labels: number, labelBytes: number, errBits: number,
    mode: number, seed: number, step: number, stream: number,
    dlogits: number, lossOut: number, correctOut: number, expOut: number,
  ): number;
  /** The input batch's data edge (added within ABI 2): max |x| of n f32 (NaN for a NaN), or -6. */
  input_max_abs_f32(src: number, n: number): number;
  input_round_f32(src: number, n: number, exp: number, bits: number, dst: number, rows: number, cols: number, first: number): number;
}

/** The f32 ABI version this host speaks (assembly/f32/index.ts; the integer ABI's is wasm.ts's
 *  ABI_VERSION, which its loader checks). */
export const F32_ABI_VERSION = 2;

/** The f32 kernels' raw ABI (assembly/f32/index.ts), which the main builds re-export and
 *  assembly/f32/standalone.ts builds alone. Offsets are byte offsets into `memory`; booleans are
 *  passed as 0/1. */
export interface Fp32Exports extends Pick<AbiExports, "memory" | "heap_base" | "has_simd"> {
  f32_abi_version(): number;
  f32_gemm_workspace_bytes(M: number, N: number, K: number): number;
  f32_gemm(a: number, b: number, c: number, M: number, N: number, K: number,
    transA: number, transB: number, accumulate: number, work: number, workBytes: number): number;
  f32_im2col(x: number, N: number, H: number, W: number, C: number,
    kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, cols: number): number;
  f32_col2im(dcols: number, N: number, H: number, W: number, C: number,
    kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dx: number): number;
  f32_bias_act(y: number, rows: number, cols: number, bias: number, relu: number): number;
  f32_bias_grad(dy: number, rows: number, cols: number, db: number): number;
  f32_relu_forward(x: number, n: number, y: number): number;
  f32_relu_backward(y: number, dy: number, n: number, dx: number): number;
  f32_sgd(w: number, g: number, n: number, lr: number): number;
  f32_max_pool_forward(x: number, N: number, H: number, W: number, C: number,
    kh: number, kw: number, sh: number, sw: number, y: number): number;
  f32_max_pool_backward(x: number, N: number, H: number, W: number, C: number,
    kh: number, kw: number, sh: number, sw: number, dy: number, dx: number): number;
  f32_avg_pool_forward(x: number, N: number, H: number, W: number, C: number,
    kh: number, kw: number, sh: number, sw: number, y: number): number;
  f32_avg_pool_backward(dy: number, N: number, H: number, W: number, C: number,
    kh: number, kw: number, sh: number, sw: number, dx: number): number;
  f32_softmax_xent(logits: number, N: number, classes: number, labels: number, dlogits: number, out: number): number;
}

const F32_REQUIRED = ["memory", "heap_base", "f32_abi_version", "f32_gemm", "f32_softmax_xent"] as const;

/** Checks that `exports` carries the f32 ABI at the version this host speaks. */
export function checkFp32Exports(exports: Record<string, unknown>, origin: string): Fp32Exports {
  const missing = F32_REQUIRED.filter((k) => !(k in exports));
  if (missing.length > 0) {
    throw new Error(`aptkit fp32: ${origin} lacks ${missing.join(", ")}: ` +
      `it is not one of aptkit's builds (build/aptkit.<isa>.wasm export the f32_ kernels): use those, or a build of the same sources`);
  }
  const abi = exports as unknown as Fp32Exports;
  const version = abi.f32_abi_version();
  if (version !== F32_ABI_VERSION) {
    throw new Error(`aptkit fp32: ${origin} has f32 ABI version ${version}, host expects ${F32_ABI_VERSION}: rebuild the wasm`);
  }
  return abi;
}
