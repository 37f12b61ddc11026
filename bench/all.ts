// `npm run bench`: the comparison with other engines (compare.bench.ts), then the training step as
// train() runs it (step.bench.ts), one after the other so they do not share the cores. Flags go to
// both; --json FILE writes FILE.compare.json and FILE.step.json.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const json = args.indexOf("--json");
for (const suite of ["compare", "step"]) {
  const own = [...args];
  if (json >= 0 && own[json + 1] !== undefined) own[json + 1] = `${own[json + 1].replace(/\.json$/, "")}.${suite}.json`;
  const file = fileURLToPath(new URL(`./${suite}.bench.ts`, import.meta.url));
  const r = spawnSync(process.execPath, [...process.execArgv, file, ...own], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
