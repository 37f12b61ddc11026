// Weight initialisation at the edge: He-uniform floats from a seeded generator, quantized once to
// the initial width with the exponent that fills its code range. Nothing float survives it.
import { maxCode } from "../format/packed.js";
import { pack } from "../reference/packed.js";
import { chooseExponent } from "../engine/quant.js";

/** mulberry32: small, seeded, and identical on every platform. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** He-uniform weights for fan-in `fanIn`: the floats every trainer starts from. */
export function heUniform(count: number, fanIn: number, seed: number): Float64Array {
  const random = seededUniform(seed);
  const limit = Math.sqrt(6 / fanIn);
  const w = new Float64Array(count);
  for (let i = 0; i < count; i++) w[i] = (2 * random() - 1) * limit;
  return w;
}

/** The per-layer initialisation seed. */
export function layerSeed(seed: number, index: number): number {
  return (seed ^ Math.imul(0x9e3779b9, index + 1)) >>> 0;
}

/** He-uniform weights (fan-in `fanIn`) as codes at `bits` and their exponent. */
export function heUniformCodes(count: number, fanIn: number, bits: number, seed: number): { codes: Int32Array; exp: number } {
  const w = heUniform(count, fanIn, seed);
  let maxAbs = 0;
  for (let i = 0; i < count; i++) maxAbs = Math.max(maxAbs, Math.abs(w[i]));
  const exp = chooseExponent(maxAbs, 0, bits, "nearest");
  const codes = new Int32Array(count);
  const m = maxCode(bits);
  for (let i = 0; i < count; i++) codes[i] = Math.max(-m, Math.min(m, Math.round(w[i] * 2 ** -exp)));
  return { codes, exp };
}

/** Packs codes and copies the bytes to `at` in memory (row stride for `bits`). */
export function writePacked(memory: ArrayBuffer, at: number, codes: Int32Array, rows: number, cols: number, bits: number): void {
  const m = pack(codes, rows, cols, bits);
  new Uint8Array(memory, at, m.bytes.length).set(m.bytes);
}
