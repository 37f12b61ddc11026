// The page: starts the worker and draws weight bits per layer and the loss as they arrive.
import { lineChart } from "../../dist/report/svg.js";

const params = new URLSearchParams(location.search);
const config = {
  data: params.get("data") ?? undefined, // a file from make-subset.mjs; default: synthetic digits
  isa: params.get("isa") ?? "auto",
  epochs: params.has("epochs") ? Number(params.get("epochs")) : undefined,
};
const $ = (id) => document.getElementById(id);
const root = document.documentElement;
root.dataset.state = "running";

const bits = new Map(); // layer -> [step, bits][]
const loss = [];
let lastDraw = 0;

function draw() {
  const series = [...bits].map(([name, points]) => ({ name, points, step: true }));
  $("bits").innerHTML = lineChart({
    title: "Weight bits per layer (APT)", xLabel: "step", yLabel: "bits", series,
    yIntegerTicks: true, width: 640, height: 280,
  });
  $("loss").innerHTML = lineChart({
    title: "Training loss", xLabel: "step", yLabel: "loss", series: [{ name: "loss", points: loss }],
    yMin: 0, width: 640, height: 240,
  });
}

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
worker.onmessage = ({ data: m }) => {
  if (m.type === "start") {
    $("status").textContent = `training ${m.model} on ${m.dataset} (${m.train} train / ${m.test} test samples)`;
  } else if (m.type === "progress") {
    for (const [layer, b] of Object.entries(m.bits)) {
      if (!bits.has(layer)) bits.set(layer, []);
      bits.get(layer).push([m.step, b]);
    }
    loss.push([m.step, m.loss]);
    root.dataset.progress = String(loss.length);
    $("step").textContent = `step ${m.step} / ${m.totalSteps}, epoch ${m.epoch + 1}, loss ${m.loss.toFixed(3)}, ` +
      `batch accuracy ${(100 * m.accuracy).toFixed(1)}%`;
    // Redraw at most ~10 times a second.
    if (performance.now() - lastDraw > 100) {
      draw();
      lastDraw = performance.now();
    }
  } else if (m.type === "done") {
    draw();
    $("accuracy").textContent = `${(100 * m.accuracy).toFixed(1)}%`;
    $("accuracy").dataset.value = String(m.accuracy);
    $("status").textContent = `done on the ${m.isa} build: ${m.steps} steps in ${m.seconds.toFixed(1)} s, ` +
      `final bits ${JSON.stringify(m.finalBits)} (mean ${m.averageWeightBits.toFixed(2)}), planned peak memory ${m.plannedPeakBytes} bytes`;
    root.dataset.isa = m.isa;
    root.dataset.model = m.modelSha256;
    root.dataset.exported = String(m.exportedAccuracy);
    $("status").textContent += `; exported as a ${m.modelFileBytes}-byte model file, which predicts ${(100 * m.exportedAccuracy).toFixed(1)}% after loadModel()`;
    root.dataset.state = "done";
    worker.terminate();
  } else if (m.type === "error") {
    $("status").textContent = `error: ${m.message}`;
    root.dataset.state = "error";
  }
};
worker.postMessage(config);
worker.onerror = (e) => {
  $("status").textContent = `worker failed to start: ${e.message}`;
  root.dataset.state = "error";
};
