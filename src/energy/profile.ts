// The measured account beside the counted one (energy.ts): where a training step's time goes, per
// layer and per stage. The engine reports each kernel call's wall time (Engine.onTime); the trainer
// reports each whole step, so what no kernel call covers (descriptors, the layers' and the
// trainer's JavaScript, the precision controller, the energy counter) is the "host" row.
import type { TimeStage } from "../engine/engine.js";

export type ProfileStage = TimeStage | "host";

/** The stages in the order a step runs them (the table's columns). */
export const PROFILE_STAGES: readonly ProfileStage[] = [
  "input", "product", "scaling", "relu", "pool", "loss", "update", "gradient", "precision", "host",
];

export interface ProfileRow {
  /** The layer a call belongs to ("" for the input batch, the loss and the host). */
  layer: string;
  stage: ProfileStage;
  calls: number;
  /** Milliseconds per step, averaged over the profiled steps. */
  msPerStep: number;
  /** Share of the whole step time. */
  share: number;
}

export interface ProfileReport {
  /** Training steps measured. */
  steps: number;
  /** Mean wall time of a whole step, in milliseconds: the trainer's own time included. */
  msPerStep: number;
  /** Per layer and stage, largest first. */
  rows: ProfileRow[];
  /** Per stage over all layers (milliseconds per step). */
  byStage: Record<string, number>;
  /** Per layer over all stages (milliseconds per step); the loss, input and host under their names. */
  byLayer: Record<string, number>;
}

export class StepProfile {
  private readonly cells = new Map<string, { layer: string; stage: ProfileStage; ms: number; calls: number }>();
  private stepMs = 0;
  steps = 0;

  /** @param layers the model's layer names, to file each call's `what` ("conv2d0 forward") under. */
  constructor(private readonly layers: readonly string[]) {}

  private layerOf(what: string): string {
    for (const l of this.layers) if (what === l || what.startsWith(`${l} `)) return l;
    return "";
  }

  /** One kernel call (bind to Engine.onTime). */
  record(what: string, stage: TimeStage, ms: number): void {
    const layer = this.layerOf(what);
    const key = `${layer}\u0000${stage}`;
    let c = this.cells.get(key);
    if (!c) this.cells.set(key, (c = { layer, stage, ms: 0, calls: 0 }));
    c.ms += ms;
    c.calls++;
  }

  /** One whole training step took `ms`. */
  endStep(ms: number): void {
    this.stepMs += ms;
    this.steps++;
  }

  report(): ProfileReport {
    const n = Math.max(this.steps, 1);
    const inKernels = [...this.cells.values()].reduce((a, c) => a + c.ms, 0);
    const cells = [...this.cells.values()].map((c) => ({ ...c }));
    // The host is what the step took beyond its measured calls (never negative: the clock's own
    // granularity can put the calls' sum a hair above the step's).
    cells.push({ layer: "", stage: "host", ms: Math.max(0, this.stepMs - inKernels), calls: this.steps });
    const total = Math.max(this.stepMs, inKernels);
    const rows: ProfileRow[] = cells
      .map((c) => ({ layer: c.layer, stage: c.stage, calls: c.calls / n, msPerStep: c.ms / n, share: total > 0 ? c.ms / total : 0 }))
      .sort((a, b) => b.msPerStep - a.msPerStep);
    const byStage: Record<string, number> = {};
    const byLayer: Record<string, number> = {};
    for (const r of rows) {
      byStage[r.stage] = (byStage[r.stage] ?? 0) + r.msPerStep;
      const name = r.layer || r.stage;
      byLayer[name] = (byLayer[name] ?? 0) + r.msPerStep;
    }
    return { steps: this.steps, msPerStep: total / n, rows, byStage, byLayer };
  }
}

/** The profile as a text table: a row per layer, a column per stage (ms per step), and totals. */
export function formatProfile(p: ProfileReport): string {
  const stages = PROFILE_STAGES.filter((s) => (p.byStage[s] ?? 0) > 0);
  const layerNames = [...new Set(p.rows.map((r) => r.layer || r.stage))];
  const order = [...layerNames].sort((a, b) => (p.byLayer[b] ?? 0) - (p.byLayer[a] ?? 0));
  const cell = (layer: string, stage: ProfileStage): number =>
    p.rows.filter((r) => (r.layer || r.stage) === layer && r.stage === stage).reduce((a, r) => a + r.msPerStep, 0);
  const ms = (x: number) => (x === 0 ? "" : x.toFixed(3));
  const pct = (x: number) => `${((100 * x) / Math.max(p.msPerStep, 1e-12)).toFixed(1)}%`;
  const head = ["layer", ...stages, "total", "share"];
  const body = order.map((l) => [l, ...stages.map((s) => ms(cell(l, s))), ms(p.byLayer[l] ?? 0), pct(p.byLayer[l] ?? 0)]);
  const foot = ["all", ...stages.map((s) => ms(p.byStage[s] ?? 0)), ms(p.msPerStep), "100%"];
  const share = ["share", ...stages.map((s) => pct(p.byStage[s] ?? 0)), "", ""];
  const table = [head, ...body, foot, share];
  const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [
    `where a step's time goes (ms per step, mean of ${p.steps} steps; wall time of each kernel call, host = the rest of the step):`,
    line(head), ...body.map(line), line(foot), line(share),
  ].join("\n");
}
