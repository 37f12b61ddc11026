// Reading a file a user named, bounded before it is read (docs/reliability.md, "Bounded reads").
//
// A path on a command line can name anything: /dev/zero, a FIFO nobody writes to, a directory, a
// sparse file of terabytes, a pipe that never ends. readUserFile reads regular files and pipes only,
// refuses a regular file larger than its limit before reading a byte, stops a pipe at the limit,
// and, given the format's header, refuses a file whose header declares more than the limit (and
// stops a pipe at the length its header declares) before the body is read.
//
// The node: modules are imported when first needed: this module sits in the import graph of
// train(), which also runs in browsers.
import { InputFileError } from "./errors.js";
import { nodeFs, nodeFsSync } from "../runtime/files.js";

/** How a format states its total length in its first bytes. */
export interface DeclaredLength {
  /** Bytes of the header that hold the length. */
  headerBytes: number;
  /** The file's total length as the header declares it, given its first `headerBytes` bytes (or
   *  fewer, when the file is shorter: then return undefined and let the decoder say what is cut).
   *  May throw the format's own error (a wrong magic number): that error propagates. */
  length(head: Uint8Array): number | undefined;
}

export interface ReadUserFileOptions {
  /** What the file is meant to be, for messages: "model file", "checkpoint", "IDX file". */
  what: string;
  /** The largest file accepted, in bytes. */
  maxBytes: number;
  /** The format's length field: a header declaring more than maxBytes is refused before the body
   *  is read, and a pipe is not read past the declared length. */
  declared?: DeclaredLength;
  /** A pipe (FIFO, /dev/stdin from a pipe) that no process writes to is refused after this many
   *  milliseconds. Default 2000. */
  writerWaitMs?: number;
  /** A pipe whose writer sends nothing for this many milliseconds is refused. Default 30000. */
  idleMs?: number;
}

export const DEFAULT_WRITER_WAIT_MS = 2000;
export const DEFAULT_IDLE_MS = 30_000;
const CHUNK = 1 << 20;

function kindOf(st: import("node:fs").Stats): string {
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

const plural = (n: number) => `${n} byte${n === 1 ? "" : "s"}`;

/**
 * The bytes of the regular file or pipe at `path`, at most `maxBytes` of them. Throws
 * InputFileError (code APTKIT_INPUT_FILE) naming the path, `what` and the limit: for a missing or
 * unreadable path, a directory, a device or socket, a file or pipe over the limit, a header that
 * declares more than the limit, a pipe longer than its header declares, a pipe with no writer
 * (after writerWaitMs) or a stalled one (after idleMs).
 */
export async function readUserFile(path: string, options: ReadUserFileOptions): Promise<Uint8Array> {
  const { what, maxBytes } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`readUserFile: maxBytes must be a non-negative integer, got ${maxBytes}`);
  const fs = await nodeFs();
  const { constants } = await nodeFsSync();
  const fail = (problem: ConstructorParameters<typeof InputFileError>[2], detail: string, cause?: unknown) =>
    new InputFileError(path, what, problem, maxBytes, detail, cause === undefined ? undefined : { cause });
  let handle: import("node:fs/promises").FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO blocks until a writer appears; non-blocking, it returns at once
    // and the read loop below bounds the wait. On a regular file the flag changes nothing.
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw fail("missing", "no such file", e);
    if (code === "EISDIR") throw fail("directory", "is a directory, not a file", e);
    if (code === "ENXIO") throw fail("not-a-file", "is a socket, not a regular file or a pipe", e);
    throw fail("unreadable", `cannot be opened (${code ?? (e as Error).message})`, e);
  }
  try {
    // The checks run on the opened file, not on the name, so a path swapped between a check and the
    // open cannot slip a device past them.
    const st = await handle.stat();
    if (st.isDirectory()) throw fail("directory", "is a directory, not a file");
    if (st.isFile()) {
      if (st.size > maxBytes) throw fail("too-large", `is ${plural(st.size)}, more than the ${what} limit of ${plural(maxBytes)}`);
      return await readRegular(handle, st.size, options, fail);
    }
    if (st.isFIFO()) return await readPipe(handle, options, fail);
    throw fail("not-a-file", `is ${kindOf(st)}, not a regular file or a pipe`);
  } finally {
    await handle.close();
  }
}

type Fail = (problem: ConstructorParameters<typeof InputFileError>[2], detail: string, cause?: unknown) => InputFileError;

function checkDeclared(head: Uint8Array, o: ReadUserFileOptions, fail: Fail): number | undefined {
  if (!o.declared) return undefined;
  const declared = o.declared.length(head);
  if (declared !== undefined && declared > o.maxBytes) {
    throw fail("too-large", `its header declares ${plural(declared)}, more than the ${o.what} limit of ${plural(o.maxBytes)}`);
  }
  return declared;
}

async function readRegular(handle: import("node:fs/promises").FileHandle, size: number, o: ReadUserFileOptions, fail: Fail): Promise<Uint8Array> {
  const readAt = async (buf: Uint8Array, from: number, at: number, want: number): Promise<number> => {
    let got = 0;
    while (got < want) {
      const { bytesRead } = await handle.read(buf, from + got, want - got, at + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  };
  if (o.declared) {
    const head = new Uint8Array(Math.min(o.declared.headerBytes, size));
    const n = await readAt(head, 0, 0, head.length);
    checkDeclared(head.subarray(0, n), o, fail);
  }
  // One more byte than the size found: a file that grew since (a log, /proc) is read on in
  // chunks, still up to the limit only.
  let out = new Uint8Array(size + 1);
  let total = await readAt(out, 0, 0, out.length);
  while (total === out.length) {
    if (total > o.maxBytes) throw fail("too-large", `grew past the ${o.what} limit of ${plural(o.maxBytes)} while being read`);
    const next = new Uint8Array(Math.min(out.length + CHUNK, o.maxBytes + 1));
    next.set(out);
    out = next;
    total += await readAt(out, total, total, out.length - total);
  }
  if (total > o.maxBytes) throw fail("too-large", `grew past the ${o.what} limit of ${plural(o.maxBytes)} while being read`);
  return total === out.length ? out : out.slice(0, total);
}

async function readPipe(handle: import("node:fs/promises").FileHandle, o: ReadUserFileOptions, fail: Fail): Promise<Uint8Array> {
  const writerWaitMs = o.writerWaitMs ?? DEFAULT_WRITER_WAIT_MS;
  const idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
  // One buffer, grown by doubling up to the cap: a pipe at the limit costs at most 1.5 times the
  // limit while the last growth copies, never a list of chunks plus their concatenation.
  let out = new Uint8Array(Math.min(64 * 1024, o.maxBytes + 1));
  let total = 0;
  let cap = o.maxBytes;
  let declared: number | undefined;
  let headChecked = !o.declared;
  // A read of 0 bytes means "no writer": none connected yet, or the writer closed. Once a byte
  // (or EAGAIN, "a writer is connected but has sent nothing yet") was seen, it is the end.
  let writerSeen = false;
  const started = Date.now();
  let lastData = started;
  let emptyReads = 0;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (;;) {
    if (total === out.length) {
      const next = new Uint8Array(Math.min(out.length * 2, cap + 1));
      next.set(out);
      out = next;
    }
    // At most one byte past the cap, to tell "exactly the cap" from "more than the cap".
    const want = Math.min(CHUNK, cap + 1 - total, out.length - total);
    let n: number;
    try {
      n = (await handle.read(out, total, want, null)).bytesRead;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw fail("unreadable", `read failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, e);
      writerSeen = true;
      if (Date.now() - lastData > idleMs) throw fail("stalled", `the pipe's writer sent nothing for ${idleMs} ms (after ${plural(total)})`);
      // A pipe holds 64 KiB: a fast writer refills it within microseconds, so the first waits are
      // a turn of the event loop; a slow one is polled at most every 20 ms.
      await (emptyReads < 16 ? new Promise((r) => setImmediate(r)) : sleep(Math.min(20, emptyReads - 15)));
      emptyReads++;
      continue;
    }
    if (n === 0) {
      if (writerSeen) break;
      if (Date.now() - started > writerWaitMs) {
        throw fail("no-writer", `is a pipe that no process wrote to within ${writerWaitMs} ms`);
      }
      await sleep(10);
      continue;
    }
    writerSeen = true;
    lastData = Date.now();
    emptyReads = 0;
    total += n;
    if (!headChecked && total >= o.declared!.headerBytes) {
      headChecked = true;
      declared = checkDeclared(out.subarray(0, total), o, fail);
      if (declared !== undefined) cap = Math.min(cap, declared);
    }
    if (total > cap) {
      throw declared !== undefined && cap === declared
        ? fail("longer-than-declared", `the pipe goes on past the ${plural(declared)} its header declares`)
        : fail("too-large", `the pipe goes on past the ${o.what} limit of ${plural(o.maxBytes)}`);
    }
  }
  if (!headChecked) checkDeclared(out.subarray(0, total), o, fail);
  return total === out.length ? out : out.slice(0, total);
}
