// Hostile model files: every malformed, truncated, corrupted or crafted file is refused with a
// ModelFileError that names the field and its byte offset; no other exception type escapes, no
// read goes past the buffer (a DataView would throw RangeError), no length field makes the loader
// allocate. Crafted files get a recomputed checksum, so the structural checks behind it are reached.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mlp } from "../src/nn/model.js";
import { IntegerLearner } from "../src/train/integer.js";
import {
  CHECKSUM_BYTES, decodeModelFile, encodeModelFile, HEADER, HEADER_BYTES, loadModel, ModelFileError, RECORD, RECORD_BYTES,
  saveModel, type ModelFile,
} from "../src/model-file/index.js";

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/** A tiny trained model: input [5] -> dense0 (3x5 at 5 bits) -> relu -> dense2 (3x3 at 12 bits). */
const fixture = (async () => {
  const learner = await IntegerLearner.create(mlp([3], [5], 3), { batch: 4, seed: 5, weightBits: 8, maxWeightBits: 16 });
  const x = Float32Array.from({ length: 20 }, (_, i) => Math.sin(i * 1.7));
  const y = Uint8Array.from([0, 1, 2, 0]);
  learner.trainStep(x, y, 0.1);
  learner.setBits("dense0", 5);
  learner.setBits("dense2", 12);
  learner.trainStep(x, y, 0.1);
  const bytes = await saveModel(learner);
  return { bytes, file: await decodeModelFile(bytes) };
})();

interface Layout {
  defLength: number;
  recordsAt: number;
  records: { at: number; nameAt: number; weightsAt: number; biasAt: number; end: number }[];
  checksumAt: number;
}

/** Where the sections of a valid file are. */
function layout(bytes: Uint8Array): Layout {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const defLength = v.getUint32(HEADER.definitionLength, true);
  const recordsAt = align4(HEADER_BYTES + defLength);
  const records: Layout["records"] = [];
  let at = recordsAt;
  for (let i = 0; i < v.getUint32(HEADER.layerCount, true); i++) {
    const nameLength = v.getUint16(at + RECORD.nameLength, true);
    const weightsAt = align4(at + RECORD_BYTES + nameLength);
    const biasAt = weightsAt + v.getUint32(at + RECORD.weightLength, true);
    const end = biasAt + v.getUint32(at + RECORD.biasLength, true);
    records.push({ at, nameAt: at + RECORD.name, weightsAt, biasAt, end });
    at = end;
  }
  return { defLength, recordsAt, records, checksumAt: bytes.length - CHECKSUM_BYTES };
}

/** A copy with the checksum recomputed over everything before it. */
async function reseal(bytes: Uint8Array): Promise<Uint8Array> {
  const out = bytes.slice();
  const n = out.length - CHECKSUM_BYTES;
  out.set(new Uint8Array(await crypto.subtle.digest("SHA-256", out.subarray(0, n))), n);
  return out;
}

/** A copy with fields patched (little-endian), resealed. */
async function patched(bytes: Uint8Array, ...patches: [at: number, width: 1 | 2 | 4, value: number][]): Promise<Uint8Array> {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  for (const [at, width, value] of patches) {
    if (width === 1) v.setUint8(at, value);
    else if (width === 2) v.setUint16(at, value, true);
    else if (value < 0) v.setInt32(at, value, true);
    else v.setUint32(at, value, true);
  }
  return reseal(out);
}

/** A file assembled from a header, a definition section and the records of `from`, resealed. */
async function withDefinition(from: Uint8Array, json: Uint8Array | string): Promise<Uint8Array> {
  const text = typeof json === "string" ? new TextEncoder().encode(json) : json;
  const l = layout(from);
  const records = from.subarray(l.recordsAt, l.checksumAt);
  const size = HEADER_BYTES + align4(text.length) + records.length + CHECKSUM_BYTES;
  const out = new Uint8Array(size);
  out.set(from.subarray(0, HEADER_BYTES));
  const v = new DataView(out.buffer);
  v.setUint32(HEADER.fileLength, size, true);
  v.setUint32(HEADER.definitionLength, text.length, true);
  out.set(text, HEADER_BYTES);
  out.set(records, HEADER_BYTES + align4(text.length));
  return reseal(out);
}

function sectionJson(bytes: Uint8Array): Record<string, unknown> {
  const l = layout(bytes);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + l.defLength)));
}

/** Requires a ModelFileError, optionally for `field` (string or pattern) at `offset`. */
async function refused(what: string, p: Promise<unknown>, field?: string | RegExp, offset?: number): Promise<ModelFileError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof ModelFileError)) {
      assert.fail(`${what}: expected a ModelFileError, got ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
    }
    if (typeof field === "string") assert.equal(e.field, field, `${what}: field (${e.message})`);
    else if (field) assert.match(e.field, field, `${what}: field (${e.message})`);
    if (offset !== undefined) assert.equal(e.offset, offset, `${what}: offset (${e.message})`);
    assert.ok(e.message.includes(`${e.field} at byte ${e.offset}`), `${what}: the message names field and offset: ${e.message}`);
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0, `${what}: offset ${e.offset}`);
    return e;
  }
  return assert.fail(`${what}: the file was accepted`);
}

test("the fixture loads and predicts (so every refusal below is the damage's doing)", async () => {
  const { bytes, file } = await fixture;
  assert.deepEqual(file.layers.map((l) => [l.name, l.rows, l.cols, l.bits]), [["dense0", 3, 5, 5], ["dense2", 3, 3, 12]]);
  const m = await loadModel(bytes, { batch: 4 });
  assert.ok(m.predict(new Float32Array(10).fill(0.5), 2).logits.every(Number.isFinite));
});

test("truncation at every length is refused", async () => {
  const { bytes } = await fixture;
  for (let n = 0; n < bytes.length; n++) {
    await refused(`prefix of ${n} bytes`, loadModel(bytes.subarray(0, n)), n < 8 ? "magic" : n < 20 ? /^(version|checksumKind|headerLength|fileLength)$/ : "fileLength");
  }
  await refused("one trailing byte", loadModel(Uint8Array.from([...bytes, 0])), "fileLength", HEADER.fileLength);
});

test("every single bit flip is refused (checksum or a header check)", async () => {
  const { bytes } = await fixture;
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const b = bytes.slice();
    b[bit >> 3] ^= 1 << (bit & 7);
    await refused(`bit ${bit}`, loadModel(b));
  }
});

test("bit flips with the checksum recomputed: a structural refusal or a model that loads and runs", async () => {
  const { bytes } = await fixture;
  let valid = 0, refusedCount = 0;
  for (let bit = 0; bit < (bytes.length - CHECKSUM_BYTES) * 8; bit++) {
    const b = bytes.slice();
    b[bit >> 3] ^= 1 << (bit & 7);
    const sealed = await reseal(b);
    let file: ModelFile;
    try {
      file = await decodeModelFile(sealed);
    } catch (e) {
      if (!(e instanceof ModelFileError)) assert.fail(`bit ${bit}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : e}`);
      refusedCount++;
      continue;
    }
    // Accepted: a flipped code, exponent, seed, step... Every 4th is loaded and run in full.
    if (valid++ % 4 === 0) {
      const m = await loadModel(sealed, { batch: 4 });
      const p = m.predict(new Float32Array(5 * 3).fill(0.25), 3);
      assert.equal(p.logits.length, 3 * file.definition.classes);
      assert.ok(p.logits.every((v) => !Number.isNaN(v)), `bit ${bit}: NaN logits`);
    }
  }
  assert.ok(valid > 100 && refusedCount > 100, `valid ${valid}, refused ${refusedCount}`);
});

test("0xFFFFFFFF (and the widest value) in every length and count field is refused at that field", async () => {
  const { bytes } = await fixture;
  const l = layout(bytes);
  const cases: [field: string, at: number, width: 1 | 2 | 4, value: number, reportedAt?: number][] = [
    ["headerLength", HEADER.headerLength, 4, 0xffffffff],
    ["fileLength", HEADER.fileLength, 4, 0xffffffff],
    ["definitionLength", HEADER.definitionLength, 4, 0xffffffff],
    ["layerCount", HEADER.layerCount, 4, 0xffffffff],
    ["reserved", HEADER.reserved, 4, 0xffffffff],
  ];
  l.records.forEach((r, i) => {
    cases.push(
      [`layers[${i}].nameLength`, r.at + RECORD.nameLength, 2, 0xffff],
      [`layers[${i}].bits`, r.at + RECORD.bits, 1, 0xff],
      [`layers[${i}].biasBits`, r.at + RECORD.biasBits, 1, 0xff],
      [`layers[${i}].rows`, r.at + RECORD.rows, 4, 0xffffffff],
      [`layers[${i}].cols`, r.at + RECORD.cols, 4, 0xffffffff],
      [`layers[${i}].exp`, r.at + RECORD.exp, 4, 0x7fffffff],
      [`layers[${i}].exp`, r.at + RECORD.exp, 4, -0x80000000],
      [`layers[${i}].biasExp`, r.at + RECORD.biasExp, 4, 0x7fffffff],
      [`layers[${i}].weightLength`, r.at + RECORD.weightLength, 4, 0xffffffff],
      [`layers[${i}].biasLength`, r.at + RECORD.biasLength, 4, 0xffffffff],
      // In range for the field, wrong for the layer: caught before any slice.
      [`layers[${i}].weightLength`, r.at + RECORD.rows, 4, 1 << 24, r.at + RECORD.weightLength],
    );
  });
  for (const [field, at, width, value, reportedAt] of cases) {
    await refused(`${value} at byte ${at}`, loadModel(await patched(bytes, [at, width, value])), field, reportedAt ?? at);
  }
  // A definition that declares a layer of 2^24 rows, with fields that agree: the weights it
  // promises are not in the file, and that is found without reading or allocating them.
  const json = sectionJson(bytes) as { model: { layers: { units?: number }[] } };
  json.model.layers[0].units = 1 << 24;
  const big = await withDefinition(bytes, JSON.stringify(json));
  const r0 = layout(big).records[0];
  const crafted = await patched(big, [r0.at + RECORD.rows, 4, 1 << 24], [r0.at + RECORD.weightLength, 4, (1 << 24) * 4], [r0.at + RECORD.biasLength, 4, (1 << 24) * 2]);
  await refused("2^24-row layer", loadModel(crafted), "layers[0].weights", r0.weightsAt);
});

test("swapped and moved sections are refused", async () => {
  const { bytes } = await fixture;
  const l = layout(bytes);
  const [a, b] = l.records;
  const swapped = bytes.slice();
  swapped.set(bytes.subarray(b.at, b.end), a.at);
  swapped.set(bytes.subarray(a.at, a.end), a.at + (b.end - b.at));
  await refused("records swapped", loadModel(await reseal(swapped)), "layers[0].name", a.at + RECORD.name);
  // The definition after the records: the JSON section now starts with record bytes.
  const moved = new Uint8Array(bytes.length);
  moved.set(bytes.subarray(0, HEADER_BYTES));
  moved.set(bytes.subarray(l.recordsAt, l.checksumAt), HEADER_BYTES);
  moved.set(bytes.subarray(HEADER_BYTES, l.recordsAt), HEADER_BYTES + (l.checksumAt - l.recordsAt));
  await refused("definition after the records", loadModel(await reseal(moved)), /^definition/, HEADER_BYTES);
  // Checksum first.
  const first = new Uint8Array(bytes.length);
  first.set(bytes.subarray(l.checksumAt));
  first.set(bytes.subarray(0, l.checksumAt), CHECKSUM_BYTES);
  await refused("checksum first", loadModel(first), "magic");
  // Unsealed, any exchange is corruption.
  await refused("records swapped, checksum kept", loadModel(swapped), "checksum", l.checksumAt);
});

test("wrong magic, version, checksum algorithm and reserved bits", async () => {
  const { bytes } = await fixture;
  for (let i = 0; i < 8; i++) {
    const b = bytes.slice();
    b[i] ^= 0x20;
    await refused(`magic byte ${i}`, loadModel(b), "magic", i);
  }
  for (const v of [0, 2, 0x100, 0xffff]) await refused(`version ${v}`, loadModel(await patched(bytes, [HEADER.version, 2, v])), "version", HEADER.version);
  for (const v of [0, 2]) await refused(`checksum kind ${v}`, loadModel(await patched(bytes, [HEADER.checksumKind, 2, v])), "checksumKind", HEADER.checksumKind);
  await refused("headerLength 36", loadModel(await patched(bytes, [HEADER.headerLength, 4, 36])), "headerLength");
  await refused("reserved 1", loadModel(await patched(bytes, [HEADER.reserved, 4, 1])), "reserved");
  const bad = bytes.slice();
  bad[bad.length - 1] ^= 1;
  await refused("checksum", loadModel(bad), "checksum", bytes.length - CHECKSUM_BYTES);
  for (const input of [null, undefined, "APTKITM", [0x41, 0x50], bytes.buffer, new Uint16Array(4)]) {
    await refused(`input ${Object.prototype.toString.call(input)}`, loadModel(input as unknown as Uint8Array), "file", 0);
  }
});

test("out-of-range bits and exponents", async () => {
  const { bytes } = await fixture;
  const r = layout(bytes).records;
  for (const v of [0, 1, 17, 32]) await refused(`bits ${v}`, loadModel(await patched(bytes, [r[0].at + RECORD.bits, 1, v])), "layers[0].bits", r[0].at + RECORD.bits);
  for (const v of [1, 17]) await refused(`bias bits ${v}`, loadModel(await patched(bytes, [r[1].at + RECORD.biasBits, 1, v])), "layers[1].biasBits");
  await refused("bias bits 8", loadModel(await patched(bytes, [r[1].at + RECORD.biasBits, 1, 8])), "layers[1].biasBits");
  for (const v of [-961, 961, -100000]) {
    await refused(`exp ${v}`, loadModel(await patched(bytes, [r[1].at + RECORD.exp, 4, v])), "layers[1].exp", r[1].at + RECORD.exp);
    await refused(`bias exp ${v}`, loadModel(await patched(bytes, [r[0].at + RECORD.biasExp, 4, v])), "layers[0].biasExp");
  }
  // The bounds themselves are valid.
  for (const v of [-960, 960]) await decodeModelFile(await patched(bytes, [r[1].at + RECORD.exp, 4, v]));
  // Bits in range but disagreeing with the packed length: 3x5 at 5 bits is 12 bytes, at 7 bits 24.
  await refused("bits 7", loadModel(await patched(bytes, [r[0].at + RECORD.bits, 1, 7])), "layers[0].weightLength");
});

test("out-of-range codes and set padding bits, in weights and biases", async () => {
  const { bytes, file } = await fixture;
  /** The file with element (r, j) of a layer's weights or bias set to the raw pattern `value`,
   *  or with one raw bit of the tensor set (`bit`: a padding bit). */
  const damaged = (layer: number, what: "weights" | "bias", change: { r: number; j: number; value: number } | { bit: number }) => {
    const layers = file.layers.map((l) => ({ ...l, weights: l.weights.slice(), bias: l.bias.slice() }));
    const rec = layers[layer];
    const t = rec[what];
    if ("bit" in change) {
      t[change.bit >> 3] |= 1 << (change.bit & 7);
    } else {
      const [bits, cols] = what === "weights" ? [rec.bits, rec.cols] : [rec.biasBits, rec.rows];
      const stride = Math.ceil((cols * bits) / 32) * 4;
      for (let k = 0; k < bits; k++) {
        const pos = change.r * stride * 8 + change.j * bits + k;
        t[pos >> 3] = (t[pos >> 3] & ~(1 << (pos & 7))) | (((change.value >> k) & 1) << (pos & 7));
      }
    }
    return encodeModelFile({ ...file, layers });
  };
  const l = layout(bytes);
  // dense0: 3x5 at 5 bits, one 4-byte word per row. Element 2 of row 1 = bits 10..14 of word 1.
  await refused("most negative 5-bit code", loadModel(await damaged(0, "weights", { r: 1, j: 2, value: 0b10000 })),
    "layers[0].weights", l.records[0].weightsAt + 4 + 1);
  // The most positive code is fine.
  await decodeModelFile(await damaged(0, "weights", { r: 1, j: 2, value: 0b01111 }));
  // Bit 25 of row 0 is padding (5 elements use bits 0..24).
  await refused("weight padding bit", loadModel(await damaged(0, "weights", { bit: 25 })), "layers[0].weights", l.records[0].weightsAt);
  // dense2: 3x3 at 12 bits, 8 bytes per row; element 2 straddles the word boundary (bits 24..35).
  await refused("most negative 12-bit code across words", loadModel(await damaged(1, "weights", { r: 2, j: 2, value: 0x800 })),
    "layers[1].weights", l.records[1].weightsAt + 16 + 3);
  await refused("padding in a row's second word", loadModel(await damaged(1, "weights", { bit: 8 * 8 + 63 })), "layers[1].weights", l.records[1].weightsAt + 8 + 4);
  // Bias of dense2: 3 codes at 16 bits in 8 bytes; bytes 6..7 are padding.
  await refused("bias -32768", loadModel(await damaged(1, "bias", { r: 0, j: 1, value: 0x8000 })), "layers[1].bias", l.records[1].biasAt + 2);
  await refused("bias padding", loadModel(await damaged(1, "bias", { bit: 56 })), "layers[1].bias", l.records[1].biasAt + 4);
});

test("definition section: malformed JSON, unknown or invalid layers and settings, mismatches with the records", async () => {
  const { bytes, file } = await fixture;
  const at = HEADER_BYTES;
  await refused("not JSON", loadModel(await withDefinition(bytes, "{\"model\": ")), "definition", at);
  await refused("invalid UTF-8", loadModel(await withDefinition(bytes, Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]))), "definition", at);
  await refused("an array", loadModel(await withDefinition(bytes, "[1, 2]")), "definition", at);
  await refused("deep nesting", loadModel(await withDefinition(bytes, "[".repeat(200000) + "]".repeat(200000))), "definition", at);
  await refused("deep objects", loadModel(await withDefinition(bytes, "{\"model\":".repeat(100000) + "1" + "}".repeat(100000))), /^definition/, at);
  await refused("definitionLength too small", loadModel(await patched(bytes, [HEADER.definitionLength, 4, 1])), "definitionLength");

  const json = () => sectionJson(bytes) as { model: Record<string, unknown> & { layers: Record<string, unknown>[] } } & Record<string, unknown>;
  const cases: [string, (j: ReturnType<typeof json>) => void, string | RegExp][] = [
    ["unknown layer type", (j) => { j.model.layers[0].type = "conv3d"; }, "definition.model.layers[0].type"],
    ["prototype key as type", (j) => { j.model.layers[0].type = "constructor"; }, "definition.model.layers[0].type"],
    ["units 0", (j) => { j.model.layers[0].units = 0; }, "definition.model.layers[0].units"],
    ["units 2.5", (j) => { j.model.layers[0].units = 2.5; }, "definition.model.layers[0].units"],
    ["units as a string", (j) => { j.model.layers[0].units = "3"; }, "definition.model.layers[0].units"],
    ["units 1e300", (j) => { j.model.layers[0].units = 1e300; }, "definition.model.layers[0].units"],
    ["unknown layer property", (j) => { j.model.layers[1].bogus = 1; }, "definition.model.layers[1].bogus"],
    ["__proto__ property", (j) => { Object.defineProperty(j.model.layers[1], "__proto__", { value: { units: 3 }, enumerable: true }); }, "definition.model.layers[1].__proto__"],
    ["unknown top-level property", (j) => { j.extra = true; }, "definition.extra"],
    ["a 100 kB property name (cut in the message)", (j) => { j.model.layers[1]["k".repeat(100000)] = 1; }, `definition.model.layers[1]."${"k".repeat(40)}..."`],
    ["missing model", (j) => { delete j.model; }, "definition.model"],
    ["classes 300", (j) => { j.model.classes = 300; }, "definition.model.classes"],
    ["classes changed", (j) => { j.model.classes = 4; }, /^(definition\.model\.layers|layers\[1\]\.rows)$/],
    ["input []", (j) => { j.model.input = []; }, "definition.model.input"],
    ["input of 2^24 + 1", (j) => { j.model.input = [2 ** 24 + 1]; }, "definition.model.input[0]"],
    ["input 2-D", (j) => { j.model.input = [5, 1]; }, "definition.model.input"],
    ["relu not a boolean", (j) => { j.model.layers[0].relu = "yes"; }, "definition.model.layers[0].relu"],
    ["duplicate layer name", (j) => { j.model.layers[2].name = "dense0"; }, "definition.model.layers[2].name"],
    ["conv2d on a flat input", (j) => { j.model.layers[0] = { type: "conv2d", filters: 3, kernel: 1 }; }, "definition.model.layers[0] (conv2d)"],
    ["pool window of 3 values", (j) => { j.model.input = [5, 1, 1]; j.model.layers.unshift({ type: "maxPool", size: [1, 1, 1] }); }, "definition.model.layers[0].size"],
    ["actBits 17", (j) => { j.actBits = 17; }, "definition.actBits"],
    ["rounding up", (j) => { j.rounding = "up"; }, "definition.rounding"],
    ["seed -1", (j) => { j.seed = -1; }, "definition.seed"],
    ["step 1.5", (j) => { j.step = 1.5; }, "definition.step"],
    ["batch 0", (j) => { j.batch = 0; }, "definition.batch"],
    ["first layer wider than its record", (j) => { j.model.layers[0].units = 4; }, "layers[0].rows"],
    ["a layer renamed", (j) => { j.model.layers[0].name = "renamed"; }, "layers[0].name"],
    ["a weighted layer more", (j) => { j.model.layers.push({ type: "dense", units: 3 }); }, "layerCount"],
  ];
  for (const [what, change, field] of cases) {
    const j = json();
    change(j);
    await refused(what, loadModel(await withDefinition(bytes, JSON.stringify(j))), field);
  }
  // Records that do not follow the definition.
  await refused("a record missing", loadModel(await encodeModelFile({ ...file, layers: file.layers.slice(0, 1) })), "layerCount", HEADER.layerCount);
  await refused("a record renamed", loadModel(await encodeModelFile({ ...file, layers: file.layers.map((x, i) => (i === 1 ? { ...x, name: "dense9" } : x)) })), "layers[1].name");
  await refused("invalid UTF-8 name", loadModel(await encodeModelFile({ ...file, layers: file.layers.map((x, i) => (i === 0 ? { ...x, name: "ab\ud800" } : x)) })), "layers[0].name");
});

test("padding and stray bytes between sections are refused", async () => {
  const { bytes } = await fixture;
  // A definition section whose length leaves padding: pad with a space to length 4k+1.
  let text = JSON.stringify(sectionJson(bytes));
  while (text.length % 4 !== 1) text += " ";
  const padded = await withDefinition(bytes, text);
  await decodeModelFile(padded);
  const p = HEADER_BYTES + text.length;
  await refused("definition padding", loadModel(await patched(padded, [p + 1, 1, 7])), "definition padding", p + 1);
  // "dense0" is 6 bytes: 2 bytes of padding follow.
  const r = layout(bytes).records[0];
  await refused("name padding", loadModel(await patched(bytes, [r.nameAt + 7, 1, 1])), "layers[0].name padding", r.nameAt + 7);
  // 4 bytes between the last record and the checksum.
  const l = layout(bytes);
  const longer = new Uint8Array(bytes.length + 4);
  longer.set(bytes.subarray(0, l.checksumAt));
  new DataView(longer.buffer).setUint32(HEADER.fileLength, longer.length, true);
  await refused("stray bytes", loadModel(await reseal(longer)), "layers", l.checksumAt);
});

test("a small file declaring a huge network is refused before memory grows", async () => {
  const { bytes } = await fixture;
  const j = sectionJson(bytes);
  // 2^24 input values per sample and no weights: a few hundred bytes asking for 512 MiB at batch 32.
  j.model = { name: "bomb", input: [4096, 4096, 1], classes: 256, layers: [{ type: "maxPool", size: [4096, 16] }, { type: "flatten" }] };
  const bomb = new Uint8Array(await withDefinition(bytes, JSON.stringify(j)));
  const v = new DataView(bomb.buffer);
  // No layer records: the checksum follows the definition.
  const size = align4(HEADER_BYTES + v.getUint32(HEADER.definitionLength, true)) + CHECKSUM_BYTES;
  const trimmed = bomb.slice(0, size);
  new DataView(trimmed.buffer).setUint32(HEADER.layerCount, 0, true);
  new DataView(trimmed.buffer).setUint32(HEADER.fileLength, size, true);
  const sealed = await reseal(trimmed);
  await decodeModelFile(sealed);
  const e = await refused("memory bomb", loadModel(sealed), "definition", HEADER_BYTES);
  assert.match(e.message, /maxMemoryBytes/);
});
