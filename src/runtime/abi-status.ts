// The status codes every wasm export returns (docs/abi.md, "Return codes"): one value per meaning,
// for the integer and the f32 ABI alike. This file is compiled twice, by tsc for the host and by
// asc for the kernels (assembly/ imports it), so it holds nothing but integer constants: both
// languages read `export const X = -1;` the same way (an i32 in AssemblyScript). The host's
// decoder, with the words for each code, is ABI_STATUS in src/runtime/descriptors.ts.

/** Success. Positive returns k+1 name a bad data element k instead (pack, quantize_f32, loss). */
export const STATUS_OK = 0;
/** A bits argument (operand, stage bias, tensor) outside 2..16. */
export const STATUS_BITS = -1;
/** Shapes that must agree do not: the K of A and of B, or a fused output view not M x N. */
export const STATUS_SHAPE = -2;
/** A GEMM workspace or pre-packed panel buffer too small for even the smallest blocking. */
export const STATUS_WORKSPACE = -3;
/** An inconsistent view descriptor, or an output view that cannot be written. */
export const STATUS_VIEW = -4;
/** An unknown fused output stage mode. */
export const STATUS_STAGE = -5;
/** A buffer that does not lie wholly inside memory, or whose size (or a count or row bit length
 *  the kernel indexes with) passes 32 bits: checked in f64 at entry, before anything is written. */
export const STATUS_RANGE = -6;
/** A dimension or count that must be positive is 0 or negative (loss N or classes, f32 shapes),
 *  or an f32 convolution kernel larger than its padded input. */
export const STATUS_DIMENSION = -7;
/** A pooling window or stride of 0 (or negative), or a window of 2^31 elements or more. */
export const STATUS_WINDOW = -8;
/** A pooling window larger than its input (kh > H or kw > W). */
export const STATUS_WINDOW_TOO_LARGE = -9;
/** A rounding mode other than 0 (stochastic) or 1 (nearest even). */
export const STATUS_MODE = -10;
/** A label element size other than 1 (u8) or 4 (i32). */
export const STATUS_LABEL_WIDTH = -11;
/** A tensor exponent outside -960..960. */
export const STATUS_EXPONENT = -12;
