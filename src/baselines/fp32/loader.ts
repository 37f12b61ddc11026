// How the fp32 trainer gets an instance of the f32 ABI (its types and version check:
// src/runtime/abi-exports.ts). By default the project's main build (build/aptkit.<isa>.wasm, into
// which assembly/index.ts re-exports the f32_ functions); a loader can be injected (tests build
// assembly/f32/standalone.ts themselves).
import { instantiateWasm, resolveIsa, type Isa, type IsaChoice } from "../../runtime/wasm.js";
import { abiStatusMessage } from "../../runtime/descriptors.js";
import { checkFp32Exports, type Fp32Exports } from "../../runtime/abi-exports.js";

/** A loaded instance and the build it came from. */
export interface Fp32Module {
  isa: Isa;
  exports: Fp32Exports;
}

/** Returns a fresh instance (its own memory) for the requested build. */
export type Fp32Loader = (isa: IsaChoice) => Promise<Fp32Module>;

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
