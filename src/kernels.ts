// The typed face of the wasm kernels. Nothing outside src/runtime and this file touches raw offsets.
import {
  checkCodes, checkPacked, gemmShape, packedByteLength,
  type GemmOptions, type PackedMatrix,
} from "./format.js";
import { Arena } from "./runtime/arena.js";
import { instantiateAbi, resolveIsa, type AbiExports, type Isa, type IsaChoice } from "./runtime/wasm.js";

export interface KernelsOptions {
  /** Which build to run: "auto" picks the relaxed-SIMD build where WebAssembly.validate accepts
   *  it and it passes the start-up known-answer check, else SIMD where validate accepts that. */
  isa?: IsaChoice;
}

/** A GEMM whose operands stay resident in wasm memory: run() repeats only the kernel. */
export interface PreparedGemm {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  run(): void;
  /** A copy of the last result, row-major M x N. */
  result(): Float64Array;
}

const GEMM_ERRORS: Record<number, string> = {
  [-1]: "bits out of range",
  [-2]: "inner dimensions differ",
  [-3]: "workspace too small",
};

export class Kernels {
  private readonly arena: Arena;
  /**
   * @param isaReason why this build (from resolveIsa): for "auto", why the relaxed build was or
   *   was not taken, e.g. "not relaxed: this engine does not validate the relaxed-SIMD build ...".
   */
  constructor(readonly isa: Isa, private readonly abi: AbiExports, readonly isaReason = "") {
    this.arena = new Arena(abi);
  }

  /** Packs integer codes (row-major rows x cols) at `bits` into the packed format. */
  pack(codes: ArrayLike<number>, rows: number, cols: number, bits: number): PackedMatrix {
    checkCodes(codes, rows, cols, bits, "codes");
    this.arena.reset();
    const n = rows * cols;
    const src = this.arena.alloc(n * 4);
    const length = packedByteLength(rows, cols, bits);
    const dst = this.arena.alloc(length);
    new Int32Array(this.abi.memory.buffer, src, n).set(codes);
    const status = this.abi.pack(src, rows, cols, bits, dst);
    if (status !== 0) throw new Error(`aptkit: wasm pack refused its input (status ${status}) after host checks passed`);
    return { rows, cols, bits, bytes: this.arena.bytes(dst, length).slice() };
  }

  unpack(m: PackedMatrix): Int32Array {
    checkPacked(m, "m");
    this.arena.reset();
    const src = this.place(m);
    const n = m.rows * m.cols;
    const dst = this.arena.alloc(n * 4);
    this.abi.unpack(src, m.rows, m.cols, m.bits, dst);
    return new Int32Array(this.abi.memory.buffer, dst, n).slice();
  }

  /** op(A) * op(B), exactly: integer results in a row-major M x N Float64Array. */
  gemm(a: PackedMatrix, b: PackedMatrix, options: GemmOptions = {}): Float64Array {
    const prepared = this.prepareGemm(a, b, options);
    prepared.run();
    return prepared.result();
  }

  /**
   * Places the operands in wasm memory once. Valid until the next call on this Kernels object
   * (later calls reuse the same memory). With `prepackB`, B is also decoded into the kernel's
   * panels once, here, and run() reuses them.
   */
  prepareGemm(a: PackedMatrix, b: PackedMatrix, options: GemmOptions = {}): PreparedGemm {
    const { M, N, K } = gemmShape(a, b, options);
    const transA = options.transA ? 1 : 0;
    const transB = options.transB ? 1 : 0;
    this.arena.reset();
    const aAt = this.place(a);
    const bAt = this.place(b);
    const cAt = this.arena.alloc(M * N * 8);
    const workBytes = this.abi.gemm_workspace_bytes(M, N, K, a.bits, b.bits);
    const work = this.arena.alloc(workBytes);
    const abi = this.abi;
    const fail = (status: number) => new Error(`aptkit: wasm gemm failed: ${GEMM_ERRORS[status] ?? status}`);
    if (options.prepackB) {
      const { gemm_b_panels_bytes: panelsBytesOf, gemm_prepack_b: prepack, gemm_prepacked: prepacked } = abi;
      if (!panelsBytesOf || !prepack || !prepacked) throw new Error("aptkit: this wasm build has no pre-packed B entry points (gemm_prepacked): rebuild with npm run build");
      // B's panels are decoded here, once; run() only packs A, multiplies and writes C.
      const panelsBytes = panelsBytesOf(M, N, K, a.bits, b.bits);
      const panels = this.arena.alloc(panelsBytes);
      const status = prepack(aAt, a.rows, a.cols, a.bits, transA, bAt, b.rows, b.cols, b.bits, transB, work, workBytes, panels, panelsBytes);
      if (status !== 0) throw fail(status);
      return {
        M, N, K,
        run(): void {
          const status = prepacked(aAt, a.rows, a.cols, a.bits, transA, bAt, b.rows, b.cols, b.bits, transB, cAt, work, workBytes, panels, panelsBytes);
          if (status !== 0) throw fail(status);
        },
        result(): Float64Array {
          return new Float64Array(abi.memory.buffer, cAt, M * N).slice();
        },
      };
    }
    return {
      M, N, K,
      run(): void {
        const status = abi.gemm(aAt, a.rows, a.cols, a.bits, transA, bAt, b.rows, b.cols, b.bits, transB, cAt, work, workBytes);
        if (status !== 0) throw fail(status);
      },
      result(): Float64Array {
        return new Float64Array(abi.memory.buffer, cAt, M * N).slice();
      },
    };
  }

  /** Whether the last gemm (or PreparedGemm.run) took the relaxed build's i8 path: a diagnostic
   *  for tests and benchmarks (the result is the same either way); always false on other builds. */
  lastGemmUsedRelaxed(): boolean {
    return this.abi.gemm_relaxed_used?.() === 1;
  }

  private place(m: PackedMatrix): number {
    const at = this.arena.alloc(m.bytes.length);
    this.arena.bytes(at, m.bytes.length).set(m.bytes);
    return at;
  }
}

export async function createKernels(options: KernelsOptions = {}): Promise<Kernels> {
  const { isa, bytes, reason } = await resolveIsa(options.isa ?? "auto");
  return new Kernels(isa, await instantiateAbi(bytes), reason);
}
