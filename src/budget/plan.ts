// The plan is the allocator (DESIGN 5): every buffer a training run uses gets a fixed offset in
// one WebAssembly.Memory before the first step, and nothing is placed afterwards. The plan's peak
// is therefore the run's peak, byte for byte.

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

  /** `base`: the first free byte above the module's own data and stack. */
  constructor(base: number) {
    this.items.push({ name: "module data and stack", category: "module", layer: null, offset: 0, bytes: base });
    this.top = base;
  }

  reserve(name: string, category: Category, layer: string | null, bytes: number, align = 16): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`plan: ${name}: bad size ${bytes}`);
    const offset = Math.ceil(this.top / align) * align;
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
