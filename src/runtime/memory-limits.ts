// Sets the limits of a module's own (exported) memory by rewriting its memory section, so one
// build serves every budget and the module still imports nothing. With `maximum` set, the engine
// itself refuses to grow the memory past the budget: inside wasm memory.grow returns -1, from
// JavaScript Memory.grow throws RangeError.

function readLeb(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0, shift = 0, p = at;
  for (;;) {
    if (p >= bytes.length) throw new RangeError(`wasm: truncated LEB128 at byte ${at}`);
    const b = bytes[p++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return { value, next: p };
    if (shift > 35) throw new RangeError(`wasm: LEB128 too long at byte ${at}`);
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

/** A copy of `module` whose single memory has `initial` and `maximum` pages (64 KiB each). */
export function withMemoryLimits(module: Uint8Array, initial: number, maximum: number): Uint8Array<ArrayBuffer> {
  if (!(Number.isInteger(initial) && Number.isInteger(maximum) && initial >= 0 && maximum >= initial && maximum <= 65536)) {
    throw new RangeError(`memory limits: need 0 <= initial (${initial}) <= maximum (${maximum}) <= 65536 pages`);
  }
  const parts: Uint8Array[] = [module.subarray(0, 8)];
  let p = 8, found = false;
  while (p < module.length) {
    const id = module[p];
    const { value: size, next } = readLeb(module, p + 1);
    const end = next + size;
    if (end > module.length) throw new RangeError(`wasm: section ${id} at byte ${p} runs past the end`);
    if (id === 5) {
      const { value: count } = readLeb(module, next);
      if (count !== 1) throw new RangeError(`wasm: expected one memory, found ${count}`);
      const body = [1, 0x01, ...leb(initial), ...leb(maximum)];
      parts.push(new Uint8Array([5, ...leb(body.length), ...body]));
      found = true;
    } else {
      parts.push(module.subarray(p, end));
    }
    p = end;
  }
  if (!found) throw new RangeError("wasm: the module declares no memory of its own");
  const out = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}
