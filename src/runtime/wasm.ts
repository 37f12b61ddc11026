// Finding, validating and instantiating the right wasm build for this runtime.
import { instantiate } from "@assemblyscript/loader";

export type Isa = "simd" | "scalar";
export type IsaChoice = "auto" | Isa;

/** The raw ABI of build/aptkit.*.wasm (docs/abi.md). Offsets are byte offsets into `memory`. */
export interface AbiExports {
  memory: WebAssembly.Memory;
  abi_version(): number;
  has_simd(): number;
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
  gemm_views(a: number, b: number, c: number, work: number, workBytes: number): number;
  gemm_fused(a: number, b: number, out: number, stage: number, work: number, workBytes: number): number;
  random_bits(seed: number, step: number, stream: number, index: number, out: number): void;
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

export const ABI_VERSION = 1;

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

export function wasmUrl(isa: Isa): URL {
  return new URL(`../../build/aptkit.${isa}.wasm`, import.meta.url);
}

export async function readWasm(isa: Isa): Promise<Uint8Array<ArrayBuffer>> {
  const url = wasmUrl(isa);
  if (isNode) {
    const { readFile } = await import("node:fs/promises");
    return new Uint8Array(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`aptkit: cannot fetch ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Picks the build: SIMD where the engine validates the SIMD build, else scalar. */
export async function resolveIsa(choice: IsaChoice): Promise<{ isa: Isa; bytes: Uint8Array<ArrayBuffer> }> {
  if (choice !== "auto" && choice !== "simd" && choice !== "scalar") {
    throw new RangeError(`isa must be "auto", "simd" or "scalar", got ${JSON.stringify(choice)}`);
  }
  if (choice === "scalar") return { isa: "scalar", bytes: await readWasm("scalar") };
  const simd = await readWasm("simd");
  if (WebAssembly.validate(simd)) return { isa: "simd", bytes: simd };
  if (choice === "simd") throw new Error("aptkit: this engine does not support WebAssembly SIMD (isa: \"simd\")");
  return { isa: "scalar", bytes: await readWasm("scalar") };
}

export async function instantiateAbi(bytes: Uint8Array<ArrayBuffer>): Promise<AbiExports> {
  const { exports } = await instantiate<Record<string, unknown>>(bytes, {});
  const abi = exports as unknown as AbiExports;
  const version = abi.abi_version();
  if (version !== ABI_VERSION) {
    throw new Error(`aptkit: wasm ABI version ${version}, host expects ${ABI_VERSION}: rebuild with npm run build`);
  }
  return abi;
}
