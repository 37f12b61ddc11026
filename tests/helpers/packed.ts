// An independent statement of the packed format (docs/format.md), written with BigInt bit
// streams rather than the reference's bit loop, so that tests check src/reference too.

/** Bytes per row: ceil(cols*bits/32) words of 4 bytes. */
export function expectedRowStride(cols: number, bits: number): number {
  return Math.ceil((cols * bits) / 32) * 4;
}

/** Packs row-major codes: element j of a row at bits [j*bits, j*bits+bits) of a little-endian stream. */
export function packIndependently(codes: ArrayLike<number>, rows: number, cols: number, bits: number): Uint8Array {
  const stride = expectedRowStride(cols, bits);
  const out = new Uint8Array(rows * stride);
  const mask = (1n << BigInt(bits)) - 1n;
  for (let r = 0; r < rows; r++) {
    let stream = 0n;
    for (let j = 0; j < cols; j++) {
      stream |= (BigInt(codes[r * cols + j]) & mask) << BigInt(j * bits);
    }
    for (let byte = 0; byte < stride; byte++) {
      out[r * stride + byte] = Number((stream >> BigInt(8 * byte)) & 0xffn);
    }
  }
  return out;
}

/** Hex dump for assertion messages. */
export function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
