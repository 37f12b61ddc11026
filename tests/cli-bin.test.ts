// The installed command: help, version and usage errors with their exit codes, and the bin run
// through a link (as npx, node_modules/.bin and npm scripts run it), where it must still train.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { assertBuilt, BIN, ROOT, runCli, writeIdxData } from "./helpers/cli-child.js";

const version = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")).version as string;

before(assertBuilt);

test("--help, --version and each command's --help exit 0 and print usage on stdout", async () => {
  for (const args of [["--help"], ["-h"], ["help"]]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /^usage: aptkit <command>/);
    assert.match(r.stdout, /train .*\n.*plan .*\n.*predict .*\n/);
  }
  const v = await runCli(["--version"]);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), version);
  for (const command of ["train", "plan", "predict"]) {
    const r = await runCli([command, "--help"]);
    assert.equal(r.code, 0, `${command} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: aptkit ${command} `), command);
    assert.equal(r.stderr, "");
  }
});

test("no command, an unknown command or an unknown flag exits 2 with usage on stderr", async () => {
  const none = await runCli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: aptkit <command>/);
  const unknown = await runCli(["trian"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "trian"\nusage: aptkit <command>/);
  for (const command of ["train", "plan", "predict"]) {
    const r = await runCli([command, "--bogus", "1"]);
    assert.equal(r.code, 2, command);
    assert.match(r.stderr, new RegExp(`^aptkit ${command}: --bogus: Unknown option '--bogus'\\nusage: aptkit ${command} `));
    assert.equal(r.stdout, "");
  }
  // The policy study is npm run reproduce in a checkout, not a command of the package.
  const compare = await runCli(["compare", "--bogus"]);
  assert.equal(compare.code, 2);
  assert.match(compare.stderr, /unknown command "compare"/);
});

test("through a link, as node_modules/.bin, npx and an npm script run it, the command trains and reports", async () => {
  const project = await mkdtemp(join(tmpdir(), "aptkit-project-"));
  await mkdir(join(project, "node_modules/.bin"), { recursive: true });
  await symlink(ROOT, join(project, "node_modules/aptkit"), "dir");
  await symlink("../aptkit/dist/bin/aptkit.js", join(project, "node_modules/.bin/aptkit"));
  // npm marks a bin executable when it installs the package; the build alone does not.
  await chmod(BIN, 0o755);
  const link = join(project, "node_modules/.bin/aptkit");
  const data = await writeIdxData(join(project, "data"), { train: 200, test: 40 });

  const v = await runCli(["--version"], { command: [link], cwd: project });
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), version);
  // Before the bin entry, argv[1] (the link) failed a path test: `aptkit train` printed nothing and exited 0.
  const t = await runCli(["train", "--model", "mlp", "--data", data, "--epochs", "1", "--batch", "20", "--lr", "0.1", "--out", "out"],
    { command: [link], cwd: project });
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /test accuracy [\d.]+%/);
  const report = JSON.parse(await readFile(join(project, "out/report.json"), "utf8"));
  assert.equal(report.steps, 10);

  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, scripts: { "aptkit-version": "aptkit --version" } }));
  const run = promisify(execFile);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  // As a user's shell would run npm: not with the settings of an npm script that may be running these tests.
  // (An npm script puts node_modules/.bin first on PATH, where a dependency may bring an old npm.)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  env.PATH = (process.env.PATH ?? "").split(delimiter).filter((p) => !/node_modules[\\/]\.bin$/.test(p)).join(delimiter);
  const script = await run(npm, ["run", "--silent", "aptkit-version"], { cwd: project, env });
  assert.equal(script.stdout.trim(), version);
  const exec = await run(npm, ["exec", "--offline", "--", "aptkit", "--version"], { cwd: project, env }).catch((e) => {
    throw new Error(`npm exec failed (${e.code}): ${e.stdout}${e.stderr}`);
  });
  assert.equal(exec.stdout.trim(), version);
});
