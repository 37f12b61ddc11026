// Question: how much faster is the relaxed-SIMD build than the SIMD build on an int8 GEMM whose A
// codes are 0..127 (post-ReLU activations), and where is the ceiling?
//
//   node --import tsx bench/relaxed.bench.ts [--rounds N] [--json FILE]
//   (any Node: on Node 20 this script sets --experimental-wasm-relaxed-simd itself, before
//   anything compiles; the library never sets engine flags)
//
// In one process: both builds through prepareGemm(a, b).run() at 256^3 (operands resident in wasm
// memory; a timed call is packing the panels, the micro-kernel and the f64 output), timed in
// interleaved rounds (order reversed on odd rounds) so foreign load lands on both alike; medians
// over the rounds, and the median of the per-round ratios. Each product is verified first
// (relaxed == SIMD bit for bit, relaxed path taken). Rows:
//   (8,8) A 0..127     the figure: relaxed i8 path vs plain dot_i16x8 path
//   (8,4) A 0..127     a narrower B: i16 headroom for 16 quads of dots per widening
//   (4,4) A 0..7       both narrow (APT's low end): headroom for 292 quads
//   (8,8) A signed     relaxed build falls back (a negative A code found while packing): its cost
// Then the ceiling: the throughput of the vector multiplies both inner loops are made of
// (i32x4.dot_i16x8_s = pmaddwd, i16x8.relaxed_dot_i8x16_i7x16_s = pmaddubsw on x86), measured as
// 12 independent register-only chains each, alone and interleaved (do they share execution
// ports?), and an add for scale. The plain loop needs one multiply per 8 MACs; the relaxed one a
// dot and a widening dot per 16 MACs: also one per 8. docs/kernels.md reads the numbers.
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import v8 from "node:v8";
// binaryen (the assemblyscript devDependency's) assembles the probe's text format.
import binaryen from "binaryen";

// Before any wasm compiles: Node 20 has relaxed SIMD behind this flag (Node 22 and Deno have it on).
if (Number(process.versions.node.split(".")[0]) < 22) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

const { createKernels } = await import("../src/index.js");
type Kernels = Awaited<ReturnType<typeof createKernels>>;

interface Args { rounds: number; json?: string }
function parseArgs(argv: string[]): Args {
  const args: Args = { rounds: 31 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--rounds") args.rounds = Number(argv[++i]);
    else if (argv[i] === "--json") args.json = argv[++i];
    else throw new RangeError(`unknown argument ${JSON.stringify(argv[i])}; usage: relaxed.bench.ts [--rounds N] [--json FILE]`);
  }
  if (!(args.rounds >= 3)) throw new RangeError("--rounds: at least 3");
  return args;
}
const args = parseArgs(process.argv.slice(2));

const S = 256;
const MACS = S * S * S;

let seed = 12345;
const next = () => {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return seed >>> 0;
};
const codes = (n: number, lo: number, hi: number) => Int32Array.from({ length: n }, () => lo + (next() % (hi - lo + 1)));

const median = (x: number[]) => {
  const s = [...x].sort((p, q) => p - q);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Process CPU time, not wall time: the machine this was written on is shared (load 6-10 on 2
// cores), and a descheduled slice would count against whichever task held it. The wasm runs on
// the main thread alone once warmed up (tiered up, nothing left to compile or collect).
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** CPU seconds per call of each function, interleaved over rounds; each round ~25 ms per task. */
function interleaved(tasks: (() => void)[], rounds: number): number[][] {
  const reps = tasks.map((f) => {
    // Enough calls for V8's dynamic tiering to replace the baseline (Liftoff) code.
    for (let i = 0; i < 30; i++) f();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 25) { f(); n++; }
    return Math.max(1, n);
  });
  const samples: number[][] = tasks.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = tasks.map((_, i) => i);
    if (r & 1) order.reverse();
    for (const i of order) {
      const t0 = cpuSeconds();
      for (let k = 0; k < reps[i]; k++) tasks[i]();
      samples[i].push((cpuSeconds() - t0) / reps[i]);
    }
  }
  return samples;
}

interface Row {
  name: string; relaxedGmacs: number; simdGmacs: number; ratio: number; ratioOfRounds: number;
  relaxedBestGmacs: number; simdBestGmacs: number; relaxedPath: boolean;
}

function gemmRow(name: string, relaxed: Kernels, simd: Kernels, aBits: number, bBits: number, aLo: number): Row {
  const mA = 2 ** (aBits - 1) - 1, mB = 2 ** (bBits - 1) - 1;
  const a = simd.pack(codes(S * S, aLo === 0 ? 0 : -mA, mA), S, S, aBits);
  const b = simd.pack(codes(S * S, -mB, mB), S, S, bBits);
  const pr = relaxed.prepareGemm(a, b), ps = simd.prepareGemm(a, b);
  pr.run();
  const relaxedPath = relaxed.lastGemmUsedRelaxed();
  ps.run();
  const x = pr.result(), y = ps.result();
  if (!Buffer.from(x.buffer).equals(Buffer.from(y.buffer))) throw new Error(`${name}: relaxed and SIMD results differ`);
  if (relaxedPath !== (aLo === 0)) throw new Error(`${name}: relaxed path ${relaxedPath ? "ran" : "did not run"}`);
  const [tr, ts] = interleaved([() => pr.run(), () => ps.run()], args.rounds);
  const ratios = tr.map((t, i) => ts[i] / t);
  return {
    name, relaxedPath,
    relaxedGmacs: MACS / median(tr) / 1e9, simdGmacs: MACS / median(ts) / 1e9,
    relaxedBestGmacs: MACS / Math.min(...tr) / 1e9, simdBestGmacs: MACS / Math.min(...ts) / 1e9,
    ratio: median(ts) / median(tr), ratioOfRounds: median(ratios),
  };
}

const relaxed = await createKernels({ isa: "relaxed" }); // throws, saying why, where it cannot run
const simd = await createKernels({ isa: "simd" });
const rows = [
  gemmRow("256^3 (8,8) A 0..127", relaxed, simd, 8, 8, 0),
  gemmRow("256^3 (8,4) A 0..127", relaxed, simd, 8, 4, 0),
  gemmRow("256^3 (4,4) A 0..7", relaxed, simd, 4, 4, 0),
  gemmRow("256^3 (8,8) A signed (fallback)", relaxed, simd, 8, 8, -1),
];

/** Vector ops per second of 12 independent register-only chains of `op` ("mixed": the two dots
 *  alternating). Short calls, best of many: a descheduled slice cannot hide the peak. */
function opsPerSecond(): Record<string, number> {
  const CH = 12;
  const names = { pmaddwd: "i32x4.dot_i16x8_s", pmaddubsw: "i16x8.dot_i8x16_i7x16_s", mixed: "", paddd: "i32x4.add" };
  const fn = (name: string, op: string) => {
    let locals = "", body = "", init = "", fin = "(v128.const i32x4 0 0 0 0)";
    for (let k = 0; k < CH; k++) {
      const o = op || (k % 2 ? names.pmaddwd : names.pmaddubsw);
      locals += ` (local $c${k} v128)`;
      init += `(local.set $c${k} (i32x4.splat (i32.add (local.get $n) (i32.const ${k}))))\n`;
      body += `(local.set $c${k} (${o} (local.get $c${k}) (local.get $x)))\n`;
      fin = `(v128.or ${fin} (local.get $c${k}))`;
    }
    return `(func (export "${name}") (param $n i32) (result i32) (local $i i32) (local $x v128)${locals}
      (local.set $x (i32x4.splat (local.get $n)))
      ${init}
      (loop $l ${body}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (i32x4.extract_lane 0 ${fin}))`;
  };
  // binaryen's text name for i16x8.relaxed_dot_i8x16_i7x16_s is i16x8.dot_i8x16_i7x16_s.
  const m = binaryen.parseText(`(module ${Object.entries(names).map(([n, op]) => fn(n, op)).join("\n")})`);
  m.setFeatures(binaryen.Features.SIMD128 | binaryen.Features.RelaxedSIMD);
  if (!m.validate()) throw new Error("probe module does not validate");
  const e = new WebAssembly.Instance(new WebAssembly.Module(m.emitBinary()), {}).exports as Record<string, (n: number) => number>;
  m.dispose();
  const out: Record<string, number> = {};
  const N = 200_000;
  for (const name of Object.keys(names)) {
    for (let i = 0; i < 100; i++) e[name](10_000);
    let best = Infinity;
    for (let r = 0; r < 200; r++) {
      const t0 = performance.now();
      e[name](N);
      best = Math.min(best, performance.now() - t0);
    }
    out[name] = (CH * N) / (best / 1e3);
  }
  return out;
}

const ops = opsPerSecond();
// MACs per multiply instruction: plain 8 (dot_i16x8_s); relaxed 16 per dot + widening dot.
const ceilingGmacs = (8 * ops.mixed) / 1e9;

const cpu = cpus()[0]?.model ?? "?";
console.log(`Node ${process.version}, ${cpu}, ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(" ")}; ` +
  `${args.rounds} interleaved rounds; ${relaxed.isaReason}`);
console.log("| product | relaxed GMAC/s (best) | SIMD GMAC/s (best) | relaxed/SIMD (medians) | median of round ratios | relaxed path |");
console.log("|---|---:|---:|---:|---:|---|");
const g = (m: number, b: number) => `${m.toFixed(1)} (${b.toFixed(1)})`;
for (const r of rows) {
  console.log(`| ${r.name} | ${g(r.relaxedGmacs, r.relaxedBestGmacs)} | ${g(r.simdGmacs, r.simdBestGmacs)} | ` +
    `${r.ratio.toFixed(2)}x | ${r.ratioOfRounds.toFixed(2)}x | ${r.relaxedPath ? "yes" : "no"} |`);
}
const G = (x: number) => (x / 1e9).toFixed(2);
console.log(`vector ops/s (G, 12 register chains, best of 200 short calls): pmaddwd ${G(ops.pmaddwd)}, ` +
  `pmaddubsw ${G(ops.pmaddubsw)}, the two interleaved ${G(ops.mixed)}, paddd ${G(ops.paddd)}`);
console.log(`multiply-bound ceiling of both inner loops: 8 MACs per multiply x ${G(ops.mixed)} G/s = ${ceilingGmacs.toFixed(1)} GMAC/s`);
if (args.json) {
  writeFileSync(args.json, JSON.stringify({ node: process.version, cpu, rounds: args.rounds, isaReason: relaxed.isaReason, rows, opsPerSecond: ops, ceilingGmacs }, null, 2));
}
