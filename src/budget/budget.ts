// Memory budgets: what `--budget` accepts, and the page arithmetic every budget goes through.
//
// A WebAssembly memory is a whole number of 64 KiB pages, and wasm32 addresses at most 65536 of
// them (4 GiB). A budget of B bytes therefore gives floor(B / 65536) pages: 264 KiB (rp2040) is
// 4 pages, 262,144 usable bytes. A budget under one page could not even hold the module's own data.
//
// Units (docs/budget.md): plain bytes, or the IEC binary units KiB, MiB, GiB. The short forms
// K, KB, kB, M, MB, G, GB are refused as ambiguous: the very datasheets the profiles cite write
// "264kB" for 270,336 bytes, while SI reads kB as 1,000, and a silently wrong reading can cost a
// page (256,000 bytes is 3 pages, 256 KiB is 4).
import { PROFILES, PROFILE_NAMES, findProfile } from "./profiles.js";

export const PAGE_BYTES = 65536;
/** wasm32: a memory's page count is at most 2^16. */
export const MAX_PAGES = 65536;
export const MAX_BUDGET_BYTES = PAGE_BYTES * MAX_PAGES;

export interface Budget {
  /** The budget as given, in bytes. */
  bytes: number;
  /** Whole 64 KiB pages it holds: floor(bytes / 65536), the memory's `maximum`. */
  pages: number;
  /** pages * 65536: what the plan may use. */
  usableBytes: number;
  /** Where the figure came from, for messages and reports ("256KiB (262,144 bytes)", "profile rp2040: ..."). */
  source: string;
  /** The device profile's name, when the budget is one. */
  profile?: string;
}

const UNITS: Record<string, bigint> = { "": 1n, B: 1n, KiB: 1n << 10n, MiB: 1n << 20n, GiB: 1n << 30n };
const AMBIGUOUS_POWER: Record<string, number> = { k: 1, m: 2, g: 3 };

const ACCEPTED =
  `Accepted: a whole number of bytes ("262144" or "262144B"), a binary size ("256KiB", "1.5MiB", "1GiB"; ` +
  `KB, kB, MB and GB are refused as ambiguous), or a device profile (${PROFILE_NAMES.join(", ")}). ` +
  `The memory is whole 64 KiB pages: at least 65536 bytes (1 page), at most 4GiB (${MAX_PAGES} pages).`;

function refuse(input: string | number, reason: string): RangeError {
  const shown = typeof input === "string" ? JSON.stringify(input) : String(input);
  return new RangeError(`budget ${shown}: ${reason}. ${ACCEPTED}`);
}

/** 262144 -> "262,144" (fixed grouping, independent of the locale; integers). */
export function groupDigits(n: number | bigint): string {
  return String(typeof n === "bigint" ? n : Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** 262144 -> "256 KiB", 270336 -> "264 KiB", 1572864 -> "1.5 MiB", 7376 -> "7.2 KiB", 100 -> "100 B". */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = Math.abs(bytes), u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 ? String(v) : Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, "");
  return `${bytes < 0 ? "-" : ""}${text} ${units[u]}`;
}

/** "1 page", "4 pages". */
export function pageCount(pages: number): string {
  return `${groupDigits(pages)} ${pages === 1 ? "page" : "pages"}`;
}

/** Pages a plan of `bytes` occupies (the memory grows in whole pages). */
export function pagesFor(bytes: number): number {
  return Math.ceil(bytes / PAGE_BYTES);
}

/** What a budget of `budgetBytes` lets the plan use: its whole pages. */
export function usableBytes(budgetBytes: number): number {
  return Math.floor(budgetBytes / PAGE_BYTES) * PAGE_BYTES;
}

function checked(input: string | number, bytes: bigint, source: string, profile?: string): Budget {
  if (bytes === 0n) throw refuse(input, "a budget of zero bytes holds nothing");
  if (bytes < BigInt(PAGE_BYTES)) {
    throw refuse(input, `${groupDigits(bytes)} bytes is less than one 64 KiB page (65,536 bytes)`);
  }
  if (bytes > BigInt(MAX_BUDGET_BYTES)) {
    throw refuse(input, `${groupDigits(bytes)} bytes is above 4 GiB, ` +
      `the most a wasm32 memory can address`);
  }
  const n = Number(bytes);
  const pages = Math.floor(n / PAGE_BYTES);
  return { bytes: n, pages, usableBytes: pages * PAGE_BYTES, source, ...(profile ? { profile } : {}) };
}

/**
 * A budget from the command line or the API: a byte count, a binary size or a device profile.
 * Throws a RangeError that quotes the value and lists the accepted forms.
 */
export function parseBudget(input: string | number): Budget {
  if (typeof input === "number") {
    if (Number.isNaN(input)) throw refuse(input, "not a number");
    if (!Number.isFinite(input)) throw refuse(input, "not a finite number of bytes");
    if (input < 0) throw refuse(input, "a budget cannot be negative");
    if (!Number.isInteger(input)) throw refuse(input, "a budget is a whole number of bytes");
    return checked(input, BigInt(input), `${groupDigits(input)} bytes`);
  }
  if (typeof input !== "string") throw refuse(String(input), "expected a string or a number");
  const text = input.trim();
  if (text === "") throw refuse(input, "empty");
  const profile = findProfile(text);
  if (profile) return checked(input, BigInt(profile.bytes), `profile ${profile.name}: ${profile.description}`, profile.name);

  const m = /^(-?)(\d+)(?:\.(\d+))?\s*([A-Za-z]*)$/.exec(text);
  if (!m) {
    throw refuse(input, /^-?(nan|infinity)$/i.test(text) ? "not a number" : "not a byte count, a size or a profile name");
  }
  const [, sign, whole, frac = "", unit] = m;
  const multiplier = UNITS[unit];
  if (multiplier === undefined) {
    const iec = Object.keys(UNITS).find((u) => u.length === 3 && u.toLowerCase() === unit.toLowerCase());
    if (iec) throw refuse(input, `unknown unit "${unit}": did you mean ${whole}${frac ? `.${frac}` : ""}${iec}?`);
    const power = AMBIGUOUS_POWER[unit.replace(/b$/i, "").toLowerCase()];
    if (power !== undefined && /^[kmg]b?$/i.test(unit)) {
      const digits = BigInt(whole + frac), scale = 10n ** BigInt(frac.length);
      const binary = digits * 1024n ** BigInt(power), decimal = digits * 1000n ** BigInt(power);
      const alternatives: string[] = [];
      if (binary % scale === 0n) {
        alternatives.push(`${whole}${frac ? `.${frac}` : ""}${["KiB", "MiB", "GiB"][power - 1]} (${groupDigits(binary / scale)} bytes)`);
      }
      if (decimal % scale === 0n) alternatives.push(`${decimal / scale} (bytes)`);
      throw refuse(input, `"${unit}" is ambiguous (datasheets mean ${groupDigits(1024 ** power)} bytes, SI means ` +
        `${groupDigits(1000 ** power)}): write ${alternatives.length > 0 ? alternatives.join(" or ") : "a whole number of bytes"}`);
    }
    throw refuse(input, `unknown unit "${unit}"`);
  }
  const scaled = BigInt(whole + frac) * multiplier;
  const denominator = 10n ** BigInt(frac.length);
  if (scaled === 0n) throw refuse(input, "a budget of zero bytes holds nothing");
  if (sign === "-") throw refuse(input, "a budget cannot be negative");
  if (scaled % denominator !== 0n) {
    const exact = Number(scaled) / Number(denominator);
    throw refuse(input, `that is ${exact} bytes, not a whole number of bytes`);
  }
  const bytes = scaled / denominator;
  const source = unit === "" || unit === "B"
    ? `${groupDigits(bytes)} bytes`
    : `${text.replace(/\s+/g, "")} (${groupDigits(bytes)} bytes)`;
  return checked(input, bytes, source);
}

/** One line per profile, for usage text and docs: "rp2040     264 KiB  Raspberry Pi RP2040 ...". */
export function describeProfiles(): string {
  const width = Math.max(...PROFILES.map((p) => p.name.length));
  return PROFILES.map((p) => `${p.name.padEnd(width)}  ${formatSize(p.bytes).padStart(8)}  ${p.description}`).join("\n");
}
