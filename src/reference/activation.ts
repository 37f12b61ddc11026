// Reference of assembly/activation.ts on unpacked codes.

export function reluForward(x: ArrayLike<number>): Int32Array {
  return Int32Array.from(x, (q) => (q > 0 ? q : 0));
}

/** dx = dy where the saved ReLU output y > 0, else 0. */
export function reluBackward(y: ArrayLike<number>, dy: ArrayLike<number>): Int32Array {
  if (y.length !== dy.length) throw new RangeError(`reluBackward: y has ${y.length} codes, dy ${dy.length}`);
  return Int32Array.from(dy, (g, i) => (y[i] > 0 ? g : 0));
}

// NHWC in the rows layout (N*H x W*C) and flattened (N x H*W*C) list the codes in the same
// row-major order: flattening changes only the matrix shape, hence only the packing.
export function flattenShape(N: number, H: number, W: number, C: number): { rows: number; cols: number } {
  return { rows: N, cols: H * W * C };
}

export function nhwcShape(N: number, H: number, W: number, C: number): { rows: number; cols: number } {
  return { rows: N * H, cols: W * C };
}
