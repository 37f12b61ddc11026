// Finding, validating and instantiating the right wasm build for this runtime.
//
// Where the bytes come from, in order: a source registered with setWasmSource (what init() does:
// browsers, workers, bundlers, anything without a file system or with the .wasm elsewhere), else
// the file beside this module (build/aptkit.<isa>.wasm, read through the platform seam
// src/runtime/files.ts: node:fs under Node and Deno, fetch elsewhere). The builds import nothing (asc --use abort=), so plain WebAssembly.instantiate
// serves and no bare-specifier import is needed on the browser path.
//
// The relaxed-SIMD build is chosen only after WebAssembly.validate accepts it and it passes a
// known-answer check against the reference and the SIMD build (src/runtime/relaxed.ts). This
// module never sets engine flags: Node 20 needs --experimental-wasm-relaxed-simd from whoever
// starts it.

import { fetchBytes } from "./fetch.js";
import { readPackageFile } from "./files.js";
import { knownAnswerCheck } from "./relaxed.js";
import type { AbiExports } from "./abi-exports.js";

export type Isa = "simd" | "scalar" | "relaxed";
const ISAS: readonly Isa[] = ["simd", "scalar", "relaxed"];
export type IsaChoice = "auto" | Isa;

export type { AbiExports };

export const ABI_VERSION = 2;

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

export function wasmUrl(isa: Isa): URL {
  return new URL(`../../build/aptkit.${isa}.wasm`, import.meta.url);
}

/** Where a build can come from: a compiled module, its bytes, or a URL to fetch them from. */
export type WasmSource = WebAssembly.Module | BufferSource | string | URL;

/** A registered build, loaded: `bytes` is a placeholder (see placeholder()) when only a module was given. */
interface Loaded {
  bytes: Uint8Array<ArrayBuffer>;
  module: WebAssembly.Module | null;
}

const registered: Partial<Record<Isa, Promise<Loaded>>> = {};
/** Compiled modules of bytes this file handed out, so instantiating them skips a compile. */
const compiled = new WeakMap<Uint8Array, WebAssembly.Module>();
/** Default-location fetches, once per build (browsers, workers: no file system to re-read). */
const fetched: Partial<Record<Isa, Promise<Uint8Array<ArrayBuffer>>>> = {};

// A module given without its bytes cannot have its memory limits rewritten (a memory budget does
// that, src/runtime/memory-limits.ts). resolveIsa then hands out this tiny valid module carrying a
// marker: instantiating it (or the budget's rewrite of it) says what to do instead of failing
// obscurely.
const MARKER = "aptkit:compiled-module-without-bytes";
const PLACEHOLDER_MESSAGE =
  "aptkit: init({ module }) gave a compiled module, whose memory limits cannot be rewritten for a memory budget " +
  "(or re-read by this loader): pass init({ bytes }) or init({ url }) instead";

function placeholder(): Uint8Array<ArrayBuffer> {
  const name = Array.from(MARKER, (c) => c.charCodeAt(0));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x00, name.length + 1, name.length, ...name, // custom section: the marker
    0x05, 0x03, 0x01, 0x00, 0x00, // one memory, 0 pages, no maximum
  ]);
}

function isPlaceholder(bytes: Uint8Array): boolean {
  if (bytes.length > 96) return false;
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return text.includes(MARKER);
}

function toBytes(source: BufferSource): Uint8Array<ArrayBuffer> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source.slice(0));
  const view = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  // A private copy: the caller may reuse or transfer its buffer.
  return new Uint8Array(view);
}

async function load(source: WasmSource): Promise<Loaded> {
  if (source instanceof WebAssembly.Module) {
    const bytes = placeholder();
    compiled.set(bytes, source);
    return { bytes, module: source };
  }
  if (typeof source === "string" || source instanceof URL) return { bytes: await fetchBytes(source), module: null };
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return { bytes: toBytes(source), module: null };
  throw new TypeError("aptkit: a wasm source is a WebAssembly.Module, an ArrayBuffer or view of the bytes, or a URL");
}

/**
 * Registers where build `isa` comes from (null: back to the file beside this module). Loading
 * (a fetch for a URL) starts at once; resolveIsa waits for it. "auto" then picks among the
 * registered builds only: relaxed where registered, valid and correct here, else SIMD where
 * registered and valid, else scalar.
 */
export function setWasmSource(isa: Isa, source: WasmSource | null): void {
  if (!ISAS.includes(isa)) throw new RangeError(`isa must be "simd", "scalar" or "relaxed", got ${JSON.stringify(isa)}`);
  relaxedVerdict = null;
  if (source === null) {
    delete registered[isa];
    return;
  }
  const loading = load(source);
  loading.catch(() => {}); // reported when resolveIsa awaits it
  registered[isa] = loading;
}

/** The bytes of a build: the registered source, else the file beside this module. */
export async function readWasm(isa: Isa): Promise<Uint8Array<ArrayBuffer>> {
  const own = registered[isa];
  if (own) return (await own).bytes;
  const url = wasmUrl(isa);
  if (isNode) return readPackageFile(url);
  const once = (fetched[isa] ??= readPackageFile(url));
  once.catch(() => delete fetched[isa]);
  return once;
}

function valid(bytes: Uint8Array<ArrayBuffer>): boolean {
  return compiled.has(bytes) || WebAssembly.validate(bytes);
}

const NO_SIMD = "aptkit: this engine does not support WebAssembly SIMD (isa: \"simd\")";

/** Why "auto" did or did not pick the relaxed build (Kernels.isaReason, Engine.isaReason). */
export interface ResolvedIsa {
  isa: Isa;
  bytes: Uint8Array<ArrayBuffer>;
  /** One sentence: why this build, and for "auto", why not the relaxed one. */
  reason: string;
}

type RelaxedVerdict = { bytes: Uint8Array<ArrayBuffer> | null; failure: string | null };

/** The known-answer check's verdict, once per process (and per registered source). Validation is
 *  asked afresh each time: it is cheap, and the engine's answer is the first condition. */
let relaxedVerdict: Promise<string | null> | null = null;

async function runKnownAnswerCheck(bytes: Uint8Array<ArrayBuffer>): Promise<string | null> {
  try {
    const simd = await readWasm("simd");
    if (!valid(simd)) return "the SIMD build, which the relaxed build is checked against, does not validate";
    return knownAnswerCheck(await instantiateAbi(bytes), await instantiateAbi(simd));
  } catch (e) {
    return `the relaxed-SIMD known-answer check could not run: ${(e as Error).message}`;
  }
}

/** The relaxed build's bytes where it validates and passes the known-answer check, else why not. */
export async function probeRelaxed(): Promise<RelaxedVerdict> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readWasm("relaxed");
  } catch (e) {
    return { bytes: null, failure: `the relaxed-SIMD build could not be read: ${(e as Error).message}` };
  }
  if (!valid(bytes)) {
    return {
      bytes: null,
      failure: "this engine does not validate the relaxed-SIMD build (no relaxed SIMD; Node 20 has it behind " +
        "--experimental-wasm-relaxed-simd)",
    };
  }
  const failure = await (relaxedVerdict ??= runKnownAnswerCheck(bytes));
  return { bytes: failure === null ? bytes : null, failure };
}

/** Forgets the known-answer check's verdict (tests that swap what the engine runs). */
export function resetRelaxedProbe(): void {
  relaxedVerdict = null;
}

/**
 * Picks the build. "auto": relaxed where the engine validates it and it passes the known-answer
 * check, else SIMD where the engine validates the SIMD build, else scalar. An explicit build that
 * cannot run here throws, saying why.
 */
export async function resolveIsa(choice: IsaChoice): Promise<ResolvedIsa> {
  if (choice !== "auto" && !ISAS.includes(choice)) {
    throw new RangeError(`isa must be "auto", "simd", "scalar" or "relaxed", got ${JSON.stringify(choice)}`);
  }
  if (choice === "scalar") return { isa: "scalar", bytes: await readWasm("scalar"), reason: "asked for" };
  if (choice === "relaxed") {
    const { bytes, failure } = await probeRelaxed();
    if (bytes === null) throw new Error(`aptkit: isa "relaxed" cannot be used here: ${failure}`);
    return { isa: "relaxed", bytes, reason: "asked for; validated and passed the known-answer check" };
  }
  // With sources registered, "auto" stays among them: a page that registered only the scalar
  // build must not go looking for a SIMD file it never shipped.
  const anyRegistered = Object.keys(registered).length > 0;
  let notRelaxed = "";
  if (choice === "auto") {
    if (!anyRegistered || registered.relaxed) {
      const { bytes, failure } = await probeRelaxed();
      if (bytes !== null) return { isa: "relaxed", bytes, reason: "relaxed SIMD validated and passed the known-answer check" };
      notRelaxed = `not relaxed: ${failure}`;
    } else {
      notRelaxed = "not relaxed: no relaxed build registered";
    }
    if (!registered.simd && registered.scalar) return { isa: "scalar", bytes: await readWasm("scalar"), reason: `${notRelaxed}; only the scalar build registered` };
  }
  const simd = await readWasm("simd");
  if (valid(simd)) return { isa: "simd", bytes: simd, reason: choice === "simd" ? "asked for" : notRelaxed };
  if (choice === "simd") throw new Error(NO_SIMD);
  return { isa: "scalar", bytes: await readWasm("scalar"), reason: `${notRelaxed}; the engine does not validate the SIMD build` };
}

/** Compiled modules by a digest of their bytes: every learner, kernel set and budgeted engine
 *  (whose bytes carry its memory limits) instantiates one, and compiling again each time cost
 *  each new one its tier-up: a short run's first steps ran on baseline code while the optimizing
 *  compiler burned CPU on other threads (a 40-step run at batch 8: ~1.5x the steady step). One
 *  module per distinct build and budget is kept for the life of the process. */
const byContent = new Map<string, Promise<WebAssembly.Module>>();

/** Length and two FNV-1a hashes of the bytes (different offsets): synchronous and available on
 *  every platform (crypto.subtle is not, on pages served without TLS). */
function contentKey(bytes: Uint8Array): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i], 0x01000193);
    h2 = Math.imul(h2 ^ bytes[i], 0x01000193) ^ (h2 >>> 15);
  }
  return `${bytes.length}:${(h1 >>> 0).toString(16)}:${(h2 >>> 0).toString(16)}`;
}

async function compileOnce(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  const key = contentKey(bytes);
  let module = byContent.get(key);
  if (!module) {
    module = WebAssembly.compile(bytes);
    byContent.set(key, module);
    module.catch(() => byContent.delete(key));
  }
  return module;
}

/** Instantiates a build (or bytes derived from one); the builds import nothing. */
export async function instantiateWasm(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Instance> {
  const module = compiled.get(bytes);
  if (module) return WebAssembly.instantiate(module, {});
  if (isPlaceholder(bytes)) throw new Error(PLACEHOLDER_MESSAGE);
  return WebAssembly.instantiate(await compileOnce(bytes), {});
}

export async function instantiateAbi(bytes: Uint8Array<ArrayBuffer>): Promise<AbiExports> {
  const instance = await instantiateWasm(bytes);
  const abi = instance.exports as unknown as AbiExports;
  if (typeof abi.abi_version !== "function") {
    throw new Error("aptkit: this wasm module has no abi_version export: it is not an aptkit build");
  }
  const version = abi.abi_version();
  if (version !== ABI_VERSION) {
    throw new Error(`aptkit: wasm ABI version ${version}, host expects ${ABI_VERSION}: rebuild with npm run build`);
  }
  return abi;
}

/**
 * Loads `source`, checks that it is an aptkit build this engine runs and which build it is (its
 * has_simd export; `isa`, when given, must agree), then registers it as that build. Returns the
 * build. What init() does for each source.
 */
export async function useWasm(source: WasmSource, isa?: Isa): Promise<Isa> {
  if (isa !== undefined && !ISAS.includes(isa)) {
    throw new RangeError(`isa must be "simd", "scalar" or "relaxed", got ${JSON.stringify(isa)}`);
  }
  const loaded = await load(source);
  if (!loaded.module) {
    if (!WebAssembly.validate(loaded.bytes)) {
      throw new Error(isa === "scalar"
        ? "aptkit: this engine cannot compile the given wasm (is it an aptkit build?)"
        : "aptkit: the given wasm does not validate here; if it is the SIMD build, this engine lacks " +
          "WebAssembly SIMD: give the scalar build (build/aptkit.scalar.wasm) instead");
    }
    compiled.set(loaded.bytes, await WebAssembly.compile(loaded.bytes));
  }
  const abi = await instantiateAbi(loaded.bytes);
  const detected: Isa = abi.has_relaxed_simd?.() === 1 ? "relaxed" : abi.has_simd() !== 0 ? "simd" : "scalar";
  if (isa !== undefined && isa !== detected) {
    throw new RangeError(`aptkit: told isa "${isa}" but the given wasm is the ${detected} build`);
  }
  registered[detected] = Promise.resolve(loaded);
  relaxedVerdict = null;
  return detected;
}
