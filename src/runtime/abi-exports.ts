// The raw ABI as the host sees it: a file of its own so that the loader (wasm.ts), the arena and
// the relaxed-SIMD probe, which the loader runs, can all name it without importing one another.
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
}
