// Pinned trained models: the same options train the same bytes, across releases and across any
// reshaping of the code. A change that moves one of these hashes changes what training computes,
// and must say why (and update the pin) in the same commit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { apt, digits, fixed, fp32, learnerFactory, lenet5, mlp, qat8, subset, train, type TrainOptions } from "../src/index.js";

const PINS: [string, Pick<TrainOptions, "model" | "policy" | "isa" | "scaling">, string][] = [
  ["mlp, apt, SIMD, exact scaling", { model: mlp([32]), policy: apt(), isa: "simd", scaling: "exact" }, "d4978f0efdb241431c0e99a6ae299b18f69d3f476cbc18bcb8ca3acec434c201"],
  ["mlp, apt, scalar, delayed scaling", { model: mlp([32]), policy: apt(), isa: "scalar", scaling: "delayed" }, "7350eb2ffd6b8f776c1178774cf8fb5e4799452a9b75962c99a11bf2bca65d41"],
  ["lenet5, apt, SIMD, exact scaling", { model: lenet5(), policy: apt(), isa: "simd", scaling: "exact" }, "e0253b7cd839e2c28c4a0f9be25cb11a66aa3c957e7da83c6b6e0d4addae3e3a"],
  ["lenet5, fixed:6, nearest, exact scaling", { model: lenet5(), policy: fixed(6, "nearest"), isa: "simd", scaling: "exact" }, "725563903b76827279372eea74a66b332fe2505b7ced50a3c9298dfbb9a95b48"],
  ["mlp, qat8, exact scaling", { model: mlp([32]), policy: qat8(), isa: "simd", scaling: "exact" }, "9510ddcac4943485db457cb5caf6f8e1393c939b82c2a00242c76152378e4619"],
  ["lenet5, apt, the defaults (delayed scaling)", { model: lenet5(), policy: apt() }, "bfb4a86ee93e167d3c9f50a814159469a0067bf32be5c78dd686ebd2d3970b81"],
  ["mlp, fp32", { model: mlp([32]), policy: fp32(), isa: "simd" }, "986ff23650e01cb4c4567490f5cb8af37934e6ce2fbc21b9bc312801980b288e"],
];

test("pinned runs train the pinned models, bit for bit", async () => {
  const d = await digits();
  const first = (n: number) => Array.from({ length: n }, (_, i) => i);
  const data = { train: subset(d.train, first(640)), test: subset(d.test, first(200)) };
  for (const [name, options, sha256] of PINS) {
    const { report } = await train({ ...options, data, epochs: 1, batch: 16, lr: 0.1, seed: 3, learnerFactory });
    assert.equal(report.modelSha256, sha256, name);
  }
});
