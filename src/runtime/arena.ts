// Placement of call operands in the module's linear memory. The wasm never allocates; the host
// decides every offset. This general-purpose arena serves one call at a time (the trainer uses the
// budget planner instead).
import type { AbiExports } from "./wasm.js";

const PAGE = 65536;

export class Arena {
  private top: number;
  constructor(private readonly abi: AbiExports) {
    this.top = align16(abi.heap_base());
  }

  /** Forget every placement made since the last reset. */
  reset(): void {
    this.top = align16(this.abi.heap_base());
  }

  /** Reserves `bytes` at a 16-byte aligned offset, growing memory if needed. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = align16(at + bytes);
    const memory = this.abi.memory;
    if (this.top > memory.buffer.byteLength) {
      memory.grow(Math.ceil((this.top - memory.buffer.byteLength) / PAGE));
    }
    return at;
  }

  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.abi.memory.buffer, offset, length);
  }
}

function align16(x: number): number {
  return (x + 15) & ~15;
}
