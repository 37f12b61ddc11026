// Checks that run unchanged in every runtime aptkit targets (Deno, Node on arm64 under qemu, a
// browser worker): plain JavaScript, no node:/Deno APIs, the library passed in as `aptkit` (the
// namespace of dist/index.js) so each runtime imports it its own way.

/** GEMM cases: every width pair class (narrow x wide, odd widths, 16 x 16), edge tiles (1x1,
 *  shapes not a multiple of the 4x8 micro-tile), all four layouts, K below and above 256. */
export const GEMM_CASES = [
  { m: 1, n: 1, k: 1, aBits: 2, bBits: 2 },
  { m: 5, n: 9, k: 17, aBits: 4, bBits: 8 },
  { m: 7, n: 13, k: 31, aBits: 3, bBits: 5, transB: true },
  { m: 8, n: 8, k: 64, aBits: 8, bBits: 8, transA: true },
  { m: 4, n: 17, k: 300, aBits: 8, bBits: 2 },
  { m: 9, n: 6, k: 129, aBits: 12, bBits: 7, transA: true, transB: true },
  { m: 3, n: 5, k: 257, aBits: 16, bBits: 16 },
];

/** `n` codes in the symmetric `bits` range from a small LCG: the same on every runtime. */
export function codes(n, bits, seed) {
  const max = 2 ** (bits - 1) - 1;
  const out = new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s % (2 * max + 1)) - max;
  }
  // The extremes, so the widest products and sums are exercised too.
  if (n > 0) out[0] = max;
  if (n > 1) out[n - 1] = -max;
  return out;
}

export function caseName(c) {
  return `${c.m}x${c.n}x${c.k} @ ${c.aBits}x${c.bBits} bits${c.transA ? " A^T" : ""}${c.transB ? " B^T" : ""}`;
}

/** pack (bytes vs reference.pack) and gemm (every element vs reference.gemm) for one case.
 *  Returns null when both match, else what differed. */
export function checkGemm(aptkit, kernels, c, seed = 1) {
  const [aRows, aCols] = c.transA ? [c.k, c.m] : [c.m, c.k];
  const [bRows, bCols] = c.transB ? [c.n, c.k] : [c.k, c.n];
  const aCodes = codes(aRows * aCols, c.aBits, seed);
  const bCodes = codes(bRows * bCols, c.bBits, seed + 1);
  const a = kernels.pack(aCodes, aRows, aCols, c.aBits);
  const b = kernels.pack(bCodes, bRows, bCols, c.bBits);
  const refA = aptkit.reference.pack(aCodes, aRows, aCols, c.aBits);
  for (const [got, want, what] of [[a, refA, "A"], [b, aptkit.reference.pack(bCodes, bRows, bCols, c.bBits), "B"]]) {
    if (got.bytes.length !== want.bytes.length) return `pack ${what}: ${got.bytes.length} bytes, reference ${want.bytes.length}`;
    for (let i = 0; i < got.bytes.length; i++) {
      if (got.bytes[i] !== want.bytes[i]) return `pack ${what}: byte ${i} is ${got.bytes[i]}, reference ${want.bytes[i]}`;
    }
  }
  const back = kernels.unpack(a);
  for (let i = 0; i < aCodes.length; i++) {
    if (back[i] !== aCodes[i]) return `unpack A: element ${i} is ${back[i]}, packed ${aCodes[i]}`;
  }
  const options = { transA: !!c.transA, transB: !!c.transB };
  const got = kernels.gemm(a, b, options);
  const want = aptkit.reference.gemm(a, b, options);
  if (got.length !== c.m * c.n) return `gemm: ${got.length} results, expected ${c.m * c.n}`;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) return `gemm: C[${Math.floor(i / c.n)}][${i % c.n}] = ${got[i]}, reference ${want[i]}`;
  }
  return null;
}

/**
 * A learnable task: `classes` Gaussian clusters in `features` dimensions (pixel values in [0, 1]),
 * as a train/test Split. Each class has its own random centre; samples add noise of `spread`.
 */
export function clusters(aptkit, { classes = 4, features = 16, train = 256, test = 128, spread = 0.12, seed = 7 } = {}) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
  const centres = Array.from({ length: classes }, () => Array.from({ length: features }, () => 0.2 + 0.6 * uniform()));
  const make = (count, name) => {
    const images = new Float32Array(count * features);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const label = i % classes;
      labels[i] = label;
      for (let f = 0; f < features; f++) {
        images[i * features + f] = Math.min(1, Math.max(0, centres[label][f] + spread * normal()));
      }
    }
    return aptkit.createDataset({ name, count, height: 1, width: features, channels: 1, classes, images, labels });
  };
  return { train: make(train, "clusters/train"), test: make(test, "clusters/test") };
}

/** Mean of the first and of the last `n` points of a loss curve. */
export function lossEnds(curve, n = 2) {
  const mean = (pts) => pts.reduce((t, p) => t + p.loss, 0) / pts.length;
  return { first: mean(curve.slice(0, n)), last: mean(curve.slice(-n)) };
}
