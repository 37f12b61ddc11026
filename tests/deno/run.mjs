// Runs the Deno suite (tests/deno/*_test.ts, against dist/) with the deno binary of the npm
// package `deno`, and prints "N passed, N failed" (Deno's own summary reads "ok | N passed | N failed").
// Exit code 1 when any test fails or deno does not run. Extra arguments go to `deno test`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const deno = path.join(root, "node_modules", ".bin", "deno");
const files = readdirSync(path.join(root, "tests", "deno")).filter((f) => f.endsWith("_test.ts")).sort()
  .map((f) => path.join("tests", "deno", f));
const res = spawnSync(deno, ["test", "--allow-read", "--no-prompt", ...process.argv.slice(2), ...files], {
  cwd: root, encoding: "utf8", maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
});
if (res.error) {
  console.error(`cannot run ${deno}: ${res.error.message} (npm ci installs the devDependency deno)`);
  process.exit(1);
}
process.stderr.write(res.stderr);
process.stdout.write(res.stdout);
const summary = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(res.stdout + res.stderr);
const passed = summary ? Number(summary[1]) : 0;
const failed = summary ? Number(summary[2]) : 1;
console.log(`\n${passed} passed, ${failed} failed${summary ? "" : " (no Deno summary: see the output above)"}`);
process.exit(res.status === 0 && failed === 0 && summary ? 0 : 1);
