// The plain-TypeScript reference of every kernel: what tests compare the wasm against.
export { pack, unpack } from "./packed.js";
export { gemm } from "./gemm.js";
