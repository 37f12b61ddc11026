// aptkit public API.
export { createKernels, Kernels, type KernelsOptions, type PreparedGemm } from "./kernels.js";
export {
  MIN_BITS, MAX_BITS, maxCode, rowStrideBytes, packedByteLength,
  type PackedMatrix, type GemmOptions,
} from "./format.js";
export type { Isa, IsaChoice } from "./runtime/wasm.js";
export * as reference from "./reference/index.js";
