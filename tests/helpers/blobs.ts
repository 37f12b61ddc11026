// A small deterministic classification task: 3 Gaussian-ish clusters of 12 features in [0, 1],
// split 80/20. Fast enough for tests that train whole runs (checkpoints, divergence).
import { createDataset, split, type Split } from "../../src/data/index.js";

export function blobs(count: number, seed: number): Split {
  const F = 12, C = 3;
  let s = seed >>> 0;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const centers = Array.from({ length: C }, () => Array.from({ length: F }, () => r()));
  const images = new Float32Array(count * F), labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % C;
    for (let f = 0; f < F; f++) images[i * F + f] = Math.min(1, Math.max(0, centers[i % C][f] + (r() - 0.5) * 0.5));
  }
  return split(createDataset({ name: "blobs", count, height: 1, width: F, channels: 1, classes: C, images, labels }), Math.floor(count * 0.8), 1);
}
