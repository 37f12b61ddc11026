// Files a user names are read within bounds: devices, FIFOs, directories, sparse giants and headers
// that declare more than the limit end in an InputFileError (APTKIT_INPUT_FILE) naming the path,
// what it was meant to be and the limit, quickly and without reading the bulk.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtemp, open, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { mkdir } from "node:fs/promises";
import { readUserFile } from "../src/io/read.js";
import { loadIdxDataset, DatasetError, IDX_FILES } from "../src/data/index.js";
import { InputFileError } from "../src/io/errors.js";
import { readModelFile, MODEL_FILE_MAX_BYTES, ModelFileError, saveModel } from "../src/model-file/index.js";
import { CheckpointError, readCheckpointFile, CHECKPOINT_MAX_BYTES } from "../src/train/checkpoint.js";
import { IntegerLearner } from "../src/train/integer.js";
import { mlp } from "../src/nn/model.js";

const work = await mkdtemp(join(tmpdir(), "aptkit-hostile-io-"));
let modelBytes: Uint8Array | undefined;
async function validModel(): Promise<Uint8Array> {
  modelBytes ??= await saveModel(await IntegerLearner.create(mlp([3], [5], 3), { batch: 4, seed: 5, weightBits: 6, maxWeightBits: 8 }));
  return modelBytes;
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  const started = Date.now();
  const e = await p.then(() => assert.fail("expected a refusal"), (x: unknown) => x as Error);
  assert.ok(Date.now() - started < 5000, `refused within 5 s (took ${Date.now() - started} ms)`);
  return e;
}

function fifo(name: string): string {
  const path = join(work, name);
  execFileSync("mkfifo", [path]);
  return path;
}

/** A real writer process: `sh -c CMD > fifo`. */
function writer(cmd: string, path: string) {
  const child = spawn("sh", ["-c", `${cmd} > '${path}'`], { stdio: "ignore" });
  child.on("error", () => {});
  return child;
}

test("/dev/zero as a model file or a checkpoint is refused as a device, before a byte is read", async () => {
  for (const read of [readModelFile, readCheckpointFile]) {
    const e = await refusal(read("/dev/zero"));
    assert.ok(e instanceof InputFileError, `${e}`);
    assert.equal(e.code, "APTKIT_INPUT_FILE");
    assert.equal(e.problem, "not-a-file");
    assert.equal(e.path, "/dev/zero");
    assert.match(e.message, /^(model file|checkpoint) \/dev\/zero: is a character device, not a regular file or a pipe/);
  }
});

test("a directory, a missing path and a dangling link are named as such", async () => {
  const d = await refusal(readModelFile(work));
  assert.ok(d instanceof InputFileError && d.problem === "directory", `${d}`);
  assert.match(d.message, /is a directory/);
  const m = await refusal(readModelFile(join(work, "nope.aptkit")));
  assert.ok(m instanceof InputFileError && m.problem === "missing", `${m}`);
  execFileSync("ln", ["-s", join(work, "gone"), join(work, "dangling")]);
  const l = await refusal(readCheckpointFile(join(work, "dangling")));
  assert.ok(l instanceof InputFileError && l.problem === "missing", `${l}`);
});

test("a sparse 8 GiB file is refused from its size, before it is read", async () => {
  const path = join(work, "huge.aptkit");
  const h = await open(path, "w");
  await h.truncate(8 * 2 ** 30);
  await h.close();
  const before = process.memoryUsage().rss;
  const e = await refusal(readModelFile(path));
  assert.ok(e instanceof InputFileError && e.problem === "too-large", `${e}`);
  assert.equal(e.limit, MODEL_FILE_MAX_BYTES);
  assert.match(e.message, new RegExp(`is 8589934592 bytes, more than the model file limit of ${MODEL_FILE_MAX_BYTES} bytes`));
  assert.ok(process.memoryUsage().rss - before < 64 * 2 ** 20, "nothing of it was read");
  const c = await refusal(readCheckpointFile(path));
  assert.ok(c instanceof InputFileError && c.limit === CHECKPOINT_MAX_BYTES, `${c}`);
});

test("a caller's own limit is the one enforced and named", async () => {
  const path = join(work, "model.aptkit");
  const bytes = await validModel();
  await writeFile(path, bytes);
  assert.deepEqual(await readModelFile(path), bytes);
  const e = await refusal(readModelFile(path, { maxBytes: bytes.length - 1 }));
  assert.ok(e instanceof InputFileError && e.limit === bytes.length - 1, `${e}`);
});

test("a model file read through a FIFO from a real writer arrives whole", async () => {
  const src = join(work, "pipe-src.aptkit");
  await writeFile(src, await validModel());
  const path = fifo("model.fifo");
  const child = writer(`cat '${src}'`, path);
  assert.deepEqual(await readModelFile(path), await validModel());
  child.kill();
});

test("a FIFO nobody writes to is refused after the wait, not awaited forever", async () => {
  const path = fifo("silent.fifo");
  const e = await refusal(readModelFile(path, { writerWaitMs: 300 }));
  assert.ok(e instanceof InputFileError && e.problem === "no-writer", `${e}`);
  assert.match(e.message, /is a pipe that no process wrote to within 300 ms/);
});

test("an endless stream of zeros through a FIFO is refused at the magic number", async () => {
  const path = fifo("zeros.fifo");
  const child = writer("cat /dev/zero", path);
  const e = await refusal(readModelFile(path));
  assert.ok(e instanceof ModelFileError && e.field === "magic", `${e}`);
  child.kill();
});

test("a stream whose header declares more than the limit stops after the header", async () => {
  const head = (await validModel()).slice(0, 32);
  new DataView(head.buffer).setUint32(16, 0xfffffff0, true);
  const src = join(work, "bomb-head.aptkit");
  await writeFile(src, head);
  const path = fifo("bomb.fifo");
  const child = writer(`cat '${src}' /dev/zero`, path);
  const e = await refusal(readModelFile(path));
  assert.ok(e instanceof InputFileError && e.problem === "too-large", `${e}`);
  assert.match(e.message, /its header declares 4294967280 bytes, more than the model file limit/);
  child.kill();
});

test("a stream that goes on past the length its header declares stops there", async () => {
  const src = join(work, "long.aptkit");
  await writeFile(src, await validModel());
  const path = fifo("long.fifo");
  const child = writer(`cat '${src}' /dev/zero`, path);
  const e = await refusal(readModelFile(path));
  assert.ok(e instanceof InputFileError && e.problem === "longer-than-declared", `${e}`);
  assert.match(e.message, new RegExp(`past the ${(await validModel()).length} bytes its header declares`));
  child.kill();
});

test("a pipe with no declared length stops at the limit", async () => {
  const path = fifo("plain.fifo");
  const child = writer("cat /dev/zero", path);
  const e = await refusal(readUserFile(path, { what: "notes", maxBytes: 4 << 20 }));
  assert.ok(e instanceof InputFileError && e.problem === "too-large", `${e}`);
  assert.match(e.message, /^notes .*: the pipe goes on past the notes limit of 4194304 bytes/);
  child.kill();
});

test("a checkpoint header declaring a state over 64 MiB is refused from the header", async () => {
  const head = new Uint8Array(64);
  head.set([0x41, 0x50, 0x54, 0x4b, 0x49, 0x54, 0x43, 0x00]);
  const v = new DataView(head.buffer);
  v.setUint16(8, 1, true);
  v.setUint32(16, 0xffffffff, true);
  const path = join(work, "state-bomb.ckpt");
  await writeFile(path, head);
  const e = await refusal(readCheckpointFile(path));
  assert.ok(e instanceof CheckpointError && e.field === "stateLength", `${e}`);
  const other = join(work, "not-a-ckpt");
  await writeFile(other, "hello, world, this is not a checkpoint");
  const m = await refusal(readCheckpointFile(other));
  assert.ok(m instanceof CheckpointError && m.field === "magic", `${m}`);
});

test("reading never changes the file read", async () => {
  const path = join(work, "kept.aptkit");
  const bytes = await validModel();
  await writeFile(path, bytes);
  await readModelFile(path, { maxBytes: 10 }).catch(() => {});
  await readModelFile(path);
  assert.deepEqual(new Uint8Array(await readFile(path)), bytes);
});

test("gzipped IDX files whose headers declare 256 MiB of images are refused from the header, not inflated", async () => {
  const dir = join(work, "idx-bomb");
  await mkdir(dir);
  const idx = (dims: number[], body: Uint8Array) => {
    const out = new Uint8Array(4 + 4 * dims.length + body.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, 0x0800 | dims.length);
    dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
    out.set(body, 4 + 4 * dims.length);
    return out;
  };
  // 342,392 images of 28 x 28: 256 MiB declared; 4 MiB of zeros present (a 4 KB gzip).
  const bomb = gzipSync(idx([342_392, 28, 28], new Uint8Array(4 << 20)));
  const labels = gzipSync(idx([342_392], new Uint8Array(342_392)));
  await writeFile(join(dir, `${IDX_FILES.trainImages}.gz`), bomb);
  await writeFile(join(dir, `${IDX_FILES.testImages}.gz`), bomb);
  await writeFile(join(dir, `${IDX_FILES.trainLabels}.gz`), labels);
  await writeFile(join(dir, `${IDX_FILES.testLabels}.gz`), labels);
  const before = process.memoryUsage().rss;
  const e = await refusal(loadIdxDataset(dir));
  assert.ok(e instanceof DatasetError, `${e}`);
  assert.equal(e.offset, 4);
  assert.match(e.message, /train-images-idx3-ubyte.gz: dimensions 342392 x 28 x 28 .*declare 268435328 bytes of images/);
  assert.match(e.message, /more than maxBytes = 67108864 \(refused before reading it\)/);
  assert.ok(process.memoryUsage().rss - before < 100 * 2 ** 20, "nothing like the declared size was allocated");
});
