// Atomic replacement of a file (docs/reliability.md, "Atomic checkpoints"): a reader, or a process
// started after a crash, sees the previous file whole or the new file whole, never a mixture or a
// 0-byte file.
import { nodeFs, nodePath } from "../runtime/files.js";

/** `PATH.tmp-<pid>-<8 hex digits>`: the pid says whose it is (removeStaleTemporaries keeps those of
 *  live processes); the random part keeps two writers of one process apart. */
export function temporaryName(path: string): string {
  const random = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0");
  return `${path}.tmp-${process.pid}-${random}`;
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory (so the rename stays on
 * one file system), written, flushed to disk, renamed over `path`, and the directory flushed so the
 * rename itself survives a power loss. Creates the directory if needed. On failure the temporary is
 * removed and `path` is untouched.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const fs = await nodeFs();
  const { dirname } = await nodePath();
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true });
  const tmp = temporaryName(path);
  try {
    const handle = await fs.open(tmp, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** True when a process with this id runs on this machine (one of another user counts too). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temporary files beside `path` that writers killed mid-write left behind
 * (`PATH.tmp-<pid>` and `PATH.tmp-<pid>-<hex>`), but only those whose writer is gone: the in-flight
 * temporary of a live process is never touched. Returns the names removed.
 */
export async function removeStaleTemporaries(path: string): Promise<string[]> {
  const fs = await nodeFs();
  const { basename, dirname, join } = await nodePath();
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = await fs.readdir(dirname(path));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)(?:-[0-9a-f]{8})?$/.exec(name.slice(prefix.length));
    if (!m || processAlive(Number(m[1]))) continue;
    await fs.rm(join(dirname(path), name), { force: true });
    removed.push(name);
  }
  return removed;
}
