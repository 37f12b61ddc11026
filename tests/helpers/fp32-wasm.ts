// The f32 kernels for the fp32 tests: the main build when it carries them (assembly/index.ts
// re-exports assembly/f32/index.ts), else assembly/f32/standalone.ts compiled here with the
// project's asc options and cached in .tmp/f32/ by a hash of the f32 sources.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Fp32Exports } from "../../src/runtime/abi-exports.js";
import { instantiateFp32, type Fp32Loader, type Fp32Module } from "../../src/baselines/fp32/loader.js";
import type { Isa } from "../../src/runtime/wasm.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const f32Dir = join(root, "assembly", "f32");

async function compileStandalone(isa: Isa): Promise<Uint8Array<ArrayBuffer>> {
  const hash = createHash("sha256");
  for (const f of readdirSync(f32Dir).sort()) hash.update(f).update(readFileSync(join(f32Dir, f)));
  const key = hash.digest("hex").slice(0, 16);
  const cacheDir = join(root, ".tmp", "f32");
  const file = join(cacheDir, `f32-${key}.${isa}.wasm`);
  if (existsSync(file)) return new Uint8Array(readFileSync(file));
  const asc = (await import("assemblyscript/asc")).default;
  let out: Uint8Array | null = null;
  const { error, stderr } = await asc.main([
    join(f32Dir, "standalone.ts"), isa === "simd" ? "--enable" : "--disable", "simd",
    "--runtime", "stub", "--use", "abort=", "-O3", "--noAssert", "--outFile", "f32.wasm",
  ], {
    writeFile(name: string, contents: Uint8Array | string) {
      if (name.endsWith(".wasm")) out = contents as Uint8Array;
    },
  });
  if (error || !out) throw new Error(`asc failed on assembly/f32/standalone.ts (${isa}): ${error?.message ?? ""}\n${stderr.toString()}`);
  mkdirSync(cacheDir, { recursive: true });
  // Write then rename: test files run in parallel processes and may race on the cache.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, out);
  renameSync(partial, file);
  return new Uint8Array(out as Uint8Array);
}

const mainWasm = (isa: Isa) => join(root, "build", `aptkit.${isa}.wasm`);

function mainHasF32(isa: Isa): boolean {
  const path = mainWasm(isa);
  if (!existsSync(path)) return false;
  return WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(path))).some((e) => e.name === "f32_gemm");
}

/** Which module the tests run: "main" (build/) or "standalone". FP32_WASM=standalone forces the latter. */
export function fp32Source(isa: Isa): "main" | "standalone" {
  return process.env.FP32_WASM !== "standalone" && mainHasF32(isa) ? "main" : "standalone";
}

export const testLoader: Fp32Loader = async (choice) => {
  const isa: Isa = choice === "scalar" ? "scalar" : "simd";
  const bytes = fp32Source(isa) === "main"
    ? new Uint8Array(readFileSync(mainWasm(isa)))
    : await compileStandalone(isa);
  return instantiateFp32(bytes, isa, `${fp32Source(isa)} ${isa} build`);
};

export async function loadFp32(isa: Isa): Promise<Fp32Module> {
  return testLoader(isa);
}

/** Host-side placement helper for kernel tests: copies arrays in, reads results out. */
export class Fp32Memory {
  private top: number;
  constructor(readonly abi: Fp32Exports) {
    this.top = Math.ceil(abi.heap_base() / 16) * 16;
  }
  reset(): void {
    this.top = Math.ceil(this.abi.heap_base() / 16) * 16;
  }
  alloc(bytes: number): number {
    const at = this.top;
    this.top = Math.ceil((at + bytes) / 16) * 16;
    const have = this.abi.memory.buffer.byteLength;
    if (this.top > have) this.abi.memory.grow(Math.ceil((this.top - have) / 65536));
    return at;
  }
  put(values: ArrayLike<number>): number {
    const at = this.alloc(values.length * 4);
    new Float32Array(this.abi.memory.buffer, at, values.length).set(values);
    return at;
  }
  putBytes(values: ArrayLike<number>): number {
    const at = this.alloc(values.length);
    new Uint8Array(this.abi.memory.buffer, at, values.length).set(values);
    return at;
  }
  f32(at: number, count: number): Float32Array {
    return new Float32Array(this.abi.memory.buffer, at, count).slice();
  }
}
