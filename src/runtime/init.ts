// init(): where the wasm comes from, for runtimes without a file system (browsers, workers) or
// with the .wasm files somewhere else (a CDN, a bundler's asset URL). Under Node and Deno nothing
// needs it: createKernels and Engine.create read build/aptkit.<isa>.wasm beside the package.
import { resolveIsa, useWasm, type Isa, type IsaChoice, type WasmSource } from "./wasm.js";

export interface InitOptions {
  /** A compiled build (e.g. from WebAssembly.compileStreaming, or posted to a worker). Enough for
   *  kernels and unbudgeted training; a memory budget rewrites the module, so it needs bytes or url. */
  module?: WebAssembly.Module;
  /** The bytes of build/aptkit.simd.wasm, build/aptkit.scalar.wasm or build/aptkit.relaxed.wasm
   *  (copied). A relaxed build registered here is still used by "auto" only after the start-up
   *  known-answer check (docs/kernels.md). */
  bytes?: BufferSource;
  /** Where to fetch a build from. */
  url?: string | URL;
  /**
   * Which build the source is; by default its own has_relaxed_simd / has_simd exports tell. With
   * no source, which build to load now from the default location ("auto": relaxed where it
   * validates and passes the known-answer check, else SIMD where it validates).
   */
  isa?: IsaChoice;
}

/**
 * Registers one build for createKernels, Engine.create and train() to use, after checking that
 * this engine runs it and that it speaks the host's ABI version. Call once per build you ship
 * (SIMD and scalar); with only the scalar build registered, "auto" picks scalar. With no source,
 * loads the default build now (fails early, and later calls reuse it in runtimes that fetch).
 * Returns the build registered or loaded.
 */
export async function init(options: InitOptions = {}): Promise<{ isa: Isa }> {
  const given = (["module", "bytes", "url"] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) throw new TypeError(`aptkit init: give one of module, bytes or url, not ${given.join(" and ")}`);
  const isa = options.isa;
  if (isa !== undefined && isa !== "auto" && isa !== "simd" && isa !== "scalar" && isa !== "relaxed") {
    throw new RangeError(`isa must be "auto", "simd", "scalar" or "relaxed", got ${JSON.stringify(isa)}`);
  }
  if (given.length === 0) {
    return { isa: (await resolveIsa(isa ?? "auto")).isa };
  }
  const source = (options.module ?? options.bytes ?? options.url) as WasmSource;
  return { isa: await useWasm(source, isa === "auto" ? undefined : isa) };
}
