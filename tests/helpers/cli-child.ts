// Running the built command as users do: a child process of dist/bin/aptkit.js, and small
// MNIST-layout IDX data sets written on the spot for its --data idx:DIR.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, statSync, readdirSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = join(ROOT, "dist/bin/aptkit.js");

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The built command must exist and be newer than the sources: a stale build would test old code. */
export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`);
  if (newest(join(ROOT, "src")) > newest(join(ROOT, "dist"))) throw new Error("dist/ is older than src/: run npm run build:host first");
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** The program to run instead of `node BIN` (e.g. a link to it). */
  command?: string[];
  /** Called once with the child when it starts (e.g. to signal it later). */
  started?: (child: ChildProcess) => void;
  timeoutMs?: number;
}

export function runCli(args: string[], o: RunOptions = {}): Promise<Run> {
  const [cmd, ...pre] = o.command ?? [process.execPath, BIN];
  return new Promise((done, fail) => {
    const child = spawn(cmd, [...pre, ...args], { cwd: o.cwd ?? ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 60_000);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
    o.started?.(child);
  });
}

function idx(dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const dv = new DataView(header.buffer);
  dv.setUint8(2, 0x08);
  dv.setUint8(3, dims.length);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/**
 * An MNIST-layout directory of `train` + `test` side x side images in 10 classes: class k is a
 * bright bar at row band k plus noise, so a small model learns it in a few steps.
 */
export async function writeIdxData(dir: string, o: { train: number; test: number; side?: number; seed?: number }): Promise<string> {
  const side = o.side ?? 28;
  let s = (o.seed ?? 1) >>> 0;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const make = (count: number) => {
    const px = new Uint8Array(count * side * side), labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const k = i % 10;
      labels[i] = k;
      const band = Math.floor((k * side) / 10), height = Math.max(1, Math.floor(side / 10));
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const on = y >= band && y < band + height;
          px[i * side * side + y * side + x] = Math.floor((on ? 160 : 0) + r() * 80);
        }
      }
    }
    return { px, labels };
  };
  await mkdir(dir, { recursive: true });
  for (const [prefix, count] of [["train", o.train], ["t10k", o.test]] as const) {
    const { px, labels } = make(count);
    await writeFile(join(dir, `${prefix}-images-idx3-ubyte`), idx([count, side, side], px));
    await writeFile(join(dir, `${prefix}-labels-idx1-ubyte`), idx([count], labels));
  }
  return `idx:${dir}`;
}

/** Exit 2, the flag named first in the message, usage printed, and no training happened. */
export function refused(r: Run, flag: string, detail: RegExp): void {
  assert.equal(r.code, 2, `${flag}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^aptkit \\w+: ${flag.replace(/[-/]/g, "\\$&")}: `), r.stderr);
  assert.match(r.stderr, detail);
  assert.match(r.stderr, /\nusage: aptkit \w+ /);
  assert.doesNotMatch(r.stdout, /step \d+|test accuracy/);
}

/** `aptkit train` on the small mlp for one epoch, with `args` added. */
export const trainMlp = (...args: string[]): Promise<Run> => runCli(["train", "--model", "mlp", "--epochs", "1", ...args]);
