// report.energy in the schema and the page: validateReport checks the known fields of an energy
// account (types, total = compute + memory, perStep = total / steps, steps = the report's) and
// still accepts a hand-made free-form section; report.html shows the account as a small table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EnergyCounter } from "../src/energy/energy.js";
import { validateReport } from "../src/report/schema.js";
import { renderReport } from "../src/report/html.js";
import type { TrainReport } from "../src/learner/run-report.js";

function report(): TrainReport {
  const c = new EnergyCounter({ arithmetic: "integer", rounding: "stochastic" });
  for (let s = 0; s < 4; s++) {
    c.record({ kind: "gemm", what: "fc forward", mode: "requant", M: 8, N: 10, K: 20, aBits: 8, bBits: 6, outBits: 8 });
    c.record({ kind: "gemm", what: "fc weight update", mode: "update", M: 10, N: 20, K: 8, aBits: 8, bBits: 8, outBits: 6 });
    c.endStep();
  }
  return {
    version: 1, model: "m", dataset: "d", policy: "fixed:6", config: {}, isa: "simd", accuracy: 0.5,
    loss: [{ step: 4, epoch: 0, loss: 1, accuracy: 0.5 }], evaluations: [{ step: 4, epoch: 0, accuracy: 0.5, loss: 1 }], steps: 4,
    layers: [{ name: "fc", kind: "dense", parameters: 210, outputShape: [8, 10] }], bitsHistory: [],
    bitsTimeline: [{ step: 0, bits: { fc: 6 } }], finalBits: { fc: 6 }, averageWeightBits: 6, modelSha256: "a".repeat(64),
    timings: { totalSeconds: 1, trainSeconds: 0.5, evalSeconds: 0.1, msPerStep: 100 },
    energy: c.report(),
  };
}

function problems(edit: (e: Record<string, any>) => void): string[] {
  const r = structuredClone(report()) as TrainReport & { energy: Record<string, any> };
  edit(r.energy);
  return validateReport(r);
}

test("a counted energy account is valid, and so is a hand-made free-form section", () => {
  assert.deepEqual(validateReport(report()), []);
  assert.deepEqual(validateReport({ ...report(), energy: { source: "Horowitz 2014", perStepMicrojoules: 1.5 } }), []);
});

test("inconsistent or mistyped energy fields are reported by name", () => {
  assert.match(problems((e) => { e.totalJoules *= 1.01; }).join("\n"), /^energy\.totalJoules: .* is not computeJoules \+ memoryJoules/m);
  assert.match(problems((e) => { e.perStepJoules *= 2; }).join("\n"), /^energy\.perStepJoules: .* is not totalJoules \/ steps/m);
  assert.match(problems((e) => { e.steps = 5; }).join("\n"), /^energy\.steps: 5, but the report has 4 steps/m);
  assert.match(problems((e) => { e.fp32Joules = -1; }).join("\n"), /^energy\.fp32Joules: expected a finite number >= 0, got -1/m);
  assert.match(problems((e) => { e.arithmetic = "analog"; }).join("\n"), /^energy\.arithmetic: expected "integer" or "float"/m);
  assert.match(problems((e) => { e.opCounts.macs = { "8 by 6": 3 }; }).join("\n"), /^energy\.opCounts\.macs\["8 by 6"\]: key must look like/m);
  assert.match(problems((e) => { e.opCounts.intAdds["32"] = 1.5; }).join("\n"), /^energy\.opCounts\.intAdds\["32"\]: expected an integer >= 0, got 1\.5/m);
  assert.match(problems((e) => { e.opCounts = 7; }).join("\n"), /^energy\.opCounts: expected an object, got 7/m);
});

test("report.html shows the account as a small table", () => {
  const r = report();
  const html = renderReport(r);
  assert.match(html, /<h2>Energy<\/h2>/);
  assert.match(html, /<table class="kv energy">/);
  for (const s of ["training energy", "per step", "same run priced as fp32", "MACs", "main memory traffic (1MB)", "local buffer traffic (8KB)", "integer, stochastic rounding"]) {
    assert.ok(html.includes(s), s);
  }
  const saving = 100 * (1 - r.energy!.totalJoules / r.energy!.fp32Joules);
  assert.ok(html.includes(`this run: ${saving.toFixed(1)} % less`));
  assert.ok(html.includes("8x6: 6,400") && html.includes("8x8: 6,400"));
});
