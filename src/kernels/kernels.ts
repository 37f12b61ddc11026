// The typed face of the wasm kernels. Nothing outside src/runtime and this file touches raw offsets.
import {
  checkCodes, checkPacked, checkPackedCodes, gemmShape, packedByteLength,
  type GemmOptions, type PackedMatrix,
} from "../format/packed.js";
import { Arena } from "../runtime/arena.js";
import { gemmStatusMessage } from "../runtime/descriptors.js";
import { WASM32_MAX_BYTES, describeBytes, memoryLimitError } from "../runtime/memory-limits.js";
import { instantiateAbi, resolveIsa, type AbiExports, type Isa, type IsaChoice } from "../runtime/wasm.js";

export interface KernelsOptions {
  /** Which build to run: "auto" picks the relaxed-SIMD build where WebAssembly.validate accepts
   *  it and it passes the start-up known-answer check, else SIMD where validate accepts that. */
  isa?: IsaChoice;
  /** The most memory the kernels may grow to, in bytes (default and most: 4 GiB, the wasm32
   *  ceiling). A call whose operands, result and workspace need more is refused with a RangeError
   *  (code APTKIT_MEMORY_LIMIT) naming the sizes, before memory grows. */
  memoryLimitBytes?: number;
}

/** A GEMM whose operands stay resident in wasm memory: run() repeats only the kernel. */
export interface PreparedGemm {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** Multiplies the operands as they were when prepared. Throws StaleGemmError when a later call
   *  on the same Kernels reused their memory, or an operand's shape, width or bytes changed. */
  run(): void;
  /** A copy of the last result, row-major M x N (StaleGemmError as for run()). */
  result(): Float64Array;
}

/** A PreparedGemm can no longer give the right answer (see PreparedGemm.run): prepare it again. */
export class StaleGemmError extends Error {
  readonly code = "APTKIT_STALE_GEMM";
  constructor(message: string) {
    super(message);
    this.name = "StaleGemmError";
  }
}

/** What a PreparedGemm checks its operand against before every run. */
interface OperandSnapshot {
  name: string;
  matrix: PackedMatrix;
  rows: number;
  cols: number;
  bits: number;
  bytes: Uint8Array;
  length: number;
}

function snapshot(name: string, m: PackedMatrix): OperandSnapshot {
  return { name, matrix: m, rows: m.rows, cols: m.cols, bits: m.bits, bytes: m.bytes, length: m.bytes.length };
}

function operandChange(s: OperandSnapshot): string | null {
  const m = s.matrix;
  if (m.rows !== s.rows || m.cols !== s.cols || m.bits !== s.bits) {
    return `operand ${s.name} changed from ${s.rows}x${s.cols} at ${s.bits} bits to ${m.rows}x${m.cols} at ${m.bits} bits`;
  }
  if (m.bytes !== s.bytes || m.bytes.length !== s.length) return `operand ${s.name}'s bytes were replaced`;
  return null;
}

export class Kernels {
  private readonly arena: Arena;
  /** Counts the calls that reuse the arena: a PreparedGemm is valid while it is unchanged. */
  private generation = 0;
  /**
   * @param isaReason why this build (from resolveIsa): for "auto", why the relaxed build was or
   *   was not taken, e.g. "not relaxed: this engine does not validate the relaxed-SIMD build ...".
   * @param memoryLimitBytes see KernelsOptions.memoryLimitBytes.
   */
  constructor(readonly isa: Isa, private readonly abi: AbiExports, readonly isaReason = "", memoryLimitBytes = WASM32_MAX_BYTES) {
    const custom = memoryLimitBytes !== WASM32_MAX_BYTES;
    this.arena = new Arena(abi, memoryLimitBytes, custom ? "kernels' memory limit (memoryLimitBytes)" : "wasm32 memory ceiling");
  }

  /** The most memory these kernels grow to, in bytes. */
  get memoryLimitBytes(): number {
    return this.arena.limitBytes;
  }

  // Every call that places data starts here: it invalidates the PreparedGemms made before it.
  private begin(): void {
    this.generation++;
    this.arena.reset();
  }

  /** Packs integer codes (row-major rows x cols) at `bits` into the packed format. */
  pack(codes: ArrayLike<number>, rows: number, cols: number, bits: number): PackedMatrix {
    checkCodes(codes, rows, cols, bits, "codes");
    this.begin();
    const n = rows * cols;
    const src = this.arena.alloc(n * 4, `pack: the ${rows}x${cols} codes as i32`);
    const length = packedByteLength(rows, cols, bits);
    const dst = this.arena.alloc(length, `pack: the packed ${rows}x${cols} matrix at ${bits} bits`);
    new Int32Array(this.abi.memory.buffer, src, n).set(codes);
    const status = this.abi.pack(src, rows, cols, bits, dst);
    if (status !== 0) throw new Error(`aptkit: wasm pack refused its input (status ${status}) after host checks passed`);
    return { rows, cols, bits, bytes: this.arena.bytes(dst, length).slice() };
  }

  unpack(m: PackedMatrix): Int32Array {
    checkPacked(m, "m");
    checkPackedCodes(m, "m");
    this.begin();
    const n = m.rows * m.cols;
    const src = this.arena.alloc(m.bytes.length, `unpack: m (${m.rows}x${m.cols} at ${m.bits} bits)`);
    const dst = this.arena.alloc(n * 4, `unpack: the ${m.rows}x${m.cols} codes as i32`);
    this.arena.bytes(src, m.bytes.length).set(m.bytes);
    const status = this.abi.unpack(src, m.rows, m.cols, m.bits, dst);
    if (status !== 0) throw new Error(`aptkit: wasm unpack refused its input (status ${status}) after host checks passed`);
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
   * (later calls reuse the same memory; run() then throws StaleGemmError). With `prepackB`, B is
   * also decoded into the kernel's panels once, here, and run() reuses them.
   */
  prepareGemm(a: PackedMatrix, b: PackedMatrix, options: GemmOptions = {}): PreparedGemm {
    const { M, N, K } = gemmShape(a, b, options);
    // Kernels assume symmetric codes and clean padding; a matrix from outside may hold neither.
    // One pass over the bytes, here at the boundary: the engine's training path never comes here.
    checkPackedCodes(a, "a");
    checkPackedCodes(b, "b");
    const transA = options.transA ? 1 : 0;
    const transB = options.transB ? 1 : 0;
    const abi = this.abi;
    if (options.prepackB && (!abi.gemm_b_panels_bytes || !abi.gemm_prepack_b || !abi.gemm_prepacked)) {
      throw new Error("aptkit: this wasm build has no pre-packed B entry points (gemm_prepacked): rebuild with npm run build");
    }
    this.begin();
    const generation = this.generation;
    // Every size is known before anything is placed: each alloc refuses past the limit before
    // memory grows, and the operands are copied in only once all of them fit.
    const shape = `${M}x${N}x${K} gemm`;
    const aAt = this.arena.alloc(a.bytes.length, `${shape}: operand a (${a.rows}x${a.cols} at ${a.bits} bits)`);
    const bAt = this.arena.alloc(b.bytes.length, `${shape}: operand b (${b.rows}x${b.cols} at ${b.bits} bits)`);
    const cAt = this.arena.alloc(M * N * 8, `${shape}: the ${M}x${N} f64 result`);
    // usize results arrive as i32: `>>> 0` reads them as the unsigned sizes they are.
    const workBytes = abi.gemm_workspace_bytes(M, N, K, a.bits, b.bits) >>> 0;
    const work = this.arena.alloc(workBytes, `${shape}: workspace`);
    let panels = 0, panelsBytes = 0;
    if (options.prepackB) {
      panelsBytes = abi.gemm_b_panels_bytes!(M, N, K, a.bits, b.bits) >>> 0;
      if (panelsBytes === 0 && M * N * K !== 0) {
        // The kernel reports 0 when the panels would pass 2^31 bytes (about 2 bytes per element of B).
        const estimate = 2 * N * K;
        throw memoryLimitError({
          what: `${shape}: B's pre-packed panels`, bytes: estimate, endBytes: this.arena.end + estimate,
          limitBytes: 2 ** 31, limitName: "pre-packed panel limit (2 GiB)",
        });
      }
      panels = this.arena.alloc(panelsBytes, `${shape}: B's pre-packed panels`);
    }
    this.arena.bytes(aAt, a.bytes.length).set(a.bytes);
    this.arena.bytes(bAt, b.bytes.length).set(b.bytes);
    const operands = [snapshot("a", a), snapshot("b", b)];
    const fail = (status: number) => new Error(`aptkit: wasm gemm failed (${gemmStatusMessage(status)}) after host checks passed`);
    const ensureCurrent = (what: string) => {
      if (this.generation !== generation) {
        throw new StaleGemmError(
          `PreparedGemm.${what}: a later call on the same Kernels (pack, unpack, gemm or prepareGemm) reused the memory ` +
            `holding this ${shape}'s operands and result; prepare it again`,
        );
      }
      for (const s of operands) {
        const change = operandChange(s);
        if (change !== null) throw new StaleGemmError(`PreparedGemm.${what}: ${change} since prepareGemm; prepare it again`);
      }
    };
    const result = (): Float64Array => {
      ensureCurrent("result");
      return new Float64Array(abi.memory.buffer, cAt, M * N).slice();
    };
    if (options.prepackB) {
      // B's panels are decoded here, once; run() only packs A, multiplies and writes C.
      const status = abi.gemm_prepack_b!(aAt, a.rows, a.cols, a.bits, transA, bAt, b.rows, b.cols, b.bits, transB, work, workBytes, panels, panelsBytes);
      if (status !== 0) throw fail(status);
      return {
        M, N, K,
        run(): void {
          ensureCurrent("run");
          const status = abi.gemm_prepacked!(aAt, a.rows, a.cols, a.bits, transA, bAt, b.rows, b.cols, b.bits, transB, cAt, work, workBytes, panels, panelsBytes);
          if (status !== 0) throw fail(status);
        },
        result,
      };
    }
    return {
      M, N, K,
      run(): void {
        ensureCurrent("run");
        const status = abi.gemm(aAt, a.rows, a.cols, a.bits, transA, bAt, b.rows, b.cols, b.bits, transB, cAt, work, workBytes);
        if (status !== 0) throw fail(status);
      },
      result,
    };
  }

  /** Whether the last gemm (or PreparedGemm.run) took the relaxed build's i8 path: a diagnostic
   *  for tests and benchmarks (the result is the same either way); always false on other builds. */
  lastGemmUsedRelaxed(): boolean {
    return this.abi.gemm_relaxed_used?.() === 1;
  }
}

export async function createKernels(options: KernelsOptions = {}): Promise<Kernels> {
  const limit = options.memoryLimitBytes ?? WASM32_MAX_BYTES;
  if (!(Number.isSafeInteger(limit) && limit > 0 && limit <= WASM32_MAX_BYTES)) {
    throw new RangeError(`createKernels: memoryLimitBytes must be a whole number of bytes in 1..${describeBytes(WASM32_MAX_BYTES)}, got ${limit}`);
  }
  const { isa, bytes, reason } = await resolveIsa(options.isa ?? "auto");
  return new Kernels(isa, await instantiateAbi(bytes), reason, limit);
}
