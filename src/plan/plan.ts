// The plan is the allocator (docs/architecture.md): every buffer a training run uses gets a fixed
// offset in one WebAssembly.Memory before the first step, and nothing is placed afterwards. The
// plan's peak is therefore the run's peak, byte for byte.
//
// Offsets are plain numbers and every reservation is checked against the planner's limit as it is
// made, so a plan too large for any wasm32 memory is refused while it is still arithmetic, before
// anything is grown, and no offset ever passes 2^53 (or wraps, as a 32-bit one would).
import { memoryLimitError, WASM32_MAX_BYTES } from "../runtime/memory-limits.js";

export type Category =
  | "module"      // the wasm module's own data and stack (below heap_base)
  | "control"     // kernel descriptors
  | "weights"     // packed weights, reserved at the widest width the policy may choose
  | "biases"
  | "activations" // outputs saved for backward
  | "errors"      // dL/d activation
  | "workspace"   // GEMM panels and block accumulators, shared by every call
  | "input"       // the quantized input batch and labels
  | "master";     // fp32 master weights (qat8) or float tensors (fp32 trainer)

export interface Reservation {
  name: string;
  category: Category;
  layer: string | null;
  offset: number;
  bytes: number;
}

export class Planner {
  private readonly items: Reservation[] = [];
  private top: number;

  /**
   * @param base the first free byte above the module's own data and stack.
   * @param limitBytes no reservation may end past this (default: the wasm32 ceiling, 4 GiB): the
   *   one that would is a RangeError with code APTKIT_MEMORY_LIMIT naming it and the sizes. A
   *   budget is checked apart, on the whole plan (the engine's finishPlan), so that a refusal can
   *   say how much the plan needs.
   */
  constructor(base: number, readonly limitBytes = WASM32_MAX_BYTES) {
    if (!((Number.isSafeInteger(limitBytes) && limitBytes > 0) || limitBytes === Infinity)) {
      throw new RangeError(`plan: limit must be a positive whole number of bytes (or Infinity for a plan that is only measured), got ${limitBytes}`);
    }
    this.items.push({ name: "module data and stack", category: "module", layer: null, offset: 0, bytes: base });
    this.top = base;
  }

  reserve(name: string, category: Category, layer: string | null, bytes: number, align = 16): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`plan: ${name}: bad size ${bytes}`);
    if (!(Number.isSafeInteger(align) && align > 0)) throw new RangeError(`plan: ${name}: bad alignment ${align}`);
    const offset = Math.ceil(this.top / align) * align;
    if (offset + bytes > this.limitBytes) {
      throw memoryLimitError({
        what: `plan: ${name}${layer !== null && !name.startsWith(layer) ? ` (layer ${layer})` : ""}`,
        bytes, endBytes: offset + bytes, limitBytes: this.limitBytes,
        limitName: this.limitBytes === WASM32_MAX_BYTES ? "wasm32 memory ceiling" : "plan's limit",
      });
    }
    this.items.push({ name, category, layer, offset, bytes });
    this.top = offset + bytes;
    return offset;
  }

  /** One past the last byte reserved. */
  get peakBytes(): number {
    return this.top;
  }

  get reservations(): readonly Reservation[] {
    return this.items;
  }

  byCategory(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.items) out[r.category] = (out[r.category] ?? 0) + r.bytes;
    return out;
  }
}
