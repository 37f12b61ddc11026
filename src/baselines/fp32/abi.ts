// The f32 ABI (assembly/f32/index.ts) and how the fp32 trainer gets an instance of it. By default
// the project's main build (build/aptkit.<isa>.wasm, into which assembly/index.ts re-exports the
// f32_ functions); a loader can be injected (tests build assembly/f32/standalone.ts themselves).
import { instantiateWasm, resolveIsa, type Isa, type IsaChoice } from "../../runtime/wasm.js";
import { abiStatusMessage } from "../../runtime/descriptors.js";

export const F32_ABI_VERSION = 2;

/** Raw exports. Offsets are byte offsets into `memory`; booleans are passed as 0/1. */
export interface Fp32Exports {
  memory: WebAssembly.Memory;
  heap_base(): number;
  has_simd(): number;
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

/** A loaded instance and the build it came from. */
export interface Fp32Module {
  isa: Isa;
  exports: Fp32Exports;
}

/** Returns a fresh instance (its own memory) for the requested build. */
export type Fp32Loader = (isa: IsaChoice) => Promise<Fp32Module>;

const REQUIRED = ["memory", "heap_base", "f32_abi_version", "f32_gemm", "f32_softmax_xent"] as const;

/** Checks that `exports` carries the f32 ABI at the version this host speaks. */
export function checkFp32Exports(exports: Record<string, unknown>, origin: string): Fp32Exports {
  const missing = REQUIRED.filter((k) => !(k in exports));
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

/** Instantiates wasm bytes that carry the f32 ABI. */
export async function instantiateFp32(bytes: Uint8Array<ArrayBuffer>, isa: Isa, origin = `aptkit.${isa}.wasm`): Promise<Fp32Module> {
  // Through runtime/wasm.ts: no bare-specifier import (module workers have no import maps), and
  // a build registered with init() is used as given.
  const { exports } = await instantiateWasm(bytes);
  return { isa, exports: checkFp32Exports(exports as Record<string, unknown>, origin) };
}

/** The default loader: the project's main build, SIMD where the engine validates it. */
export const loadMainBuild: Fp32Loader = async (choice) => {
  const { isa, bytes } = await resolveIsa(choice);
  return instantiateFp32(bytes, isa);
};


/** Throws a RangeError naming `what` when a kernel returned a non-zero status. */
export function checkStatus(status: number, what: string): void {
  if (status === 0) return;
  throw new RangeError(`aptkit fp32: ${what} failed: ${abiStatusMessage(status)}`);
}
