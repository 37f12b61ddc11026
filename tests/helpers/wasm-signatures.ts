// The export signatures of a wasm binary, read from its type, import, function and export sections
// (WebAssembly.Module.exports gives names and kinds only): "(i32 f64) -> i32" per function export,
// "global i32" / "memory" for the others.

const VALTYPES: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128" };

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  byte(): number {
    if (this.at >= this.bytes.length) throw new RangeError(`wasm binary ends early at byte ${this.at}`);
    return this.bytes[this.at++];
  }
  u32(): number {
    let result = 0, shift = 0, b: number;
    do { b = this.byte(); result += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return result;
  }
  name(): string {
    const n = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }
  valtype(): string {
    const t = this.byte();
    const name = VALTYPES[t];
    if (!name) throw new RangeError(`unknown value type 0x${t.toString(16)} at byte ${this.at - 1}`);
    return name;
  }
  limits(): void {
    const flags = this.u32();
    this.u32();
    if (flags & 1) this.u32();
  }
}

export function exportSignatures(binary: Uint8Array): Record<string, string> {
  const r = new Reader(binary);
  r.at = 8; // magic and version
  const types: string[] = [];
  const funcTypes: number[] = []; // imported functions first, then the module's own
  const globalTypes: string[] = [];
  const out: Record<string, string> = {};
  while (r.at < binary.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.at + size;
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) throw new RangeError("type section: not a function type");
        const params = Array.from({ length: r.u32() }, () => r.valtype());
        const results = Array.from({ length: r.u32() }, () => r.valtype());
        types.push(`(${params.join(" ")}) -> ${results.length ? results.join(" ") : "()"}`);
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.name(); r.name();
        const kind = r.byte();
        if (kind === 0) funcTypes.push(r.u32());
        else if (kind === 1) { r.byte(); r.limits(); }
        else if (kind === 2) r.limits();
        else if (kind === 3) { globalTypes.push(r.valtype()); r.byte(); }
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
    } else if (id === 6) {
      for (let n = r.u32(); n > 0; n--) {
        globalTypes.push(r.valtype());
        r.byte();
        // Skip the constant initializer up to its `end` (0x0b); immediates of const ops are LEB128s
        // or fixed-width floats.
        for (let op = r.byte(); op !== 0x0b; op = r.byte()) {
          if (op === 0x41 || op === 0x42 || op === 0x23) r.u32();
          else if (op === 0x43) r.at += 4;
          else if (op === 0x44) r.at += 8;
          else throw new RangeError(`global initializer op 0x${op.toString(16)} not understood`);
        }
      }
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        if (kind === 0) out[name] = types[funcTypes[index]];
        else if (kind === 2) out[name] = "memory";
        else if (kind === 3) out[name] = `global ${globalTypes[index]}`;
        else out[name] = kind === 1 ? "table" : `kind ${kind}`;
      }
    }
    r.at = end;
  }
  return out;
}
