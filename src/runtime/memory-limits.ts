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

/** The most one wasm32 memory can address: 65536 pages of 64 KiB (4 GiB). Offsets at or above
 *  2^31 are still valid there; only JavaScript's 32-bit integer operators would wrap them. */
export const WASM32_MAX_BYTES = 65536 * 65536;

export interface MemoryLimitDetails {
  /** The buffer, operand or plan item that did not fit. */
  what: string;
  /** Its size in bytes. */
  bytes: number;
  /** Where memory would have had to end for it (offset + bytes, aligned). */
  endBytes: number;
  /** The limit it met, and which limit that is. */
  limitBytes: number;
  limitName: string;
}

/** A RangeError (its constructor stays RangeError, so callers that test for RangeError keep
 *  working) with a stable `code` and the numbers, raised before any memory grows. */
export type MemoryLimitError = RangeError & MemoryLimitDetails & { readonly code: "APTKIT_MEMORY_LIMIT" };

export const MEMORY_LIMIT_CODE = "APTKIT_MEMORY_LIMIT";

/** Byte counts as "4,294,967,296 bytes (4.00 GiB)": the exact figure and one a reader can scale. */
export function describeBytes(bytes: number): string {
  const exact = `${Math.round(bytes).toLocaleString("en-US")} bytes`;
  if (bytes < 1024 * 1024) return exact;
  const mib = bytes / 2 ** 20;
  return `${exact} (${mib < 1024 ? `${mib.toFixed(1)} MiB` : `${(mib / 1024).toFixed(2)} GiB`})`;
}

export function memoryLimitError(d: MemoryLimitDetails, cause?: unknown): MemoryLimitError {
  const e = new RangeError(
    `${d.what} needs ${describeBytes(d.bytes)}, so memory would have to reach ${describeBytes(d.endBytes)}: ` +
      `more than the ${d.limitName} of ${describeBytes(d.limitBytes)}`,
    cause === undefined ? undefined : { cause },
  );
  return Object.assign(e, { ...d, code: MEMORY_LIMIT_CODE }) as MemoryLimitError;
}

/** Whether `e` is a MemoryLimitError (from any copy of this module). */
export function isMemoryLimitError(e: unknown): e is MemoryLimitError {
  return e instanceof RangeError && (e as { code?: unknown }).code === MEMORY_LIMIT_CODE;
}
