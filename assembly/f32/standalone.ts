// A module of the f32 kernels alone, for developing and testing them before (or apart from) the
// main build: the same exports plus the two the host's loader needs from assembly/index.ts.
export * from "./index";

export function has_simd(): bool { return ASC_FEATURE_SIMD; }
export function heap_base(): usize { return __heap_base; }
