// One writer per path: a second process on a locked path gets APTKIT_LOCKED naming the path and
// the owner's pid; a lock whose owner is gone is taken over (once, by one process); the stale
// sweep removes only temporaries whose writer is gone; atomic writes leave the old file or the new.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lockPath } from "../src/io/lock.js";
import { LockedError } from "../src/io/errors.js";
import { removeStaleTemporaries, writeFileAtomic } from "../src/io/atomic.js";
import * as fromCheckpoint from "../src/train/checkpoint.js";

const work = await mkdtemp(join(tmpdir(), "aptkit-hostile-lock-"));
const holder = new URL("./helpers/lock-holder.ts", import.meta.url).pathname;

/** Starts a process that takes the lock of `path`; resolves with it and its first line. */
function holdLock(path: string, holdMs = 60_000): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", holder, path, String(holdMs)], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve({ child, line: out.split("\n")[0] });
    });
    child.on("exit", (code) => { if (!out.includes("\n")) reject(new Error(`lock holder exited ${code} without a word`)); });
  });
}

const exited = (child: ChildProcess) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on("exit", r)));

test("a second process on a locked path gets APTKIT_LOCKED naming the path and the owner's pid", async () => {
  const path = join(work, "out");
  const { child, line } = await holdLock(path);
  assert.equal(line, `locked ${child.pid}`);
  const e = await lockPath(path).then(() => assert.fail("took a held lock"), (x: unknown) => x);
  assert.ok(e instanceof LockedError, `${e}`);
  assert.equal(e.code, "APTKIT_LOCKED");
  assert.equal(e.ownerPid, child.pid);
  assert.equal(e.lockFile, `${path}.lock`);
  assert.match(e.message, new RegExp(`^${path} is in use: locked by process ${child.pid} on `));
  // Released by its owner: free again, and the lock file is gone.
  child.stdin!.end();
  await exited(child);
  assert.ok(!existsSync(`${path}.lock`), "a released lock leaves no file");
  const lock = await lockPath(path);
  await lock.release();
});

test("the lock of a killed owner is taken over", async () => {
  const path = join(work, "run.ckpt");
  const { child } = await holdLock(path);
  child.kill("SIGKILL");
  await exited(child);
  assert.ok(existsSync(`${path}.lock`), "a killed owner leaves its lock file");
  assert.match(await readFile(`${path}.lock`, "utf8"), new RegExp(`"pid":${child.pid}`));
  const lock = await lockPath(path);
  assert.match(await readFile(`${path}.lock`, "utf8"), new RegExp(`"pid":${process.pid}`));
  await lock.release();
});

test("of several processes racing for one stale lock, exactly one takes it", async () => {
  const path = join(work, "race");
  const { child } = await holdLock(path);
  child.kill("SIGKILL");
  await exited(child);
  const racers = await Promise.all(Array.from({ length: 4 }, () => holdLock(path, 3000)));
  const won = racers.filter((r) => r.line.startsWith("locked"));
  assert.equal(won.length, 1, racers.map((r) => r.line).join("; "));
  for (const r of racers.filter((x) => !x.line.startsWith("locked"))) {
    assert.equal(r.line, `refused APTKIT_LOCKED ${won[0].child.pid}`);
  }
  for (const r of racers) r.child.stdin!.end();
  await Promise.all(racers.map((r) => exited(r.child)));
});

test("this process cannot take its own held lock twice; release is idempotent and keeps others' locks", async () => {
  const path = join(work, "twice");
  const lock = await lockPath(path);
  const e = await lockPath(path).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof LockedError && e.ownerPid === process.pid, `${e}`);
  assert.match((e as Error).message, /locked by this process/);
  await lock.release();
  await lock.release();
  // A lock that was taken over while released must not be removed by the old holder.
  const again = await lockPath(path);
  await lock.release();
  assert.ok(existsSync(`${path}.lock`));
  await again[Symbol.asyncDispose]();
  assert.ok(!existsSync(`${path}.lock`));
});

test("an unreadable lock file left by a crash is taken over once it is old", async () => {
  const path = join(work, "garbage");
  await writeFile(`${path}.lock`, "");
  const old = new Date(Date.now() - 60_000);
  await utimes(`${path}.lock`, old, old);
  const lock = await lockPath(path);
  await lock.release();
});

test("the stale sweep removes temporaries of dead writers only, never a live one's", async () => {
  const path = join(work, "sweep.ckpt");
  const { child } = await holdLock(join(work, "unrelated"));
  const live = `sweep.ckpt.tmp-${child.pid}-0123abcd`;
  const mine = `sweep.ckpt.tmp-${process.pid}-89abcdef`;
  const dead = await (async () => {
    const c = spawn(process.execPath, ["-e", ""]);
    await exited(c);
    return c.pid!;
  })();
  const deadNames = [`sweep.ckpt.tmp-${dead}`, `sweep.ckpt.tmp-${dead}-00000000`];
  for (const n of [live, mine, ...deadNames, "sweep.ckpt.tmp-notapid", "other.tmp-1"]) await writeFile(join(work, n), "x");
  const removed = await removeStaleTemporaries(path);
  assert.deepEqual(removed.sort(), deadNames.sort());
  const left = await readdir(work);
  for (const n of [live, mine, "sweep.ckpt.tmp-notapid", "other.tmp-1"]) assert.ok(left.includes(n), `${n} kept`);
  child.stdin!.end();
  await exited(child);
});

test("writeFileAtomic replaces a file whole, leaves no temporary, and keeps the old file when it fails", async () => {
  const path = join(work, "deep/dir/model.aptkit");
  await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  await writeFileAtomic(path, "four");
  assert.equal(await readFile(path, "utf8"), "four");
  assert.deepEqual((await readdir(join(work, "deep/dir"))), ["model.aptkit"]);
  // A write that fails (the data is not writable) leaves the old file and no temporary.
  await assert.rejects(writeFileAtomic(path, 42 as unknown as string));
  assert.equal(await readFile(path, "utf8"), "four");
  assert.deepEqual((await readdir(join(work, "deep/dir"))), ["model.aptkit"]);
  // The checkpoint module keeps re-exporting the writer and the sweep.
  assert.equal(fromCheckpoint.writeFileAtomic, writeFileAtomic);
  assert.equal(fromCheckpoint.removeStaleTemporaries, removeStaleTemporaries);
});
