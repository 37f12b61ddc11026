// Builds and loads the ceiling modules (ceiling.ts, relaxed.ts) at bench time: asc into
// build/bench-ceiling/ (build/ is ignored by git), SIMD on, the same optimizer settings as the
// package (asconfig.json: -O3, stub runtime, no asserts). Before anything is timed:
// - the optimized .wat must still have every dot of each timed loop *inside* its loop (a hoisted
//   or merged dot would fake an above-peak number);
// - a known-answer check: one dot on the operands equals the same sum computed in JavaScript;
// - relaxed.ts is compiled and run only if the engine validates it (on Node 20 after
//   v8.setFlagsFromString('--experimental-wasm-relaxed-simd')) and its known answer is right.
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import asc from "assemblyscript/asc";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, "..", "..", "build", "bench-ceiling");

/** A timed loop: `run(iters)` does iters iterations of `macsPerIter` MACs. */
export interface CeilingLoop {
  name: string;
  macsPerIter: number;
  run(iters: number): number;
}

export interface Ceilings {
  /** dot_i16x8_s + add loops; the ceiling is the fastest of them. */
  dotAdd: CeilingLoop[];
  /** dot only (chained): an upper bound on the dot + add loops. */
  dotChain: CeilingLoop;
  /** relaxed_dot_i8x16_i7x16_s + extadd_pairwise + add, where the engine has it. */
  relaxed: CeilingLoop[];
  /** Why there is no relaxed loop, when there is none. */
  relaxedNote: string;
}

async function compile(file: string, features: string[]): Promise<{ wasm: Uint8Array<ArrayBuffer>; wat: string }> {
  mkdirSync(OUT, { recursive: true });
  const base = path.basename(file, ".ts");
  const wasmFile = path.join(OUT, `${base}.wasm`), watFile = path.join(OUT, `${base}.wat`);
  let stderr = "";
  const { error } = await asc.main([
    path.join(HERE, file), "--outFile", wasmFile, "--textFile", watFile,
    ...features.flatMap((f) => ["--enable", f]),
    "--runtime", "stub", "--use", "abort=", "-O3", "--noAssert", "--converge",
  ], { stderr: { write: (s: string | Uint8Array) => { stderr += String(s); return true; } } as never });
  if (error) throw new Error(`asc failed on bench/ceiling/${file}: ${error.message}\n${stderr}`);
  return { wasm: new Uint8Array(readFileSync(wasmFile)), wat: readFileSync(watFile, "utf8") };
}

/** How many times `op` occurs between `loop` and the end of the loop in function `fn` of the .wat. */
function opsInLoop(wat: string, fn: string, op: string): number {
  const start = wat.indexOf(`(func $bench/ceiling/`);
  const at = wat.indexOf(`/${fn} (`, start);
  if (at < 0) throw new Error(`no function ${fn} in the ceiling .wat`);
  const end = wat.indexOf("\n (func ", at + 1);
  const body = wat.slice(at, end < 0 ? undefined : end);
  const loopAt = body.indexOf(" loop ");
  if (loopAt < 0) throw new Error(`${fn}: no loop left in the optimized .wat`);
  // binaryen closes the loop with its back-branch `br $for-loop|N`; everything before it is the body.
  const back = body.indexOf("br $for-loop", loopAt);
  return body.slice(loopAt, back < 0 ? undefined : back).split(op).length - 1;
}

function fillOperands(memory: WebAssembly.Memory, at: number, seed: number, i7From?: number): Int8Array {
  const bytes = new Int8Array(memory.buffer, at, 256);
  let s = seed >>> 0;
  for (let i = 0; i < 256; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // i7 operands (relaxed second operand) are 0..127; others any i8.
    bytes[i] = i7From !== undefined && i >= i7From && i < i7From + 48 ? (s >>> 24) & 127 : (s >>> 24) - 128;
  }
  return bytes;
}

export async function loadCeilings(): Promise<Ceilings> {
  const { wasm, wat } = await compile("ceiling.ts", ["simd"]);
  const loops: [string, number, number][] = [["dotAdd2x3", 6, 48], ["dotAdd1x4", 4, 32], ["dotChain", 8, 64]];
  for (const [fn, dots] of loops) {
    const n = opsInLoop(wat, fn, "i32x4.dot_i16x8_s");
    if (n !== dots) throw new Error(`ceiling ${fn}: ${n} dots inside the optimized loop, expected ${dots} (hoisted or merged?)`);
  }
  const { instance } = await WebAssembly.instantiate(wasm);
  const e = instance.exports as Record<string, CallableFunction> & { memory: WebAssembly.Memory };
  const at = (e.operands as () => number)();
  const ops = fillOperands(e.memory, at, 0xc0ffee);
  // Known answer: lane l of dot(operand 0, operand 1) = sum of 2 i16 products.
  (e.dotOnce as () => void)();
  const i16 = new Int16Array(ops.buffer, at, 128), got = new Int32Array(ops.buffer, at + 240, 4);
  for (let l = 0; l < 4; l++) {
    const want = i16[2 * l] * i16[8 + 2 * l] + i16[2 * l + 1] * i16[8 + 2 * l + 1];
    if (got[l] !== want) throw new Error(`ceiling known answer: dot_i16x8_s lane ${l} gave ${got[l]}, expected ${want}`);
  }
  fillOperands(e.memory, at, 0xc0ffee); // dotOnce overwrote operand 15
  const loop = (fn: string, macs: number): CeilingLoop => ({ name: fn, macsPerIter: macs, run: e[fn] as (n: number) => number });
  const ceilings: Ceilings = {
    dotAdd: [loop("dotAdd2x3", 48), loop("dotAdd1x4", 32)],
    dotChain: loop("dotChain", 64),
    relaxed: [],
    relaxedNote: "",
  };

  // Relaxed SIMD: a separate module, only where the engine validates it and answers right.
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  let rel: { wasm: Uint8Array<ArrayBuffer>; wat: string };
  try {
    rel = await compile("relaxed.ts", ["simd", "relaxed-simd"]);
  } catch (err) {
    ceilings.relaxedNote = `asc could not build the relaxed module: ${(err as Error).message.split("\n")[0]}`;
    return ceilings;
  }
  if (!WebAssembly.validate(rel.wasm)) {
    ceilings.relaxedNote = "this engine does not validate relaxed SIMD";
    return ceilings;
  }
  const n = opsInLoop(rel.wat, "relaxedDotAdd2x3", "i16x8.dot_i8x16_i7x16_s");
  if (n !== 6) throw new Error(`relaxed ceiling: ${n} relaxed dots inside the optimized loop, expected 6`);
  const r = (await WebAssembly.instantiate(rel.wasm)).instance.exports as Record<string, CallableFunction> & { memory: WebAssembly.Memory };
  const rat = (r.operands as () => number)();
  const rops = fillOperands(r.memory, rat, 0xbeef, 32);
  (r.relaxedDotOnce as () => void)();
  const rgot = new Int32Array(rops.buffer, rat + 240, 4);
  for (let l = 0; l < 4; l++) {
    let want = 0;
    for (let k = 0; k < 4; k++) want += rops[4 * l + k] * rops[32 + 4 * l + k];
    if (rgot[l] !== want) {
      ceilings.relaxedNote = `relaxed dot known-answer check failed (lane ${l}: ${rgot[l]}, expected ${want}): not timed`;
      return ceilings;
    }
  }
  fillOperands(r.memory, rat, 0xbeef, 32);
  ceilings.relaxed = [{ name: "relaxedDotAdd2x3", macsPerIter: 96, run: r.relaxedDotAdd2x3 as (n: number) => number }];
  return ceilings;
}
