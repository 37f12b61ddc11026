// Tests that need something no npm package ships (a Debian tool, a browser, a data set) say so in
// one place: with the thing absent they report themselves skipped with the exact install line, so
// `npm ci && npm test` passes on a fresh machine; with APTKIT_REQUIRE_ALL=1 (.ci/run sets it
// after installing everything) a missing thing is a failing test instead, so CI cannot go green
// by skipping.
import { test } from "node:test";
import { accessSync, constants, existsSync } from "node:fs";
import path from "node:path";

export const REQUIRE_ALL = process.env.APTKIT_REQUIRE_ALL === "1";

export interface SystemNeed {
  /** What is needed, as a reader would name it: "wabt's spectest-interp", "Chromium". */
  what: string;
  /** Whether it is there. */
  present: boolean;
  /** The command that installs it: "apt-get install wabt". */
  install: string;
}

/**
 * The `skip` option for the tests that need `need`: false when it is present, else
 * "skipped: needs <what>: <install>". Under APTKIT_REQUIRE_ALL=1 an absent need also registers a
 * failing test that says what to install.
 */
export function skipUnless(need: SystemNeed): string | false {
  if (need.present) return false;
  const reason = `needs ${need.what}: ${need.install}`;
  if (REQUIRE_ALL) {
    test(`${need.what} is installed (APTKIT_REQUIRE_ALL=1)`, () => {
      throw new Error(`APTKIT_REQUIRE_ALL=1 and this machine lacks ${need.what}; ${need.install}`);
    });
  }
  return `skipped: ${reason}`;
}

/** Whether an executable named `name` is on PATH. */
export function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Whether every one of `files` exists in `dir`, raw or gzipped. */
export function filesIn(dir: string, files: readonly string[]): boolean {
  return files.every((f) => existsSync(path.join(dir, f)) || existsSync(path.join(dir, f + ".gz")));
}
