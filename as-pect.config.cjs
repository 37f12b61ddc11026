// as-pect configuration for the kernel specs (tests/assembly/*.spec.ts).
// CommonJS because package.json says "type": "module"; asp loads it with import(), which accepts .cjs.
// The compiler options (SIMD on or off) live in the asconfig passed with --as-config:
//   as-pect.asconfig.json         SIMD build (the default asp picks up)
//   as-pect.scalar.asconfig.json  scalar build (ASC_FEATURE_SIMD false)
// tests/assembly/run.mjs runs both and prints "N passed, N failed".
module.exports = {
  entries: ["tests/assembly/**/*.spec.ts"],
  include: ["tests/assembly/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
