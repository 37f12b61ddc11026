// Argument values every wasm export and every host module agree on: the rounding-mode codes and
// the range of code widths. Compiled twice, like runtime/abi-status.ts (tsc for the host, asc for
// assembly/), so it holds nothing but integer constants.

/** Rounding mode 0: stochastic rounding, floor(r + u) with the draw of the element's index. */
export const ROUND_STOCHASTIC = 0;
/** Rounding mode 1: round to nearest, ties to even. */
export const ROUND_NEAREST = 1;

/** The narrowest and widest code widths of the packed format (docs/format.md). */
export const MIN_BITS = 2;
export const MAX_BITS = 16;
