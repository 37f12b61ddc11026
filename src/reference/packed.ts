// Plain-TypeScript reference of the packed format: bit by bit, as docs/format.md states it.
import { checkCodes, checkPacked, packedByteLength, rowStrideBytes, type PackedMatrix } from "../format/packed.js";

export function pack(codes: ArrayLike<number>, rows: number, cols: number, bits: number): PackedMatrix {
  checkCodes(codes, rows, cols, bits, "codes");
  const stride = rowStrideBytes(cols, bits);
  const bytes = new Uint8Array(packedByteLength(rows, cols, bits));
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const v = codes[r * cols + j];
      for (let t = 0; t < bits; t++) {
        const bit = (v >> t) & 1; // two's complement: >> on a negative int keeps the sign bits
        const pos = j * bits + t;
        bytes[r * stride + (pos >> 3)] |= bit << (pos & 7);
      }
    }
  }
  return { rows, cols, bits, bytes };
}

export function unpack(m: PackedMatrix): Int32Array {
  checkPacked(m, "m");
  const { rows, cols, bits, bytes } = m;
  const stride = rowStrideBytes(cols, bits);
  const out = new Int32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      let v = 0;
      for (let t = 0; t < bits; t++) {
        const pos = j * bits + t;
        v |= ((bytes[r * stride + (pos >> 3)] >> (pos & 7)) & 1) << t;
      }
      out[r * cols + j] = (v << (32 - bits)) >> (32 - bits);
    }
  }
  return out;
}
