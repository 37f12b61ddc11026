// One writer per path (docs/reliability.md, "One writer per path"): a lock file `PATH.lock`,
// created with O_EXCL, holding its owner's pid, host, boot and process start time. A lock whose
// owner is gone (a killed run) is taken over; a live owner's is not, and the second writer gets a
// LockedError (APTKIT_LOCKED) naming the path and the owner's pid.
//
// Taking over a stale lock is itself serialised by a second O_EXCL file (`PATH.lock.break`): two
// processes that both judged the same lock stale cannot both remove it, nor can one of them remove
// the fresh lock the other just created.
import { LockedError } from "./errors.js";
import { processAlive } from "./atomic.js";
import { nodeFs, nodeFsSync, nodeOs, nodePath } from "../runtime/files.js";

/** A held lock. `release()` (or `await using`) gives it up; releasing twice is harmless. */
export interface PathLock {
  readonly path: string;
  readonly lockFile: string;
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Owner {
  pid: number;
  host: string;
  /** Linux's boot id: a lock written before a reboot is stale whatever its pid. */
  boot: string | null;
  /** The owner's start time in clock ticks since boot (/proc/PID/stat): a reused pid has another. */
  start: string | null;
  nonce: string;
  since: string;
}

/** Locks this process holds: lock file -> nonce (removed at exit if not released). */
const held = new Map<string, string>();
let exitHook = false;

async function readProc(file: string): Promise<string | null> {
  try {
    const { readFile } = await nodeFs();
    return (await readFile(file, "utf8")).trim();
  } catch {
    return null;
  }
}

/** Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces). */
async function startTime(pid: number): Promise<string | null> {
  const stat = await readProc(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? null;
}

async function self(): Promise<Omit<Owner, "nonce" | "since">> {
  const { hostname } = await nodeOs();
  return { pid: process.pid, host: hostname(), boot: await readProc("/proc/sys/kernel/random/boot_id"), start: await startTime(process.pid) };
}

function parseOwner(text: string): Owner | null {
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    if (typeof o !== "object" || o === null || !Number.isSafeInteger(o.pid) || typeof o.host !== "string" || typeof o.nonce !== "string") return null;
    return { pid: o.pid!, host: o.host, boot: typeof o.boot === "string" ? o.boot : null, start: typeof o.start === "string" ? o.start : null, nonce: o.nonce, since: String(o.since ?? "?") };
  } catch {
    return null;
  }
}

/** Whether the lock's owner may still be running. Owners on another host cannot be checked: they
 *  count as live. */
async function ownerAlive(owner: Owner, me: Omit<Owner, "nonce" | "since">): Promise<boolean> {
  if (owner.host !== me.host) return true;
  if (owner.boot !== null && me.boot !== null && owner.boot !== me.boot) return false;
  if (owner.pid === me.pid) return true;
  if (!processAlive(owner.pid)) return false;
  if (owner.start !== null) {
    const now = await startTime(owner.pid);
    if (now !== null && now !== owner.start) return false;
  }
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the lock of `path` (the file `PATH.lock` beside it; for a directory, beside the directory),
 * creating the parent directory if needed. Throws LockedError when a live process holds it,
 * including this one. A lock left by a process that is gone is taken over.
 */
export async function lockPath(path: string): Promise<PathLock> {
  const fs = await nodeFs();
  const { dirname, resolve } = await nodePath();
  const target = resolve(path);
  if (dirname(target) === target) throw new RangeError(`lockPath: cannot lock the root directory ${target}`);
  const lockFile = `${target}.lock`;
  await fs.mkdir(dirname(lockFile), { recursive: true });
  const me = await self();
  const nonce = `${me.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
  const text = JSON.stringify({ ...me, nonce, since: new Date().toISOString() } satisfies Owner) + "\n";
  const deadline = Date.now() + 3000;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await fs.open(lockFile, "wx");
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let found: string;
    let mtime: number;
    try {
      found = await fs.readFile(lockFile, "utf8");
      mtime = (await fs.stat(lockFile)).mtimeMs;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // released meanwhile
      throw e;
    }
    const owner = parseOwner(found);
    if (owner === null) {
      // Being written right now (created, not yet filled), or cut by a crash in that moment.
      if (Date.now() - mtime < 2000 && Date.now() < deadline) {
        await sleep(20);
        continue;
      }
      if (Date.now() - mtime < 2000) {
        throw new LockedError(path, lockFile, 0, "?", `its lock file ${lockFile} is being created by another process`);
      }
    } else if (await ownerAlive(owner, me)) {
      const who = owner.pid === me.pid && owner.host === me.host ? `this process (${owner.pid})` : `process ${owner.pid} on ${owner.host}`;
      throw new LockedError(path, lockFile, owner.pid, owner.host,
        `locked by ${who} since ${owner.since} (lock file ${lockFile}); wait for it to finish` +
          (owner.host === me.host ? "" : `, or, if no such process runs on ${owner.host}, remove the lock file`));
    }
    if (attempt > 500) throw new LockedError(path, lockFile, owner?.pid ?? 0, owner?.host ?? "?", `could not take over the stale lock ${lockFile}`);
    await breakStale(lockFile, found);
  }
  held.set(lockFile, nonce);
  installExitHook();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    held.delete(lockFile);
    // Remove it only if it is still ours (never another process's lock).
    const now = await fs.readFile(lockFile, "utf8").catch(() => null);
    if (now !== null && parseOwner(now)?.nonce === nonce) await fs.rm(lockFile, { force: true });
  };
  return { path: target, lockFile, release, [Symbol.asyncDispose]: release };
}

/** Removes the stale lock file whose content was `stale`, unless it changed meanwhile. */
async function breakStale(lockFile: string, stale: string): Promise<void> {
  const fs = await nodeFs();
  const breaker = `${lockFile}.break`;
  try {
    await (await fs.open(breaker, "wx")).close();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    // Another process is taking it over; a breaker left by a crash within this moment is old.
    const age = await fs.stat(breaker).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > 5000) await fs.rm(breaker, { force: true });
    await sleep(10);
    return;
  }
  try {
    const now = await fs.readFile(lockFile, "utf8").catch(() => null);
    if (now === stale) await fs.rm(lockFile, { force: true });
  } finally {
    await fs.rm(breaker, { force: true });
  }
}

/** Locks still held when the process exits are removed (a process that is gone holds nothing;
 *  a killed one leaves its lock, which the next writer finds stale). */
function installExitHook(): void {
  if (exitHook || typeof process === "undefined" || typeof process.on !== "function") return;
  exitHook = true;
  process.on("exit", () => {
    if (held.size === 0) return;
    // An exit handler must be synchronous: node:fs was imported when the first lock was taken.
    for (const [file, nonce] of held) {
      try {
        const text = syncFs?.readFileSync(file, "utf8");
        if (text !== undefined && parseOwner(text)?.nonce === nonce) syncFs?.rmSync(file, { force: true });
      } catch {
        // Exiting: a lock left behind is found stale by the next writer.
      }
    }
  });
  void nodeFsSync().then((m) => { syncFs = m; });
}

let syncFs: typeof import("node:fs") | undefined;
