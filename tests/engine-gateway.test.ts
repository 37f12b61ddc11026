// Above the runtime, only the engine calls the wasm exports (docs/architecture.md, Floors): layers
// and everything over them go through the Engine's typed methods, which decode every status the
// same way and report every kernel call to the energy account. The parts that own an ABI are
// exempt: the engine, the kernels' probe, the runtime that instantiates it, and the fp32 baseline,
// which drives its own f32 module. The scan is checked to fail on a call planted in a copy of src/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFile, cp, mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ABI_OWNERS = ["src/engine/", "src/kernels/", "src/runtime/", "src/baselines/fp32/"];
/** Any reach into an `abi` member: a call (`engine.abi.relu_forward`), a lookup (`e.abi[name]`),
 *  or the exports handed on (`const a = engine.abi`). */
const ABI_REACH = /\.abi\b/;

/** "path:line: text" for every line of a .ts file under root/src, outside the ABI owners, that
 *  reaches into `.abi`. */
async function abiReachesAboveEngine(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(join(root, "src"), { recursive: true })) {
    if (!name.endsWith(".ts")) continue;
    const path = `src/${name.split(sep).join("/")}`;
    if (ABI_OWNERS.some((owner) => path.startsWith(owner))) continue;
    const lines = (await readFile(join(root, path), "utf8")).split("\n");
    lines.forEach((line, i) => {
      if (ABI_REACH.test(line)) found.push(`${path}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

test("nothing above the engine reaches into the wasm exports", async () => {
  assert.deepEqual(await abiReachesAboveEngine(ROOT), []);
});

test("the scan sees the engine's own calls, so its pattern matches real ABI use", async () => {
  const engine = await readFile(join(ROOT, "src/engine/engine.ts"), "utf8");
  for (const call of ["this.abi.relu_forward(", "this.abi.max_pool_backward(", "this.abi.quantize_f32("]) {
    assert.ok(engine.includes(call), `engine.ts should call ${call}`);
    assert.match(call, ABI_REACH);
  }
});

test("a layer calling an export directly fails the scan, with its file and line", async () => {
  const dir = await mkdtemp(join(tmpdir(), "aptkit-gateway-"));
  await cp(join(ROOT, "src"), join(dir, "src"), { recursive: true });
  const layer = "src/nn/layers/shape-only.ts";
  const lineCount = (await readFile(join(dir, layer), "utf8")).split("\n").length;
  await appendFile(join(dir, layer), "export const bypass = (e: Engine) => e.abi.relu_forward(0, 1, 1, 8);\n");
  await appendFile(join(dir, "src/train/trainer.ts"), "export const exportsOf = (e: { abi: unknown }) => e.abi;\n");
  const found = await abiReachesAboveEngine(dir);
  assert.equal(found.length, 2, found.join("\n"));
  assert.ok(found.some((f) => f.startsWith(`${layer}:${lineCount}: `)), found.join("\n"));
  assert.ok(found.some((f) => f.startsWith("src/train/trainer.ts:")), found.join("\n"));
});
