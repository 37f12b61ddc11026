// Budgets as given on the command line: bytes, IEC binary sizes, device profiles; every refusal
// names the value and lists what is accepted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_BUDGET_BYTES, PAGE_BYTES, formatSize, groupDigits, parseBudget } from "../src/budget/budget.js";
import { PROFILES, PROFILE_NAMES, findProfile } from "../src/budget/profiles.js";

const KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

test("plain bytes, as a string, with B, or as a number", () => {
  for (const input of ["262144", "262144B", " 262144 ", 262144, "262144 B"]) {
    const b = parseBudget(input);
    assert.equal(b.bytes, 262144, String(input));
    assert.equal(b.pages, 4);
    assert.equal(b.usableBytes, 262144);
    assert.equal(b.source, "262,144 bytes");
  }
});

test("IEC binary units are powers of 1024, fractions allowed when the bytes come out whole", () => {
  const cases: [string, number][] = [
    ["256KiB", 256 * KiB], ["256 KiB", 256 * KiB], ["1MiB", MiB], ["1.5MiB", 1.5 * MiB],
    ["0.25MiB", 256 * KiB], ["1GiB", GiB], ["4GiB", 4 * GiB], ["64KiB", PAGE_BYTES], ["262144.0", 262144],
  ];
  for (const [input, bytes] of cases) {
    const b = parseBudget(input);
    assert.equal(b.bytes, bytes, input);
    assert.equal(b.pages, Math.floor(bytes / PAGE_BYTES), input);
  }
  assert.equal(parseBudget("256KiB").source, "256KiB (262,144 bytes)");
  assert.equal(parseBudget("4GiB").pages, 65536);
});

test("the usable budget is whole pages: the remainder of a page is not usable", () => {
  const b = parseBudget(100000);
  assert.deepEqual([b.bytes, b.pages, b.usableBytes], [100000, 1, 65536]);
  assert.equal(parseBudget(65536).pages, 1);
  assert.equal(parseBudget(131071).pages, 1);
  assert.equal(parseBudget(MAX_BUDGET_BYTES).pages, 65536);
});

test("device profiles, with the SRAM of the part each cites", () => {
  const expected: Record<string, [number, number]> = {
    "cortex-m4": [256 * KiB, 4],
    "cortex-m7": [512 * KiB, 8],
    rp2040: [264 * KiB, 4], // 270,336 bytes: 4 whole pages, 8 KiB left to the runtime
    esp32s3: [512 * KiB, 8],
    "rpi-zero": [512 * MiB, 8192],
  };
  assert.deepEqual([...PROFILE_NAMES].sort(), Object.keys(expected).sort());
  for (const [name, [bytes, pages]] of Object.entries(expected)) {
    const b = parseBudget(name);
    assert.deepEqual([b.bytes, b.pages, b.profile], [bytes, pages, name]);
    assert.match(b.source, new RegExp(`^profile ${name}: `));
    assert.equal(parseBudget(name.toUpperCase()).bytes, bytes);
  }
  for (const p of PROFILES) {
    assert.match(p.source, /datasheet|Datasheet|specification/, p.name);
    assert.ok(p.description.length > 0);
  }
  assert.equal(findProfile(" RP2040 ")?.name, "rp2040");
  assert.equal(findProfile("cortex-m0"), undefined);
});

function refused(input: string | number, reason: RegExp): void {
  assert.throws(() => parseBudget(input), (e: unknown) => {
    assert.ok(e instanceof RangeError, `${String(input)}: ${String(e)}`);
    const shown = typeof input === "string" ? JSON.stringify(input) : String(input);
    assert.ok(e.message.startsWith(`budget ${shown}: `), e.message);
    assert.match(e.message, reason);
    assert.match(e.message, /Accepted: a whole number of bytes/);
    assert.match(e.message, /"256KiB"/);
    for (const name of PROFILE_NAMES) assert.ok(e.message.includes(name), `${name} missing from: ${e.message}`);
    return true;
  });
}

test("unknown units, junk and empty input are refused", () => {
  refused("256XB", /unknown unit "XB"/);
  refused("256b", /unknown unit "b"/);
  refused("1e6", /not a byte count, a size or a profile name/);
  refused("0x40000", /not a byte count/);
  refused("cortex-m0", /not a byte count/);
  refused("256 KiB of RAM", /not a byte count/);
  refused("", /empty/);
  refused("   ", /empty/);
  refused("256kib", /did you mean 256KiB\?/);
  refused("1.5mib", /did you mean 1\.5MiB\?/);
});

test("ambiguous short units are refused with both readings", () => {
  refused("512KB", /"KB" is ambiguous.*write 512KiB \(524,288 bytes\) or 512000 \(bytes\)/);
  refused("256kB", /"kB" is ambiguous.*256KiB \(262,144 bytes\) or 256000/);
  refused("256K", /"K" is ambiguous/);
  refused("1MB", /"MB" is ambiguous.*1MiB \(1,048,576 bytes\) or 1000000/);
  refused("2GB", /"GB" is ambiguous.*2GiB/);
  refused("1M", /"M" is ambiguous/);
  refused("1.1kB", /write 1100 \(bytes\)$|write 1100 \(bytes\)\./); // 1126.4 bytes binary: not offered
  refused("0.0001KB", /write a whole number of bytes/);
});

test("negative, zero, NaN, infinite and fractional budgets are refused", () => {
  refused("-256KiB", /cannot be negative/);
  refused("-65536", /cannot be negative/);
  refused(-65536, /cannot be negative/);
  refused("0", /zero bytes/);
  refused("0KiB", /zero bytes/);
  refused(0, /zero bytes/);
  refused("NaN", /not a number/);
  refused(NaN, /not a number/);
  refused(Infinity, /not a finite number/);
  refused("Infinity", /not a number/);
  refused(262144.5, /whole number of bytes/);
  refused("262144.5", /262144\.5 bytes, not a whole number/);
  refused("1.3KiB", /1331\.2 bytes, not a whole number/);
});

test("budgets below one page or above 4 GiB are refused", () => {
  refused("65535", /65,535 bytes is less than one 64 KiB page/);
  refused(1000, /1,000 bytes is less than one 64 KiB page/);
  refused("63KiB", /64,512 bytes is less than one/);
  refused("0.5KiB", /512 bytes is less than one/);
  refused(MAX_BUDGET_BYTES + 1, /4,294,967,297 bytes is above 4 GiB/);
  refused("5GiB", /5,368,709,120 bytes is above 4 GiB/);
  refused("4097MiB", /above 4 GiB/);
  refused("99999999999999999999999", /99,999,999,999,999,999,999,999 bytes is above 4 GiB/);
});

test("number formatting helpers", () => {
  assert.equal(groupDigits(0), "0");
  assert.equal(groupDigits(999), "999");
  assert.equal(groupDigits(1000), "1,000");
  assert.equal(groupDigits(-278784), "-278,784");
  assert.equal(groupDigits(4294967296n), "4,294,967,296");
  assert.equal(formatSize(100), "100 B");
  assert.equal(formatSize(262144), "256 KiB");
  assert.equal(formatSize(270336), "264 KiB");
  assert.equal(formatSize(1.5 * MiB), "1.5 MiB");
  assert.equal(formatSize(7376), "7.2 KiB");
  assert.equal(formatSize(4 * GiB), "4 GiB");
});
