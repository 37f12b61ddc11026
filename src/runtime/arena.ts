// Placement of call operands in the module's linear memory. The wasm never allocates; the host
// decides every offset. This general-purpose arena serves one call at a time (the trainer uses the
// budget planner instead).
//
// Offsets are plain JavaScript numbers (exact to 2^53), never pushed through 32-bit operators: a
// wasm32 memory runs to 4 GiB, and `x & ~15` on an offset past 2 GiB wraps it negative, which
// once made a large product skip growing memory and trap inside the kernel instead.
import { memoryLimitError, WASM32_MAX_BYTES } from "./memory-limits.js";
import type { AbiExports } from "./abi-exports.js";

const PAGE = 65536;

export class Arena {
  private top: number;
  /**
   * @param limitBytes memory never grows past this (default and most: the wasm32 ceiling); a
   *   request that would need more is refused before anything grows.
   * @param limitName how error messages name that limit.
   */
  constructor(
    private readonly abi: AbiExports,
    readonly limitBytes = WASM32_MAX_BYTES,
    private readonly limitName = "wasm32 memory ceiling",
  ) {
    if (!(Number.isSafeInteger(limitBytes) && limitBytes > 0 && limitBytes <= WASM32_MAX_BYTES)) {
      throw new RangeError(`arena: memory limit must be a whole number of bytes in 1..${WASM32_MAX_BYTES} (4 GiB), got ${limitBytes}`);
    }
    this.top = align16(abi.heap_base());
  }

  /** Forget every placement made since the last reset. */
  reset(): void {
    this.top = align16(this.abi.heap_base());
  }

  /** Where the next placement would start (16-byte aligned). */
  get end(): number {
    return this.top;
  }

  /**
   * Reserves `bytes` at a 16-byte aligned offset, growing memory if needed. A request past the
   * limit, or one the engine cannot grow to, is a RangeError (code APTKIT_MEMORY_LIMIT) that
   * names `what` and the sizes; memory is then left as it was.
   */
  alloc(bytes: number, what = "buffer"): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`${what}: ${bytes} is not a byte count`);
    const at = this.top;
    const end = align16(at + bytes);
    if (end > this.limitBytes) {
      throw memoryLimitError({ what, bytes, endBytes: end, limitBytes: this.limitBytes, limitName: this.limitName });
    }
    const memory = this.abi.memory;
    const have = memory.buffer.byteLength;
    if (end > have) {
      try {
        memory.grow(Math.ceil((end - have) / PAGE));
      } catch (e) {
        // The module's own maximum, or what the engine could reserve: a refusal either way.
        if (!(e instanceof RangeError)) throw e;
        throw memoryLimitError({ what, bytes, endBytes: end, limitBytes: have, limitName: `memory this engine holds (growing it failed: ${e.message})` }, e);
      }
    }
    this.top = end;
    return at;
  }

  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.abi.memory.buffer, offset, length);
  }
}

function align16(x: number): number {
  return Math.ceil(x / 16) * 16;
}
