// The command line's files: every user file is read through readUserFile and every output is
// written through writeOutput, so limits on what is read and how outputs land live in one place.
import { mkdir, open, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "../train/checkpoint.js";
import { UsageError } from "./usage.js";

const reason = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT": return "no such file";
    case "EISDIR": return "is a directory, not a file";
    case "EACCES": case "EPERM": return "permission denied";
    case "ENOTDIR": return "a part of the path is a file, not a directory";
    case "EROFS": return "the file system is read-only";
    default: return (e as Error).message;
  }
};

/** The bytes of a file the user named with `flag`; a file that cannot be read is a usage error. */
export async function readUserFile(flag: string, path: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, "r");
    const info = await handle.stat();
    if (!info.isFile()) throw Object.assign(new Error("not a regular file"), { code: info.isDirectory() ? "EISDIR" : undefined });
    return new Uint8Array(await handle.readFile());
  } catch (e) {
    throw new UsageError(flag, `${path}: ${reason(e)}`);
  } finally {
    await handle?.close();
  }
}

/** The nearest existing ancestor of `path` (itself included). */
async function nearestExisting(path: string): Promise<{ path: string; isDirectory: boolean }> {
  let p = resolve(path);
  for (;;) {
    try {
      return { path: p, isDirectory: (await stat(p)).isDirectory() };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ENOTDIR") || dirname(p) === p) throw e;
      p = dirname(p);
    }
  }
}

/**
 * Makes sure `dir` is a directory this process can write into, creating it if need be, before
 * any work: an output path that is a file, lies under a file, or cannot be written is a usage
 * error naming `flag`, not a failure after training.
 */
export async function prepareDirectory(flag: string, dir: string, what = dir): Promise<void> {
  const fail = (detail: string): never => { throw new UsageError(flag, `${what}: ${detail}`); };
  const existing = await nearestExisting(dir).catch((e) => fail(reason(e)));
  if (!existing.isDirectory) {
    fail(existing.path === resolve(what) ? "is a file, not a directory" : `${existing.path} is a file, not a directory`);
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    fail(`cannot create the directory: ${reason(e)}`);
  }
  // Permission bits do not tell (root, read-only mounts, ACLs): write a file and remove it.
  const probe = join(dir, `.aptkit-write-test-${process.pid}`);
  try {
    const handle = await open(probe, "w");
    await handle.close();
    await rm(probe, { force: true });
  } catch (e) {
    fail(`cannot write into the directory: ${reason(e)}`);
  }
}

/** Checks, before training, that the checkpoint file `path` can be written (its directory exists
 *  or can be made, and the path is not a directory). */
export async function prepareCheckpointPath(flag: string, path: string): Promise<void> {
  try {
    if ((await stat(path)).isDirectory()) throw new UsageError(flag, `${path}: is a directory, not a file`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT" && (e as NodeJS.ErrnoException).code !== "ENOTDIR") throw new UsageError(flag, `${path}: ${reason(e)}`);
  }
  await prepareDirectory(flag, dirname(path), path);
}

/** Writes an output file atomically: a kill leaves the previous file or the new one, never half. */
export async function writeOutput(path: string, contents: string | Uint8Array): Promise<void> {
  await writeFileAtomic(path, typeof contents === "string" ? new TextEncoder().encode(contents) : contents);
}
