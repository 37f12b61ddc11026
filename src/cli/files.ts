// The command line's files: every user file is read through readUserFile and every output is
// written through writeOutput, so limits on what is read and how outputs land live in one place.
import { mkdir, open, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { InputFileError, LockedError, lockPath, writeFileAtomic, type PathLock } from "../io/index.js";
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

/**
 * The bytes of a file the user named with `flag`, read by the format's own bounded reader
 * (readModelFile, readCheckpointFile: regular files and pipes only, never past the size the format
 * allows or its header declares). A path that cannot be read, or is refused by those bounds, is a
 * usage error naming the flag; a file of the wrong format keeps its own typed error.
 */
export async function readUserFile(flag: string, path: string, read: (path: string) => Promise<Uint8Array>): Promise<Uint8Array> {
  try {
    return await read(path);
  } catch (e) {
    if (e instanceof InputFileError) throw new UsageError(flag, e.message);
    if ((e as NodeJS.ErrnoException).code?.startsWith("E")) throw new UsageError(flag, `${path}: ${reason(e)}`);
    throw e;
  }
}

/** Takes `path`'s one-writer lock for this command; a path another live run holds is a usage error
 *  naming the flag and the owner. */
export async function lockForFlag(flag: string, path: string): Promise<PathLock> {
  try {
    return await lockPath(path);
  } catch (e) {
    if (e instanceof LockedError) throw new UsageError(flag, e.message);
    throw e;
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
