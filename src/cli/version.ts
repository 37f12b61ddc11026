// The version the command reports: the package's own package.json, found relative to this module
// (dist/cli/ or src/cli/ alike), so it is right wherever the package is installed.
import { readFile } from "node:fs/promises";

export async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { name?: string; version?: unknown };
  if (typeof pkg.version !== "string") throw new Error(`the package.json beside aptkit has no version`);
  return pkg.version;
}
