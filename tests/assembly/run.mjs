// Runs the as-pect specs twice, SIMD build then scalar build, and prints "N passed, N failed".
// Exit code 1 when any run fails (including a compile error, which reports no test count).
// Extra arguments go to asp (e.g. `node tests/assembly/run.mjs --verbose`).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const asp = path.join(root, "node_modules/@as-pect/cli/bin/asp.js");
const runs = [
  { name: "simd", asconfig: "as-pect.asconfig.json" },
  { name: "scalar", asconfig: "as-pect.scalar.asconfig.json" },
];

let passed = 0;
let failed = 0;
let ok = true;
for (const run of runs) {
  process.stdout.write(`\n=== as-pect (${run.name}: ${run.asconfig}) ===\n`);
  const res = spawnSync(
    process.execPath,
    [asp, "--config", "as-pect.config.cjs", "--as-config", run.asconfig, ...process.argv.slice(2)],
    { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 },
  );
  process.stdout.write(res.stdout ?? "");
  process.stderr.write(res.stderr ?? "");
  // The summary's "[Tests]: passed / total" is the last such line (chalk colours stripped).
  const plain = (res.stdout ?? "").replace(/\x1b\[[0-9;]*m/g, "");
  const counts = [...plain.matchAll(/\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/g)].pop();
  if (counts) {
    const p = Number(counts[1]);
    const t = Number(counts[2]);
    passed += p;
    failed += t - p;
  } else {
    failed += 1; // did not get as far as running tests (compile error, crash)
    process.stdout.write(`as-pect (${run.name}) reported no test count\n`);
  }
  if (res.status !== 0 || !counts || Number(counts[1]) !== Number(counts[2])) ok = false;
}

process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(ok ? 0 : 1);
